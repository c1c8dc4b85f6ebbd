"""MRI protocols: ``mr.snr``, ``mr.uniformity``, ``mr.ghosting`` (flood phantoms); the ACR
large phantom battery ``mr.acr`` is in `imgqa.protocols.mr_acr` (re-exported here).

The kernels live in `imgqa.analysis.mr_snr`; this module picks the slices, checks the input,
and turns kernel results into measurements, ROIs and warnings.
"""

from __future__ import annotations

import numpy as np

from imgqa.errors import AnalysisError, ParameterError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import (
    Analysis,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
)

# mr.acr has its own module; these names stay importable from here.
from imgqa.protocols.mr_acr import (
    ACR_SLICES,
    LOW_CONTRAST_PASS,
    acr_battery,
    low_contrast_pass_level,
)

# The kernels import SciPy: bound lazily so that the declarations below load without it.
(background_mask, find_object, flood_ghosting, flood_uniformity, signal_roi_mask,
 snr_background, snr_difference) = lazy_functions(
    "imgqa.analysis.mr_snr", "background_mask", "find_object", "flood_ghosting",
    "flood_uniformity", "signal_roi_mask", "snr_background", "snr_difference")

__all__ = ["ACR_SLICES", "LOW_CONTRAST_PASS", "acr_battery", "low_contrast_pass_level",
           "mr_ghosting", "mr_snr", "mr_uniformity"]


# ---------------------------------------------------------------------------------------------
# mr.snr
# ---------------------------------------------------------------------------------------------
def _same_position_pairs(series: ImageSeries) -> tuple[int, int] | None:
    pos = series.geometry.positions
    if pos is None or len(series) < 2:
        return None
    for i in range(len(series)):
        for j in range(i + 1, len(series)):
            if np.allclose(pos[i], pos[j], atol=0.01):
                return i, j
    return None


def mr_snr(series_list: list[ImageSeries], *, method: str = "auto") -> Analysis:
    """NEMA MS 1 SNR: two-image difference when two acquisitions exist, else single image."""
    if not series_list:
        raise ParameterError("mr.snr needs at least one series.")
    first = series_list[0]
    pair: tuple[np.ndarray, np.ndarray] | None = None
    frames: list[int] | None = None
    if len(series_list) >= 2:
        a, b = series_list[0], series_list[1]
        if a.shape != b.shape:
            raise AnalysisError("The two series have different image sizes, so their difference "
                                "cannot be used for the two-image SNR.",
                                hint="Load two repeated acquisitions with identical settings.")
        k = len(a) // 2
        pair = (a.pixels(k), b.pixels(k))
        frames = [k]
    else:
        ij = _same_position_pairs(first)
        if ij is not None:
            pair = (first.pixels(ij[0]), first.pixels(ij[1]))
            frames = list(ij)
    warnings: list[str] = []
    if method == "difference" and pair is None:
        raise AnalysisError("The two-image SNR needs two acquisitions of the same slice.",
                            hint="Load two repeated series (or one series with two images at "
                                 "the same position).")
    image = pair[0] if pair is not None else first.pixels(len(first) // 2)
    obj = find_object(image)
    roi = signal_roi_mask(image, obj)
    if pair is not None and method in ("auto", "difference"):
        res = snr_difference(pair[0], pair[1], roi)
    else:
        res = snr_background(image, roi, background_mask(image.shape, obj))
        factor = ("no Rayleigh factor (signed, real-valued image)" if "signed" in res.method
                  else "the Rayleigh factor 0.655")
        warnings.append(f"Single-image SNR: noise from the air in the image corners with "
                        f"{factor}; not valid with parallel imaging or background filtering "
                        f"(use two acquisitions).")
    frame = frames[0] if frames else len(first) // 2
    rois = [Roi("ellipse", (obj.centre_rc,), label="signal ROI (75 % of the phantom)",
                frame=frame, radii=(obj.half_rc[0] * np.sqrt(0.75), obj.half_rc[1] * np.sqrt(0.75)),
                role="measure")]
    return Analysis(measurements={"snr": res.snr, "signal_mean": res.signal_mean,
                                  "noise_sd": res.noise_sd},
                    rois=rois, warnings=warnings,
                    extra={"method": res.method, "roi_pixels": res.n_pixels,
                           "images": frames or [frame]})


def _detect_snr(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "MR":
        return 0.0, "not an MR image"
    text = series.header.description_text.upper()
    if "SNR" in text:
        return 0.6, "the header says SNR"
    return 0.0, "only chosen when the header says SNR"


register(Protocol(
    name="mr.snr",
    key_measurement="snr",
    version="1",
    title="MRI signal-to-noise ratio (NEMA MS 1)",
    description="Two-image difference SNR from two repeated acquisitions; single-image SNR "
                "with the Rayleigh-corrected air noise otherwise.",
    modalities=("MR",),
    measurements=(
        MeasurementSpec("snr", "", "Signal-to-noise ratio.", higher_is_better=True,
                        label="Signal-to-noise ratio"),
        MeasurementSpec("signal_mean", "", "Mean signal in the central ROI.",
                        label="Mean signal"),
        MeasurementSpec("noise_sd", "", "Image noise σ (difference SD/√2, or air SD/0.655).",
                        label="Noise (SD)"),
    ),
    parameters=(ParameterSpec("method", str, "auto", "",
                              "auto, difference (two images) or background (single image).",
                              choices=("auto", "difference", "background")),),
    function=mr_snr,
    inputs="two repeated acquisitions of a flood phantom (or one image)",
    multi_series=True,
    detect=_detect_snr,
    standard="NEMA MS 1-2008",
))


# ---------------------------------------------------------------------------------------------
# mr.uniformity and mr.ghosting (flood phantoms)
# ---------------------------------------------------------------------------------------------
def mr_uniformity(series: ImageSeries) -> list[Analysis]:
    sp = series.require_spacing("mr.uniformity")
    out = []
    for i in range(len(series)):
        img = series.pixels(i)
        obj = find_object(img)
        u = flood_uniformity(img, obj, sp)
        out.append(Analysis(
            measurements={"piu": u.piu,
                          "fractional_uniformity_horizontal": u.fractional_uniformity_horizontal,
                          "fractional_uniformity_vertical": u.fractional_uniformity_vertical},
            rois=(Roi("ellipse", (obj.centre_rc,), label="ROI 75 % of the phantom", frame=i,
                      radii=u.roi_half_rc, role="measure"),
                  Roi("point", (u.max_rc,), label="max 1 cm²", frame=i),
                  Roi("point", (u.min_rc,), label="min 1 cm²", frame=i)),
            label=f"image {i + 1}" if len(series) > 1 else "",
            frames=[i],
            extra={"centre_mean": u.centre_mean}))
    return out


def _phase_axis(series: ImageSeries, index: int) -> int:
    ds = series.dataset(index)
    direction = str(ds.get("InPlanePhaseEncodingDirection", "") or "").upper()
    # ROW: phase encoding along the rows (left–right) → ghosts displaced along columns axis 1.
    return 1 if direction == "ROW" else 0


def mr_ghosting(series: ImageSeries) -> list[Analysis]:
    out = []
    for i in range(len(series)):
        img = series.pixels(i)
        obj = find_object(img)
        axis = _phase_axis(series, i)
        g = flood_ghosting(img, obj, phase_axis=axis)
        rois = tuple(Roi("rect", ((b[0], b[1]), (b[2], b[3])), label=lab, frame=i, role=role)
                     for b, lab, role in ((g.signal_box, "signal", "measure"),
                                          (g.ghost_box, "ghost (phase direction)", "background"),
                                          (g.noise_box, "noise (frequency direction)",
                                           "background")))
        out.append(Analysis(measurements={"ghosting_percent": g.ghosting_percent},
                            rois=rois, frames=[i],
                            label=f"image {i + 1}" if len(series) > 1 else "",
                            extra={"phase_axis": "columns (ROW)" if axis == 1 else "rows (COL)",
                                   "signal_mean": g.signal_mean, "ghost_mean": g.ghost_mean,
                                   "noise_mean": g.noise_mean}))
    return out


def _detect_flood(word: str):
    def detect(series: ImageSeries) -> tuple[float, str]:
        if series.modality != "MR":
            return 0.0, "not an MR image"
        text = series.header.description_text.upper()
        if word in text:
            return 0.6, f"the header says {word}"
        return 0.0, f"only chosen when the header says {word}"
    return detect


register(Protocol(
    name="mr.uniformity",
    key_measurement="piu",
    version="1",
    title="MRI flood uniformity",
    description="Percent integral uniformity (1 cm² ROI extremes) and fractional uniformity "
                "along x and y of a uniform phantom.",
    modalities=("MR",),
    measurements=(
        MeasurementSpec("piu", "%", "Percent integral uniformity in 75 % of the phantom.",
                        higher_is_better=True,
                        label="Percent integral uniformity"),
        MeasurementSpec("fractional_uniformity_horizontal", "",
                        "Fraction of the horizontal central profile within ±10 % of the centre.",
                        higher_is_better=True,
                        label="Fractional uniformity, horizontal"),
        MeasurementSpec("fractional_uniformity_vertical", "",
                        "Fraction of the vertical central profile within ±10 % of the centre.",
                        higher_is_better=True,
                        label="Fractional uniformity, vertical"),
    ),
    function=mr_uniformity,
    inputs="images of a uniform (flood) phantom",
    detect=_detect_flood("UNIFORM"),
    standard="ACR PIU; IPEM Report 112 (fractional uniformity)",
))

register(Protocol(
    name="mr.ghosting",
    key_measurement="ghosting_percent",
    version="1",
    title="MRI flood ghosting",
    description="Percent ghosting: background beside the phantom along the phase-encoding "
                "direction minus along the frequency direction, over the signal.",
    modalities=("MR",),
    measurements=(MeasurementSpec("ghosting_percent", "%", "Percent ghosting.",
                                  higher_is_better=False,
                                  label="Percent signal ghosting"),),
    function=mr_ghosting,
    inputs="images of a uniform phantom with air around it",
    detect=_detect_flood("GHOST"),
    standard="IPEM Report 112",
))
