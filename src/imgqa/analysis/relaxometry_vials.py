"""Finding the vials of a relaxometry plate (`imgqa.analysis.relaxometry`): a matched filter
searched coarse-to-fine.

The plastic vial walls give no signal at any TI/TE, so in the pixel-wise maximum over the
series every vial is a disc inside a dark ring. The matched filter is
``mean(interior, 0.6 r) + mean(bath annulus) − 2 · mean(wall annulus)`` for inner radii
6.5–10.5 mm: bright vials score ≈ 2, vials dark at every TI/TE ≈ 1, the bath ≈ 0; the screw
fiducials (dark discs ≈ 6 mm with a bright dot) only fit radii below the range.

Search (the result is that of the full-resolution search, at a fraction of its cost):

1. *coarse*: the same filter, FFT-convolved, on the image binned to ≈ 2 mm pixels (4 times
   fewer pixels, half the radii), gives candidate centres (the 14 vials and a few more);
2. *fine*: around each candidate, the full-resolution filter with every radius is evaluated
   directly (a small matrix product over a ±2 px window, moved uphill while the best
   position lies on the window's edge), and the best position, score and radius kept;
3. the 14 strongest candidates more than 1.5 vial radii apart are the vials; the sub-pixel
   centre is the centroid of the bright interior.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis._phantom_mask import phantom_disc
from imgqa.analysis.relaxometry_filter import (
    _correlate_valid,
    _fft_shape,
    _kernel_bank,
    _kernel_spectrum,
    _LocalFilter,
    local_scores,
    vial_kernels,
)

__all__ = ["VialLayout", "locate_vials", "vial_kernels", "local_scores", "as_planes",
           "abs_max"]

# Pixel size (mm) the coarse search bins to: a vial (r ≈ 8 mm) still spans ≈ 8 coarse pixels.
_COARSE_MM = 2.2
_FINE_HALF_WIDTH = 1      # fine window ±1 px around each candidate (hill climb)
_EXTRA_CANDIDATES = 6     # coarse candidates beyond the vials looked for


def as_planes(stack: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """The images of a (n, rows, cols) array or of a sequence of (rows, cols) arrays, as a
    list of 2-d arrays (views of the input; integer images converted to float64).

    The analysis works image by image: stacking the decoded images first would copy them
    into a new block of memory (for 32 echoes of 192², 4.7 MB whose fresh pages cost as much
    CPU time in page faults as the copy itself).
    """
    planes = [np.asarray(p) for p in stack]
    if not planes:
        raise ValueError("no images")
    shape = planes[0].shape
    if len(shape) != 2 or any(p.shape != shape for p in planes):
        raise ValueError("the images must be 2-d and of one size")
    return [p if p.dtype.kind == "f" else p.astype(np.float64) for p in planes]


def abs_max(planes: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise maximum of |image| over the images (float64), without an |image| copy:
    the larger of the maximum and −minimum (exact in any float dtype)."""
    return _abs_max_native(planes).astype(np.float64, copy=False)


def _abs_max_native(planes: Sequence[np.ndarray]) -> np.ndarray:
    """`abs_max` in the images' own float dtype (float32 for decoded pixels: the maximum of
    float32 numbers is one of them, so converting it afterwards gives `abs_max` exactly, at
    half the memory traffic)."""
    dtype = np.result_type(*planes)
    hi = planes[0].astype(dtype, copy=True)
    lo = planes[0].astype(dtype, copy=True)
    for p in planes[1:]:
        np.maximum(hi, p, out=hi)
        np.minimum(lo, p, out=lo)
    if lo.min() < 0:
        np.maximum(hi, -lo, out=hi)
    return hi


@dataclass(frozen=True)
class VialLayout:
    """Where the vials are, in pixels (row, col) of the input images.

    ``centres_rc`` has one row per vial in detection order (not yet numbered, see
    `order_vials`); ``radius_px`` is the inner (fluid) radius of the vials; ``roi_radius_px``
    the radius of the measuring ROI; ``bath_mask`` marks the bath pixels used as vial 15.
    """

    centres_rc: np.ndarray
    radius_px: float
    roi_radius_px: float
    phantom_centre_rc: tuple[float, float]
    phantom_radius_px: float
    bath_mask: np.ndarray
    scores: np.ndarray
    phantom_mask: np.ndarray | None = None  # the filled phantom (for the air floor)


def _median_f64(values: np.ndarray) -> float:
    """``np.median`` of the values converted to float64, without converting them: the middle
    element(s) by partition in their own dtype (the same elements), their mean in float64.

    For an even count the lower middle element is the largest of the k smallest, i.e. the
    maximum of the partition's left part: one selection and a maximum instead of a
    partition at two indices (which costs ≈ 7 times as much)."""
    v = np.asarray(values).ravel()
    k = v.size // 2
    part = np.partition(v, k)
    if v.size % 2:
        return float(part[k])
    return float((np.float64(part[:k].max()) + np.float64(part[k])) / 2.0)


def _erode_taxicab(mask: np.ndarray, k: int) -> np.ndarray:
    """``ndimage.binary_erosion(mask, iterations=k)`` (4-connected cross, outside the array
    unset): a pixel stays when every pixel within taxicab distance k is set.

    k erosions by the cross on the flattened rows (`_taxicab_steps`): each a handful of
    contiguous byte operations, ≈ 2.5 times faster than the same ANDs on 2-d views (one
    inner loop per row), itself faster than ``binary_erosion``'s per-pixel passes."""
    return _taxicab_steps(mask, k, grow=False)


def _dilate_taxicab(mask: np.ndarray, k: int) -> np.ndarray:
    """``ndimage.binary_dilation(mask, iterations=k)`` (4-connected cross): the pixels within
    taxicab distance k of a set pixel (of the array: paths leave it nowhere, as those of
    a distance transform of the array), k ≥ 0."""
    return _taxicab_steps(mask, k, grow=True)


def _taxicab_steps(mask: np.ndarray, k: int, *, grow: bool) -> np.ndarray:
    """k dilations (``grow``) or erosions by the 4-connected cross, outside the array unset.

    The rows are laid end to end with ``max(k, 1)`` unset columns after each and an unset
    row above and below: a shift by one row or one pixel is then a contiguous slice of the
    flat buffer (whole-array operations, no loop over rows). The gap keeps the rows apart:
    an erosion only clears, so the unset columns stay unset and stand for the outside; a
    dilation grows into them by at most k, and reaching the next row through them takes
    more than k steps."""
    m = np.asarray(mask, bool)
    h, w = m.shape
    wide = w + max(k, 1)
    a = np.zeros((h + 2, wide), bool)
    a[1:-1, :w] = m
    if k <= 0 or m.size == 0:
        return a[1:-1, :w].copy()
    a = a.ravel()
    b = np.empty_like(a)
    op = np.logical_or if grow else np.logical_and
    for _ in range(k):
        # b = a op (a shifted by ±1 pixel, ±1 row); the rows above and below the array
        # stand for the outside: kept unset
        b[:wide] = False
        b[-wide:] = False
        inner = slice(wide, a.size - wide)
        op(a[inner], a[wide - 1:a.size - wide - 1], out=b[inner])
        op(b[inner], a[wide + 1:a.size - wide + 1], out=b[inner])
        op(b[inner], a[:a.size - 2 * wide], out=b[inner])
        op(b[inner], a[2 * wide:], out=b[inner])
        a, b = b, a
    return a.reshape(h + 2, wide)[1:-1, :w].copy()


def _maximum_filter(a: np.ndarray, size: int) -> np.ndarray:
    """``ndimage.maximum_filter(a, size=size)`` (its default "reflect" border) for a small
    2-d float array: a running maximum over ``size`` shifted slices of the rows, then of the
    columns, of a copy padded with −inf (twice as fast on the ≈ 60² coarse grid as the
    filter's per-line passes and checks).

    The reflected border only repeats values that lie in the window anyway, so the maximum
    over the window cut at the border is the same; a maximum is one of its inputs, so the
    order is free. NaN (which the two treat differently) and integer arrays (no −inf) take
    ``ndimage``'s path."""
    if size < 1 or a.ndim != 2 or a.dtype.kind != "f" or np.isnan(a).any():
        return ndimage.maximum_filter(a, size=size)
    h, w = a.shape
    lo = size // 2                       # the window covers offsets −lo … size − 1 − lo
    pad = np.full((h + size - 1, w + size - 1), -np.inf, a.dtype)
    pad[lo:lo + h, lo:lo + w] = a
    rows = pad[:, :w].copy()
    for k in range(1, size):
        np.maximum(rows, pad[:, k:k + w], out=rows)
    out = rows[:h].copy()
    for k in range(1, size):
        np.maximum(out, rows[k:k + h], out=out)
    return out


def _best_over_radii(score: np.ndarray, radii_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best score over the leading (kernel) axis of ``score`` and the radius that gives it
    (the first maximum, as ``argmax``).

    The maximum over the few kernels (whole-plane maxima: it is one of the scores), then the
    first kernel that reaches it (equality tests from the last kernel down): ``argmax``
    along the leading axis of a (kernels, rows, cols) array costs ≈ 4 times as much, a
    running ``>`` with masked copies ≈ 2.5 times. A NaN score takes the reductions' own
    path (they propagate it)."""
    if score.shape[0] == 0 or np.isnan(score).any():
        return score.max(axis=0), radii_px[np.argmax(score, axis=0)]
    best = np.maximum.reduce(score, axis=0)
    idx = np.full(best.shape, score.shape[0] - 1, np.intp)
    for k in range(score.shape[0] - 2, -1, -1):
        idx[score[k] == best] = k
    if not best.all():
        # a zero maximum may be +0 in one kernel and −0 in another: the first kernel's
        # (any other maximum has one bit pattern)
        best = np.take_along_axis(score, idx[None], axis=0)[0]
    return best, radii_px[idx]


def _separated(rc: np.ndarray, sc: np.ndarray, rad: np.ndarray, n: int) -> list[int]:
    """Indices of the strongest positions with none closer than 1.5 radii (of the stronger
    one) to a stronger kept one, at most ``n`` (a few dozen candidates: the pairwise test
    computed at once, the greedy choice on plain lists).

    Whether a position is kept depends on the stronger positions only, so the greedy choice
    over the strongest ``2 n`` (at least 16) positions is the choice over all of them as far
    as it goes: when it keeps ``n`` it is the answer (the coarse search's ≈ 70 peaks then
    need a quarter of the pairwise distances), otherwise every position is examined."""
    p = np.asarray(rc, float).reshape(-1, 2)
    r = np.asarray(rad, float)
    order = np.argsort(sc, kind="stable")[::-1]
    head = order[:max(2 * n, 16)]
    keep = _greedy_separated(p, r, head, n)
    if len(keep) < n and len(head) < len(order):
        keep = _greedy_separated(p, r, order, n)
    return keep


def _greedy_separated(p: np.ndarray, rad: np.ndarray, order: np.ndarray, n: int
                      ) -> list[int]:
    """`_separated` over the positions ``order`` (strongest first): each is kept unless a
    kept one lies within 1.5 of the kept one's radii; at most ``n``. Indices into ``p``."""
    q, r = p[order], rad[order]
    d = np.hypot(q[:, None, 0] - q[None, :, 0], q[:, None, 1] - q[None, :, 1])
    # near[a, b]: b lies within 1.5 radii of a (d is symmetric; ranks in ``order``); the
    # lists of every row from one nonzero (row-major: grouped by a)
    aa, bb = np.nonzero(d <= 1.5 * r[:, None])
    starts = np.searchsorted(aa, np.arange(len(q) + 1)).tolist()
    near = bb.tolist()
    # greedy, strongest first: a position is kept unless a kept one is near it; the
    # positions near a kept one are marked once, when it is kept
    keep: list[int] = []
    blocked: set[int] = set()
    for a in range(len(q)):
        if a in blocked:
            continue
        keep.append(a)
        if len(keep) == n:
            break
        blocked.update(near[starts[a]:starts[a + 1]])
    return order[keep].tolist()


def locate_vials(stack: np.ndarray | Sequence[np.ndarray], pixel_mm: float, *,
                 n_vials: int = 14,
                 radius_range_mm: tuple[float, float] = (6.5, 10.5),
                 wall_mm: float = 1.5, roi_fraction: float = 0.6) -> VialLayout:
    """Find the vials of a relaxometry plate in a series of images of it.

    Parameters
    ----------
    stack : (n, rows, cols) array, or a sequence of n (rows, cols) arrays
        All images of the plate (every TI or TE); magnitude or signed.
    pixel_mm : float
        Pixel size (mm).
    n_vials : int
        Vials to find (14 on the Eurospin plates 4 and 5).
    radius_range_mm : (float, float)
        Range of inner vial radii searched (mm); Eurospin vials are ≈ 8 mm inside a 1.5 mm
        wall, the screw fiducials ≈ 6 mm (kept below the range).
    wall_mm : float
        Width of the dark wall annulus of the matched filter (mm).
    roi_fraction : float
        Measuring-ROI radius as a fraction of the vial radius (keeps off the wall and the
        partial-volume edge).

    Raises
    ------
    ValueError
        No phantom, or fewer than ``n_vials`` vial-like discs.
    """
    # |image| maximum in the decoded dtype (float32): exact, converted where it is used
    peak = _abs_max_native(as_planes(stack))
    # in float64 once: the phantom mask converts to it anyway, and the normalisation below
    # divides float64 by float64 (no mixed-type loop)
    peak64 = peak.astype(np.float64, copy=False)
    disc, centre, radius = phantom_disc(peak64)
    # everything below lies inside the phantom's bounding box (the disc is 0 outside it, so
    # the erosion there is that of the whole image: outside the image counts as 0 too)
    rows_d, cols_d = np.flatnonzero(disc.any(axis=1)), np.flatnonzero(disc.any(axis=0))
    b0, b1, c0, c1 = int(rows_d[0]), int(rows_d[-1]) + 1, int(cols_d[0]), int(cols_d[-1]) + 1
    inner_box = _erode_taxicab(disc[b0:b1, c0:c1], max(1, int(round(4.0 / pixel_mm))))
    if not inner_box.any():
        raise ValueError("the phantom is too small for a vial plate")
    inner = np.zeros(disc.shape, bool)
    inner[b0:b1, c0:c1] = inner_box
    level = max(_median_f64(peak[b0:b1, c0:c1][inner_box]), 1e-12)
    radii_mm = np.arange(radius_range_mm[0], radius_range_mm[1] + 1e-9, max(0.5, pixel_mm / 2))
    radii = radii_mm / pixel_mm
    wall_px = max(wall_mm / pixel_mm, 1.0)
    bank_key = (tuple(radii.tolist()), float(wall_px), float(roi_fraction), 1.0)
    kernels = _kernel_bank(*bank_key)
    # the normalised image, zero-padded once for the local filter (float64: the scores and
    # centroids are those of the float64 image whatever the decoded dtype)
    pad = kernels.shape[-1] // 2 + _FINE_HALF_WIDTH
    padded = np.zeros((disc.shape[0] + 2 * pad, disc.shape[1] + 2 * pad))
    norm = padded[pad:pad + disc.shape[0], pad:pad + disc.shape[1]]
    np.divide(peak64, np.float64(level), out=norm)

    def allowed(rc: np.ndarray, r: np.ndarray) -> np.ndarray:
        # inside the eroded phantom, and the whole wall annulus (+ bath ring) inside it
        # (else the air outside scores); positions are inside the image (candidates lie in
        # the eroded phantom and move by a pixel at a time between allowed positions)
        rr, cc = rc[..., 0], rc[..., 1]
        return inner[rr, cc] & (np.hypot(rr - centre[0], cc - centre[1]) + r + wall_px + 4.0
                                <= radius)

    cand = _coarse_candidates(norm, inner, pixel_mm, radius_range_mm, wall_mm, roi_fraction,
                              centre, radius, n_vials + _EXTRA_CANDIDATES)
    rc, sc, rad = _fine(_LocalFilter(norm, kernels, _FINE_HALF_WIDTH, padded, pad, bank_key),
                        cand, radii, allowed)
    good = np.isfinite(sc) & (sc > 0.3)
    rc, sc, rad = rc[good], sc[good], rad[good]
    keep = _separated(rc, sc, rad, n_vials)
    if len(keep) < n_vials:
        raise ValueError(f"found {len(keep)} vial-like discs, expected {n_vials}")
    rc, sc = rc[keep].astype(float), sc[keep]
    vial_r = _median_f64(rad[keep])      # np.median's value, without its overhead
    rc = _refine_centres(norm, rc, vial_r)
    ring_r = float(np.max(np.hypot(rc[:, 0] - centre[0], rc[:, 1] - centre[1])))
    # the bath lies outside the vial ring, so no pixel of it is near a vial: the vials'
    # own exclusion discs (1.6 r) lie inside ring_r + 1.6 r. Inside the eroded phantom, so
    # within its box: distances from the phantom centre there only (open grids)
    bath = np.zeros(disc.shape, bool)
    bath[b0:b1, c0:c1] = inner_box & _annulus(np.arange(b0, b1) - centre[0],
                                              np.arange(c0, c1) - centre[1],
                                              ring_r + 1.6 * vial_r, radius - 8.0 / pixel_mm)
    return VialLayout(rc, vial_r, roi_fraction * vial_r, centre, radius, bath, sc, disc)


def _annulus(dy: np.ndarray, dx: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """``(d > inner) & (d < outer)`` with ``d = np.hypot(dy[:, None], dx[None, :])``, the
    same decisions at a fraction of the cost.

    ``hypot`` (≈ 5 ns a pixel) is evaluated only where the squared distance, within a few
    ulp of d², does not settle the question (the thin ring between 1 − 10⁻⁹ and 1 + 10⁻⁹
    times the radii: usually the annulus itself, a tenth of the box); elsewhere d² decides
    with a wide margin."""
    d2 = np.add.outer(dy * dy, dx * dx)
    lo2 = (inner * (1.0 - 1e-9)) ** 2 if inner > 0 else -1.0
    hi2 = (outer * (1.0 + 1e-9)) ** 2 if outer > 0 else -1.0
    out = (d2 > lo2) & (d2 < hi2)               # every pixel of the annulus, and a few more
    idx = np.flatnonzero(out)
    r, c = np.divmod(idx, dx.size)
    d = np.hypot(dy[r], dx[c])
    out.ravel()[idx] = (d > inner) & (d < outer)
    return out


def _coarse_candidates(norm: np.ndarray, inner: np.ndarray, pixel_mm: float,
                       radius_range_mm: tuple[float, float], wall_mm: float,
                       roi_fraction: float, centre: tuple[float, float], radius: float,
                       n: int) -> np.ndarray:
    """Up to ``n`` candidate vial centres (full-resolution pixels, int) from the matched
    filter on the image binned to ≈ `_COARSE_MM` pixels, over the phantom's bounding box.

    Only candidates: the fine search (`_fine`) moves each to the full-resolution maximum,
    so this runs in float32 (half the FFT work)."""
    f = max(1, int(round(_COARSE_MM / pixel_mm)))
    px = pixel_mm * f
    radii = np.arange(radius_range_mm[0], radius_range_mm[1] + 1e-9, max(0.5, px / 2)) / px
    wall = max(wall_mm / px, 1.0)
    # same physical bath annulus as the fine filter (1 … 3 fine pixels beyond the wall)
    bank_key = (tuple(radii.tolist()), float(wall), float(roi_fraction), 1.0 / f)
    kernels = _kernel_bank(*bank_key)
    mc = kernels.shape[-1] // 2
    wall_f = max(wall_mm / pixel_mm, 1.0)
    # a centre that can pass the fine test (relaxed by a coarse pixel, smallest radius) lies
    # within `reach` of the phantom centre: the FFT covers those centres and the kernels'
    # reach around them only
    reach = radius - (float(radii[0]) * f + wall_f + 4.0 - f)
    rows, cols = np.flatnonzero(inner.any(axis=1)), np.flatnonzero(inner.any(axis=0))
    lo_r = max(int(rows[0]), int(np.floor(centre[0] - reach)))
    lo_c = max(int(cols[0]), int(np.floor(centre[1] - reach)))
    nr = (min(int(rows[-1]), int(np.ceil(centre[0] + reach))) - lo_r) // f + 1
    nc = (min(int(cols[-1]), int(np.ceil(centre[1] + reach))) - lo_c) // f + 1
    if nr < 3 or nc < 3:   # a phantom of a few coarse pixels holds no vial plate
        return np.zeros((0, 2), np.intp)
    # the input block: the output pixels and mc coarse pixels around (zero beyond the image)
    r0, c0 = lo_r - mc * f, lo_c - mc * f
    h, w = (nr + 2 * mc) * f, (nc + 2 * mc) * f
    box = np.zeros((h, w), np.float32)
    ra, rb = max(r0, 0), min(r0 + h, norm.shape[0])
    ca, cb = max(c0, 0), min(c0 + w, norm.shape[1])
    box[ra - r0:rb - r0, ca - c0:cb - c0] = norm[ra:rb, ca:cb]
    coarse = box[::f, ::f].copy()                        # bin f × f (sum of f² slices)
    for k in range(1, f * f):
        coarse += box[k // f::f, k % f::f]
    f_k = _kernel_spectrum(*bank_key, _fft_shape(coarse.shape))
    best, best_r = _best_over_radii(_correlate_valid(coarse, kernels, f_k), radii * f)
    # output pixel (i, j) covers full pixels lo + f·i … lo + f·i + f − 1: its centre
    pr = lo_r + f * np.arange(nr) + (f - 1) / 2
    pc = lo_c + f * np.arange(nc) + (f - 1) / 2
    ir, ic = np.rint(pr).astype(np.intp), np.rint(pc).astype(np.intp)
    ok = inner[ir[:, None], ic[None, :]]
    # the fine test, relaxed by a coarse pixel (a candidate only has to be near a vial)
    ok &= np.hypot(pr[:, None] - centre[0], pc[None, :] - centre[1]) \
        + best_r + (max(wall_mm / pixel_mm, 1.0) + 4.0 - f) <= radius
    if not ok.any():
        return np.zeros((0, 2), np.intp)
    best = np.where(ok, best / np.float32(f * f), -np.inf)          # the bins' means
    size = max(3, int(round(1.5 * _median_f64(best_r[ok]) / f)))
    peaks = (best == _maximum_filter(best, size)) & (best > 0.1)
    idx = np.argwhere(peaks)
    keep = _separated(idx, best[peaks], best_r[peaks] / f, n)
    i, j = idx[keep, 0], idx[keep, 1]
    # start the fine search where a parabola through the coarse peak and its neighbours
    # puts the maximum (most candidates then need no move at full resolution)
    # the four neighbours of every kept peak in one gather (−inf beyond the grid)
    ii = np.concatenate([i - 1, i + 1, i, i])
    jj = np.concatenate([j, j, j - 1, j + 1])
    inside = (ii >= 0) & (ii < nr) & (jj >= 0) & (jj < nc)
    nb = np.where(inside, best[np.clip(ii, 0, nr - 1), np.clip(jj, 0, nc - 1)],
                  -np.inf).reshape(2, 2, -1)                         # (axis, side, peak)
    d = _vertex(nb[:, 0], best[i, j], nb[:, 1])                       # (axis, peak)
    return np.rint(np.stack([pr[i], pc[j]], axis=1) + f * d.T).astype(np.intp)


def _vertex(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Offset (−0.5 … 0.5 pixel) of the vertex of the parabola through (−1, a), (0, b),
    (1, c); 0 where a neighbour is excluded (−inf) or the parabola is not concave."""
    curv = a - 2.0 * b + c
    ok = np.isfinite(curv) & (curv < 0)
    out = np.zeros(curv.shape)
    out[ok] = np.clip(0.5 * (a - c)[ok] / curv[ok], -0.5, 0.5)
    return out


def _fine(local: _LocalFilter, cand: np.ndarray, radii: np.ndarray, allowed,
          max_moves: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution best position, score and radius near each candidate: the matched
    filter (every radius) in the 3 × 3 window around it, moved to the best pixel until the
    best is the window's centre (a local maximum of the full-resolution filter; the window
    evaluated for all candidates at once, then for those that moved)."""
    h = local.half
    w = 2 * h + 1
    oi, oj = np.divmod(np.arange(w * w), w)
    off = np.stack([oi - h, oj - h], axis=1)                           # (w², 2)
    pos = np.asarray(cand, np.intp).reshape(-1, 2).copy()
    score = np.full(len(pos), -np.inf)
    rad = np.zeros(len(pos))
    todo = np.arange(len(pos))
    centre_k = (w * w) // 2
    for _ in range(max_moves):
        s = local.flat(pos[todo])                                      # (n, w², radii)
        best_r = radii[s.argmax(axis=2)]
        where = pos[todo, None, :] + off                               # (n, w², 2)
        best = np.where(allowed(where, best_r), s.max(axis=2), -np.inf)
        k = best.argmax(axis=1)
        sel = np.arange(len(todo))
        score[todo] = sc_k = best[sel, k]
        rad[todo] = best_r[sel, k]
        pos[todo] = where[sel, k]
        todo = todo[(k != centre_k) & (sc_k > -np.inf)]
        if todo.size == 0:
            break
    return pos, score, rad


def _refine_centres(norm: np.ndarray, rc: np.ndarray, r: float) -> np.ndarray:
    """Centroid of the bright vial interior around each peak (sub-pixel centres); a peak whose
    window would leave the image keeps its integer position."""
    out = np.asarray(rc, float).copy()
    n = int(np.ceil(r))
    # open offset grids (column and row), broadcast where used: the values of np.mgrid's
    # full grids without building them (np.mgrid alone cost a quarter of this function)
    oy = np.arange(-n, n + 1)[:, None]
    ox = oy.reshape(1, -1)
    inside = oy ** 2 + ox ** 2 <= (0.9 * r) ** 2
    p = out.astype(np.intp)
    ok = ((p[:, 0] - n >= 0) & (p[:, 1] - n >= 0) & (p[:, 0] + n + 1 <= norm.shape[0])
          & (p[:, 1] + n + 1 <= norm.shape[1]))
    if not ok.any():
        return out
    q = p[ok]
    # every window in one gather: (peaks, 2n + 1, 2n + 1) (2-d indices: ``norm`` may be a
    # view into a padded array, which a flat gather would copy first)
    w = norm[q[:, 0, None, None] + oy, q[:, 1, None, None] + ox] * inside
    s = w.sum(axis=(1, 2))
    good = s > 0
    cy = q[:, 0] + (w * oy).sum(axis=(1, 2)) / np.where(good, s, 1.0)
    cx = q[:, 1] + (w * ox).sum(axis=(1, 2)) / np.where(good, s, 1.0)
    sel = np.flatnonzero(ok)[good]
    out[sel, 0], out[sel, 1] = cy[good], cx[good]
    return out
