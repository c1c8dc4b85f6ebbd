"""Flat-field uniformity of a digital X-ray detector on an ROI grid (AAPM TG-150).

The image (or the exposed field, when a mask is given) loses a border, is tiled into square
ROIs, and the mean, SD and SNR (mean/SD) of every ROI are computed at once by reshaping into
blocks. For each of the three quantities q (signal, noise, SNR):

    global non-uniformity = (max q − min q) / mean q × 100 %
    local non-uniformity  = max |q − mean of its (up to) 4 direct neighbours| / mean q × 100 %

where the mean is over all ROIs. ROIs on the grid edge use the neighbours they have.
Noise non-uniformity is the most sensitive sign of a stale flat-field (gain) calibration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["Tg150Result", "tg150_uniformity", "field_mask", "nonuniformity"]


@dataclass(frozen=True)
class Tg150Result:
    """ROI-grid uniformity.

    Attributes
    ----------
    roi_mean, roi_sd, roi_snr : (n_rows, n_cols) ndarray
        Per-ROI mean, SD (ddof = 1) and SNR; NaN where the ROI is outside the field.
    global_signal_nonuniformity ... local_snr_nonuniformity : float
        Percent.
    mean_signal, mean_noise, mean_snr : float
        Means over the ROIs.
    roi_px : (int, int)
        ROI size (rows, cols) in pixels.
    origin_rc : (int, int)
        Top-left pixel of the first ROI.
    """

    roi_mean: np.ndarray = field(repr=False)
    roi_sd: np.ndarray = field(repr=False)
    roi_snr: np.ndarray = field(repr=False)
    global_signal_nonuniformity: float
    local_signal_nonuniformity: float
    global_noise_nonuniformity: float
    local_noise_nonuniformity: float
    global_snr_nonuniformity: float
    local_snr_nonuniformity: float
    mean_signal: float
    mean_noise: float
    mean_snr: float
    roi_px: tuple[int, int]
    origin_rc: tuple[int, int]

    @property
    def n_rois(self) -> int:
        return int(np.isfinite(self.roi_mean).sum())

    def roi_corners(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """(top-left, bottom-right) pixel corners of every valid ROI, raster order."""
        rr, cc = np.nonzero(np.isfinite(self.roi_mean))
        h, w = self.roi_px
        r0, c0 = self.origin_rc
        return [((float(r0 + i * h), float(c0 + j * w)),
                 (float(r0 + (i + 1) * h - 1), float(c0 + (j + 1) * w - 1)))
                for i, j in zip(rr, cc)]


def field_mask(image: np.ndarray, *, fraction: float = 0.5) -> np.ndarray:
    """Exposed detector field: pixels above `fraction` × the median, largest component, holes
    filled. Collimated or rounded-corner detectors (intra-oral) leave unexposed zero borders."""
    img = np.asarray(image, dtype=np.float64)
    med = float(np.median(img))
    if med <= 0:
        return np.ones(img.shape, bool)
    mask = img > fraction * med
    lab, n = ndimage.label(mask)
    if n > 1:
        sizes = np.bincount(lab.ravel())
        sizes[0] = 0
        mask = lab == int(np.argmax(sizes))
    return ndimage.binary_fill_holes(mask)


def _neighbour_mean(q: np.ndarray) -> np.ndarray:
    """Mean of the finite 4-neighbours of every grid cell (NaN where it has none)."""
    p = np.pad(q, 1, constant_values=np.nan)
    nb = np.stack([p[:-2, 1:-1], p[2:, 1:-1], p[1:-1, :-2], p[1:-1, 2:]])
    finite = np.isfinite(nb)
    count = finite.sum(axis=0)
    total = np.where(finite, nb, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def nonuniformity(q: np.ndarray) -> tuple[float, float]:
    """(global, local) non-uniformity in percent of a grid of ROI values (NaN = no ROI)."""
    if not np.isfinite(q).any():
        return float("nan"), float("nan")
    mean = float(np.nanmean(q))
    if not np.isfinite(mean) or mean == 0:
        return float("nan"), float("nan")
    glob = (float(np.nanmax(q)) - float(np.nanmin(q))) / abs(mean) * 100.0
    diff = np.abs(q - _neighbour_mean(q))
    local = float(np.nanmax(diff)) / abs(mean) * 100.0 if np.isfinite(diff).any() else float("nan")
    return glob, local


def tg150_uniformity(image: np.ndarray, pixel_mm: tuple[float, float], *,
                     roi_mm: float = 10.0, border_mm: float = 10.0,
                     mask: np.ndarray | None = None) -> Tg150Result:
    """AAPM TG-150 ROI-grid uniformity of a flat-field image.

    Parameters
    ----------
    image : (M, N) ndarray
        Flat-field image in linear units (for-processing values preferably).
    pixel_mm : (dy, dx)
    roi_mm : float
        Side of the square ROIs in mm (TG-150: 10 mm, or about 100 pixels).
    border_mm : float
        Width removed along the image (or field) edge, mm.
    mask : (M, N) bool ndarray, optional
        Exposed field; ROIs must lie entirely within it after the border is removed.

    Returns
    -------
    Tg150Result

    Raises
    ------
    ValueError
        Fewer than 2 × 2 ROIs fit.

    References
    ----------
    .. [1] AAPM Report 150 (TG-150), Acceptance testing and quality control of digital
       radiographic imaging systems (2021/2022); Dave J. K. et al., "Current state of practice
       regarding digital radiography detector quality control", Med Phys 39 (2012) 3648.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    dy, dx = float(pixel_mm[0]), float(pixel_mm[1])
    rh, rw = max(2, int(round(roi_mm / dy))), max(2, int(round(roi_mm / dx)))
    by, bx = int(round(border_mm / dy)), int(round(border_mm / dx))
    inner = np.zeros(img.shape, bool)
    inner[by:img.shape[0] - by, bx:img.shape[1] - bx] = True
    if mask is not None:
        m = np.asarray(mask, bool)
        if not m.all():
            # distance to the field edge in mm (anisotropic sampling respected)
            dist = ndimage.distance_transform_edt(m, sampling=(dy, dx))
            inner &= dist > border_mm
    rows = np.nonzero(inner.any(axis=1))[0]
    cols = np.nonzero(inner.any(axis=0))[0]
    if rows.size == 0 or cols.size == 0:
        raise ValueError("nothing is left after removing the border")
    r_lo, r_hi, c_lo, c_hi = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    nr, nc = (r_hi - r_lo) // rh, (c_hi - c_lo) // rw
    if nr < 2 or nc < 2:
        raise ValueError(f"only {max(nr, 0)}×{max(nc, 0)} ROIs of {roi_mm:g} mm fit after a "
                         f"{border_mm:g} mm border; at least 2×2 are needed")
    # centre the grid in the available area
    r0 = r_lo + ((r_hi - r_lo) - nr * rh) // 2
    c0 = c_lo + ((c_hi - c_lo) - nc * rw) // 2
    block = img[r0:r0 + nr * rh, c0:c0 + nc * rw].reshape(nr, rh, nc, rw)
    mean = block.mean(axis=(1, 3))
    sd = block.std(axis=(1, 3), ddof=1)
    full = inner[r0:r0 + nr * rh, c0:c0 + nc * rw].reshape(nr, rh, nc, rw).all(axis=(1, 3))
    if full.sum() < 4:
        raise ValueError("fewer than 4 ROIs lie inside the exposed field")
    mean = np.where(full, mean, np.nan)
    sd = np.where(full, sd, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        snr = np.where(sd > 0, mean / sd, np.nan)
    gs, ls = nonuniformity(mean)
    gn, ln = nonuniformity(sd)
    gq, lq = nonuniformity(snr)
    return Tg150Result(
        roi_mean=mean, roi_sd=sd, roi_snr=snr,
        global_signal_nonuniformity=gs, local_signal_nonuniformity=ls,
        global_noise_nonuniformity=gn, local_noise_nonuniformity=ln,
        global_snr_nonuniformity=gq, local_snr_nonuniformity=lq,
        mean_signal=float(np.nanmean(mean)), mean_noise=float(np.nanmean(sd)),
        mean_snr=float(np.nanmean(snr)) if np.isfinite(snr).any() else float("nan"),
        roi_px=(rh, rw), origin_rc=(int(r0), int(c0)))
