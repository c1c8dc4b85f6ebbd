"""Digital phantoms for X-ray detector QC (DX, CR, MG, IO) with analytic ground truth.

* `slanted_edge`: a straight edge at a known tilt in any of four orientations, blurred by a
  Gaussian PSF of known sigma and *point-sampled* at the pixel centres, so the presampled MTF is
  exactly MTF(f) = exp(−2π²σ²f²) and MTF50 = sqrt(ln 2 / (2π²σ²)).
* `flat_field`: a uniform exposure through a known gain pattern (linear heel-effect ramp,
  optional Gaussian bump, optional square defect) with Gaussian or Poisson quantum noise,
  electronic noise and fixed-pattern (structured) noise.
* `flat_field_set`: flat fields at several air kermas with a known linear signal transfer
  property and variance = a·K + b + c·K².

Files are written with (0018,1164) Imager Pixel Spacing, as detectors do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from imgqa.phantoms.writer import read_ground_truth, write_ground_truth, write_series

__all__ = ["slanted_edge", "edge_at", "flat_field", "gain_pattern", "flat_field_set",
           "gaussian_mtf", "gaussian_mtf50",
           "write_edge", "write_flat_field", "write_flat_field_set", "demo_sets"]


def gaussian_mtf(f: np.ndarray | float, sigma_mm: float) -> np.ndarray | float:
    """MTF of a Gaussian PSF of standard deviation `sigma_mm`: exp(−2π²σ²f²)."""
    return np.exp(-2.0 * math.pi ** 2 * sigma_mm ** 2 * np.asarray(f) ** 2)


def gaussian_mtf50(sigma_mm: float) -> float:
    """Frequency (lp/mm) where a Gaussian PSF's MTF is 0.5: sqrt(ln2 / (2π²σ²))."""
    return math.sqrt(math.log(2.0) / (2.0 * math.pi ** 2 * sigma_mm ** 2))


def slanted_edge(shape: tuple[int, int] = (512, 512), pixel_mm: float | tuple[float, float] = 0.1,
                 *, angle_deg: float = 3.0, orientation_deg: int = 0, sigma_mm: float = 0.1,
                 low: float = 200.0, high: float = 1200.0, noise_sd: float = 0.0,
                 seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Gaussian-blurred straight edge, point-sampled.

    Parameters
    ----------
    shape : (rows, cols)
    pixel_mm : float or (dy, dx)
    angle_deg : float
        Tilt of the edge from the pixel axis (signed).
    orientation_deg : {0, 90, 180, 270}
        Direction of the edge normal pointing to the bright side before tilting: 0 = bright on
        the right (vertical edge), 90 = bright at the bottom, 180 = left, 270 = top.
    sigma_mm : float
        Standard deviation of the Gaussian PSF.
    low, high : float
        Plateau values.
    noise_sd : float
        SD of additive white Gaussian noise.

    Returns
    -------
    image : (rows, cols) float64 ndarray
    truth : dict
        ``mtf50_lp_per_mm``, ``mtf10_lp_per_mm``, ``edge_angle_deg`` (|tilt|), ``sigma_mm``,
        ``mtf_at_<f>_lp_per_mm`` for 0.5, 1, 2, 3 lp/mm, and the generation parameters.
    """
    if orientation_deg not in (0, 90, 180, 270):
        raise ValueError("orientation_deg must be 0, 90, 180 or 270")
    dy, dx = (float(v) for v in np.broadcast_to(np.asarray(pixel_mm), (2,)))  # s or (dy, dx)
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2.0)[:, None] * dy
    x = (np.arange(cols) - (cols - 1) / 2.0)[None, :] * dx
    phi = math.radians(orientation_deg + angle_deg)
    # a small offset keeps the edge off the exact image centre
    d = x * math.cos(phi) + y * math.sin(phi) - 0.37 * min(dx, dy)
    image = low + (high - low) * ndtr(d / sigma_mm)
    if noise_sd > 0:
        image = image + np.random.default_rng(seed).normal(0.0, noise_sd, image.shape)
    truth: dict[str, Any] = {
        "kind": "slanted_edge",
        "sigma_mm": sigma_mm,
        "edge_angle_deg": abs(angle_deg),
        "edge_angle_signed_deg": angle_deg,
        "orientation_deg": orientation_deg,
        "pixel_mm": [dy, dx],
        "low": low, "high": high, "noise_sd": noise_sd,
        "mtf50_lp_per_mm": gaussian_mtf50(sigma_mm),
        "mtf10_lp_per_mm": math.sqrt(math.log(10.0) / (2.0 * math.pi ** 2 * sigma_mm ** 2)),
        "nyquist_lp_per_mm": 0.5 / dx if orientation_deg in (0, 180) else 0.5 / dy,
    }
    for f, name in ((0.5, "0_5"), (1.0, "1"), (2.0, "2"), (3.0, "3")):
        truth[f"mtf_at_{name}_lp_per_mm"] = float(gaussian_mtf(f, sigma_mm))
    return image, truth


def edge_at(shape: tuple[int, int], pixel_mm: float, *, normal_deg: float, distance_mm: float,
            sigma_mm: float, low: float = 200.0, high: float = 1200.0) -> np.ndarray:
    """A noise-free Gaussian-blurred straight edge at any position, point-sampled.

    For invariance tests: the edge is regenerated analytically at a shifted position or pixel
    size instead of resampling an image (resampling would blur it).

    Parameters
    ----------
    shape : (rows, cols)
    pixel_mm : float
        Square pixel size (mm).
    normal_deg : float
        Direction of the edge normal towards the bright side (0 = +x, 90 = +y, i.e. down).
    distance_mm : float
        Signed distance of the edge line from the image centre along the normal (mm).
    sigma_mm : float
        Standard deviation of the Gaussian PSF (mm).
    low, high : float
        Plateau values.
    """
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2.0)[:, None] * pixel_mm
    x = (np.arange(cols) - (cols - 1) / 2.0)[None, :] * pixel_mm
    phi = math.radians(normal_deg)
    d = x * math.cos(phi) + y * math.sin(phi) - distance_mm
    return low + (high - low) * ndtr(d / sigma_mm)


def gain_pattern(shape: tuple[int, int], *, ramp: float = 0.0, bump: float = 0.0,
                 bump_sigma_frac: float = 0.15, defect: float = 0.0,
                 defect_rc: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """Relative gain map: 1 + ramp·x̂ (x̂ from −1 at the left to +1 at the right) + a Gaussian
    bump of height `bump` at the centre + a rectangular `defect` (r0, c0, r1, c1) of relative
    height `defect`."""
    rows, cols = shape
    xs = np.linspace(-1.0, 1.0, cols)[None, :]
    yy = (np.arange(rows) - (rows - 1) / 2.0)[:, None] / rows
    xx = (np.arange(cols) - (cols - 1) / 2.0)[None, :] / rows
    g = 1.0 + ramp * xs + bump * np.exp(-(xx ** 2 + yy ** 2) / (2 * bump_sigma_frac ** 2))
    g = np.broadcast_to(g, shape).copy()
    if defect and defect_rc is not None:
        r0, c0, r1, c1 = defect_rc
        g[r0:r1, c0:c1] += defect
    return g


def flat_field(shape: tuple[int, int] = (512, 512), *, air_kerma_ugy: float = 2.5,
               gain_per_ugy: float = 400.0, offset: float = 100.0,
               quantum_a: float = 400.0, electronic_b: float = 25.0, structured_c: float = 0.0,
               gain: np.ndarray | None = None, noise: str = "gaussian",
               pattern_seed: int = 1234, seed: int | None = 0
               ) -> tuple[np.ndarray, dict[str, Any]]:
    """A flat-field exposure with known signal transfer and noise model.

    Mean signal = offset + gain_per_ugy · K · G(r, c), G the relative gain map (default 1).
    Noise variance (for G = 1) = a·K + b + c·K²:

    * quantum, a·K: Gaussian (``noise="gaussian"``) or Poisson (``"poisson"``: quanta of
      value s = a / gain_per_ugy, so that the mean is gain_per_ugy·K and the variance a·K);
    * electronic, b: Gaussian;
    * structured, c·K²: a fixed per-pixel gain pattern (the same `pattern_seed` in every image,
      like real fixed-pattern noise) scaled by √c·K.

    ``noise="none"`` gives the noise-free mean image. Returns (image, truth dict).
    """
    rows, cols = shape
    k = float(air_kerma_ugy)
    g_map = np.ones(shape) if gain is None else np.asarray(gain, dtype=np.float64)
    mean_img = offset + gain_per_ugy * k * g_map
    rng = np.random.default_rng(seed)
    if noise == "poisson":
        # value per quantum s so that s·(mean) = g·K and s²·quanta = a·K  →  s = a / g
        s = quantum_a / gain_per_ugy
        quanta = rng.poisson(gain_per_ugy * k * g_map / s)
        quantum = s * quanta - gain_per_ugy * k * g_map
    elif noise == "gaussian":
        quantum = rng.normal(0.0, 1.0, shape) * np.sqrt(quantum_a * k * g_map)
    elif noise == "none":
        quantum = np.zeros(shape)
    else:
        raise ValueError("noise must be 'gaussian', 'poisson' or 'none'")
    electronic = rng.normal(0.0, math.sqrt(electronic_b), shape) if noise != "none" else 0.0
    structured: float | np.ndarray = 0.0
    if structured_c > 0 and noise != "none":
        fixed = np.random.default_rng(pattern_seed).normal(0.0, 1.0, shape)
        structured = math.sqrt(structured_c) * k * fixed
    image = mean_img + quantum + electronic + structured
    truth = {
        "kind": "flat_field", "air_kerma_ugy": k, "stp_slope": gain_per_ugy,
        "stp_intercept": offset, "noise_quantum_coefficient": quantum_a,
        "noise_electronic": electronic_b, "noise_structured": structured_c,
        "variance": quantum_a * k + electronic_b + structured_c * k * k,
        "mean_signal": offset + gain_per_ugy * k, "noise": noise,
    }
    return image, truth


def flat_field_set(kermas_ugy: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0), *,
                   shape: tuple[int, int] = (256, 256), **kwargs: Any
                   ) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Flat fields at several air kermas (same detector) for STP and noise-vs-dose fits."""
    images, truths = [], []
    for i, k in enumerate(kermas_ugy):
        img, t = flat_field(shape, air_kerma_ugy=k, seed=i + 1, **kwargs)
        images.append(img)
        truths.append(t)
    t0 = truths[0]
    truth = {key: t0[key] for key in ("stp_slope", "stp_intercept", "noise_quantum_coefficient",
                                      "noise_electronic", "noise_structured")}
    truth.update(kind="flat_field_set", air_kerma_ugy=list(kermas_ugy),
                 variance=[t["variance"] for t in truths],
                 mean_signal=[t["mean_signal"] for t in truths])
    return images, truth


# ---------------------------------------------------------------------------------------------
# Writing DICOM
# ---------------------------------------------------------------------------------------------
def _write(image: np.ndarray, out: Path, modality: str, description: str,
           pixel_mm: float | tuple[float, float] | None, extra: dict[str, Any] | None = None,
           prefix: str = "img") -> list[Path]:
    if float(np.min(image)) < 0 or float(np.max(image)) > 65535:
        raise ValueError("phantom values must fit unsigned 16 bits")
    return write_series(image, out, modality=modality, description=description,
                        pixel_spacing_mm=pixel_mm, spacing_tag="ImagerPixelSpacing",
                        extra_tags={"PixelIntensityRelationship": "LIN", **(extra or {})},
                        prefix=prefix)


def write_edge(out_dir: Path, *, modality: str = "DX", shape: tuple[int, int] = (512, 512),
               pixel_mm: float = 0.1, **kwargs: Any) -> Path:
    """Write one slanted-edge image and its ground truth into `out_dir`."""
    image, truth = slanted_edge(shape, pixel_mm, **kwargs)
    _write(image, out_dir, modality, "QC slanted edge MTF", pixel_mm)
    truth["note"] = "values rounded to integers when written (quantisation noise SD 0.29)"
    write_ground_truth(out_dir, truth)
    return out_dir


def write_flat_field(out_dir: Path, *, modality: str = "DX", shape: tuple[int, int] = (512, 512),
                     pixel_mm: float | None = 0.1, **kwargs: Any) -> Path:
    """Write one flat-field image and its ground truth into `out_dir`."""
    image, truth = flat_field(shape, **kwargs)
    extra = {"ExposureIndex": round(100 * truth["air_kerma_ugy"], 3)}
    _write(image, out_dir, modality, "QC flat field", pixel_mm, extra)
    write_ground_truth(out_dir, truth)
    return out_dir


def write_flat_field_set(out_dir: Path, *, modality: str = "DX",
                         kermas_ugy: Sequence[float] = (0.5, 1.0, 2.0, 4.0, 8.0),
                         shape: tuple[int, int] = (256, 256), pixel_mm: float = 0.1,
                         header_dose: bool = True, **kwargs: Any) -> list[Path]:
    """Write one flat-field series per air kerma (sub-folders k0, k1, ...); each header carries
    (0018,9332) Entrance Dose in mGy = K/1000 when `header_dose`. Returns the folders."""
    images, truth = flat_field_set(kermas_ugy, shape=shape, **kwargs)
    folders = []
    for i, (img, k) in enumerate(zip(images, kermas_ugy)):
        sub = out_dir / f"k{i}"
        extra = {"EntranceDoseInmGy": k / 1000.0} if header_dose else {}
        _write(img, sub, modality, f"QC flat field {k:g} uGy", pixel_mm, extra)
        folders.append(sub)
    write_ground_truth(out_dir, truth)
    return folders


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """Small demo series: a DR flat field with a heel ramp and a slanted edge."""

    def make_flat(out: Path) -> Path:
        shape = (512, 512)
        gain = gain_pattern(shape, ramp=0.05, bump=0.02)
        folder = write_flat_field(out / "xray_flat_field", shape=shape, gain=gain,
                                  structured_c=4.0)
        truth = read_ground_truth(folder)
        truth.update(gain_ramp=0.05, gain_bump=0.02, gain_bump_sigma_frac=0.15,
                     gain_note="G = 1 + ramp·x̂ (x̂ −1 → +1 left to right) + bump·Gaussian")
        write_ground_truth(folder, truth)
        return folder

    def make_edge(out: Path) -> Path:
        return write_edge(out / "xray_edge", angle_deg=2.5, sigma_mm=0.08, noise_sd=5.0)

    return {"xray_flat_field": make_flat, "xray_edge": make_edge}


# ---------------------------------------------------------------------------------------------
# Issue 15: exposure index, defective pixels (added at the end; generators for xray_tests)
# ---------------------------------------------------------------------------------------------
def ei_flat_field(shape: tuple[int, int] = (512, 512), *, air_kerma_ugy: float = 2.5,
                  calibration: str = "linear", cal_slope: float = 400.0,
                  cal_intercept: float = 100.0, noise_sd: float = 20.0, ramp: float = 0.0,
                  seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A flat field whose value follows a known detector calibration (IEC 62494-1 EI truth).

    V = cal_slope·K + cal_intercept (linear) or cal_slope·log10(K) + cal_intercept (log) at the
    centre, plus Gaussian noise of SD ``noise_sd`` and an optional antisymmetric left-right
    ramp (±``ramp`` of the signal, zero mean over any centred ROI). Truth: EI = 100·K.
    """
    k = float(air_kerma_ugy)
    v = cal_slope * k + cal_intercept if calibration == "linear" else \
        cal_slope * math.log10(k) + cal_intercept
    x = np.linspace(-1.0, 1.0, shape[1])[None, :]
    rng = np.random.default_rng(seed)
    image = v * (1.0 + ramp * x) + rng.normal(0.0, noise_sd, shape)
    return image, {"kind": "ei_flat_field", "air_kerma_ugy": k, "exposure_index": 100.0 * k,
                   "value_of_interest": v, "calibration": calibration, "cal_slope": cal_slope,
                   "cal_intercept": cal_intercept}


def write_ei_flat_field(out_dir: Path, *, modality: str = "DX", pixel_mm: float = 0.15,
                        header: dict[str, Any] | None = None, **kwargs: Any) -> Path:
    """Write an `ei_flat_field` image described "Exposure index" and its ground truth."""
    image, truth = ei_flat_field(**kwargs)
    _write(image, out_dir, modality, "QC exposure index flat field", pixel_mm, header)
    write_ground_truth(out_dir, truth)
    return out_dir


def defect_flat_field(shape: tuple[int, int] = (512, 512), *, signal: float = 1000.0,
                      noise_sd: float = 20.0, n_isolated: int = 6,
                      clusters: Sequence[tuple[int, int]] = ((3, 3), (2, 2), (1, 2)),
                      dead_column: bool = True, faint_row_percent: float = 3.0,
                      heel: float = 0.05, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A flat field with planted defects at random, well-separated places.

    Isolated pixels are dead (0) or hot (2–3 × signal) at random; clusters are dead blocks of
    the given (rows, cols); one dead column and one row offset by ``faint_row_percent`` (a
    faint line no single pixel reveals); a left-right heel ramp of ±``heel``. Every defect
    lies ≥ 6 px from every other and from the border. Truth: the defect counts and positions.
    """
    rng = np.random.default_rng(seed)
    rows, cols = shape
    x = np.linspace(-1.0, 1.0, cols)[None, :]
    base = signal * (1.0 + heel * x) * np.ones(shape)
    image = base + rng.normal(0.0, noise_sd, shape)
    taken = np.zeros(shape, bool)
    line_col = int(rng.integers(cols // 4, 3 * cols // 4)) if dead_column else None
    line_row = int(rng.integers(rows // 4, 3 * rows // 4)) if faint_row_percent else None
    if line_col is not None:
        taken[:, max(0, line_col - 6):line_col + 7] = True
    if line_row is not None:
        taken[max(0, line_row - 6):line_row + 7, :] = True

    def place(h: int, w: int) -> tuple[int, int]:
        for _ in range(10000):
            r = int(rng.integers(8, rows - 8 - h))
            c = int(rng.integers(8, cols - 8 - w))
            if not taken[r - 6:r + h + 6, c - 6:c + w + 6].any():
                taken[r - 6:r + h + 6, c - 6:c + w + 6] = True
                return r, c
        raise ValueError("no room left for another defect")

    isolated = []
    for _ in range(n_isolated):
        r, c = place(1, 1)
        image[r, c] = 0.0 if rng.random() < 0.5 else base[r, c] * rng.uniform(2.0, 3.0)
        isolated.append((r, c))
    blocks = []
    for h, w in clusters:
        r, c = place(h, w)
        image[r:r + h, c:c + w] = 0.0
        blocks.append((r, c, h, w))
    if line_col is not None:
        image[:, line_col] = 0.0
    if line_row is not None:
        image[line_row, :] += faint_row_percent / 100.0 * base[line_row, :]
    n_cluster_px = sum(h * w for h, w in clusters)
    return np.clip(image, 0, None), {
        "kind": "defect_flat_field", "isolated": isolated, "clusters_at": blocks,
        "dead_column": line_col, "faint_row": line_row,
        "defective_pixels": n_isolated + n_cluster_px,
        "clusters": sum(1 for h, w in clusters if h * w >= 2),
        "defective_lines": int(line_col is not None) + int(line_row is not None),
        "note": "defective_pixels excludes the pixels of the defective lines"}


def write_defect_flat_field(out_dir: Path, *, modality: str = "DX", pixel_mm: float = 0.15,
                            **kwargs: Any) -> Path:
    """Write a `defect_flat_field` image described "QC defective pixels" and its truth."""
    image, truth = defect_flat_field(**kwargs)
    _write(image, out_dir, modality, "QC defective pixels flat field", pixel_mm)
    write_ground_truth(out_dir, truth)
    return out_dir


# TOR 18FG-like disc contrasts (disc 1 … 18), falling geometrically from 16.7 % to 0.77 %
# like the real object's nominal contrasts at 75 kV with 1 mm Cu.
TOR_CONTRASTS = tuple(float(v) for v in np.geomspace(0.167, 0.0077, 18))


def leeds_tor(size: int = 1200, pixel_mm: float = 0.15, *, signal: float = 2000.0,
              noise_sd: float = 20.0, psf_sigma_mm: float = 0.16,
              contrasts: Sequence[float] = TOR_CONTRASTS, bar_contrast: float = 0.5,
              centre_mm: tuple[float, float] = (0.0, 0.0), rotation_deg: float = 0.0,
              plate_attenuation: float = 0.15, seed: int = 0, supersample: int = 3
              ) -> tuple[np.ndarray, dict[str, Any]]:
    """A Leeds TOR 18FG-type image with known disc contrasts and bar frequencies.

    Layout `imgqa.analysis.leeds_tor.TOR18FG` (R = 80 mm). The plate gives S·(1 − a); disc k
    S·(1 − a)·(1 − c_k); bars S·(1 − a)·(1 − bar_contrast) on a square wave of their
    frequency; the marker 0.3·S. Rendered on a ``supersample``² finer grid, blurred by a
    Gaussian PSF of σ ``psf_sigma_mm`` (MTF exp(−2π²σ²f²)), averaged to pixels (aperture
    sinc(f·p)), white noise σ added. Truth: disc CNR = S(1 − a)c_k/σ_noise; bar modulation
    relative to the 0.5 lp/mm group = MTF(f)/MTF(0.5) with MTF = Gaussian × pixel aperture;
    the limiting group is the last one above 0.1 (and the margins to 0.1 are given).
    """
    from imgqa.analysis.leeds_tor import TOR18FG as lay

    n = size * supersample
    p = pixel_mm / supersample
    t = np.deg2rad(rotation_deg)
    big_r = lay.radius_mm
    centre_px = ((n - 1) / 2 + centre_mm[0] / p, (n - 1) / 2 + centre_mm[1] / p)

    def window(cx: float, cy: float, half_mm: float) -> tuple[slice, slice, np.ndarray,
                                                              np.ndarray]:
        """Image window around phantom point (cx, cy) mm and its phantom coordinates (u, v)."""
        col = centre_px[1] + (cx * math.cos(t) - cy * math.sin(t)) / p
        row = centre_px[0] + (cx * math.sin(t) + cy * math.cos(t)) / p
        h = int(math.ceil(half_mm * 1.5 / p)) + 2
        r0, c0 = max(int(row) - h, 0), max(int(col) - h, 0)
        r1, c1 = min(int(row) + h + 1, n), min(int(col) + h + 1, n)
        yy = (np.arange(r0, r1) - centre_px[0])[:, None] * p
        xx = (np.arange(c0, c1) - centre_px[1])[None, :] * p
        return (slice(r0, r1), slice(c0, c1), xx * math.cos(t) + yy * math.sin(t),
                -xx * math.sin(t) + yy * math.cos(t))

    rel = np.ones((n, n))
    sr, sc, u, v = window(0.0, 0.0, big_r)
    rel[sr, sc][np.hypot(u, v) <= big_r] *= 1.0 - plate_attenuation
    for ang, c in zip(lay.disc_angles_deg, contrasts, strict=True):
        cx = lay.disc_ring * big_r * math.cos(math.radians(ang))
        cy = lay.disc_ring * big_r * math.sin(math.radians(ang))
        rd = lay.disc_radius * big_r
        sr, sc, u, v = window(cx, cy, rd)
        rel[sr, sc][np.hypot(u - cx, v - cy) <= rd] *= 1.0 - c
    mx = lay.disc_ring * big_r * math.cos(math.radians(lay.marker_angle_deg))
    my = lay.disc_ring * big_r * math.sin(math.radians(lay.marker_angle_deg))
    h = lay.marker_half * big_r
    sr, sc, u, v = window(mx, my, h)
    rel[sr, sc][(np.abs(u - mx) <= h) & (np.abs(v - my) <= h)] = 0.3
    hb = lay.bar_half * big_r
    for (bx, by), f in zip(lay.bar_centres, lay.frequencies, strict=True):
        sr, sc, u, v = window(bx * big_r, by * big_r, hb)
        sel = (np.abs(u - bx * big_r) <= hb) & (np.abs(v - by * big_r) <= hb)
        phase = (u[sel] - bx * big_r) * f  # cycles from the patch centre
        bars = (phase - np.floor(phase)) < 0.5
        sub = rel[sr, sc]
        sub[sel] *= np.where(bars, 1.0 - bar_contrast, 1.0)
    from scipy import ndimage as _nd

    img = _nd.gaussian_filter(signal * rel, psf_sigma_mm / p, mode="nearest")
    img = img.reshape(size, supersample, size, supersample).mean(axis=(1, 3))
    img = img + np.random.default_rng(seed).normal(0.0, noise_sd, img.shape)

    def mtf(f: float) -> float:
        return math.exp(-2 * math.pi ** 2 * psf_sigma_mm ** 2 * f * f) * \
            abs(float(np.sinc(f * pixel_mm)))

    ratios = [mtf(f) / mtf(lay.frequencies[0]) for f in lay.frequencies]
    above = [r >= 0.1 and f < 0.5 / pixel_mm for r, f in zip(ratios, lay.frequencies,
                                                              strict=True)]
    group = above.index(False) if False in above else len(above)
    bg = signal * (1.0 - plate_attenuation)
    disc_cnr = [bg * c / noise_sd for c in contrasts]
    truth: dict[str, Any] = {"kind": "leeds_tor", "disc_cnr": disc_cnr,
             "disc_contrast": list(contrasts), "bar_modulation": ratios,
             "limiting_resolution_lp_mm": lay.frequencies[group - 1] if group else None,
             "limiting_group": group,
             "margin_above": ratios[group - 1] / 0.1 if group else None,
             "margin_below": ratios[group] / 0.1 if group < len(ratios) else None,
             "rotation_deg": rotation_deg, "centre_mm": list(centre_mm),
             "psf_sigma_mm": psf_sigma_mm, "noise_sd": noise_sd}
    for k, cnr in enumerate(disc_cnr, start=1):
        truth[f"disc_{k}_cnr"] = cnr
    return img, truth


def write_leeds_tor(out_dir: Path, *, modality: str = "DX", pixel_mm: float = 0.15,
                    **kwargs: Any) -> Path:
    """Write a `leeds_tor` image described "QC Leeds TOR 18FG" and its ground truth."""
    image, truth = leeds_tor(pixel_mm=pixel_mm, **kwargs)
    _write(np.clip(image, 0, 65535), out_dir, modality, "QC Leeds TOR 18FG", pixel_mm)
    write_ground_truth(out_dir, truth)
    return out_dir
