"""Gamma-camera spatial resolution (FWHM/FWTM) from the image of a straight edge.

The edge method: a lead (or other attenuating) edge on the detector gives a step in counts;
the profile across it is the edge spread function (ESF), whose derivative is the line spread
function (LSF) whose FWHM/FWTM are measured with the same NEMA NU 1 interpolation as for line
sources (`imgqa.analysis.line_spread.fwhm_fwtm`).

Pipeline (any orientation, several edges per image):

1. the detector's field edge (connected runs of zero counts, widened by a margin) is excluded;
2. edge pixels are those with a strong Gaussian-smoothed gradient; an *oriented* Hough
   transform (angle 0–360°, so the two polarities of one line are told apart) finds straight
   edges; runs of edge pixels along each line are its segments (a checkerboard line gives
   several);
3. the edge is refined to sub-pixel precision (centroid of the squared gradient across the
   edge, every pixel along it, straight-line fit with outliers rejected);
4. the pixels of a band ± `half_width_mm` about the segment (ends trimmed) are binned by their
   signed distance to the line in bins of pixel/4 → oversampled ESF (Samei, Flynn & Reimann
   1998; with a tilted edge the pixels sample every phase, as for the slanted-edge MTF). Each
   bin's sample position is the mean distance of its pixels (uneven phase coverage does not
   distort the ESF). Every edge is normalised to its own plateaus and the edges of one
   direction are pooled. Edges sweeping < 1 pixel across the grid (tilt ≲ 0.3°) give one
   sample per pixel, spline-interpolated to ¼ pixel, with a warning;
5. LSF = forward differences of the ESF, smoothed by a Gaussian of σ = `smoothing_px` because a
   plain difference of 1/4-pixel bins is dominated by Poisson noise. By default σ is the
   smallest of ¼, ½, ¾ and 1 pixel that brings the propagated counting noise near the LSF
   peak to ≤ 1 % of the peak (the FWHM's relative SD is about that ratio). The known
   smoothing variance σ² and the two one-bin boxes (bin average, forward difference, h²/12
   each) are removed from the widths in quadrature (exact for a Gaussian LSF);
6. FWHM and FWTM of the LSF by `fwhm_fwtm` (parabolic peak, linear interpolation).

References
----------
.. [1] NEMA NU 1-2018, Performance Measurements of Gamma Cameras, §2.1 (FWHM/FWTM from
   interpolated profiles).
.. [2] E. Samei, M. J. Flynn, D. A. Reimann, "A method for measuring the presampled MTF of
   digital radiographic systems using an edge test device", Med Phys 25 (1998) 102–113,
   doi:10.1118/1.598165 (oversampled ESF from a tilted edge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from imgqa.analysis.line_spread import fwhm_fwtm

__all__ = ["EdgeSegment", "EdgeSpread", "edge_resolution", "find_edge_segments"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_FWTM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(10.0))
# Gradient smoothing (pixels) for finding edges; positions are refined on the same gradient.
_GRADIENT_SIGMA_PX = 1.5
# Angular tolerance (degrees) of the oriented Hough vote and its angle step.
_HOUGH_TOL_DEG = 2.0
_HOUGH_STEP_DEG = 0.5
# Half-width (pixels) across the edge for the sub-pixel centroid.
_CENTROID_HALF_PX = 6
# Largest gap (pixels) along a line inside one edge segment.
_MAX_GAP_PX = 8.0
_OVERSAMPLING = 4
# LSF smoothing tried (σ, pixels), smallest first, and the LSF noise/peak it must reach.
_SMOOTHING_LADDER_PX = (0.25, 0.5, 0.75, 1.0)
_NOISE_TARGET = 0.01
# Above this LSF noise/peak after the largest smoothing, a warning is given.
_NOISE_WARN = 0.03
_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class EdgeSegment:
    """One straight edge used, in image pixel coordinates.

    ``start_rc``/``end_rc`` are the ends of the part used (after trimming); ``normal_rc`` is the
    unit normal pointing to the high-count side; ``angle_deg`` the tilt from the nearest image
    axis; ``high``/``low`` the plateau levels (``low/high`` = the edge's transmission);
    ``straightness_px`` the RMS distance of the edge points from the fitted line.
    """

    start_rc: tuple[float, float]
    end_rc: tuple[float, float]
    normal_rc: tuple[float, float]
    angle_deg: float
    high: float
    low: float
    straightness_px: float
    n_pixels: int


@dataclass(frozen=True, slots=True)
class EdgeSpread:
    """Resolution across the edges of one direction, from their pooled ESF.

    Attributes
    ----------
    across : {"x", "y"}
        Image direction nearest to the edges' normal: "x" for near-vertical edges.
    fwhm_mm, fwtm_mm : float
        Widths of the LSF with the smoothing removed (NaN when the LSF does not fall to the
        level inside the band).
    edges : tuple of EdgeSegment
    esf_mm, esf : 1-D ndarray
        Distance from the edge (mm, high side positive) and the normalised ESF (0 low, 1 high).
    lsf_mm, lsf : 1-D ndarray
        LSF positions (mm, bin midpoints) and values (1/mm).
    smoothing_mm : float
        σ of the Gaussian applied to the LSF.
    removed_variance_mm2 : float
        Variance removed from the widths in quadrature (smoothing² + 2·bin²/12: the bin
        average and the forward difference are each a box one bin wide).
    oversampling : int
        ESF bins per pixel (1 when the edges sweep less than one pixel across the grid in
        total; the pixel-spaced ESF is then spline-interpolated to ¼ pixel).
    n_pixels : int
    noise_ratio : float
        Counting SD of the LSF near its peak / the peak: about the FWHM's relative SD.
    warnings : tuple of str
    """

    across: str
    fwhm_mm: float
    fwtm_mm: float
    edges: tuple[EdgeSegment, ...]
    esf_mm: np.ndarray = field(repr=False)
    esf: np.ndarray = field(repr=False)
    lsf_mm: np.ndarray = field(repr=False)
    lsf: np.ndarray = field(repr=False)
    smoothing_mm: float = 0.0
    removed_variance_mm2: float = 0.0
    oversampling: int = _OVERSAMPLING
    n_pixels: int = 0
    noise_ratio: float = 0.0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Segment:
    theta: float          # normal angle (rad), normal = (cos θ, sin θ) in (col, row)
    rho: float            # line: col·cos θ + row·sin θ = rho (pixels)
    t0: float             # segment along e = (−sin θ, cos θ), pixels
    t1: float
    votes: int


def _outside(image: np.ndarray, margin_px: int) -> np.ndarray:
    """The region outside the detector field (zero counts), widened by `margin_px`.

    Zero runs smaller than 5×5 pixels are Poisson zeros on a low-count side, not the field.
    """
    zero = ndimage.binary_opening(image <= 0, structure=np.ones((5, 5), bool))
    if not zero.any():
        return zero
    return ndimage.binary_dilation(zero, iterations=max(1, margin_px))


def find_edge_segments(image: np.ndarray, *, exclude: np.ndarray | None = None,
                       max_edges: int = 16, min_length_px: int = 20) -> list[_Segment]:
    """Straight edge segments, strongest first, by an oriented Hough transform.

    Parameters
    ----------
    image : (M, N) ndarray of counts
    exclude : (M, N) bool ndarray, optional
        Pixels that may not vote (the field edge).
    max_edges : int
        Number of Hough peaks (lines) examined.
    min_length_px : int
        Shortest segment returned.

    Notes
    -----
    Each edge pixel votes only for normal angles within ±2° of its gradient direction (which
    points to higher counts), so the two halves of a line with opposite polarity (as in a
    checkerboard) are different peaks. After each peak its voters are removed and the
    accumulator rebuilt (no ρ–θ suppression window to tune). A peak's segments are the runs
    of its voters along the line with gaps < `_MAX_GAP_PX`, at least `min_length_px` long and
    holding at least one voter per pixel of length.
    Coordinates are taken from the image centre so that ρ and θ are nearly independent.
    """
    img = np.asarray(image, dtype=np.float64)
    gr = ndimage.gaussian_filter(img, _GRADIENT_SIGMA_PX, order=(1, 0))
    gc = ndimage.gaussian_filter(img, _GRADIENT_SIGMA_PX, order=(0, 1))
    mag = np.hypot(gr, gc)
    if exclude is not None:
        mag = np.where(exclude, 0.0, mag)
    top = float(np.percentile(mag, 99.5))
    if top <= _EPS:
        return []
    rr, cc = np.nonzero(mag > 0.3 * top)
    if rr.size < min_length_px:
        return []
    r_c, c_c = (img.shape[0] - 1) / 2.0, (img.shape[1] - 1) / 2.0
    y, x = rr - r_c, cc - c_c
    phi = np.arctan2(gr[rr, cc], gc[rr, cc])
    n_theta = round(360.0 / _HOUGH_STEP_DEG)
    k_tol = round(_HOUGH_TOL_DEG / _HOUGH_STEP_DEG)
    base = np.rint(np.degrees(phi) / _HOUGH_STEP_DEG).astype(np.intp)
    ti = (base[:, None] + np.arange(-k_tol, k_tol + 1)[None, :]) % n_theta      # (P, K)
    th = np.radians(ti * _HOUGH_STEP_DEG)
    r_max = math.hypot(*img.shape) / 2.0 + 2.0
    n_rho = int(2 * r_max) + 2
    cell = ti * n_rho + np.rint(x[:, None] * np.cos(th) + y[:, None] * np.sin(th)
                                + r_max).astype(np.intp)
    alive = np.ones(rr.size, bool)
    segments: list[_Segment] = []
    for _ in range(max_edges):  # a handful of lines
        acc = np.bincount(cell[alive].ravel(), minlength=n_theta * n_rho).astype(np.float64)
        acc = ndimage.uniform_filter1d(acc.reshape(n_theta, n_rho), 3, axis=1) * 3
        t_i, r_i = np.unravel_index(int(np.argmax(acc)), acc.shape)
        if acc[t_i, r_i] < min_length_px:
            break
        theta = math.radians(t_i * _HOUGH_STEP_DEG)
        r0 = r_i - r_max
        d_ang = np.angle(np.exp(1j * (phi - theta)))
        d_rho = x * math.cos(theta) + y * math.sin(theta) - r0
        voters = alive & (np.abs(d_ang) <= math.radians(_HOUGH_TOL_DEG + _HOUGH_STEP_DEG)) \
            & (np.abs(d_rho) <= 2.0)
        alive &= ~voters
        if voters.sum() < min_length_px:
            continue
        # back to image coordinates: rho about the origin (row 0, col 0)
        rho = r0 + c_c * math.cos(theta) + r_c * math.sin(theta)
        t = np.sort(-cc[voters] * math.sin(theta) + rr[voters] * math.cos(theta))
        breaks = np.flatnonzero(np.diff(t) > _MAX_GAP_PX)
        starts = np.concatenate([[0], breaks + 1])
        ends = np.concatenate([breaks, [t.size - 1]])
        for j0, j1 in zip(starts, ends):  # collinear pieces of one polarity (checkerboards)
            # long enough, and dense (an edge gives ~2–3 voters per pixel of length)
            if t[j1] - t[j0] >= min_length_px and j1 - j0 + 1 >= t[j1] - t[j0]:
                segments.append(_Segment(theta, float(rho), float(t[j0]), float(t[j1]),
                                         int(j1 - j0 + 1)))
    return segments


def _refine(grad_n: np.ndarray, seg: _Segment) -> tuple[float, float, float, float, float]:
    """Sub-pixel line through the centroids of the squared gradient across the edge.

    Returns (theta, rho, t0, t1, rms residual in pixels) of the refined line.
    """
    th, r0 = seg.theta, seg.rho
    n = np.array([math.cos(th), math.sin(th)])       # (col, row)
    e = np.array([-math.sin(th), math.cos(th)])
    t = np.arange(math.ceil(seg.t0), math.floor(seg.t1) + 1, dtype=np.float64)
    s = np.arange(-_CENTROID_HALF_PX, _CENTROID_HALF_PX + 0.01, 0.5)
    col = r0 * n[0] + t[:, None] * e[0] + s[None, :] * n[0]
    row = r0 * n[1] + t[:, None] * e[1] + s[None, :] * n[1]
    g = ndimage.map_coordinates(grad_n, [row.ravel(), col.ravel()], order=1,
                                mode="nearest").reshape(row.shape)
    w = np.clip(g, 0.0, None) ** 2
    ok = w.sum(axis=1) > _EPS
    pos = (w * s).sum(axis=1) / np.maximum(w.sum(axis=1), _EPS)
    t, pos = t[ok], pos[ok]
    if t.size < 5:
        return th, r0, seg.t0, seg.t1, math.inf
    keep = np.ones(t.size, bool)
    for _ in range(3):  # straight-line fit with outlier rejection (corners, defects)
        b, a = np.polyfit(t[keep], pos[keep], 1)
        resid = pos - (a + b * t)
        mad = 1.4826 * np.median(np.abs(resid[keep])) + 0.02
        keep = np.abs(resid) < max(3.0 * mad, 0.2)
    rms = float(np.sqrt(np.mean(resid[keep] ** 2)))
    # point on the refined line and its direction, back to (theta, rho)
    p = r0 * n + a * n                      # at t = 0
    d = e + b * n
    d /= np.hypot(*d)
    n_new = np.array([d[1], -d[0]])
    if n_new @ n < 0:
        n_new = -n_new
    th_new = math.atan2(n_new[1], n_new[0])
    rho_new = float(p @ n_new)
    tk = t[keep]
    e_new = np.array([-n_new[1], n_new[0]])
    # express the kept ends in the new frame
    ends = [r0 * n + tt * e for tt in (tk.min(), tk.max())]
    t_ends = sorted(float(q @ e_new) for q in ends)
    return th_new, rho_new, t_ends[0], t_ends[1], rms


def _band(image: np.ndarray, valid: np.ndarray, theta: float, rho: float, t0: float,
          t1: float, half_px: float) -> tuple[np.ndarray, np.ndarray]:
    """Signed distances (pixels, + towards `theta`) and values of the band's pixels."""
    n = (math.cos(theta), math.sin(theta))
    e = (-math.sin(theta), math.cos(theta))
    corners = [(rho * n[0] + t * e[0] + s * n[0], rho * n[1] + t * e[1] + s * n[1])
               for t in (t0, t1) for s in (-half_px, half_px)]
    c_lo = max(0, math.floor(min(c for c, _ in corners)))
    c_hi = min(image.shape[1], math.ceil(max(c for c, _ in corners)) + 1)
    r_lo = max(0, math.floor(min(r for _, r in corners)))
    r_hi = min(image.shape[0], math.ceil(max(r for _, r in corners)) + 1)
    rr, cc = np.mgrid[r_lo:r_hi, c_lo:c_hi]
    s = cc * n[0] + rr * n[1] - rho
    t = -cc * n[1] + rr * n[0]
    sel = (np.abs(s) <= half_px) & (t >= t0) & (t <= t1) & valid[r_lo:r_hi, c_lo:c_hi]
    return s[sel], image[r_lo:r_hi, c_lo:c_hi][sel]


def _binned(s: np.ndarray, v: np.ndarray, over: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bin means of `v` and of the distances `s` (pixels) in bins of 1/`over` pixel."""
    # Bins centred on the pixels' mean phase: with an edge on the pixel grid all pixels share
    # one phase, and bins centred between them would average neighbouring samples.
    phase = float(np.angle(np.exp(2j * np.pi * s * over).mean())) / (2 * np.pi) if over == 1 \
        else 0.0
    idx = np.rint(s * over - phase).astype(np.intp)
    lo = int(idx.min())
    sums = np.bincount(idx - lo, weights=v)
    counts = np.bincount(idx - lo)
    # The pixels of a bin need not be centred in it (finite edge, few phases): use their mean
    # distance as the sample position, so uneven phase coverage does not distort the ESF.
    pos = np.bincount(idx - lo, weights=s) / np.maximum(counts, 1)
    return (np.arange(sums.size) + lo) / over, sums, counts, pos


def _same_line(a: tuple[float, float, float, float], b: tuple[float, float, float, float]
               ) -> bool:
    """Two refined segments (theta, rho, t0, t1) on the same line and overlapping."""
    d_ang = abs(math.remainder(a[0] - b[0], 2 * math.pi))
    return d_ang < math.radians(3) and abs(a[1] - b[1]) < 3.0 and \
        min(a[3], b[3]) > max(a[2], b[2])


def edge_resolution(image: np.ndarray, pixel_mm: float, *, half_width_mm: float = 15.0,
                    smoothing_px: float | None = None, end_trim_mm: float = 10.0,
                    field_margin_mm: float = 10.0, max_edges: int = 16,
                    min_length_mm: float = 30.0, min_contrast: float = 0.1
                    ) -> dict[str, EdgeSpread | None]:
    """FWHM/FWTM across the straight edges of a gamma-camera image, per direction.

    Parameters
    ----------
    image : (M, N) ndarray of counts
    pixel_mm : float
        Square pixel size.
    half_width_mm : float
        Half-width of the band across each edge (must reach both plateaus: > FWTM).
    smoothing_px : float, optional
        σ (pixels) of the Gaussian smoothing of the LSF against Poisson noise; its variance
        (and the bins', 2·h²/12) is removed from the widths in quadrature. 0 = none.
        Default: the smallest of 0.25, 0.5, 0.75 and 1 pixel that brings the LSF's counting
        noise near its peak to ≤ 1 % of the peak (propagated from the plateau pixels'
        scatter); on the digital phantoms the FWHM's SD is then about 1–1.5 %. A warning
        when even 1 pixel leaves more than 3 %.
    end_trim_mm : float
        Length dropped at both ends of every segment (corners, neighbouring edges).
    field_margin_mm : float
        Distance from zero-count regions (outside the detector field) that is ignored.
    max_edges : int
        Hough peaks examined.
    min_length_mm : float
        Shortest segment (after trimming) used.
    min_contrast : float
        Smallest step (high − low)/high accepted as an edge.

    Returns
    -------
    dict
        ``{"x": EdgeSpread | None, "y": EdgeSpread | None}``; "x" pools the near-vertical
        edges (counts change along X), "y" the near-horizontal ones.

    Notes
    -----
    Every edge's pixels are normalised to its own plateaus ((v − low)/(high − low)) and the
    edges of one direction are pooled into one ESF, so a phantom with several edges (the
    imageQC checkerboard cross) averages their counts; each edge is listed in ``edges``.
    The widths assume the edge is sharp (a lead edge; its penumbra adds to the FWHM).
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2 or min(img.shape) < 16:
        raise ValueError(f"image must be 2-D and at least 16×16, got shape {img.shape}")
    if not pixel_mm > 0:
        raise ValueError("pixel_mm must be positive")
    half_px = half_width_mm / pixel_mm
    outside = _outside(img, round(field_margin_mm / pixel_mm))
    valid = ~outside
    gr = ndimage.gaussian_filter(img, _GRADIENT_SIGMA_PX, order=(1, 0))
    gc = ndimage.gaussian_filter(img, _GRADIENT_SIGMA_PX, order=(0, 1))
    min_len_px = max(8, round(min_length_mm / pixel_mm))
    trim = end_trim_mm / pixel_mm
    segs = find_edge_segments(img, exclude=outside, max_edges=max_edges,
                              min_length_px=min_len_px)
    pools: dict[str, list] = {"x": [], "y": []}
    accepted: list[tuple[float, float, float, float]] = []
    for seg in segs:  # at most `max_edges` segments
        grad_n = gc * math.cos(seg.theta) + gr * math.sin(seg.theta)
        theta, rho, t0, t1, rms = _refine(grad_n, seg)
        t0, t1 = t0 + trim, t1 - trim
        if t1 - t0 < min_len_px or not math.isfinite(rms):
            continue
        if any(_same_line((theta, rho, t0, t1), a) for a in accepted):
            continue
        s, v = _band(img, valid, theta, rho, t0, t1, half_px)
        hi_sel, lo_sel = s > 0.6 * half_px, s < -0.6 * half_px
        if hi_sel.sum() < 10 or lo_sel.sum() < 10:
            continue
        high, low = float(v[hi_sel].mean()), float(v[lo_sel].mean())
        if high <= 0 or high - low < min_contrast * high:
            continue
        accepted.append((theta, rho, t0, t1))
        n = (math.cos(theta), math.sin(theta))
        e = (-math.sin(theta), math.cos(theta))
        tilt = math.degrees(theta) % 90.0
        tilt = tilt - 90.0 if tilt > 45.0 else tilt
        across = "x" if abs(n[0]) >= abs(n[1]) else "y"
        ends = [(rho * n[1] + t * e[1], rho * n[0] + t * e[0]) for t in (t0, t1)]
        info = EdgeSegment(ends[0], ends[1], (n[1], n[0]), tilt, high, low, rms, int(s.size))
        pools[across].append((info, s, (v - low) / (high - low)))
    return {a: _pooled(a, pools[a], pixel_mm, half_width_mm, smoothing_px) if pools[a]
            else None for a in ("x", "y")}


def _gaussian_kernel(sigma: float) -> np.ndarray:
    """Normalised sampled Gaussian, radius 4σ (as scipy.ndimage.gaussian_filter1d)."""
    if sigma <= 0:
        return np.ones(1)
    r = int(4.0 * sigma + 0.5)
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    return k / k.sum()


def _pooled(across: str, items: list, pixel_mm: float, half_width_mm: float,
            smoothing_px: float | None) -> EdgeSpread | None:
    """ESF → LSF → FWHM/FWTM from the normalised pixels of the edges of one direction."""
    warnings: list[str] = []
    edges = tuple(it[0] for it in items)
    s = np.concatenate([it[1] for it in items])
    v = np.concatenate([it[2] for it in items])
    # Sub-pixel phases are sampled only if the edges sweep across at least one pixel in total.
    sweep = sum(abs(math.tan(math.radians(e.angle_deg))) *
                math.hypot(e.end_rc[0] - e.start_rc[0], e.end_rc[1] - e.start_rc[1])
                for e in edges)
    over = _OVERSAMPLING if sweep >= 1.0 else 1
    sampled = over
    x, sums, counts, pos = _binned(s, v, over)
    filled = counts > 0
    smear = 0.0
    boxes = 2.0    # one-bin boxes in the LSF: bin average and forward difference
    if over == 1:
        tilt = max(abs(e.angle_deg) for e in edges)
        warnings.append(f"edge tilted only {tilt:.1f}° from the pixel grid: the ESF is "
                        "sampled once per pixel and spline-interpolated, not oversampled "
                        "(tilt the edge 2–10° for the most reliable result).")
        # The phases' spread about each pixel-spaced sample blurs the ESF: removed too.
        smear = float(np.var(s - np.interp(s, x[filled], pos[filled])))
        # A cubic spline through the pixel-spaced samples gives the ESF on a quarter-pixel
        # grid (no bin averaging), far closer than linear interpolation of a 3-pixel LSF.
        from scipy.interpolate import CubicSpline
        x_fine = np.arange(pos[filled][0], pos[filled][-1], 1.0 / _OVERSAMPLING)
        esf = CubicSpline(pos[filled], sums[filled] / counts[filled])(x_fine)
        counts = np.interp(x_fine, pos[filled], counts[filled]) / _OVERSAMPLING
        x, over, boxes = x_fine, _OVERSAMPLING, 1.0
    else:
        esf = np.interp(x, pos[filled], sums[filled] / counts[filled])
    h = 1.0 / over                                   # bin width, pixels
    raw = np.diff(esf) / (h * pixel_mm)              # forward differences at bin midpoints
    x_mid = 0.5 * (x[1:] + x[:-1])
    # Counting noise of each bin mean from the pixels' scatter on the plateaus, propagated
    # through the (linear) difference + smoothing: the LSF's SD near its peak relative to the
    # peak approximates the FWHM's relative SD.
    far = 0.6 * half_width_mm / pixel_mm
    hi_v, lo_v = v[s > far], v[s < -far]
    sd_pix = math.sqrt(0.5 * (hi_v.var() + lo_v.var())) if min(hi_v.size, lo_v.size) > 10 \
        else 0.0
    var_bin = np.where(counts > 0, sd_pix ** 2 / np.maximum(counts, 1), sd_pix ** 2)
    centre = np.abs(x_mid - x_mid[np.argmax(raw)]) < 2.0
    candidates = [smoothing_px] if smoothing_px is not None else list(_SMOOTHING_LADDER_PX)
    for s_px in candidates:  # a handful of candidates
        s_eff = s_px if s_px / h >= 0.5 else 0.0    # narrower than half a bin: not resolved
        kernel = np.convolve(_gaussian_kernel(s_eff / h), [1.0, -1.0]) / (h * pixel_mm)
        lsf = np.convolve(esf, kernel, mode="valid") if s_eff > 0 else raw
        var = np.convolve(var_bin, kernel ** 2, mode="valid") if s_eff > 0 else \
            (var_bin[1:] + var_bin[:-1]) / (h * pixel_mm) ** 2
        pad = (raw.size - lsf.size) // 2
        lsf = np.pad(lsf, (pad, raw.size - lsf.size - pad), mode="edge")
        var = np.pad(var, (pad, raw.size - var.size - pad), mode="edge")
        noise_ratio = float(np.sqrt(var[centre].mean()) / max(lsf.max(), _EPS))
        if noise_ratio <= _NOISE_TARGET:
            break
    if noise_ratio > _NOISE_WARN:
        warnings.append(f"few counts for the edge method: the LSF noise near its peak is "
                        f"{100 * noise_ratio:.0f} % of the peak (smoothing σ "
                        f"{s_eff * pixel_mm:.2f} mm), so the FWHM may vary by several % "
                        "between acquisitions; acquire more counts.")
    # Removed in quadrature: the smoothing, the forward difference (a box of one bin) and,
    # when oversampled, the bin averaging (another box of one bin).
    removed = (s_eff ** 2 + boxes * h ** 2 / 12.0 + smear) * pixel_mm ** 2
    try:
        ls = fwhm_fwtm(lsf, x_mid * pixel_mm)
    except ValueError:
        return None
    fwhm = math.sqrt(max(ls.fwhm ** 2 - 8 * math.log(2) * removed, 0.0)) \
        if math.isfinite(ls.fwhm) else math.nan
    fwtm = math.sqrt(max(ls.fwtm ** 2 - 8 * math.log(10) * removed, 0.0)) \
        if math.isfinite(ls.fwtm) else math.nan
    if not math.isfinite(fwhm):
        return None
    if not math.isfinite(fwtm) or fwtm > 0.8 * 2 * half_width_mm:
        warnings.append(f"the LSF tails reach the end of the ±{half_width_mm:g} mm band: "
                        "FWTM unreliable; increase half_width_mm.")
    bent = [e for e in edges if e.straightness_px > 0.5]
    if bent:
        warnings.append(f"{len(bent)} edge(s) are not straight (points scatter up to "
                        f"{max(e.straightness_px for e in bent):.2f} pixels about the line).")
    return EdgeSpread(across=across, fwhm_mm=fwhm, fwtm_mm=fwtm, edges=edges,
                      esf_mm=x * pixel_mm, esf=esf, lsf_mm=x_mid * pixel_mm, lsf=lsf,
                      smoothing_mm=s_eff * pixel_mm, removed_variance_mm2=removed,
                      oversampling=sampled, n_pixels=int(s.size), noise_ratio=noise_ratio,
                      warnings=tuple(warnings))
