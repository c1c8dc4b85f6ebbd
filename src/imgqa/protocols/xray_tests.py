"""X-ray room tests beyond detector physics (issue 15): exposure index, defective pixels,
Leeds TOR test object.

* ``xray.exposure_index`` — IEC 62494-1 EI and DI, from the header or the central ROI and the
  detector's calibration; TG-116 target EI per equipment as a parameter.
* ``xray.defects`` — defective pixels, lines and clusters of a flat field (median-filter and
  local-variance methods), with a map.
* ``xray.leeds_tor`` — Leeds TOR 18FG threshold contrast discs and bar-pattern resolution.

Kernels: `imgqa.analysis.exposure_index`, `imgqa.analysis.defects`, `imgqa.analysis.leeds_tor`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import (
    Analysis,
    Curve,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
)
from imgqa.protocols.xray import (
    _INDEX_PARAM,
    MODALITIES,
    _check_image,
    _images,
    _label,
    _one_or_many,
    detector_spacing,
    keyword_in,
)

(ei_from_image, deviation_index) = lazy_functions("imgqa.analysis.exposure_index",
                                                  "exposure_index", "deviation_index")
(find_defects,) = lazy_functions("imgqa.analysis.defects", "find_defects")
(analyse_tor,) = lazy_functions("imgqa.analysis.leeds_tor", "analyse_tor")

__all__ = ["xray_exposure_index", "xray_defects", "xray_leeds_tor"]



def _header_float(series: ImageSeries, index: int, keyword: str) -> float | None:
    """A numeric header element of image ``index`` (the one place headers are read here)."""
    value = series.dataset(index).get(keyword)
    try:
        out = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    return out if out is not None and math.isfinite(out) else None


def _name(series: ImageSeries, index: int) -> str:
    return series.frames[index].source.replace("\\", "/").split("::")[-1].rsplit("/", 1)[-1]


# ---------------------------------------------------------------------------------------------
# xray.exposure_index
# ---------------------------------------------------------------------------------------------
def xray_exposure_index(series: ImageSeries, *, source: str = "auto",
                        calibration: str = "linear", cal_slope: float | None = None,
                        cal_intercept: float = 0.0, target_exposure_index: float | None = None,
                        roi_fraction: float = 0.10, image_index: int | None = None
                        ) -> Analysis | list[Analysis]:
    """IEC 62494-1 exposure index and deviation index of each image.

    ``source="auto"`` takes (0018,1411) Exposure Index from the header when the modality wrote
    it, else computes EI = 100·K from the central ROI (``roi_fraction`` of the area) with the
    calibration ``V = cal_slope·K + cal_intercept`` (linear) or ``V = cal_slope·log10(K) +
    cal_intercept`` (log), K in µGy. DI = 10·log10(EI/EI_T) with EI_T the parameter
    ``target_exposure_index`` (TG-116: per equipment and examination) or (0018,1412) Target
    Exposure Index; a header (0018,1413) Deviation Index is used only when no target is known.
    """
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        header_ei = _header_float(series, i, "ExposureIndex")
        header_target = _header_float(series, i, "TargetExposureIndex")
        header_di = _header_float(series, i, "DeviationIndex")
        rois: list[Roi] = []
        extra: dict[str, Any] = {"header_exposure_index": header_ei,
                                 "header_target_exposure_index": header_target,
                                 "header_deviation_index": header_di}
        measurements: dict[str, float | None] = {}
        use_header = source == "header" or (source == "auto" and header_ei is not None
                                             and cal_slope is None)
        if use_header:
            if header_ei is None:
                raise AnalysisError(
                    f"{_name(series, i)} has no (0018,1411) Exposure Index in its header.",
                    hint="Give the detector calibration (cal_slope, cal_intercept) to compute "
                         "the EI from the image, with source=image.")
            ei = header_ei
            extra["ei_source"] = "header (0018,1411)"
        else:
            if cal_slope is None:
                raise AnalysisError(
                    f"{_name(series, i)} has no Exposure Index in its header and no detector "
                    "calibration was given, so the EI cannot be computed.",
                    hint="Enter the detector's calibration (cal_slope, cal_intercept and "
                         "calibration linear/log: pixel value versus air kerma in µGy, RQA5).")
            try:
                res = ei_from_image(img, calibration, cal_slope, cal_intercept, roi_fraction)
            except ValueError as exc:
                raise AnalysisError(f"{_name(series, i)}: {exc}; the exposure index cannot be "
                                    "computed.",
                                    hint="Check the calibration parameters and that the image "
                                         "is an exposed flat field.") from None
            ei = res.exposure_index
            r0, c0, r1, c1 = res.roi
            rois.append(Roi("rect", ((r0, c0), (r1 - 1, c1 - 1)),
                            f"EI ROI ({100 * roi_fraction:g} % of the area)", frame=i))
            measurements["air_kerma_ugy"] = res.air_kerma_ugy
            measurements["value_of_interest"] = res.value_of_interest
            extra["ei_source"] = f"central ROI, {calibration} calibration"
            if header_ei is not None:
                extra["header_vs_image_percent"] = 100.0 * (header_ei / ei - 1.0)
        target = target_exposure_index or header_target
        di: float | None
        if target and ei > 0:
            di = deviation_index(ei, target)
        elif header_di is not None:
            di = header_di
            warnings.append("No target EI known: the deviation index is the header's.")
        else:
            di = None
            warnings.append("No target exposure index (parameter target_exposure_index or "
                            "(0018,1412)), so the deviation index is not computed.")
        measurements.update(exposure_index=ei, deviation_index=di,
                            target_exposure_index=target)
        out.append(Analysis(measurements, rois=rois, warnings=warnings,
                            label=_label(series, i), extra=extra, frames=[i]))
    return _one_or_many(out)


def _detect_ei(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    if keyword_in(series, ("exposure index", " ei ")):
        return 0.7, "the header says exposure index (EI)"
    return 0.0, "only chosen when the series description names the exposure index"


register(Protocol(
    name="xray.exposure_index",
    key_measurement="exposure_index",
    version="1",
    title="Exposure index (IEC 62494-1)",
    description="Exposure index EI = 100·K(µGy) and deviation index DI = 10·log10(EI/EI_T): "
                "from the header when the modality writes it, else from the central 10 % ROI "
                "and the detector calibration; the TG-116 target EI per equipment is a "
                "parameter. Trend EI and DI for constancy.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("exposure_index", "", "IEC 62494-1 exposure index, 100 × detector air "
                        "kerma in µGy.", label="Exposure index"),
        MeasurementSpec("deviation_index", "", "10·log10(EI / target EI).",
                        label="Deviation index"),
        MeasurementSpec("target_exposure_index", "", "Target EI used for the DI.",
                        label="Target exposure index"),
        MeasurementSpec("air_kerma_ugy", "µGy", "Detector air kerma from the calibration.",
                        label="Detector air kerma"),
        MeasurementSpec("value_of_interest", "", "Mean pixel value of the central ROI.",
                        label="Value of interest"),
    ),
    parameters=(
        ParameterSpec("source", str, "auto", "", "Where the EI comes from: auto (header if "
                      "present and no calibration given), header, or image.",
                      choices=("auto", "header", "image")),
        ParameterSpec("calibration", str, "linear", "", "Shape of the detector response: "
                      "linear V = a·K + b, or log V = a·log10(K) + b.", choices=("linear", "log")),
        ParameterSpec("cal_slope", float, None, "value/µGy", "Calibration slope a (per µGy, or "
                      "per decade of µGy for log)."),
        ParameterSpec("cal_intercept", float, 0.0, "value", "Calibration intercept b."),
        ParameterSpec("target_exposure_index", float, None, "", "Target EI of this equipment "
                      "and examination (AAPM TG-116); overrides (0018,1412).", minimum=1e-6),
        ParameterSpec("roi_fraction", float, 0.10, "", "Share of the image area in the "
                      "central ROI (IEC 62494-1: 10 %).", minimum=0.001, maximum=1.0),
        _INDEX_PARAM,
    ),
    function=xray_exposure_index,
    inputs="one or more projection images (a flat field for a calibration check)",
    detect=_detect_ei,
    standard="IEC 62494-1:2008; AAPM Report 116 (Shepard et al., Med Phys 36 (2009) 2898)",
))



# ---------------------------------------------------------------------------------------------
# xray.defects
# ---------------------------------------------------------------------------------------------
_MAX_MARKS = 300  # defect marks drawn on the image; the map shows them all


def _defect_rois(res: Any, frame: int) -> list[Roi]:
    rois: list[Roi] = []
    rows, cols = res.classes.shape
    for r in res.defective_rows:
        rois.append(Roi("line", ((r, 0.0), (r, cols - 1.0)), f"defective row {r}", frame=frame))
    for c in res.defective_columns:
        rois.append(Roi("line", ((0.0, c), (rows - 1.0, c)), f"defective column {c}",
                        frame=frame))
    ys, xs = np.nonzero((res.classes > 0) & (res.classes != 3))
    for y, x in list(zip(ys.tolist(), xs.tolist()))[:_MAX_MARKS]:
        rois.append(Roi("point", ((float(y), float(x)),), "", frame=frame))
    return rois


def xray_defects(series: ImageSeries, *, kernel_px: int = 5, k_sigma: float = 6.0,
                 min_percent: float = 5.0, variance_window_px: int = 7,
                 variance_ratio: float = 3.0, line_percent: float = 1.0, cluster_min: int = 2,
                 image_index: int | None = None) -> Analysis | list[Analysis]:
    """Defective pixels, lines and clusters of each flat-field image, with a class map.

    See `imgqa.analysis.defects.find_defects` for the two methods (median-filter deviation,
    local variance) and the thresholds.
    """
    if kernel_px % 2 == 0:
        raise ParameterError(f"kernel_px must be odd (a centred median window); got "
                             f"{kernel_px}.")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        res = find_defects(img, kernel_px=kernel_px, k_sigma=k_sigma, min_percent=min_percent,
                           variance_window_px=variance_window_px,
                           variance_ratio=variance_ratio, line_percent=line_percent,
                           cluster_min=cluster_min)
        share = 100.0 * float(np.count_nonzero(res.classes)) / res.classes.size
        if share > 5.0:
            warnings.append(f"{share:.1f} % of the pixels are flagged: is this a flat field "
                            "(no object, uniform exposure)?")
        out.append(Analysis(
            measurements={"defective_pixels": res.defective_pixels,
                          "defective_lines": res.defective_lines, "clusters": res.clusters,
                          "isolated_pixels": res.isolated_pixels,
                          "noisy_pixels": res.noisy_pixels,
                          "defective_area_percent": share},
            rois=_defect_rois(res, i),
            maps=[ImageMap("defect classes", res.classes,
                           "0 good, 1 isolated pixel, 2 cluster, 3 line, 4 noisy pixel",
                           pixel_mm=(series.pixel_spacing_mm or (None,))[0])],
            warnings=warnings, label=_label(series, i), frames=[i],
            extra={"defective_rows": list(res.defective_rows),
                   "defective_columns": list(res.defective_columns),
                   "cluster_sizes": list(res.cluster_sizes),
                   "noise_sd": res.noise_sd}))
    return _one_or_many(out)


def _detect_defects(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    found = keyword_in(series, ("defect", "bad pixel", "dead pixel", "pixel map"))
    if found:
        return 0.7, f"the header says {found!r}"
    return 0.0, "only chosen when the series description names defective or bad pixels"


register(Protocol(
    name="xray.defects",
    key_measurement="defective_pixels",
    version="1",
    title="Defective pixels and lines",
    description="Defective pixels, lines and clusters of a flat field by median-filter "
                "deviation (k·robust SD and a relative limit) and local variance, with a map "
                "of the defect classes.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("defective_pixels", "", "Defective pixels outside defective lines, "
                        "isolated and clustered together.", False, label="Defective pixels"),
        MeasurementSpec("defective_lines", "", "Defective rows plus columns.", False,
                        label="Defective lines"),
        MeasurementSpec("clusters", "", "Groups of at least cluster_min defective pixels.",
                        False, label="Defect clusters"),
        MeasurementSpec("isolated_pixels", "", "Defective pixels not in a cluster.", False,
                        label="Isolated defective pixels"),
        MeasurementSpec("noisy_pixels", "", "Pixels flagged by the local-variance method "
                        "only.", False, label="Noisy pixels"),
        MeasurementSpec("defective_area_percent", "%", "Share of the image flagged (pixels "
                        "and lines).", False, label="Defective area"),
    ),
    parameters=(
        ParameterSpec("kernel_px", int, 5, "px", "Median filter size (odd; > twice the largest "
                      "cluster).", minimum=3, maximum=31),
        ParameterSpec("k_sigma", float, 6.0, "SD", "Deviation threshold in robust SDs of the "
                      "median-filter deviation.", minimum=1.0),
        ParameterSpec("min_percent", float, 5.0, "%", "Relative deviation from the local "
                      "median a defective pixel must also exceed (vendor-style; 0 = off).",
                      minimum=0.0),
        ParameterSpec("variance_window_px", int, 7, "px", "Local-variance window (0 = method "
                      "off).", minimum=0, maximum=63),
        ParameterSpec("variance_ratio", float, 3.0, "", "Local / image variance above which "
                      "a window is noisy.", minimum=1.0),
        ParameterSpec("line_percent", float, 1.0, "%", "Median relative deviation of a faint "
                      "defective line.", minimum=0.0),
        ParameterSpec("cluster_min", int, 2, "px", "Smallest cluster.", minimum=2),
        _INDEX_PARAM,
    ),
    function=xray_defects,
    inputs="one flat-field image (uniform exposure, no object)",
    detect=_detect_defects,
    standard="IEC 62220-1-1:2015 (flat-field conditions); defect criteria as in vendor "
             "detector calibration (median-filter deviation, local variance)",
))


# ---------------------------------------------------------------------------------------------
# xray.leeds_tor
# ---------------------------------------------------------------------------------------------
_N_DISCS = 18


def xray_leeds_tor(series: ImageSeries, *, detection_threshold: float = 5.0,
                   modulation_threshold: float = 0.1, image_index: int | None = None,
                   pixel_spacing_mm: float | None = None) -> Analysis | list[Analysis]:
    """Leeds TOR 18FG-type analysis of each image (see `imgqa.analysis.leeds_tor`)."""
    (sp, _), src = detector_spacing(series, pixel_spacing_mm, "The Leeds TOR analysis")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        if series.header.invert_for_display:
            img = img.max() + img.min() - img  # MONOCHROME1: make attenuation low signal
        try:
            res = analyse_tor(img, sp, detection_threshold=detection_threshold,
                              modulation_threshold=modulation_threshold)
        except ValueError as exc:
            raise PhantomNotFoundError(
                f"No Leeds TOR test object was found in image {i + 1}: {exc}.",
                hint="Centre the TOR 18FG in the field with its whole disc ring visible.") \
                from None
        rois = [Roi("circle", (c,), f"disc {k + 1}", frame=i, radius=res.disc_radius_px,
                    role="measure" if res.detected[k] else "background")
                for k, c in enumerate(res.disc_centres)]
        rois.append(Roi("circle", (res.centre,), "test object", frame=i,
                        radius=res.radius_px, role="phantom"))
        t = np.deg2rad(res.angle_deg)
        h = res.bar_half_px
        for k, (r, c) in enumerate(res.bar_centres):
            corners = tuple((r + h * (a * np.sin(t) + b * np.cos(t)),
                             c + h * (a * np.cos(t) - b * np.sin(t)))
                            for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1)))
            rois.append(Roi("polygon", corners, f"{_TOR_FREQ[k]:g} lp/mm", frame=i,
                            role="profile"))
        measurements: dict[str, float | None] = {
            "discs_detected": res.discs_detected,
            "limiting_resolution_lp_mm": res.limiting_resolution_lp_mm,
            "phantom_angle_deg": res.angle_deg}
        measurements.update({f"disc_{k + 1}_cnr": float(v) for k, v in enumerate(res.cnr)})
        if res.limiting_resolution_lp_mm is None:
            warnings.append("Even the 0.5 lp/mm bar group is below the modulation threshold.")
        out.append(Analysis(
            measurements, rois=rois,
            curves=[Curve("Bar modulation", np.asarray(_TOR_FREQ), res.modulation,
                          "Frequency", "lp/mm", "Relative modulation", ""),
                    Curve("Disc CNR", np.arange(1, _N_DISCS + 1, dtype=float), res.cnr,
                          "Disc", "", "CNR", "")],
            warnings=warnings, label=_label(series, i), frames=[i],
            extra={"disc_contrast": res.contrast.tolist(), "disc_rose_snr": res.rose.tolist(),
                   "disc_detected": res.detected.tolist(),
                   "bar_modulation": res.modulation.tolist(),
                   "centre_px": list(res.centre), "radius_mm": res.radius_px * sp,
                   "spacing_source": src}))
    return _one_or_many(out)


_TOR_FREQ = (0.5, 0.56, 0.63, 0.71, 0.8, 0.9, 1.0, 1.12, 1.25, 1.4, 1.6, 1.8, 2.0, 2.24, 2.5,
             2.8, 3.15, 3.55, 4.0, 4.5, 5.0)


def _detect_tor(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    found = keyword_in(series, ("leeds", " tor ", "tor18", "tor 18", "18fg"))
    if found:
        return 0.8, f"the series description names {found.strip()!r}"
    return 0.0, "only chosen when the series description names the Leeds TOR"


register(Protocol(
    name="xray.leeds_tor",
    key_measurement="discs_detected",
    version="1",
    title="Leeds TOR 18FG threshold contrast and resolution",
    description="Leeds TOR 18FG-type test object: automatic location and rotation, contrast "
                "and CNR of the 18 discs, discs detected (Rose SNR ≥ threshold), limiting "
                "resolution from the bar groups (relative modulation ≥ threshold).",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("discs_detected", "", "Discs whose Rose SNR (CNR·√pixels in the disc) "
                        "reaches detection_threshold.", True, label="Discs detected"),
        MeasurementSpec("limiting_resolution_lp_mm", "lp/mm", "Highest bar group with relative "
                        "modulation ≥ modulation_threshold.", True,
                        label="Limiting resolution"),
        MeasurementSpec("phantom_angle_deg", "°", "Rotation of the test object found.",
                        label="Test object rotation"),
        *(MeasurementSpec(f"disc_{k}_cnr", "", f"(background − disc {k}) / background SD.",
                          True, label=f"Disc {k} CNR") for k in range(1, _N_DISCS + 1)),
    ),
    parameters=(
        ParameterSpec("detection_threshold", float, 5.0, "", "Rose SNR a disc needs to count "
                      "as detected (Rose criterion: 5).", minimum=0.0),
        ParameterSpec("modulation_threshold", float, 0.1, "", "Relative bar modulation for "
                      "the limiting resolution.", minimum=0.0, maximum=1.0),
        _INDEX_PARAM,
        ParameterSpec("pixel_spacing_mm", float, None, "mm", "Pixel size when the header has "
                      "none (overrides it when given).", minimum=1e-4),
    ),
    function=xray_leeds_tor,
    inputs="one image of the Leeds TOR 18FG test object",
    detect=_detect_tor,
    standard="Leeds Test Objects TOR 18FG (Hay et al., Br J Radiol 58 (1985) 335); IPEM "
             "Report 91; Rose criterion for threshold contrast",
))
