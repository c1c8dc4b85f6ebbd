"""Helpers shared by the CT protocol modules (`imgqa.protocols.ct`, `imgqa.protocols.catphan`).

Owns the Catphan header words, the checks that a series is axial CT and not a localizer, and
the JSON form of a kernel's NaN ("not measured" → None).
"""

from __future__ import annotations

import re

import numpy as np

from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries

# A header naming a Catphan: ct.catphan claims the series, ct.water declines it.
_CATPHAN_WORDS = re.compile(r"catphan|ctp\s?\d{3}", re.IGNORECASE)


def _is_localizer(series: ImageSeries) -> bool:
    it = " ".join(series.header.image_type).upper()
    desc = series.header.series_description.lower()
    return "LOCALIZER" in it or "topogram" in desc or "scout" in desc or "surview" in desc


def _require_axial_ct(series: ImageSeries, expected: str) -> None:
    """Refuse localizers and non-axial images with a message naming what was expected."""
    if _is_localizer(series):
        raise PhantomNotFoundError(
            f"This series is a localizer (topogram/scout), not an axial image of {expected}.",
            hint="Choose the axial series of the phantom.")
    normal = series.geometry.normal
    if normal is not None and abs(normal[2]) < 0.9:
        raise PhantomNotFoundError(
            f"The images are not axial (slice normal {np.round(normal, 2).tolist()}); "
            f"{expected} is analysed on axial slices.",
            hint="Reconstruct or choose axial images of the phantom.")



def _none_if_nan(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)
