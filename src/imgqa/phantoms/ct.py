"""Digital CT phantoms with analytic ground truth.

* `water_phantom` — a cylindrical water phantom (known HU, cupping and noise SD, optionally
  off-centre and on a table) for ``ct.water`` and ``ct.nps``.
* `wire_phantom` — a thin wire (point object) blurred by a known Gaussian PSF, whose MTF is
  analytic, for ``ct.mtf_wire``.
* `rod_phantom` — a rod insert of known contrast blurred by the same Gaussian PSF, for the
  circular-edge TTF (``ct.ttf``).
* `catphan_ctp404`, `catphan_ctp486`, `catphan_ctp528`, `catphan_ctp515`, `catphan_ctp591` —
  simplified Catphan modules (``ct.catphan``): the module in a 150 mm disc, an air gap and the 200 mm housing.

Noise is white or Gaussian-filtered (correlated, CT-like), scaled so that its standard deviation
is exactly the requested one in expectation. A Gaussian PSF of SD σ (mm) has
MTF(f) = exp(−2π²σ²f²), so f50 = √(ln 2 / 2π²)/σ and f10 = √(ln 10 / 2π²)/σ.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = [
    "catphan_ctp404",
    "catphan_ctp486",
    "catphan_ctp515",
    "catphan_ctp528",
    "catphan_ctp591",
    "correlated_noise",
    "demo_sets",
    "gaussian_mtf_frequency",
    "rod_phantom",
    "water_phantom",
    "wire_phantom",
]

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


def water_phantom(*, size: int = 256, pixel_mm: float = 0.9, radius_mm: float = 100.0,
                  shell_mm: float = 4.0, water_hu: float = 0.0, cupping_hu: float = 0.0,
                  noise_sd: float = 10.0, corr_sigma_px: float = 0.0, n_slices: int = 3,
                  offset_mm: tuple[float, float] = (0.0, 0.0), table: bool = False,
                  roi_area_mm2: float = 400.0, edge_offset_mm: float = 10.0,
                  seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A cylindrical water phantom in HU, with its ground truth.

    The water reads ``water_hu + cupping_hu · (r / r_w)²`` at distance r from the axis
    (r_w = water radius = `radius_mm` − `shell_mm`), i.e. the centre is lowest when
    `cupping_hu` > 0, as with beam hardening.

    Parameters
    ----------
    size, pixel_mm : int, float
        Matrix and pixel size.
    radius_mm, shell_mm : float
        Outer radius of the phantom and thickness of its acrylic wall.
    water_hu, cupping_hu, noise_sd : float
        Water CT number on the axis, edge-minus-axis cupping at r_w, noise SD (HU).
    corr_sigma_px : float
        0 for white noise, else the SD (pixels) of the Gaussian filter correlating it.
    n_slices : int
    offset_mm : (row, col)
        Phantom centre relative to the image centre (off-centre positioning).
    table : bool
        Add a curved patient table touching the phantom from below.
    roi_area_mm2, edge_offset_mm : float
        ROI geometry for which the expected ROI means in the truth are computed.

    Returns
    -------
    images : (n_slices, size, size) float ndarray
    truth : dict
        ``mean_hu_centre``, ``mean_hu_12/3/6/9``, ``uniformity_max_deviation_hu``,
        ``noise_sd_centre`` (expected values for the given ROI geometry), ``centre_rc``,
        ``radius_mm`` and the generator parameters.

    Notes
    -----
    The mean of (r/r_w)² over a disc of radius a centred at distance d from the axis is
    (d² + a²/2)/r_w², which gives the expected ROI means exactly.
    """
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    r = np.hypot(y - offset_mm[0], x - offset_mm[1])
    r_w = radius_mm - shell_mm
    img = np.full((size, size), AIR_HU)
    img[r <= radius_mm] = SHELL_HU
    water = r <= r_w
    img[water] = water_hu + cupping_hu * (r[water] / r_w) ** 2
    if table:
        # A 10 mm thick arc just below the phantom, wider than it.
        ty = offset_mm[0] + radius_mm + 1.0
        table_mask = (y > ty) & (y < ty + 10.0) & (np.abs(x - offset_mm[1]) < 1.3 * radius_mm)
        img[table_mask] = TABLE_HU
    noise = correlated_noise((n_slices, size, size), noise_sd, corr_sigma_px=corr_sigma_px,
                             rng=rng)
    images = img[None] + noise
    a = np.sqrt(roi_area_mm2 / np.pi)
    d = radius_mm - edge_offset_mm - a
    centre_mean = water_hu + cupping_hu * (a * a / 2.0) / r_w ** 2
    edge_mean = water_hu + cupping_hu * (d * d + a * a / 2.0) / r_w ** 2
    centre_rc = ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                 (size - 1) / 2.0 + offset_mm[1] / pixel_mm)
    truth = {
        "phantom": "ct_water",
        "mean_hu_centre": centre_mean,
        "noise_sd_centre": noise_sd,
        "mean_hu_12": edge_mean, "mean_hu_3": edge_mean,
        "mean_hu_6": edge_mean, "mean_hu_9": edge_mean,
        "uniformity_max_deviation_hu": abs(edge_mean - centre_mean),
        "centre_rc": centre_rc,
        "radius_mm": radius_mm,
        "parameters": {"size": size, "pixel_mm": pixel_mm, "radius_mm": radius_mm,
                       "shell_mm": shell_mm, "water_hu": water_hu, "cupping_hu": cupping_hu,
                       "noise_sd": noise_sd, "corr_sigma_px": corr_sigma_px,
                       "n_slices": n_slices, "offset_mm": list(offset_mm), "table": table,
                       "roi_area_mm2": roi_area_mm2, "edge_offset_mm": edge_offset_mm,
                       "seed": seed},
    }
    return images, truth


def wire_phantom(*, size: int = 128, pixel_mm: float = 0.25, sigma_mm: float = 0.4,
                 wire_offset_px: tuple[float, float] = (3.3, -5.7), peak_hu: float = 1500.0,
                 background_hu: float = 0.0, noise_sd: float = 2.0, n_slices: int = 3,
                 seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A thin wire along z in water, imaged with a Gaussian PSF of SD `sigma_mm`.

    The pixel values are the Gaussian sampled at pixel centres (a point object: the wire is much
    thinner than the PSF), placed off the pixel grid by `wire_offset_px` from the image centre.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``mtf50``, ``mtf10`` (lp/mm, analytic), ``sigma_mm``, ``wire_rc``.
    """
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    wy, wx = wire_offset_px[0] * pixel_mm, wire_offset_px[1] * pixel_mm
    psf = np.exp(-((y - wy) ** 2 + (x - wx) ** 2) / (2.0 * sigma_mm ** 2))
    img = background_hu + peak_hu * psf
    images = img[None] + correlated_noise((n_slices, size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_wire",
        "mtf50": gaussian_mtf_frequency(sigma_mm, 0.5),
        "mtf10": gaussian_mtf_frequency(sigma_mm, 0.1),
        "sigma_mm": sigma_mm,
        "wire_rc": ((size - 1) / 2.0 + wire_offset_px[0], (size - 1) / 2.0 + wire_offset_px[1]),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "sigma_mm": sigma_mm,
                       "peak_hu": peak_hu, "background_hu": background_hu,
                       "noise_sd": noise_sd, "n_slices": n_slices, "seed": seed},
    }
    return images, truth


def rod_phantom(*, size: int = 128, pixel_mm: float = 0.5, rod_radius_mm: float = 12.5,
                sigma_mm: float = 0.6, rod_hu: float = 900.0, background_hu: float = 0.0,
                rod_offset_px: tuple[float, float] = (2.3, -1.6), noise_sd: float = 3.0,
                n_slices: int = 1, supersample: int = 7, seed: int | None = 0
                ) -> tuple[np.ndarray, dict[str, Any]]:
    """A rod insert (disc of `rod_hu`) in a uniform background, blurred by a Gaussian PSF.

    The disc is drawn on a grid `supersample` times finer than the pixels, blurred there and
    sampled at the pixel centres, so the image is the blurred disc without pixel averaging.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``mtf50``, ``mtf10`` (lp/mm, analytic Gaussian), ``contrast_hu``, ``rod_rc``.
    """
    if supersample % 2 == 0:
        raise ValueError("supersample must be odd so that pixel centres fall on the fine grid")
    rng = np.random.default_rng(seed)
    fine_mm = pixel_mm / supersample
    n_fine = size * supersample
    c = (np.arange(n_fine) - (n_fine - 1) / 2.0) * fine_mm
    ry, rx = rod_offset_px[0] * pixel_mm, rod_offset_px[1] * pixel_mm
    disc = ((c[:, None] - ry) ** 2 + (c[None, :] - rx) ** 2 <= rod_radius_mm ** 2).astype(float)
    blurred = ndimage.gaussian_filter(disc, sigma_mm / fine_mm, mode="nearest", truncate=5.0)
    half = supersample // 2
    sampled = blurred[half::supersample, half::supersample]
    img = background_hu + (rod_hu - background_hu) * sampled
    images = img[None] + correlated_noise((n_slices, size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_rod",
        "mtf50": gaussian_mtf_frequency(sigma_mm, 0.5),
        "mtf10": gaussian_mtf_frequency(sigma_mm, 0.1),
        "contrast_hu": rod_hu - background_hu,
        "sigma_mm": sigma_mm,
        "rod_radius_mm": rod_radius_mm,
        "rod_rc": ((size - 1) / 2.0 + rod_offset_px[0], (size - 1) / 2.0 + rod_offset_px[1]),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "rod_radius_mm": rod_radius_mm,
                       "sigma_mm": sigma_mm, "rod_hu": rod_hu, "background_hu": background_hu,
                       "noise_sd": noise_sd, "n_slices": n_slices, "seed": seed},
    }
    return images, truth


def catphan_ctp404(*, size: int = 512, pixel_mm: float = 0.5, roll_deg: float = 0.0,
                   slice_thickness_mm: float = 5.0, hu_offset: float = 0.0,
                   noise_sd: float = 5.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A simplified Catphan 600 CTP404 slice with known CT numbers, geometry and slice thickness.

    A 200 mm disc of +100 HU holds the seven sensitometry inserts (12 mm, Catphan 600 layout,
    nominal CT number + `hu_offset`), four 3 mm air rods on a 50 mm square (inserts and rods
    with partial volume at their edges, so their centroids are exact at any pixel size) and
    four wire ramps 38 mm from the centre. A ramp at 23° to the slice images as a bright line
    of length T / 0.42 (the Catphan manual's ratio) for a slice thickness T: 1 mm wide, 300 HU,
    blurred by a 0.3 mm Gaussian and integrated over each pixel, so it is drawn right at any
    pixel size.
    Angles: θ = 0 towards +column, θ = 90 towards +row; `roll_deg` rotates everything.

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``inserts`` (material → HU), ``rod_distance_mm`` (50), ``roll_deg``,
        ``slice_thickness_mm``, ``centre_rc``.
    """
    from imgqa.analysis.catphan import CATPHAN_MODELS, NOMINAL_HU, RAMP_ANGLE_RATIO

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = np.full((size, size), AIR_HU)
    img[np.hypot(y, x) <= 100.0] = 100.0
    inserts = {}
    for mat, a in CATPHAN_MODELS["600"].items():
        t = np.deg2rad(a + roll_deg)
        cy, cx = 58.7 * np.sin(t), 58.7 * np.cos(t)
        inserts[mat] = NOMINAL_HU[mat] + hu_offset
        _paint_disc(img, pixel_mm, (cy + offset_mm[0], cx + offset_mm[1]), 6.0, inserts[mat])
    for a in (45.0, 135.0, 225.0, 315.0):
        t = np.deg2rad(a + roll_deg)
        cy, cx = 25.0 * np.sqrt(2) * np.sin(t), 25.0 * np.sqrt(2) * np.cos(t)
        _paint_disc(img, pixel_mm, (cy + offset_mm[0], cx + offset_mm[1]), 1.5, AIR_HU)
    length = slice_thickness_mm / RAMP_ANGLE_RATIO
    for a in (-90.0, 0.0, 90.0, 180.0):
        _add_ramp(img, pixel_mm, offset_mm, a + roll_deg, length)
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp404",
        "inserts": inserts,
        "rod_distance_mm": 50.0,
        "roll_deg": roll_deg,
        "slice_thickness_mm": slice_thickness_mm,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "roll_deg": roll_deg,
                       "slice_thickness_mm": slice_thickness_mm, "hu_offset": hu_offset,
                       "noise_sd": noise_sd, "offset_mm": list(offset_mm), "seed": seed},
    }
    return img[None], truth


_SUBSAMPLES = 8          # per pixel side, for pixel-area integrals


def _paint_disc(img: np.ndarray, pixel_mm: float, centre_mm: tuple[float, float],
                radius_mm: float, value: float) -> None:
    """Set a disc to `value` in place, with partial volume: each pixel is mixed with what was
    there in proportion to its area inside the disc (8 × 8 sub-samples per pixel).

    A pixel-centre mask instead moves the centroid of a small disc by up to a third of a
    pixel (0.35 mm for a 3 mm rod at 0.98 mm pixels), which would show up as rod-distance
    error at coarse pixels.
    """
    size = img.shape[0]
    c0 = (size - 1) / 2.0
    ctr = np.asarray(centre_mm, dtype=float)
    lo = np.maximum(np.floor(c0 + (ctr - radius_mm) / pixel_mm).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(c0 + (ctr + radius_mm) / pixel_mm).astype(int) + 2, size)
    rows = (np.arange(lo[0], hi[0]) - c0) * pixel_mm - ctr[0]
    cols = (np.arange(lo[1], hi[1]) - c0) * pixel_mm - ctr[1]
    sub = ((np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5) * pixel_mm
    inside = np.hypot(rows[:, None, None, None] + sub[None, None, :, None],
                      cols[None, :, None, None] + sub[None, None, None, :]) <= radius_mm
    frac = inside.mean(axis=(2, 3))
    patch = img[lo[0]:hi[0], lo[1]:hi[1]]
    patch += frac * (value - patch)


_RAMP_HU = 300.0          # wire-ramp line: 300 HU over 1 mm wide
_RAMP_WIDTH_MM = 1.0
_RAMP_SIGMA_MM = 0.3     # in-plane blur of the line image


def _add_ramp(img: np.ndarray, pixel_mm: float, offset_mm: tuple[float, float],
              angle_deg: float, length_mm: float) -> None:
    """Add one CTP404 wire-ramp image in place: a 1 mm × `length_mm` line, 38 mm out at
    `angle_deg`, centred 3 mm along the tangent, blurred by a Gaussian PSF and integrated over
    each pixel's area.

    A rectangle convolved with an isotropic Gaussian is exactly the product of two erf
    differences in the rectangle's own frame; averaging it over an 8 × 8 grid in every pixel
    gives the pixel-area integral. So at any pixel size and roll the line's integral across its
    width is 300 HU·mm everywhere along the plateau, and the half-maximum points of the profile
    along the line are at ± length/2 (a thresholded pixel mask instead draws a line that is one
    or two pixels wide depending on its sub-pixel position, which halves its integral over
    stretches of the ramp when 1 mm / pixel is not an integer).
    """
    from scipy.special import erf

    size = img.shape[0]
    t = np.deg2rad(angle_deg)
    radial = np.array([np.sin(t), np.cos(t)])
    tangent = np.array([np.cos(t), -np.sin(t)])
    centre_mm = radial * 38.0 + tangent * 3.0 + np.asarray(offset_mm, dtype=float)
    reach = 4.0 * _RAMP_SIGMA_MM + pixel_mm
    half = (np.abs(tangent) * (length_mm / 2 + reach)
            + np.abs(radial) * (_RAMP_WIDTH_MM / 2 + reach))        # bounding box (row, col)
    c0 = (size - 1) / 2.0
    lo = np.maximum(np.floor(c0 + (centre_mm - half) / pixel_mm).astype(int), 0)
    hi = np.minimum(np.ceil(c0 + (centre_mm + half) / pixel_mm).astype(int) + 1, size)
    rows = (np.arange(lo[0], hi[0]) - c0) * pixel_mm
    cols = (np.arange(lo[1], hi[1]) - c0) * pixel_mm
    sub = ((np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5) * pixel_mm
    yy = (rows[:, None, None, None] + sub[None, None, :, None]) - centre_mm[0]
    xx = (cols[None, :, None, None] + sub[None, None, None, :]) - centre_mm[1]
    along = yy * tangent[0] + xx * tangent[1]
    across = yy * radial[0] + xx * radial[1]
    k = 1.0 / (np.sqrt(2.0) * _RAMP_SIGMA_MM)

    def box(s: np.ndarray, w: float) -> np.ndarray:
        return 0.5 * (erf((s + w / 2) * k) - erf((s - w / 2) * k))

    line = box(along, length_mm) * box(across, _RAMP_WIDTH_MM)
    img[lo[0]:hi[0], lo[1]:hi[1]] += _RAMP_HU * line.mean(axis=(2, 3))


def _catphan_body(y: np.ndarray, x: np.ndarray, module_hu: float, housing_hu: float
                  ) -> np.ndarray:
    """Catphan cross-section: module (r < 75 mm), 0.8 mm gap, housing to r = 100 mm.

    The gap reads −300 HU (a thin air gap partly filled by partial volume, as in real images,
    where it never separates the module from the housing at the −400 HU segmentation level).
    """
    r = np.hypot(y, x)
    img = np.full(r.shape, AIR_HU)
    img[r <= 100.0] = housing_hu
    img[r <= 75.8] = -300.0
    img[r <= 75.0] = module_hu
    return img


def catphan_ctp486(*, size: int = 512, pixel_mm: float = 0.45, module_hu: float = 10.0,
                   housing_hu: float = 5.0, noise_sd: float = 6.0, n_slices: int = 1,
                   offset_mm: tuple[float, float] = (0.0, 0.0), seed: int | None = 0
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """A uniform Catphan CTP486 slice: water-equivalent module inside the housing.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``ctp486_mean_hu_centre``, ``ctp486_noise_sd_centre``, ``centre_rc``.
    """
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    img = _catphan_body(y - offset_mm[0], x - offset_mm[1], module_hu, housing_hu)
    images = img[None] + correlated_noise((n_slices, size, size), noise_sd, rng=rng)
    truth = {"phantom": "ct_catphan_ctp486", "ctp486_mean_hu_centre": module_hu,
             "ctp486_noise_sd_centre": noise_sd,
             "ctp486_uniformity_max_deviation_hu": 0.0,
             "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                           (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
             "parameters": {"size": size, "pixel_mm": pixel_mm, "module_hu": module_hu,
                            "housing_hu": housing_hu, "noise_sd": noise_sd,
                            "n_slices": n_slices, "offset_mm": list(offset_mm), "seed": seed}}
    return images, truth


def square_wave_modulation(sigma_mm: float, f_lp_per_mm: float, n_terms: int = 50) -> float:
    """Peak-to-valley modulation of an infinite 50 % duty square wave blurred by a Gaussian.

    M(f) = (4/π)·Σ_{n odd} χ(n)·T(nf)/n with T(f) = exp(−2π²σ²f²) and χ(n) = +1 for
    n ≡ 1 (mod 4), −1 for n ≡ 3 (Coltman 1954): bar-centre minus gap-centre value over the
    unblurred contrast.
    """
    n = np.arange(1, 2 * n_terms, 2)
    chi = np.where(n % 4 == 1, 1.0, -1.0)
    t = np.exp(-2.0 * np.pi ** 2 * sigma_mm ** 2 * (n * f_lp_per_mm) ** 2)
    return float(4.0 / np.pi * np.sum(chi * t / n))


def catphan_ctp528(*, size: int = 512, pixel_mm: float = 0.4, sigma_mm: float = 0.5,
                   roll_deg: float = 0.0, mirrored: bool = False, bar_hu: float = 1100.0,
                   module_hu: float = 100.0, noise_sd: float = 5.0,
                   bar_length_mm: float = 5.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Catphan CTP528 slice: 21 bar groups (1–21 lp/cm) blurred by a Gaussian PSF of SD σ.

    Every bar is a rectangle (width 5/k mm along the circle's tangent, `bar_length_mm`
    radially) of `bar_hu` on `module_hu`, laid out as `CTP528_LAYOUT` (turned by `roll_deg`,
    optionally in the mirrored sense). Each bar is rendered *exactly* blurred: a rectangle
    convolved with a 2-D Gaussian is the product of two erf differences in the bar's own
    axes, evaluated at the pixel centres (no pixel-area averaging, as the other generators).

    Model for the ground truth: the system MTF is T(f) = exp(−2π²σ²f²); the amplitude of the
    fundamental of the blurred bar pattern is (2/π)·C·T(f), which `analyse_ctp528` inverts, so
    its MTF per group should equal T(k/10 lp/mm). The square-wave modulation is given by
    `square_wave_modulation` (≈ (4/π)·T(f) when T(3f) is negligible).

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``mtf`` (per group, analytic), ``square_wave_modulation``, ``mtf50_lp_per_cm``,
        ``mtf10_lp_per_cm``, ``contrast_hu``, ``roll_deg``, ``centre_rc``.
    """
    from scipy.special import erf

    from imgqa.analysis.catphan_ctp528 import CTP528_LAYOUT, CTP528_RADIUS_MM

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = _catphan_body(y, x, module_hu, module_hu)
    s2 = np.sqrt(2.0) * sigma_mm
    sense = -1.0 if mirrored else 1.0
    half_box = (5.0 + 4.0 * sigma_mm)
    for k, n, a in CTP528_LAYOUT:
        w = 5.0 / k
        t = np.deg2rad(180.0 + sense * (a - 180.0) + roll_deg)
        cy, cx = CTP528_RADIUS_MM * np.sin(t), CTP528_RADIUS_MM * np.cos(t)
        # local axes: u along the tangent (cos t, −sin t), v radial (sin t, cos t)
        rows = np.nonzero(np.abs(y[:, 0] - cy) <= (n * w + half_box))[0]
        cols = np.nonzero(np.abs(x[0, :] - cx) <= (n * w + half_box))[0]
        yy, xx = y[rows][:, None, 0] - cy, x[0, cols][None, :] - cx
        u = yy * np.cos(t) - xx * np.sin(t)
        v = yy * np.sin(t) + xx * np.cos(t)
        across = 0.5 * (erf((v + bar_length_mm / 2) / s2) - erf((v - bar_length_mm / 2) / s2))
        along = np.zeros_like(u)
        for j in range(n):
            uc = (j - (n - 1) / 2.0) * 2.0 * w
            along += 0.5 * (erf((u - uc + w / 2) / s2) - erf((u - uc - w / 2) / s2))
        img[np.ix_(rows, cols)] += (bar_hu - module_hu) * along * across
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    freqs = np.arange(1, 22) / 10.0
    mtf = np.exp(-2.0 * np.pi ** 2 * sigma_mm ** 2 * freqs ** 2)
    truth = {
        "phantom": "ct_catphan_ctp528",
        "lp_per_cm": list(range(1, 22)),
        "mtf": mtf.tolist(),
        "square_wave_modulation": [square_wave_modulation(sigma_mm, f) for f in freqs],
        "mtf50_lp_per_cm": 10.0 * gaussian_mtf_frequency(sigma_mm, 0.5),
        "mtf10_lp_per_cm": 10.0 * gaussian_mtf_frequency(sigma_mm, 0.1),
        "contrast_hu": bar_hu - module_hu,
        "roll_deg": roll_deg,
        "mirrored": mirrored,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "sigma_mm": sigma_mm,
                       "roll_deg": roll_deg, "mirrored": mirrored, "bar_hu": bar_hu,
                       "module_hu": module_hu, "noise_sd": noise_sd,
                       "bar_length_mm": bar_length_mm, "offset_mm": list(offset_mm),
                       "seed": seed},
    }
    return img[None], truth


def catphan_ctp515(*, size: int = 512, pixel_mm: float = 0.4, roll_deg: float = 0.0,
                   module_hu: float = 40.0, noise_sd: float = 3.0,
                   contrast_scale: float = 1.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Catphan CTP515 slice: 27 supra-slice targets of 1.0/0.5/0.3 % contrast, white noise.

    Target contrasts are `contrast_scale` × 10, 5 and 3 HU; targets are discs drawn by the
    pixel-centre test (no blur, no partial volume), so every pixel of the analysis ROI (0.7 ×
    the target radius) has exactly the target value and the expected CNR is ΔHU / noise SD.
    The expected Rose index is CNR·√(π r² / pixel²).

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``targets``: name → {``contrast_hu``, ``diameter_mm``, ``cnr``, ``rose_index``},
        ``roll_deg``, ``centre_rc``.
    """
    from imgqa.analysis.catphan_ctp515 import CTP515_RADIUS_MM, ctp515_layout, ctp515_target_name

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = _catphan_body(y, x, module_hu, module_hu)
    targets = {}
    for item in ctp515_layout():
        t = np.deg2rad(item["angle_deg"] + roll_deg)
        cy, cx = CTP515_RADIUS_MM * np.sin(t), CTP515_RADIUS_MM * np.cos(t)
        d_hu = 10.0 * item["contrast_percent"] * contrast_scale
        r = item["diameter_mm"] / 2.0
        img[np.hypot(y - cy, x - cx) <= r] = module_hu + d_hu
        cnr = d_hu / noise_sd
        targets[ctp515_target_name(item["token"], item["diameter_mm"])] = {
            "contrast_hu": d_hu, "diameter_mm": item["diameter_mm"], "cnr": cnr,
            "rose_index": cnr * np.sqrt(np.pi * (r / pixel_mm) ** 2)}
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp515", "targets": targets, "roll_deg": roll_deg,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "roll_deg": roll_deg,
                       "module_hu": module_hu, "noise_sd": noise_sd,
                       "contrast_scale": contrast_scale, "offset_mm": list(offset_mm),
                       "seed": seed},
    }
    return img[None], truth


def catphan_ctp591(*, size: int = 512, pixel_mm: float = 0.41, fwhm_mm: float = 0.6,
                   slice_z_mm: float | tuple[float, ...] = 0.0, roll_deg: float = 0.0,
                   psf_sigma_mm: float = 0.35, fine_bead_hu_mm2: float = 1000.0,
                   coarse_bead_hu_mm2: float = 2500.0, module_hu: float = 100.0,
                   noise_sd: float = 10.0, corr_sigma_px: float = 0.0,
                   offset_mm: tuple[float, float] = (0.0, 0.0), seed: int | None = 0
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """Catphan CTP591 slices: six bead ramps sampling a Gaussian slice sensitivity profile.

    Layout as `imgqa.analysis.catphan_ctp591.CTP591_RAMPS`: fine ramps (0.25 mm z steps) on
    x = ±25 mm, coarse ramps (1 mm) on x = ±45 mm and y = ±45 mm, beads 2 mm apart in the
    plane; bead k of a ramp sits at u = 2k mm along the clockwise tangent from the point of the
    line nearest the centre, at z = −k·Δz. A bead's integrated in-plane signal is
    M·SSP(z_bead − z_slice) with SSP(z) = exp(−4 ln2 z²/FWHM²) (peak 1), M = `fine_bead_hu_mm2`
    or `coarse_bead_hu_mm2` (HU·mm²); it is drawn as a 2-D Gaussian of SD `psf_sigma_mm`
    (peak M·SSP/(2πσ²)) evaluated at pixel centres, so the sum of its pixels × pixel area is
    M·SSP to < 10⁻⁶ for σ ≥ 0.7 pixel. The bead-signal profile of every ramp is therefore an
    exact Gaussian of FWHM `fwhm_mm` in z. Two single beads (z = ±1 mm) at (0, ±20) mm and a
    z-parallel wire at (0, 58.5) mm add the module's other bright objects.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``fwhm_mm`` (every ramp), ``slice_z_mm`` (per slice), ``roll_deg``, ``centre_rc``.
    """
    from imgqa.analysis.catphan_ctp591 import BEAD_PITCH_MM, CTP591_RAMPS

    zs = np.atleast_1d(np.asarray(slice_z_mm, dtype=float))
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    body = _catphan_body(y, x, module_hu, module_hu)
    # every bead: (y, x, z or NaN for the z-parallel wire, M)
    beads = []
    for ang, dist, z_step, half in CTP591_RAMPS.values():
        t = np.deg2rad(ang + roll_deg)
        normal = np.array([np.sin(t), np.cos(t)])
        along = np.array([np.cos(t), -np.sin(t)])
        m = fine_bead_hu_mm2 if z_step < 0.5 else coarse_bead_hu_mm2
        for k in range(-int(half // BEAD_PITCH_MM), int(half // BEAD_PITCH_MM) + 1):
            p = normal * dist + along * k * BEAD_PITCH_MM
            beads.append((p[0], p[1], -k * z_step, m))
    rot = np.deg2rad(roll_deg)
    for (py, px_), z, m in (((-20.0, 0.0), 1.0, coarse_bead_hu_mm2),
                            ((20.0, 0.0), -1.0, fine_bead_hu_mm2),
                            ((58.5, 0.0), np.nan, fine_bead_hu_mm2)):
        beads.append((py * np.cos(rot) + px_ * np.sin(rot),
                      -py * np.sin(rot) + px_ * np.cos(rot), z, m))
    bead_table = np.array(beads)  # (n, 4), columns as above
    half_box = 5.0 * psf_sigma_mm
    images = []
    for zsl in zs:
        img = body.copy()
        w = np.where(np.isnan(bead_table[:, 2]), 1.0,
                     np.exp(-4.0 * np.log(2.0) * (bead_table[:, 2] - zsl) ** 2 / fwhm_mm ** 2))
        for (by, bx, _, m), wk in zip(bead_table, w):
            if wk < 1e-6:
                continue
            rows = np.nonzero(np.abs(y[:, 0] - by) <= half_box)[0]
            cols = np.nonzero(np.abs(x[0, :] - bx) <= half_box)[0]
            g = np.exp(-0.5 * ((y[rows] - by) ** 2 + (x[0, cols][None, :] - bx) ** 2)
                       / psf_sigma_mm ** 2)
            img[np.ix_(rows, cols)] += m * wk / (2.0 * np.pi * psf_sigma_mm ** 2) * g
        images.append(img)
    images = np.array(images) + correlated_noise((zs.size, size, size), noise_sd,
                                                 corr_sigma_px=corr_sigma_px, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp591", "fwhm_mm": fwhm_mm, "slice_z_mm": zs.tolist(),
        "roll_deg": roll_deg,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "fwhm_mm": fwhm_mm,
                       "roll_deg": roll_deg, "psf_sigma_mm": psf_sigma_mm,
                       "fine_bead_hu_mm2": fine_bead_hu_mm2,
                       "coarse_bead_hu_mm2": coarse_bead_hu_mm2, "module_hu": module_hu,
                       "noise_sd": noise_sd, "corr_sigma_px": corr_sigma_px,
                       "offset_mm": list(offset_mm), "seed": seed},
    }
    return images, truth


# ---------------------------------------------------------------------------------------------
# Demo series
# ---------------------------------------------------------------------------------------------
_CT_TAGS = {"KVP": "120", "ConvolutionKernel": "STANDARD"}


def _make_ct_water(out_dir: Path) -> Path:
    folder = Path(out_dir) / "ct_water"
    images, truth = water_phantom(size=256, pixel_mm=0.9, noise_sd=8.0, cupping_hu=4.0,
                                  offset_mm=(6.0, -9.0), table=True, n_slices=3, seed=1)
    write_series(images, folder, modality="CT", description="Water phantom daily QC",
                 pixel_spacing_mm=0.9, slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                 extra_tags=_CT_TAGS, prefix="ct_water")
    truth["note"] = ("Stored values are rounded to integers (HU resolution 1), which adds "
                     "uniform rounding noise of SD 0.29 HU, negligible against the noise SD.")
    write_ground_truth(folder, truth)
    return folder


def _make_ct_wire(out_dir: Path) -> Path:
    folder = Path(out_dir) / "ct_wire"
    images, truth = wire_phantom(size=128, pixel_mm=0.25, sigma_mm=0.4, n_slices=3, seed=2)
    write_series(images, folder, modality="CT", description="Wire MTF phantom",
                 pixel_spacing_mm=0.25, slice_thickness_mm=2.0, rescale_intercept=-1024.0,
                 extra_tags=_CT_TAGS, prefix="ct_wire")
    write_ground_truth(folder, truth)
    return folder


def _make_ct_catphan(out_dir: Path) -> Path:
    folder = Path(out_dir) / "ct_catphan"
    px, size, roll = 0.55, 400, 2.0
    c404, t404 = catphan_ctp404(size=size, pixel_mm=px, roll_deg=roll, seed=4)
    c528, t528 = catphan_ctp528(size=size, pixel_mm=px, roll_deg=roll, sigma_mm=0.6, seed=5)
    c515, t515 = catphan_ctp515(size=size, pixel_mm=px, roll_deg=roll, noise_sd=4.0, seed=6)
    c486, t486 = catphan_ctp486(size=size, pixel_mm=px, noise_sd=5.0, seed=7)
    write_series(np.concatenate([c404, c528, c515, c486]), folder, modality="CT",
                 description="Catphan modules (synthetic)", pixel_spacing_mm=px,
                 slice_thickness_mm=5.0, rescale_intercept=-1024.0, extra_tags=_CT_TAGS,
                 prefix="ct_catphan")
    write_ground_truth(folder, {
        "phantom": "ct_catphan", "slices": ["ctp404", "ctp528", "ctp515", "ctp486"],
        "ctp404": t404, "ctp528": t528, "ctp515": t515, "ctp486": t486,
        "parameters": {"pixel_mm": px, "size": size, "roll_deg": roll, "n_slices": 4},
        "note": "Stored values are rounded to integers (HU resolution 1)."})
    return folder


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """Demo CT series: ``ct_water`` (3 slices 256², < 0.5 MB), ``ct_wire`` (3 slices 128²) and
    ``ct_catphan`` (CTP404, CTP528, CTP515, CTP486: 4 slices 400², 1.3 MB)."""
    return {"ct_water": _make_ct_water, "ct_wire": _make_ct_wire,
            "ct_catphan": _make_ct_catphan}
