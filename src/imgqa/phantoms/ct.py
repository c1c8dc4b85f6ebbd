"""Digital CT phantoms with analytic ground truth.

* `water_phantom` — a cylindrical water phantom (known HU, cupping and noise SD, optionally
  off-centre and on a table) for ``ct.water`` and ``ct.nps``.
* `wire_phantom` — a thin wire (point object) blurred by a known Gaussian PSF, whose MTF is
  analytic, for ``ct.mtf_wire``.
* `rod_phantom` — a rod insert of known contrast blurred by the same Gaussian PSF, for the
  circular-edge TTF (``ct.ttf``).
* `catphan_ctp404`, `catphan_ctp486`, `catphan_ctp528`, `catphan_ctp515`, `catphan_ctp591` —
  simplified Catphan modules (``ct.catphan``), written in `imgqa.phantoms.catphan` and
  re-exported here.

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

from imgqa.phantoms._ct_common import (
    AIR_HU,
    SHELL_HU,
    TABLE_HU,
    _grid_mm,
    correlated_noise,
    gaussian_mtf_frequency,
)
from imgqa.phantoms.catphan import (
    catphan_ctp404,
    catphan_ctp486,
    catphan_ctp515,
    catphan_ctp528,
    catphan_ctp591,
)
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
