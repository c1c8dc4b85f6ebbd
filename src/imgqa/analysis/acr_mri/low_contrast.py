"""ACR low-contrast object detectability: spoke counting on slices 8–11.

Each of slices 8–11 holds, inside a dark ring (inner radius ≈ 44.5 mm), 10 spokes of 3 disks
(contrast 1.4, 2.5, 3.6 and 5.1 % on slices 8, 9, 10, 11). The spokes are 36° apart; the disk
diameter falls from 7.0 mm (spoke 1) to 1.5 mm (spoke 10), clockwise; the disks sit at
12.75, 25.5 and 38.25 mm from the centre of the low-contrast disk, and the whole pattern turns
9° clockwise from one slice to the next (spoke 1 at 12 o'clock on slice 8). A spoke counts when
all three of its disks are seen; counting on a slice stops at the first incomplete spoke. The
score is the total over the four slices [1]_.

Automation (a statistical observer, in the spirit of [2]_):

1. The low-contrast disk is located on each slice by fitting a circle to the inner edge of the
   dark ring (radial profiles from the phantom centre); the disk radii scale with the ring.
2. The slowly varying background (coil shading) is removed by masked Gaussian smoothing
   (σ 3.5 mm) with the nominal disk positions excluded. 3.5 mm, not wider: with the disks
   masked out the background may follow shading closely, and at 3 T (dielectric shading) a
   6 mm background left residuals of disk scale that hid the outer disks (Philips 3 T slice 8:
   0 spokes counted, about 9 seen).
3. Each spoke size d has its matched filter: the mean over a disk of diameter 0.8·d, read
   (bilinear) at the disk's nominal centre — no local-maximum search, so disks and null are the
   same statistic. The pattern's phase (spoke 1's angle) is found by correlating the angular
   template of all 120 disks (the phantom's rotation from localisation plus the 9° per slice)
   within ±18° (1° steps) of the drawing's position: twice, first with a background that
   ignores the disks, then with the disks masked out of it.
4. Each disk's response is turned into a z-score against the *empirical null*: the same
   statistic at the background positions of that slice at the disk's radius (±4 mm, away from
   all disks; median and MAD). This accounts
   for correlated noise, filtering by the scanner and residual structure (ringing). A disk is
   seen when z ≥ ``z_threshold``.
5. The count (issue 16, `lc_count.py`): on each slice and disk radius a line z ≈ a + b·d is
   fitted to the 10 disks (the expected matched-filter z grows with the diameter d; weighted
   least squares with a 10 % relative model error besides the unit noise variance); each spoke
   is seen complete with probability p = Π Φ(ẑ − t) over its 3 disks, and the count is the
   number of leading spokes with p ≥ 0.5, stopping also at a spoke of which no disk is seen.
   Until issue 16 the count stopped at the first spoke with one disk below t, so that one
   near-threshold disk in mid-series removed every spoke after it (the literal count is still
   given as ``per_slice_strict``).
6. Reliability checks: the same count on decoy spokes (the pattern turned by 18°, between the
   real spokes) must stay near zero; the total must not move by more than 4 spokes when the
   threshold moves by ±0.5 SD; slice 11 (5.1 %) must show ≥ 3 spokes (its largest disks are
   seen on any working scanner: fewer means a failed search); no slice may count more than 1
   spoke fewer than a slice of lower contrast (contrast rises from 8 to 11, so such a fall is a
   local failure: partial volume, artefact). Otherwise the result is flagged
   ``reliable=False`` and the caller reports no number. (Until issue 16 the slice-11 gate asked
   for ≥ 8 spokes; that refused exactly the low-SNR scanners where the count matters, e.g. an
   Ingenia series whose slice 11 shows 6–8 spokes to a careful reader.)

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 7 (low-contrast object detectability).
.. [2] Golestani A.M., Gee J.M., "A statistical approach to automated analysis of the
   low-contrast object detectability test for the large ACR MRI phantom", J Appl Clin Med
   Phys 2025, doi:10.1002/acm2.70173.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.acr_mri.lc_count import count_complete, count_strict, p_complete
from imgqa.analysis.acr_mri.lc_filters import (
    Maps,
    bilinear,
    gaussian_pair,
    matched_filter,
    robust_stats,
)

__all__ = ["DISK_RADII_MM", "SPOKE_DIAMETERS_MM", "LowContrastResult", "RingFit", "fit_ring",
           "low_contrast_spokes"]

SPOKE_DIAMETERS_MM = (7.0, 6.39, 5.78, 5.17, 4.56, 3.94, 3.33, 2.72, 2.11, 1.5)
DISK_RADII_MM = (12.75, 25.5, 38.25)      # from the low-contrast disk centre (ACR drawing)
RING_RADIUS_MM = 44.6                     # inner radius of the dark ring (measured, 3 vendors)
SPOKE_STEP_DEG = 36.0
SLICE_STEP_DEG = 9.0                      # the pattern turns 9° clockwise per slice
FIRST_SPOKE_DEG = -90.0                   # spoke 1 at 12 o'clock on slice 8
_KERNEL_FRACTION = 0.8                    # matched-filter diameter / disk diameter
_BG_SIGMA_MM = 3.5
_DIAMETERS = np.asarray(SPOKE_DIAMETERS_MM)


@dataclass(frozen=True, slots=True)
class RingFit:
    """The low-contrast disk of one slice: centre (row, col) in pixels and ring radius."""

    centre_rc: tuple[float, float]
    radius_mm: float
    residual_mm: float


@dataclass(frozen=True, slots=True)
class LowContrastResult:
    """Spoke counts of slices 8–11.

    Attributes
    ----------
    total_spokes : int
    per_slice : tuple of int
        Complete spokes on slices 8, 9, 10, 11.
    phase_deg : float
        Angle of spoke 1 on slice 8 (image frame, clockwise from 3 o'clock).
    rings : tuple of RingFit
    disks_rc : (4, 10, 3, 2) ndarray
        Disk centres (row, col), pixels, image frame.
    z : (4, 10, 3) ndarray
        Disk z-scores against the empirical null.
    decoy_per_slice : tuple of int
        The same count on decoy spokes between the real ones (should be 0).
    total_range : (int, int)
        Total for the threshold raised / lowered by 0.5 SD.
    reliable : bool
    reason : str
        Why the count is not reliable (empty when it is).
    p_complete : (4, 10) ndarray
        Probability that each spoke is seen complete, from the fitted visibility (`lc_count`).
    per_slice_strict : tuple of int
        The ACR rule applied literally to the z-scores (stop at the first spoke with a disk
        below the threshold): the count before issue 16, for review.
    """

    total_spokes: int
    per_slice: tuple[int, ...]
    phase_deg: float
    rings: tuple[RingFit, ...]
    disks_rc: np.ndarray
    z: np.ndarray
    decoy_per_slice: tuple[int, ...]
    total_range: tuple[int, int]
    z_threshold: float
    reliable: bool
    reason: str
    p_complete: np.ndarray
    per_slice_strict: tuple[int, ...]


def fit_ring(image: np.ndarray, centre_rc: tuple[float, float], spacing_mm: tuple[float, float]
             ) -> RingFit:
    """Fit a circle to the inner edge of the low-contrast ring (radial half-level crossings).

    Raises
    ------
    ValueError
        No ring of 35–55 mm radius was found.
    """
    img = np.asarray(image, dtype=np.float64)
    sr, sc = spacing_mm
    th = np.radians(np.arange(0.0, 360.0, 3.0))
    radii = np.arange(25.0, 60.0, 0.25)
    rr = centre_rc[0] + np.sin(th)[:, None] * radii[None, :] / sr
    cc = centre_rc[1] + np.cos(th)[:, None] * radii[None, :] / sc
    prof = ndimage.uniform_filter1d(ndimage.map_coordinates(img, [rr, cc], order=1), 5, axis=1)
    kmin = np.argmin(prof, axis=1)
    idx = np.arange(radii.size)[None, :]
    # median signal inside the ring per profile (as np.nanmedian of the inner samples; a sort
    # is 8× faster than nanmedian on these short rows)
    n_in = np.clip(kmin - 12, 0, radii.size)
    srt = np.sort(np.where(idx < n_in[:, None], prof, np.inf), axis=1)
    rows = np.arange(th.size)
    level = np.where(n_in > 0, 0.5 * (srt[rows, np.maximum((n_in - 1) // 2, 0)]
                                      + srt[rows, n_in // 2]), np.nan)
    half = 0.5 * (level + prof[np.arange(th.size), kmin])
    above = (prof >= half[:, None]) & (idx < kmin[:, None])
    # last radius above half level before the ring's minimum
    last = np.where(above.any(axis=1), radii.size - 1 - np.argmax(above[:, ::-1], axis=1), -1)
    ok = (last >= 0) & np.isfinite(level) & (kmin > 12)
    if ok.sum() < 30:
        raise ValueError("the dark ring around the low-contrast disks was not found")
    e = radii[last[ok]]
    x, y = np.cos(th[ok]) * e, np.sin(th[ok]) * e
    x0 = y0 = 0.0
    radius = float(np.median(e))
    resid = np.zeros_like(x)
    for _ in range(3):           # least-squares circle (Kåsa), then drop outlying edges
        a = np.c_[2 * x, 2 * y, np.ones(x.size)]
        sol = np.linalg.lstsq(a, x ** 2 + y ** 2, rcond=None)[0]
        x0, y0 = sol[0], sol[1]
        radius = float(np.sqrt(sol[2] + x0 ** 2 + y0 ** 2))
        resid = np.hypot(x - x0, y - y0) - radius
        keep = np.abs(resid) <= max(3.0 * np.median(np.abs(resid)), 0.5)
        if keep.sum() < 20:
            break
        x, y = x[keep], y[keep]
    if not 35.0 <= radius <= 55.0:
        raise ValueError(f"the low-contrast ring has an unexpected radius ({radius:.1f} mm)")
    return RingFit((centre_rc[0] + y0 / sr, centre_rc[1] + x0 / sc), radius,
                   float(np.median(np.abs(resid))))


def _pattern(centres_rc: np.ndarray, scales: np.ndarray, phase_deg: np.ndarray,
             spacing_mm: tuple[float, float]) -> np.ndarray:
    """Disk centres (row, col), pixels, for spoke 1 at `phase_deg`.

    centres_rc (S, 2) and scales (S,) per slice; phase_deg (..., S) → (..., S, 10, 3, 2).
    """
    sr, sc = spacing_mm
    t = np.radians(np.asarray(phase_deg, float)[..., None] + SPOKE_STEP_DEG * np.arange(10))
    t = t[..., None]                                             # (..., S, 10, 1)
    rad = np.asarray(DISK_RADII_MM)[None, :] * scales[:, None, None]   # (S, 1, 3)
    return np.stack([centres_rc[:, 0, None, None] + np.sin(t) * rad / sr,
                     centres_rc[:, 1, None, None] + np.cos(t) * rad / sc], axis=-1)


def _disk_masks(yy: np.ndarray, xx: np.ndarray, pos_mm: np.ndarray, margin_mm: float,
                spacing_mm: tuple[float, float]) -> np.ndarray:
    """Pixels within (disk radius + margin) of any of the 30 disks, on each of S slices.

    yy (S, H), xx (S, W): pixel offsets (mm) from each slice's ring centre; pos_mm
    (S, 10, 3, 2): disk centres (mm) from the same centre. Each disk is tested in a window
    around it only. → (S, H, W) bool.
    """
    sr, sc = spacing_mm
    n_s, hh, ww = yy.shape[0], yy.shape[1], xx.shape[1]
    rmax = (np.asarray(SPOKE_DIAMETERS_MM) / 2 + margin_mm)[:, None]      # (10, 1)
    py, px = pos_mm[..., 0], pos_mm[..., 1]                                # (S, 10, 3)
    half = int(np.ceil(float(rmax.max()) / min(sr, sc))) + 2
    off = np.arange(-half, half + 1)
    ci = np.rint((py - yy[:, :1, None]) / sr).astype(np.intp)
    cj = np.rint((px - xx[:, :1, None]) / sc).astype(np.intp)
    ii = np.clip(ci[..., None] + off, 0, hh - 1)                           # (S, 10, 3, w)
    jj = np.clip(cj[..., None] + off, 0, ww - 1)                           # (S, 10, 3, w)
    ks = np.arange(n_s)[:, None, None, None]
    dy = yy[ks, ii] - py[..., None]
    dx = xx[ks, jj] - px[..., None]
    inside = np.hypot(dy[..., :, None], dx[..., None, :]) <= rmax[..., None, None]
    flat = (ks[..., None] * hh + ii[..., :, None]) * ww + jj[..., None, :]   # (S, 10, 3, w, w)
    m = np.zeros(n_s * hh * ww, bool)
    m[flat[inside]] = True
    return m.reshape(n_s, hh, ww)


@dataclass(slots=True)
class _Stack:
    """Crops of the low-contrast region of the 4 slices, with their geometry (mm from each
    slice's ring centre) and masks."""

    crops: np.ndarray            # (S, H, W)
    origins: np.ndarray          # (S, 2) crop origin (row, col) in the image
    centres: np.ndarray          # (S, 2) ring centre (row, col), image pixels
    scales: np.ndarray           # (S,) ring radius / nominal
    rads: np.ndarray             # (S, H, W) distance from the ring centre, mm
    region: np.ndarray           # (S, H, W) inside the ring (1.5 mm margin)
    inner: np.ndarray            # (S, H, W) inside the ring (4.5 mm margin): null statistics
    rbins: np.ndarray            # (S, H, W) 1 mm radius bins (beyond the ring: one bin)
    grid_y: np.ndarray           # (S, H) row offsets, mm
    grid_x: np.ndarray           # (S, W) column offsets, mm
    spacing: tuple[float, float]
    masks: dict

    def positions(self, phase: float | np.ndarray) -> np.ndarray:
        """Disk centres (..., S, 10, 3, 2), image pixels, for spoke 1 of slice 8 at `phase`."""
        turn = SLICE_STEP_DEG * np.arange(self.crops.shape[0])
        return _pattern(self.centres, self.scales, np.asarray(phase, float)[..., None] + turn,
                        self.spacing)

    def crop_rc(self, pos: np.ndarray) -> np.ndarray:
        return pos - self.origins[:, None, None, :]

    def disk_masks(self, phase: float, margin: float) -> np.ndarray:
        """Pixels within (disk radius + margin) of any nominal disk, (S, H, W) (cached)."""
        key = (round(phase, 3), margin)
        if key not in self.masks:
            pos_mm = (self.positions(phase) - self.centres[:, None, None, :]) * np.array(
                self.spacing)
            self.masks[key] = _disk_masks(self.grid_y, self.grid_x, pos_mm, margin,
                                          self.spacing)
        return self.masks[key]


def _stack(images: list[np.ndarray], rings: tuple[RingFit, ...],
           spacing: tuple[float, float]) -> _Stack:
    """Square crops around each slice's ring centre (raises ValueError when cut by the border)."""
    sr, sc = spacing
    n_s = len(images)
    h = int(np.ceil((max(r.radius_mm for r in rings) + 4.0) / min(sr, sc)))
    n = 2 * h + 1
    crops = np.empty((n_s, n, n))
    origins = np.empty((n_s, 2))
    centres = np.array([r.centre_rc for r in rings], float)
    for k, (im, ring) in enumerate(zip(images, rings)):
        r0, c0 = round(ring.centre_rc[0]) - h, round(ring.centre_rc[1]) - h
        if r0 < 0 or c0 < 0 or r0 + n > im.shape[0] or c0 + n > im.shape[1]:
            raise ValueError("the low-contrast region is cut by the image border")
        crops[k] = np.asarray(im, np.float64)[r0:r0 + n, c0:c0 + n]
        origins[k] = (r0, c0)
    grid_y = (np.arange(n)[None, :] + origins[:, :1] - centres[:, :1]) * sr      # (S, H)
    grid_x = (np.arange(n)[None, :] + origins[:, 1:] - centres[:, 1:]) * sc      # (S, W)
    rads = np.hypot(grid_y[:, :, None], grid_x[:, None, :])
    ring_r = np.array([r.radius_mm for r in rings])[:, None, None]
    rbins = np.minimum(rads.astype(int), (ring_r + 2.0).astype(int))
    return _Stack(crops, origins, centres, ring_r[:, 0, 0] / RING_RADIUS_MM, rads,
                  rads <= ring_r - 1.5, rads <= ring_r - 4.5, rbins, grid_y, grid_x, spacing,
                  {})


def _filtered(st: _Stack, phase: float | None) -> Maps:
    """Matched-filter maps of the background-corrected crops, with the disks of the pattern at
    `phase` (None: no disks) left out of the background.

    The maps live in a work array: only the latest call's maps are valid.
    """
    sr, sc = st.spacing
    w = st.region if phase is None else st.region & ~st.disk_masks(phase, 1.5)
    # masked (normalised) Gaussian smoothing, weights and weighted image in one FFT pass
    den, num = gaussian_pair(w.astype(np.float64), st.crops * w,
                              (_BG_SIGMA_MM / sr, _BG_SIGMA_MM / sc))
    bg = num / np.maximum(den, 1e-6)
    resid = np.where(st.region, st.crops - bg, 0.0)
    for k in range(resid.shape[0]):
        # Concentric structure (Gibbs ringing from the dark ring, radial shading) is not
        # removed by the smoothing: subtract the angular mean at each radius (disks excluded).
        rbin = st.rbins[k]
        lab = np.where(w[k], rbin + 1, 0).ravel()
        nb = rbin.max() + 2
        tot = np.bincount(lab, weights=resid[k].ravel(), minlength=nb)[1:nb]
        cnt = np.bincount(lab, minlength=nb)[1:nb].astype(np.float64)
        # 3 mm running mean: a noisy profile would shift all disks at one radius together
        prof = ndimage.uniform_filter1d(tot, 3) / np.maximum(
            ndimage.uniform_filter1d(cnt, 3), 1e-9)
        resid[k] = np.where(st.region[k], resid[k] - prof[rbin], 0.0)
    return matched_filter(resid, st.spacing,
                          tuple(_KERNEL_FRACTION * d for d in SPOKE_DIAMETERS_MM))


def _find_phase(st: _Stack, nominal: float) -> tuple[float, Maps]:
    """Spoke 1's angle on slice 8 within ±18° (1° steps) of `nominal`, and the maps with the
    disks at that phase masked out of the background.

    Pass 1: phase from a background that does not know the disks; pass 2: refine with the
    disks masked out of the background estimate. The template score is the sum of the
    (clipped) normalised responses at the 120 disk positions, all candidates sampled at once.
    """
    n_s = st.crops.shape[0]
    phase = nominal
    cands = nominal + np.arange(-18.0, 18.01, 1.0)
    cand_rc = st.crop_rc(st.positions(cands))                 # (C, S, 10, 3, 2)
    maps_phase: float | None = None
    maps = None
    for it in range(2):
        maps_phase = phase if it else None
        maps = _filtered(st, maps_phase)
        stats = [robust_stats(maps.take(k, st.inner[k])) for k in range(n_s)]
        mu = np.array([s[0] for s in stats])[:, :, None]            # (S, 10, 1)
        sd = np.array([s[1] for s in stats])[:, :, None]
        # normalising the samples equals sampling the normalised maps (interpolation is linear)
        scores = np.clip((bilinear(maps, cand_rc) - mu) / sd, -3.0, 8.0).sum(axis=(1, 2, 3))
        phase = float(cands[int(np.argmax(scores))])
    if maps is None or maps_phase is None or round(phase, 3) != round(maps_phase, 3):
        maps = _filtered(st, phase)
    return phase, maps


def _disk_z(st: _Stack, maps: Maps, phase: float) -> tuple[np.ndarray, np.ndarray]:
    """z-scores (S, 10, 3) of the disks and of decoys (pattern turned half a spoke) against the
    empirical null: the same statistic at background positions at the same radius (±4 mm)."""
    n_s = st.crops.shape[0]
    samples = bilinear(maps, st.crop_rc(np.stack([st.positions(phase),
                                                   st.positions(phase + SPOKE_STEP_DEG / 2)])))
    mu = np.empty((n_s, 10, 3))
    sd = np.empty((n_s, 10, 3))
    away = ~st.disk_masks(phase, 2.5)
    for k in range(n_s):
        free = st.inner[k] & away[k]
        for j, rj in enumerate(DISK_RADII_MM):
            mu[k, :, j], sd[k, :, j] = robust_stats(
                maps.take(k, free & (np.abs(st.rads[k] - rj * st.scales[k]) <= 4.0)))
    z, zd = (samples - mu) / sd
    return z, zd


def _count(zz: np.ndarray, t: float) -> tuple[int, ...]:
    """Complete spokes per slice from the fitted visibility of the disks (`lc_count`)."""
    return count_complete(zz, _DIAMETERS, t)


def _unreliable_reasons(per_slice: tuple[int, ...], decoy: tuple[int, ...],
                        lo_hi: tuple[int, int], rings: tuple[RingFit, ...], *, max_decoy: int,
                        max_spread: int, min_slice11: int, max_drop: int) -> list[str]:
    """Why an automatic count should not be reported (empty: reliable)."""
    reasons = []
    if lo_hi[1] - lo_hi[0] > max_spread:
        # disks whose z lies near the threshold decide by chance
        reasons.append(f"the count depends on the detection threshold (from {lo_hi[0]} to "
                       f"{lo_hi[1]} spokes for a threshold ±0.5 SD), too many disks are at "
                       "the edge of visibility for an automatic count")
    if max(decoy) > max_decoy:
        reasons.append(f"decoy spokes between the real ones were scored ({list(decoy)}), so "
                       "the background is too structured for a statistical count")
    if per_slice[-1] < min_slice11:
        # the three largest 5.1 % disks are seen on any working scanner: fewer means a failed
        # search or a broken scanner, either way a human must look
        reasons.append(f"only {per_slice[-1]} spoke(s) were found on slice 11 (5.1 % "
                       "contrast), where at least the largest should be visible")
    # contrast rises from slice 8 to 11: a slice that counts clearly fewer spokes than a
    # lower-contrast one shows a local failure (partial volume, artefact) on that slice
    drop = max(max(per_slice[:k]) - per_slice[k] for k in range(1, len(per_slice)))
    if drop > max_drop:
        reasons.append(f"the counts per slice ({list(per_slice)}) fall by {drop} spokes on a "
                       "slice of higher contrast")
    if max(r.residual_mm for r in rings) > 1.5:
        reasons.append("the low-contrast ring is not circular")
    return reasons


def low_contrast_spokes(images: list[np.ndarray], centre_rc: tuple[float, float],
                        spacing_mm: tuple[float, float], *, rotation_deg: float = 0.0,
                        z_threshold: float = 3.5, max_decoy: int = 1,
                        max_spread: int = 4, min_slice11: int = 3,
                        max_drop: int = 1) -> LowContrastResult:
    """Count complete spokes on ACR slices 8–11 (image frame; no resampling).

    Parameters
    ----------
    images : list of 4 (M, N) ndarray
        Slices 8, 9, 10, 11.
    centre_rc : (row, col)
        Phantom centre (pixels); the low-contrast disk is fitted around it.
    spacing_mm : (row, col)
    rotation_deg : float
        In-plane rotation of the phantom from localisation (clockwise as displayed).
    z_threshold : float
        Detection threshold, in SDs of the empirical null of each slice and disk size.
    max_decoy : int
        Largest decoy count on any slice for the result to be called reliable.
    max_spread : int
        Largest change of the total when the threshold moves by ±0.5 SD for the result to be
        called reliable.
    min_slice11 : int
        Fewest spokes on slice 11 for the result to be called reliable.
    max_drop : int
        Largest fall of the count from a slice to any slice of higher contrast.

    Raises
    ------
    ValueError
        The ring was not found or the region is cut by the image border.

    Notes
    -----
    Everything after the ring fit works on crops of the low-contrast region stacked over the
    four slices: one FFT pass gives all 40 matched-filter maps, and the phase search samples
    all candidate angles at once (bilinear), so the cost does not grow with the number of
    candidates.
    """
    if len(images) != 4:
        raise ValueError("low-contrast detectability needs slices 8, 9, 10 and 11")
    spacing = (float(spacing_mm[0]), float(spacing_mm[1]))
    rings = tuple(fit_ring(im, centre_rc, spacing) for im in images)
    st = _stack(images, rings, spacing)
    phase, maps = _find_phase(st, FIRST_SPOKE_DEG + rotation_deg)
    z, zd = _disk_z(st, maps, phase)
    per_slice = _count(z, z_threshold)
    decoy = _count(zd, z_threshold)
    lo_hi = (sum(_count(z, z_threshold + 0.5)), sum(_count(z, z_threshold - 0.5)))
    reasons = _unreliable_reasons(per_slice, decoy, lo_hi, rings, max_decoy=max_decoy,
                                  max_spread=max_spread, min_slice11=min_slice11,
                                  max_drop=max_drop)
    return LowContrastResult(int(sum(per_slice)), per_slice, float(phase % 360.0), rings,
                             st.positions(phase), z, decoy, lo_hi, z_threshold, not reasons,
                             "; ".join(reasons), p_complete(z, _DIAMETERS, z_threshold),
                             count_strict(z, z_threshold))
