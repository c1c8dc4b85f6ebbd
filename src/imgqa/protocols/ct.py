"""CT protocols: ``ct.water`` and ``ct.nps``; ``ct.mtf_wire`` and ``ct.ttf`` are in
`imgqa.protocols.ct_resolution`, ``ct.catphan`` in `imgqa.protocols.catphan`.

Each protocol is a thin layer: it picks the slices, calls the kernels in `imgqa.analysis`
(`ct_phantom`, `nps`) and turns their results into an `Analysis`
with the ROIs drawn. Pixels are in HU (`ImageSeries.pixels` applies Rescale Slope/Intercept).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from imgqa.analysis.nps import (
    extract_rois,
    nps_2d,
    nps_mean_frequency,
    nps_peak_frequency,
    radial_profile,
)
from imgqa.analysis.roi import circle_mask
from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._ct_common import (
    _CATPHAN_WORDS,
    _is_localizer,
    _require_axial_ct,
)
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols._slices import slice_indices as _slice_indices
from imgqa.protocols._slices import try_each_slice
from imgqa.protocols.base import (
    Analysis,
    Curve,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
    with_pixel_size,
)

if TYPE_CHECKING:
    from imgqa.analysis.ct_phantom import WaterSlice

# Kernels that import SciPy are bound lazily so that the declarations below load without it
# (`imgqa protocols`, `history`… start in a fraction of a second); `nps` and `roi` are numpy only.
(has_catphan_housing,) = lazy_functions("imgqa.analysis.catphan", "has_catphan_housing")
find_phantom, water_phantom_rois = lazy_functions("imgqa.analysis.ct_phantom", "find_phantom",
                                                  "water_phantom_rois")

__all__ = ["ct_nps", "ct_water"]

# A water ROI reading further than this from 0 HU is not water (a Catphan module, an insert,
# a wire...): the slice is skipped rather than reported as a badly calibrated scanner.
_NOT_WATER_HU = 100.0
# Noise SD above this in the centre ROI means structure, not noise.
_NOT_UNIFORM_SD_HU = 60.0

_WATER_WORDS = re.compile(r"water|wasser|vann|vatten|vand|eau|agua|acqua|h2o|homog|uniform|"
                          r"daily|constancy|qa\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
def _profile_curve(image: np.ndarray, row: float, pixel_mm: float, name: str) -> Curve:
    r = int(round(row))
    prof = np.asarray(image[r], dtype=float)
    x = (np.arange(prof.size) - (prof.size - 1) / 2.0) * pixel_mm
    return Curve(name, x, prof, "position", "mm", "CT number", "HU")


# ---------------------------------------------------------------------------------------------
# ct.water
# ---------------------------------------------------------------------------------------------
_WATER_NAMES = ("mean_hu_centre", "noise_sd_centre", "uniformity_max_deviation_hu",
                "mean_hu_12", "mean_hu_3", "mean_hu_6", "mean_hu_9")


def _water_slice_values(ws: WaterSlice) -> dict[str, float]:
    vals = {"mean_hu_centre": ws.centre.mean, "noise_sd_centre": ws.centre.sd,
            "uniformity_max_deviation_hu": ws.uniformity_max_deviation_hu}
    for name, (_, st) in ws.peripheral.items():
        vals[f"mean_hu_{name}"] = st.mean
    return vals


def ct_water(series: ImageSeries, *, roi_area_mm2: float = 400.0, edge_offset_mm: float = 10.0,
             slice_index: int | None = None, threshold_hu: float = -400.0,
             pixel_spacing_mm: float | None = None) -> Analysis:
    """Daily water-phantom check: CT number, noise and uniformity (ACR CT QC manual).

    Every slice is analysed on its own (phantom found, five ROIs placed); slices that do not
    show water (centre not within ±100 HU of 0, or full of structure) are skipped with a
    warning. The reported ROI means and SD are means over the analysed slices and the
    uniformity is computed from those mean ROI values; each slice's values are in
    ``extra["per_slice"]``.
    """
    _, px = with_pixel_size(series, pixel_spacing_mm, "ct.water")
    _require_axial_ct(series, "a water phantom")
    per_slice: list[dict[str, Any]] = []
    rois: list[Roi] = []
    warnings: list[str] = []
    first_image = None

    def water_slice(i: int) -> WaterSlice:
        ws = water_phantom_rois(series.pixels(i), px, roi_area_mm2=roi_area_mm2,
                                edge_offset_mm=edge_offset_mm, threshold_hu=threshold_hu)
        if abs(ws.centre.mean) > _NOT_WATER_HU or ws.centre.sd > _NOT_UNIFORM_SD_HU:
            raise PhantomNotFoundError(f"the centre ROI reads {ws.centre.mean:.0f} ± "
                                       f"{ws.centre.sd:.0f} HU, which is not uniform water")
        return ws

    tried = try_each_slice(_slice_indices(series, slice_index), water_slice,
                           catch=(PhantomNotFoundError,))
    for i, ws in tried.done:
        image = series.pixels(i)
        vals = _water_slice_values(ws)
        per_slice.append({"slice_index": i, **{k: float(v) for k, v in vals.items()},
                          "centre_rc": list(ws.phantom.centre_rc),
                          "phantom_diameter_mm": 2.0 * ws.phantom.radius_mm})
        if first_image is None:
            first_image = (i, image, ws)
        ph = ws.phantom
        rois.append(Roi("circle", (ph.centre_rc,), label="phantom", frame=i,
                        radius=ph.radius_px, role="phantom"))
        rois.append(Roi("circle", (ph.centre_rc,), label="centre", frame=i,
                        radius=ws.roi_radius_px))
        for name, (rc, _) in ws.peripheral.items():
            rois.append(Roi("circle", (rc,), label=f"{name} o'clock", frame=i,
                            radius=ws.roi_radius_px))
    if not per_slice:
        detail = tried.reasons(3)
        raise PhantomNotFoundError(
            f"ct.water expects axial images of a uniform round water phantom with air around it; "
            f"none of the {len(series)} image(s) shows one ({detail}).",
            hint="Choose the water-phantom series (head or body), reconstructed with the whole "
                 "phantom in the field of view.")
    warnings += tried.skipped()
    summary = {k: float(np.mean([s[k] for s in per_slice])) for k in _WATER_NAMES}
    # Uniformity of the series from the slice-averaged ROI means (the mean of per-slice maxima
    # would be biased upwards by noise); per-slice maxima are in extra["per_slice"].
    summary["uniformity_max_deviation_hu"] = max(
        abs(summary[f"mean_hu_{k}"] - summary["mean_hu_centre"]) for k in ("12", "3", "6", "9"))
    diam = [s["phantom_diameter_mm"] for s in per_slice]
    if max(diam) - min(diam) > 5.0:
        warnings.append(f"The phantom diameter varies between slices ({min(diam):.0f}–"
                        f"{max(diam):.0f} mm): check that all slices are inside the phantom.")
    curves = []
    if first_image is not None:
        i, image, ws = first_image
        curves.append(_profile_curve(image, ws.phantom.centre_rc[0], px,
                                     f"horizontal profile through the centre (slice {i})"))
    return Analysis(
        measurements=summary,
        rois=rois,
        curves=curves,
        warnings=warnings,
        extra={"per_slice": per_slice, "slices_used": [s["slice_index"] for s in per_slice],
               "summary": "mean over the slices used",
               "roi_diameter_mm": 2.0 * float(np.sqrt(roi_area_mm2 / np.pi))},
        frames=[s["slice_index"] for s in per_slice],
    )


def _detect_water(series: ImageSeries) -> tuple[float, str]:
    """Score a CT series as a water phantom: header words and a uniform ~0 HU object.

    ct.water needs a uniform round water section (its centre ROI within ±100 HU of 0); the
    image check asks for > 80 % of the object within ±40 HU. A QA phantom's resolution or
    contrast section (e.g. the GE QA phantom's acrylic block, series 1–2 of the shared data:
    ~29 % water, centre 113 HU) is declined with that figure as the reason.
    """
    if series.modality != "CT" or _is_localizer(series):
        return 0.0, "a localizer (topogram/scout), not an axial image"
    text = series.header.description_text
    if _CATPHAN_WORDS.search(text):
        return 0.0, "the header names a Catphan"
    score, why = 0.0, []
    words = _WATER_WORDS.search(text)
    if words:
        score = 0.5
        why.append(f"the header says {words.group(0)!r}")
    # Cheap image check on the middle slice, 4× subsampled: a uniform region near 0 HU at the
    # centre of a round object.
    sp = series.pixel_spacing_mm
    if sp is None:
        return score * 0.5, "; ".join(why + ["no pixel spacing, so the image was not checked"])
    img = series.pixels(len(series) // 2)[::4, ::4]
    inside = img[img > -400.0]
    if inside.size < 0.1 * img.size:
        return 0.0, "the middle slice shows almost no object (mostly air)"
    if has_catphan_housing(img, float(sp[0]) * 4.0):
        # a Catphan module (e.g. CTP486) inside its housing, not a water phantom
        return 0.0, "the middle slice shows a Catphan module inside its housing"
    water_fraction = float(np.mean(np.abs(inside) < 40.0))
    dense_fraction = float(np.mean(inside > 300.0))
    seen = (f"{100 * water_fraction:.0f} % of the object in the middle slice is within ±40 HU "
            f"of water and {100 * dense_fraction:.0f} % denser than 300 HU")
    if water_fraction > 0.8 and dense_fraction < 0.01:
        score += 0.4
        why.append(seen + " (uniform water)")
    elif water_fraction < 0.5:
        score *= 0.5
        why.append(seen + "; a water phantom section reads > 80 % water, so this looks like "
                   "another section or phantom (e.g. a resolution or contrast insert)")
    else:
        why.append(seen + " (a water phantom reads > 80 %)")
    return score, "; ".join(why)


register(Protocol(
    name="ct.water",
    key_measurement="mean_hu_centre",
    version="1",
    title="CT water phantom (daily QC)",
    description="Water CT number and noise in a centre ROI, and uniformity from four peripheral "
                "ROIs at 12, 3, 6 and 9 o'clock; the phantom is found automatically. Values "
                "are means over the slices analysed (per-slice values in the details).",
    modalities=("CT",),
    measurements=(
        MeasurementSpec("mean_hu_centre", "HU", "Mean CT number in the centre ROI.",
                        label="Mean CT number, centre"),
        MeasurementSpec("noise_sd_centre", "HU", "Standard deviation in the centre ROI.",
                        higher_is_better=False,
                        label="Noise (SD), centre"),
        MeasurementSpec("uniformity_max_deviation_hu", "HU",
                        "Largest |peripheral ROI mean − centre ROI mean|.",
                        higher_is_better=False,
                        label="Uniformity, largest deviation from centre"),
        MeasurementSpec("mean_hu_12", "HU", "Mean CT number in the 12 o'clock ROI.",
                        label="Mean CT number, 12 o'clock ROI"),
        MeasurementSpec("mean_hu_3", "HU", "Mean CT number in the 3 o'clock ROI.",
                        label="Mean CT number, 3 o'clock ROI"),
        MeasurementSpec("mean_hu_6", "HU", "Mean CT number in the 6 o'clock ROI.",
                        label="Mean CT number, 6 o'clock ROI"),
        MeasurementSpec("mean_hu_9", "HU", "Mean CT number in the 9 o'clock ROI.",
                        label="Mean CT number, 9 o'clock ROI"),
    ),
    parameters=(
        ParameterSpec("roi_area_mm2", float, 400.0, "mm²", "Area of each circular ROI.",
                      minimum=1.0),
        ParameterSpec("edge_offset_mm", float, 10.0, "mm",
                      "Gap between the phantom edge and the outer edge of the peripheral ROIs.",
                      minimum=0.0),
        ParameterSpec("slice_index", int, None, "",
                      "Analyse only this image (default: every slice).", minimum=0),
        ParameterSpec("threshold_hu", float, -400.0, "HU",
                      "Pixels above this belong to the phantom when finding it."),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=ct_water,
    inputs="axial slices of a cylindrical water phantom (head or body)",
    detect=_detect_water,
    standard="ACR CT Quality Control Manual (2017); IEC 61223-3-5",
))


# ---------------------------------------------------------------------------------------------
# ct.nps
# ---------------------------------------------------------------------------------------------
def ct_nps(series: ImageSeries, *, roi_size_mm: float = 25.0, region_fraction: float = 0.6,
           overlap: float = 0.5, detrend: str = "poly2", slice_index: int | None = None,
           pixel_spacing_mm: float | None = None) -> Analysis:
    """Noise power spectrum of uniform slices (AAPM TG-233 / ICRU 87).

    Square ROIs of `roi_size_mm` tile a disc of `region_fraction` × the phantom radius around
    the phantom centre (50 % overlap), on every slice; each ROI is detrended by a polynomial
    and the 2-D NPS is their mean. Noise magnitude is the SD of the detrended ROIs.
    """
    _, px = with_pixel_size(series, pixel_spacing_mm, "ct.nps")
    _require_axial_ct(series, "a uniform phantom")
    n = max(8, int(round(roi_size_mm / px)))
    all_rois = []
    rois_drawn: list[Roi] = []
    used: list[int] = []
    means: list[float] = []

    def uniform_rois(i: int) -> tuple[Any, np.ndarray, np.ndarray]:
        image = series.pixels(i)
        ph = find_phantom(image, px)
        region = circle_mask(image.shape, ph.centre_rc, region_fraction * ph.radius_px)
        rois = extract_rois(image, n, overlap=overlap, mask=region)
        if rois.shape[0] == 0:
            raise PhantomNotFoundError(f"no {roi_size_mm:g} mm ROI fits in the uniform region")
        return ph, region, rois

    tried = try_each_slice(_slice_indices(series, slice_index), uniform_rois,
                           catch=(PhantomNotFoundError,))
    for i, (ph, region, rois) in tried.done:
        image = series.pixels(i)
        all_rois.append(rois)
        used.append(i)
        means.append(float(rois.mean()))
        rois_drawn.append(Roi("circle", (ph.centre_rc,), label="NPS region", frame=i,
                              radius=region_fraction * ph.radius_px, role="field"))
        step = max(1, int(round(n * (1 - overlap))))
        r_starts = np.arange(0, image.shape[0] - n + 1, step)
        c_starts = np.arange(0, image.shape[1] - n + 1, step)
        sat = np.pad(region.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        r0, c0 = r_starts[:, None], c_starts[None, :]
        inside = (sat[r0 + n, c0 + n] - sat[r0, c0 + n] - sat[r0 + n, c0] + sat[r0, c0]) == n * n
        for rr, cc in zip(*np.nonzero(inside)):
            top, left = float(r_starts[rr]), float(c_starts[cc])
            rois_drawn.append(Roi("rect", ((top, left), (top + n - 1, left + n - 1)),
                                  label="NPS ROI", frame=i))
    if not all_rois:
        raise PhantomNotFoundError(
            "ct.nps expects axial slices of a uniform phantom (water phantom or Catphan "
            f"CTP486); none was usable ({tried.reasons(3)}).",
            hint="Choose a uniform slice, or use smaller ROIs (roi_size_mm).")
    stack = np.concatenate(all_rois)
    nps = nps_2d(stack, (px, px), detrend=detrend)
    f, prof = radial_profile(nps)
    mean_hu = float(np.mean(means))
    warnings = tried.skipped()
    if abs(mean_hu) > 150.0:
        warnings.append(f"The ROIs read {mean_hu:.0f} HU on average: is this a uniform "
                        "water-equivalent slice?")
    # Median frequency: half of the noise variance lies below it. The variance is the area
    # integral of the NPS, so each radial bin is weighted by its circumference (∝ f).
    cum = np.cumsum(prof * f)
    f_median = float(np.interp(0.5 * cum[-1], cum, f)) if cum[-1] > 0 else float("nan")
    return Analysis(
        measurements={"noise_sd_hu": float(np.sqrt(nps.variance)),
                      "nps_f_peak": nps_peak_frequency(f, prof),
                      "nps_f_avg": nps_mean_frequency(f, prof),
                      "nps_f_median": f_median,
                      "mean_hu": mean_hu},
        rois=rois_drawn,
        curves=[Curve("NPS (radial)", f, prof, "spatial frequency", "1/mm", "NPS",
                      "HU²·mm²")],
        maps=[ImageMap("NPS 2-D", nps.nps, "2-D noise power spectrum (zero frequency at the "
                       "centre)", "HU²·mm²", None)],
        warnings=warnings,
        extra={"slices_used": used, "n_rois": int(stack.shape[0]), "roi_size_px": n,
               "detrend": detrend},
        frames=used,
    )


register(Protocol(
    name="ct.nps",
    key_measurement="noise_sd_hu",
    version="1",
    title="CT noise power spectrum",
    description="AAPM TG-233 / ICRU 87 NPS from detrended square ROIs on uniform slices: "
                "noise magnitude, peak, mean and median frequency of the radial NPS.",
    modalities=("CT",),
    measurements=(
        MeasurementSpec("noise_sd_hu", "HU", "Noise magnitude: SD of the detrended ROIs "
                        "(= √ of the NPS integral).", higher_is_better=False,
                        label="Noise (SD)"),
        MeasurementSpec("nps_f_peak", "1/mm", "Frequency of the radial NPS maximum.",
                        label="NPS peak frequency"),
        MeasurementSpec("nps_f_avg", "1/mm", "NPS-weighted mean frequency of the radial NPS.",
                        label="NPS mean frequency"),
        MeasurementSpec("nps_f_median", "1/mm",
                        "Frequency below which half of the noise variance lies (radial NPS "
                        "weighted by 2πf).",
                        label="NPS median frequency"),
        MeasurementSpec("mean_hu", "HU", "Mean CT number of the ROIs.",
                        label="Mean CT number"),
    ),
    parameters=(
        ParameterSpec("roi_size_mm", float, 25.0, "mm", "Side of the square ROIs.",
                      minimum=2.0),
        ParameterSpec("region_fraction", float, 0.6, "",
                      "ROIs lie within this fraction of the phantom radius.", minimum=0.05,
                      maximum=0.95),
        ParameterSpec("overlap", float, 0.5, "", "Fractional overlap of neighbouring ROIs.",
                      minimum=0.0, maximum=0.9),
        ParameterSpec("detrend", str, "poly2", "", "Surface removed from each ROI.",
                      choices=("mean", "plane", "poly2")),
        ParameterSpec("slice_index", int, None, "", "Analyse only this image.", minimum=0),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=ct_nps,
    inputs="axial slices of a uniform phantom",
    standard="AAPM Report 233 (2019) §5; ICRU Report 87 (2012)",
))
