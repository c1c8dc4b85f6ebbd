"""Intrinsic spatial linearity of a gamma camera from a slit / line-pattern image.

Method (after NEMA NU 1-2018 §2.5): the image of parallel slits (or line sources) is cut into
bins along each line; in each bin the profile across the line is summed and the line position
found to a fraction of a pixel. Then, per field (UFOV, CFOV):

* **absolute linearity** = the largest |deviation| of the measured positions from the best-fit
  ideal grid of equally spaced parallel straight lines (one common tilt, one spacing, one
  offset, fitted by least squares to every position in the field);
* **differential linearity** = the standard deviation of the deviations of the positions from
  each line's own best-fit straight line (pooled over the lines, degrees of freedom corrected):
  the local waviness, insensitive to whole-line shifts.

Positions: a Gaussian fitted to the samples above 5 % of the peak by weighted least squares on
their logarithm (Caruana's method with Guo's y² weights), which is exact for a Gaussian line
spread at any sub-pixel phase (unlike a centroid, which locks to pixel centres). Vertical lines
(varying along rows) give the X linearity; `lines_linearity` is called on the transposed image
for Y.

Fields: the UFOV along the lines is the common extent of the lines (where their summed profile
exceeds half its median), minus ``edge_mm`` at each end; across, it is the span of the lines
widened by half a spacing each side. The CFOV is the central 75 % of both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["FieldLinearity", "LineLinearity", "lines_linearity"]


@dataclass(frozen=True, slots=True)
class FieldLinearity:
    """Absolute and differential linearity (mm) in one field; None when not computable."""

    absolute_mm: float | None
    differential_mm: float | None
    points: int
    lines: int


@dataclass(frozen=True, slots=True)
class LineLinearity:
    """Linearity along one direction.

    Attributes
    ----------
    ufov, cfov : FieldLinearity
    line_positions_px : ndarray
        Mean across-position of each line (pixels).
    spacing_mm : float or None
        Fitted grid spacing (None with one line).
    along_px, across_px : list of ndarray
        Per line: bin centres along the line and the measured positions (pixels).
    deviation_mm : list of ndarray
        Per line: deviation from the UFOV grid fit (mm, NaN outside the UFOV).
    along_range_px : (start, stop)
        UFOV extent along the lines (pixels).
    tilt_deg : float
        Common tilt of the fitted grid from the image axis (degrees).
    """

    ufov: FieldLinearity
    cfov: FieldLinearity
    line_positions_px: np.ndarray
    spacing_mm: float | None
    along_px: list[np.ndarray]
    across_px: list[np.ndarray]
    deviation_mm: list[np.ndarray]
    along_range_px: tuple[float, float]
    tilt_deg: float = 0.0


def _gauss_centres(profiles: np.ndarray) -> np.ndarray:
    """Sub-pixel centre of each row of `profiles` (Guo-weighted log-parabola fit); NaN if none."""
    nb, w = profiles.shape
    base = np.minimum(profiles[:, :2].mean(axis=1), profiles[:, -2:].mean(axis=1))
    y = profiles - base[:, None]
    peak = y.max(axis=1)
    imax = y.argmax(axis=1)
    x = np.arange(w, dtype=np.float64)[None, :] - imax[:, None]
    # contiguous run above 5 % around the maximum (no neighbouring line); the y² weights
    # make the low samples count little, but a line between two pixels needs them
    above = y > 0.05 * peak[:, None]
    left = np.where(~above & (x < 0), x, -np.inf).max(axis=1)
    right = np.where(~above & (x > 0), x, np.inf).min(axis=1)
    use = (x > left[:, None]) & (x < right[:, None]) & above
    yy = np.where(use, y, 1.0)
    wgt = np.where(use, yy * yy, 0.0)
    ly = np.log(yy)
    s = [np.sum(wgt * x ** k, axis=1) for k in range(5)]
    t = [np.sum(wgt * ly * x ** k, axis=1) for k in range(3)]
    a = np.stack([np.stack([s[0], s[1], s[2]], -1), np.stack([s[1], s[2], s[3]], -1),
                  np.stack([s[2], s[3], s[4]], -1)], axis=1)
    rhs = np.stack(t, axis=-1)
    ok = (use.sum(axis=1) >= 3) & (peak > 0)
    out = np.full(nb, np.nan)
    if ok.any():
        coef = np.linalg.solve(a[ok], rhs[ok][..., None])[..., 0]
        c1, c2 = coef[:, 1], coef[:, 2]
        good = c2 < 0
        cen = np.where(good, -c1 / (2.0 * np.where(good, c2, -1.0)), np.nan)
        # a fit whose centre leaves the samples used is not a line
        cen = np.where(np.abs(cen) <= 0.5 * w, cen, np.nan)
        out[ok] = cen + imax[ok]
    return out


def _extent(values: np.ndarray, level: float) -> tuple[int, int]:
    above = np.concatenate([[False], values > level, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    if starts.size == 0:
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def _grid_fit(k: np.ndarray, t: np.ndarray, x: np.ndarray, nlines: int
              ) -> tuple[np.ndarray, float | None, float]:
    """Residuals of x = a + s·k + m·t (common tilt m, spacing s), the spacing s and m."""
    cols = [np.ones_like(t), t] + ([k.astype(np.float64)] if nlines > 1 else [])
    a = np.stack(cols, axis=1)
    coef, *_ = np.linalg.lstsq(a, x, rcond=None)
    return x - a @ coef, (float(coef[2]) if nlines > 1 else None), float(coef[1])


def _per_line_sd(k: np.ndarray, t: np.ndarray, x: np.ndarray) -> float | None:
    """Pooled SD of residuals from each line's own straight fit (dof = N − 2·lines)."""
    ss, dof = 0.0, 0
    for line in np.unique(k):
        sel = k == line
        if sel.sum() < 3:
            continue
        a = np.stack([np.ones(sel.sum()), t[sel]], axis=1)
        coef, *_ = np.linalg.lstsq(a, x[sel], rcond=None)
        r = x[sel] - a @ coef
        ss += float(r @ r)
        dof += int(sel.sum()) - 2
    return float(np.sqrt(ss / dof)) if dof > 0 else None


def lines_linearity(image: np.ndarray, pixel_mm: float, *, bin_mm: float = 10.0,
                    edge_mm: float = 10.0, min_spacing_mm: float = 10.0,
                    min_length_mm: float = 100.0, cfov_fraction: float = 0.75
                    ) -> LineLinearity | None:
    """Absolute and differential linearity from the vertical lines of `image` (X direction).

    Parameters
    ----------
    image : (rows, cols) array
        Counts of a slit-mask or line-source image.
    pixel_mm : float
        Pixel size (mm).
    bin_mm : float
        Length of line summed per position sample (mm); NEMA asks ≤ 30 mm between samples.
    edge_mm : float
        Length left out at each end of the lines (mm).
    min_spacing_mm : float
        Closest two lines may be (mm).
    min_length_mm : float
        Shortest line accepted (mm): hot spots and the ends of perpendicular lines are shorter.
    cfov_fraction : float
        CFOV linear size as a fraction of the UFOV (NEMA 0.75).

    Returns
    -------
    LineLinearity or None
        None when the image has no vertical line.
    """
    img = np.asarray(image, dtype=np.float64)
    colsum = ndimage.uniform_filter1d(img.sum(axis=0), 3)
    if colsum.max() <= 0:
        return None
    med = np.median(colsum)
    if colsum.max() - med < 0.5 * med:  # lines stand far above the background, noise does not
        return None
    # imported here: scipy.signal pulls in scipy.stats (≈ 1 s of CPU at import), which no
    # other kernel needs; a batch's main process then does not import it for every worker
    from scipy.signal import find_peaks

    peaks, _ = find_peaks(colsum, prominence=0.3 * (colsum.max() - med),
                                 distance=max(2, int(min_spacing_mm / pixel_mm)))
    # a line is narrow: its half-maximum width is well below the spacing (not a flood edge)
    peaks = [p for p in peaks if colsum[p] > med + 0.3 * (colsum.max() - med)]
    if not peaks:
        return None
    peaks_a = np.asarray(sorted(peaks))
    spacing_px = float(np.median(np.diff(peaks_a))) if peaks_a.size > 1 else 30.0 / pixel_mm
    half_w = max(3, int(0.45 * spacing_px))
    # along-line extent of each line; short ones are not lines of the pattern
    starts, stops, keep = [], [], []
    for p in peaks_a:
        # smoothed over ~10 mm so that short cold gaps do not split a line; the threshold is
        # a third of the typical level of the line body (robust to hot spots and background)
        band = ndimage.uniform_filter1d(
            img[:, max(0, p - half_w):p + half_w + 1].sum(axis=1),
            max(1, int(round(10.0 / pixel_mm))))
        body = band[band > 0.1 * band.max()] if band.max() > 0 else band
        s0, s1 = _extent(band, float(np.median(body)) / 3.0)
        if (s1 - s0) * pixel_mm >= min_length_mm:
            starts.append(s0)
            stops.append(s1)
            keep.append(p)
    if not keep:
        return None
    if len(keep) < peaks_a.size:
        peaks_a = np.asarray(keep)
        spacing_px = float(np.median(np.diff(peaks_a))) if peaks_a.size > 1 else spacing_px
        half_w = max(3, int(0.45 * spacing_px))
    edge = int(np.ceil(edge_mm / pixel_mm))
    u0, u1 = max(starts) + edge, min(stops) - edge
    nbin = max(1, int(round(bin_mm / pixel_mm)))
    nb = (u1 - u0) // nbin
    if nb < 3:
        return None
    u0 += ((u1 - u0) - nb * nbin) // 2  # leftover rows split between both ends
    u1 = u0 + nb * nbin
    along_c = u0 + (np.arange(nb) + 0.5) * nbin - 0.5
    t_all, x_all, k_all = [], [], []
    along, across = [], []
    for p in peaks_a:
        c0, c1 = max(0, p - half_w), min(img.shape[1], p + half_w + 1)
        prof = img[u0:u1, c0:c1].reshape(nb, nbin, c1 - c0).sum(axis=1)
        pos = _gauss_centres(prof) + c0
        good = np.isfinite(pos)
        if good.sum() < 3:  # too few positions: not a usable line (e.g. undersampled)
            continue
        along.append(along_c[good])
        across.append(pos[good])
        t_all.append(along_c[good])
        x_all.append(pos[good])
        k_all.append(np.full(int(good.sum()), int(round((p - peaks_a[0]) / spacing_px))))
    if not t_all:
        return None
    t = np.concatenate(t_all)
    x = np.concatenate(x_all)
    k = np.concatenate(k_all)
    # across extent: span of the lines ± half a spacing
    x0, x1 = peaks_a[0] - 0.5 * spacing_px, peaks_a[-1] + 0.5 * spacing_px
    mid_t, half_t = 0.5 * (u0 + u1 - 1), 0.5 * (u1 - u0) * cfov_fraction
    mid_x, half_x = 0.5 * (x0 + x1), 0.5 * (x1 - x0) * cfov_fraction

    def field(sel: np.ndarray) -> tuple[FieldLinearity, np.ndarray, float | None, float]:
        nl = int(np.unique(k[sel]).size)
        if sel.sum() < 3:
            return FieldLinearity(None, None, int(sel.sum()), nl), np.zeros(0), None, 0.0
        res, sp, tilt = _grid_fit(k[sel], t[sel], x[sel], nl)
        diff = _per_line_sd(k[sel], t[sel], x[sel])
        return (FieldLinearity(float(np.max(np.abs(res))) * pixel_mm,
                               None if diff is None else diff * pixel_mm, int(sel.sum()), nl),
                res, sp, tilt)

    all_sel = np.ones(t.size, bool)
    ufov, res_u, sp, slope = field(all_sel)
    cf_sel = (np.abs(t - mid_t) <= half_t) & (np.abs(x - mid_x) <= half_x)
    cfov, _, _, _ = field(cf_sel)
    dev = []
    start = 0
    for a in along:
        dev.append(res_u[start:start + a.size] * pixel_mm)
        start += a.size
    return LineLinearity(ufov=ufov, cfov=cfov,
                         line_positions_px=np.array([np.mean(c) for c in across]),
                         spacing_mm=None if sp is None else sp * pixel_mm,
                         along_px=along, across_px=across, deviation_mm=dev,
                         along_range_px=(float(u0), float(u1)),
                         tilt_deg=float(np.degrees(np.arctan(slope))))
