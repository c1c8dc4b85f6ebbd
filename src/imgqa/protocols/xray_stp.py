"""X-ray signal transfer property, ``xray.stp``: several flat fields at different air kerma.

Owns the header air kerma (`header_kerma_ugy`), the per-image central ROI statistics, the
STP and noise-versus-dose fits and the declaration. Kernels: `imgqa.analysis.signal_transfer`;
the detector-spacing and image checks are shared with `imgqa.protocols.xray`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imgqa.analysis import nps as npsk  # numpy only
from imgqa.errors import AnalysisError, ParameterError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import (
    Analysis,
    Curve,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
)
from imgqa.protocols.xray import _SPACING_PARAM, MODALITIES, _check_image, detector_spacing

fit_noise_dose, fit_stp = lazy_functions("imgqa.analysis.signal_transfer", "fit_noise_dose",
                                         "fit_stp")

__all__ = ["header_kerma_ugy", "xray_stp"]


def header_kerma_ugy(series: ImageSeries, index: int) -> tuple[float | None, str]:
    """Detector air kerma (µGy) of one image from its header, and which element gave it.

    Preference: (0018,1411) Exposure Index (IEC 62494-1: EI = 100 · K_cal/µGy), then
    (0018,9332) Entrance Dose in mGy (× 1000; an entrance value, good only as a relative dose
    when the geometry is fixed), then (0018,1405) Relative X-Ray Exposure (vendor units).
    """
    ds = series.dataset(index)
    for kw, factor, label in (("ExposureIndex", 0.01, "(0018,1411) Exposure Index / 100"),
                              ("EntranceDoseInmGy", 1000.0, "(0018,9332) Entrance Dose in mGy"),
                              ("RelativeXRayExposure", 1.0,
                               "(0018,1405) Relative X-Ray Exposure (vendor units)")):
        value = ds.get(kw, None)
        try:
            v = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            v = None
        if v is not None and v > 0:
            return v * factor, label
    return None, ""


def _parse_kermas(text: str | None) -> list[float] | None:
    if text in (None, ""):
        return None
    try:
        values = [float(t) for t in str(text).replace(";", ",").split(",") if t.strip()]
    except ValueError:
        raise ParameterError(f"air_kerma_ugy must be numbers separated by commas, got {text!r}.",
                             hint="e.g. air_kerma_ugy=0.5,1,2,4,8 (one per image, in order)."
                             ) from None
    if any(v <= 0 or not math.isfinite(v) for v in values):
        raise ParameterError("air_kerma_ugy values must be positive.")
    return values


def xray_stp(series_list: Sequence[ImageSeries], *, air_kerma_ugy: str | None = None,
             roi_mm: float = 10.0, model: str = "linear", structured: bool = True,
             pixel_spacing_mm: float | None = None) -> Analysis:
    """Signal transfer property and noise-vs-dose fit from several flat fields."""
    images = [(s, i) for s in series_list for i in range(len(s))]
    if len(images) < 2:
        raise ParameterError("xray.stp needs at least two flat-field images at different "
                             "air kerma.", hint="Select all flat fields of the series at once.")
    given = _parse_kermas(air_kerma_ugy)
    if given is not None and len(given) != len(images):
        raise ParameterError(f"air_kerma_ugy has {len(given)} values for {len(images)} images.",
                             hint="Give one air kerma per image, in the order of the images.")
    warnings: list[str] = []
    kermas, sources, means, variances, rois = _stp_samples(images, given, roi_mm,
                                                           pixel_spacing_mm, warnings)
    if "Relative X-Ray Exposure" in " ".join(sources):
        warnings.append("air kerma from (0018,1405) Relative X-Ray Exposure is in vendor units: "
                        "slopes and noise coefficients are per vendor unit, not per µGy.")
    if "Entrance Dose" in " ".join(sources):
        warnings.append("air kerma from (0018,9332) Entrance Dose: an entrance value, not the "
                        "detector air kerma; coefficients are relative unless the geometry "
                        "makes them equal.")
    k_arr, m_arr, v_arr = np.array(kermas), np.array(means), np.array(variances)
    order = np.argsort(k_arr)
    k_arr, m_arr, v_arr = k_arr[order], m_arr[order], v_arr[order]
    if np.unique(k_arr).size < 2:
        raise ParameterError("All images have the same air kerma: nothing to fit.",
                             hint="Acquire flat fields at 3–5 different mAs settings.")
    try:
        stp = fit_stp(k_arr, m_arr, model=model)
    except ValueError as exc:
        raise AnalysisError(f"Signal transfer fit failed: {exc}.") from None
    meas: dict[str, float | None] = {"stp_slope": stp.slope, "stp_intercept": stp.intercept,
                                     "stp_r2": stp.r2}
    curves = [Curve("STP", k_arr, m_arr, "air kerma", "µGy", "mean pixel value", ""),
              Curve("STP fit", k_arr, stp.predict(k_arr), "air kerma", "µGy",
                    "mean pixel value", ""),
              Curve("variance", k_arr, v_arr, "air kerma", "µGy", "variance", "value²")]
    if stp.r2 < 0.99:
        warnings.append(f"STP fit R² = {stp.r2:.4f} < 0.99: the response is not {model}.")
    quantum_share = _noise_fit(k_arr, v_arr, structured, meas, curves, warnings)
    if model == "linear" and stp.slope <= 0:
        warnings.append("The signal does not increase with air kerma: check the kerma values "
                        "or whether the images are inverted (MONOCHROME1).")
    return Analysis(
        measurements=meas, rois=rois, curves=curves, warnings=warnings,
        extra={"method": "STP: least squares S = b0 + b1·K; noise: σ² = a·K + b + c·K² "
                         "(non-negative, relative least squares) on plane-detrended central ROIs",
               "air_kerma_ugy": k_arr.tolist(), "mean_signal": m_arr.tolist(),
               "variance": v_arr.tolist(), "kerma_sources": sorted(set(sources)),
               "quantum_fraction_at_median_kerma": quantum_share, "model": model})


def _stp_samples(images: list[tuple[ImageSeries, int]], given: list[float] | None,
                 roi_mm: float, pixel_spacing_mm: float | None, warnings: list[str]
                 ) -> tuple[list[float], list[str], list[float], list[float], list[Roi]]:
    """Per image: air kerma (µGy) and where it came from, central ROI mean and variance
    (plane-detrended: the heel-effect ramp is not noise), and the ROI drawn."""
    kermas: list[float] = []
    sources: list[str] = []
    means: list[float] = []
    variances: list[float] = []
    rois: list[Roi] = []
    for n, (s, i) in enumerate(images):
        k: float | None
        if given is not None:
            k, src = given[n], "user parameter air_kerma_ugy"
        else:
            k, src = header_kerma_ugy(s, i)
            if k is None:
                raise ParameterError(
                    f"Image {n + 1} has no air kerma in its header ((0018,1411) Exposure Index, "
                    "(0018,9332) Entrance Dose in mGy or (0018,1405) Relative X-Ray Exposure).",
                    hint="Enter the detector air kerma of every image: "
                         "air_kerma_ugy=0.5,1,2,... (µGy, in image order).")
        img = np.asarray(s.pixels(i), dtype=np.float64)
        warnings += _check_image(img, s, i)
        if pixel_spacing_mm or s.geometry.detector_spacing_mm or s.geometry.has_spacing:
            sp, _ = detector_spacing(s, pixel_spacing_mm, "xray.stp")
            half = (max(2, int(round(roi_mm / sp[0] / 2))), max(2, int(round(roi_mm / sp[1] / 2))))
        else:
            half = (50, 50)
            if "no spacing: 100×100-pixel ROIs used" not in warnings:
                warnings.append("no spacing: 100×100-pixel ROIs used")
        r, c = img.shape[0] // 2, img.shape[1] // 2
        roi = img[max(r - half[0], 0):r + half[0], max(c - half[1], 0):c + half[1]]
        resid = npsk.detrend_rois(roi, "plane")[0]   # heel-effect ramp is not noise
        kermas.append(k)
        sources.append(src)
        means.append(float(roi.mean()))
        variances.append(float(np.sum(resid ** 2) / max(resid.size - 3, 1)))
        rois.append(Roi("rect", ((float(r - half[0]), float(c - half[1])),
                                 (float(r + half[0] - 1), float(c + half[1] - 1))),
                        label=f"{k:g} µGy", frame=0, role="measure"))
    return kermas, sources, means, variances, rois


def _noise_fit(k_arr: np.ndarray, v_arr: np.ndarray, structured: bool,
               meas: dict[str, float | None], curves: list[Curve], warnings: list[str]
               ) -> float | None:
    """Noise-versus-dose fit σ² = a·K + b (+ c·K²) into `meas`; the quantum share of the
    variance at the median kerma (None when there are too few doses to fit)."""
    n_terms = 3 if structured else 2
    if k_arr.size >= n_terms:
        noise = fit_noise_dose(k_arr, v_arr, structured=structured)
        meas.update(noise_quantum_coefficient=noise.quantum, noise_electronic=noise.electronic,
                    noise_structured=noise.structured if structured else None,
                    noise_fit_r2=noise.r2)
        kk = np.linspace(0, k_arr.max(), 64)
        curves.append(Curve("variance fit", kk, noise.predict(kk), "air kerma", "µGy",
                            "variance", "value²"))
        if k_arr.size == n_terms:
            warnings.append(f"only {n_terms} dose points for {n_terms} noise coefficients: the "
                            "fit is exact and has no redundancy; use ≥ 5 doses.")
        quantum_share = noise.quantum_fraction(float(np.median(k_arr)))
    else:
        meas.update(noise_quantum_coefficient=None, noise_electronic=None,
                    noise_structured=None, noise_fit_r2=None)
        warnings.append(f"{k_arr.size} images: the noise-vs-dose fit needs at least {n_terms}.")
        quantum_share = None
    return quantum_share


register(Protocol(
    name="xray.stp",
    key_measurement="stp_slope",
    version="1",
    title="Signal transfer and noise vs dose",
    description="From flat fields at several detector air kermas: signal transfer property "
                "(linear or log fit, R²) and the noise-versus-dose fit σ² = a·K + b + c·K².",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("stp_slope", "value/µGy", "Slope of mean pixel value vs air kerma "
                        "(per ln µGy for the log model).",
                        label="Signal transfer, slope"),
        MeasurementSpec("stp_intercept", "value", "Pixel value at zero kerma (offset).",
                        label="Signal transfer, offset"),
        MeasurementSpec("stp_r2", "", "R² of the STP fit.", True,
                        label="Signal transfer, fit R²"),
        MeasurementSpec("noise_quantum_coefficient", "value²/µGy",
                        "a in σ² = a·K + b + c·K² (quantum noise).",
                        label="Noise, quantum coefficient"),
        MeasurementSpec("noise_electronic", "value²", "b: electronic (dose-independent) "
                        "variance.", False,
                        label="Noise, electronic"),
        MeasurementSpec("noise_structured", "value²/µGy²", "c: structured (fixed-pattern) "
                        "noise coefficient.", False,
                        label="Noise, structured"),
        MeasurementSpec("noise_fit_r2", "", "R² of the noise-vs-dose fit.", True,
                        label="Noise fit R²"),
    ),
    parameters=(
        ParameterSpec("air_kerma_ugy", str, None, "µGy",
                      "Detector air kerma of every image, comma-separated in image order "
                      "(overrides the header)."),
        ParameterSpec("roi_mm", float, 10.0, "mm", "Side of the central ROI.", minimum=0.1),
        ParameterSpec("model", str, "linear", "", "STP model.", choices=("linear", "log")),
        ParameterSpec("structured", bool, True, "", "Fit the structured c·K² noise term."),
        _SPACING_PARAM,
    ),
    function=xray_stp,
    inputs="flat-field images at 3–5 different air kermas (one per series or in one series)",
    multi_series=True,
    min_images=1,
    standard="IEC 62220-1-1:2015 §7.1 (conversion function); IPEM Report 32 part VII",
))
