"""Catphan CTP591 bead-ramp module: slice sensitivity profile (SSP) FWHM from bead ramps.

Layout (Catphan 600/604 manual, CTP591 bead geometry module; confirmed on a Siemens
Biograph128 series, see docs/ct.md): tungsten-carbide beads are set in straight ramps, one
bead every 2 mm in the image plane, each bead a fixed z step further than the previous one:

* two *fine* ramps of 0.18 mm beads, **0.25 mm** z steps, on the lines x = ±25 mm from the
  centre, running along y (left/right of the centre);
* four *coarse* ramps of 0.28 mm beads, **1 mm** z steps, on the lines x = ±45 mm (along y)
  and y = ±45 mm (along x).

Going clockwise around the centre, every ramp steps towards −z. Angles follow `imgqa.analysis.catphan`:
θ = 0 towards +column, θ = 90° towards +row, a point is (row0 + d·sin θ, col0 + d·cos θ) and a
positive roll turns the phantom clockwise on screen.

Method
------
* *Detection and roll.* Bright compact spots (Gaussian-smoothed image minus a 3 mm Gaussian
  background, ≥ `_SPOT_HU` and ≥ 6 robust noise SD) within 70 mm of the centre are matched to
  the six ramp lines for every roll in (−90°, 90°] (0.25° steps, refined to 0.02°): a spot is
  on a line when it lies within 1 mm of it. The module is recognised when at least one fine
  ramp holds ≥ 2 spots whose spacing is a multiple of the 2 mm bead pitch and the lines hold
  ≥ 4 spots in all. The fine ramps at ±25 mm break the 90° symmetry of the coarse ramps; the
  remaining 180° ambiguity only swaps the ramp names.
* *Bead signal.* Around each ramp line a band (± 3 mm across, ± 40 mm / ± 28 mm along) is cut
  in pixel coordinates (u along, v across). The bead line is located across the band (centroid
  of the positive excess) and every pixel within ± 1.2 mm of it is assigned to the bead window
  k = round((u − u₀)/2 mm), u₀ the centroid of the strongest bead. The bead signal is
  A_k = Σ (pixel − background_k)·pixel area, the background of window k being the mean of the
  pixels 1.8–3 mm either side of the line in the same window (follows cupping). A bead's
  integrated in-plane signal is proportional to the slice sensitivity at its z, so A_k
  against z_k = k·Δz (Δz = 0.25 or 1 mm) samples the SSP, independent of the in-plane
  resolution (IEC 61223-3-5 / AAPM TG-233 method of a thin object inclined to the slice).
* *FWHM.* A Gaussian a·exp(−(z − z₀)²/2σ²) (no offset: the background is already
  subtracted) is least-squares fitted to the beads within
  ± 4 FWHM (first estimate) of the peak; FWHM = 2√(2 ln 2)·σ. The value is reported only when
  the profile is resolved: ≥ 3 beads above 10 % of the peak, the profile falling below 10 %
  on both sides inside the band, FWHM ≥ 1.2 Δz, peak ≥ 10 robust noise SD of the bead-free
  windows (a bead counts when ≥ 10 % of the peak and ≥ 3 noise SD). Otherwise the ramp
  gives None with the reason (e.g. a 0.6 mm slice on the 1 mm
  coarse ramps shows only one or two beads). Beads whose pixels reach the scanner's clipping
  level (≥ 3 pixels at exactly the image maximum, ≥ 2000 HU) are flagged: their signal is
  cut, which widens the apparent SSP.

The bead diameter adds its own z-extent (variance r²/5 for a sphere of radius r), widening a
0.6 mm FWHM by < 1.5 % (0.18 mm beads) or < 4 % (0.28 mm); no correction is applied.

References
----------
.. [1] The Phantom Laboratory, Catphan 600 / 604 Manual, CTP591 bead geometry module.
.. [2] IEC 61223-3-5:2019, Evaluation and routine testing in medical imaging departments –
   Part 3-5: Acceptance and constancy tests – Imaging performance of computed tomography
   X-ray equipment (slice sensitivity profile from an inclined thin object).
.. [3] AAPM Report 233 (2019), Performance evaluation of CT systems, §3 (z-axis resolution).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from imgqa.analysis.roi import point_rc, require_2d
from imgqa.errors import PhantomNotFoundError

__all__ = [
    "CTP591_RAMPS",
    "BEAD_PITCH_MM",
    "BeadRamp",
    "Ctp591Result",
    "analyse_ctp591",
    "find_ctp591",
]

BEAD_PITCH_MM = 2.0      # in-plane distance between neighbouring beads of a ramp
FINE_Z_STEP_MM = 0.25
COARSE_Z_STEP_MM = 1.0
# name: (normal angle °, distance of the line from the centre mm, z step mm, half length mm).
# Along every ramp, going clockwise around the centre on screen, the beads step towards −z
# (as found on the real series: the bead pattern moves clockwise as the table position
# decreases), so each ramp gives the slice position, and differences between slices give the
# table increment.
CTP591_RAMPS: dict[str, tuple[float, float, float, float]] = {
    "fine_left": (180.0, 25.0, FINE_Z_STEP_MM, 40.0),
    "fine_right": (0.0, 25.0, FINE_Z_STEP_MM, 40.0),
    "coarse_top": (-90.0, 45.0, COARSE_Z_STEP_MM, 28.0),
    "coarse_bottom": (90.0, 45.0, COARSE_Z_STEP_MM, 28.0),
    "coarse_left": (180.0, 45.0, COARSE_Z_STEP_MM, 28.0),
    "coarse_right": (0.0, 45.0, COARSE_Z_STEP_MM, 28.0),
}
_FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
_SPOT_HU = 250.0          # bead spots: at least this far above the local background
_SPOT_NOISE_K = 6.0
_SPOT_RADIUS_MM = 70.0
_ON_LINE_MM = 1.0
_BAND_HALF_WIDTH_MM = 3.0
_CORE_HALF_WIDTH_MM = 1.0   # bead window: ±1 mm across and along (bead PSF ≲ 0.4 mm SD)
_BG_INNER_MM = 1.8
_MIN_PEAK_Z = 5.0
_RESOLVED_LEVEL = 0.10   # a bead counts when ≥ 10 % of the peak and ≥ 3 noise SD
_MIN_FWHM_STEPS = 1.2
_CLIP_MIN_HU = 2000.0


@dataclass(frozen=True, slots=True)
class BeadRamp:
    """One bead ramp of a slice.

    Attributes
    ----------
    name : str
        ``fine_left``, ``fine_right``, ``coarse_top``, ``coarse_bottom``, ``coarse_left`` or
        ``coarse_right``.
    z_step_mm : float
        Nominal z distance between neighbouring beads (0.25 or 1 mm).
    fwhm_mm : float or None
        FWHM of the slice sensitivity profile, None when the ramp could not give it.
    reason : str
        Why `fwhm_mm` is None ("" when measured).
    z_mm, signal : ndarray
        Bead z positions (relative to the strongest bead) and integrated bead signals
        (HU·mm²): the sampled SSP.
    fit : (offset, amplitude, centre_mm, sigma_mm) or None
        Gaussian fitted to (z_mm, signal).
    slice_position_mm : float
        z of the SSP centre along the ramp (relative to the bead at the middle of the band):
        differences between slices equal the table increment. NaN when not measured.
    pitch_mm : float
        In-plane bead pitch measured from the bead centroids (nominal 2 mm; NaN if < 3 beads).
    saturated : bool
        Some bead pixels sit at the scanner's clipping level.
    corners_rc : 4 × (row, col)
        The analysed band, for drawing.
    bead_rc : tuple of (row, col)
        Centres of the bead windows used.
    """

    name: str
    z_step_mm: float
    fwhm_mm: float | None
    reason: str
    z_mm: np.ndarray = field(repr=False, compare=False)
    signal: np.ndarray = field(repr=False, compare=False)
    fit: tuple[float, float, float, float] | None
    slice_position_mm: float
    pitch_mm: float
    saturated: bool
    corners_rc: tuple[tuple[float, float], ...]
    bead_rc: tuple[tuple[float, float], ...] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Ctp591Result:
    """CTP591 analysis of one slice.

    Attributes
    ----------
    centre_rc : (row, col)
    roll_deg : float
        Phantom rotation from the bead ramps (clockwise on screen).
    ramps : tuple of BeadRamp
    spots_on_ramps : int
        Bright spots matched to the ramp lines during detection.
    """

    centre_rc: tuple[float, float]
    roll_deg: float
    ramps: tuple[BeadRamp, ...]
    spots_on_ramps: int

    @property
    def slice_thickness_mm(self) -> float | None:
        """Mean SSP FWHM over the measured, unsaturated ramps (None if there is none)."""
        vals = [r.fwhm_mm for r in self.ramps if r.fwhm_mm is not None and not r.saturated]
        return float(np.mean(vals)) if vals else None


def _robust_sd(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if x.size else 0.0


def _bead_spots(img: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float]
                ) -> np.ndarray:
    """(x, y) in mm from the centre of compact bright spots (beads), y towards +row."""
    sm = ndimage.gaussian_filter(img, max(0.25 / pixel_mm, 0.5))
    excess = sm - ndimage.gaussian_filter(img, 3.0 / pixel_mm)
    rr, cc = np.indices(img.shape)
    inside = np.hypot(rr - centre_rc[0], cc - centre_rc[1]) * pixel_mm < _SPOT_RADIUS_MM
    if not inside.any():
        return np.zeros((0, 2))
    level = max(_SPOT_HU, _SPOT_NOISE_K * _robust_sd(excess[inside]))
    size = max(3, int(round(1.2 / pixel_mm)) | 1)
    peaks = (excess == ndimage.maximum_filter(excess, size)) & (excess > level) & inside
    r, c = np.nonzero(peaks)
    # sub-pixel centres: excess-weighted centroid of the 3 × 3 neighbourhood
    pad = np.pad(np.clip(excess, 0.0, None), 1)
    dr, dc = np.mgrid[-1:2, -1:2]
    w = pad[r[:, None, None] + 1 + dr, c[:, None, None] + 1 + dc]
    tot = w.sum(axis=(1, 2))
    rs = r + (w * dr).sum(axis=(1, 2)) / tot
    cs = c + (w * dc).sum(axis=(1, 2)) / tot
    return np.column_stack(((cs - centre_rc[1]) * pixel_mm, (rs - centre_rc[0]) * pixel_mm))


def _line_frames(roll_deg: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per ramp: unit normal and unit direction (x, y) for every roll (arrays of shape (n, 2))."""
    out = {}
    for name, (ang, _, _, _) in CTP591_RAMPS.items():
        t = np.deg2rad(ang + roll_deg)
        normal = np.stack([np.cos(t), np.sin(t)], axis=-1)
        direction = np.stack([-np.sin(t), np.cos(t)], axis=-1)
        out[name] = (normal, direction)
    return out


def _match(spots: np.ndarray, rolls: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Spots on each ramp line for every roll: score (n_rolls,) and masks (n_rolls, n_spots)."""
    frames = _line_frames(rolls)
    masks = {}
    score = np.zeros(rolls.size)
    for name, (_, dist, step, half) in CTP591_RAMPS.items():
        normal, direction = frames[name]
        v = normal @ spots.T - dist                          # (n_rolls, n_spots)
        u = direction @ spots.T
        m = (np.abs(v) < _ON_LINE_MM) & (np.abs(u) <= half)
        masks[name] = m
        score += m.sum(axis=1) * (2.0 if step < 0.5 else 1.0)
    return score, masks


def find_ctp591(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float]
                ) -> tuple[float, int]:
    """Recognise the CTP591 bead ramps and measure the roll.

    Returns
    -------
    roll_deg : float
    spots_on_ramps : int

    Raises
    ------
    PhantomNotFoundError
        The bead ramps are not there: the slice is not CTP591.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    spots = _bead_spots(img, pixel_mm, centre_rc)
    if len(spots) < 4:
        raise PhantomNotFoundError(
            "No CTP591 bead ramps: fewer than four bright beads inside the module.")
    rolls = np.arange(-89.75, 90.01, 0.25)
    score, _ = _match(spots, rolls)
    best = rolls[score == score.max()]
    # ties form a plateau: refine around its middle on a finer grid, scored by line distance
    start = float(np.median(best))
    fine = start + np.arange(-1.0, 1.0001, 0.02)
    fscore, masks = _match(spots, fine)
    frames = _line_frames(fine)
    resid = np.zeros(fine.size)
    for name, (_, dist, _, _) in CTP591_RAMPS.items():
        v = frames[name][0] @ spots.T - dist
        resid += np.where(masks[name], v ** 2, 0.0).sum(axis=1)
    ok = fscore == fscore.max()
    j = int(np.argmin(np.where(ok, resid, np.inf)))
    roll = float(fine[j])
    on = {name: m[j] for name, m in masks.items()}
    n_on = int(sum(m.sum() for m in on.values()))
    fine_ok = False
    for name in ("fine_left", "fine_right"):
        if on[name].sum() >= 2:
            u = np.sort(_line_frames(np.array([roll]))[name][1][0] @ spots[on[name]].T)
            gaps = np.diff(u) / BEAD_PITCH_MM
            fine_ok |= bool(np.all(np.abs(gaps - np.round(gaps)) < 0.25) and np.all(gaps > 0.5))
    if not fine_ok or n_on < 4:
        raise PhantomNotFoundError(
            "No CTP591 bead ramps: the bright spots do not lie on the ramp lines (±25 mm fine "
            "ramps, ±45 mm coarse ramps, beads 2 mm apart).")
    return roll, n_on


def _gauss0(z, a, z0, s):
    return a * np.exp(-0.5 * ((z - z0) / s) ** 2)


def _ramp(img: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float], roll: float,
          name: str, clip_level: float | None) -> BeadRamp:
    ang, dist, z_step, half = CTP591_RAMPS[name]
    t = np.deg2rad(ang + roll)
    normal = np.array([np.sin(t), np.cos(t)])             # (row, col)
    along = np.array([np.cos(t), -np.sin(t)])             # clockwise tangent
    base = np.asarray(centre_rc) + normal * dist / pixel_mm
    reach = np.hypot(half, _BAND_HALF_WIDTH_MM) / pixel_mm + 2
    r0, r1 = int(max(base[0] - reach, 0)), int(min(base[0] + reach + 1, img.shape[0]))
    c0, c1 = int(max(base[1] - reach, 0)), int(min(base[1] + reach + 1, img.shape[1]))
    rr, cc = np.mgrid[r0:r1, c0:c1]
    u = ((rr - base[0]) * along[0] + (cc - base[1]) * along[1]) * pixel_mm
    v = ((rr - base[0]) * normal[0] + (cc - base[1]) * normal[1]) * pixel_mm
    band = (np.abs(u) <= half) & (np.abs(v) <= _BAND_HALF_WIDTH_MM)
    corners = tuple(point_rc(base + (along * a + normal * b) / pixel_mm)
                    for a, b in ((-half, -_BAND_HALF_WIDTH_MM), (half, -_BAND_HALF_WIDTH_MM),
                                 (half, _BAND_HALF_WIDTH_MM), (-half, _BAND_HALF_WIDTH_MM)))
    pix = img[r0:r1, c0:c1]
    uu, vv, val = u[band], v[band], pix[band]

    def empty(reason: str) -> BeadRamp:
        return BeadRamp(name, z_step, None, reason, np.zeros(0), np.zeros(0), None,
                        float("nan"), float("nan"), False, corners, ())

    if val.size < 50:
        return empty("ramp outside the image")
    excess = np.clip(val - np.median(val), 0.0, None)
    # the bead line across the band: histogram of the excess over v, then its local centroid
    vb = np.round(vv / (pixel_mm / 2.0)).astype(int)
    vb -= vb.min()
    prof = np.bincount(vb, excess)
    kv = int(np.argmax(ndimage.uniform_filter1d(prof, 3)))
    v_peak = float(np.mean(vv[vb == kv])) if np.any(vb == kv) else 0.0
    near = np.abs(vv - v_peak) <= 1.0
    v0 = float(np.sum(vv[near] * excess[near]) / max(np.sum(excess[near]), 1e-9))
    core = np.abs(vv - v0) <= _CORE_HALF_WIDTH_MM
    side = (np.abs(vv - v0) >= _BG_INNER_MM) & (np.abs(vv - v0) <= _BAND_HALF_WIDTH_MM)
    # bead phase along u: the beads repeat every 2 mm, so the phase of the excess at 1/2 mm
    # (all beads together) places the windows; u0 = the bead nearest the strongest region
    ph = np.angle(np.sum(excess[core] * np.exp(2j * np.pi * uu[core] / BEAD_PITCH_MM)))
    u_phase = ph / (2.0 * np.pi) * BEAD_PITCH_MM
    ub = np.floor((uu - uu.min()) / (pixel_mm / 2.0)).astype(int)
    uprof = np.bincount(ub[core], excess[core], minlength=ub.max() + 1)
    win = max(1, int(round(BEAD_PITCH_MM / (pixel_mm / 2.0))))
    ku = int(np.argmax(ndimage.uniform_filter1d(uprof, win)))
    u_guess = uu.min() + (ku + 0.5) * pixel_mm / 2.0
    u0 = float(u_phase + BEAD_PITCH_MM * np.round((u_guess - u_phase) / BEAD_PITCH_MM))
    # bead windows and their signals (vectorised over all pixels of the band)
    k = np.round((uu - u0) / BEAD_PITCH_MM).astype(int)
    kmin, kmax = int(k.min()), int(k.max())
    ki = k - kmin
    nb = kmax - kmin + 1
    # only the central ±1 mm of each 2 mm window along u: less noise, the bead is all there
    core &= np.abs(uu - u0 - k * BEAD_PITCH_MM) <= _CORE_HALF_WIDTH_MM
    n_side = np.bincount(ki[side], minlength=nb)
    bg = np.bincount(ki[side], val[side], minlength=nb) / np.maximum(n_side, 1)
    n_core = np.bincount(ki[core], minlength=nb)
    signal = (np.bincount(ki[core], val[core], minlength=nb) - n_core * bg) * pixel_mm ** 2
    cu = np.bincount(ki[core], uu[core] * excess[core], minlength=nb)
    cw = np.bincount(ki[core], excess[core], minlength=nb)
    # whole windows only (the band ends cut the first/last)
    k_all = np.arange(kmin, kmax + 1)
    full = (np.abs(u0 + k_all * BEAD_PITCH_MM) + _CORE_HALF_WIDTH_MM <= half) & (n_core > 0)
    idx = np.nonzero(full)[0]
    kk = idx + kmin
    signal = signal[idx]
    z = -kk * z_step          # z of each bead relative to the strongest one (see CTP591_RAMPS)
    bead_u = np.where(cw[idx] > 0, cu[idx] / np.maximum(cw[idx], 1e-9), kk * BEAD_PITCH_MM + u0)
    bead_rc = tuple((float(base[0] + (along[0] * uk + normal[0] * v0) / pixel_mm),
                     float(base[1] + (along[1] * uk + normal[1] * v0) / pixel_mm))
                    for uk in kk * BEAD_PITCH_MM + u0)
    saturated = False
    if clip_level is not None:
        saturated = bool(np.any(val[core & (np.abs(uu - u0) <= 3 * BEAD_PITCH_MM)]
                                >= clip_level))

    def result(fwhm, reason, fit=None, pitch=float("nan")) -> BeadRamp:
        pos = float(fit[2] - u0 / BEAD_PITCH_MM * z_step) if fit is not None else float("nan")
        return BeadRamp(name, z_step, fwhm, reason, z, signal, fit, pos, pitch, saturated,
                        corners, bead_rc)

    if signal.size < 5:
        return result(None, "too few bead windows inside the image")
    j = int(np.argmax(signal))
    peak = float(signal[j])
    far = np.abs(z - z[j]) > max(3.0, 6 * z_step)   # no SSP signal this far from the peak
    noise = _robust_sd(signal[far]) if far.sum() >= 4 else _robust_sd(signal)
    base_level = float(np.median(signal[far])) if far.sum() >= 4 else 0.0
    if noise > 0 and (peak - base_level) < _MIN_PEAK_Z * noise:
        return result(None, f"no beads found on the ramp (peak {peak:.0f} HU·mm² is "
                            f"{(peak - base_level) / noise:.1f} noise SD)")
    rel = (signal - base_level) / (peak - base_level)
    strong = np.nonzero(rel >= 0.2)[0]
    pitch = float("nan")
    if strong.size >= 3:
        pitch = float(np.polyfit(kk[strong], bead_u[strong], 1)[0])
    counts = (rel >= _RESOLVED_LEVEL) & (signal - base_level >= 3.0 * noise)
    above = np.nonzero(counts)[0]
    # contiguous run of beads above the level around the peak
    lo, hi = j, j
    while lo - 1 >= 0 and counts[lo - 1]:
        lo -= 1
    while hi + 1 < rel.size and counts[hi + 1]:
        hi += 1
    if lo == 0 or hi == rel.size - 1:
        return result(None, "the bead profile runs to the end of the ramp band (slice at "
                            "the end of the ramp, or much thicker than the ramp covers)",
                      pitch=pitch)
    if hi - lo + 1 < 3 or above.size < 3:
        return result(None, f"only {hi - lo + 1} bead(s) above {_RESOLVED_LEVEL:.0%} of the "
                            f"peak: the SSP is narrower than this ramp's {z_step:g} mm z "
                            "steps can resolve (use the fine ramps)", pitch=pitch)
    # first estimate from the second moment of the run, then a Gaussian fit
    w = np.clip(rel[lo:hi + 1], 0, None)
    zc = float(np.sum(z[lo:hi + 1] * w) / np.sum(w))
    s0 = float(np.sqrt(max(np.sum(w * (z[lo:hi + 1] - zc) ** 2) / np.sum(w), z_step ** 2 / 4)))
    use = np.abs(z - zc) <= max(4.0 * _FWHM_PER_SIGMA * s0, 4 * z_step)
    # scipy.optimize costs ~80 ms to import (a third of all kernel imports): only when fitting
    from scipy.optimize import curve_fit

    try:  # no offset: the background is subtracted per bead window
        p, _ = curve_fit(_gauss0, z[use], signal[use], p0=(peak, zc, s0),
                         bounds=([0.0, z[use].min(), z_step / 10.0],
                                 [np.inf, z[use].max(), 20.0]), maxfev=4000)
    except (RuntimeError, ValueError):
        return result(None, "the Gaussian fit to the bead profile did not converge",
                      pitch=pitch)
    fit = (0.0, float(p[0]), float(p[1]), float(p[2]))
    p = fit
    fwhm = float(_FWHM_PER_SIGMA * p[3])
    if fwhm < _MIN_FWHM_STEPS * z_step:
        return result(None, f"the SSP (≈ {fwhm:.2f} mm) is narrower than "
                            f"{_MIN_FWHM_STEPS:g} × this ramp's {z_step:g} mm z step: not "
                            "resolved (use the fine ramps)", fit=fit, pitch=pitch)
    return result(fwhm, "", fit=fit, pitch=pitch)


def _clip_level(img: np.ndarray) -> float | None:
    """The scanner's clipping value if several pixels sit exactly at the image maximum."""
    top = float(img.max())
    if top >= _CLIP_MIN_HU and np.count_nonzero(img >= top) >= 3:
        return top
    return None


def analyse_ctp591(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float], *,
                   roll_deg: float | None = None) -> Ctp591Result:
    """Slice sensitivity profile FWHM from the six CTP591 bead ramps of one axial slice.

    Parameters
    ----------
    image : (M, N) ndarray
        CTP591 slice in HU.
    pixel_mm : float
    centre_rc : (row, col)
        Phantom centre (e.g. `find_phantom`).
    roll_deg : float, optional
        Use this roll instead of measuring it (detection still runs).

    Returns
    -------
    Ctp591Result
        Per ramp FWHM (None with the reason where the ramp cannot resolve the SSP).

    Raises
    ------
    PhantomNotFoundError
        No bead ramps: the slice is not CTP591.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    roll, n_on = find_ctp591(img, pixel_mm, centre_rc)
    if roll_deg is not None:
        roll = float(roll_deg)
    clip = _clip_level(img)
    ramps = tuple(_ramp(img, pixel_mm, centre_rc, roll, name, clip) for name in CTP591_RAMPS)
    return Ctp591Result((float(centre_rc[0]), float(centre_rc[1])), roll, ramps, n_on)
