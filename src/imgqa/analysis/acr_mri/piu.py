"""ACR percent integral uniformity (PIU) on slice 7.

PIU = 100 · (1 − (S_max − S_min) / (S_max + S_min)), where S_max and S_min are the highest and
lowest means of a 1 cm² circular ROI that fits inside the large (~200 cm²) ROI at the phantom's
centre. Instead of the manual search with a small ROI, every position is evaluated at once: the
image is convolved with a normalised 1 cm² disk (FFT), and the extreme values are taken over the
centres whose small disk lies wholly inside the large ROI.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 5 (image intensity uniformity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgqa.analysis._fftconv import fftconvolve

__all__ = [
    "LARGE_ROI_CM2",
    "SMALL_ROI_CM2",
    "PiuResult",
    "disk_kernel",
    "percent_integral_uniformity",
]

LARGE_ROI_CM2 = 200.0
SMALL_ROI_CM2 = 1.0


@dataclass(frozen=True, slots=True)
class PiuResult:
    piu: float                     # %
    max_mean: float
    min_mean: float
    max_rc: tuple[float, float]
    min_rc: tuple[float, float]
    large_mean: float
    large_sd: float
    large_radius_px: float
    small_radius_px: float
    centre_rc: tuple[float, float]


def disk_kernel(radius_px_r: float, radius_px_c: float) -> np.ndarray:
    """Normalised (sums to 1) elliptical disk of pixel centres within the radii."""
    hr, hc = int(np.ceil(radius_px_r)), int(np.ceil(radius_px_c))
    r = np.arange(-hr, hr + 1)[:, None] / radius_px_r
    c = np.arange(-hc, hc + 1)[None, :] / radius_px_c
    k = ((r * r + c * c) <= 1.0).astype(np.float64)
    return k / k.sum()


def percent_integral_uniformity(image: np.ndarray, centre_rc: tuple[float, float],
                                spacing_mm: tuple[float, float], *,
                                large_roi_cm2: float = LARGE_ROI_CM2,
                                small_roi_cm2: float = SMALL_ROI_CM2) -> PiuResult:
    """ACR PIU with an exhaustive 1 cm² ROI search inside the large ROI.

    Parameters
    ----------
    image : (M, N) ndarray
        Slice 7 (uniform water).
    centre_rc : (row, col)
        Centre of the large ROI, pixels.
    spacing_mm : (row, col)
    large_roi_cm2, small_roi_cm2 : float
        ROI areas (ACR: ~200 cm² and ~1 cm²).

    Returns
    -------
    PiuResult

    Examples
    --------
    >>> flat = np.full((256, 256), 500.0)
    >>> round(percent_integral_uniformity(flat, (128, 128), (1.0, 1.0)).piu, 6)
    100.0
    """
    img = np.asarray(image, dtype=np.float64)
    sr, sc = spacing_mm
    big_mm = np.sqrt(large_roi_cm2 * 100.0 / np.pi)
    small_mm = np.sqrt(small_roi_cm2 * 100.0 / np.pi)
    cr, cc = centre_rc
    hr, hc = int(np.ceil(big_mm / sr)) + 1, int(np.ceil(big_mm / sc)) + 1
    r0, c0 = max(int(cr) - hr, 0), max(int(cc) - hc, 0)
    crop = img[r0:int(cr) + hr + 1, c0:int(cc) + hc + 1]
    kern = disk_kernel(small_mm / sr, small_mm / sc)
    means = fftconvolve(crop, kern, mode="same")
    rr = (np.arange(crop.shape[0]) + r0 - cr) * sr
    cc_mm = (np.arange(crop.shape[1]) + c0 - cc) * sc
    d2 = rr[:, None] ** 2 + cc_mm[None, :] ** 2
    valid = d2 <= (big_mm - small_mm) ** 2
    if not valid.any():
        raise ValueError("the large ROI does not fit in the image")
    vals = np.where(valid, means, np.nan)
    imax = np.unravel_index(np.nanargmax(vals), vals.shape)
    imin = np.unravel_index(np.nanargmin(vals), vals.shape)
    smax, smin = float(vals[imax]), float(vals[imin])
    piu = 100.0 * (1.0 - (smax - smin) / (smax + smin)) if smax + smin > 0 else float("nan")
    inside = crop[d2 <= big_mm ** 2]
    return PiuResult(float(piu), smax, smin, (float(imax[0] + r0), float(imax[1] + c0)),
                     (float(imin[0] + r0), float(imin[1] + c0)), float(inside.mean()),
                     float(inside.std(ddof=1)), big_mm / sc, small_mm / sc, (cr, cc))
