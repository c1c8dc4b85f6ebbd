"""Catphan CTP528 high-resolution module: line-pair MTF from the 1–21 lp/cm bar groups.

The module holds 21 groups of aluminium bars (2 mm thick) on a circle of about 47 mm radius
around the phantom axis; group k has bars and gaps of width 5/k mm (k lp/cm). The bars of a
group are parallel and cross the circle at right angles, so a profile along the circle's
tangent at the group's centre is a finite square wave of period 1/k cm.

Method
------
1. *Module detection and rotation.* The image is sampled on the circle (radially averaged over
   ± 1.5 mm) and cross-correlated (circularly, both senses of rotation) with the unblurred bar
   template of the nominal layout `CTP528_LAYOUT`. The best offset is the rotation; when a
   roll is known (from the CTP404 geometry rods of the same scan) only ± 10° around it is
   searched. The normalised correlation is the module score.
2. *Per group.* A profile along the tangent at the group centre (radially averaged over
   ± 1.5 mm, cubic-spline interpolation, quarter-pixel steps). The amplitude ``a`` of the
   fundamental at f = k lp/cm is taken over an integer number of periods between bar centres
   (window slid over ± `search_mm` to absorb layout/rotation errors; the largest amplitude is
   kept). For an ideal square wave of contrast C blurred by a system of MTF T(f) the
   fundamental has amplitude (2/π)·C·T(f), hence **T(f) = π·a / (2·C)**. C is the bar −
   gap contrast on the plateaus of the 1 lp/cm group (5 mm bars, fully resolved for any
   clinical kernel).
3. The square-wave (peak-to-valley) modulation M(f) = (mean crest − mean trough)/C is also
   reported; for an infinite pattern M(f) = (4/π)·Σ_{n odd} χ(n)·T(nf)/n (χ(n) = +1 for
   n ≡ 1, −1 for n ≡ 3 mod 4), i.e. ≈ (4/π)·T(f) once T(3f) is small (Coltman 1954).
4. mtf50 and mtf10 are the first crossings of 0.5 and 0.1 by T(f), linear interpolation
   between groups, in lp/cm.

The nominal layout (group angles) follows pylinac's CTP528 boundaries for groups 1–8 and
spreads groups 9–21 evenly over the rest of the circle; it has **not** been checked against a
real CTP528 image (none was available), which is why every group position is refined locally.

References
----------
.. [1] The Phantom Laboratory, Catphan 500/600 Manual, CTP528 21 line pair high resolution
   module.
.. [2] J. W. Coltman, "The specification of imaging properties by response to a sine wave
   input", J. Opt. Soc. Am. 44 (1954) 468-471.
.. [3] IEC 61223-3-5:2019, spatial resolution (line-pair patterns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import pairwise

import numpy as np
from scipy import ndimage

from imgqa.analysis.roi import point_rc, require_2d
from imgqa.errors import PhantomNotFoundError

__all__ = [
    "CTP528_LAYOUT",
    "CTP528_RADIUS_MM",
    "Ctp528Group",
    "Ctp528Result",
    "analyse_ctp528",
    "ctp528_layout",
]

CTP528_RADIUS_MM = 47.0
_N_BARS = (2, 3, 4, 4, 4) + (5,) * 16          # groups 1..21
# Group centres as a fraction of the circle from the start angle (pylinac's CTP528 boundaries
# for groups 1-8; 9-21 spread evenly up to 0.95 of the circle; approximate, see module doc).
_PYLINAC_BOUNDS = (0, 0.107, 0.173, 0.236, 0.286, 0.335, 0.387, 0.434, 0.479)
_FRACTIONS = tuple((a + b) / 2 for a, b in pairwise(_PYLINAC_BOUNDS)) + \
    tuple(0.479 + (i + 0.5) * (0.95 - 0.479) / 13 for i in range(13))
_START_DEG = 180.0
# θ convention of imgqa.analysis.catphan: 0 = 3 o'clock, +90 = 6 o'clock (clockwise on screen).
CTP528_LAYOUT: tuple[tuple[int, int, float], ...] = tuple(
    (k + 1, _N_BARS[k], _START_DEG - 360.0 * _FRACTIONS[k]) for k in range(21))
_BAND_MM = 1.5            # radial half-width of the profiles
_MIN_CONTRAST_HU = 200.0  # bars (aluminium) vs epoxy: ~ +1000 HU or more in practice
_MIN_SCORE = 0.35


def ctp528_layout() -> list[dict[str, float]]:
    """The nominal layout: group (lp/cm), number of bars, bar width (mm), angle (°)."""
    return [{"lp_per_cm": k, "n_bars": n, "bar_width_mm": 5.0 / k, "angle_deg": a}
            for k, n, a in CTP528_LAYOUT]


@dataclass(frozen=True, slots=True)
class Ctp528Group:
    """One line-pair group: MTF from its fundamental and its square-wave modulation."""

    lp_per_cm: int
    mtf: float
    modulation: float
    centre_rc: tuple[float, float]
    corners_rc: tuple[tuple[float, float], ...]
    profile: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Ctp528Result:
    """CTP528 analysis of one slice.

    Attributes
    ----------
    groups : tuple of Ctp528Group
        Groups 1..21 lp/cm.
    contrast_hu : float
        Bar − gap contrast of the 1 lp/cm group (normalisation).
    rotation_deg : float
        Angle offset of the layout found (clockwise on screen).
    mirrored : bool
        The groups run in the opposite sense to the nominal layout (phantom scanned reversed).
    score : float
        Normalised correlation with the bar template (module detection).
    mtf50_lp_per_cm, mtf10_lp_per_cm : float or None
        First crossing of 0.5 / 0.1 by the MTF (None when not reached).
    """

    groups: tuple[Ctp528Group, ...]
    contrast_hu: float
    centre_rc: tuple[float, float]
    rotation_deg: float
    mirrored: bool
    score: float
    mtf50_lp_per_cm: float | None
    mtf10_lp_per_cm: float | None

    @property
    def frequencies_lp_per_cm(self) -> np.ndarray:
        return np.array([g.lp_per_cm for g in self.groups], dtype=float)

    @property
    def mtf(self) -> np.ndarray:
        return np.array([g.mtf for g in self.groups])


def _crossing(f: np.ndarray, m: np.ndarray, level: float) -> float | None:
    """First frequency where m falls to `level` (linear interpolation, (0, 1) prepended)."""
    ff = np.concatenate([[0.0], f])
    mm = np.concatenate([[1.0], m])
    below = np.nonzero(mm <= level)[0]
    if below.size == 0:
        return None
    j = int(below[0])
    return float(ff[j - 1] + (mm[j - 1] - level) / (mm[j - 1] - mm[j]) * (ff[j] - ff[j - 1]))


def _template(phi_deg: np.ndarray, radius_mm: float, sense: float) -> np.ndarray:
    """Unblurred bar pattern along the circle (1 on bars) for rotation 0."""
    t = np.zeros_like(phi_deg)
    for k, n, a in CTP528_LAYOUT:
        w = 5.0 / k
        s = np.deg2rad(((phi_deg - sense * (a - _START_DEG) - _START_DEG) + 180.0) % 360.0
                       - 180.0) * radius_mm                      # arc length from the centre
        for j in range(n):
            t[np.abs(s - (j - (n - 1) / 2.0) * 2.0 * w) <= w / 2.0] = 1.0
    return t


def _sample(coeffs: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    return ndimage.map_coordinates(coeffs, [rows, cols], order=3, prefilter=False,
                                   mode="nearest")


def _find_rotation(coeffs, centre_rc, pixel_mm, roll_deg, radius_mm):
    """Circular cross-correlation of the ring profile with the bar template."""
    n = 2 ** math.ceil(math.log2(2 * np.pi * radius_mm / (pixel_mm / 2)))
    phi = np.arange(n) * 360.0 / n
    t = np.deg2rad(phi)
    offs = np.arange(-_BAND_MM, _BAND_MM + 1e-9, pixel_mm / 2) / pixel_mm
    rr = centre_rc[0] + (radius_mm / pixel_mm + offs[:, None]) * np.sin(t)[None]
    cc = centre_rc[1] + (radius_mm / pixel_mm + offs[:, None]) * np.cos(t)[None]
    ring = _sample(coeffs, rr, cc).mean(axis=0)
    ring = ring - ring.mean()
    best = (-np.inf, 0.0, 1.0)
    for sense in (1.0, -1.0):
        tpl = _template(phi, radius_mm, sense)
        tpl = tpl - tpl.mean()
        # corr[j] = Σ ring[i + j]·tpl[i]: the pattern sits rotated by +phi[j]
        corr = np.fft.irfft(np.fft.rfft(ring) * np.conj(np.fft.rfft(tpl)), n)
        corr /= np.linalg.norm(ring) * np.linalg.norm(tpl) + 1e-12
        if roll_deg is not None:
            d = (phi - roll_deg + 180.0) % 360.0 - 180.0
            corr = np.where(np.abs(d) <= 10.0, corr, -np.inf)
        j = int(np.argmax(corr))
        if corr[j] > best[0]:
            best = (float(corr[j]), float(((phi[j] + 180.0) % 360.0) - 180.0), sense)
    return best


def analyse_ctp528(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float], *,
                   roll_deg: float | None = None, search_mm: float = 2.0,
                   radius_mm: float = CTP528_RADIUS_MM) -> Ctp528Result:
    """Line-pair MTF of the Catphan CTP528 module (see the module docstring for the method).

    Parameters
    ----------
    image : (M, N) ndarray
        CTP528 slice in HU.
    pixel_mm : float
        Pixel size in mm.
    centre_rc : (row, col)
        Phantom centre in pixels.
    roll_deg : float, optional
        Phantom roll from CTP404 (clockwise on screen); limits the rotation search to ± 10°.
    search_mm : float
        Each group's window is slid over ± this distance along the tangent.

    Raises
    ------
    PhantomNotFoundError
        No bar pattern on the 47 mm circle: the slice is not CTP528.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    coeffs = ndimage.spline_filter(img, order=3)
    score, rot, sense = _find_rotation(coeffs, centre_rc, pixel_mm, roll_deg, radius_mm)
    if not score > _MIN_SCORE:
        raise PhantomNotFoundError(
            f"No CTP528 line-pair gauges found on the {radius_mm:g} mm circle (correlation "
            f"with the bar layout {score:.2f}).")
    step = pixel_mm / 4.0
    v = np.arange(-_BAND_MM, _BAND_MM + 1e-9, pixel_mm / 2.0)
    # (lp/cm, fundamental amplitude, peak-to-valley, centre, corners, profile, bar plateau)
    raw: list[tuple[int, float, float, tuple[float, float], tuple[tuple[float, float], ...],
                    np.ndarray, float]] = []
    for k, n, a in CTP528_LAYOUT:
        w = 5.0 / k
        ang = np.deg2rad(_START_DEG + sense * (a - _START_DEG) + rot)
        radial = np.array([np.sin(ang), np.cos(ang)])
        tangent = np.array([np.cos(ang), -np.sin(ang)])
        half = (2 * n - 1) * w / 2.0 + search_mm + w
        u = np.arange(-half, half + step / 2, step)
        c = np.asarray(centre_rc) + radial * radius_mm / pixel_mm
        pts = c[:, None, None] + (tangent[:, None, None] * u[None, :, None]
                                  + radial[:, None, None] * v[None, None, :]) / pixel_mm
        prof = _sample(coeffs, pts[0], pts[1]).mean(axis=1)
        f = k / 10.0                                            # cycles per mm
        periods = max(n - 2, 1) if n >= 4 else n - 1
        nwin = round(periods / f / step)
        carrier = np.exp(-2j * np.pi * f * u)
        box = np.ones(nwin)
        # The window holds an integer number of periods only to within one sample: remove the
        # window mean first, or the group's mean level (≈ C/2) leaks into the fundamental.
        sums = (np.convolve(prof * carrier, box, mode="valid")
                - np.convolve(prof, box, mode="valid") / nwin
                * np.convolve(carrier, box, mode="valid")) * 2.0 / nwin
        centres = u[:sums.size] + (nwin - 1) * step / 2.0
        # The group centre is the centroid of its bars' excess signal: the mean level of a bar
        # group does not depend on the blur, so this holds for resolved and unresolved groups
        # alike (the window must sit inside the pattern: a window across the pattern's end
        # would pick up the step's Fourier content).
        inside = np.abs(u) <= (2 * n - 1) * w / 2.0 + search_mm
        excess = np.clip(prof - np.percentile(prof[inside], 20), 0.0, None) * inside
        u_mid = float(np.sum(excess * u) / np.sum(excess)) if excess.sum() > 0 else 0.0
        i = int(np.argmin(np.abs(centres - u_mid)))
        amp, phase, u0 = float(np.abs(sums[i])), float(np.angle(sums[i])), float(centres[i])
        # crests where cos(2πfu + phase) = 1, within the window
        # (a quarter period of slack: the window positions are discrete)
        k0 = np.arange(np.ceil((u0 - periods / f / 2) * f + phase / (2 * np.pi) - 0.25),
                       np.floor((u0 + periods / f / 2) * f + phase / (2 * np.pi) + 0.25) + 1)
        crests = (k0 - phase / (2 * np.pi)) / f
        troughs = crests[:-1] + 0.5 / f
        pv = float(np.interp(crests, u, prof).mean() - np.interp(troughs, u, prof).mean()) \
            if troughs.size else float("nan")
        corners = tuple(point_rc(c + (tangent * p + radial * q) / pixel_mm)
                        for p, q in ((-half, -_BAND_MM), (half, -_BAND_MM), (half, _BAND_MM),
                                     (-half, _BAND_MM)))
        plateau = float("nan")  # measured on the 1 lp/cm group only
        if k == 1 and troughs.size:
            # bar and gap plateaus (central quarter of each: clear of the blurred edges)
            near = np.abs(u[None, :] - np.concatenate([crests, troughs])[:, None]) <= w / 8
            plateau = float(prof[near[:crests.size].any(axis=0)].mean()
                            - prof[near[crests.size:].any(axis=0)].mean())
        raw.append((k, amp, pv, (float(c[0] + tangent[0] * u0 / pixel_mm),
                                 float(c[1] + tangent[1] * u0 / pixel_mm)), corners, prof,
                    plateau))
    contrast = raw[0][6]
    if not np.isfinite(contrast) or contrast < _MIN_CONTRAST_HU:
        raise PhantomNotFoundError(
            "The 1 lp/cm bar group of CTP528 was not found (bar contrast "
            f"{contrast:.0f} HU): this slice is not the line-pair module.")
    groups = tuple(Ctp528Group(k, float(np.pi * amp / (2.0 * contrast)), pv / contrast,
                               pos, corners, prof)
                   for k, amp, pv, pos, corners, prof, _ in raw)
    freqs = np.array([g.lp_per_cm for g in groups], dtype=float)
    mtf = np.array([g.mtf for g in groups])
    return Ctp528Result(groups, float(contrast), point_rc(centre_rc),
                        float(rot), bool(sense < 0), float(score), _crossing(freqs, mtf, 0.5),
                        _crossing(freqs, mtf, 0.1))
