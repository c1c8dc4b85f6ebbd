"""ACR large MRI phantom, sagittal localiser: ``mr.acr_sagittal`` (the 148 mm length).

A separate protocol rather than a second input of ``mr.acr``: the localiser is its own series
(one sagittal image) and ``mr.acr`` takes the 11-slice axial series; keeping them apart leaves
``mr.acr``'s single-series input unchanged. The measurement is ``sagittal_length_mm``.
"""

from __future__ import annotations

import numpy as np

from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import Analysis, Curve, MeasurementSpec, Protocol, Roi, register

(sagittal_length,) = lazy_functions("imgqa.analysis.acr_sagittal", "sagittal_length")

__all__ = ["mr_acr_sagittal"]


def _plane(series: ImageSeries) -> str:
    normal = series.geometry.normal
    if normal is None:
        return "unknown"
    k = int(np.argmax(np.abs(normal)))
    return ("sagittal", "coronal", "axial")[k] if abs(normal[k]) > 0.9 else "oblique"


def mr_acr_sagittal(series: ImageSeries) -> Analysis:
    """Superior–inferior length of the ACR large phantom on its sagittal localiser."""
    plane = _plane(series)
    if plane not in ("sagittal", "unknown"):
        raise PhantomNotFoundError(
            f"This is a {plane} image; the 148 mm length is measured on the sagittal "
            "localiser.", hint="Load the ACR sagittal localiser series.")
    sp = series.require_spacing("mr.acr_sagittal")
    frame = len(series) // 2
    try:
        r = sagittal_length(series.pixels(frame), sp)
    except ValueError as exc:
        raise PhantomNotFoundError(f"No ACR phantom outline on the localiser: {exc}.",
                                   hint="Load the ACR sagittal localiser series.") from None
    warnings = []
    if np.ptp(r.lengths_mm) > 3.0:
        warnings.append(f"The length varies by {np.ptp(r.lengths_mm):.1f} mm across the "
                        "measured columns (tilted phantom or an end not flat).")
    c0, c1 = float(r.columns.min()), float(r.columns.max())
    return Analysis(
        measurements={"sagittal_length_mm": r.length_mm},
        rois=(Roi("line", ((r.top_row, c0), (r.top_row, c1)), label="superior end",
                  frame=frame, role="edge"),
              Roi("line", ((r.bottom_row, c0), (r.bottom_row, c1)), label="inferior end",
                  frame=frame, role="edge")),
        curves=(Curve("length per column", (r.columns - r.columns.mean()) * sp[1],
                      r.lengths_mm, "column from centre", "mm", "length", "mm"),),
        warnings=warnings, frames=[frame],
        extra={"columns_measured": int(r.lengths_mm.size),
               "length_range_mm": [float(r.lengths_mm.min()), float(r.lengths_mm.max())]})


def _detect(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "MR" or len(series) > 3 or _plane(series) != "sagittal":
        return 0.0, "not a single sagittal MR image"
    text = series.header.description_text.upper()
    if "ACR" in text:
        return 0.7, "a sagittal image and the header says ACR"
    if "LOC" in text:
        return 0.4, "a sagittal localiser (the ACR length test)"
    return 0.15, "a single sagittal MR image (a low-score guess: the ACR localiser)"


register(Protocol(
    name="mr.acr_sagittal",
    key_measurement="sagittal_length_mm",
    version="1",
    title="ACR MRI large phantom, sagittal length",
    description="Superior–inferior length of the ACR large phantom on the sagittal localiser "
                "(true 148 mm): local half-signal crossings at both ends, median over the "
                "central columns.",
    modalities=("MR",),
    measurements=(MeasurementSpec("sagittal_length_mm", "mm",
                                  "Head-to-foot length of the phantom (true 148 mm).",
                                  label="Sagittal length"),),
    function=mr_acr_sagittal,
    inputs="the sagittal localiser of the ACR large phantom",
    max_images=3,
    detect=_detect,
    standard="ACR Large Phantom Test Guidance (2018), geometric accuracy",
))
