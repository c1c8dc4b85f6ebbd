"""``generic.roi``: mean, SD and SNR in a centred circular ROI — works on any image.

It exists so the whole path (load → analyse → evaluate → store → report) works for every
modality, and as a quick constancy check when no phantom-specific test applies.
"""

from __future__ import annotations

import numpy as np

from imgqa.analysis.roi import circle_mask, roi_stats
from imgqa.io.series import ImageSeries
from imgqa.protocols.base import Analysis, MeasurementSpec, ParameterSpec, Protocol, Roi, register


def generic_roi(series: ImageSeries, *, roi_diameter_mm: float = 20.0,
                slice_index: int | None = None, pixel_spacing_mm: float | None = None
                ) -> Analysis:
    """Statistics in a circular ROI at the image centre.

    Parameters
    ----------
    series : ImageSeries
    roi_diameter_mm : float
        ROI diameter in mm (converted with the pixel spacing).
    slice_index : int, optional
        Image to analyse; the middle image by default.
    pixel_spacing_mm : float, optional
        Spacing to use when the images carry none.
    """
    if pixel_spacing_mm:
        series = series.with_spacing(pixel_spacing_mm)
    sp = series.require_spacing("generic.roi")
    idx = len(series) // 2 if slice_index is None else slice_index
    if not 0 <= idx < len(series):
        from imgqa.errors import ParameterError
        raise ParameterError(f"slice_index {idx} is outside the series (0–{len(series) - 1}).")
    image = series.pixels(idx)
    radius_px = roi_diameter_mm / 2.0 / float(np.mean(sp))
    centre = ((image.shape[0] - 1) / 2.0, (image.shape[1] - 1) / 2.0)
    warnings = []
    max_radius = min(image.shape) / 2.0
    if radius_px > max_radius:
        warnings.append(f"ROI of {roi_diameter_mm:g} mm is larger than the image; "
                        "it was clipped to the image.")
        radius_px = max_radius
    stats = roi_stats(image, circle_mask(image.shape, centre, radius_px))
    if stats.sd == 0:
        warnings.append("The ROI is perfectly flat (SD 0): the image may be empty or synthetic.")
    return Analysis(
        measurements={"mean": stats.mean, "sd": stats.sd,
                      "snr": stats.snr if stats.sd > 0 else None},
        rois=(Roi("circle", (centre,), label=f"ROI Ø{roi_diameter_mm:g} mm", frame=idx,
                  radius=radius_px),),
        warnings=warnings,
        extra={"slice_index": idx, "n_pixels": stats.n_pixels},
    )


PROTOCOL = register(Protocol(
    name="generic.roi",
    key_measurement="mean",
    version="1",
    title="Centre ROI statistics",
    description="Mean, standard deviation and SNR in a circular ROI at the image centre.",
    modalities=("*",),
    measurements=(
        MeasurementSpec("mean", "", "Mean pixel value in the ROI (physical units, e.g. HU).",
                        label="Mean"),
        MeasurementSpec("sd", "", "Standard deviation of the pixel values in the ROI.",
                        label="Standard deviation"),
        MeasurementSpec("snr", "", "Mean / SD in the ROI.", higher_is_better=True,
                        label="SNR (mean / SD)"),
    ),
    parameters=(
        ParameterSpec("roi_diameter_mm", float, 20.0, "mm", "Diameter of the ROI.", minimum=0.1),
        ParameterSpec("slice_index", int, None, "", "Image to analyse (default: the middle one).",
                      minimum=0),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=generic_roi,
    inputs="any image or series",
    standard="",
))
