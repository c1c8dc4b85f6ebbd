"""MagNET resolution object (IPEM Report 112): MTF50 of the square block's edges.

The edges of the dark square block, slightly rotated, give the presampled MTF by the
slanted-edge method (IEC 62220-1-1; the ESF binning and MTF maths are
`imgqa.analysis.edge_mtf`'s own `binned_esf` / `presampled_mtf`); MTF50 in lp/mm along rows
and columns. The block is searched on a reduced copy and each edge line is fitted from the
block's outline (no Hough search). Split from `imgqa.analysis.magnet`, which re-exports it.

Speed (a 512² image in ≈ 2.5 ms CPU on a shared 2-core machine): every step works on the
block's box or its two edge ROIs, both edges go through one sequence of numpy calls (at this
size each call costs a few µs, so the count of calls is the cost). The usual case takes
shortcuts that give the same numbers bit for bit: the block plainly one piece in its box (no
full-resolution label), every window inside the ROI, every line kept by a fit (sums over the
line index computed once, medians by partition).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

from imgqa.analysis._phantom_mask import otsu_threshold
from imgqa.analysis.edge_mtf import (
    EdgeLine,
    _crossing,
    binned_esf,
    nyquist_band,
    presampled_mtf,
)

__all__ = ["Resolution", "magnet_resolution"]


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
    The block is searched on a reduced copy (≈ 64 px across, 4 samples per cell; the block
    is ≥ 15 mm, the thin bar groups are not compact) and then delineated at full resolution
    inside its box only; the edge ROIs are 0.6 of its side long, and the MTF needs 20 lines
    along the edge, so the block must span ≥ 34 pixels (17 mm at 0.5 mm). Each edge line is fitted in its ROI from the block's outline (sub-pixel by
    gradient-weighted centroids, as `imgqa.analysis.edge_mtf.find_edge` does after its Hough
    search); the presampled MTF follows IEC 62220-1-1 (band ±10 mm across the edge, ESF bins
    of a quarter pixel, Tukey window), as `imgqa.analysis.edge_mtf.slanted_edge_mtf` with
    the edge given.
    """
    img = np.asarray(image, np.float32)
    (r0, c0), block, (br, bc), (hh, ww) = _find_block(img, pixel_mm)
    rc = (br + r0, bc + c0)                 # the block's centroid (image row, col)
    ri, ci = int(round(rc[0])), int(round(rc[1]))
    # edge midpoints: first block pixel down the middle column / along the middle row
    top = r0 + int(np.argmax(block[:, ci - c0]))
    left = c0 + int(np.argmax(block[ri - r0, :]))
    half = int(round(0.3 * (min(hh, ww) - 1)))      # 0.3 × the shorter extent (ptp)
    across = max(20, int(round(10.0 / pixel_mm)))
    rois, works, masks = [], [], []
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
        # canonical frame (rows along the edge, columns across it), in float64 once
        vertical = name == "horizontal"
        works.append((roi if vertical else roi.T).astype(np.float64))
        masks.append(inside if vertical else inside.T)
        rois.append(((float(ra), float(ca)), (float(rb), float(cb))))
    mtfs: dict[str, float | None] = {}
    curves = []
    lines = _fit_edges(works, masks, (False, True))
    for name, work, line in zip(("vertical", "horizontal"), works, lines, strict=True):
        mtfs[name] = None
        if line is None:
            continue
        try:
            f, m, f_full, m_full = _edge_mtf(work, line, pixel_mm, across // 2)
        except ValueError:
            continue
        mtfs[name] = _crossing(f_full, m_full, 0.5)
        curves.append((name, f, m))
    vals = [v for v in mtfs.values() if v is not None]
    if not vals:
        raise ValueError("no usable edge on the block")
    return Resolution(sum(vals) / len(vals), mtfs["vertical"], mtfs["horizontal"],
                      tuple(curves), tuple(rois), (float(rc[0]), float(rc[1])))


_CROSS = ndimage.generate_binary_structure(2, 1)   # 4-connectivity (ndimage.label's default)
_BLOCK_SEARCH_PX = 64      # the block is searched on an image reduced to about this size


def _reduced(img: np.ndarray, f: int) -> np.ndarray:
    """The image reduced f× in each direction: per f × f cell, the mean of 4 samples at a
    quarter and three quarters of the cell (halves the noise of one sample; reads 4 of the
    f² pixels — the reduced copy only has to tell a ≥ 15 mm dark block from the phantom)."""
    if f == 1:
        return img
    h, w = (img.shape[0] // f) * f, (img.shape[1] // f) * f
    a, b = f // 4, (3 * f) // 4
    out = img[a:h:f, a:w:f] + img[a:h:f, b:w:f]
    out += img[b:h:f, a:w:f]
    out += img[b:h:f, b:w:f]
    out *= np.float32(0.25)
    return out


def _median(x: np.ndarray) -> float:
    """Median of a 1-D array (``np.partition``: ``np.median``'s generic set-up dominates on
    the few hundred values here)."""
    n = x.size
    p = np.partition(x, [(n - 1) // 2, n // 2])
    return 0.5 * float(p[(n - 1) // 2] + p[n // 2])


def _runs(mask: np.ndarray, per_row: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(rows, first, last)`` when ``mask`` is plainly one 4-connected component: its rows
    with pixels (``rows``, ``per_row`` pixels each) follow each other, each holds one run
    (columns ``first`` to ``last``) and the runs of neighbouring rows share a column. None
    otherwise, which may still be one component (``ndimage.label`` then decides)."""
    rows = np.flatnonzero(per_row)
    if rows.size == 0 or rows[-1] - rows[0] + 1 != rows.size:
        return None
    # one run per row: as many run starts (a pixel in column 0 or after a gap) as rows
    if (np.count_nonzero(mask[:, 1:] > mask[:, :-1])
            + np.count_nonzero(mask[:, 0]) != rows.size):
        return None
    first = np.argmax(mask[rows[0]:rows[-1] + 1], axis=1)
    last = first + per_row[rows[0]:rows[-1] + 1] - 1
    if not ((first[1:] <= last[:-1]) & (first[:-1] <= last[1:])).all():
        return None
    return rows, first, last


def _find_block(img: np.ndarray, pixel_mm: float
                ) -> tuple[tuple[int, int], np.ndarray, tuple[float, float], tuple[int, int]]:
    """The square block: ``((row0, col0), mask, (row, col), (height, width))``, the mask
    (full resolution) in a box whose corner is (row0, col0), its centroid in that box and its
    extent (px).

    The block is the largest compact dark blob (below half the phantom's median) with a side
    ≥ 15 mm. Candidates are found on a reduced copy (`_reduced`); each is re-labelled at full
    resolution inside its box and must pass the same test there (the reduction only spares
    the full-image passes).
    """
    f = max(1, min(img.shape) // _BLOCK_SEARCH_PX)
    small = _reduced(img, f)
    # one labelling of the pixels below half the Otsu level gives both the air (regions
    # touching the border) and the holes in the phantom (block cores, bars): the phantom,
    # holes filled, is everything else (as `_phantom_mask.phantom_disc`, bar its largest-
    # component step, which only matters for bright specks in the air)
    lab, n = ndimage.label(small <= 0.5 * otsu_threshold(small), structure=_CROSS)
    inner = np.ones(n + 1, bool)     # per label: not touching the border (0: above it)
    inner[np.concatenate((lab[0], lab[-1], lab[:, 0], lab[:, -1]))] = False
    inner[0] = True
    level = _median(small[inner[lab]])
    # the air's areas zeroed in the per-label counts, not its pixels in ``lab`` (one pass
    # fewer): find_objects then boxes the air too, which the area test below stops at
    areas = np.bincount(lab.ravel(), minlength=n + 1)
    areas[~inner] = 0
    areas = areas[1:]
    if not areas.any():
        raise ValueError("no dark block in the phantom")
    boxes = ndimage.find_objects(lab, max_label=n)   # n given: no pass for the maximum
    for k in np.argsort(areas)[::-1][:5]:
        if areas[k] == 0:    # air, or no label left (find_objects' None for a zeroed one)
            break
        sl = boxes[k]
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        # loose on the reduced copy (a cell of f px: a 15 mm block may span 3 of them);
        # the full-resolution test decides
        if not (0.5 < h / w < 2.0 and areas[k] > 0.4 * h * w and (h + 1) * f * pixel_mm > 12):
            continue
        r0, c0 = max((sl[0].start - 2) * f, 0), max((sl[1].start - 2) * f, 0)
        sub = img[r0:(sl[0].stop + 2) * f, c0:(sl[1].stop + 2) * f] < 0.5 * level
        per_row = sub.sum(axis=1)
        # centroid and extent from the row and column counts (the same numbers as from
        # the pixels' coordinates, without listing them)
        runs = _runs(sub, per_row)
        if runs is not None:
            # the block alone in its box (the usual case) and plainly so from its rows: no
            # full-resolution label (the costliest step here), and the columns' extent and
            # index sum from the runs (the same integers as from the column counts)
            mask = sub
            rows, first, last = runs
            c_first, c_last = int(first.min()), int(last.max())
            col_sum = int(((first + last) * per_row[rows]).sum()) // 2
        else:
            lab2, n2 = ndimage.label(sub, structure=_CROSS)
            if n2 == 0:
                continue
            if n2 == 1:
                mask = sub
            else:
                a2 = np.bincount(lab2.ravel())
                a2[0] = 0
                mask = lab2 == int(np.argmax(a2))
                per_row = mask.sum(axis=1)
            per_col = mask.sum(axis=0)
            rows, cols = np.flatnonzero(per_row), np.flatnonzero(per_col)
            c_first, c_last = int(cols[0]), int(cols[-1])
            col_sum = int(per_col @ np.arange(per_col.size))
        area = int(per_row.sum())
        hh, ww = int(rows[-1] - rows[0]) + 1, c_last - c_first + 1
        if 0.6 < hh / ww < 1.6 and area > 0.5 * hh * ww and hh * pixel_mm > 15:
            centre = (float(per_row @ np.arange(per_row.size)) / area, float(col_sum) / area)
            return (r0, c0), mask, centre, (hh, ww)
    raise ValueError("no square block (≥ 15 mm) in the phantom")


_CENTROID_HALF = 8         # half-window (px) of the gradient centroid across the edge
_MIN_LINE_CONTRAST = 0.4   # a line's gradient peak must reach this × the median peak


@lru_cache(maxsize=4)
def _gauss_weights(sigma: float, order: int) -> np.ndarray:
    """``ndimage.gaussian_filter1d``'s correlation weights (truncate 4), from its response
    to a unit impulse: the same numbers, computed once instead of on every call."""
    r = int(4.0 * sigma + 0.5)
    imp = np.zeros(4 * r + 1)
    imp[2 * r] = 1.0
    w = ndimage.gaussian_filter1d(imp, sigma, order=order)[r:3 * r + 1][::-1].copy()
    w.setflags(write=False)
    return w


def _du(work: np.ndarray) -> np.ndarray:
    """Gaussian derivative across the edge (σ 2 px along the rows, 1 px across): exactly
    ``ndimage.gaussian_filter(work, sigma=(2, 1), order=(0, 1))``, without rebuilding its
    kernels per call."""
    g = ndimage.correlate1d(work, _gauss_weights(2.0, 0), axis=-2, mode="reflect")
    return ndimage.correlate1d(g, _gauss_weights(1.0, 1), axis=-1, mode="reflect")


def _fit_edges(works: list[np.ndarray], masks: list[np.ndarray], vertical: tuple[bool, ...]
               ) -> list[EdgeLine | None]:
    """`_block_edges` on the two edges at once when their ROIs have the same shape (the
    usual case: each call then serves both), else (an ROI cut by the image border) or when
    one of them fails, one by one; None for an edge that cannot be fitted."""
    if len(works) > 1 and len({w.shape for w in works}) == 1:
        try:
            return list(_block_edges(np.stack(works), np.stack(masks), vertical))
        except ValueError:
            pass
    out: list[EdgeLine | None] = []
    for w, m, vert in zip(works, masks, vertical, strict=True):
        try:
            out.append(_block_edges(w[None], m[None], (vert,))[0])
        except ValueError:
            out.append(None)
    return out


def _masked_median(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Median of each row of ``x`` over its ``mask``-ed entries (every row has one)."""
    if mask.all():
        # every entry kept (the usual case): the two middle order statistics by a partition
        # (the values a sort gives, in half the calls)
        n = x.shape[1]
        p = np.partition(x, ((n - 1) // 2, n // 2), axis=1)
        return 0.5 * (p[:, (n - 1) // 2] + p[:, n // 2])
    y = np.where(mask, x, np.inf)
    y.sort(axis=1)
    n = mask.sum(axis=1)
    rows = np.arange(x.shape[0])
    return 0.5 * (y[rows, (n - 1) // 2] + y[rows, n // 2])


@lru_cache(maxsize=8)
def _line_index(n: int) -> tuple[np.ndarray, float, np.ndarray, float]:
    """``x = 0 … n − 1`` (the lines along an edge), its mean, its deviations from the mean
    and their sum of squares: the same for every fit over ``n`` lines, computed once."""
    x = np.arange(n, dtype=float)
    xm = x.sum() / n
    dx = x - xm
    sxx = (dx * dx).sum()
    x.setflags(write=False)
    dx.setflags(write=False)
    return x, xm, dx, sxx


def _line_fits(y: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares lines y = a + b·x through each row's ``mask``-ed points, x the column
    index (the line along the edge): (a, b) per row (closed form, centred; ``y`` finite)."""
    x, xm0, dx0, sxx0 = _line_index(y.shape[1])
    if mask.all():
        # every point kept (the usual case): x's mean and spread are `_line_index`'s (the
        # same sums of the same numbers as over the rows of x × mask)
        ym = y.sum(axis=1) / y.shape[1]
        b = (dx0 * (y - ym[:, None])).sum(axis=1) / (sxx0 if sxx0 > 0 else np.inf)
        return ym - b * xm0, b
    n = mask.sum(axis=1)
    xm = (x * mask).sum(axis=1) / n
    ym = (y * mask).sum(axis=1) / n
    dx = (x - xm[:, None]) * mask
    sxx = (dx * dx).sum(axis=1)
    b = (dx * (y - ym[:, None])).sum(axis=1) / np.where(sxx > 0, sxx, np.inf)
    return ym - b * xm, b


def _block_edge(roi: np.ndarray, inside: np.ndarray, *, vertical: bool, pixel_mm: float
                ) -> EdgeLine:
    """The block edge in one edge ROI (image orientation), fitted to sub-pixel precision
    (`_block_edges`). ``pixel_mm`` is not needed (square pixels) and kept for callers."""
    work = np.asarray(roi if vertical else roi.T, np.float64)
    mask = np.asarray(inside if vertical else inside.T, bool)
    return _block_edges(work[None], mask[None], (vertical,))[0]


def _block_edges(work: np.ndarray, mask: np.ndarray, vertical: tuple[bool, ...]
                 ) -> list[EdgeLine]:
    """Block edges in a stack of ROIs in the canonical frame (E, rows v along the edge,
    columns u across it; ``mask`` the block's pixels), each fitted to sub-pixel precision.

    Per edge, as `imgqa.analysis.edge_mtf.find_edge` after its Hough search: start from the
    block's outline (first block pixel on each line across the edge); then, twice, the
    centroid of the squared gradient across the edge (Gaussian derivative, σ 2 px along and
    1 px across) within ±8 px of the line on every line, and a straight-line fit with up to 3
    rounds of outlier rejection (3 MAD). A round that keeps the same lines as the one before
    (a pass with the same windows) would give the same line again, so they stop there. The
    edges are the rows of every array (one numpy call serves all of them); ``vertical``
    says, per edge, whether it is a near-vertical edge of the image (`EdgeLine.vertical`).

    Raises
    ------
    ValueError
        An edge is not in its ROI, leaves it, or has too few lines with a gradient peak.
    """
    ne, nv, nu = work.shape
    v = _line_index(nv)[0]    # the lines along the edge, 0 … nv − 1 (read-only)
    has = np.asarray(mask.any(axis=2))
    if has.sum(axis=1).min() < 10:
        raise ValueError("the block edge is not in its ROI")
    # the block is on the high-u side of its left/top edge: outline = first block pixel − ½
    first = np.argmax(mask, axis=2) - 0.5
    a, b = _line_fits(first, has)
    du = _du(work)      # C-contiguous (a new array): gathered below by flat indices
    k = np.arange(-_CENTROID_HALF, _CENTROID_HALF + 1)
    line0 = (np.arange(ne * nv) * nu).reshape(ne, nv, 1)    # flat index of each line's u = 0
    last = None
    for _ in range(2):  # refine; re-centre the windows on the refined line, refine again
        centre = np.rint(a[:, None] + b[:, None] * v).astype(np.intp)
        if last is not None and (centre == last).all():
            break       # same windows: the second pass would give the same lines
        last = centre
        ok = (centre >= _CENTROID_HALF) & (centre < nu - _CENTROID_HALF)
        if ok.all():
            # every window in the ROI (the usual case): nothing to clip, and ≥ 10 lines
            # (``has`` above)
            cols = centre[:, :, None] + k
        else:
            if ok.sum(axis=1).min() < 10:
                raise ValueError("the edge leaves its ROI")
            # windows of the lines outside (not used) kept inside the ROI for the gather
            cols = np.minimum(np.maximum(centre, _CENTROID_HALF), nu - 1 - _CENTROID_HALF
                              )[:, :, None] + k
        # the block (dark) lies on the high-u side of the outline: the step falls with u, so
        # only the falling part of the gradient is edge (find_edge takes the sign from the
        # lines' median; here it is known)
        # (one flat `take`, about half the cost of the three-index gather; the windows
        # negated, not the whole ROI: the same values)
        g = np.maximum(-np.take(du, line0 + cols), 0.0)
        contrast = g.max(axis=2)
        line_ok = ok & (contrast > _MIN_LINE_CONTRAST * _masked_median(contrast, ok)[:, None])
        if line_ok.sum(axis=1).min() < 10:
            raise ValueError("too few lines across the block edge")
        w = g * g
        pos = (w * cols).sum(axis=2) / np.maximum(w.sum(axis=2), 1e-12)
        keep = line_ok
        for _ in range(3):
            a, b = _line_fits(pos, keep)
            resid = np.abs(pos - (a[:, None] + b[:, None] * v))
            mad = _masked_median(resid, keep) * 1.4826 + 0.02
            new = line_ok & (resid < np.maximum(3 * mad, 0.1)[:, None])
            if (new == keep).all():
                break   # the same lines: the next fit would be this one
            keep = new
    out = []
    for i in range(ne):
        kept = np.flatnonzero(keep[i])
        out.append(EdgeLine(vertical=vertical[i], angle_deg=float(np.degrees(np.arctan(b[i]))),
                            offset_px=float(a[i]), slope=float(b[i]),
                            v_range=(int(kept[0]), int(kept[-1]))))
    return out


def _edge_mtf(work: np.ndarray, line: EdgeLine, pixel_mm: float, half: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Presampled MTF of one edge (IEC 62220-1-1, ESF bins of a quarter pixel, Tukey
    window): the steps of `imgqa.analysis.edge_mtf.slanted_edge_mtf` with the edge given
    and square pixels, without its warnings, noise and contrast figures.

    ``work`` is in the canonical frame (rows along the edge). Returns ``(f, mtf, f_full,
    mtf_full)``: up to Nyquist, and up to the end of the oversampled band (for crossings).
    """
    nu = work.shape[1]
    v = np.arange(line.v_range[0], line.v_range[1] + 1)
    u_line = line.offset_px + line.slope * v
    centre = np.rint(u_line).astype(np.intp)
    inside = (centre >= half) & (centre < nu - half)
    if np.count_nonzero(inside) < 20:
        raise ValueError("the band around the edge does not fit in the ROI")
    v, u_line, centre = v[inside], u_line[inside], centre[inside]
    cols = centre[:, None] + np.arange(-half, half + 1)
    vals = work[v[:, None], cols]
    su = float(pixel_mm)
    cos_t = 1.0 / np.hypot(1.0, line.slope)
    # mm along the edge normal, oriented so that the ESF rises with distance: the dark block
    # lies on the high-u side of its outline, so the rising side is low u (slanted_edge_mtf
    # finds this from the two sides' means; the same numbers)
    dist = (u_line[:, None] - cols) * su * cos_t
    h = su / 4
    nb = int(np.floor((half - 1) * su * cos_t / h))
    x, esf, _ = binned_esf(dist, vals, h, nb)
    _, f_full, mtf_full = presampled_mtf(x, esf, h, "tukey")
    f, m = nyquist_band(f_full, mtf_full, 0.5 / su)
    return f, m, f_full, mtf_full
