"""Defective pixels, lines and clusters of a flat-field image; artefact maps.

Two detection methods, as in IEC 62220-1 / vendor detector-calibration tests (the thresholds
are parameters because each vendor and guideline sets its own):

* **median-filter deviation**: d = I − median_k(I) (k × k neighbourhood). A pixel is defective
  when |d| exceeds ``k_sigma`` robust SDs of d over the image (1.4826 · MAD, so quantum noise
  sets the scale) *and* ``min_percent`` of the local median (a vendor-style relative limit).
  A one-pixel line, a lone pixel or a cluster smaller than half the window does not move the
  median, so d isolates them.
* **local variance**: the variance of d in a w × w window, relative to the image's robust
  variance; windows above ``variance_ratio`` mark noisy pixels (a defect that is noisy rather
  than offset). With w = 7 (48 degrees of freedom) a ratio of 3 is > 9 SDs of the variance
  estimator, so clean noise never reaches it.

Lines: a row or column is defective when at least half of its pixels are, or when its median
deviation is both > ``k_sigma`` standard errors and > ``line_percent`` of the signal (a faint
line invisible pixel by pixel; the median along the line, so a compact object does not count).
Lines within k//2 of a strong line are not tested as faint lines: the strong line pulls their
k × k median background.
Clusters: groups of ≥ ``cluster_min`` defective pixels outside lines, members at most 2 px
apart. `artefact_map` removes the low-frequency background (large median) and
flags local deviations the same way, for mammography artefact screening.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["DefectResult", "find_defects", "ArtefactResult", "artefact_map", "robust_sd"]

# map codes
OK, PIXEL, CLUSTER, LINE, NOISY = 0, 1, 2, 3, 4


@dataclass(frozen=True, slots=True)
class DefectResult:
    """Defects found on one flat field.

    Attributes
    ----------
    defective_pixels : int
        Defective pixels outside defective lines (isolated and clustered together).
    isolated_pixels : int
    clusters : int
        Groups of at least ``cluster_min`` defective pixels (members at most 2 px apart).
    defective_rows, defective_columns : tuple of int
        Indices of defective lines.
    noisy_pixels : int
        Pixels flagged only by the local-variance method (included in defective_pixels).
    classes : (rows, cols) uint8
        0 good, 1 isolated pixel, 2 cluster pixel, 3 line, 4 noisy (variance method).
    noise_sd : float
        Robust SD of the median-filter deviation.
    cluster_sizes : tuple of int
    """

    defective_pixels: int
    isolated_pixels: int
    clusters: int
    defective_rows: tuple[int, ...]
    defective_columns: tuple[int, ...]
    noisy_pixels: int
    classes: np.ndarray
    noise_sd: float
    cluster_sizes: tuple[int, ...]

    @property
    def defective_lines(self) -> int:
        return len(self.defective_rows) + len(self.defective_columns)


def robust_sd(values: np.ndarray) -> float:
    """1.4826 · median absolute deviation: the SD of Gaussian noise, blind to outliers."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def _lines(dev: np.ndarray, mask: np.ndarray, sd: float, local: np.ndarray, k_sigma: float,
           line_percent: float, axis: int, kernel_px: int) -> np.ndarray:
    """Boolean per row (axis=1) or column (axis=0): is it a defective line."""
    n = dev.shape[axis]
    # The median along the line, not the mean: a compact bright object (a marker) on a row
    # must not make the whole row a line. SE of a median of Gaussian noise = 1.2533·σ/√n.
    mid_dev = np.median(dev, axis=axis)
    signal = np.median(local, axis=axis)
    faint = (np.abs(mid_dev) > k_sigma * 1.2533 * sd / np.sqrt(n)) & \
        (np.abs(mid_dev) > line_percent / 100.0 * np.abs(signal))
    strong = mask.mean(axis=axis) >= 0.5
    # A strong line (e.g. a dead column) is one of the k lines in every k×k median window
    # within k//2 of it and pulls those medians: its neighbours then show a uniform deviation
    # that is the filter's, not the detector's. Their faint-line test is not meaningful.
    near = np.zeros_like(strong)
    for shift in range(1, kernel_px // 2 + 1):
        near[shift:] |= strong[:-shift]
        near[:-shift] |= strong[shift:]
    return strong | (faint & ~near)


def find_defects(image: np.ndarray, *, kernel_px: int = 5, k_sigma: float = 6.0,
                 min_percent: float = 5.0, variance_window_px: int = 7,
                 variance_ratio: float = 3.0, line_percent: float = 1.0,
                 cluster_min: int = 2, valid: np.ndarray | None = None) -> DefectResult:
    """Find defective pixels, lines and clusters on a flat field.

    Parameters
    ----------
    image : 2-D array
        Flat field (detector offset and gain as delivered).
    kernel_px : int
        Median filter size k (odd); must exceed twice the largest cluster to be found.
    k_sigma : float
        Deviation threshold in robust SDs of the median-filter deviation.
    min_percent : float
        Relative deviation from the local median a pixel must also exceed (%); 0 disables.
    variance_window_px : int
        Local-variance window w; 0 disables the variance method.
    variance_ratio : float
        Local variance / image variance above which a window is noisy.
    line_percent : float
        Mean relative deviation (%) of a faint defective line.
    cluster_min : int
        Smallest cluster (pixels).
    valid : bool array, optional
        Pixels to examine (exposed field); others are never flagged.
    """
    img = np.asarray(image, dtype=np.float64)
    k = kernel_px | 1
    local = ndimage.median_filter(img, size=k, mode="reflect")
    dev = img - local
    ok = np.ones(img.shape, bool) if valid is None else np.asarray(valid, bool)
    sd = robust_sd(dev[ok]) or float(np.std(dev[ok])) or 1e-12
    rel = np.abs(dev) / np.maximum(np.abs(local), 1e-12)
    bad = (np.abs(dev) > k_sigma * sd) & (rel > min_percent / 100.0) & ok
    rows = _lines(dev, bad, sd, local, k_sigma, line_percent, axis=1, kernel_px=k) \
        & ok.any(axis=1)
    cols = _lines(dev, bad, sd, local, k_sigma, line_percent, axis=0, kernel_px=k) \
        & ok.any(axis=0)
    line_mask = rows[:, None] | cols[None, :]
    noisy = np.zeros_like(bad)
    if variance_window_px and variance_window_px > 1:
        # Variance of the deviation with offset defects and lines replaced by 0 (their offset
        # is not noise); windows whose variance is variance_ratio × the image's are noisy.
        d0 = np.where(bad | line_mask, 0.0, dev)
        w = variance_window_px
        var = ndimage.uniform_filter(d0 * d0, w) - ndimage.uniform_filter(d0, w) ** 2
        hot = (var > variance_ratio * sd * sd) & ok
        # Only whole windows: at the border, reflected copies halve the degrees of freedom.
        h = w // 2
        hot[:h], hot[-h:], hot[:, :h], hot[:, -h:] = False, False, False, False
        # A noisy pixel lies in a noisy window and itself deviates by > 3 SDs.
        noisy = ndimage.binary_dilation(hot, np.ones((w, w), bool)) & \
            (np.abs(dev) > 3.0 * sd) & ~bad & ~line_mask & ok
    flagged = bad | noisy
    classes = np.zeros(img.shape, np.uint8)
    pixels = flagged & ~line_mask
    # Pixels up to 2 apart belong to one cluster (a noisy patch flags only some of its pixels).
    grown, n = ndimage.label(ndimage.binary_dilation(pixels, np.ones((3, 3), bool)),
                             structure=np.ones((3, 3), bool))
    labels = np.where(pixels, grown, 0)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    sizes[0] = 0
    in_cluster = sizes[labels] >= cluster_min
    in_cluster[labels == 0] = False
    classes[pixels] = PIXEL
    classes[noisy & ~line_mask] = NOISY
    classes[in_cluster] = CLUSTER
    classes[line_mask & ok] = LINE
    cluster_sizes = tuple(int(s) for s in sizes[1:] if s >= cluster_min)
    return DefectResult(
        defective_pixels=int(pixels.sum()),
        isolated_pixels=int((pixels & ~in_cluster).sum()),
        clusters=len(cluster_sizes),
        defective_rows=tuple(int(i) for i in np.flatnonzero(rows)),
        defective_columns=tuple(int(i) for i in np.flatnonzero(cols)),
        noisy_pixels=int((noisy & ~line_mask).sum()),
        classes=classes, noise_sd=sd, cluster_sizes=cluster_sizes)


def _bin(img: np.ndarray, b: int) -> np.ndarray:
    """Mean of b × b blocks (edges that do not fill a block are dropped)."""
    if b <= 1:
        return img
    r, c = (img.shape[0] // b) * b, (img.shape[1] // b) * b
    return img[:r, :c].reshape(r // b, b, c // b, b).mean(axis=(1, 3))


def _fit(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``a`` cropped or edge-padded to ``shape``."""
    a = a[:shape[0], :shape[1]]
    pad = ((0, shape[0] - a.shape[0]), (0, shape[1] - a.shape[1]))
    return np.pad(a, pad, mode="edge") if any(p[1] for p in pad) else a


@dataclass(frozen=True, slots=True)
class ArtefactResult:
    """Artefact screening of a (mammography) flat field.

    Attributes
    ----------
    deviation_percent : (rows, cols) float
        Local deviation from the smooth background, % of the background.
    flagged : (rows, cols) bool
        Pixels whose smoothed deviation exceeds the threshold.
    artefact_regions : int
        8-connected flagged regions of at least ``min_area_px`` pixels.
    artefact_area_mm2 : float
    max_deviation_percent : float
        Largest |deviation| inside the examined area.
    regions : tuple of (row, col, area_px, peak_percent)
    """

    deviation_percent: np.ndarray
    flagged: np.ndarray
    artefact_regions: int
    artefact_area_mm2: float
    max_deviation_percent: float
    regions: tuple[tuple[float, float, int, float], ...]


def artefact_map(image: np.ndarray, pixel_mm: float, *, background_mm: float = 10.0,
                 smooth_mm: float = 1.0, threshold_percent: float = 1.0, k_sigma: float = 5.0,
                 min_area_mm2: float = 1.0, valid: np.ndarray | None = None,
                 max_work_px: int = 1024) -> ArtefactResult:
    """Detection map of artefacts: local deviations from the low-frequency background.

    The background is a median over ``background_mm`` (removes the heel effect and gain
    drifts); the deviation, smoothed over ``smooth_mm`` (a Gaussian of that FWHM, to see
    faint extended artefacts through the noise), is flagged where it exceeds both
    ``threshold_percent`` of the background and ``k_sigma`` times the smoothed noise. Large
    images are binned to at most ``max_work_px`` on a side first (artefacts of interest are
    larger than a few pixels; single defective pixels are `find_defects`' job).
    """
    img = np.asarray(image, dtype=np.float64)
    ok = np.ones(img.shape, bool) if valid is None else np.asarray(valid, bool)
    b = max(1, int(np.ceil(max(img.shape) / max_work_px)))
    if b > 1:
        img = _bin(img, b)
        ok = _bin(ok.astype(np.float64), b) == 1.0
    px = pixel_mm * b
    fill = np.where(ok, img, np.median(img[ok]))
    # Background: a median over background_mm, computed on a grid 8 times finer than that
    # (coarser than the image, so that it stays fast) and interpolated back.
    g = max(1, int(background_mm / 8 / px))
    coarse = _bin(fill, g)
    size = max(3, int(round(background_mm / (px * g))) | 1)
    smooth_bg = ndimage.median_filter(coarse, size=size, mode="reflect")
    background = ndimage.zoom(smooth_bg, (fill.shape[0] / coarse.shape[0],
                                          fill.shape[1] / coarse.shape[1]), order=1,
                              mode="nearest", grid_mode=True)
    background = _fit(background, fill.shape)
    dev = 100.0 * (fill - background) / np.maximum(np.abs(background), 1e-12)
    sigma_px = max(smooth_mm / px / 2.3548, 0.0)
    smooth = ndimage.gaussian_filter(dev, sigma_px) if sigma_px > 0.3 else dev
    sd = robust_sd(smooth[ok]) or 1e-12
    flagged = (np.abs(smooth) > threshold_percent) & (np.abs(smooth) > k_sigma * sd) & ok
    labels, n = ndimage.label(flagged, structure=np.ones((3, 3), bool))
    min_px = max(1, int(round(min_area_mm2 / (px * px))))
    regions = []
    if n:
        idx = np.arange(1, n + 1)
        areas = ndimage.sum_labels(np.ones_like(labels), labels, idx)
        centres = ndimage.center_of_mass(flagged, labels, idx)
        peaks = ndimage.maximum(np.abs(smooth), labels, idx)
        for (rc, cc), a, p in zip(centres, areas, peaks, strict=True):
            if a >= min_px:
                regions.append((rc * b + (b - 1) / 2, cc * b + (b - 1) / 2, int(a) * b * b,
                                float(p)))
        keep = np.isin(labels, idx[np.asarray(areas) >= min_px])
        flagged = flagged & keep
    return ArtefactResult(
        deviation_percent=smooth, flagged=flagged, artefact_regions=len(regions),
        artefact_area_mm2=float(sum(r[2] for r in regions) * pixel_mm * pixel_mm),
        max_deviation_percent=float(np.max(np.abs(smooth[ok]))) if ok.any() else 0.0,
        regions=tuple(regions))
