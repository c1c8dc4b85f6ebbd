"""Digital phantoms for the planar gamma-camera tests of issue 13, with analytic truth.

* `linearity_lines` — a slit pattern (parallel Gaussian lines) displaced by a known distortion
  field dx(x, y) = A·exp(−(y − y_b)²/2w²) + B·((x − x_c)/H)² (a local kink of width w along
  the lines plus a barrel-like shift of the outer lines). A local kink keeps the largest
  deviation inside the field, so the truth does not hinge on where exactly the field ends. The truth applies the linearity *definitions* to the
  known displaced positions, densely along the lines: the largest deviation from the
  least-squares grid of equally spaced parallel lines (absolute) and the pooled SD from each
  line's own straight fit (differential), in the UFOV and the CFOV.
* `sni_flood` — a Poisson flood times 1 + a·cos(2π f₀ x); expected SNI from the closed form
  S/Q = N·a²·V(f₀)/(2⟨V⟩) (module `imgqa.analysis.sni`), computed here independently.
* `sensitivity_source` — a blob of known expected total counts S·A_start·T·D + B·T.
* `wb_sweep` — a whole-body sweep of a uniform sheet source with a known table-speed profile
  (one faster segment): counts ∝ 1/v, truth = v/v_nom − 1 on and off the segment.

Images are point-sampled at pixel centres; ``noise`` draws Poisson counts.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["linearity_lines", "sensitivity_source", "sni_flood", "wb_sweep",
           "write_linearity", "write_sensitivity", "write_sni", "write_sweep"]

_SIGMA_PER_FWHM = 1.0 / (2.0 * math.sqrt(2.0 * math.log(2.0)))


# ---------------------------------------------------------------------------------------------
# Linearity
# ---------------------------------------------------------------------------------------------
def _displacement(x: np.ndarray, y: np.ndarray, amp: float, width: float, barrel: float,
                  xc: float, yb: float, half: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((y - yb) / width) ** 2) + barrel * ((x - xc) / half) ** 2


def _linearity_truth(x0: np.ndarray, t: np.ndarray, d: np.ndarray, sel_t: np.ndarray,
                     sel_k: np.ndarray) -> tuple[float, float]:
    """Absolute (grid) and differential (per line) linearity of positions x0[k] + d[k, t]."""
    xs = (x0[:, None] + d)[sel_k][:, sel_t]
    tt = np.broadcast_to(t[sel_t], xs.shape)
    kk = np.broadcast_to(np.arange(xs.shape[0])[:, None], xs.shape)
    cols = [np.ones(xs.size), tt.ravel()] + ([kk.ravel().astype(float)] if xs.shape[0] > 1
                                             else [])
    a = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(a, xs.ravel(), rcond=None)
    absolute = float(np.max(np.abs(xs.ravel() - a @ coef)))
    ss = 0.0
    for row in xs:
        b = np.stack([np.ones(row.size), t[sel_t]], axis=1)
        c, *_ = np.linalg.lstsq(b, row, rcond=None)
        ss += float(np.sum((row - b @ c) ** 2))
    return absolute, math.sqrt(ss / xs.size)


def linearity_lines(matrix: int = 256, pixel_mm: float = 2.0, *, spacing_mm: float = 30.0,
                    n_lines: int = 11, length_mm: float = 400.0, fwhm_mm: float = 4.0,
                    amplitude_mm: float = 1.5, kink_width_mm: float = 35.0,
                    kink_at: float = 0.1, barrel_mm: float = 0.5,
                    peak_counts: float = 10_000.0,
                    shift_mm: tuple[float, float] = (0.0, 0.0), edge_mm: float = 10.0,
                    cfov_fraction: float = 0.75, tilt_deg: float = 0.0,
                    transpose: bool = False,
                    noise: bool = True, seed: int | None = 0
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """Slit-pattern image with a known distortion field (vertical lines: X linearity).

    Parameters
    ----------
    matrix, pixel_mm : int, float
        Square matrix and pixel size (mm).
    spacing_mm, n_lines, length_mm, fwhm_mm : float, int, float, float
        Line pattern (NEMA slit mask: 1 mm slits 30 mm apart, intrinsic FWHM ~ 3–4 mm).
    amplitude_mm, kink_width_mm : float
        Peak displacement and Gaussian width (σ) of the kink along the lines.
    kink_at : float
        Kink position along the lines, as a fraction of the line length from the centre.
    barrel_mm : float
        Extra displacement of the outermost lines (quadratic in x).
    peak_counts : float
        Expected counts per pixel on a line centre.
    shift_mm : (dy, dx)
        Translation of the whole pattern (mm).
    edge_mm, cfov_fraction : float
        The analysis' field definitions, for the truth (`imgqa.analysis.nm_linearity`).
    tilt_deg : float
        The mask set slightly askew: every line tilted by this angle about the centre (the
        grid fit's common tilt absorbs it, so the truth is unchanged up to cos θ ≈ 1).
    transpose : bool
        Horizontal lines (Y linearity) instead.

    Returns
    -------
    image, truth
        truth: ``absolute_linearity_{ufov,cfov}_mm`` and ``differential_linearity_{ufov,cfov}_mm``
        (and the ``_x``/``_y`` variant for the direction imaged).
    """
    n = matrix
    yc = (n - 1) / 2.0 * pixel_mm + shift_mm[0]
    xc = (n - 1) / 2.0 * pixel_mm + shift_mm[1]
    x0 = xc + (np.arange(n_lines) - (n_lines - 1) / 2.0) * spacing_mm
    half = max(abs(x0[0] - xc), 1e-9)
    yb = yc + kink_at * length_mm
    y = np.arange(n) * pixel_mm
    x = np.arange(n) * pixel_mm
    inside = np.abs(y - yc) <= length_mm / 2.0
    sig = fwhm_mm * _SIGMA_PER_FWHM
    img = np.zeros((n, n))
    for xk in x0:
        pos = xk + _displacement(np.full_like(y, xk), y, amplitude_mm, kink_width_mm,
                                 barrel_mm, xc, yb, half) \
            + (y - yc) * math.tan(math.radians(tilt_deg))
        img += np.exp(-0.5 * ((x[None, :] - pos[:, None]) / sig) ** 2) * inside[:, None]
    img *= peak_counts
    if noise:
        img = np.random.default_rng(seed).poisson(img).astype(np.float64)
    # truth, densely along the lines over the analysis' UFOV (the lines' extent minus edge_mm)
    lo, hi = yc - length_mm / 2.0 + edge_mm, yc + length_mm / 2.0 - edge_mm
    t = np.linspace(lo, hi, 4001)
    d = _displacement(x0[:, None], t[None, :], amplitude_mm, kink_width_mm, barrel_mm, xc, yb,
                      half)
    all_t = np.ones(t.size, bool)
    all_k = np.ones(n_lines, bool)
    span0, span1 = x0[0] - spacing_mm / 2.0, x0[-1] + spacing_mm / 2.0
    cf_t = np.abs(t - 0.5 * (lo + hi)) <= 0.5 * (hi - lo) * cfov_fraction
    cf_k = np.abs(x0 - 0.5 * (span0 + span1)) <= 0.5 * (span1 - span0) * cfov_fraction
    au, du = _linearity_truth(x0, t, d, all_t, all_k)
    ac, dc = _linearity_truth(x0, t, d, cf_t, cf_k)
    axis = "y" if transpose else "x"
    truth: dict[str, Any] = {
        "kind": "nm_linearity_lines", "pixel_spacing_mm": pixel_mm, "direction": axis,
        "spacing_mm": spacing_mm, "n_lines": n_lines, "amplitude_mm": amplitude_mm,
        "kink_width_mm": kink_width_mm, "barrel_mm": barrel_mm,
        "absolute_linearity_ufov_mm": au, "absolute_linearity_cfov_mm": ac,
        "differential_linearity_ufov_mm": du, "differential_linearity_cfov_mm": dc,
        f"absolute_linearity_ufov_mm_{axis}": au, f"absolute_linearity_cfov_mm_{axis}": ac,
        f"differential_linearity_ufov_mm_{axis}": du,
        f"differential_linearity_cfov_mm_{axis}": dc,
    }
    return (img.T.copy() if transpose else img), truth


# ---------------------------------------------------------------------------------------------
# SNI
# ---------------------------------------------------------------------------------------------
def _vrf(r: np.ndarray) -> np.ndarray:
    """Nelson et al.'s visual response r^1.3·exp(−28 r²), r in cycles/mm on the display."""
    return np.abs(r) ** 1.3 * np.exp(-28.0 * r * r)


def sni_flood(matrix: int = 256, pixel_mm: float = 3.2, *, counts_per_pixel: float = 250.0,
              amplitude: float = 0.02, freq_mm: float = 0.025, rebin_factor: int = 2,
              display_mm: float = 65.0, seed: int | None = 0
              ) -> tuple[np.ndarray, dict[str, Any]]:
    """Poisson flood filling the matrix, times 1 + a·cos(2π f₀ x); expected SNI in the truth.

    ``counts_per_pixel`` is per native pixel; the analysis sums ``rebin_factor``² of them, so
    N = counts·f². The displayed field is the whole matrix width (the analysis' default).
    """
    n = matrix
    x = (np.arange(n) + 0.5) * pixel_mm
    lam = counts_per_pixel * (1.0 + amplitude * np.cos(2.0 * np.pi * freq_mm * x))
    img = np.random.default_rng(seed).poisson(np.broadcast_to(lam, (n, n))).astype(np.float64)
    dx = rebin_factor * pixel_mm
    mag = display_mm / (n // rebin_factor * dx)
    fn = 0.5 / dx
    g = (np.arange(2000) + 0.5) / 2000.0 * 2.0 * fn - fn
    mean_v = float(_vrf(np.hypot(g[:, None], g[None, :]) * mag).mean())
    big_n = counts_per_pixel * rebin_factor ** 2
    s_over_q = big_n * amplitude ** 2 * float(_vrf(np.array(freq_mm * mag))) / (2.0 * mean_v)
    sni = s_over_q / (1.0 + s_over_q)
    truth = {"kind": "nm_sni_flood", "pixel_spacing_mm": pixel_mm, "amplitude": amplitude,
             "frequency_per_mm": freq_mm, "counts_per_analysis_pixel": big_n,
             "magnification": mag, "structured_over_quantum": s_over_q, "sni": sni}
    for q in range(1, 5):
        truth[f"sni_q{q}"] = sni
    return img, truth


# ---------------------------------------------------------------------------------------------
# Sensitivity
# ---------------------------------------------------------------------------------------------
def sensitivity_source(matrix: int = 128, pixel_mm: float = 4.0, *,
                       sensitivity_cps_per_mbq: float = 90.0, activity_mbq: float = 40.0,
                       half_life_h: float = 6.0067, elapsed_s: float = 3600.0,
                       duration_s: float = 300.0, background_cps: float = 0.0,
                       noise: bool = True, seed: int | None = 0
                       ) -> tuple[np.ndarray, dict[str, Any]]:
    """A Gaussian blob (a dish source) whose expected total counts are known exactly.

    Expected counts = S·A_start·T·D + B·T, A_start = A·e^(−λ·elapsed), D = (1 − e^(−λT))/(λT);
    the background is spread uniformly over the image.
    """
    lam = math.log(2.0) / (half_life_h * 3600.0)
    a_start = activity_mbq * math.exp(-lam * elapsed_s)
    dfac = (1.0 - math.exp(-lam * duration_s)) / (lam * duration_s)
    total = sensitivity_cps_per_mbq * a_start * duration_s * dfac
    yy, xx = np.indices((matrix, matrix), dtype=np.float64)
    c = (matrix - 1) / 2.0
    blob = np.exp(-0.5 * ((yy - c) ** 2 + (xx - c) ** 2) / (20.0 / pixel_mm) ** 2)
    lam_img = total * blob / blob.sum() + background_cps * duration_s / blob.size
    img = np.random.default_rng(seed).poisson(lam_img).astype(np.float64) if noise else lam_img
    truth = {"kind": "nm_sensitivity_source", "pixel_spacing_mm": pixel_mm,
             "sensitivity_cps_per_mbq": sensitivity_cps_per_mbq, "activity_mbq": activity_mbq,
             "half_life_h": half_life_h, "elapsed_s": elapsed_s, "duration_s": duration_s,
             "background_cps": background_cps, "expected_counts": float(lam_img.sum())}
    return img, truth


# ---------------------------------------------------------------------------------------------
# Whole-body scan speed
# ---------------------------------------------------------------------------------------------
def wb_sweep(rows: int = 1024, cols: int = 256, pixel_mm: float = 2.4, *,
             source_mm: tuple[float, float] = (1900.0, 480.0), start_mm: float = 120.0,
             fast_segment_mm: tuple[float, float] = (900.0, 1300.0), speed_error: float = 0.10,
             counts_per_pixel: float = 200.0, margin_mm: float = 30.0,
             smoothing_mm: float = 30.0, noise: bool = True, seed: int | None = 0
             ) -> tuple[np.ndarray, dict[str, Any]]:
    """Sweep of a uniform sheet source; the table runs (1 + ε) × faster over one segment.

    Counts ∝ dwell time ∝ 1/v. Over the analysed length L (the source minus the margins of
    `imgqa.analysis.scan_speed`), with a fast segment of length ℓ inside it, the nominal speed
    is the harmonic mean: v_nom = v₀ / m with m = (L − ℓ + ℓ/(1 + ε))/L, so the deviations are
    (1 + ε)·m − 1 on the segment and m − 1 elsewhere.
    """
    y = (np.arange(rows) + 0.5) * pixel_mm
    x = (np.arange(cols) + 0.5) * pixel_mm - cols * pixel_mm / 2.0
    on_y = (y >= start_mm) & (y < start_mm + source_mm[0])
    on_x = np.abs(x) <= source_mm[1] / 2.0
    fast = (y >= start_mm + fast_segment_mm[0]) & (y < start_mm + fast_segment_mm[1])
    speed = np.where(fast, 1.0 + speed_error, 1.0)
    lam = counts_per_pixel / speed[:, None] * (on_y[:, None] & on_x[None, :])
    img = np.random.default_rng(seed).poisson(lam).astype(np.float64) if noise else lam
    cut = math.ceil(margin_mm / pixel_mm) * pixel_mm + (round(smoothing_mm / pixel_mm) // 2) \
        * pixel_mm
    length = source_mm[0] - 2.0 * cut
    seg = fast_segment_mm[1] - fast_segment_mm[0]
    m = (length - seg + seg / (1.0 + speed_error)) / length
    on_seg, off_seg = 100.0 * ((1.0 + speed_error) * m - 1.0), 100.0 * (m - 1.0)
    fastest, slowest = max(on_seg, off_seg), min(on_seg, off_seg)
    truth = {"kind": "nm_wb_sweep", "pixel_spacing_mm": pixel_mm, "speed_error": speed_error,
             "fastest_percent": fastest, "slowest_percent": slowest,
             "max_speed_deviation_percent": max(abs(fastest), abs(slowest))}
    return img, truth


# ---------------------------------------------------------------------------------------------
# Writers (validation checks and tests)
# ---------------------------------------------------------------------------------------------
def write_linearity(out: Path, *, description: str = "Intrinsic linearity slit X",
                    **kwargs: Any) -> Path:
    """Write `linearity_lines` as an NM image and its truth into folder `out`."""
    img, truth = linearity_lines(**kwargs)
    write_series(img, out, modality="NM", description=description,
                 pixel_spacing_mm=truth["pixel_spacing_mm"], prefix="linearity")
    write_ground_truth(out, truth)
    return out


def write_sni(out: Path, *, description: str = "Flood SNI", **kwargs: Any) -> Path:
    """Write `sni_flood` as an NM image and its truth into folder `out`."""
    img, truth = sni_flood(**kwargs)
    write_series(img, out, modality="NM", description=description,
                 pixel_spacing_mm=truth["pixel_spacing_mm"], prefix="sni")
    write_ground_truth(out, truth)
    return out


def write_sensitivity(out: Path, *, description: str = "Planar sensitivity Tc99m",
                      acquired: datetime | None = None, **kwargs: Any) -> Path:
    """Write `sensitivity_source` with its duration and nuclide in the header."""
    img, truth = sensitivity_source(**kwargs)
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    code = Dataset()
    code.CodeValue, code.CodingSchemeDesignator = "C-163A8", "SRT"
    code.CodeMeaning = "^99m^Technetium"
    radio = Dataset()
    radio.RadionuclideCodeSequence = Sequence([code])
    write_series(img, out, modality="NM", description=description,
                 pixel_spacing_mm=truth["pixel_spacing_mm"], prefix="sensitivity",
                 acquired=acquired,
                 extra_tags={"ActualFrameDuration": int(round(truth["duration_s"] * 1000)),
                             "RadiopharmaceuticalInformationSequence": Sequence([radio])})
    write_ground_truth(out, truth)
    return out


def write_sweep(out: Path, *, description: str = "WB scan speed", **kwargs: Any) -> Path:
    """Write `wb_sweep` as a two-detector WHOLE BODY NM file and its truth."""
    img, truth = wb_sweep(**kwargs)
    img2, _ = wb_sweep(**{**kwargs, "seed": (kwargs.get("seed") or 0) + 1})
    write_series(np.stack([img, img2]), out, modality="NM", description=description,
                 pixel_spacing_mm=truth["pixel_spacing_mm"], prefix="sweep", multiframe=True,
                 extra_tags={"ImageType": ["ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"],
                             "ScanVelocity": "2.0"})
    write_ground_truth(out, truth)
    return out
