"""Cold-rod section of a Jaszczak-type phantom: contrast per rod sector.

The rod insert holds six 60° sectors of cold rods of one diameter each, running along the axis
(IAEA Human Health Series No. 6 §4.3.6). Because rods do not change along z, the rod slices are
averaged (less noise). The sector boundaries are where the annulus holding the rods is least
dark: the rotation of six equally spaced boundaries minimising the summed darkness of a 1°
angular profile. Each rod is a dark blob (below ``blob_level`` × the uniform level, 3 × 3
smoothed); its value is the mean of a disc of half its radius about its darkness-weighted
centre; a sector's contrast is the mean over its rods of (1 − rod/uniform) × 100. Sectors are
numbered by their rods' size (half the centre-to-centre pitch; 1 = largest). Rods too small to
be resolved form no blob, and a sector needs at least three rods (fewer blobs are noise): an
unresolved sector has no contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["RodSector", "rod_section", "rod_contrast"]


@dataclass(frozen=True, slots=True)
class RodSector:
    """One rod sector: number (1 = largest rods), angular range (degrees, counter-clockwise
    from +column), rods found, their median found diameter (mm), centres and mean contrast."""

    index: int
    angle_range_deg: tuple[float, float]
    n_rods: int
    diameter_mm: float  # half the median nearest-neighbour pitch of the rods
    centres_rc: tuple[tuple[float, float], ...]
    contrast_percent: float


def rod_section(cold_fraction: np.ndarray, means: np.ndarray, level: float,
                exclude: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The longest run of rod slices outside the ``exclude`` ranges.

    A rod slice has cold pixels (``cold_fraction``, see `spect_uniformity.uniform_section`) or,
    when the rods are too blurred for that, a disc mean lowered by the activity they displace
    (60–93 % of the uniform level; end slices fall lower still or are dropped by the caller).
    """
    n = cold_fraction.size
    ok = (means >= 0.6 * level) & ((cold_fraction >= 0.005) | (means <= 0.93 * level))
    for a, b in exclude:
        ok[max(a, 0):min(b + 1, n)] = False
    best = None
    start = None
    for k, flag in enumerate(np.append(ok, False)):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            if best is None or k - start > best[1] - best[0] + 1:
                best = (start, k - 1)
            start = None
    return best


def rod_contrast(image: np.ndarray, centre_rc: tuple[float, float], radius_px: float,
                 level: float, pixel_mm: float, *, blob_level: float = 0.8,
                 inner: float = 0.12, outer: float = 0.92, max_rod_fraction: float = 0.12,
                 min_rods: int = 3) -> tuple[RodSector, ...]:
    """Contrast per rod sector in the mean image of the rod slices (see the module docstring).

    Parameters
    ----------
    image : (rows, cols) array
        Mean of the rod-section slices.
    centre_rc, radius_px : phantom centre (pixels) and radius (pixels).
    level : float
        Mean value of the uniform section (the background the rods displace).
    """
    img = np.asarray(image, dtype=np.float64)
    rr, cc = np.indices(img.shape)
    dr, dc = rr - centre_rc[0], cc - centre_rc[1]
    dist = np.hypot(dr, dc)
    ang = np.degrees(np.arctan2(-dr, dc)) % 360.0  # counter-clockwise, rows point down
    ring = (dist >= inner * radius_px) & (dist <= outer * radius_px)
    dark = np.where(ring, np.clip(level - img, 0.0, None), 0.0)
    prof = np.bincount(np.minimum(ang.astype(int), 359)[ring], weights=dark[ring],
                       minlength=360)
    prof = prof + np.roll(prof, 1) + np.roll(prof, -1)
    cost = prof.reshape(6, 60).sum(axis=0)  # boundaries at o, o + 60, … for o in 0..59
    offset = int(np.argmin(cost))
    sm = ndimage.uniform_filter(img, 3)
    labels, n = ndimage.label((sm < blob_level * level) & ring)
    if n == 0:
        return ()
    idx = np.arange(1, n + 1)
    sizes = ndimage.sum_labels(np.ones_like(img), labels, idx)
    weights = np.clip(level - sm, 0.0, None)
    cents = ndimage.center_of_mass(weights, labels, idx)
    per_sector: dict[int, list[tuple[float, tuple[float, float], float]]] = {}
    for size, (r0, c0) in zip(sizes, cents):
        r_px = float(np.sqrt(size / np.pi))
        # Single noisy pixels are not rods, nor are merged blobs much larger than the largest
        # insert rod (12.7 mm in a 216 mm cylinder: 0.06 R; blurred, up to ~0.12 R).
        if size < 2 or r_px > max_rod_fraction * radius_px:
            continue
        a = np.degrees(np.arctan2(-(r0 - centre_rc[0]), c0 - centre_rc[1])) % 360.0
        sector = int(((a - offset) % 360.0) // 60.0)
        roi = (rr - r0) ** 2 + (cc - c0) ** 2 <= max(0.5 * r_px, 0.75) ** 2
        value = float(img[roi].mean())
        per_sector.setdefault(sector, []).append((r_px, (float(r0), float(c0)), value))
    found = []
    for sector, rods in per_sector.items():
        if len(rods) < min_rods:  # a resolved sector shows its pattern; 1–2 blobs are noise
            continue
        # Rod diameter: half the centre-to-centre pitch (Jaszczak inserts space rods at twice
        # their diameter), which unlike the blob size does not depend on the contrast; the blob
        # size when a sector has one rod.
        pts = np.array([c for _, c, _ in rods])
        if len(rods) >= 2:
            gap = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
            gap[np.arange(len(rods)), np.arange(len(rods))] = np.inf
            d = 0.5 * float(np.median(gap.min(axis=1))) * pixel_mm
        else:
            d = 2.0 * rods[0][0] * pixel_mm
        contrast = float(np.mean([100.0 * (1.0 - v / level) for _, _, v in rods]))
        lo = (offset + 60.0 * sector) % 360.0
        found.append((d, (lo, lo + 60.0), len(rods), tuple(c for _, c, _ in rods), contrast))
    found.sort(key=lambda t: -t[0])
    return tuple(RodSector(i + 1, rng, nrod, d, cs, c)
                 for i, (d, rng, nrod, cs, c) in enumerate(found))
