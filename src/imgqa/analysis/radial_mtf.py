"""CT spatial resolution: wire/bead PSF → MTF, and the circular-edge TTF of a rod insert.

* `wire_mtf`: the image of a thin wire along z (or a small bead) is the in-plane PSF. After
  subtracting a background plane fitted around it, the 2-D Fourier transform of the PSF gives
  the 2-D MTF; its radial average is the MTF, and its fx and fy axes are the MTFs from line
  integration (LSF along x and y) (IEC 61223-3-5; Boone 2001; AAPM TG-233 §3).
* `circular_edge_ttf`: AAPM TG-233 task transfer function. Pixels around a rod insert are
  binned by their distance from the rod centre in sub-pixel bins (default pixel/10) to form a
  radial edge-spread function; its derivative is the LSF and |FFT(LSF)| the TTF
  (Richard et al. 2012; Chen et al. 2014).

All functions take HU images and the pixel size in mm and return frozen dataclasses with
frequencies in lp/mm (= cycles/mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage, special

from imgqa.analysis.roi import require_2d
from imgqa.errors import AnalysisError, PhantomNotFoundError

__all__ = [
    "EdgeTtfResult",
    "MtfCurve",
    "RodInsert",
    "WireMtfResult",
    "average_curves",
    "circular_edge_ttf",
    "find_rod",
    "frequency_at",
    "locate_wire",
    "refine_rod_centre",
    "rod_at",
    "wire_mtf",
]

# Zero-padding of the FFTs: sampling the transform finely enough that f50/f10 are interpolated
# between close points (the padding interpolates the transform, it adds no information).
_MIN_FFT = 512
# Objects at least this far above the background are wire candidates (HU).
_WIRE_MIN_CONTRAST_HU = 300.0
# Around a wire the phantom is uniform: the background ring may not vary by more than this
# fraction of the wire's peak (else the "wire" is an edge, a table part, an insert...).
_WIRE_MAX_RING_SPREAD = 0.15
# Even soft kernels image a thin wire narrower than this (FWHM); wider objects are inserts.
_WIRE_MAX_FWHM_MM = 2.6
# A wire/bead is compact; longer objects (helical markers, ramps) are not.
_WIRE_MAX_ELONGATION = 2.5


@dataclass(frozen=True, slots=True)
class MtfCurve:
    """An MTF sampled at `frequency` (lp/mm), normalised to 1 at zero frequency."""

    frequency: np.ndarray = field(repr=False)
    mtf: np.ndarray = field(repr=False)
    mtf50: float
    mtf10: float


def frequency_at(frequency: np.ndarray, mtf: np.ndarray, level: float) -> float:
    """First frequency where `mtf` falls to `level` (linear interpolation); NaN if it does not.

    Examples
    --------
    >>> frequency_at(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.6, 0.2]), 0.5)
    1.25
    """
    below = np.nonzero(mtf <= level)[0]
    if below.size == 0 or below[0] == 0:
        return float("nan")
    k = int(below[0])
    f0, f1, m0, m1 = frequency[k - 1], frequency[k], mtf[k - 1], mtf[k]
    if m0 == m1:
        return float(f1)
    return float(f0 + (m0 - level) * (f1 - f0) / (m0 - m1))


def _curve(frequency: np.ndarray, mtf: np.ndarray) -> MtfCurve:
    return MtfCurve(frequency, mtf, frequency_at(frequency, mtf, 0.5),
                    frequency_at(frequency, mtf, 0.1))


def average_curves(curves: list[MtfCurve]) -> MtfCurve:
    """Mean of MTF curves sampled at the same frequencies (e.g. one per slice)."""
    if not curves:
        raise ValueError("no curves to average")
    n = min(c.frequency.size for c in curves)
    mtf = np.mean([c.mtf[:n] for c in curves], axis=0)
    return _curve(curves[0].frequency[:n], mtf)


# ---------------------------------------------------------------------------------------------
# Wire / bead
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WireMtfResult:
    """MTF of a wire or bead image.

    Attributes
    ----------
    radial : MtfCurve
        Radial average of the 2-D MTF.
    x, y : MtfCurve
        MTF along columns (x) and rows (y): the transforms of the LSFs obtained by integrating
        the PSF along y and x.
    wire_rc : (row, col)
        Wire position (centroid of the PSF peak), pixels.
    roi_radius_px : float
        Radius around the wire inside which the PSF is kept.
    background_hu : float
        Background level at the wire position (fitted plane).
    psf : ndarray
        Background-subtracted PSF (square, wire near the centre).
    """

    radial: MtfCurve
    x: MtfCurve
    y: MtfCurve
    wire_rc: tuple[float, float]
    roi_radius_px: float
    background_hu: float
    psf: np.ndarray = field(repr=False, compare=False)


def _elongation(mask: np.ndarray) -> float:
    rr, cc = np.nonzero(mask)
    if rr.size < 3:
        return 1.0
    cov = np.cov(np.vstack([rr, cc]))
    ev = np.linalg.eigvalsh(cov)
    return float(np.sqrt(max(ev[1], 1e-9) / max(ev[0], 0.25 / 12)))


def locate_wire(image: np.ndarray, pixel_mm: float) -> tuple[float, float]:
    """(row, col) of a wire or bead: the brightest compact object well above its background.

    Raises
    ------
    PhantomNotFoundError
        Nothing compact stands out by at least 150 HU.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    sm = ndimage.gaussian_filter(img, 1.0)
    inside = img[img > -400.0]
    bg = float(np.median(inside)) if inside.size else float(np.median(img))
    peak = float(sm.max())
    if peak - bg < _WIRE_MIN_CONTRAST_HU:
        raise PhantomNotFoundError(
            f"No wire or bead found: nothing in the image stands out by "
            f"{_WIRE_MIN_CONTRAST_HU:g} HU above the background ({bg:.0f} HU).",
            hint="ct.mtf_wire expects an axial image of a thin metal wire (or bead) in a "
                 "uniform phantom.")
    thr = bg + max(_WIRE_MIN_CONTRAST_HU, 0.2 * (peak - bg))
    labels, n = ndimage.label(sm > thr)
    if n == 0:
        raise PhantomNotFoundError("No wire or bead found in the image.")
    index = np.arange(1, n + 1)
    peaks = ndimage.maximum(sm, labels, index)
    sizes = ndimage.sum(np.ones_like(sm), labels, index)
    max_area_px = np.pi * (3.0 / pixel_mm) ** 2  # a wire image is a few mm across at most
    best, best_peak = None, -np.inf
    for k, sl in enumerate(ndimage.find_objects(labels)):  # few objects, not pixels
        if sizes[k] > max_area_px or peaks[k] <= best_peak:
            continue
        if _elongation(labels[sl] == k + 1) > _WIRE_MAX_ELONGATION:
            continue
        best, best_peak = k, peaks[k]
    if best is None:
        raise PhantomNotFoundError(
            "No compact bright object (wire or bead) found; the bright objects in the image "
            "are too large or elongated.",
            hint="ct.mtf_wire expects a thin wire perpendicular to the slice, or a small bead.")
    r, c = np.unravel_index(np.argmax(np.where(labels == best + 1, sm, -np.inf)), sm.shape)
    # Sub-pixel: centroid of the background-subtracted peak in a 5×5 window.
    r0, r1, c0, c1 = max(r - 2, 0), min(r + 3, img.shape[0]), max(c - 2, 0), \
        min(c + 3, img.shape[1])
    w = np.clip(img[r0:r1, c0:c1] - bg, 0.0, None)
    if w.sum() <= 0:
        return float(r), float(c)
    rr, cc = np.mgrid[r0:r1, c0:c1]
    return float((w * rr).sum() / w.sum()), float((w * cc).sum() / w.sum())


def _plane_background(sub: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Least-squares plane through sub[mask], evaluated everywhere on sub."""
    rr, cc = np.mgrid[:sub.shape[0], :sub.shape[1]]
    a = np.column_stack([rr[mask], cc[mask], np.ones(int(mask.sum()))])
    coef, *_ = np.linalg.lstsq(a, sub[mask].astype(float), rcond=None)
    return coef[0] * rr + coef[1] * cc + coef[2]


def wire_mtf(image: np.ndarray, pixel_mm: float, *, wire_rc: tuple[float, float] | None = None,
             roi_radius_mm: float = 5.0, wire_diameter_mm: float = 0.0) -> WireMtfResult:
    """MTF from the image of a wire (or bead) perpendicular to the slice.

    Parameters
    ----------
    image : (M, N) ndarray
        Axial slice in HU.
    pixel_mm : float
        Pixel size in mm.
    wire_rc : (row, col), optional
        Wire position in pixels; found with `locate_wire` when omitted.
    roi_radius_mm : float, optional
        The PSF is kept within this radius; a background plane is fitted in the ring from 1 to
        1.5 times this radius and subtracted.
    wire_diameter_mm : float, optional
        When > 0, the MTF is divided by the transfer function of the wire's circular cross
        section, 2·J1(πfd)/(πfd) (up to 90 % of its first zero), to give the system MTF.

    Returns
    -------
    WireMtfResult

    Notes
    -----
    The PSF outside the ROI radius is set to zero, which limits the noise added to the MTF.
    The 2-D FFT is zero-padded to at least 512² (interpolation); the MTF is |F| / F(0).
    A wire of diameter d adds its own transfer 2·J1(πfd)/(πfd), removed only when
    `wire_diameter_mm` is given: for d = 0.2 mm it is 0.90 at 1 lp/mm.

    References
    ----------
    .. [1] IEC 61223-3-5:2019, Evaluation and routine testing in medical imaging departments —
       Part 3-5: Acceptance and constancy tests — Imaging performance of CT X-ray equipment.
    .. [2] AAPM Report 233 (2019), Performance evaluation of computed tomography systems.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    if wire_rc is None:
        wire_rc = locate_wire(img, pixel_mm)
    h = roi_radius_mm / pixel_mm
    half = int(np.ceil(1.5 * h))
    r0, c0 = int(round(wire_rc[0])), int(round(wire_rc[1]))
    if r0 - half < 0 or c0 - half < 0 or r0 + half >= img.shape[0] or c0 + half >= img.shape[1]:
        raise AnalysisError(
            f"The wire is too close to the image edge for a {roi_radius_mm:g} mm ROI.",
            hint="Use a smaller roi_radius_mm or centre the wire in the field of view.")
    sub = img[r0 - half:r0 + half + 1, c0 - half:c0 + half + 1]
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    dist = np.hypot(yy - (wire_rc[0] - r0), xx - (wire_rc[1] - c0))
    ring = dist > h
    if np.mean(sub[ring] < -400.0) > 0.05:
        raise PhantomNotFoundError(
            "The bright object found is not surrounded by phantom material (air around it): "
            "it is not a wire inside a phantom.",
            hint="ct.mtf_wire expects a thin wire or bead inside a uniform phantom.")
    plane = _plane_background(sub, ring)
    psf = np.where(ring, 0.0, sub - plane)
    total = psf.sum()
    peak = float(psf.max())
    if total <= 0 or peak <= 0:
        raise AnalysisError("The wire signal is not above the background; no MTF can be made.")
    fwhm_mm = 2.0 * np.sqrt(float((psf > 0.5 * peak).sum()) / np.pi) * pixel_mm
    if fwhm_mm > max(_WIRE_MAX_FWHM_MM, 3.0 * pixel_mm):
        raise PhantomNotFoundError(
            f"The bright object found is {fwhm_mm:.1f} mm wide at half maximum: too wide for the "
            "image of a thin wire or small bead (an insert or sphere?).",
            hint="ct.mtf_wire expects a wire or bead much thinner than the resolution; use "
                 "ct.ttf for rod inserts.")
    spread = float(np.percentile(sub[ring] - plane[ring], 99) -
                   np.percentile(sub[ring] - plane[ring], 1))
    if spread > _WIRE_MAX_RING_SPREAD * peak:
        raise PhantomNotFoundError(
            f"The background around the bright object is not uniform (it varies by "
            f"{spread:.0f} HU against a peak of {peak:.0f} HU): it is not an isolated wire.",
            hint="ct.mtf_wire expects a thin wire or bead inside a uniform phantom; give "
                 "wire_row/wire_col or a smaller roi_radius_mm if other objects are close.")
    n_fft = max(_MIN_FFT, int(2 ** np.ceil(np.log2(4 * psf.shape[0]))))
    spec = np.abs(np.fft.fft2(psf, s=(n_fft, n_fft))) / abs(total)
    df = 1.0 / (n_fft * pixel_mm)
    n_nyq = n_fft // 2
    freq = np.arange(n_nyq + 1) * df
    x_mtf = spec[0, :n_nyq + 1]
    y_mtf = spec[:n_nyq + 1, 0]
    # Radial average of the 2-D MTF in bins of df (the padded sampling step).
    fy = np.fft.fftfreq(n_fft)[:, None]
    fx = np.fft.fftfreq(n_fft)[None, :]
    k = np.rint(np.hypot(fy, fx) * n_fft).astype(np.intp).ravel()
    keep = k <= n_nyq
    sums = np.bincount(k[keep], weights=spec.ravel()[keep], minlength=n_nyq + 1)
    counts = np.bincount(k[keep], minlength=n_nyq + 1)
    radial = sums / np.maximum(counts, 1)
    if wire_diameter_mm > 0:
        x = np.pi * freq * wire_diameter_mm
        with np.errstate(divide="ignore", invalid="ignore"):
            wire_tf = np.where(x > 0, 2.0 * special.j1(x) / x, 1.0)
        valid = x < 0.9 * 3.8317  # first zero of J1
        wire_tf = np.where(valid, wire_tf, np.nan)
        radial, x_mtf, y_mtf = radial / wire_tf, x_mtf / wire_tf, y_mtf / wire_tf
        n_ok = int(valid.sum())
        freq, radial, x_mtf, y_mtf = freq[:n_ok], radial[:n_ok], x_mtf[:n_ok], y_mtf[:n_ok]
    return WireMtfResult(_curve(freq, radial), _curve(freq, x_mtf), _curve(freq, y_mtf),
                         (float(wire_rc[0]), float(wire_rc[1])), float(h),
                         float(plane[half, half]), psf)


# ---------------------------------------------------------------------------------------------
# Circular edge (rod insert) — AAPM TG-233 TTF
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RodInsert:
    """A rod insert found in a slice: centre (row, col, pixels), radius (pixels), contrast."""

    centre_rc: tuple[float, float]
    radius_px: float
    contrast_hu: float


@dataclass(frozen=True, slots=True)
class EdgeTtfResult:
    """Task transfer function of a circular edge.

    Attributes
    ----------
    ttf : MtfCurve
        TTF up to the Nyquist frequency of the pixel grid, normalised at zero frequency.
    contrast_hu : float
        Rod mean − background mean (HU).
    centre_rc : (row, col)
    rod_radius_px : float
        Radius of the edge (half-contrast crossing of the ESF), pixels.
    esf_r_mm, esf : ndarray
        Radial ESF (HU) against distance from the rod centre (mm).
    lsf : ndarray
        LSF (derivative of the ESF, normalised contrast), same sampling as `esf_r_mm`.
    """

    ttf: MtfCurve
    contrast_hu: float
    centre_rc: tuple[float, float]
    rod_radius_px: float
    esf_r_mm: np.ndarray = field(repr=False, compare=False)
    esf: np.ndarray = field(repr=False, compare=False)
    lsf: np.ndarray = field(repr=False, compare=False)


def find_rod(image: np.ndarray, pixel_mm: float, *, min_diameter_mm: float = 5.0,
             max_diameter_mm: float = 50.0, min_contrast_hu: float = 50.0,
             polarity: str = "any") -> RodInsert:
    """The highest-contrast round insert (rod) in a slice.

    The background is the median of the phantom (pixels above −400 HU); objects differing by
    more than `min_contrast_hu` that are round (fill ≥ 60 % of their bounding circle), of the
    given diameter range and not touching the image border are candidates. `polarity`
    ``"positive"`` keeps only inserts denser than the background (e.g. Teflon), ``"negative"``
    only less dense ones (air), ``"any"`` both.

    Raises
    ------
    PhantomNotFoundError
        No such insert.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    inside = img > -400.0
    if inside.sum() < 100:
        raise PhantomNotFoundError("No phantom in the image (air only).")
    bg = float(np.median(img[inside]))
    sm = ndimage.gaussian_filter(img, 1.0)
    best: RodInsert | None = None
    signs = {"any": (1.0, -1.0), "positive": (1.0,), "negative": (-1.0,)}[polarity]
    for sign in signs:
        labels, _ = ndimage.label(sign * (sm - bg) > min_contrast_hu)
        for k, sl in enumerate(ndimage.find_objects(labels)):
            if sl is None:
                continue
            if sl[0].start == 0 or sl[1].start == 0 or sl[0].stop == img.shape[0] \
                    or sl[1].stop == img.shape[1]:
                continue
            obj = labels[sl] == k + 1
            area = float(obj.sum())
            d_mm = 2.0 * np.sqrt(area / np.pi) * pixel_mm
            if not min_diameter_mm <= d_mm <= max_diameter_mm:
                continue
            extent = max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start)
            if area < 0.6 * np.pi * (extent / 2.0) ** 2:
                continue
            rr, cc = np.nonzero(obj)
            centre = (float(rr.mean() + sl[0].start), float(cc.mean() + sl[1].start))
            contrast = float(np.median(img[sl][obj]) - bg)
            cand = RodInsert(centre, float(np.sqrt(area / np.pi)), contrast)
            if best is None or abs(cand.contrast_hu) > abs(best.contrast_hu):
                best = cand
    if best is None:
        raise PhantomNotFoundError(
            f"No round insert of {min_diameter_mm:g}–{max_diameter_mm:g} mm with at least "
            f"{min_contrast_hu:g} HU contrast found.",
            hint="ct.ttf expects an axial slice through a rod insert (e.g. Teflon or air in a "
                 "Catphan CTP404 or ACR module 1); give rod_row and rod_col to choose one.")
    return best


def rod_at(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float]) -> RodInsert:
    """The rod insert containing the point `centre_rc` (a user's click).

    The rod is the connected region around the point that differs from the phantom background
    by more than half the contrast at the point.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    r, c = int(round(centre_rc[0])), int(round(centre_rc[1]))
    if not (0 <= r < img.shape[0] and 0 <= c < img.shape[1]):
        raise PhantomNotFoundError("The rod position given is outside the image.")
    inside = img > -400.0
    bg = float(np.median(img[inside])) if inside.any() else 0.0
    sm = ndimage.gaussian_filter(img, 1.0)
    contrast = float(sm[r, c] - bg)
    if abs(contrast) < 20.0:
        raise PhantomNotFoundError(
            f"There is no insert at row {r}, column {c}: it reads like the background "
            f"({sm[r, c]:.0f} HU vs {bg:.0f} HU).",
            hint="Give the centre of a rod insert, or leave rod_row/rod_col empty to find one.")
    labels, _ = ndimage.label(np.sign(contrast) * (sm - bg) > abs(contrast) / 2.0)
    obj = labels == labels[r, c]
    rr, cc = np.nonzero(obj)
    return RodInsert((float(rr.mean()), float(cc.mean())), float(np.sqrt(obj.sum() / np.pi)),
                     contrast)


def refine_rod_centre(image: np.ndarray, centre_rc: tuple[float, float], radius_px: float,
                      *, iterations: int = 3) -> tuple[float, float]:
    """Sub-pixel rod centre: contrast-weighted centroid within a window around the rod.

    The window is a disc of 1.3 × the rod radius around the current estimate (symmetric, so
    background noise does not pull the centroid); repeated `iterations` times.
    """
    img = np.asarray(image, dtype=float)
    r, c = centre_rc
    win = 1.3 * radius_px + 2.0
    for _ in range(iterations):
        r0, c0 = int(np.floor(r - win)), int(np.floor(c - win))
        r1, c1 = int(np.ceil(r + win)) + 1, int(np.ceil(c + win)) + 1
        if r0 < 0 or c0 < 0 or r1 > img.shape[0] or c1 > img.shape[1]:
            break
        sub = img[r0:r1, c0:c1]
        rr, cc = np.mgrid[r0:r1, c0:c1]
        d = np.hypot(rr - r, cc - c)
        bg = float(np.median(sub[(d > 1.15 * radius_px + 1.0) & (d <= win)]))
        w = np.where(d <= win, sub - bg, 0.0)
        if abs(w.sum()) < 1e-9:
            break
        r, c = float((w * rr).sum() / w.sum()), float((w * cc).sum() / w.sum())
    return r, c


def _tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    """Tukey (tapered cosine) window: flat centre, cosine tapers on `alpha`/2 of each side."""
    x = np.linspace(0.0, 1.0, n)
    w = np.ones(n)
    edge = alpha / 2.0
    lo = x < edge
    hi = x > 1.0 - edge
    w[lo] = 0.5 * (1 + np.cos(np.pi * (x[lo] / edge - 1)))
    w[hi] = 0.5 * (1 + np.cos(np.pi * ((x[hi] - 1.0) / edge + 1)))
    return w


def circular_edge_ttf(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float],
                      rod_radius_px: float, *, margin_mm: float = 5.0, bin_fraction: float = 0.1
                      ) -> EdgeTtfResult:
    """TTF of a rod insert from its radial edge-spread function (AAPM TG-233).

    Parameters
    ----------
    image : (M, N) ndarray
        Axial slice in HU.
    pixel_mm : float
        Pixel size in mm.
    centre_rc : (row, col)
        Rod centre (sub-pixel; see `refine_rod_centre`).
    rod_radius_px : float
        Approximate rod radius in pixels.
    margin_mm : float, optional
        The ESF spans the rod radius ± this distance; the inner and outer thirds give the rod
        and background levels.
    bin_fraction : float, optional
        ESF bin width as a fraction of the pixel size (TG-233: about 1/10).

    Returns
    -------
    EdgeTtfResult

    Notes
    -----
    LSF = −dESF/dr on the normalised ESF, tapered by a Tukey window (flat over the central
    half), zero-padded and Fourier transformed; TTF = |FFT| / FFT(0), reported up to the
    Nyquist frequency of the pixel grid. Empty bins (near the centre of very small rods) are
    filled by linear interpolation.

    References
    ----------
    .. [1] AAPM Report 233 (2019), Performance evaluation of computed tomography systems, §4.
    .. [2] S. Richard, D. B. Husarik, G. Yadava, S. N. Murphy, E. Samei, "Towards task-based
       assessment of CT performance", Med. Phys. 39 (2012) 4115-4122.
    .. [3] B. Chen, O. Christianson, J. M. Wilson, E. Samei, "Assessment of volumetric noise
       and resolution performance for linear and nonlinear CT reconstruction methods",
       Med. Phys. 41 (2014) 071909.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    result = _edge_ttf_once(img, pixel_mm, centre_rc, rod_radius_px, margin_mm, bin_fraction)
    if abs(result.rod_radius_px - rod_radius_px) > 0.5:
        # The given radius was rough (e.g. from a low threshold): centre the ESF on the edge.
        result = _edge_ttf_once(img, pixel_mm, centre_rc, result.rod_radius_px, margin_mm,
                                bin_fraction)
    return result


def _edge_ttf_once(img: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float],
                   rod_radius_px: float, margin_mm: float, bin_fraction: float
                   ) -> EdgeTtfResult:
    margin = margin_mm / pixel_mm
    r_max = rod_radius_px + margin
    r_min = max(rod_radius_px - margin, 0.0)
    r0, c0 = int(np.floor(centre_rc[0] - r_max)), int(np.floor(centre_rc[1] - r_max))
    r1, c1 = int(np.ceil(centre_rc[0] + r_max)) + 1, int(np.ceil(centre_rc[1] + r_max)) + 1
    if r0 < 0 or c0 < 0 or r1 > img.shape[0] or c1 > img.shape[1]:
        raise AnalysisError("The rod is too close to the image edge for the TTF region.",
                            hint="Use a smaller margin_mm or choose another insert.")
    sub = img[r0:r1, c0:c1]
    rr, cc = np.mgrid[r0:r1, c0:c1]
    d = np.hypot(rr - centre_rc[0], cc - centre_rc[1]).ravel()
    vals = sub.ravel()
    keep = (d >= r_min) & (d <= r_max)
    d, vals = d[keep], vals[keep]
    width = bin_fraction  # in pixels
    idx = np.floor((d - r_min) / width).astype(np.intp)
    n_bins = int(np.ceil((r_max - r_min) / width))
    idx = np.clip(idx, 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sums = np.bincount(idx, weights=vals, minlength=n_bins)
    r_bins = r_min + (np.arange(n_bins) + 0.5) * width
    filled = counts > 0
    if filled.sum() < 0.5 * n_bins:
        raise AnalysisError("Too few pixels around the rod edge for an ESF.")
    esf = np.interp(r_bins, r_bins[filled], sums[filled] / counts[filled])
    third = n_bins // 3
    inner = float(np.mean(esf[:third]))
    outer = float(np.mean(esf[-third:]))
    contrast = inner - outer
    if abs(contrast) < 1e-6:
        raise AnalysisError("The rod has no contrast against its background; no TTF.")
    norm = (esf - outer) / contrast
    lsf = -np.gradient(norm)  # per bin
    lsf *= _tukey(lsf.size, 0.5)
    n_fft = max(8 * lsf.size, 4096)
    spec = np.abs(np.fft.rfft(lsf, n=n_fft))
    spec /= spec[0] if spec[0] > 0 else 1.0
    freq = np.fft.rfftfreq(n_fft, d=width * pixel_mm)
    nyq = 0.5 / pixel_mm
    band = freq <= nyq
    # Edge radius: where the normalised ESF crosses one half.
    cross = np.nonzero(np.diff(np.sign(norm - 0.5)))[0]
    edge_r = float(r_bins[cross[0]]) if cross.size else float(rod_radius_px)
    return EdgeTtfResult(_curve(freq[band], spec[band]), contrast,
                         (float(centre_rc[0]), float(centre_rc[1])), edge_r,
                         r_bins * pixel_mm, esf, lsf)
