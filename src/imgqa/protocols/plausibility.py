"""Plausible image geometry per modality: absurd pixel spacings are refused before analysis.

A header that says a CT pixel is 20 mm (a 10 m field of view) is wrong, not unusual: analysing
it would put ROIs of a few pixels (or none) on the phantom and return numbers in wrong units,
or stop inside a kernel. `check_geometry` refuses such a series with the reason and what to do,
before any kernel runs (issue 19, finding 4).

This module registers no protocol; it is imported by `imgqa.protocols.base`.
"""

from __future__ import annotations

import math

from imgqa.errors import ImplausibleGeometryError
from imgqa.io.series import ImageSeries

__all__ = ["PLAUSIBLE_SPACING_MM", "plausible_range", "check_geometry"]

_XRAY = (0.01, 2.0, "projection X-ray detectors: 0.019 mm intra-oral sensor elements up to "
         "about 0.6 mm (4×4-binned fluoroscopy); a magnified or calibrated spacing stays "
         "within the same order")

# Pixel spacing (mm) a real image of each modality can have: (lowest, highest, why).
# Bounds are deliberately wide (several times the extremes of clinical and pre-clinical
# scanners) so that no genuine image is refused; what lies outside can only be a wrong header.
# The shared real-image set spans 0.03 mm (IO) .. 4.07 mm (PT) and passes
# (tests/protocols/test_batch_isolation.py::test_real_scanner_geometry_is_plausible).
PLAUSIBLE_SPACING_MM: dict[str, tuple[float, float, str]] = {
    "CT": (0.01, 5.0, "ultra-high-resolution reconstructions reach 0.05 mm (50 mm field, "
           "1024²); the widest (800 mm extended field, 256²) is 3.1 mm; topograms about 1 mm"),
    "MR": (0.01, 10.0, "a 500 mm field at a 64 matrix is 7.8 mm; micro-imaging coils go "
           "below 0.05 mm"),
    "NM": (0.1, 15.0, "64² on the largest (~600 mm) detectors is 9.4 mm; zoomed 1024² "
           "intrinsic or pinhole images about 0.3 mm"),
    "PT": (0.1, 15.0, "clinical 128² reconstructions of a 780 mm field are 6.1 mm; "
           "pre-clinical about 0.2 mm"),
    "DX": _XRAY, "CR": _XRAY, "MG": _XRAY, "IO": _XRAY, "PX": _XRAY, "RF": _XRAY,
    "XA": _XRAY,
}
# Any other modality (OT, SC, unknown): the envelope of the table, so nothing real is refused.
_FALLBACK = (0.005, 15.0, "no medical image of another modality has pixels outside this")

# Where each spacing comes from, as the user can find it in a DICOM viewer.
_TAGS = {
    "PixelSpacing": "(0028,0030) Pixel Spacing",
    "ImagerPixelSpacing": "(0018,1164) Imager Pixel Spacing",
    "NominalScannedPixelSpacing": "(0018,2010) Nominal Scanned Pixel Spacing",
    "SharedFunctionalGroups": "(0028,0030) Pixel Spacing in the shared functional groups",
    "PerFrameFunctionalGroups": "(0028,0030) Pixel Spacing in the per-frame functional groups",
}


def plausible_range(modality: str) -> tuple[float, float, str]:
    """(lowest, highest, reason) pixel spacing in mm for a DICOM modality code."""
    return PLAUSIBLE_SPACING_MM.get((modality or "").upper(), _FALLBACK)


def _tag_name(source: str) -> str:
    for key, name in _TAGS.items():
        if source.startswith(key):
            return name
    return "Pixel Spacing"


def _fmt(spacing: tuple[float, float]) -> str:
    a, b = spacing
    return f"{a:.4g} mm" if a == b else f"{a:.4g} × {b:.4g} mm"


def check_geometry(series: ImageSeries, user_spacing_mm: float | None, what: str | None, *,
                   can_override: bool = True) -> None:
    """Refuse a series whose pixel spacing cannot be real for its modality.

    Parameters
    ----------
    series : ImageSeries
        The images to be analysed.
    user_spacing_mm : float or None
        The ``pixel_spacing_mm`` parameter. When given (non-zero) it replaces the header, so
        only it is checked: a plausible value is how a user analyses a series whose header
        is wrong.
    what : str or None
        The protocol name, for the message (None: before the automatic choice of a test).
    can_override : bool
        Whether the protocol takes ``pixel_spacing_mm`` (the hint offers it only then).

    Raises
    ------
    ImplausibleGeometryError
        A spacing is not finite or lies outside `plausible_range` for the series' modality.
        Unknown spacing (None) is not this check's business (`MissingSpacingError` later).
    """
    low, high, _why = plausible_range(series.modality)
    modality = series.modality or "images of unknown modality"
    name = series.header.series_description or "(no description)"

    def bad(value: float) -> bool:
        return not (math.isfinite(value) and low <= value <= high)

    rng = f"{low:g}–{high:g} mm for {modality}"
    outcome = f"series '{name}' was not analysed" + (f" ({what})" if what else "")
    if user_spacing_mm:
        if bad(float(user_spacing_mm)):
            raise ImplausibleGeometryError(
                f"The given pixel_spacing_mm={float(user_spacing_mm):.4g} is outside the "
                f"plausible range {rng}, so {outcome}.",
                hint="Give the pixel size in millimetres (e.g. 0.5 for CT, 4 for a gamma "
                     "camera), or leave it empty to use the DICOM header.")
        return
    g = series.geometry
    for spacing, source in ((g.pixel_spacing_mm, g.spacing_source),
                            (g.detector_spacing_mm, "ImagerPixelSpacing")):
        if spacing is None or not any(bad(float(v)) for v in spacing):
            continue
        tag = _tag_name(source)
        hint = (f"Check {tag} in the DICOM header, or give the true pixel size: --param "
                "pixel_spacing_mm=… (in the application: the pixel_spacing_mm parameter)."
                if can_override else
                f"Check {tag} in the DICOM header; the file may have been edited or exported "
                "wrongly.")
        raise ImplausibleGeometryError(
            f"This series' pixel spacing {_fmt((float(spacing[0]), float(spacing[1])))}, from {tag}, is "
            f"outside the plausible range {rng}, so {outcome}.",
            hint=hint)
