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
  is fitted from the block's outline (no Hough search).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis._phantom_mask import otsu_threshold, phantom_disc
from imgqa.analysis.edge_mtf import EdgeLine, mtf_crossing, slanted_edge_mtf

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


# ---------------------------------------------------------------------------------------------
# resolution
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resolution:
    """MTF50 (lp/mm) across a horizontal edge (along rows: "vertical") and a vertical edge."""

    mtf50_lp_mm: float
    mtf50_vertical: float | None
    mtf50_horizontal: float | None
    curves: tuple[tuple[str, np.ndarray, np.ndarray], ...]
    rois_rc: tuple[tuple[tuple[float, float], tuple[float, float]], ...]
    square_rc: tuple[float, float]


def magnet_resolution(image: np.ndarray, pixel_mm: float) -> Resolution:
    """MTF50 (lp/mm) of the MagNET resolution object's square block edges (slanted edge).

    Parameters
    ----------
    image : 2-D array
        The resolution-object image.
    pixel_mm : float
        Square pixel size (mm).

    Notes
    -----
    The block is searched on a block-mean reduced copy (≈ 128 px across; it is ≥ 15 mm, the
    thin bar groups are not compact) and then delineated at full resolution inside its box
    only. Each edge line is fitted in its ROI from the block's outline (sub-pixel by
    gradient-weighted centroids, as `imgqa.analysis.edge_mtf.find_edge` does after its Hough
    search) and given to `slanted_edge_mtf` (IEC 62220-1-1 presampled MTF).
    """
    img = np.asarray(image, np.float32)
    (r0, c0), block = _find_block(img, pixel_mm)
    rr, cc = np.nonzero(block)
    rc = (float(rr.mean()) + r0, float(cc.mean()) + c0)
    ri, ci = int(round(rc[0])), int(round(rc[1]))
    # edge midpoints: first block pixel down the middle column / along the middle row
    top = r0 + int(np.argmax(block[:, ci - c0]))
    left = c0 + int(np.argmax(block[ri - r0, :]))
    half = int(round(0.3 * min(np.ptp(rr), np.ptp(cc))))
    across = max(20, int(round(10.0 / pixel_mm)))
    mtfs: dict[str, float | None] = {}
    curves, rois = [], []
    # a horizontal edge (top of the block) → MTF along the columns' direction (vertical)
    for name, (ra, rb, ca, cb) in (
            ("vertical", (top - across, top + across, ci - half, ci + half)),
            ("horizontal", (ri - half, ri + half, left - across, left + across))):
        ra0, ca0 = max(ra, 0), max(ca, 0)
        roi = img[ra0:rb, ca0:cb]
        inside = np.zeros(roi.shape, bool)   # the block's pixels in the ROI
        a0, b0 = max(r0 - ra0, 0), max(c0 - ca0, 0)
        a1 = min(r0 + block.shape[0] - ra0, roi.shape[0])
        b1 = min(c0 + block.shape[1] - ca0, roi.shape[1])
        if a1 > a0 and b1 > b0:
            inside[a0:a1, b0:b1] = block[ra0 + a0 - r0:ra0 + a1 - r0, ca0 + b0 - c0:ca0 + b1 - c0]
        try:
            line = _block_edge(roi, inside, vertical=name == "horizontal", pixel_mm=pixel_mm)
            m = slanted_edge_mtf(roi, (pixel_mm, pixel_mm), esf_half_width_px=across // 2,
                                 edge=line)
            mtfs[name] = mtf_crossing(m, 0.5)
            curves.append((name, m.frequency, m.mtf))
        except ValueError:
            mtfs[name] = None
        rois.append(((float(ra), float(ca)), (float(rb), float(cb))))
    vals = [v for v in mtfs.values() if v is not None]
    if not vals:
        raise ValueError("no usable edge on the block")
    return Resolution(float(np.mean(vals)), mtfs["vertical"], mtfs["horizontal"],
                      tuple(curves), tuple(rois), rc)


_BLOCK_SEARCH_PX = 128     # the block is searched on an image reduced to about this size


def _block_mean(img: np.ndarray, f: int) -> np.ndarray:
    """Mean of each f × f block, as a sum of the f² strided sub-images (5 × faster than a
    reshaped ``mean(axis=(1, 3))``, which reduces along non-contiguous axes)."""
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    out = np.zeros((h // f, w // f), np.float32)
    for i in range(f):
        for j in range(f):
            out += img[i:h:f, j:w:f]
    return out / np.float32(f * f)


def _find_block(img: np.ndarray, pixel_mm: float) -> tuple[tuple[int, int], np.ndarray]:
    """The square block: ``((row0, col0), mask)``, the mask (full resolution) in a box whose
    corner is (row0, col0).

    The block is the largest compact dark blob (below half the phantom's median) with a side
    ≥ 15 mm. Candidates are found on a block-mean reduced copy; each is re-labelled at full
    resolution inside its box and must pass the same test there (the reduction only spares
    the full-image passes).
    """
    f = max(1, min(img.shape) // _BLOCK_SEARCH_PX)
    small = _block_mean(img, f) if f > 1 else img
    # one labelling of the pixels below half the Otsu level gives both the air (regions
    # touching the border) and the holes in the phantom (block cores, bars): the phantom,
    # holes filled, is everything else (as `_phantom_mask.phantom_disc`, bar its largest-
    # component step, which only matters for bright specks in the air)
    lab, n = ndimage.label(small <= 0.5 * otsu_threshold(small))
    air = np.zeros(n + 1, bool)
    for side in (lab[0], lab[-1], lab[:, 0], lab[:, -1]):
        air[side] = True
    air[0] = False
    level = float(np.median(small[~air[lab]]))
    lab[air[lab]] = 0
    if not lab.any():
        raise ValueError("no dark block in the phantom")
    areas = np.bincount(lab.ravel(), minlength=n + 1)[1:].astype(float)
    boxes = ndimage.find_objects(lab)
    for k in np.argsort(areas)[::-1][:5]:
        sl = boxes[k]
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        # loose on the reduced copy (blurred outline); the full-resolution test decides
        if not (0.5 < h / w < 2.0 and areas[k] > 0.4 * h * w and h * f * pixel_mm > 12):
            continue
        r0, c0 = max((sl[0].start - 2) * f, 0), max((sl[1].start - 2) * f, 0)
        sub = img[r0:(sl[0].stop + 2) * f, c0:(sl[1].stop + 2) * f] < 0.5 * level
        lab2, n2 = ndimage.label(sub)
        if n2 == 0:
            continue
        a2 = np.bincount(lab2.ravel())
        a2[0] = 0
        mask = lab2 == int(np.argmax(a2))
        rr, cc = np.nonzero(mask)
        hh, ww = np.ptp(rr) + 1, np.ptp(cc) + 1
        if 0.6 < hh / ww < 1.6 and rr.size > 0.5 * hh * ww and hh * pixel_mm > 15:
            return (r0, c0), mask
    raise ValueError("no square block (≥ 15 mm) in the phantom")


_CENTROID_HALF = 8         # half-window (px) of the gradient centroid across the edge
_MIN_LINE_CONTRAST = 0.4   # a line's gradient peak must reach this × the median peak


def _line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares line y = a + b·x: (a, b) (closed form: a few hundred points, called
    ≈ 10 times per edge, where ``np.polyfit``'s set-up costs more than the fit)."""
    n = x.size
    xm, ym = float(x.sum()) / n, float(y.sum()) / n
    dx = x - xm
    sxx = float(np.dot(dx, dx))
    b = float(np.dot(dx, y - ym)) / sxx if sxx > 0 else 0.0
    return ym - b * xm, b


def _median(x: np.ndarray) -> float:
    """Median of a 1-D array (``np.partition``: ``np.median``'s generic set-up dominates on
    the few hundred values here)."""
    n = x.size
    p = np.partition(x, [(n - 1) // 2, n // 2])
    return 0.5 * float(p[(n - 1) // 2] + p[n // 2])


def _block_edge(roi: np.ndarray, inside: np.ndarray, *, vertical: bool, pixel_mm: float
                ) -> EdgeLine:
    """The block edge in an edge ROI, fitted to sub-pixel precision.

    Start: the block's outline in the ROI (first block pixel on each line across the edge);
    then, twice, the centroid of the squared gradient across the edge (Gaussian derivative,
    σ 2 px along and 1 px across) within ±8 px of the line on every line, and a straight-line
    fit with 3 rounds of outlier rejection (3 MAD) — the refinement of
    `imgqa.analysis.edge_mtf.find_edge`, without its Hough search over the whole ROI.
    """
    work = np.asarray(roi, float) if vertical else np.asarray(roi, float).T
    mask = inside if vertical else inside.T
    nv, nu = work.shape
    v = np.arange(nv)
    has = mask.any(axis=1)
    if has.sum() < 10:
        raise ValueError("the block edge is not in its ROI")
    first = np.argmax(mask, axis=1).astype(float)
    # the block is on the high-u side of its left/top edge: outline = first block pixel − ½
    a, b = _line_fit(v[has], first[has] - 0.5)
    gu = ndimage.gaussian_filter(work, sigma=(2.0, 1.0), order=(0, 1))
    k = np.arange(-_CENTROID_HALF, _CENTROID_HALF + 1)
    last = None
    for _ in range(2):  # refine; re-centre the windows on the refined line, refine again
        centre = np.rint(a + b * v).astype(np.intp)
        if last is not None and np.array_equal(centre, last):
            break       # same windows: the second pass would give the same line
        last = centre
        ok = (centre - _CENTROID_HALF >= 0) & (centre + _CENTROID_HALF < nu)
        if ok.sum() < 10:
            raise ValueError("the edge leaves its ROI")
        vv = v[ok]
        cols = centre[ok, None] + k[None]
        g = gu[vv[:, None], cols]
        g = np.clip(g * np.sign(_median(g.sum(axis=1))), 0, None)
        contrast = g.max(axis=1)
        line_ok = contrast > _MIN_LINE_CONTRAST * _median(contrast)
        w = g * g
        pos = (w * cols).sum(axis=1) / np.maximum(w.sum(axis=1), 1e-12)
        vv, pos = vv[line_ok], pos[line_ok]
        if vv.size < 10:
            raise ValueError("too few lines across the block edge")
        keep = np.ones(vv.size, bool)
        for _ in range(3):
            a, b = _line_fit(vv[keep], pos[keep])
            resid = pos - (a + b * vv)
            mad = _median(np.abs(resid[keep])) * 1.4826 + 0.02
            keep = np.abs(resid) < max(3 * mad, 0.1)
    kept = vv[keep]
    return EdgeLine(vertical=vertical, angle_deg=float(np.degrees(np.arctan(b))),
                    offset_px=a, slope=b, v_range=(int(kept.min()), int(kept.max())))
