"""Noise power spectrum (NPS) of uniform images: 2-D NPS, radial and axis profiles.

Follows ICRU Report 87 (2012) §4 and IEC 62220-1-1:2015 §7.2: a uniform image is cut into
ROIs, each ROI is detrended by a low-order polynomial, and

    NPS(fx, fy) = Δx·Δy / (Nx·Ny) · < |DFT2[ROI − fit(ROI)]|² >

averaged over the ROIs. With this normalisation the integral of the NPS over all frequencies
equals the pixel variance of the detrended ROIs (Parseval), which the tests check.

Everything here is pure numpy on arrays plus pixel spacing in mm; no Python loops over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "Nps2D",
    "nps_2d",
    "radial_profile",
    "axis_profiles",
    "extract_rois",
    "detrend_rois",
    "value_at",
    "nps_peak_frequency",
    "nps_mean_frequency",
]

DETRENDS = ("mean", "plane", "poly2")


@dataclass(frozen=True)
class Nps2D:
    """A 2-D noise power spectrum.

    Attributes
    ----------
    nps : (Ny, Nx) ndarray
        NPS, fftshifted so zero frequency is at index (Ny // 2, Nx // 2); units value²·mm².
    fx, fy : 1-D ndarray
        Centred frequency axes (columns, rows) in 1/mm.
    variance : float
        Mean pixel variance of the detrended ROIs (value²); equals the integral of `nps`.
    n_rois : int
        Number of ROIs averaged.
    pixel_mm : (dy, dx)
        Pixel spacing (row, column) in mm.
    detrend : str
        The detrending used ("mean", "plane" or "poly2").
    """

    nps: np.ndarray = field(repr=False)
    fx: np.ndarray = field(repr=False)
    fy: np.ndarray = field(repr=False)
    variance: float
    n_rois: int
    pixel_mm: tuple[float, float]
    detrend: str = "plane"

    @property
    def df(self) -> tuple[float, float]:
        """Frequency step (dfy, dfx) in 1/mm."""
        return (1.0 / (self.nps.shape[0] * self.pixel_mm[0]),
                1.0 / (self.nps.shape[1] * self.pixel_mm[1]))

    @property
    def nyquist(self) -> tuple[float, float]:
        """Nyquist frequency (row, column direction) in 1/mm."""
        return (0.5 / self.pixel_mm[0], 0.5 / self.pixel_mm[1])

    def integral(self) -> float:
        """Sum of NPS·Δfx·Δfy over all frequencies (equals `variance`)."""
        dfy, dfx = self.df
        return float(self.nps.sum() * dfx * dfy)


def _as_stack(rois: np.ndarray) -> np.ndarray:
    arr = np.asarray(rois, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(f"rois must be (n, h, w) or (h, w), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] < 4 or arr.shape[2] < 4:
        raise ValueError(f"rois must hold at least one ROI of ≥ 4×4 pixels, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("rois contain NaN or infinite values")
    return arr


def detrend_rois(rois: np.ndarray, detrend: str = "plane") -> np.ndarray:
    """Subtract a least-squares polynomial surface from each ROI.

    Parameters
    ----------
    rois : (n, h, w) ndarray
    detrend : {"mean", "plane", "poly2"}
        Order of the fitted surface: constant, first-order (a + b·x + c·y) or full
        second-order polynomial, as ICRU 87 recommends for heel-effect/gain trends.

    Returns
    -------
    (n, h, w) float64 ndarray of residuals.
    """
    if detrend not in DETRENDS:
        raise ValueError(f"detrend must be one of {DETRENDS}, got {detrend!r}")
    arr = _as_stack(rois)
    n, h, w = arr.shape
    if detrend == "mean":
        return arr - arr.mean(axis=(1, 2), keepdims=True)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    # centred, scaled coordinates keep the normal equations well conditioned
    x = (x - (w - 1) / 2) / max(w - 1, 1)
    y = (y - (h - 1) / 2) / max(h - 1, 1)
    cols = [np.ones_like(x), x, y]
    if detrend == "poly2":
        cols += [x * x, x * y, y * y]
    design = np.stack([c.ravel() for c in cols], axis=1)          # (h*w, k)
    flat = arr.reshape(n, h * w).T                                   # (h*w, n)
    coef, *_ = np.linalg.lstsq(design, flat, rcond=None)           # all ROIs in one solve
    return (flat - design @ coef).T.reshape(n, h, w)


def nps_2d(rois: np.ndarray, pixel_mm: tuple[float, float], *, detrend: str = "plane") -> Nps2D:
    """2-D noise power spectrum averaged over ROIs.

    Parameters
    ----------
    rois : (n, h, w) or (h, w) ndarray
        Uniform-image ROIs in linear signal units (e.g. raw detector values or HU).
    pixel_mm : (dy, dx)
        Pixel spacing (row, column) in mm.
    detrend : {"mean", "plane", "poly2"}
        Surface removed from each ROI before the Fourier transform.

    Returns
    -------
    Nps2D
        Units of `nps` are value²·mm²; frequencies in 1/mm.

    Notes
    -----
    NPS = Δx·Δy/(Nx·Ny)·<|DFT2(ROI − fit)|²> (ICRU 87 eq. 4.4; IEC 62220-1-1 eq. 8). With
    this scaling white noise of variance σ² has a flat NPS equal to σ²·Δx·Δy. No window is
    applied (the standards use none).

    References
    ----------
    .. [1] ICRU Report 87, Radiation dose and image-quality assessment in computed tomography,
       J. ICRU 12(1), 2012, doi:10.1093/jicru/ndt007.
    .. [2] IEC 62220-1-1:2015, Medical electrical equipment — Characteristics of digital X-ray
       imaging devices — Part 1-1: Determination of the detective quantum efficiency.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> res = nps_2d(rng.normal(0, 2.0, (64, 64, 64)), (0.1, 0.1), detrend="mean")
    >>> round(float(res.nps.mean()) / (4.0 * 0.01), 1)
    1.0
    """
    dy, dx = float(pixel_mm[0]), float(pixel_mm[1])
    if not (dy > 0 and dx > 0):
        raise ValueError(f"pixel_mm must be positive, got {pixel_mm}")
    resid = detrend_rois(rois, detrend)
    n, h, w = resid.shape
    power = np.abs(np.fft.fft2(resid, axes=(1, 2))) ** 2
    nps = np.fft.fftshift(power.mean(axis=0)) * (dx * dy) / (h * w)
    fx = np.fft.fftshift(np.fft.fftfreq(w, d=dx))
    fy = np.fft.fftshift(np.fft.fftfreq(h, d=dy))
    variance = float(np.mean(resid * resid))
    return Nps2D(nps=nps, fx=fx, fy=fy, variance=variance, n_rois=n, pixel_mm=(dy, dx),
                 detrend=detrend)


def radial_profile(nps: Nps2D, *, bin_width: float | None = None, exclude_axes: bool = False,
                   f_max: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged NPS.

    Parameters
    ----------
    nps : Nps2D
    bin_width : float, optional
        Width of the radial frequency bins in 1/mm; the coarser frequency step by default.
    exclude_axes : bool
        Leave out the fx = 0 and fy = 0 lines, which carry residual trends and row/column
        (structured) noise.
    f_max : float, optional
        Highest radial frequency reported; the lower Nyquist frequency by default.

    Returns
    -------
    f : 1-D ndarray
        Bin centres in 1/mm (bins without samples are dropped).
    profile : 1-D ndarray
        Mean NPS in each bin (value²·mm²).
    """
    dfy, dfx = nps.df
    width = float(bin_width) if bin_width else max(dfx, dfy)
    if width <= 0:
        raise ValueError("bin_width must be positive")
    top = float(f_max) if f_max else min(nps.nyquist)
    fr = np.hypot(nps.fy[:, None], nps.fx[None, :])
    keep = fr <= top + 0.5 * width
    if exclude_axes:
        keep &= (nps.fy[:, None] != 0) & (nps.fx[None, :] != 0)
    idx = np.floor(fr[keep] / width + 0.5).astype(np.intp)   # bin k is centred on k·width
    counts = np.bincount(idx)
    sums = np.bincount(idx, weights=nps.nps[keep])
    good = counts > 0
    f = np.arange(counts.size, dtype=np.float64) * width
    return f[good], sums[good] / counts[good]


def axis_profiles(nps: Nps2D, *, half_width: int = 7, exclude_axis: bool = True
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """NPS profiles along the two frequency axes, IEC 62220-1-1 style.

    The profile along fx averages the `half_width` rows on each side of fy = 0 (the axis row
    itself excluded when `exclude_axis`, as IEC 62220-1-1 §7.2.4 prescribes: 2 × 7 lines),
    and likewise along fy.

    Returns
    -------
    f : 1-D ndarray
        Non-negative frequencies in 1/mm (the fx axis).
    nps_x, nps_y : 1-D ndarray
        Profiles along fx and fy (value²·mm²); `nps_y` is interpolated onto `f` when the ROI
        is not square.
    """
    if half_width < 1:
        raise ValueError("half_width must be ≥ 1")
    h, w = nps.nps.shape
    cy, cx = h // 2, w // 2

    def offsets(centre: int, size: int) -> np.ndarray:
        off = np.arange(-half_width, half_width + 1)
        if exclude_axis:
            off = off[off != 0]
        idx = centre + off
        return idx[(idx >= 0) & (idx < size)]

    rows = offsets(cy, h)
    cols = offsets(cx, w)
    nps_x_full = nps.nps[rows, :].mean(axis=0)
    nps_y_full = nps.nps[:, cols].mean(axis=1)
    fpos_x = nps.fx[cx:]
    nps_x = nps_x_full[cx:]
    # the spectrum is symmetric; fold negative frequencies in where they exist
    neg = nps_x_full[:cx][::-1]
    nps_x = nps_x.copy()
    nps_x[1:1 + neg.size] = 0.5 * (nps_x[1:1 + neg.size] + neg[:nps_x.size - 1])
    fpos_y = nps.fy[cy:]
    nps_y = nps_y_full[cy:].copy()
    negy = nps_y_full[:cy][::-1]
    nps_y[1:1 + negy.size] = 0.5 * (nps_y[1:1 + negy.size] + negy[:nps_y.size - 1])
    if fpos_y.size != fpos_x.size or not np.allclose(fpos_y, fpos_x):
        nps_y = np.interp(fpos_x, fpos_y, nps_y)
    return fpos_x, nps_x, nps_y


def extract_rois(image: np.ndarray, size_px: int | tuple[int, int], *, overlap: float = 0.5,
                 mask: np.ndarray | None = None) -> np.ndarray:
    """Tile an image into square (or rectangular) ROIs, vectorised.

    Parameters
    ----------
    image : (M, N) ndarray
    size_px : int or (h, w)
        ROI size in pixels.
    overlap : float
        Fractional overlap of neighbouring ROIs in [0, 1); 0.5 is the IEC 62220-1-1 choice.
    mask : (M, N) bool ndarray, optional
        Only ROIs lying entirely inside the mask are kept.

    Returns
    -------
    (n, h, w) ndarray
        A copy of the ROIs, in raster order (row-major over ROI positions).
    """
    img = np.asarray(image)
    if img.ndim != 2:
        raise ValueError(f"image must be 2-D, got shape {img.shape}")
    h, w = (int(v) for v in np.broadcast_to(np.asarray(size_px), (2,)))  # n or (h, w)
    if h < 1 or w < 1:
        raise ValueError("size_px must be ≥ 1")
    if not 0 <= overlap < 1:
        raise ValueError("overlap must be in [0, 1)")
    if h > img.shape[0] or w > img.shape[1]:
        return np.empty((0, h, w), dtype=img.dtype)
    sy = max(1, int(round(h * (1 - overlap))))
    sx = max(1, int(round(w * (1 - overlap))))
    win = sliding_window_view(img, (h, w))[::sy, ::sx]              # (ny, nx, h, w) view
    rois = win.reshape(-1, h, w)
    if mask is not None:
        m = np.asarray(mask, dtype=bool)
        if m.shape != img.shape:
            raise ValueError("mask must have the image's shape")
        # a window is inside when the mask count over it equals its area (summed-area table)
        sat = np.pad(m.astype(np.int64).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
        r0 = np.arange(0, img.shape[0] - h + 1, sy)[:, None]
        c0 = np.arange(0, img.shape[1] - w + 1, sx)[None, :]
        inside = (sat[r0 + h, c0 + w] - sat[r0, c0 + w] - sat[r0 + h, c0] + sat[r0, c0]) == h * w
        rois = rois[inside.ravel()]
    return np.ascontiguousarray(rois)


def value_at(f: np.ndarray, y: np.ndarray, f0: float) -> float | None:
    """Linear interpolation of a profile at `f0`; None outside the sampled range."""
    f = np.asarray(f, dtype=float)
    if f.size == 0 or f0 < f[0] or f0 > f[-1]:
        return None
    return float(np.interp(f0, f, y))


def nps_peak_frequency(f: np.ndarray, profile: np.ndarray) -> float:
    """Frequency (1/mm) of the profile maximum, ignoring zero frequency (AAPM TG-233 f_peak)."""
    f = np.asarray(f, dtype=float)
    p = np.asarray(profile, dtype=float)
    sel = f > 0
    if not np.any(sel):
        raise ValueError("profile has no non-zero frequencies")
    return float(f[sel][np.argmax(p[sel])])


def nps_mean_frequency(f: np.ndarray, profile: np.ndarray) -> float:
    """Power-weighted mean frequency (1/mm) of a radial profile (AAPM TG-233 f_avg)."""
    f = np.asarray(f, dtype=float)
    p = np.asarray(profile, dtype=float)
    total = p.sum()
    if total <= 0:
        raise ValueError("profile has no power")
    return float((f * p).sum() / total)
