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

from imgqa.errors import AnalysisError
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
from imgqa.protocols.xray import MODALITIES, _check_image, _images, _label, _one_or_many

(ei_from_image, deviation_index) = lazy_functions("imgqa.analysis.exposure_index",
                                                  "exposure_index", "deviation_index")

__all__ = ["xray_exposure_index"]

_INDEX_PARAM = ParameterSpec("image_index", int, None, "",
                             "Analyse only this image of the series (default: every image).",
                             minimum=0)


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
    text = series.header.description_text.lower()
    if "exposure index" in text or " ei " in f" {text} ":
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

