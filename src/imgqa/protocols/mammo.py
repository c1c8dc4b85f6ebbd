"""Mammography QC protocols (issue 15): SDNR, detector homogeneity, artefact map.

* ``mg.sdnr`` — SDNR and contrast of the 0.2 mm Al square on PMMA (EUREF / European guidelines
  4th ed.; ACR Digital Mammography QC Manual 2018).
* ``mg.homogeneity`` — EUREF flat-field homogeneity: ROI-grid mean and SNR deviations.
* ``mg.artefacts`` — artefact detection map (background removed, local deviations flagged).

Kernels: `imgqa.analysis.mammo`, `imgqa.analysis.defects.artefact_map`.
"""

from __future__ import annotations

import numpy as np

from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import (
    Analysis,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
)
from imgqa.protocols.xray import (
    _INDEX_PARAM,
    _check_image,
    _images,
    _label,
    _one_or_many,
    detector_spacing,
    keyword_in,
)

sdnr_kernel, homogeneity_kernel = lazy_functions("imgqa.analysis.mammo", "sdnr", "homogeneity")
artefact_map, find_defects = lazy_functions("imgqa.analysis.defects", "artefact_map", "find_defects")

__all__ = ["mg_sdnr", "mg_homogeneity", "mg_artefacts"]

MODALITIES = ("MG",)
_SPACING_PARAM = ParameterSpec(
    "pixel_spacing_mm", float, None, "mm",
    "Detector pixel pitch when the images have no (0018,1164) Imager Pixel Spacing or "
    "(0028,0030) Pixel Spacing (overrides the header when given).", minimum=1e-4)
_OFFSET_PARAM = ParameterSpec("offset", float, 0.0, "value", "Detector offset (pixel value at "
                              "zero dose), subtracted so that signals are proportional to dose.")


def _rect(r: tuple[int, int, int, int], label: str, frame: int, role: str = "measure") -> Roi:
    r0, c0, r1, c1 = r
    return Roi("rect", ((r0, c0), (r1 - 1, c1 - 1)), label, frame=frame, role=role)


# ---------------------------------------------------------------------------------------------
# mg.sdnr
# ---------------------------------------------------------------------------------------------
def mg_sdnr(series: ImageSeries, *, object_mm: float = 10.0, roi_mm: float = 5.0,
            background_distance_mm: float = 10.0, offset: float = 0.0, noise: str = "euref",
            image_index: int | None = None, pixel_spacing_mm: float | None = None
            ) -> Analysis | list[Analysis]:
    """SDNR and contrast of the Al square of each image (see `imgqa.analysis.mammo.sdnr`)."""
    (sp, _), src = detector_spacing(series, pixel_spacing_mm, "The SDNR")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        try:
            res = sdnr_kernel(img, sp, side_mm=object_mm, roi_mm=roi_mm,
                              background_distance_mm=background_distance_mm, offset=offset,
                              noise=noise)
        except ValueError as exc:
            raise PhantomNotFoundError(
                f"No {object_mm:g} mm contrast object (0.2 mm Al square) was found in image "
                f"{i + 1}: {exc}.",
                hint="Image the Al square on PMMA, away from the image edges, or check "
                     "object_mm.") from None
        rois = [_rect(res.rois[0], "object", i)]
        rois += [_rect(r, f"background {k + 1}", i, "background")
                 for k, r in enumerate(res.rois[1:])]
        out.append(Analysis(
            {"sdnr": res.sdnr, "contrast_percent": res.contrast_percent,
             "mean_object": res.mean_object, "mean_background": res.mean_background,
             "noise_background": res.sd_background},
            rois=rois, warnings=warnings, label=_label(series, i), frames=[i],
            extra={"object_centre_px": list(res.object_centre), "sd_object": res.sd_object,
                   "noise_definition": noise, "spacing_source": src}))
    return _one_or_many(out)


def _detect_sdnr(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a mammography image"
    found = keyword_in(series, ("sdnr", "cnr", " al ", "alumin"))
    if found:
        return 0.7, f"the series description names {found.strip()!r}"
    return 0.0, "only chosen when the series description names SDNR, CNR or the Al object"


register(Protocol(
    name="mg.sdnr",
    key_measurement="sdnr",
    version="1",
    title="Mammography SDNR (Al on PMMA)",
    description="Signal-difference-to-noise ratio and contrast of the 0.2 mm aluminium square "
                "on PMMA: object found automatically, signal ROI inside it, four background "
                "ROIs around it (a heel gradient cancels).",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("sdnr", "", "(mean background − mean object) / noise.", True,
                        label="SDNR"),
        MeasurementSpec("contrast_percent", "%", "(mean background − mean object) / "
                        "(mean background − offset).", True, label="Contrast"),
        MeasurementSpec("mean_object", "", "Mean pixel value in the object ROI.",
                        label="Mean signal, object"),
        MeasurementSpec("mean_background", "", "Mean of the background ROI means.",
                        label="Mean signal, background"),
        MeasurementSpec("noise_background", "", "RMS of the background ROI SDs.", False,
                        label="Noise (SD), background"),
    ),
    parameters=(
        ParameterSpec("object_mm", float, 10.0, "mm", "Side of the Al square.", minimum=2.0),
        ParameterSpec("roi_mm", float, 5.0, "mm", "Side of the signal and background ROIs.",
                      minimum=0.5),
        ParameterSpec("background_distance_mm", float, 10.0, "mm", "Object centre to "
                      "background ROI centres.", minimum=1.0),
        _OFFSET_PARAM,
        ParameterSpec("noise", str, "euref", "", "Noise in the SDNR: euref √((SD_obj² + "
                      "SD_bg²)/2) or acr SD_bg.", choices=("euref", "acr")),
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=mg_sdnr,
    inputs="one 'for processing' image of the 0.2 mm Al square on PMMA",
    detect=_detect_sdnr,
    standard="European guidelines 4th ed. (2006) and EUREF supplements, §2.4.1 CNR/SDNR; "
             "ACR Digital Mammography QC Manual (2018)",
))


# ---------------------------------------------------------------------------------------------
# mg.homogeneity
# ---------------------------------------------------------------------------------------------
def mg_homogeneity(series: ImageSeries, *, roi_mm: float = 5.0, step_mm: float = 10.0,
                   border_mm: float = 5.0, offset: float = 0.0, image_index: int | None = None,
                   pixel_spacing_mm: float | None = None) -> Analysis | list[Analysis]:
    """EUREF homogeneity of each flat image (see `imgqa.analysis.mammo.homogeneity`)."""
    (sp, _), src = detector_spacing(series, pixel_spacing_mm, "The homogeneity")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        try:
            res = homogeneity_kernel(img, sp, roi_mm=roi_mm, step_mm=step_mm,
                                     border_mm=border_mm, offset=offset)
        except ValueError as exc:
            raise PhantomNotFoundError(f"Image {i + 1}: {exc}.",
                                       hint="Use a smaller roi_mm or border_mm.") from None
        r0, c0 = res.origin_px
        n, rows, cols = res.roi_px, res.means.shape[0], res.means.shape[1]
        field = (r0, c0, r0 + (rows - 1) * res.step_px + n, c0 + (cols - 1) * res.step_px + n)
        out.append(Analysis(
            {"max_mean_deviation_percent": res.max_mean_deviation_percent,
             "max_snr_deviation_percent": res.max_snr_deviation_percent,
             "max_local_mean_deviation_percent": res.max_local_mean_deviation_percent,
             "max_local_snr_deviation_percent": res.max_local_snr_deviation_percent,
             "mean_signal": res.mean_signal, "mean_snr": res.mean_snr},
            rois=[Roi("rect", ((field[0], field[1]), (field[2] - 1, field[3] - 1)),
                      f"ROI grid {rows} × {cols}", frame=i, role="field")],
            maps=[ImageMap("ROI mean", res.means, "mean of each ROI", "",
                           step_mm), ImageMap("ROI SNR", res.snrs, "SNR of each ROI", "",
                                              step_mm)],
            warnings=warnings, label=_label(series, i), frames=[i],
            extra={"grid": [rows, cols], "roi_px": n, "spacing_source": src}))
    return _one_or_many(out)


def _detect_homogeneity(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a mammography image"
    found = keyword_in(series, ("homogen",))
    if found:
        return 0.7, "the series description names homogeneity"
    return 0.0, "only chosen when the series description names homogeneity"


register(Protocol(
    name="mg.homogeneity",
    key_measurement="max_mean_deviation_percent",
    version="1",
    title="Mammography detector homogeneity (EUREF)",
    description="Flat PMMA image: ROI grid (5 mm ROIs every 10 mm); largest deviation of an ROI "
                "mean and of an ROI SNR from the mean over all ROIs and from the 4 neighbours.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("max_mean_deviation_percent", "%", "max |ROI mean − global mean| / "
                        "global mean.", False, label="Mean deviation, max"),
        MeasurementSpec("max_snr_deviation_percent", "%", "max |ROI SNR − global SNR| / "
                        "global SNR.", False, label="SNR deviation, max"),
        MeasurementSpec("max_local_mean_deviation_percent", "%", "max |ROI mean − mean of "
                        "its neighbours| / global mean.", False,
                        label="Mean deviation, local max"),
        MeasurementSpec("max_local_snr_deviation_percent", "%", "max |ROI SNR − mean of its "
                        "neighbours| / global SNR.", False, label="SNR deviation, local max"),
        MeasurementSpec("mean_signal", "", "Mean of the ROI means (offset removed).",
                        label="Mean signal"),
        MeasurementSpec("mean_snr", "", "Mean of the ROI SNRs.", True, label="Mean SNR"),
    ),
    parameters=(
        ParameterSpec("roi_mm", float, 5.0, "mm", "Side of the ROIs.", minimum=0.5),
        ParameterSpec("step_mm", float, 10.0, "mm", "Grid step.", minimum=0.5),
        ParameterSpec("border_mm", float, 5.0, "mm", "Margin left out along the edges.",
                      minimum=0.0),
        _OFFSET_PARAM,
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=mg_homogeneity,
    inputs="one flat 'for processing' image of PMMA (e.g. 45 mm)",
    detect=_detect_homogeneity,
    standard="European guidelines 4th ed. (2006) / EUREF, §2.4.3 detector homogeneity",
))



# ---------------------------------------------------------------------------------------------
# mg.artefacts
# ---------------------------------------------------------------------------------------------
def mg_artefacts(series: ImageSeries, *, background_mm: float = 10.0, smooth_mm: float = 1.0,
                 threshold_percent: float = 1.0, k_sigma: float = 5.0,
                 min_area_mm2: float = 1.0, defects: bool = True,
                 image_index: int | None = None, pixel_spacing_mm: float | None = None
                 ) -> Analysis | list[Analysis]:
    """Artefact map of each flat image, and its defective pixels and lines.

    See `imgqa.analysis.defects.artefact_map` (background removal, local deviations) and
    `find_defects` (median-filter method; the variance method is left out here for speed).
    """
    (sp, _), src = detector_spacing(series, pixel_spacing_mm, "The artefact map")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        res = artefact_map(img, sp, background_mm=background_mm, smooth_mm=smooth_mm,
                           threshold_percent=threshold_percent, k_sigma=k_sigma,
                           min_area_mm2=min_area_mm2)
        measurements: dict[str, float | None] = {
            "artefact_regions": res.artefact_regions,
            "artefact_area_mm2": res.artefact_area_mm2,
            "max_deviation_percent": res.max_deviation_percent}
        maps = [ImageMap("local deviation", res.deviation_percent,
                         "deviation from the smooth background (heel removed)", "%",
                         sp * img.shape[1] / res.deviation_percent.shape[1]),
                ImageMap("artefacts", res.flagged.astype(np.uint8), "flagged regions", "",
                         sp * img.shape[1] / res.flagged.shape[1])]
        extra: dict[str, object] = {"regions": [
            {"row": r, "col": c, "area_px": a, "peak_percent": p} for r, c, a, p in res.regions],
            "spacing_source": src}
        if defects:
            d = find_defects(img, variance_window_px=0)
            measurements.update(defective_pixels=d.defective_pixels,
                                defective_lines=d.defective_lines)
            maps.append(ImageMap("defect classes", d.classes,
                                 "0 good, 1 isolated pixel, 2 cluster, 3 line", "", sp))
            extra.update(defective_rows=list(d.defective_rows),
                         defective_columns=list(d.defective_columns))
        half = max(2.0, 2.0 / sp)
        rois = [Roi("circle", ((r, c),), f"artefact {k + 1} ({p:.1f} %)", frame=i,
                    radius=max(half, float(np.sqrt(a / np.pi))))
                for k, (r, c, a, p) in enumerate(res.regions)]
        out.append(Analysis(measurements, rois=rois, maps=maps, warnings=warnings,
                            label=_label(series, i), frames=[i], extra=extra))
    return _one_or_many(out)


def _detect_artefacts(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a mammography image"
    if keyword_in(series, ("artefact", "artifact")):
        return 0.7, "the series description names artefacts"
    return 0.0, "only chosen when the series description names artefacts"


register(Protocol(
    name="mg.artefacts",
    key_measurement="artefact_regions",
    version="1",
    title="Mammography artefacts",
    description="Detection map of artefacts on a flat PMMA image: the low-frequency "
                "background (heel, gain drift) is removed and local deviations above a "
                "relative and a noise threshold are flagged; defective pixels and lines too.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("artefact_regions", "", "Flagged regions of at least min_area_mm2.",
                        False, label="Artefact regions"),
        MeasurementSpec("artefact_area_mm2", "mm²", "Total flagged area.", False,
                        label="Artefact area"),
        MeasurementSpec("max_deviation_percent", "%", "Largest smoothed deviation from the "
                        "background.", False, label="Largest local deviation"),
        MeasurementSpec("defective_pixels", "", "Defective pixels (median-filter method).",
                        False, label="Defective pixels"),
        MeasurementSpec("defective_lines", "", "Defective rows plus columns.", False,
                        label="Defective lines"),
    ),
    parameters=(
        ParameterSpec("background_mm", float, 10.0, "mm", "Scale of the background removed.",
                      minimum=1.0),
        ParameterSpec("smooth_mm", float, 1.0, "mm", "FWHM of the smoothing of the deviation.",
                      minimum=0.0),
        ParameterSpec("threshold_percent", float, 1.0, "%", "Relative deviation flagged.",
                      minimum=0.0),
        ParameterSpec("k_sigma", float, 5.0, "SD", "…and above this many noise SDs.",
                      minimum=1.0),
        ParameterSpec("min_area_mm2", float, 1.0, "mm²", "Smallest region counted.",
                      minimum=0.0),
        ParameterSpec("defects", bool, True, "", "Also count defective pixels and lines."),
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=mg_artefacts,
    inputs="one flat 'for processing' image of PMMA",
    detect=_detect_artefacts,
    standard="European guidelines 4th ed. (2006) / EUREF, artefact evaluation; ACR Digital "
             "Mammography QC Manual (2018) artefact evaluation",
))
