"""MagNET test objects (IPEM Report 112): slice width, slice position, spatial resolution.

* **Slice width** (geometry/slice-width object): two ramps inclined at 11.3° to the image plane
  (tan = 0.2) between the rows of a 3 × 3 grid of rods 60 mm apart. Across a ramp the signal
  dips in proportion to the slice profile stretched by 1/tan 11.3°, so
  FWHM(slice) = FWHM(dip along the ramp) · tan 11.3°. The dip is the profile averaged over a
  band 20 mm wide, minus a quadratic baseline fitted to its outer halves (as hazen); the two ramps are combined as
  their geometric mean (IPEM Report 112; the mean of opposed ramps cancels a small tilt to
  first order).
* **Slice position** (60-slice series through two rods inclined at ±45° to the slice): the
  in-plane separation of the two rods grows by 2 mm per mm of table position, so the actual
  position is z = separation/2 (IPEM Report 112). Positions are compared with the nominal
  ones after removing the common offset (median); the first and last 10 slices (outside the
  rods) are skipped as IPEM and hazen do, and never read. Rod centres are darkness-weighted
  centroids (sub-pixel), found on all 40 slices at once (one float32 block, one labelling);
  the two rods are told apart by their track and the separation is taken along their
  direction of travel (principal axis of their positions over slices), so an in-plane
  rotation does not matter.
* **Resolution** (resolution object): the edges of the dark square block, slightly rotated,
  give the presampled MTF by the slanted-edge method (`imgqa.analysis.edge_mtf`); MTF50 in
  lp/mm along rows and columns. The block is searched on a reduced copy and each edge line
  is fitted from the block's outline (no Hough search): `imgqa.analysis.magnet_resolution`,
  re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis._phantom_mask import phantom_disc
from imgqa.analysis.magnet_resolution import Resolution, magnet_resolution

__all__ = ["RAMP_TAN", "SliceWidth", "SlicePosition", "Resolution", "find_rods",
           "magnet_slice_width", "magnet_slice_position", "magnet_resolution"]

RAMP_TAN = float(np.tan(np.deg2rad(11.3)))   # MagNET slice-width ramps (IPEM Report 112)
ROD_PITCH_MM = 60.0                         # rod grid of the geometry object
POSITION_ROD_FACTOR = 2.0                   # separation change per mm of z (rods at ±45°)


def _phantom(image: np.ndarray) -> tuple[np.ndarray, tuple[float, float], float]:
    """The filled phantom (mask, centre (row, col), radius px): largest component above half
    the Otsu threshold (`imgqa.analysis._phantom_mask`)."""
    return phantom_disc(image)


def find_rods(image: np.ndarray, pixel_mm: float, *, max_diameter_mm: float = 8.0,
              region: np.ndarray | None = None, disc: np.ndarray | None = None,
              inner: np.ndarray | None = None) -> np.ndarray:
    """Centres (row, col) of small dark rods inside the phantom, darkness-weighted.

    A pixel is "rod" when it is below half the local bath level (15 mm box mean); blobs
    with an area between 1 pixel and a disc of ``max_diameter_mm`` count.
    """
    img = np.asarray(image, float)
    if disc is None:
        disc = _phantom(img)[0]
    if inner is None:  # 6 mm inside the phantom edge (given by callers that loop over slices)
        inner = ndimage.binary_erosion(disc, iterations=max(1, int(round(6.0 / pixel_mm))))
    if region is not None:
        inner = inner & region
    # only the bounding box of the search region is filtered (slice-position series: 40 ×)
    rows, cols = np.nonzero(inner)
    if rows.size == 0:
        return np.zeros((0, 2))
    pad = int(round(10.0 / pixel_mm))
    r0, c0 = max(rows.min() - pad, 0), max(cols.min() - pad, 0)
    box = (slice(r0, rows.max() + pad + 1), slice(c0, cols.max() + pad + 1))
    img, disc, inner = img[box], disc[box], inner[box]
    size = max(5, int(round(15.0 / pixel_mm)) | 1)
    level = ndimage.uniform_filter(np.where(disc, img, 0.0), size=size) / np.maximum(
        ndimage.uniform_filter(disc.astype(float), size=size), 1e-6)  # local bath mean
    dark = (img < 0.5 * level) & inner
    lab, n = ndimage.label(dark)
    if n == 0:
        return np.zeros((0, 2))
    idx = np.arange(1, n + 1)
    area = ndimage.sum(dark, lab, idx)
    max_area = np.pi * (max_diameter_mm / 2 / pixel_mm) ** 2
    keep = idx[(area >= 1) & (area <= max_area)]
    if keep.size == 0:
        return np.zeros((0, 2))
    # grow each blob by 2 pixels for the weighted centroid (partial-volume edge included)
    grown = ndimage.grey_dilation(np.where(np.isin(lab, keep), lab, 0), size=5)
    weight = np.clip(level - img, 0, None) * (grown > 0)
    cents = ndimage.center_of_mass(weight, grown, keep)
    return np.asarray(cents, float).reshape(-1, 2) + np.array([r0, c0], float)


# ---------------------------------------------------------------------------------------------
# slice width
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SliceWidth:
    """Slice width (mm) from the two ramps, each ramp's FWHM, and what was sampled."""

    slice_width_mm: float
    top_mm: float
    bottom_mm: float
    angle_deg: float
    centre_rc: tuple[float, float]
    rods_rc: np.ndarray
    profiles_mm: np.ndarray
    profiles: tuple[np.ndarray, np.ndarray]
    band_rc: tuple[tuple[tuple[float, float], ...], ...]


def _fwhm(x: np.ndarray, y: np.ndarray) -> float:
    """FWHM of a single peak by linear interpolation of the half-maximum crossings."""
    k = int(np.argmax(y))
    half = 0.5 * y[k]
    left = np.flatnonzero(y[:k] < half)
    right = np.flatnonzero(y[k:] < half)
    if left.size == 0 or right.size == 0:
        raise ValueError("the ramp profile does not fall to half its depth on both sides")
    i, j = left[-1], k + right[0]
    xl = x[i] + (half - y[i]) / (y[i + 1] - y[i]) * (x[i + 1] - x[i])
    xr = x[j - 1] + (half - y[j - 1]) / (y[j] - y[j - 1]) * (x[j] - x[j - 1])
    return float(xr - xl)


def _grid_pose(rods: np.ndarray, centre: tuple[float, float], px: float
               ) -> tuple[np.ndarray, float, np.ndarray]:
    """Centre rod, in-plane angle (rad) and the 9 rods of the 60-mm grid."""
    if len(rods) < 3:
        raise ValueError(f"found {len(rods)} rods; the slice-width object has a 3 × 3 grid")
    d = np.hypot(rods[:, 0] - centre[0], rods[:, 1] - centre[1])
    mid = rods[int(np.argmin(d))]
    rel = (rods - mid) * px
    # rods one pitch from the centre rod: the angle of the nearest to the +x axis
    r = np.hypot(*rel.T)
    ring = rel[np.abs(r - ROD_PITCH_MM) < 0.15 * ROD_PITCH_MM]
    if len(ring) < 2:
        raise ValueError("no rods 60 mm from the central rod (not the MagNET slice-width object)")
    ang = np.arctan2(ring[:, 0], ring[:, 1])
    # fold every direction to the nearest multiple of 90°: the grid's rotation
    rot = np.angle(np.mean(np.exp(4j * ang))) / 4.0
    return mid, float(rot), rods


def magnet_slice_width(image: np.ndarray, pixel_mm: float, *, band_mm: float = 20.0,
                       half_length_mm: float = 55.0, ramp_tan: float = RAMP_TAN) -> SliceWidth:
    """Slice width (FWHM, mm) of the MagNET slice-width object (IPEM Report 112).

    Parameters
    ----------
    image : 2-D array
    pixel_mm : float
        Square pixel size (mm).
    band_mm : float
        Width of the band averaged across each ramp (20 mm as hazen).
    half_length_mm : float
        Half-length of the profile along the ramp, inside the outer rods (±60 mm); the
        outer half on each side (beyond ±27.5 mm) carries the quadratic baseline.
    ramp_tan : float
        tan of the ramp angle (11.3° → 0.2).
    """
    img = np.asarray(image, float)
    _, centre, _ = _phantom(img)
    rods = find_rods(img, pixel_mm)
    mid, rot, rods = _grid_pose(rods, centre, pixel_mm)
    ex = np.array([np.sin(rot), np.cos(rot)])      # (row, col) of the object's x axis
    ey = np.array([np.cos(rot), -np.sin(rot)])     # object's y axis (rows)
    step = 0.25
    u = np.arange(-half_length_mm, half_length_mm + 1e-9, step)
    v_off = np.arange(-band_mm / 2, band_mm / 2 + 1e-9, pixel_mm / 2)
    out, bands = [], []
    for sign in (-1.0, 1.0):                       # top (−y) and bottom ramp, between rod rows
        v = sign * ROD_PITCH_MM / 2 + v_off
        pts = (mid[:, None, None] + (ex[:, None, None] * u[None, None, :]
                                     + ey[:, None, None] * v[None, :, None]) / pixel_mm)
        prof = ndimage.map_coordinates(img, pts.reshape(2, -1), order=1).reshape(v.size, u.size)
        p = prof.mean(axis=0)
        # quadratic baseline through the outer half of the profile (the coil/B1 shading bows
        # it; a straight line leaves a pedestal under the dip that widens the FWHM by 10 %)
        ends = np.abs(u) > 0.5 * half_length_mm
        base = np.polyval(np.polyfit(u[ends], p[ends], 2), u)
        depth = ndimage.uniform_filter1d(base - p, size=max(1, int(round(pixel_mm / step))))
        out.append((_fwhm(u, depth) * ramp_tan, depth))
        corners = [mid + (ex * a + ey * (sign * ROD_PITCH_MM / 2 + b)) / pixel_mm
                   for a, b in ((-half_length_mm, -band_mm / 2), (half_length_mm, -band_mm / 2),
                                (half_length_mm, band_mm / 2), (-half_length_mm, band_mm / 2))]
        bands.append(tuple((float(c[0]), float(c[1])) for c in corners))
    top, bottom = out[0][0], out[1][0]
    return SliceWidth(float(np.sqrt(top * bottom)), top, bottom, float(np.rad2deg(rot)),
                      (float(mid[0]), float(mid[1])), rods, u, (out[0][1], out[1][1]),
                      tuple(bands))


# ---------------------------------------------------------------------------------------------
# slice position
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlicePosition:
    """Per analysed slice: nominal and measured position (mm) and their difference; ``used``
    are the slice indices where both rods were found, ``read`` all the slices looked at
    (``skip … n − skip − 1``)."""

    max_error_mm: float
    mean_abs_error_mm: float
    nominal_mm: np.ndarray
    measured_mm: np.ndarray
    error_mm: np.ndarray
    used: np.ndarray
    rods_rc: np.ndarray        # (n_used, 2, 2): left and right rod per slice
    read: np.ndarray


def magnet_slice_position(stack: np.ndarray | Sequence[np.ndarray], nominal_mm: np.ndarray,
                          pixel_mm: float, *, skip: int = 10,
                          factor: float = POSITION_ROD_FACTOR) -> SlicePosition:
    """Maximum slice-position error (mm) of a MagNET slice-position series.

    Parameters
    ----------
    stack : (n, rows, cols) array, or a sequence of n (rows, cols) arrays
        The series in table order. Only slices ``skip … n − skip − 1`` are read (a sequence
        of per-slice arrays avoids stacking the unused ones).
    nominal_mm : (n,) array
        Nominal slice positions (mm, along the slice normal).
    pixel_mm : float
        Square pixel size (mm).
    skip : int
        Slices skipped at each end (outside the rods).
    factor : float
        Change of the rods' in-plane separation per mm of slice position (2 for ±45° rods).

    Notes
    -----
    All analysed slices are processed as one (slices, rows, cols) float32 block cropped to
    the rods' strip: one local-bath filter, one 3-D labelling that does not connect across
    slices, and the darkness-weighted centroids of all blobs from ``np.bincount`` (the same
    rule as `find_rods`, which the per-slice version called 40 times).
    """
    nominal = np.asarray(nominal_mm, float)
    n = len(stack)
    if n < 2 * skip + 3:
        raise ValueError(f"{n} slices; the slice-position test needs more than "
                         f"{2 * skip + 2} (60 for the MagNET series)")
    used = np.arange(skip, n - skip)
    disc, centre, radius = _phantom(np.asarray(stack[int(used[len(used) // 2])], np.float32))
    box, inner = _rod_strip(disc, centre, radius, pixel_mm)
    block = np.stack([np.asarray(stack[int(i)], np.float32)[box] for i in used])
    rods_rc, found = _rods_per_slice(block, disc[box], inner, pixel_mm)
    rods_rc = rods_rc + np.array([box[0].start, box[1].start], float)
    if found.sum() < 10:
        raise ValueError(f"the two inclined rods were found on {int(found.sum())} of "
                         f"{len(used)} slices (at least 10 needed)")
    used, rods_rc = used[found], rods_rc[found]                   # (n, 2, 2)
    # the rods run on two parallel tracks 8 mm apart along the travel direction (principal
    # axis of all their positions): tell them apart by the side of that axis they lie on,
    # not by column (a turn of the object beyond ≈ 5° swaps their columns at the ends)
    pts = rods_rc.reshape(-1, 2)
    _, _, vt = np.linalg.svd(pts - pts.mean(axis=0), full_matrices=False)
    side = (rods_rc - pts.mean(axis=0)) @ vt[1]                    # (n, 2)
    swap = side[:, 0] > side[:, 1]
    rods_rc[swap] = rods_rc[swap, ::-1]
    if rods_rc[:, 0, 1].mean() > rods_rc[:, 1, 1].mean():      # rod A: the left track
        rods_rc = rods_rc[:, ::-1].copy()
    left = rods_rc[:, 0] - rods_rc[:, 0].mean(axis=0)
    # direction of travel: principal axis of the left rod's positions over the slices
    _, _, vt = np.linalg.svd(left, full_matrices=False)
    axis = vt[0]
    sep = (rods_rc[:, 1] - rods_rc[:, 0]) @ axis * pixel_mm
    measured = sep / factor
    nom = nominal[used]
    if np.polyfit(nom, measured, 1)[0] < 0:
        measured = -measured
    err = measured - nom
    err = err - np.median(err)
    return SlicePosition(float(np.max(np.abs(err))), float(np.mean(np.abs(err))), nom,
                         measured - np.median(measured - nom), err, used, rods_rc,
                         np.arange(skip, n - skip))


def _rod_strip(disc: np.ndarray, centre: tuple[float, float], radius: float, pixel_mm: float
               ) -> tuple[tuple[slice, slice], np.ndarray]:
    """Crop box and search mask (inside the box) of the slice-position rods.

    The two rods travel along the vertical mid-line of the object (they cross at its centre);
    the side bars and corner markers lie outside a strip of ±r/4. The mask is also 6 mm inside
    the phantom edge; the box is the mask's bounding box plus 10 mm (the bath filter's reach).
    """
    shape = disc.shape
    pad = int(round(10.0 / pixel_mm))
    erode = max(1, int(round(6.0 / pixel_mm)))
    # the strip's bounding box (+ pad > erosion depth): erode only there
    r0 = max(int(np.floor(centre[0] - 0.95 * radius)) - pad, 0)
    r1 = min(int(np.ceil(centre[0] + 0.95 * radius)) + pad + 1, shape[0])
    c0 = max(int(np.floor(centre[1] - 0.25 * radius)) - pad, 0)
    c1 = min(int(np.ceil(centre[1] + 0.25 * radius)) + pad + 1, shape[1])
    yy, xx = np.ogrid[r0:r1, c0:c1]
    region = (np.abs(xx - centre[1]) < 0.25 * radius) & (
        np.hypot(yy - centre[0], xx - centre[1]) < 0.95 * radius)
    inner = region & ndimage.binary_erosion(disc[r0:r1, c0:c1], iterations=erode)
    rows, cols = np.nonzero(inner)
    if rows.size == 0:
        raise ValueError("no phantom around the rods' strip")
    a0, b0 = max(r0 + rows.min() - pad, 0), max(c0 + cols.min() - pad, 0)
    a1, b1 = min(r0 + rows.max() + pad + 1, shape[0]), min(c0 + cols.max() + pad + 1, shape[1])
    full = np.zeros(shape, bool)
    full[r0:r1, c0:c1] = inner
    return (slice(a0, a1), slice(b0, b1)), full[a0:a1, b0:b1]


def _rods_per_slice(block: np.ndarray, disc: np.ndarray, inner: np.ndarray, pixel_mm: float,
                    max_diameter_mm: float = 6.0) -> tuple[np.ndarray, np.ndarray]:
    """The two rods' centres (row, col) on every slice of a (slices, rows, cols) block.

    Returns ``(rods, found)``: rods (slices, 2, 2) ordered by column (NaN where not found),
    found (slices,) true where exactly two rods were found (slices beyond the rods' ends show
    none). Rule as `find_rods`: below half the local (15 mm box) bath mean, inside ``inner``,
    blob area from 1 pixel to a disc of ``max_diameter_mm``, centroid weighted by darkness
    over the blob grown by 2 pixels.
    """
    m = block.shape[0]
    size = max(5, int(round(15.0 / pixel_mm)) | 1)
    num = ndimage.uniform_filter(np.where(disc, block, np.float32(0)), size=(1, size, size))
    den = ndimage.uniform_filter(disc.astype(np.float32), size=size)
    level = num / np.maximum(den, np.float32(1e-6))            # local bath mean per slice
    # threshold and label inside the search mask's bounding box only (the block's margin is
    # there for the bath filter)
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    rows = rows if rows.size else np.zeros(1, np.intp)
    cols = cols if cols.size else np.zeros(1, np.intp)
    sub = (slice(None), slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    dark = (block[sub] < 0.5 * level[sub]) & inner[sub[1:]]
    plane = np.zeros((3, 3, 3), bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)           # no connection across slices
    lab, nlab = ndimage.label(dark, structure=plane)
    rods = np.full((m, 2, 2), np.nan)
    if nlab == 0:
        return rods, np.zeros(m, bool)
    # the dark pixels are few (rods): the rest works on their coordinates only
    z, r, c = np.nonzero(dark)
    g = lab[z, r, c]
    r, c = r + rows[0], c + cols[0]
    area = np.bincount(g, minlength=nlab + 1)
    max_area = np.pi * (max_diameter_mm / 2 / pixel_mm) ** 2
    ok = (area[g] >= 1) & (area[g] <= max_area)
    z, r, c, g = z[ok], r[ok], c[ok], g[ok]
    z, r, c, g = _grow_labels(z, r, c, g, block.shape[1:], 2)
    w = np.clip(level[z, r, c] - block[z, r, c], 0, None).astype(float)
    sw = np.bincount(g, w, minlength=nlab + 1)
    present = np.flatnonzero(np.bincount(g, minlength=nlab + 1))
    sw = np.maximum(sw[present], 1e-300)
    rr = np.bincount(g, w * r, minlength=nlab + 1)[present] / sw
    cc = np.bincount(g, w * c, minlength=nlab + 1)[present] / sw
    zz = np.zeros(nlab + 1, np.intp)
    zz[g] = z                                      # a blob lies on one slice
    zz = zz[present]
    found = np.bincount(zz, minlength=m) == 2
    sel = found[zz]
    order = np.lexsort((cc[sel], zz[sel]))         # by slice, then left to right
    pairs = np.stack([rr[sel][order], cc[sel][order]], axis=1).reshape(-1, 2, 2)
    rods[found] = pairs
    return rods, found


def _grow_labels(z: np.ndarray, r: np.ndarray, c: np.ndarray, g: np.ndarray,
                 shape: tuple[int, ...], k: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labelled pixels (slice z, row r, col c, label g) grown by ``k`` pixels in-plane (a
    (2k+1)² square), the larger label winning where two grown blobs meet: the sparse
    equivalent of ``ndimage.grey_dilation(labels, size=(1, 2k+1, 2k+1))`` on the few rod
    pixels instead of the whole block."""
    d = np.arange(-k, k + 1)
    dr, dc = np.repeat(d, d.size), np.tile(d, d.size)
    R, C = (r[:, None] + dr).ravel(), (c[:, None] + dc).ravel()
    Z, G = np.repeat(z, dr.size), np.repeat(g, dr.size)
    inb = (R >= 0) & (R < shape[0]) & (C >= 0) & (C < shape[1])
    Z, R, C, G = Z[inb], R[inb], C[inb], G[inb]
    flat = (Z * shape[0] + R) * shape[1] + C
    order = np.lexsort((G, flat))
    flat, G = flat[order], G[order]
    last = np.r_[flat[1:] != flat[:-1], True]      # per pixel, the largest label
    flat, G = flat[last], G[last]
    Z, rem = np.divmod(flat, shape[0] * shape[1])
    R, C = np.divmod(rem, shape[1])
    return Z, R, C, G
