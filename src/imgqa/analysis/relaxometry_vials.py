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

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from imgqa.analysis._phantom_mask import phantom_disc

__all__ = ["VialLayout", "locate_vials", "vial_kernels", "local_scores", "as_planes",
           "abs_max"]

# Pixel size (mm) the coarse search bins to: a vial (r ≈ 8 mm) still spans ≈ 8 coarse pixels.
_COARSE_MM = 2.2
_FINE_HALF_WIDTH = 2      # fine window ±2 px around each candidate
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
    return [p if np.issubdtype(p.dtype, np.floating) else p.astype(np.float64)
            for p in planes]


def abs_max(planes: Sequence[np.ndarray]) -> np.ndarray:
    """Pixel-wise maximum of |image| over the images (float64), without an |image| copy:
    the larger of the maximum and −minimum (exact in any float dtype)."""
    hi = planes[0].astype(np.float64)
    lo = planes[0].astype(np.float64)
    for p in planes[1:]:
        np.maximum(hi, p, out=hi)
        np.minimum(lo, p, out=lo)
    if np.any(lo < 0):
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


def vial_kernels(radii_px: np.ndarray, wall_px: float, roi_fraction: float,
                 gap_px: float = 1.0) -> np.ndarray:
    """Matched-filter kernels, one per inner radius, on one odd grid: (radii, k, k).

    Interior disc (``roi_fraction`` · r) + bath annulus (r + wall + gap … + 2 px) − 2 · wall
    annulus (r … r + wall), each normalised to unit sum (the three sets are disjoint).
    Distances are between pixel centres, in pixels.
    """
    r = np.asarray(radii_px, float)[:, None, None]
    m = int(np.ceil(float(r.max()) + wall_px + gap_px + 2.0))
    y, x = np.mgrid[-m:m + 1, -m:m + 1]
    d2 = (x * x + y * y)[None].astype(float)
    inside = d2 <= (roi_fraction * r) ** 2
    outside = (d2 >= (r + wall_px + gap_px) ** 2) & (d2 <= (r + wall_px + gap_px + 2.0) ** 2)
    wall = (d2 >= r * r) & (d2 <= (r + wall_px) ** 2)
    k = np.zeros((r.shape[0], 2 * m + 1, 2 * m + 1))
    for mask, w in ((inside, 1.0), (outside, 1.0), (wall, -2.0)):
        k += mask * (w / mask.sum(axis=(1, 2), keepdims=True))
    return k


def _correlate_same(image: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """``fftconvolve(image, k, mode="same")`` for every (point-symmetric) kernel of the stack,
    in one batched FFT (the image transformed once)."""
    m = kernels.shape[-1] // 2
    rows, cols = image.shape
    shape = (sfft.next_fast_len(rows + 2 * m, real=True),
             sfft.next_fast_len(cols + 2 * m, real=True))
    f_img = sfft.rfft2(image, s=shape)
    f_k = sfft.rfft2(kernels, s=shape, axes=(-2, -1))
    full = sfft.irfft2(f_k * f_img[None], s=shape, axes=(-2, -1))
    return full[:, m:m + rows, m:m + cols]


class _LocalFilter:
    """The filter bank evaluated directly at chosen pixels: the zero-padded image, the
    kernels' support (the corners beyond the bath annulus are 0 for every radius) and the
    gather offsets prepared once for all calls."""

    def __init__(self, image: np.ndarray, kernels: np.ndarray, half: int) -> None:
        self.n_k, size = kernels.shape[0], kernels.shape[-1]
        m = size // 2
        self.half, self.h = half, 2 * half + 1
        self.padded = np.pad(np.asarray(image, float), m + half).ravel()
        width = image.shape[1] + 2 * (m + half)
        support = np.flatnonzero(np.any(kernels != 0, axis=0))
        sr, sc = np.divmod(support, size)
        oi, oj = np.divmod(np.arange(self.h * self.h), self.h)
        self.width = width
        # padded index of image pixel (p + offset − half + kernel pixel − m) = p + offset +
        # pixel: offsets (h², support), int32 when the image allows (half the index traffic)
        dtype = np.int32 if self.padded.size < 2 ** 31 else np.intp
        self.offsets = ((oi * width + oj)[:, None] + (sr * width + sc)[None, :]).astype(dtype)
        self.weights = np.ascontiguousarray(kernels.reshape(self.n_k, -1)[:, support].T)

    def __call__(self, pos_rc: np.ndarray) -> np.ndarray:
        """Responses (positions, kernels, h, h) within ±half of each integer position."""
        p = np.asarray(pos_rc, np.intp).reshape(-1, 2)
        base = (p[:, 0] * self.width + p[:, 1]).astype(self.offsets.dtype)
        out = np.empty((len(p), self.h * self.h, self.n_k))
        # one position at a time: its (h², support) gather is ≈ 100 kB and reuses the heap;
        # all positions at once (MBs) cost as much again in page faults of fresh memory
        for i, b in enumerate(base):
            out[i] = np.take(self.padded, b + self.offsets) @ self.weights
        return out.reshape(len(p), self.h, self.h, self.n_k).transpose(0, 3, 1, 2)


def local_scores(image: np.ndarray, pos_rc: np.ndarray, kernels: np.ndarray, half: int
                 ) -> np.ndarray:
    """Filter responses at every pixel within ±``half`` of each integer position, all
    kernels: (positions, kernels, 2·half + 1, 2·half + 1). Outside the image counts as 0 (as
    the zero-padded FFT convolution). One flat gather of (positions, window offsets, kernel
    support) pixels and a matrix product."""
    return _LocalFilter(image, kernels, half)(pos_rc)


def _best_over_radii(score: np.ndarray, radii_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best score over the radius axis (axis 0 or 1 of ``score``: the leading kernel axis
    given as the first axis here) and the radius that gives it (first maximum)."""
    k = np.argmax(score, axis=0)
    return np.take_along_axis(score, k[None], axis=0)[0], radii_px[k]


def _separated(rc: np.ndarray, sc: np.ndarray, rad: np.ndarray, n: int) -> list[int]:
    """Indices of the strongest positions with none closer than 1.5 radii (of the stronger
    one) to a stronger kept one, at most ``n`` (a few dozen candidates: plain floats)."""
    pts = [(float(r), float(c)) for r, c in np.asarray(rc, float)]
    lim = [1.5 * float(v) for v in rad]
    keep: list[int] = []
    for i in np.argsort(sc, kind="stable")[::-1].tolist():
        y, x = pts[i]
        if all(math.hypot(y - pts[j][0], x - pts[j][1]) > lim[j] for j in keep):
            keep.append(i)
            if len(keep) == n:
                break
    return keep


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
    peak = abs_max(as_planes(stack))
    disc, centre, radius = phantom_disc(peak)
    inner = ndimage.binary_erosion(disc, iterations=max(1, int(round(4.0 / pixel_mm))))
    if not inner.any():
        raise ValueError("the phantom is too small for a vial plate")
    level = float(np.median(peak[inner]))
    norm = peak / max(level, 1e-12)
    radii_mm = np.arange(radius_range_mm[0], radius_range_mm[1] + 1e-9, max(0.5, pixel_mm / 2))
    radii = radii_mm / pixel_mm
    wall_px = max(wall_mm / pixel_mm, 1.0)

    def allowed(rc: np.ndarray, r: np.ndarray) -> np.ndarray:
        # inside the eroded phantom, and the whole wall annulus (+ bath ring) inside it
        # (else the air outside scores)
        rr, cc = rc[..., 0], rc[..., 1]
        ok = inner[np.clip(rr, 0, inner.shape[0] - 1), np.clip(cc, 0, inner.shape[1] - 1)]
        ok &= (rr >= 0) & (rr < inner.shape[0]) & (cc >= 0) & (cc < inner.shape[1])
        return ok & (np.hypot(rr - centre[0], cc - centre[1]) + r + wall_px + 4.0 <= radius)

    cand = _coarse_candidates(norm, inner, pixel_mm, radius_range_mm, wall_mm, roi_fraction,
                              centre, radius, n_vials + _EXTRA_CANDIDATES)
    kernels = vial_kernels(radii, wall_px, roi_fraction)
    rc, sc, rad = _fine(norm, cand, kernels, radii, allowed)
    good = np.isfinite(sc) & (sc > 0.3)
    rc, sc, rad = rc[good], sc[good], rad[good]
    keep = _separated(rc.astype(float), sc, rad, n_vials)
    if len(keep) < n_vials:
        raise ValueError(f"found {len(keep)} vial-like discs, expected {n_vials}")
    rc, sc = rc[keep].astype(float), sc[keep]
    vial_r = float(np.median(rad[keep]))
    rc = _refine_centres(norm, rc, vial_r)
    # distance from the phantom centre on open grids (no (2, rows, cols) index array)
    dist_c = np.hypot(np.arange(norm.shape[0])[:, None] - centre[0],
                      np.arange(norm.shape[1])[None, :] - centre[1])
    ring_r = float(np.max(np.hypot(rc[:, 0] - centre[0], rc[:, 1] - centre[1])))
    # the bath lies outside the vial ring, so no pixel of it is near a vial: the vials'
    # own exclusion discs (1.6 r) lie inside ring_r + 1.6 r
    bath = inner & (dist_c > ring_r + 1.6 * vial_r) & (dist_c < radius - 8.0 / pixel_mm)
    return VialLayout(rc, vial_r, roi_fraction * vial_r, centre, radius, bath, sc, disc)


def _coarse_candidates(norm: np.ndarray, inner: np.ndarray, pixel_mm: float,
                       radius_range_mm: tuple[float, float], wall_mm: float,
                       roi_fraction: float, centre: tuple[float, float], radius: float,
                       n: int) -> np.ndarray:
    """Up to ``n`` candidate vial centres (full-resolution pixels, int) from the matched
    filter on the image binned to ≈ `_COARSE_MM` pixels, over the phantom's bounding box."""
    f = max(1, int(round(_COARSE_MM / pixel_mm)))
    px = pixel_mm * f
    radii = np.arange(radius_range_mm[0], radius_range_mm[1] + 1e-9, max(0.5, px / 2)) / px
    wall = max(wall_mm / px, 1.0)
    # same physical bath annulus as the fine filter (1 … 3 fine pixels beyond the wall)
    kernels = vial_kernels(radii, wall, roi_fraction, gap_px=1.0 / f)
    m = kernels.shape[-1] // 2 * f
    rows, cols = np.nonzero(inner.any(axis=1))[0], np.nonzero(inner.any(axis=0))[0]
    r0, c0 = max(rows[0] - m, 0), max(cols[0] - m, 0)
    nr = (min(rows[-1] + m + 1, norm.shape[0]) - r0) // f
    nc = (min(cols[-1] + m + 1, norm.shape[1]) - c0) // f
    if nr < 3 or nc < 3:   # a phantom of a few coarse pixels holds no vial plate
        return np.zeros((0, 2), np.intp)
    box = norm[r0:r0 + nr * f, c0:c0 + nc * f]
    coarse = box.reshape(nr, f, nc, f).mean(axis=(1, 3))
    best, best_r = _best_over_radii(_correlate_same(coarse, kernels), radii * f)
    # coarse pixel (i, j) covers full pixels f·i … f·i + f − 1: its centre
    pos = np.stack(np.meshgrid(r0 + f * np.arange(nr) + (f - 1) / 2,
                               c0 + f * np.arange(nc) + (f - 1) / 2, indexing="ij"), axis=-1)
    ipos = np.rint(pos).astype(np.intp)
    ok = inner[ipos[..., 0], ipos[..., 1]]
    # the fine test, relaxed by a coarse pixel (a candidate only has to be near a vial)
    ok &= np.hypot(pos[..., 0] - centre[0], pos[..., 1] - centre[1]) \
        + best_r + max(wall_mm / pixel_mm, 1.0) + 4.0 - f <= radius
    best = np.where(ok, best, -np.inf)
    size = max(3, int(round(1.5 * float(np.median(best_r[ok])) / f))) if ok.any() else 3
    peaks = (best == ndimage.maximum_filter(best, size=size)) & ok & (best > 0.1)
    idx = np.argwhere(peaks)
    keep = _separated(idx.astype(float), best[peaks], best_r[peaks] / f, n)
    return ipos[idx[keep, 0], idx[keep, 1]]


def _fine(norm: np.ndarray, cand: np.ndarray, kernels: np.ndarray, radii: np.ndarray,
          allowed, max_moves: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full-resolution best position, score and radius near each candidate: the matched
    filter over a ±`_FINE_HALF_WIDTH` window, re-centred while the best lies on the window's
    edge (a local maximum is reached)."""
    h = _FINE_HALF_WIDTH
    off = np.stack(np.meshgrid(np.arange(-h, h + 1), np.arange(-h, h + 1), indexing="ij"),
                   axis=-1)                                            # (w, w, 2)
    pos = np.asarray(cand, np.intp).reshape(-1, 2).copy()
    score = np.full(len(pos), -np.inf)
    rad = np.zeros(len(pos))
    todo = np.arange(len(pos))
    scores_at = _LocalFilter(norm, kernels, h)
    for _ in range(max_moves):
        if todo.size == 0:
            break
        s = scores_at(pos[todo])                                       # (n, radii, w, w)
        best, best_r = _best_over_radii(np.moveaxis(s, 1, 0), radii)   # (n, w, w)
        where = pos[todo, None, None, :] + off[None]                   # (n, w, w, 2)
        best = np.where(allowed(where, best_r), best, -np.inf)
        flat = best.reshape(len(todo), -1)
        k = np.argmax(flat, axis=1)
        ki, kj = np.unravel_index(k, best.shape[1:])
        score[todo] = flat[np.arange(len(todo)), k]
        rad[todo] = best_r[np.arange(len(todo)), ki, kj]
        pos[todo] = pos[todo] + np.stack([ki - h, kj - h], axis=1)
        edge = ((ki == 0) | (ki == 2 * h) | (kj == 0) | (kj == 2 * h)) \
            & np.isfinite(score[todo])
        todo = todo[edge]
    return pos, score, rad


def _refine_centres(norm: np.ndarray, rc: np.ndarray, r: float) -> np.ndarray:
    """Centroid of the bright vial interior around each peak (sub-pixel centres); a peak whose
    window would leave the image keeps its integer position."""
    out = np.asarray(rc, float).copy()
    n = int(np.ceil(r))
    oy, ox = np.mgrid[-n:n + 1, -n:n + 1]
    inside = oy ** 2 + ox ** 2 <= (0.9 * r) ** 2
    p = out.astype(np.intp)
    ok = ((p[:, 0] - n >= 0) & (p[:, 1] - n >= 0) & (p[:, 0] + n + 1 <= norm.shape[0])
          & (p[:, 1] + n + 1 <= norm.shape[1]))
    if not ok.any():
        return out
    q = p[ok]
    # every window in one gather: (peaks, 2n + 1, 2n + 1)
    idx = ((q[:, 0] - n) * norm.shape[1] + (q[:, 1] - n))[:, None, None] \
        + (oy + n) * norm.shape[1] + (ox + n)
    w = np.take(norm, idx) * inside
    s = w.sum(axis=(1, 2))
    good = s > 0
    cy = q[:, 0] + (w * oy).sum(axis=(1, 2)) / np.where(good, s, 1.0)
    cx = q[:, 1] + (w * ox).sum(axis=(1, 2)) / np.where(good, s, 1.0)
    sel = np.flatnonzero(ok)[good]
    out[sel, 0], out[sel, 1] = cy[good], cx[good]
    return out
