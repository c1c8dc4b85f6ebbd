"""Digital MagNET test objects (IPEM Report 112) with analytic answers.

* `slice_width_object`: a 180 mm water disc with the 3 × 3 rod grid (60 mm pitch, rods of
  3 mm) and two ramps at 11.3° between the rod rows. A ramp removes signal in proportion to
  the slice profile at height x·tan 11.3°, so the dip along the ramp is the slice profile
  stretched by 1/tan 11.3°. The profile is a rectangle of width W blurred by a Gaussian of
  σ = 0.15 W; truth: its FWHM (computed on a fine grid, = W to 10⁻⁴). A mild multiplicative
  shading (5 % at the disc edge) tests the baseline.
* `slice_position_series`: 60 slices 2.5 mm apart through two rods at ±45°: at actual position
  z the rods sit at y = ±z (separation 2z). Each slice's actual position is the nominal one plus
  a known error e_k; the truth is max|e_k − median(e)| over slices 11–50 (the analysed ones).
* `resolution_object`: the disc with a 40 mm square block (``block_mm``) rotated 4°, blurred by a Gaussian
  PSF of σ and point-sampled (the blurred rectangle is exactly the product of two erf
  differences in its own frame), so MTF(f) = exp(−2π²σ²f²) and MTF50 = √(ln 2/(2π²))/σ.

All images carry Rician noise of σ ``noise_sd`` and are written as MR DICOM by `write_*`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["slice_width_object", "slice_position_series", "resolution_object", "validation_sets"]

RAMP_TAN = float(np.tan(np.deg2rad(11.3)))
_DISC_MM = 90.0


def _grid(n: int, px: float, sub: int = 1) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(n * sub) + 0.5) / sub - n / 2
    return np.meshgrid(c * px, c * px)   # x (columns), y (rows), mm from the image centre


def _down(a: np.ndarray, sub: int) -> np.ndarray:
    n = a.shape[0] // sub
    return a.reshape(n, sub, n, sub).mean(axis=(1, 3))


def _rician(img: np.ndarray, sd: float, rng: np.random.Generator) -> np.ndarray:
    if sd <= 0:
        return img
    return np.hypot(img + rng.normal(0, sd, img.shape), rng.normal(0, sd, img.shape))


def _frame(x: np.ndarray, y: np.ndarray, rotation_deg: float, centre_mm: tuple[float, float]
           ) -> tuple[np.ndarray, np.ndarray]:
    """Object coordinates (u along the object's x, v along its y) of image points."""
    a = np.deg2rad(rotation_deg)
    dx, dy = x - centre_mm[0], y - centre_mm[1]
    return dx * np.cos(a) + dy * np.sin(a), -dx * np.sin(a) + dy * np.cos(a)


def slice_width_object(*, n: int = 256, pixel_mm: float = 1.0, slice_fwhm_mm: float = 5.0,
                       rotation_deg: float = 0.0, centre_mm: tuple[float, float] = (0.0, 0.0),
                       signal: float = 600.0, ramp_depth: float = 0.3, noise_sd: float = 3.0,
                       seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """The slice-width image and its truth (``slice_width_mm`` = the slice FWHM)."""
    sub = 3
    x, y = _grid(n, pixel_mm, sub)
    u, v = _frame(x, y, rotation_deg, centre_mm)
    r = np.hypot(u, v)
    img = (r <= _DISC_MM).astype(float) * signal * (1 - 0.05 * (r / _DISC_MM) ** 2)
    for gy in (-60.0, 0.0, 60.0):
        for gx in (-60.0, 0.0, 60.0):
            img[np.hypot(u - gx, v - gy) <= 1.5] = 0.0
    # slice profile: a rectangle of width W blurred by σe = 0.15·W (compact like a real
    # selective pulse's profile); seen along the ramp at height z = u·tan 11.3°
    se = 0.15 * slice_fwhm_mm

    def profile(z: np.ndarray) -> np.ndarray:
        return ndtr((z + slice_fwhm_mm / 2) / se) - ndtr((z - slice_fwhm_mm / 2) / se)

    zz = np.linspace(-2 * slice_fwhm_mm, 2 * slice_fwhm_mm, 200001)
    pz = profile(zz)
    fwhm = float(np.ptp(zz[pz >= 0.5 * pz.max()]))
    for ramp_y in (-30.0, 30.0):
        band = np.abs(v - ramp_y) <= 14.0
        dip = ramp_depth * profile(u * RAMP_TAN) * (np.abs(u) < 58.0)
        img = np.where(band, img * (1 - dip), img)
    img = _down(img, sub)
    return _rician(img, noise_sd, np.random.default_rng(seed)), {
        "slice_width_mm": fwhm, "nominal_width_mm": slice_fwhm_mm, "ramp_tan": RAMP_TAN,
        "rotation_deg": rotation_deg}


def slice_position_series(*, n: int = 256, pixel_mm: float = 1.0, spacing_mm: float = 2.5,
                          n_slices: int = 60, error_amplitude_mm: float = 0.5,
                          signal: float = 600.0, noise_sd: float = 3.0, seed: int = 0,
                          rotation_deg: float = 0.0, centre_mm: tuple[float, float] = (0.0, 0.0)
                          ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(stack, nominal positions, truth); truth ``slice_position_max_error_mm``.

    ``rotation_deg`` and ``centre_mm`` (x, y from the image centre) turn and move the whole
    object in-plane (the rods then travel along the turned mid-line)."""
    sub = 3
    x, y = _frame(*_grid(n, pixel_mm, sub), rotation_deg, centre_mm)
    nominal = (np.arange(n_slices) - (n_slices - 1) / 2) * spacing_mm
    k = np.arange(n_slices)
    error = error_amplitude_mm * np.sin(2 * np.pi * k / 23.0) * np.cos(2 * np.pi * k / 61.0)
    actual = nominal + error
    base = (np.hypot(x, y) <= _DISC_MM).astype(float) * signal
    base[(np.abs(np.abs(x) - 70.0) <= 2.5) & (np.abs(y) <= 55.0)] = 0.0   # side bars
    rng = np.random.default_rng(seed)
    stack = np.empty((n_slices, n, n))
    for i, z in enumerate(actual):
        img = base.copy()
        if abs(z) <= 60.0:
            for sx, sy in ((-4.0, z), (4.0, -z)):
                img[np.hypot(x - sx, y - sy) <= 2.0] = 0.0
        stack[i] = _rician(_down(img, sub), noise_sd, rng)
    used = slice(10, n_slices - 10)
    e = error[used]
    return stack, nominal, {"slice_position_max_error_mm": float(np.max(np.abs(e - np.median(e)))),
                            "errors_mm": error.tolist(), "spacing_mm": spacing_mm}


def resolution_object(*, n: int = 512, pixel_mm: float = 250.0 / 512, psf_sigma_mm: float = 0.25,
                      rotation_deg: float = 4.0, signal: float = 600.0, noise_sd: float = 2.0,
                      seed: int = 0, centre_mm: tuple[float, float] = (0.0, 0.0),
                      block_mm: float = 40.0) -> tuple[np.ndarray, dict[str, Any]]:
    """The resolution image; truth ``resolution_mtf50_lp_mm`` = √(ln 2/(2π²))/σ.

    ``centre_mm`` (x, y from the image centre) moves the phantom and its block; ``block_mm``
    is the block's side."""
    x, y = _grid(n, pixel_mm)
    u, v = _frame(x, y, rotation_deg, centre_mm)
    a, s = block_mm / 2, psf_sigma_mm
    block = (ndtr((u + a) / s) - ndtr((u - a) / s)) * (ndtr((v + a) / s) - ndtr((v - a) / s))
    disc = ndtr((_DISC_MM - np.hypot(x - centre_mm[0], y - centre_mm[1])) / s)
    img = signal * disc * (1 - block)
    mtf50 = float(np.sqrt(np.log(2) / (2 * np.pi ** 2)) / s)
    return _rician(img, noise_sd, np.random.default_rng(seed)), {
        "resolution_mtf50_lp_mm": mtf50, "psf_sigma_mm": s}


_MR = {"MagneticFieldStrength": 1.5, "InPlanePhaseEncodingDirection": "COL"}


def write_slice_width(folder: Path, **kw: Any) -> dict[str, Any]:
    px = kw.get("pixel_mm", 1.0)
    img, truth = slice_width_object(**kw)
    write_series(img[None], folder, modality="MR", description="MagNET slice_width (phantom)",
                 pixel_spacing_mm=px, slice_thickness_mm=truth["slice_width_mm"],
                 prefix="sw", extra_tags=_MR)
    write_ground_truth(folder, truth)
    return truth


def write_slice_position(folder: Path, **kw: Any) -> dict[str, Any]:
    px = kw.get("pixel_mm", 1.0)
    stack, nominal, truth = slice_position_series(**kw)
    write_series(stack, folder, modality="MR", description="MagNET SlicePosition (phantom)",
                 pixel_spacing_mm=px, slice_thickness_mm=2.5,
                 slice_spacing_mm=float(nominal[1] - nominal[0]), prefix="sp", extra_tags=_MR)
    write_ground_truth(folder, truth)
    return truth


def write_resolution(folder: Path, **kw: Any) -> dict[str, Any]:
    px = kw.get("pixel_mm", 250.0 / 512)
    img, truth = resolution_object(**kw)
    write_series(img[None], folder, modality="MR", description="MagNET resolution (phantom)",
                 pixel_spacing_mm=px, slice_thickness_mm=5.0, prefix="res", extra_tags=_MR)
    write_ground_truth(folder, truth)
    return truth


def validation_sets() -> dict[str, Callable[[Path], Path]]:
    """Phantoms `imgqa validate` writes (not in the GUI demo set): ``mr_magnet_slice_width``, ``mr_magnet_slice_position``, ``mr_magnet_resolution``."""
    def sw(out: Path) -> Path:
        write_slice_width(out / "mr_magnet_slice_width", rotation_deg=2.0, seed=1)
        return out / "mr_magnet_slice_width"

    def sp(out: Path) -> Path:
        write_slice_position(out / "mr_magnet_slice_position", seed=2)
        return out / "mr_magnet_slice_position"

    def res(out: Path) -> Path:
        write_resolution(out / "mr_magnet_resolution", seed=3)
        return out / "mr_magnet_resolution"

    return {"mr_magnet_slice_width": sw, "mr_magnet_slice_position": sp,
            "mr_magnet_resolution": res}
