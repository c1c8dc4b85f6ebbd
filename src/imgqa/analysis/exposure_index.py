"""IEC 62494-1 exposure index (EI) and deviation index (DI) of a projection X-ray image.

IEC 62494-1:2008 defines EI = 100 · K_cal, with K_cal the detector air kerma in µGy (RQA5 beam)
that would give the image's *value of interest* V; the manufacturer's calibration function
g maps V to K. The deviation index is DI = 10 · log10(EI / EI_T) for the target EI_T of the
examination (AAPM TG-116, Shepard et al. 2009): DI = +1 is 26 % more exposure than intended.

For QC of a flat field the value of interest is the mean of a central ROI covering 10 % of the
image area (IEC 62494-1 §5 leaves the VOI to the manufacturer; the central 10 % is what the
standard's test conditions and TG-116 use). Two calibration shapes cover the detectors in use:

* ``linear``: V = slope · K + intercept (raw, "for processing" linear detectors);
* ``log``: V = slope · log10(K) + intercept (CR and logarithmic raw data).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EiResult", "central_roi", "air_kerma_from_value", "exposure_index",
           "deviation_index"]

CALIBRATIONS = ("linear", "log")


@dataclass(frozen=True, slots=True)
class EiResult:
    """EI computed from an image.

    Attributes
    ----------
    value_of_interest : float
        Mean pixel value of the central ROI.
    air_kerma_ugy : float
        K_cal = g⁻¹(V), µGy.
    exposure_index : float
        100 · K_cal (IEC 62494-1).
    roi : (r0, c0, r1, c1)
        The central ROI, rows r0:r1 and columns c0:c1.
    """

    value_of_interest: float
    air_kerma_ugy: float
    exposure_index: float
    roi: tuple[int, int, int, int]


def central_roi(shape: tuple[int, int], area_fraction: float = 0.10
                ) -> tuple[int, int, int, int]:
    """The centred rectangle covering ``area_fraction`` of the image, same aspect ratio.

    Returns (r0, c0, r1, c1), half-open.
    """
    rows, cols = shape
    side = math.sqrt(area_fraction)
    h, w = max(1, round(rows * side)), max(1, round(cols * side))
    r0, c0 = (rows - h) // 2, (cols - w) // 2
    return r0, c0, r0 + h, c0 + w


def air_kerma_from_value(value: float, calibration: str, slope: float,
                         intercept: float) -> float:
    """Invert the detector calibration: pixel value → detector air kerma (µGy).

    Raises
    ------
    ValueError
        Unknown calibration, zero slope or a value below the linear calibration's offset.
    """
    if calibration not in CALIBRATIONS:
        raise ValueError(f"calibration must be one of {CALIBRATIONS}, not {calibration!r}")
    if slope == 0:
        raise ValueError("the calibration slope must not be zero")
    if calibration == "linear":
        k = (value - intercept) / slope
        if k <= 0:
            raise ValueError(f"the value of interest {value:g} is at or below the "
                             f"calibration's zero-kerma value {intercept:g}")
        return k
    return float(10.0 ** ((value - intercept) / slope))


def exposure_index(image: np.ndarray, calibration: str, slope: float, intercept: float,
                   area_fraction: float = 0.10) -> EiResult:
    """EI of an image from its central ROI and the detector calibration (IEC 62494-1).

    Parameters
    ----------
    image : 2-D array
        Pixel values as the calibration expects them (stored values after rescale).
    calibration : {"linear", "log"}
    slope, intercept : float
        V = slope·K + intercept (linear) or V = slope·log10(K) + intercept (log); K in µGy.
    area_fraction : float
        Share of the image area in the central ROI (IEC 62494-1 / TG-116: 0.10).
    """
    r0, c0, r1, c1 = central_roi(image.shape, area_fraction)
    voi = float(np.mean(image[r0:r1, c0:c1], dtype=np.float64))
    k = air_kerma_from_value(voi, calibration, slope, intercept)
    return EiResult(voi, k, 100.0 * k, (r0, c0, r1, c1))


def deviation_index(ei: float, target: float) -> float:
    """DI = 10·log10(EI / EI_T) (IEC 62494-1 §4, AAPM TG-116)."""
    if ei <= 0 or target <= 0:
        raise ValueError("EI and the target EI must be positive")
    return 10.0 * math.log10(ei / target)
