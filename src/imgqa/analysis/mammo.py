"""Mammography QC kernels: SDNR of an aluminium object on PMMA, flat-field homogeneity.

* SDNR (European guidelines 4th ed. supplement, EUREF "European protocol for the quality
  control of the physical and technical aspects of digital breast tomosynthesis"/DM §2.4.1;
  ACR Digital Mammography QC Manual 2018): a 0.2 mm Al square (10 × 10 mm) on PMMA; signal ROI
  inside the object, background ROIs around it.

  SDNR = (mean_bg − mean_obj) / noise, with noise = √((SD_obj² + SD_bg²)/2) (EUREF) or
  SD_bg (ACR); contrast = 100·(mean_bg − mean_obj)/mean_bg %.
* Homogeneity (EUREF §2.4.3 detector homogeneity): a grid of small ROIs (5 mm every 10 mm by
  default) over a flat PMMA image; the largest deviation of an ROI mean and of an ROI SNR
  from the mean over all ROIs (global), and from the mean of its 4 neighbours (local), %.

Pixel values are used as given: subtract the detector offset (``offset``) so that a signal is
proportional to dose, as EUREF asks ("linearised" or offset-corrected "for processing" images).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["SquareObject", "find_square_object", "SdnrResult", "sdnr", "HomogeneityResult",
           "homogeneity", "roi_stats"]


@dataclass(frozen=True, slots=True)
class SquareObject:
    """Where the contrast object is: centre (row, col) in pixels and side in pixels."""

    centre: tuple[float, float]
    side_px: float
    contrast_sign: int


def _bin(img: np.ndarray, b: int) -> np.ndarray:
    r, c = (img.shape[0] // b) * b, (img.shape[1] // b) * b
    return img[:r, :c].reshape(r // b, b, c // b, b).mean(axis=(1, 3))


def find_square_object(image: np.ndarray, pixel_mm: float, side_mm: float = 10.0
                       ) -> SquareObject:
    """Locate a square contrast object (lower or higher signal) of about ``side_mm``.

    The image is binned to ~side/10, the background (median over 2 object sides) removed, and
    the largest connected region deviating by more than half the extreme deviation is taken.

    Raises
    ------
    ValueError
        No region of roughly the object's size stands out from the noise.
    """
    # Bin so that the object is ~10 pixels across: the median background (over about twice
    # the object, where it covers < 25 % of the window) then stays cheap.
    b = max(1, int(round(side_mm / 10.0 / pixel_mm)))
    small = _bin(np.asarray(image, dtype=np.float64), b)
    px = pixel_mm * b
    side = side_mm / px
    bg = ndimage.median_filter(small, size=max(3, int(2 * side) | 1), mode="reflect")
    dev = ndimage.uniform_filter(small - bg, max(1, int(side / 3)))
    edge = max(1, int(side / 2))
    inner = dev[edge:-edge, edge:-edge] if min(dev.shape) > 2 * edge + 2 else dev
    lo, hi = float(inner.min()), float(inner.max())
    sign = -1 if abs(lo) >= abs(hi) else 1
    peak = lo if sign < 0 else hi
    noise = 1.4826 * float(np.median(np.abs(inner - np.median(inner))))
    if abs(peak) < 5 * noise or peak == 0:
        raise ValueError("no contrast object stands out from the noise")
    mask = (dev * sign) > abs(peak) / 2
    labels, n = ndimage.label(mask)
    sizes = ndimage.sum_labels(mask, labels, np.arange(1, n + 1))
    k = int(np.argmax(sizes)) + 1
    area = float(sizes[k - 1])
    if not 0.25 * side * side <= area <= 4 * side * side:
        raise ValueError(f"the region found ({np.sqrt(area) * px:.1f} mm across) is not the "
                         f"size of the {side_mm:g} mm object")
    # Refine on full resolution: centroid of the object in the un-smoothed deviation.
    rc, cc = ndimage.center_of_mass(mask, labels, k)
    return SquareObject(((rc + 0.5) * b - 0.5, (cc + 0.5) * b - 0.5), np.sqrt(area) * b, sign)


def roi_stats(image: np.ndarray, centre: tuple[float, float], half_px: float
              ) -> tuple[float, float, tuple[int, int, int, int]]:
    """Mean and SD of the square ROI of half-side ``half_px`` around ``centre``.

    The SD is taken after removing a least-squares plane (ddof = 3): the heel gradient across
    a 5 mm ROI is signal, not noise (at 0.5 % noise it would add ~3 % to the SD).
    """
    r0 = int(round(centre[0] - half_px))
    c0 = int(round(centre[1] - half_px))
    n = max(2, int(round(2 * half_px)))
    r0, c0 = max(r0, 0), max(c0, 0)
    roi = image[r0:r0 + n, c0:c0 + n]
    if roi.size < 4:
        raise ValueError("ROI outside the image")
    yy, xx = np.mgrid[:roi.shape[0], :roi.shape[1]]
    design = np.column_stack([np.ones(roi.size), yy.ravel(), xx.ravel()])
    coef, *_ = np.linalg.lstsq(design, roi.ravel(), rcond=None)
    resid = roi.ravel() - design @ coef
    sd = float(np.sqrt(np.sum(resid * resid) / max(roi.size - 3, 1)))
    return float(roi.mean()), sd, (r0, c0, r0 + roi.shape[0], c0 + roi.shape[1])


@dataclass(frozen=True, slots=True)
class SdnrResult:
    """SDNR of the object; ``rois`` are (r0, c0, r1, c1) of the signal and background ROIs."""

    sdnr: float
    contrast_percent: float
    mean_object: float
    sd_object: float
    mean_background: float
    sd_background: float
    object_centre: tuple[float, float]
    rois: tuple[tuple[int, int, int, int], ...]


def sdnr(image: np.ndarray, pixel_mm: float, *, side_mm: float = 10.0, roi_mm: float = 5.0,
         background_distance_mm: float = 10.0, offset: float = 0.0, noise: str = "euref",
         centre: tuple[float, float] | None = None) -> SdnrResult:
    """SDNR and contrast of a square object on a uniform background.

    Parameters
    ----------
    image : 2-D array
    pixel_mm : float
    side_mm : float
        Side of the object (EUREF: 10 mm Al, 0.2 mm thick).
    roi_mm : float
        Side of the signal and background ROIs (5 mm: inside the object with a margin).
    background_distance_mm : float
        Distance from the object centre to each of the 4 background ROI centres (above,
        below, left, right: a linear heel gradient cancels in their mean).
    offset : float
        Detector offset subtracted from every mean (pixel value at zero dose).
    noise : {"euref", "acr"}
        √((SD_obj² + SD_bg²)/2) or SD_bg.
    centre : (row, col), optional
        Object centre in pixels; found with `find_square_object` when omitted.
    """
    img = np.asarray(image, dtype=np.float64)
    if centre is None:
        centre = find_square_object(img, pixel_mm, side_mm).centre
    half = roi_mm / pixel_mm / 2
    m_obj, s_obj, roi_obj = roi_stats(img, centre, half)
    d = background_distance_mm / pixel_mm
    bg = [roi_stats(img, (centre[0] + dr * d, centre[1] + dc * d), half)
          for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    m_bg = float(np.mean([b[0] for b in bg]))
    s_bg = float(np.sqrt(np.mean([b[1] ** 2 for b in bg])))
    sd = np.sqrt((s_obj ** 2 + s_bg ** 2) / 2) if noise == "euref" else s_bg
    diff = m_bg - m_obj
    return SdnrResult(
        sdnr=float(abs(diff) / sd) if sd > 0 else float("inf"),
        contrast_percent=float(100.0 * diff / (m_bg - offset)),
        mean_object=m_obj, sd_object=s_obj, mean_background=m_bg, sd_background=s_bg,
        object_centre=(float(centre[0]), float(centre[1])),
        rois=(roi_obj, *(b[2] for b in bg)))


@dataclass(frozen=True, slots=True)
class HomogeneityResult:
    """ROI-grid homogeneity (EUREF); maps are (n_rows, n_cols) of ROI values."""

    max_mean_deviation_percent: float
    max_snr_deviation_percent: float
    max_local_mean_deviation_percent: float
    max_local_snr_deviation_percent: float
    mean_signal: float
    mean_snr: float
    means: np.ndarray
    snrs: np.ndarray
    origin_px: tuple[float, float]
    step_px: float
    roi_px: int


def _grid_sums(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, n: int) -> np.ndarray:
    """Sums of n × n blocks with top-left corners at the outer product of r0 and c0."""
    ii = np.zeros((img.shape[0] + 1, img.shape[1] + 1))
    ii[1:, 1:] = img.cumsum(0).cumsum(1)
    R, C = np.meshgrid(r0, c0, indexing="ij")
    return ii[R + n, C + n] - ii[R, C + n] - ii[R + n, C] + ii[R, C]


def _local_dev(values: np.ndarray) -> float:
    """max |v − mean of its (up to 4) neighbours| / global mean, %."""
    p = np.pad(values, 1, constant_values=np.nan)
    neigh = np.stack([p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    mean_n = np.nanmean(neigh, axis=0)
    return float(100.0 * np.nanmax(np.abs(values - mean_n)) / np.mean(values))


def homogeneity(image: np.ndarray, pixel_mm: float, *, roi_mm: float = 5.0,
                step_mm: float = 10.0, border_mm: float = 5.0, offset: float = 0.0
                ) -> HomogeneityResult:
    """EUREF detector homogeneity from an ROI grid on a flat PMMA image.

    The grid is centred on the image: ROIs of ``roi_mm`` every ``step_mm``, all inside a
    ``border_mm`` margin. Mean deviation = max |ROI mean − mean of ROI means| / that mean;
    SNR deviation likewise with SNR = (mean − offset)/SD; "local" against the mean of the
    4 neighbouring ROIs. Vectorised with an integral image.
    """
    img = np.asarray(image, dtype=np.float64) - offset
    n = max(2, int(round(roi_mm / pixel_mm)))
    step = step_mm / pixel_mm
    border = border_mm / pixel_mm
    out: list[np.ndarray] = []
    for size in img.shape:
        usable = size - 2 * border - n
        if usable < 0:
            raise ValueError("the image is smaller than one ROI plus the border")
        k = int(np.floor(usable / step)) + 1
        first = (size - n - (k - 1) * step) / 2
        out.append(np.round(first + step * np.arange(k)).astype(int))
    r0, c0 = out
    npx = n * n
    s1 = _grid_sums(img, r0, c0, n)
    s2 = _grid_sums(img * img, r0, c0, n)
    means = s1 / npx
    var = np.maximum(s2 - s1 * s1 / npx, 0.0) / (npx - 1)
    snrs = means / np.sqrt(np.maximum(var, 1e-30))
    gm, gs = float(means.mean()), float(snrs.mean())
    return HomogeneityResult(
        max_mean_deviation_percent=float(100 * np.max(np.abs(means - gm)) / gm),
        max_snr_deviation_percent=float(100 * np.max(np.abs(snrs - gs)) / gs),
        max_local_mean_deviation_percent=_local_dev(means),
        max_local_snr_deviation_percent=_local_dev(snrs),
        mean_signal=gm, mean_snr=gs, means=means, snrs=snrs,
        origin_px=(float(r0[0]), float(c0[0])), step_px=float(step), roi_px=n)
