"""Localisation of the NEMA/IEC body phantom's spheres in 3-D (used by `pet_nema_iq`).

The three largest hot spheres are found as the largest connected hot regions on a ~4 mm grid;
the circle through their centres gives the ring (lung-insert axis) and a first sphere plane;
the 17 and 13 mm spheres are searched along its normal and the plane refitted through all
centres (least squares) before the 10 mm sphere is predicted from the phantom layout (six
spheres 60° apart on a 114.4 mm ring, NEMA NU 2-2018 §7.3). Voxel coordinates are
(slice, row, column); mm coordinates are (z, y, x) = voxel × (slice, pixel, pixel) spacing.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

SPHERE_DIAMETERS_MM = (10.0, 13.0, 17.0, 22.0, 28.0, 37.0)
RING_RADIUS_MM = 57.2        # NEMA NU 2-2018 §7.3: sphere centres on a 114.4 mm circle


def to_mm(vox: np.ndarray, px: float, dz: float) -> np.ndarray:
    return np.asarray(vox, float) * np.array([dz, px, px])


def to_vox(mm: np.ndarray, px: float, dz: float) -> np.ndarray:
    return np.asarray(mm, float) / np.array([dz, px, px])


def circumcentre(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre and radius of the circle through three points in 3-D."""
    ab, ac = b - a, c - a
    n = np.cross(ab, ac)
    nn = float(n @ n)
    if nn < 1e-9:
        raise ValueError("the three largest hot regions are in a line")
    centre = a + (np.cross(n, ab) * (ac @ ac) + np.cross(ac, n) * (ab @ ab)) / (2.0 * nn)
    return centre, float(np.linalg.norm(centre - a))


def box_around(centre: np.ndarray, half_mm: float, shape: tuple[int, ...], px: float, dz: float
         ) -> tuple[tuple[slice, ...], np.ndarray]:
    """Slices of a box around `centre` (voxels) and its origin (voxels)."""
    half = np.array([half_mm / dz, half_mm / px, half_mm / px])
    lo = np.maximum(np.floor(centre - half).astype(int), 0)
    hi = np.minimum(np.ceil(centre + half).astype(int) + 1, shape)
    return tuple(slice(a, b) for a, b in zip(lo, hi)), lo


def sparse_indices(shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    grid = np.indices(shape, sparse=True)
    return grid[0], grid[1], grid[2]


def dist2_mm(box_shape: tuple[int, ...], origin: np.ndarray, centre: np.ndarray, px: float,
              dz: float) -> np.ndarray:
    iz, iy, ix = sparse_indices(box_shape)
    return (((iz + origin[0] - centre[0]) * dz) ** 2 + ((iy + origin[1] - centre[1]) * px) ** 2
            + ((ix + origin[2] - centre[2]) * px) ** 2)


def refine_centre(vol: np.ndarray, centre: np.ndarray, radius: float, bg: float, px: float,
            dz: float, max_shift_mm: float) -> np.ndarray:
    """Centroid of the excess activity in a ball around `centre`, iterated (voxels)."""
    c0 = centre.copy()
    c = centre.copy()
    for _ in range(4):
        sl, lo = box_around(c, radius + 6.0, vol.shape, px, dz)
        sub = vol[sl]
        w = np.clip(sub - bg, 0.0, None) * (dist2_mm(sub.shape, lo, c, px, dz)
                                             <= (radius + 4.0) ** 2)
        s = float(w.sum())
        if s <= 0:
            return c0
        iz, iy, ix = sparse_indices(sub.shape)
        new = np.array([(w * iz).sum(), (w * iy).sum(), (w * ix).sum()]) / s + lo
        if np.linalg.norm(to_mm(new - c0, px, dz)) > max_shift_mm:
            return c0
        c = new
    return c


def block_means(vol: np.ndarray, f: int) -> np.ndarray:
    """In-plane means of ``f`` × ``f`` pixel blocks (rows and columns beyond a whole block are
    dropped).

    Parameters
    ----------
    vol : (n, rows, cols) float32 array
        The volume.
    f : int
        Block size in pixels.

    Returns
    -------
    (n, rows // f, cols // f) float32 array
    """
    nz, ny, nx = vol.shape
    cy, cx = ny - ny % f, nx - nx % f
    coarse = np.zeros((nz, cy // f, cx // f), np.float32)
    for i in range(f):
        for j in range(f):
            coarse += vol[:, i:cy:f, j:cx:f]
    coarse /= f * f
    return coarse


def background_level(coarse: np.ndarray) -> float:
    """First background estimate: the median of the voxels above 30 % of the 99th percentile.

    Raises
    ------
    ValueError
        The volume has no activity.
    """
    hi = float(np.percentile(coarse, 99.0))
    if hi <= 0:
        raise ValueError("the images are empty (no activity)")
    return float(np.median(coarse[coarse > 0.3 * hi]))


def hot_regions(coarse: np.ndarray, bg0: float, ratio: float) -> tuple[np.ndarray, int]:
    """Connected regions above half the expected sphere excess (or, for a filling weaker than
    the stated ratio, above 1.3 × background).

    Returns
    -------
    labels : int array
        Region labels of `coarse` (0: none).
    n : int
        Number of regions, at least 3.

    Raises
    ------
    ValueError
        Fewer than three hot regions at either level.
    """
    # A filling weaker than the stated ratio still shows its large spheres at a lower level.
    for level in (1.0 + 0.5 * (ratio - 1.0), 1.3):
        labels, n = ndimage.label(coarse > bg0 * level)
        if n >= 3:
            break
    if n < 3:
        raise ValueError(f"only {n} hot sphere(s) found; the three largest (37, 28, 22 mm) "
                         "are needed to locate the phantom")
    return labels, n


def largest_centroids(coarse: np.ndarray, labels: np.ndarray, n: int, bg0: float, f: int
                       ) -> list[np.ndarray]:
    """Excess-weighted centroids of the three regions of most excess activity, largest first.

    Parameters
    ----------
    coarse : (n, rows, cols) array
        Block means of the volume (block size `f`).
    labels, n : int array, int
        Regions of `coarse` and their number.
    bg0 : float
        Background level.
    f : int
        Block size, to map the centroids back to full-resolution voxels.

    Returns
    -------
    list of three (3,) arrays
        Centres (slice, row, col) in full-resolution voxels.
    """
    excess_map = np.clip(coarse - bg0, 0, None)
    excess = np.bincount(labels.ravel(), weights=excess_map.ravel(), minlength=n + 1)[1:]
    big = 1 + np.argsort(excess)[::-1][:3]
    boxes = ndimage.find_objects(labels)
    cents = []
    for b in big:
        box = boxes[b - 1]
        w = excess_map[box] * (labels[box] == b)
        iz, iy, ix = sparse_indices(w.shape)
        c = np.array([(w * iz).sum(), (w * iy).sum(), (w * ix).sum()]) / w.sum()
        c += [sl.start for sl in box]
        cents.append(c * [1, f, f] + [0, (f - 1) / 2, (f - 1) / 2])
    return cents


def sphere_plane(p37: np.ndarray, p28: np.ndarray, p22: np.ndarray
                  ) -> tuple[np.ndarray, float, np.ndarray, float]:
    """The sphere ring through the three largest spheres (mm).

    Returns
    -------
    centre_mm : (3,) array
        Ring centre (on the lung-insert axis).
    ring_r : float
        Ring radius (mm).
    normal : (3,) array
        Unit normal of the sphere plane, pointing towards increasing slice index.
    tilt_deg : float
        Angle between the normal and the scanner axis.

    Raises
    ------
    ValueError
        The points are in a line, or the ring is not within 20 % of the phantom's.
    """
    centre_mm, ring_r = circumcentre(p37, p28, p22)
    if not 0.8 * RING_RADIUS_MM <= ring_r <= 1.2 * RING_RADIUS_MM:
        raise ValueError(f"the three largest hot regions lie on a {2 * ring_r:.0f} mm circle, "
                         f"not the phantom's {2 * RING_RADIUS_MM:.1f} mm sphere ring")
    normal = np.cross(p28 - p37, p22 - p37)
    normal /= np.linalg.norm(normal)
    if normal[0] < 0:
        normal = -normal
    tilt = math.degrees(math.acos(min(1.0, abs(normal[0]))))
    return centre_mm, ring_r, normal, tilt


def all_sphere_centres(vol: np.ndarray, found: list[np.ndarray], centre_mm: np.ndarray,
                        ring_r: float, normal: np.ndarray, bg0: float, px: float, dz: float
                        ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Centres of the six spheres (10 … 37 mm, voxels): the three found, and the other three
    predicted from the ring layout (60° apart, in order of size) and refined.

    Parameters
    ----------
    found : list of three (3,) arrays
        Centres of the 37, 28 and 22 mm spheres (voxels).
    centre_mm, ring_r, normal
        The sphere ring, from `sphere_plane`.

    Returns
    -------
    centres_vox : list of six (3,) arrays
    centre_mm, normal
        The ring centre and plane normal refitted through the four largest spheres.
    """
    p37, p28 = to_mm(found[0], px, dz), to_mm(found[1], px, dz)
    u = (p37 - centre_mm) / np.linalg.norm(p37 - centre_mm)
    v = np.cross(normal, u)
    sense = 1.0 if (p28 - centre_mm) @ v >= 0 else -1.0
    known = {5: found[0], 4: found[1], 3: found[2]}

    def predicted(k: int) -> np.ndarray:
        a = math.radians(60.0 * (5 - k)) * sense
        return centre_mm + ring_r * (math.cos(a) * u + math.sin(a) * v)

    # The plane through three centres is ill-conditioned: 1 slice of error in one of them
    # (a sphere glued a little off the plane, noise) moves the far side of the ring by
    # ~2 slices, further than `refine_centre` may shift. The 17 and 13 mm spheres still stand out
    # of the noise: each is searched along the normal, then the plane is refitted through
    # all centres found so far (least squares), before the 10 mm sphere is predicted.
    for k, half in ((2, 12.0), (1, 8.0)):
        r = SPHERE_DIAMETERS_MM[k] / 2
        known[k] = refine_centre(vol, axial_search(vol, predicted(k), r, bg0, normal, px, dz, half),
                           r, bg0, px, dz, 4.0)
        pts = np.array([to_mm(c, px, dz) for c in known.values()])
        new_normal = np.linalg.svd(pts - pts.mean(axis=0))[2][-1]
        normal = new_normal if new_normal @ normal >= 0 else -new_normal
        centre_mm = centre_mm - ((centre_mm - pts.mean(axis=0)) @ normal) * normal
        u = u - (u @ normal) * normal
        u /= np.linalg.norm(u)
        v = np.cross(normal, u)
    centres_vox: list[np.ndarray] = []
    for k, d in enumerate(SPHERE_DIAMETERS_MM):
        if k in known:
            centres_vox.append(known[k])
            continue
        centres_vox.append(refine_centre(vol, to_vox(predicted(k), px, dz), d / 2, bg0, px, dz, 4.0))
    return centres_vox, centre_mm, normal


def axial_search(vol: np.ndarray, pred_mm: np.ndarray, radius: float, bg: float,
                  normal: np.ndarray, px: float, dz: float, half_mm: float = 12.0
                  ) -> np.ndarray:
    """The position along `normal` (± `half_mm`) of `pred_mm` where the mean excess activity
    in a ball of `radius` (mm) is highest (voxels)."""
    best, best_val = to_vox(pred_mm, px, dz), -np.inf
    step = min(dz, px) / 2.0
    for t in np.arange(-half_mm, half_mm + step / 2, step):
        c = to_vox(pred_mm + t * normal, px, dz)
        sl, lo = box_around(c, radius, vol.shape, px, dz)
        sub = vol[sl]
        inside = dist2_mm(sub.shape, lo, c, px, dz) <= radius ** 2
        if not inside.any():
            continue
        val = float(sub[inside].mean()) - bg
        if val > best_val:
            best, best_val = c, val
    return best
