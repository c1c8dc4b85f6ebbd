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
   (σ 6 mm) with the nominal disk positions excluded.
3. Each spoke size d has its matched filter: the mean over a disk of diameter 0.8·d, with a
   local maximum over ±1 mm for positioning errors. The pattern's phase (spoke 1's angle) is
   found by correlating the angular template of all 120 disks (the phantom's rotation from
   localisation plus the 9° per slice) within ±18° of the drawing's position.
4. Each disk's response is turned into a z-score against the *empirical null*: the same
   statistic at every background position of that slice (away from all disks). This accounts
   for correlated noise, filtering by the scanner and residual structure (ringing). A disk is
   seen when z ≥ ``z_threshold``.
5. Reliability checks: the same count on decoy spokes (the pattern turned by 18°, between the
   real spokes) must stay near zero; the total must not move by more than 4 spokes when the
   threshold moves by ±0.5 SD; slice 11 (5.1 %) must show ≥ 8 spokes. Otherwise the result is
   flagged ``reliable=False`` and the caller reports no number.

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
from scipy.signal import fftconvolve

__all__ = ["DISK_RADII_MM", "SPOKE_DIAMETERS_MM", "LowContrastResult", "RingFit", "fit_ring",
           "low_contrast_spokes"]

SPOKE_DIAMETERS_MM = (7.0, 6.39, 5.78, 5.17, 4.56, 3.94, 3.33, 2.72, 2.11, 1.5)
DISK_RADII_MM = (12.75, 25.5, 38.25)      # from the low-contrast disk centre (ACR drawing)
RING_RADIUS_MM = 44.6                     # inner radius of the dark ring (measured, 3 vendors)
SPOKE_STEP_DEG = 36.0
SLICE_STEP_DEG = 9.0                      # the pattern turns 9° clockwise per slice
FIRST_SPOKE_DEG = -90.0                   # spoke 1 at 12 o'clock on slice 8
_KERNEL_FRACTION = 0.8                    # matched-filter diameter / disk diameter
_SEARCH_MM = 0.01
_BG_SIGMA_MM = 6.0


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
    inside = np.where(idx < (kmin - 12)[:, None], prof, np.nan)
    with np.errstate(all="ignore"):
        level = np.nanmedian(inside, axis=1)
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


def _disk_kernel(diameter_mm: float, spacing_mm: tuple[float, float]) -> np.ndarray:
    """Area-weighted disk (4× supersampled), normalised to sum 1."""
    sr, sc = spacing_mm
    r = diameter_mm / 2.0
    h = int(np.ceil(r / min(sr, sc))) + 1
    sub = (np.arange(4) + 0.5) / 4.0 - 0.5
    yy = (np.arange(-h, h + 1)[:, None] + sub[None, :]).ravel() * sr
    xx = (np.arange(-h, h + 1)[:, None] + sub[None, :]).ravel() * sc
    inside = (yy[:, None] ** 2 + xx[None, :] ** 2) <= r * r
    k = inside.reshape(2 * h + 1, 4, 2 * h + 1, 4).mean(axis=(1, 3))
    return k / k.sum()


def _positions(ring: RingFit, phase_deg: float, spacing_mm: tuple[float, float]
               ) -> np.ndarray:
    """(10, 3, 2) disk centres (row, col) for spoke 1 at `phase_deg` on this slice."""
    sr, sc = spacing_mm
    scale = ring.radius_mm / RING_RADIUS_MM
    t = np.radians(phase_deg + SPOKE_STEP_DEG * np.arange(10))[:, None]
    rad = np.asarray(DISK_RADII_MM)[None, :] * scale
    return np.stack([ring.centre_rc[0] + np.sin(t) * rad / sr,
                     ring.centre_rc[1] + np.cos(t) * rad / sc], axis=-1)


def low_contrast_spokes(images: list[np.ndarray], centre_rc: tuple[float, float],
                        spacing_mm: tuple[float, float], *, rotation_deg: float = 0.0,
                        z_threshold: float = 3.5, max_decoy: int = 1,
                        max_spread: int = 4, min_slice11: int = 8) -> LowContrastResult:
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

    Raises
    ------
    ValueError
        The ring was not found or the region is cut by the image border.
    """
    if len(images) != 4:
        raise ValueError("low-contrast detectability needs slices 8, 9, 10 and 11")
    sr, sc = spacing_mm
    rings = tuple(fit_ring(im, centre_rc, spacing_mm) for im in images)
    n_s = len(images)
    h = int(np.ceil((max(r.radius_mm for r in rings) + 4.0) / min(sr, sc)))
    s_px = (max(1, round(_SEARCH_MM / sr)), max(1, round(_SEARCH_MM / sc)))
    foot = np.zeros((2 * s_px[0] + 1, 2 * s_px[1] + 1), bool)
    fy, fx = np.indices(foot.shape)
    foot[((fy - s_px[0]) * sr) ** 2 + ((fx - s_px[1]) * sc) ** 2 <= _SEARCH_MM ** 2 + 1e-9] = True
    kernels = [_disk_kernel(_KERNEL_FRACTION * d, spacing_mm) for d in SPOKE_DIAMETERS_MM]
    nominal = FIRST_SPOKE_DEG + rotation_deg

    crops, origins, regions = [], [], []
    for im, ring in zip(images, rings):
        r0, c0 = round(ring.centre_rc[0]) - h, round(ring.centre_rc[1]) - h
        if r0 < 0 or c0 < 0 or r0 + 2 * h + 1 > im.shape[0] or c0 + 2 * h + 1 > im.shape[1]:
            raise ValueError("the low-contrast region is cut by the image border")
        crops.append(np.asarray(im, np.float64)[r0:r0 + 2 * h + 1, c0:c0 + 2 * h + 1])
        origins.append((r0, c0))
        yy = (np.arange(2 * h + 1)[:, None] + r0 - ring.centre_rc[0]) * sr
        xx = (np.arange(2 * h + 1)[None, :] + c0 - ring.centre_rc[1]) * sc
        regions.append((yy, xx))

    cache: dict = {}

    def disk_mask(k: int, phase: float, margin: float) -> np.ndarray:
        """Pixels within (disk radius + margin) of any nominal disk of slice k."""
        key = (k, round(phase, 3), margin)
        if key not in cache:
            cache[key] = _disk_mask(k, phase, margin)
        return cache[key]

    def _disk_mask(k: int, phase: float, margin: float) -> np.ndarray:
        yy, xx = regions[k]
        pos = _positions(rings[k], phase + SLICE_STEP_DEG * k, spacing_mm)
        pos_mm = (pos - np.asarray(rings[k].centre_rc)) * np.array([sr, sc])
        m = np.zeros(np.broadcast_shapes(yy.shape, xx.shape), bool)
        for s_, d in enumerate(SPOKE_DIAMETERS_MM):
            for j in range(3):
                m |= np.hypot(yy - pos_mm[s_, j, 0], xx - pos_mm[s_, j, 1]) <= d / 2 + margin
        return m

    def filtered(phase: float | None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Local-max matched-filter maps (S, 10, H, W) and the usable region per slice."""
        out = np.empty((n_s, 10, 2 * h + 1, 2 * h + 1))
        inner = []
        for k, crop in enumerate(crops):
            yy, xx = regions[k]
            rad = np.hypot(yy, xx)
            region = rad <= rings[k].radius_mm - 1.5
            w = region & ~disk_mask(k, phase, 1.5) if phase is not None else region
            sig = _BG_SIGMA_MM / np.array([sr, sc])
            den = ndimage.gaussian_filter(w.astype(np.float64), sig)
            bg = ndimage.gaussian_filter(crop * w, sig) / np.maximum(den, 1e-6)
            resid = np.where(region, crop - bg, 0.0)
            # Concentric structure (Gibbs ringing from the dark ring, radial shading) is not
            # removed by the smoothing: subtract the angular mean at each radius (disks
            # excluded).
            rbin = np.minimum((rad / 1.0).astype(int), int(rings[k].radius_mm / 1.0) + 2)
            lab = np.where(w, rbin + 1, 0)
            prof = np.zeros(rbin.max() + 1)
            idx = np.arange(1, rbin.max() + 2)
            tot = ndimage.sum(resid, labels=lab, index=idx)
            cnt = ndimage.sum(np.ones_like(resid), labels=lab, index=idx)
            # 3 mm running mean: a noisy profile would shift all disks at one radius together
            prof[:] = ndimage.uniform_filter1d(tot, 3) / np.maximum(
                ndimage.uniform_filter1d(cnt, 3), 1e-9)
            resid = np.where(region, resid - prof[rbin], 0.0)
            for s_, kern in enumerate(kernels):
                f = fftconvolve(resid, kern, mode="same")
                out[k, s_] = ndimage.maximum_filter(f, footprint=foot)
            inner.append(rad <= rings[k].radius_mm - 4.5)
        return out, inner

    def sample(maps: np.ndarray, k: int, s_: int, pos: np.ndarray) -> np.ndarray:
        o = np.asarray(origins[k], float)
        p = pos - o
        return ndimage.map_coordinates(maps[k, s_], [p[..., 0], p[..., 1]], order=1)

    def zscores(maps: np.ndarray, inner: list[np.ndarray], phase: float
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Disk and decoy z-scores (S, 10, 3) against the empirical null."""
        z = np.empty((n_s, 10, 3))
        zd = np.empty((n_s, 10, 3))
        pos_all = np.empty((n_s, 10, 3, 2))
        for k in range(n_s):
            ph = phase + SLICE_STEP_DEG * k
            pos = _positions(rings[k], ph, spacing_mm)
            dec = _positions(rings[k], ph + SPOKE_STEP_DEG / 2, spacing_mm)
            pos_all[k] = pos
            yy, xx = regions[k]
            rad = np.hypot(yy, xx)
            free = inner[k] & ~disk_mask(k, phase, 2.5)
            scale = rings[k].radius_mm / RING_RADIUS_MM
            for j, rj in enumerate(DISK_RADII_MM):
                # the null of disk j: background at the same distance from the centre (±4 mm)
                band = free & (np.abs(rad - rj * scale) <= 4.0)
                for s_ in range(10):
                    v = maps[k, s_][band]
                    mu = float(np.median(v))
                    sd = max(float(1.4826 * np.median(np.abs(v - mu))), 1e-12)
                    z[k, s_, j] = (sample(maps, k, s_, pos[s_, j:j + 1])[0] - mu) / sd
                    zd[k, s_, j] = (sample(maps, k, s_, dec[s_, j:j + 1])[0] - mu) / sd
        return z, zd, pos_all

    # Pass 1: phase from a background that does not know the disks; pass 2: refine with the
    # disks masked out of the background estimate. The template score is the sum of the
    # (clipped) normalised responses at the 120 disk positions.
    phase = nominal
    cands = nominal + np.arange(-18.0, 18.01, 1.0)
    for it in range(2):
        maps, inner = filtered(phase if it else None)
        norm = np.empty_like(maps)
        for k in range(n_s):
            v = maps[k][:, inner[k]]
            mu = np.median(v, axis=1)
            sd = np.maximum(1.4826 * np.median(np.abs(v - mu[:, None]), axis=1), 1e-12)
            norm[k] = (maps[k] - mu[:, None, None]) / sd[:, None, None]
        scores = [sum(np.clip(sample(norm, k, s_, _positions(
            rings[k], cand + SLICE_STEP_DEG * k, spacing_mm)[s_]), -3.0, 8.0).sum()
            for k in range(n_s) for s_ in range(10)) for cand in cands]
        phase = float(cands[int(np.argmax(scores))])
    maps, inner = filtered(phase)
    z, zd, pos_all = zscores(maps, inner, phase)

    def count(zz: np.ndarray, t: float = z_threshold) -> tuple[int, ...]:
        seen = (zz >= t).all(axis=2)
        return tuple(int(np.argmin(np.append(row, False))) for row in seen)

    per_slice = count(z)
    decoy = count(zd)
    # Sensitivity of the count to the threshold: disks whose z lies near it decide by chance.
    lo_hi = (sum(count(z, z_threshold + 0.5)), sum(count(z, z_threshold - 0.5)))
    reasons = []
    if lo_hi[1] - lo_hi[0] > max_spread:
        reasons.append(f"the count depends on the detection threshold (from {lo_hi[0]} to "
                       f"{lo_hi[1]} spokes for a threshold ±0.5 SD), too many disks are at "
                       "the edge of visibility for an automatic count")
    if max(decoy) > max_decoy:
        reasons.append(f"decoy spokes between the real ones were scored ({list(decoy)}), so "
                       "the background is too structured for a statistical count")
    if per_slice[-1] < min_slice11:
        # On slice 11 (5.1 % contrast) a working scanner shows (nearly) all 10 spokes; a low
        # count there means a failing scanner or a failed search: either way a human must look.
        reasons.append(f"only {per_slice[-1]} spoke(s) were found on slice 11 (5.1 % "
                       "contrast), where nearly all 10 should be visible")
    if max(r.residual_mm for r in rings) > 1.5:
        reasons.append("the low-contrast ring is not circular")
    return LowContrastResult(int(sum(per_slice)), per_slice, float(phase % 360.0), rings,
                             pos_all, z, decoy, lo_hi, z_threshold, not reasons, "; ".join(reasons))

