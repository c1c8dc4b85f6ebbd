"""Digital ACR CT phantom (Gammex 464 layout) with analytic answers.

A 200 mm water cylinder (0 HU) in air, four 40 mm modules along z, slices every
``slice_step_mm``; every image is drawn 2× supersampled, blurred by a Gaussian PSF of σ
``psf_sigma_mm`` and area-averaged to the pixel, plus Gaussian noise σ ``noise_hu``:

* module 1: inserts of 25 mm at 63 mm — polyethylene −95, bone 955, acrylic 120, air −1000,
  water 0 HU (ACR manual's nominal values) — and two wire ramps at y = ±30 mm whose intensity
  along x is the slice profile at height x·tan θ (θ = 23°, tan 0.42): a rectangle of width W
  blurred by σ = 0.15 W; truth ``slice_width_mm`` = its FWHM (fine grid). Truth CT numbers:
  the insert values (the 10 mm ROIs are far from the insert edges);
* module 2: a 25 mm rod of +``lc_contrast_hu`` at 60 mm (12 o'clock): CNR = contrast / σ;
* module 3: water with cupping c·(r/100 mm)²: max deviation = c·0.66² (analytic mean over
  the ROIs: c·(d² + a²/2)/100², d = 66 mm for the periphery, 0 for the centre); noise σ;
* module 4: eight 16 × 16 mm bar patterns (bars along y, 500 HU) of 4…12 lp/cm at 70 mm,
  drawn analytically (square-wave Fourier series, each harmonic k·f × Gaussian MTF × pixel
  sinc, so nothing aliases); the relative modulation of pattern f is the RMS of those
  harmonic amplitudes relative to the 4 lp/cm pattern's; truth ``resolution_lp_cm`` = the
  highest frequency up to which it stays ≥ 0.2 (patterns unrotated: rotation only moves them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import ndtr

from imgqa.analysis.ct_acr import (
    BAR_LP_CM,
    BAR_RING_MM,
    INSERT_RING_MM,
    LC_ANGLE,
    LC_RING_MM,
    MATERIALS,
    RAMP_Y_MM,
)
from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["MATERIAL_HU", "acr_ct_series", "write_acr_ct", "validation_sets"]

MATERIAL_HU = {"polyethylene": -95.0, "bone": 955.0, "acrylic": 120.0, "air": -1000.0,
               "water": 0.0}
RAMP_TAN = 0.42


def _slice(module: int, n: int, px: float, *, sub: int, psf_sigma_mm: float, rotation_deg: float,
           slice_width_mm: float, lc_contrast_hu: float, cupping_hu: float) -> np.ndarray:
    c = (np.arange(n * sub) + 0.5) / sub - n / 2
    x, y = np.meshgrid(c * px, c * px)
    a = np.deg2rad(rotation_deg)
    r = np.hypot(x, y)
    img = np.where(r <= 100.0, 0.0, -1000.0)

    def at(angle: float, dist: float) -> tuple[float, float]:
        t = np.deg2rad(angle) + a
        return dist * np.cos(t), dist * np.sin(t)

    if module == 1:
        for name, ang in MATERIALS.items():
            cx, cy = at(ang, INSERT_RING_MM)
            img[np.hypot(x - cx, y - cy) <= 12.5] = MATERIAL_HU[name]
        se = 0.15 * slice_width_mm
        u = x * np.cos(a) + y * np.sin(a)
        v = -x * np.sin(a) + y * np.cos(a)
        for y0 in RAMP_Y_MM:
            wire = np.abs(v - y0) <= 0.5
            prof = (ndtr((u * RAMP_TAN + slice_width_mm / 2) / se)
                    - ndtr((u * RAMP_TAN - slice_width_mm / 2) / se))
            img = np.where(wire & (np.abs(u) < 35.0), img + 800.0 * prof, img)
    elif module == 2:
        cx, cy = at(LC_ANGLE, LC_RING_MM)
        img[np.hypot(x - cx, y - cy) <= 12.5] = lc_contrast_hu
    elif module == 3:
        img = np.where(r <= 100.0, cupping_hu * (r / 100.0) ** 2, img)
    img = ndimage.gaussian_filter(img, psf_sigma_mm / px * sub, mode="nearest")
    img = img.reshape(n, sub, n, sub).mean(axis=(1, 3))
    if module == 4:
        # bars drawn analytically (a supersampled sharp square wave aliases): Fourier series
        # of the square wave, each harmonic × Gaussian MTF × pixel-aperture sinc, inside a
        # 16 mm box with blurred edges
        cpx = (np.arange(n) + 0.5 - n / 2) * px
        xp, yp = np.meshgrid(cpx, cpx)
        for lp, ang in BAR_LP_CM.items():
            cx, cy = at(ang, BAR_RING_MM)
            f = lp / 10.0
            wave = np.full(xp.shape, 0.5)
            for k in range(1, 40, 2):
                gain = (np.exp(-2 * np.pi ** 2 * psf_sigma_mm ** 2 * (k * f) ** 2)
                        * np.sinc(k * f * px))
                wave += 2 / np.pi / k * gain * np.sin(2 * np.pi * k * f * (xp - cx))
            box = ((ndtr((xp - cx + 8) / psf_sigma_mm) - ndtr((xp - cx - 8) / psf_sigma_mm))
                   * (ndtr((yp - cy + 8) / psf_sigma_mm) - ndtr((yp - cy - 8) / psf_sigma_mm)))
            img += 500.0 * wave * box
    return img
    return img.reshape(n, sub, n, sub).mean(axis=(1, 3))


def acr_ct_series(*, n: int = 512, pixel_mm: float = 250.0 / 512, slice_step_mm: float = 10.0,
                  psf_sigma_mm: float = 0.4, rotation_deg: float = 0.0,
                  slice_width_mm: float = 5.0, lc_contrast_hu: float = 6.0,
                  cupping_hu: float = 8.0, noise_hu: float = 1.0, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """(stack in HU, z positions in mm, truth) of a series through all four modules."""
    z = np.arange(0.0, 160.0, slice_step_mm) + slice_step_mm / 2
    modules = (z // 40.0).astype(int) + 1
    rng = np.random.default_rng(seed)
    cache: dict[int, np.ndarray] = {}
    stack = []
    for m in modules:
        if m not in cache:
            cache[m] = _slice(int(m), n, pixel_mm, sub=2, psf_sigma_mm=psf_sigma_mm,
                              rotation_deg=rotation_deg, slice_width_mm=slice_width_mm,
                              lc_contrast_hu=lc_contrast_hu, cupping_hu=cupping_hu)
        stack.append(cache[m] + rng.normal(0.0, noise_hu, (n, n)))
    se = 0.15 * slice_width_mm
    zz = np.linspace(-2 * slice_width_mm, 2 * slice_width_mm, 200001)
    pz = ndtr((zz + slice_width_mm / 2) / se) - ndtr((zz - slice_width_mm / 2) / se)
    fwhm = float(np.ptp(zz[pz >= 0.5 * pz.max()]))

    def rel(f_lp_cm: float) -> float:
        """RMS amplitude of the blurred square wave's harmonics (what the ROI SD sees)."""
        f = f_lp_cm / 10.0
        k = np.arange(1, 40, 2)
        gain = np.exp(-2 * np.pi ** 2 * psf_sigma_mm ** 2 * (k * f) ** 2) * np.sinc(k * f * pixel_mm)
        return float(np.sqrt(np.sum((gain / k) ** 2)))
    rmod = {lp: rel(lp) / rel(4) for lp in BAR_LP_CM}
    resolved = None
    for lp in sorted(rmod):
        if rmod[lp] < 0.2:
            break
        resolved = float(lp)
    truth: dict[str, Any] = {f"ct_number_{k}_hu": v for k, v in MATERIAL_HU.items()}
    truth.update({"slice_width_mm": fwhm, "low_contrast_cnr": lc_contrast_hu / noise_hu,
                  "uniformity_max_deviation_hu": cupping_hu * 0.66 ** 2, "noise_sd_hu": noise_hu,
                  "resolution_lp_cm": resolved, "relative_modulation": rmod,
                  "psf_sigma_mm": psf_sigma_mm})
    return np.asarray(stack), z, truth


def write_acr_ct(folder: Path, **kw: Any) -> dict[str, Any]:
    px = kw.get("pixel_mm", 250.0 / 512)
    stack, z, truth = acr_ct_series(**kw)
    step = float(z[1] - z[0])
    write_series(stack, folder, modality="CT", description="ACR CT phantom (Gammex 464 digital)",
                 pixel_spacing_mm=px, slice_thickness_mm=truth["slice_width_mm"],
                 slice_spacing_mm=step, rescale_intercept=-1024.0, prefix="acrct",
                 extra_tags={"KVP": 120, "ConvolutionKernel": "STANDARD"})
    write_ground_truth(folder, truth)
    return truth


def validation_sets() -> dict[str, Callable[[Path], Path]]:
    """Phantoms `imgqa validate` writes (not in the GUI demo set): ``ct_acr``: 16 slices of 512² through the four modules."""
    def make(out: Path) -> Path:
        write_acr_ct(out / "ct_acr", rotation_deg=3.0, seed=1)
        return out / "ct_acr"
    return {"ct_acr": make}
