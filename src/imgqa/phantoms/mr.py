"""Digital MRI phantoms with analytic ground truth: an ACR-like large phantom and floods.

`acr_phantom` draws the 11 axial slices of an ACR-like phantom (190 mm inner diameter) with
the features the `mr.acr` kernels measure, each with a known answer:

* slice 1: the slice-thickness bar with two crossed 10:1 ramps whose profiles are the slice
  profile (a rectangle of width T, blurred slightly) stretched ×10 — FWHM 10·T each; the
  resolution insert with three pairs of 4×4 hole arrays (1.1/1.0/0.9 mm, ACR layout) drawn as
  an MR scanner images them (`hole_layer`: disks' Fourier transform × Gaussian MTF, truncated
  to the acquired k-space), with the expected dip between holes from `hole_array_dips`; the
  wedge bars at 12 o'clock with lengths L ∓ Δ/2 (bar length difference Δ);
* slice 5: a grid; slice 7: uniform water with a known left–right gradient, so the PIU is
  100·(1 − k·(R_L − r_s)) with R_L, r_s the radii of the 200 cm² and 1 cm² ROIs, and a ghost —
  a copy of the phantom attenuated by g, shifted half the field of view along the phase
  direction (rows) and drawn only in the air — so the ACR ghosting is 100·g;
* slice 11: the wedges again; slices 8–11: the dark ring and 10 spokes of 3 low-contrast disks
  in the ACR layout (contrast per slice chosen by the caller, so the detectable spoke count
  follows from contrast, disk size and noise).

Edges are anti-aliased (area coverage), so lengths are exact to well under 0.1 mm. Noise is
Gaussian (``noise="gaussian"``) or Rician (magnitude of complex Gaussian noise, ``"rician"``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["ACR_LARGE_ROI_MM", "ACR_SMALL_ROI_MM", "acr_phantom", "demo_sets", "flood_phantom",
           "hole_array_dips", "hole_layer"]

ACR_RADIUS_MM = 95.0
ACR_LARGE_ROI_MM = float(np.sqrt(20000.0 / np.pi))    # radius of the 200 cm² ROI
ACR_SMALL_ROI_MM = float(np.sqrt(100.0 / np.pi))      # radius of the 1 cm² ROI
LOW_CONTRAST = (0.014, 0.025, 0.036, 0.051)           # slices 8–11
LC_DIAMETERS_MM = (7.0, 6.39, 5.78, 5.17, 4.56, 3.94, 3.33, 2.72, 2.11, 1.5)


def _cov1(u: np.ndarray, px: float) -> np.ndarray:
    """Fraction of a pixel of width px on the positive side of an edge at distance u."""
    return np.clip(0.5 + u / px, 0.0, 1.0)


def _box(x: np.ndarray, y: np.ndarray, x0: float, x1: float, y0: float, y1: float, px: float
         ) -> np.ndarray:
    return _cov1(x - x0, px) * _cov1(x1 - x, px) * _cov1(y - y0, px) * _cov1(y1 - y, px)


def _disk(x: np.ndarray, y: np.ndarray, cx: float, cy: float, r: float, px: float
          ) -> np.ndarray:
    return _cov1(r - np.hypot(x - cx, y - cy), px)


def _noise(img: np.ndarray, sd: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    if sd <= 0:
        return img
    if kind == "rician":
        return np.hypot(img + rng.normal(0, sd, img.shape), rng.normal(0, sd, img.shape))
    return img + rng.normal(0, sd, img.shape)


# Resolution insert (slice 1): three pairs of 4×4 hole arrays; in each pair the upper-left (UL)
# array's bottom-right hole is the lower-right (LR) array's top-left hole (the shared corner).
# Corner positions (x right, y down, mm from the phantom centre) as measured on a 512² GE image.
RES_DIAMETERS_MM = (1.1, 1.0, 0.9)
RES_CORNERS_MM = ((-14.1, 36.6), (8.95, 36.6), (32.0, 36.6))


def hole_centres(diameter_mm: float, corner_mm: tuple[float, float], array: str) -> np.ndarray:
    """(4, 4, 2) hole centres (x, y) in mm of one array, phantom frame; ``array`` "UL" or "LR".

    Holes are ``diameter_mm`` wide, ``2·diameter_mm`` apart centre to centre; the UL array ends at
    the corner hole, the LR array starts at it. Index [i, j]: row i (top to bottom), column j.
    """
    p = 2.0 * diameter_mm
    k = np.arange(4.0) - (3.0 if array == "UL" else 0.0)
    x, y = np.meshgrid(corner_mm[0] + k * p, corner_mm[1] + k * p)
    return np.stack([x, y], axis=-1)


def _hole_spectrum(n: int, px: float, centre_offset_mm: tuple[float, float],
                   rotation_deg: float, blur_mm: float) -> np.ndarray:
    """Continuous Fourier transform of the 93 holes (value 1 inside) on the acquired k-space grid
    of an n×n matrix, times the Gaussian PSF's MTF; holes placed relative to pixel 0."""
    from scipy.special import j1

    t = np.radians(rotation_deg)
    k = np.fft.fftfreq(n, d=px)                                   # cycles/mm
    kk = np.hypot(k[:, None], k[None, :])
    spec = np.zeros((n, n), complex)
    for d, corner in zip(RES_DIAMETERS_MM, RES_CORNERS_MM):
        xy = np.concatenate([hole_centres(d, corner, "UL").reshape(-1, 2),
                             hole_centres(d, corner, "LR").reshape(-1, 2)[1:]])  # corner once
        u = np.cos(t) * xy[:, 0] - np.sin(t) * xy[:, 1] + centre_offset_mm[0] + (n - 1) / 2 * px
        v = np.sin(t) * xy[:, 0] + np.cos(t) * xy[:, 1] + centre_offset_mm[1] + (n - 1) / 2 * px
        phase = np.exp(-2j * np.pi * v[:, None] * k[None, :]).T @ \
            np.exp(-2j * np.pi * u[:, None] * k[None, :])
        z = np.pi * d * kk
        airy = np.where(z > 1e-9, 2.0 * j1(z) / np.where(z > 1e-9, z, 1.0), 1.0)
        spec += phase * (np.pi * d * d / 4.0) * airy
    return spec * np.exp(-2.0 * (np.pi * blur_mm * kk) ** 2)


def hole_layer(n: int, px: float, centre_offset_mm: tuple[float, float] = (0.0, 0.0),
               rotation_deg: float = 0.0, blur_mm: float = 0.0) -> np.ndarray:
    """The hole arrays as an MR scanner images them: the object's Fourier transform (disks of
    value 1) times a Gaussian MTF (σ = ``blur_mm``), truncated to the n×n acquired k-space
    (|k| ≤ 1/(2·px) per axis), inverse transformed. Band-limited like a real MR image: pitches
    below 2 px (beyond k-space) are absent, not aliased; Gibbs ringing included."""
    return np.fft.ifft2(_hole_spectrum(n, px, centre_offset_mm, rotation_deg, blur_mm)).real \
        / (px * px)


def hole_array_dips(*, n: int = 256, pixel_mm: float = 250.0 / 256, blur_mm: float = 0.0,
                    rotation_deg: float = 0.0, centre_offset_mm: tuple[float, float] = (0.0, 0.0)
                    ) -> dict[tuple[float, str], float]:
    """Ground truth for the resolution test: per array, the best (over its 4 lines) smallest dip
    between neighbouring holes, as a fraction of the mean hole peak above the insert background,
    of the noise-free, continuous band-limited image (evaluated off the pixel grid, every p/16).

    Peak j = maximum within ±p/4 of hole j, dip = minimum within ±p/4 of the gap midpoint; dip
    depth = min(neighbouring peaks) − dip. Keys: (diameter, "horizontal" | "vertical"); the UL
    array is profiled along its rows (horizontal), the LR array along its columns (vertical).
    """
    spec = _hole_spectrum(n, pixel_mm, centre_offset_mm, rotation_deg, blur_mm)
    k = np.fft.fftfreq(n, d=pixel_mm)
    t = np.radians(rotation_deg)
    out = {}
    for d, corner in zip(RES_DIAMETERS_MM, RES_CORNERS_MM):
        p = 2.0 * d
        s = np.arange(-0.5 * p, 3.5 * p + 1e-9, p / 16.0)
        for array, direction in (("UL", "horizontal"), ("LR", "vertical")):
            c = hole_centres(d, corner, array)
            if direction == "vertical":
                c = c.transpose(1, 0, 2)[..., ::-1]          # lines = columns, (y, x) order
            pts = []
            for line in c:                                    # 4 lines, each starting at hole 0
                a = np.repeat(line[:1], s.size, axis=0).astype(float)
                a[:, 0] += s
                pts.append(a if direction == "horizontal" else a[:, ::-1])
            xy = np.concatenate(pts)                          # (x, y) phantom frame
            u = np.cos(t) * xy[:, 0] - np.sin(t) * xy[:, 1] + centre_offset_mm[0] \
                + (n - 1) / 2 * pixel_mm
            v = np.sin(t) * xy[:, 0] + np.cos(t) * xy[:, 1] + centre_offset_mm[1] \
                + (n - 1) / 2 * pixel_mm
            ex = np.exp(2j * np.pi * k[:, None] * u[None, :])
            ey = np.exp(2j * np.pi * k[:, None] * v[None, :])
            val = ((spec @ ex) * ey).sum(axis=0).real / (n * pixel_mm) ** 2
            prof = val.reshape(4, s.size)
            rel = s / p                                       # position in pitches
            near = [np.abs(rel - j) <= 0.25 for j in range(4)]
            gaps = [np.abs(rel - j - 0.5) <= 0.25 for j in range(3)]
            peaks = np.stack([prof[:, m].max(axis=1) for m in near], axis=1)
            dips = np.stack([prof[:, m].min(axis=1) for m in gaps], axis=1)
            depth = np.minimum(peaks[:, :-1], peaks[:, 1:]) - dips
            frac = depth.min(axis=1) / peaks.mean(axis=1)
            out[(d, direction)] = float(frac.max())
    return out


def acr_phantom(*, n: int = 256, pixel_mm: float = 250.0 / 256, slice_thickness_mm: float = 5.0,
                bar_difference_mm: float = 0.0, diameter_mm: float = 190.0,
                piu_gradient_per_mm: float = 0.0008, ghost_fraction: float = 0.01,
                signal: float = 1000.0, noise_sd: float = 5.0, noise: str = "gaussian",
                centre_offset_mm: tuple[float, float] = (0.0, 0.0), rotation_deg: float = 0.0,
                blur_mm: float = 0.0, low_contrast: tuple[float, ...] = LOW_CONTRAST,
                seed: int = 0, variant: str = "large") -> tuple[np.ndarray, dict]:
    """The 11 axial slices of an ACR-like large (or medium) phantom and their ground truth.

    Parameters
    ----------
    n, pixel_mm : int, float
        Matrix size and pixel size (square).
    slice_thickness_mm : float
        FWHM of the simulated slice profile (sets the ramp lengths, 10× this).
    bar_difference_mm : float
        Wedge bar length difference (right − left) on slices 1 and 11.
    diameter_mm : float
        Inner diameter of the phantom (ACR: 190 mm; change it to simulate a scaling error).
    piu_gradient_per_mm : float
        Relative left–right signal gradient on slice 7 (1/mm).
    ghost_fraction : float
        Amplitude of the phase-direction ghost relative to the signal (slice 7).
    noise_sd, noise : float, str
        Noise SD and kind (``gaussian`` or ``rician``).
    centre_offset_mm : (dx, dy)
        Phantom centre relative to the image centre (right, down).
    rotation_deg : float
        In-plane rotation (clockwise as displayed).
    blur_mm : float
        Gaussian PSF σ (mm) applied before the noise (FWHM = 2.355·σ); the hole arrays get it as
        their MTF in k-space.
    low_contrast : 4 floats
        Relative contrast of the low-contrast disks on slices 8–11 (ACR: 1.4/2.5/3.6/5.1 %).
    variant : str
        ``"large"`` or ``"medium"``: the medium phantom (165 mm; pass ``diameter_mm=165``) has
        its slice-thickness bar shortened in proportion (±0.926·R) and the uniformity truth
        uses its 160 cm² large ROI; the other inserts keep the large phantom's layout (they fit
        inside 165 mm; the medium phantom's own insert positions are not modelled).

    Returns
    -------
    images : (11, n, n) float array
    truth : dict
    """
    from scipy import ndimage

    if variant not in ("large", "medium"):
        raise ValueError(f"unknown ACR phantom variant {variant!r}")
    rng = np.random.default_rng(seed)
    contrasts = tuple(low_contrast)
    # Large ROI of the uniformity test: 200 cm² (large), 160 cm² (medium; ACR guidance Table 4).
    large_roi_mm = ACR_LARGE_ROI_MM if variant == "large" else float(np.sqrt(16000.0 / np.pi))
    bar_half = 88.0 if variant == "large" else 88.0 * diameter_mm / 190.0
    px = pixel_mm
    R = diameter_mm / 2.0
    coords = (np.arange(n) - (n - 1) / 2.0) * px
    X0, Y0 = np.meshgrid(coords, coords)
    X0 = X0 - centre_offset_mm[0]
    Y0 = Y0 - centre_offset_mm[1]
    t = np.radians(rotation_deg)
    # Phantom-frame coordinates of each pixel (rotate the image back by −θ).
    X = np.cos(t) * X0 + np.sin(t) * Y0
    Y = -np.sin(t) * X0 + np.cos(t) * Y0
    body = _disk(X, Y, 0.0, 0.0, R, px)
    notch = _box(X, Y, -6.0, 6.0, -R - 2.0, -R + 9.0, px)
    slices = []
    T = slice_thickness_mm
    for k in range(1, 12):
        img = body.copy()
        if k in (1, 11):
            L = 28.0
            left = _box(X, Y, -6.0, 0.0, -R - 2.0, -R + L - bar_difference_mm / 2.0, px)
            right = _box(X, Y, 0.0, 6.0, -R - 2.0, -R + L + bar_difference_mm / 2.0, px)
            img = img * (1 - np.clip(left + right, 0, 1))
        else:
            img = img * (1 - notch)
        if k == 1:
            bar = _box(X, Y, -bar_half, bar_half, -5.0, 5.0, px)
            img = img * (1 - bar)
            # Ramps: slice profile p (rect of FWHM T, slightly blurred) stretched ×10 along x.
            for (y0, y1, x0) in ((-4.0, -0.5, 4.0), (0.5, 4.0, -4.0)):
                zz = (X - x0) / 10.0
                prof = 0.5 * (np.tanh((zz + T / 2) / 0.05) - np.tanh((zz - T / 2) / 0.05))
                img = img + 0.5 * prof * _box(X, Y, -bar_half, bar_half, y0, y1, px)
            insert = _box(X, Y, -57.0, 57.0, 18.0, 54.0, px)
            img = img * (1 - insert)
            img = img + _box(X, Y, -52.0, -44.0, 30.0, 38.0, px) \
                + 0.6 * _box(X, Y, -44.0, -36.0, 38.0, 46.0, px)
        if k == 5:
            grid = np.zeros_like(img)
            # The medium phantom's grid is drawn smaller (±47 mm) so that its corners stay
            # inside the 165 mm disk (its real extent is not modelled).
            g_half = 60.0 if variant == "large" else 45.0
            for g in np.arange(-g_half, g_half + 1.0, 15.0):
                grid = np.maximum(grid, _box(X, Y, g - 1.0, g + 1.0, -g_half - 2, g_half + 2,
                                             px))
                grid = np.maximum(grid, _box(X, Y, -g_half - 2, g_half + 2, g - 1.0, g + 1.0,
                                             px))
            img = img * (1 - grid)
        if k >= 8:
            # ACR layout: ring inner radius 44.6 mm; spokes 36° apart, clockwise, spoke 1 at
            # 12 o'clock on slice 8, the pattern turning 9° per slice; disks at 12.75/25.5/38.25.
            ring = _disk(X, Y, 0, 0, 50.0, px) - _disk(X, Y, 0, 0, 44.6, px)
            img = img * (1 - ring)
            c = contrasts[k - 8]
            for s_, d in enumerate(LC_DIAMETERS_MM):
                th = np.radians(-90.0 + 9.0 * (k - 8) + 36.0 * s_)
                for rr in (12.75, 25.5, 38.25):
                    img = img + c * _disk(X, Y, rr * np.cos(th), rr * np.sin(th), d / 2, px)
        img = img * signal
        if k == 7:
            img = img * (1.0 + piu_gradient_per_mm * X)
            # Ghost: copy shifted half the FOV along the phase direction (rows), air only.
            shift = n // 2
            ghost = ghost_fraction * np.roll(img, shift, axis=0)
            img = img + ghost * (body < 1e-6)
        if blur_mm > 0:
            img = ndimage.gaussian_filter(img, blur_mm / px)
        if k == 1:
            # The hole arrays are drawn band-limited (below), already blurred by the PSF.
            img = img + signal * hole_layer(n, px, centre_offset_mm, rotation_deg, blur_mm)
        slices.append(_noise(img, noise_sd, noise, rng))
    stack = np.stack(slices)
    truth = {
        "diameter_mm": diameter_mm,
        "slice_thickness_mm": slice_thickness_mm,
        "bar_difference_mm": bar_difference_mm,
        "piu": 100.0 * (1.0 - piu_gradient_per_mm * (large_roi_mm - ACR_SMALL_ROI_MM)),
        "variant": variant,
        "ghosting_percent": 100.0 * ghost_fraction,
        "snr_gaussian": signal / noise_sd if noise_sd > 0 else None,
        "rotation_deg": rotation_deg,
        "pixel_mm": pixel_mm,
        "noise": noise,
        "noise_sd": noise_sd,
        "low_contrast": list(contrasts),
        "low_contrast_diameters_mm": list(LC_DIAMETERS_MM),
    }
    if noise == "rician" and noise_sd > 0:
        # A magnitude image shows E|ghost + noise|, not the ghost: the Rician noise floor in the
        # background ROIs compresses it. This is the ACR ghosting such an image really has.
        floor = rician_mean(0.0, noise_sd)
        truth["ghosting_percent_magnitude"] = (
            100.0 * (rician_mean(ghost_fraction * signal, noise_sd) - floor) / signal)
    return stack, truth


def rician_mean(nu: float, sigma: float) -> float:
    """Mean of a Rician variable: magnitude of a signal `nu` in complex Gaussian noise `sigma`.

    E[R] = σ·√(π/2)·L½(−ν²/2σ²), with the Laguerre function written through Bessel functions
    (Rice, Bell Syst Tech J 23:282, 1944; Gudbjartsson & Patz, MRM 34:910, 1995).

    Examples
    --------
    >>> round(rician_mean(0.0, 1.0), 4)      # Rayleigh mean, σ·√(π/2)
    1.2533
    >>> round(rician_mean(100.0, 1.0), 3)    # high SNR: ≈ ν + σ²/2ν
    100.005
    """
    from scipy.special import ive

    x = nu * nu / (4.0 * sigma * sigma)
    # exp(-x)·[(1+2x)·I0(x) + 2x·I1(x)], with ive(k, x) = exp(-x)·Ik(x) to stay finite
    laguerre = (1.0 + 2.0 * x) * ive(0, x) + 2.0 * x * ive(1, x)
    return float(sigma * np.sqrt(np.pi / 2.0) * laguerre)


def flood_phantom(*, n: int = 128, pixel_mm: float = 2.0, diameter_mm: float = 180.0,
                  signal: float = 1000.0, noise_sd: float = 10.0, noise: str = "gaussian",
                  gradient_per_mm: float = 0.0, ghost_fraction: float = 0.0, seed: int = 0
                  ) -> tuple[np.ndarray, dict]:
    """A uniform disk (flood phantom) with an optional left–right gradient and row ghost."""
    rng = np.random.default_rng(seed)
    coords = (np.arange(n) - (n - 1) / 2.0) * pixel_mm
    X, Y = np.meshgrid(coords, coords)
    body = _disk(X, Y, 0, 0, diameter_mm / 2, pixel_mm)
    img = signal * body * (1.0 + gradient_per_mm * X)
    if ghost_fraction:
        img = img + ghost_fraction * np.roll(img, n // 2, axis=0) * (body < 1e-6)
    return _noise(img, noise_sd, noise, rng), {
        "signal": signal, "noise_sd": noise_sd,
        "snr": signal / noise_sd if noise_sd else None,
        "ghosting_percent": 100.0 * ghost_fraction}


def _make_acr(out_dir: Path) -> Path:
    folder = Path(out_dir) / "mr_acr"
    images, truth = acr_phantom(slice_thickness_mm=5.0, bar_difference_mm=2.0,
                                rotation_deg=1.0, noise_sd=8.0, noise="rician")
    write_series(images, folder, modality="MR", description="ACR T1 digital phantom",
                 pixel_spacing_mm=250.0 / 256, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 prefix="acr", extra_tags={"MagneticFieldStrength": 1.5,
                                           "InPlanePhaseEncodingDirection": "COL"})
    truth["phase_encoding"] = "COL (rows direction)"
    write_ground_truth(folder, truth)
    return folder


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """Demo series of this module: ``mr_acr`` (11 slices, 256², ≈1.5 MB)."""
    return {"mr_acr": _make_acr}
