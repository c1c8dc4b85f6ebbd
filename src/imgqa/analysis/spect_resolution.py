"""SPECT reconstructed (tomographic) spatial resolution from line or point sources.

NEMA NU 1-2018 §3.4 ("SPECT reconstructed spatial resolution without scatter") and IAEA Human
Health Series No. 6 §4.3.4 measure the FWHM/FWTM of profiles through line or point sources in the
reconstructed volume. Here:

* sources are found in the maximum-intensity projection along z (one blob per source);
* a source present in most slices is an **axial line**: in each slice it is a 2-D spot; its line
  spread functions in x (sum over rows) and y (sum over columns) are taken in a window around the
  spot. The LSFs of all slices are normalised to unit area and *pooled* about each slice's
  centroid, so the pooled profile is finely sampled (the line is never exactly parallel to z) and
  no resampling blurs it. A Gaussian (with baseline) fitted to the pooled points gives FWHM and
  FWTM; NEMA's interpolated widths come from the pooled profile binned at ¼ pixel. The obliquity
  of a tilted line (slope of the centroids along z) is removed: the width across the line is the
  width in the slice times cos(tilt).
* a source present in few slices is a **point**: x, y and z LSFs are sums over the other two axes
  in a 3-D window, which also gives the axial resolution ``fwhm_z``.

A Gaussian PSF of standard deviation σ has FWHM = 2√(2 ln 2)·σ and FWTM = 2√(2 ln 10)·σ, and its
LSF in any direction is the same Gaussian: the digital phantom's analytic answer.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["Profile", "SourceResolution", "pooled_width", "find_sources", "source_resolution"]

_HALF = 2.0 * np.sqrt(2.0 * np.log(2.0))
_TENTH = 2.0 * np.sqrt(2.0 * np.log(10.0))


@dataclass(frozen=True, slots=True)
class Profile:
    """One direction's pooled LSF and its widths (mm).

    ``distance_mm``/``values`` are the binned pooled profile (peak 1) and ``fit`` the fitted
    Gaussian at those distances, for display. ``fwhm_mm``/``fwtm_mm`` come from the Gaussian fit,
    ``fwhm_interp_mm``/``fwtm_interp_mm`` from linear interpolation of the binned profile (NEMA).
    """

    axis: str
    fwhm_mm: float
    fwtm_mm: float
    fwhm_interp_mm: float | None
    fwtm_interp_mm: float | None
    distance_mm: np.ndarray
    values: np.ndarray
    fit: np.ndarray


@dataclass(frozen=True, slots=True)
class SourceResolution:
    """Resolution measured on one source.

    ``kind`` is ``"line"`` (axial line: x and y) or ``"point"`` (x, y and z). ``centre_rc`` is
    its mean (row, column); ``slices`` the slice indices used; ``tilt_deg`` the angle of a line
    to the z axis.
    """

    kind: str
    centre_rc: tuple[float, float]
    slices: tuple[int, int]
    tilt_deg: float
    profiles: dict[str, Profile]


def _gauss(x: np.ndarray, a: float, mu: float, sigma: float, b: float) -> np.ndarray:
    return a * np.exp(-0.5 * ((x - mu) / sigma) ** 2) + b


def _interp_width(d: np.ndarray, v: np.ndarray, level: float) -> float | None:
    """Width of the profile at ``level`` × peak by linear interpolation on both sides."""
    k = int(np.argmax(v))
    top = v[k]
    target = level * top
    left = np.flatnonzero(v[:k] < target)
    right = np.flatnonzero(v[k:] < target)
    if left.size == 0 or right.size == 0:
        return None
    i = left[-1]
    j = k + right[0]
    xl = d[i] + (target - v[i]) * (d[i + 1] - d[i]) / (v[i + 1] - v[i])
    xr = d[j - 1] + (target - v[j - 1]) * (d[j] - d[j - 1]) / (v[j] - v[j - 1])
    return float(xr - xl)


def pooled_width(offsets: np.ndarray, values: np.ndarray, step: float, axis: str,
                 bin_fraction: float = 0.25) -> Profile:
    """Gaussian and interpolated FWHM/FWTM of pooled LSF samples.

    Parameters
    ----------
    offsets : (m,) array
        Distance of each sample from its profile's centroid, mm.
    values : (m,) array
        Sample values, each profile normalised to unit area (so they share one curve).
    step : float
        Sampling interval of the original profiles, mm (bins are ``bin_fraction`` of it).
    """
    order = np.argsort(offsets)
    x, y = offsets[order], values[order]
    s0 = float(np.sqrt(max(np.sum(y * x ** 2) / max(np.sum(y), 1e-30), step ** 2 / 4)))
    p0 = (float(y.max()), 0.0, s0, 0.0)
    # scipy.optimize costs ~80 ms to import (a third of all kernel imports): only when fitting
    from scipy.optimize import OptimizeWarning, curve_fit

    try:
        with warnings.catch_warnings():  # a perfect (noise-free) fit has no covariance
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, mu, sigma, b), _ = curve_fit(_gauss, x, y, p0=p0, maxfev=4000)
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"no Gaussian fits the {axis} profile ({exc})") from None
    sigma = abs(float(sigma))
    # Binned (oversampled) profile for display and NEMA interpolation.
    width = bin_fraction * step
    edges = np.arange(x[0] - width / 2, x[-1] + width, width)
    idx = np.digitize(x, edges) - 1
    cnt = np.bincount(idx, minlength=edges.size)
    tot = np.bincount(idx, weights=y, minlength=edges.size)
    ok = cnt > 0
    centres = (edges[:-1] + width / 2)[ok[:-1]] if ok.size > 1 else edges[:1]
    binned = (tot[:-1] / np.maximum(cnt[:-1], 1))[ok[:-1]]
    peak = float(a) if a > 0 else float(binned.max())
    vals = (binned - b) / peak
    half = _interp_width(centres, vals, 0.5)
    tenth = _interp_width(centres, vals, 0.1)
    return Profile(axis, _HALF * sigma, _TENTH * sigma, half, tenth, centres, vals,
                   (_gauss(centres, a, mu, sigma, b) - b) / peak)


def find_sources(volume: np.ndarray, *, threshold: float = 0.3, min_pixels: int = 2
                 ) -> list[tuple[slice, slice]]:
    """Bounding boxes (rows, cols) of the hot sources in the maximum projection along z."""
    mip = np.asarray(volume, dtype=np.float64).max(axis=0)
    mip = ndimage.uniform_filter(mip, 3)
    bg = float(np.median(mip))
    top = float(mip.max())
    if top <= bg:
        return []
    labels, n = ndimage.label(mip > bg + threshold * (top - bg))
    boxes = ndimage.find_objects(labels)
    sizes = ndimage.sum_labels(np.ones_like(mip), labels, np.arange(1, n + 1))
    return [b for b, s in zip(boxes, sizes) if b is not None and s >= min_pixels]


def _lsf_pool(win: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pool the LSFs of many profiles: (offsets mm, unit-area values, centroids in samples).

    ``win`` is (n_profiles, n_samples), background removed. Vectorised over profiles.
    """
    pos = np.arange(win.shape[1], dtype=float)
    w = np.clip(win, 0.0, None)
    area = w.sum(axis=1)
    cen = (w * pos).sum(axis=1) / np.where(area > 0, area, 1.0)
    norm = win / np.where(area > 0, area, 1.0)[:, None] / step
    offsets = (pos[None, :] - cen[:, None]) * step
    return offsets.ravel(), norm.ravel(), cen


def _background(block: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Per-profile background: median of the window's border samples."""
    border = np.concatenate([np.take(block, [0, -1], axis=a).reshape(block.shape[0], -1)
                             for a in axes], axis=1)
    return np.median(border, axis=1)


def source_resolution(volume: np.ndarray, box: tuple[slice, slice], pixel_mm: float,
                      slice_mm: float, *, half_width_mm: float = 25.0,
                      line_fraction: float = 0.5) -> SourceResolution:
    """FWHM/FWTM of one source (see the module docstring).

    Parameters
    ----------
    volume : (nz, rows, cols) array
        Reconstructed slices.
    box : (slice, slice)
        The source's (rows, cols) bounding box in the z-MIP, from `find_sources`.
    pixel_mm, slice_mm : float
        In-plane pixel size and slice spacing, mm.
    half_width_mm : float
        Half-size of the profile window around the source, mm (must exceed the FWTM).
    line_fraction : float
        A source whose peak exceeds half its maximum in at least this fraction of the slices is
        an axial line; otherwise a point.
    """
    vol = np.asarray(volume, dtype=np.float64)
    nz, nr, nc = vol.shape
    hw = max(int(round(half_width_mm / pixel_mm)), 3)
    r0 = max(box[0].start - hw, 0)
    r1 = min(box[0].stop + hw, nr)
    c0 = max(box[1].start - hw, 0)
    c1 = min(box[1].stop + hw, nc)
    sub = vol[:, box[0], box[1]]
    peaks = sub.reshape(nz, -1).max(axis=1)
    base = float(np.median(vol))
    on = np.flatnonzero(peaks - base > 0.5 * (peaks.max() - base))
    first, last = int(on.min()), int(on.max())
    if on.size >= max(5, line_fraction * nz):
        # Axial line: drop the end slices (partial volume where the line starts and stops).
        zs = np.arange(first + 2, last - 1) if last - first >= 8 else np.arange(first, last + 1)
        # In each slice, centre a square window on the spot (the line may be tilted).
        loc = sub[zs].reshape(zs.size, -1).argmax(axis=1)
        pr = box[0].start + loc // sub.shape[2]
        pc = box[1].start + loc % sub.shape[2]
        pr = np.clip(pr, hw, nr - hw - 1)
        pc = np.clip(pc, hw, nc - hw - 1)
        ri = pr[:, None, None] + np.arange(-hw, hw + 1)[None, :, None]
        ci = pc[:, None, None] + np.arange(-hw, hw + 1)[None, None, :]
        block = vol[zs[:, None, None], ri, ci]
        block = block - _background(block, (1, 2))[:, None, None]
        profiles = {}
        cents = {}
        for axis, sum_axis in (("x", 1), ("y", 2)):
            lsf = block.sum(axis=sum_axis)
            off, val, cen = _lsf_pool(lsf, pixel_mm)
            cents[axis] = cen + (pc if axis == "x" else pr) - hw
            profiles[axis] = pooled_width(off, val, pixel_mm, axis)
        # Tilt: centroid slope along z (mm per mm) in x and y; widths across the line.
        z_mm = zs * slice_mm
        sx = np.polyfit(z_mm, cents["x"] * pixel_mm, 1)[0] if zs.size > 2 else 0.0
        sy = np.polyfit(z_mm, cents["y"] * pixel_mm, 1)[0] if zs.size > 2 else 0.0
        for axis, s in (("x", sx), ("y", sy)):
            p = profiles[axis]
            f = 1.0 / np.sqrt(1.0 + s * s)
            profiles[axis] = Profile(axis, p.fwhm_mm * f, p.fwtm_mm * f,
                                     None if p.fwhm_interp_mm is None else p.fwhm_interp_mm * f,
                                     None if p.fwtm_interp_mm is None else p.fwtm_interp_mm * f,
                                     p.distance_mm * f, p.values, p.fit)
        tilt = float(np.degrees(np.arctan(np.hypot(sx, sy))))
        centre = (float(cents["y"].mean()), float(cents["x"].mean()))
        return SourceResolution("line", centre, (int(zs[0]), int(zs[-1])), tilt, profiles)
    # Point source: a 3-D window about the hottest voxel.
    k = int(np.argmax(np.where(np.isin(np.arange(nz), on)[:, None, None], 1.0, 0.0)
                      * (vol[:, r0:r1, c0:c1] - base)))
    kz, kr, kc = (int(v) for v in np.unravel_index(k, (nz, r1 - r0, c1 - c0)))
    kr += r0
    kc += c0
    hz = max(int(round(half_width_mm / slice_mm)), 3)
    z_lo, z_hi = max(kz - hz, 0), min(kz + hz + 1, nz)
    zsl = slice(z_lo, z_hi)
    block = vol[zsl, max(kr - hw, 0):kr + hw + 1, max(kc - hw, 0):kc + hw + 1]
    block = block - float(np.median(np.concatenate([block[:, 0].ravel(), block[:, -1].ravel(),
                                                   block[:, :, 0].ravel(),
                                                   block[:, :, -1].ravel()])))
    profiles = {}
    for axis, keep, step in (("x", 2, pixel_mm), ("y", 1, pixel_mm), ("z", 0, slice_mm)):
        lsf = block.sum(axis=tuple(a for a in range(3) if a != keep))[None, :]
        off, val, _ = _lsf_pool(lsf, step)
        profiles[axis] = pooled_width(off, val, step, axis)
    return SourceResolution("point", (float(kr), float(kc)), (z_lo, z_hi - 1), 0.0,
                            profiles)
