"""ROI masks and statistics on 2-D images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RoiStats", "circle_mask", "point_rc", "rect_mask", "roi_stats", "require_2d"]


@dataclass(frozen=True, slots=True)
class RoiStats:
    """Statistics of the pixels inside an ROI."""

    mean: float
    sd: float
    minimum: float
    maximum: float
    n_pixels: int

    @property
    def snr(self) -> float:
        return self.mean / self.sd if self.sd > 0 else float("inf")


def point_rc(point) -> tuple[float, float]:
    """A (row, col) position (array, tuple, NumPy scalars) as a pair of Python floats (pixels).

    Results are frozen dataclasses of plain floats: they compare, hash and serialise to JSON
    without NumPy types, and their declared pair type holds.
    """
    return (float(point[0]), float(point[1]))


def require_2d(image: np.ndarray, name: str = "image") -> np.ndarray:
    """Return `image` as a 2-D float array, or raise ValueError naming the parameter."""
    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    return arr


def circle_mask(shape: tuple[int, int], centre_rc: tuple[float, float], radius_px: float
                ) -> np.ndarray:
    """Boolean mask of pixels whose centres lie within `radius_px` of `centre_rc` (row, col)."""
    rows, cols = shape
    r = np.arange(rows)[:, None] - centre_rc[0]
    c = np.arange(cols)[None, :] - centre_rc[1]
    return (r * r + c * c) <= radius_px * radius_px


def rect_mask(shape: tuple[int, int], top_left_rc: tuple[float, float],
              size_rc: tuple[float, float]) -> np.ndarray:
    """Boolean mask of the rectangle with the given top-left corner and size, in pixels."""
    mask = np.zeros(shape, dtype=bool)
    r0, c0 = int(round(top_left_rc[0])), int(round(top_left_rc[1]))
    r1, c1 = r0 + int(round(size_rc[0])), c0 + int(round(size_rc[1]))
    mask[max(r0, 0):max(r1, 0), max(c0, 0):max(c1, 0)] = True
    return mask


def roi_stats(image: np.ndarray, mask: np.ndarray) -> RoiStats:
    """Mean, sample SD (ddof=1), min and max of `image` where `mask` is true.

    Examples
    --------
    >>> img = np.arange(16, dtype=float).reshape(4, 4)
    >>> roi_stats(img, rect_mask(img.shape, (1, 1), (2, 2))).mean
    7.5
    """
    vals = np.asarray(image)[mask]
    if vals.size == 0:
        raise ValueError("the ROI contains no pixels")
    vals = vals.astype(np.float64, copy=False)
    sd = float(vals.std(ddof=1)) if vals.size > 1 else 0.0
    return RoiStats(float(vals.mean()), sd, float(vals.min()), float(vals.max()), int(vals.size))
