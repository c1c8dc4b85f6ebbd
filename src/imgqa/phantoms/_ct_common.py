"""Helpers shared by the CT phantom modules (`imgqa.phantoms.ct`, `imgqa.phantoms.catphan`).

Materials' CT numbers, the Gaussian-PSF MTF frequency, CT-like correlated noise of an exact
standard deviation, and the millimetre grid of an image.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["AIR_HU", "SHELL_HU", "TABLE_HU", "correlated_noise", "gaussian_mtf_frequency"]

AIR_HU = -1000.0
SHELL_HU = 120.0       # acrylic (PMMA) shell
TABLE_HU = 150.0       # carbon-fibre/foam table, roughly


def gaussian_mtf_frequency(sigma_mm: float, level: float) -> float:
    """Frequency (lp/mm) where the MTF of a Gaussian PSF of SD `sigma_mm` falls to `level`.

    Examples
    --------
    >>> round(gaussian_mtf_frequency(0.5, 0.5), 4)
    0.3748
    """
    return float(np.sqrt(-np.log(level) / (2.0 * np.pi ** 2)) / sigma_mm)


def correlated_noise(shape: tuple[int, ...], sd: float, *, corr_sigma_px: float = 0.0,
                     rng: np.random.Generator | None = None) -> np.ndarray:
    """Gaussian noise of standard deviation `sd`, white or low-pass correlated.

    With ``corr_sigma_px > 0`` white noise is filtered by a 2-D Gaussian kernel (per image) and
    rescaled by the kernel's root sum of squares, so the expected SD is still `sd`.
    """
    rng = rng or np.random.default_rng()
    white = rng.standard_normal(shape)
    if corr_sigma_px <= 0:
        return sd * white
    sig = (0,) * (len(shape) - 2) + (corr_sigma_px, corr_sigma_px)
    filtered = ndimage.gaussian_filter(white, sig, mode="wrap")
    # Root sum of squares of the (separable) discrete kernel: the SD of filtered unit noise.
    k = _gaussian_kernel_1d(corr_sigma_px)
    rss = float(np.sum(k * k))  # per axis; two axes multiply
    return sd * filtered / rss


def _gaussian_kernel_1d(sigma: float) -> np.ndarray:
    radius = int(4.0 * sigma + 0.5)  # scipy's default truncate=4
    x = np.arange(-radius, radius + 1, dtype=float)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _grid_mm(size: int, pixel_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of pixel centres in mm, origin at the image centre."""
    c = (np.arange(size) - (size - 1) / 2.0) * pixel_mm
    return c[:, None], c[None, :]
