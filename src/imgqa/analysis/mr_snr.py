"""MRI signal-to-noise ratio, NEMA MS 1 methods, and flood-phantom uniformity and ghosting.

* Two-image (difference) method: two acquisitions of the same slice with identical settings.
  S = mean of the average image in the signal ROI; σ = SD(image₁ − image₂ in the ROI)/√2;
  SNR = S/σ. Independent of the background, so valid with parallel imaging and filters.
* Single-image (background) method: σ is estimated from an air region. In a magnitude image the
  air noise is Rayleigh distributed, whose SD is 0.655 σ of the underlying Gaussian noise, so
  SNR = 0.655 · S / SD_air. Invalid when the scanner zeroes or filters the background. A
  real-valued (signed) image, e.g. a Philips ``R`` image, has Gaussian zero-mean air noise:
  there SD_air = σ and no Rayleigh factor applies (detected from negative air pixels).
* Pixel values are the rescaled ones (Rescale Slope/Intercept): a stored offset (Philips real
  images store zero signal as 2047.5) would add to S and not to σ.
* Flood uniformity: ACR-style PIU (1 cm² ROI extremes in a central ROI of 75 % of the object's
  area) and hazen-style fractional uniformity: the fraction of a central profile (10 px wide)
  within ±10 % of the central mean, horizontally and vertically.
* Flood ghosting: 100 · (mean of a background ROI along the phase-encoding direction − mean of
  one along the frequency direction) / mean signal (IPEM Report 112 / MagNET style).

References
----------
.. [1] NEMA MS 1-2008 (R2014), *Determination of Signal-to-Noise Ratio (SNR) in Diagnostic
   Magnetic Resonance Imaging*.
.. [2] Kaufman L. et al., "Measuring signal-to-noise ratios in MR imaging", Radiology 173 (1989)
   265–267 (the 0.655 Rayleigh factor).
.. [3] IPEM Report 112, *Quality Control and Artefacts in Magnetic Resonance Imaging*, 2017.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from imgqa.analysis._quantile import median, percentile
from imgqa.analysis._rayleigh import RAYLEIGH_FACTOR
from imgqa.analysis.acr_mri.piu import disk_kernel
from imgqa.errors import AnalysisError

__all__ = [
    "RAYLEIGH_FACTOR",
    "FloodGhosting",
    "FloodUniformity",
    "ObjectBox",
    "SnrResult",
    "background_mask",
    "find_object",
    "flood_ghosting",
    "flood_uniformity",
    "signal_roi_mask",
    "snr_background",
    "snr_difference",
]

# A magnitude image has no negative pixels; Gaussian zero-mean air has half of them negative.
SIGNED_AIR_FRACTION = 0.05


@dataclass(frozen=True, slots=True)
class SnrResult:
    snr: float
    signal_mean: float
    noise_sd: float          # σ of the Gaussian image noise (corrected for the single method)
    method: str
    n_pixels: int


@dataclass(frozen=True, slots=True)
class ObjectBox:
    """The imaged object's extents: centre (row, col) and half sizes in pixels."""

    centre_rc: tuple[float, float]
    half_rc: tuple[float, float]
    signal: float


def find_object(image: np.ndarray, *, threshold_fraction: float = 0.25) -> ObjectBox:
    """Largest bright object (flood phantom) from a threshold at 25 % of the 99th percentile.

    The object is the largest 4-connected region of the thresholded image (the first in
    raster order among equal ones, as ``ndimage.label`` numbers them); its signal is the
    median inside it.
    """
    img = np.asarray(image, dtype=np.float32)
    hi = percentile(img, 99)
    if not np.isfinite(hi) or hi <= 0:
        raise AnalysisError("The image is empty (no signal).",
                            hint="Check that the image shows the phantom.")
    mask = img > threshold_fraction * hi
    found = _largest_region(mask)
    if found is None:
        raise AnalysisError("No object was found in the image.")
    (r0, r1, c0, c1), flat_index = found
    if r1 - r0 + 1 < 8 or c1 - c0 + 1 < 8:
        raise AnalysisError("The object in the image is too small to measure.",
                            hint="Check that the image shows the phantom.")
    return ObjectBox(((r0 + r1) / 2.0, (c0 + c1) / 2.0),
                     ((r1 - r0 + 1) / 2.0, (c1 - c0 + 1) / 2.0),
                     median(img[mask] if flat_index is None else img.ravel()[flat_index]))


def _largest_region(mask: np.ndarray
                    ) -> tuple[tuple[int, int, int, int], np.ndarray | None] | None:
    """Box (first row, last row, first col, last col) and flat pixel indices of the largest
    4-connected region of `mask` (None for the indices: the whole mask is one region), or
    None when the mask is empty.

    Connected components of the row runs instead of ``ndimage.label`` of the pixels (which
    costs ≈ 10 ns per pixel): a flood phantom's mask is a few hundred runs. Runs in adjacent
    rows sharing a column are joined; the components come from minimum-label hooking with
    pointer jumping (a few vectorised passes over the runs). The same region as labelling
    (tested), ties going to the region met first in raster order.
    """
    h, w = mask.shape
    edges = np.diff(mask.view(np.int8), axis=1, prepend=np.int8(0), append=np.int8(0))
    stride = w + 1
    # run starts (row, col) in raster order; ends (exclusive) in the same order
    rs, cs = np.divmod(np.flatnonzero(edges == 1), stride)
    ce = np.flatnonzero(edges == -1) % stride
    k = rs.size
    if k == 0:
        return None
    # runs of the next row sharing a column with run i: [lo, hi) in run order
    lo = np.searchsorted(rs * stride + ce, (rs + 1) * stride + cs, side="right")
    hi = np.searchsorted(rs * stride + cs, (rs + 1) * stride + ce, side="left")
    cnt = np.maximum(hi - lo, 0)
    src = np.repeat(np.arange(k), cnt)
    dst = np.repeat(lo - (np.cumsum(cnt) - cnt), cnt) + np.arange(int(cnt.sum()))
    root = np.arange(k)
    while src.size:
        a, b = root[src], root[dst]
        if np.array_equal(a, b):
            break
        low = np.minimum(a, b)
        np.minimum.at(root, a, low)          # hook each root under the smaller one
        np.minimum.at(root, b, low)
        while True:                          # pointer jumping to the roots
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
    if not root.any():                       # one region: the mask itself
        return (int(rs[0]), int(rs[-1]), int(cs.min()), int(ce.max()) - 1), None
    length = ce - cs
    keep = root == int(np.argmax(np.bincount(root, weights=length, minlength=k)))
    rows, starts, lens = rs[keep], cs[keep], length[keep]
    box = (int(rows[0]), int(rows[-1]), int(starts.min()), int((starts + lens).max()) - 1)
    first = rows * w + starts                # flat indices of every pixel of the region
    flat = np.repeat(first - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))
    return box, flat


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], half: tuple[float, float]
             ) -> np.ndarray:
    r = (np.arange(shape[0])[:, None] - centre[0]) / half[0]
    c = (np.arange(shape[1])[None, :] - centre[1]) / half[1]
    return r * r + c * c <= 1.0


def signal_roi_mask(image: np.ndarray, obj: ObjectBox, *, area_fraction: float = 0.75
                    ) -> np.ndarray:
    """Central elliptical ROI covering `area_fraction` of the object's ellipse (NEMA: ≥ 75 %),
    limited to pixels above half the object's signal."""
    k = np.sqrt(area_fraction)
    m = _ellipse(image.shape, obj.centre_rc, (obj.half_rc[0] * k, obj.half_rc[1] * k))
    return m & (np.asarray(image) > 0.5 * obj.signal)


def background_mask(shape: tuple[int, int], obj: ObjectBox, *, corner_fraction: float = 0.12
                    ) -> np.ndarray:
    """Four corner squares of the image that are clear of the object (air for the noise)."""
    rows, cols = shape
    n = max(int(min(rows, cols) * corner_fraction), 4)
    m = np.zeros(shape, dtype=bool)
    e = 2
    for r0 in (e, rows - e - n):
        for c0 in (e, cols - e - n):
            m[r0:r0 + n, c0:c0 + n] = True
    clear = ~_ellipse(shape, obj.centre_rc, (obj.half_rc[0] * 1.1, obj.half_rc[1] * 1.1))
    return m & clear


def snr_difference(image1: np.ndarray, image2: np.ndarray, roi: np.ndarray) -> SnrResult:
    """NEMA MS 1 two-image SNR: mean / (SD of the difference / √2) in `roi`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a = 100 + rng.normal(0, 5, (64, 64)); b = 100 + rng.normal(0, 5, (64, 64))
    >>> round(snr_difference(a, b, np.ones((64, 64), bool)).snr / 20, 1)
    1.0
    """
    # the ROI's pixels first, then float64 (the same values; no full-image copies)
    a = np.asarray(image1)[roi].astype(np.float64)
    b = np.asarray(image2)[roi].astype(np.float64)
    if a.size < 10:
        raise AnalysisError("The signal ROI has too few pixels for an SNR.")
    signal = float(0.5 * (a.mean() + b.mean()))
    noise = float(np.std(a - b, ddof=1) / np.sqrt(2.0))
    if noise <= 0:
        raise AnalysisError("The two images are identical, so their difference holds no noise.",
                            hint="Use two separate acquisitions of the same slice.")
    return SnrResult(signal / noise, signal, noise, "NEMA MS 1 two-image difference", a.size)


def snr_background(image: np.ndarray, roi: np.ndarray, background: np.ndarray) -> SnrResult:
    """NEMA MS 1 single-image SNR: 0.655 · S / SD_air for a magnitude image.

    The Rayleigh factor holds only for magnitude air (never negative). When more than
    `SIGNED_AIR_FRACTION` of the air pixels are negative the image is real-valued (Gaussian,
    zero-mean air, e.g. Philips ImageType ``R``): σ = SD_air, factor 1.
    """
    img = np.asarray(image, dtype=np.float64)
    s = img[roi]
    bg = img[background]
    if s.size < 10 or bg.size < 10:
        raise AnalysisError("There is not enough signal or air in the image for an SNR.")
    sd_air = float(bg.std(ddof=1))
    if sd_air <= 0:
        raise AnalysisError("The air background is exactly constant (the scanner zeroes it), so "
                            "the single-image SNR cannot be measured.",
                            hint="Use the two-image method (two repeated acquisitions).")
    if float(np.mean(bg < 0)) > SIGNED_AIR_FRACTION:
        sigma = sd_air
        method = ("NEMA MS 1 single image, air SD of a signed (real-valued) image: Gaussian "
                  "noise, no Rayleigh factor")
    else:
        sigma = sd_air / RAYLEIGH_FACTOR
        method = "NEMA MS 1 single image, air SD with Rayleigh factor 0.655"
    return SnrResult(float(s.mean()) / sigma, float(s.mean()), sigma, method, s.size)


@dataclass(frozen=True, slots=True)
class FloodUniformity:
    piu: float
    fractional_uniformity_horizontal: float
    fractional_uniformity_vertical: float
    max_rc: tuple[float, float]
    min_rc: tuple[float, float]
    roi_half_rc: tuple[float, float]
    centre_mean: float


def flood_uniformity(image: np.ndarray, obj: ObjectBox, spacing_mm: tuple[float, float], *,
                     tolerance: float = 0.10, profile_width_px: int = 10) -> FloodUniformity:
    """PIU (1 cm² ROI extremes within 75 % of the object) and fractional uniformity."""
    img = np.asarray(image, dtype=np.float64)
    sr, sc = spacing_mm
    roi = signal_roi_mask(img, obj)
    small = np.sqrt(100.0 / np.pi)
    kern = disk_kernel(small / sr, small / sc)
    inner, means, origin = _inner_disk_means(img, roi, kern > 0)
    if not inner.any():
        raise AnalysisError("The phantom is too small for 1 cm² ROIs.")
    # first maximum / minimum among the inner pixels (as nanargmax/nanargmin of the NaN-masked
    # means, without their NaN bookkeeping)
    imax = np.unravel_index(int(np.where(inner, means, -np.inf).argmax()), means.shape)
    imin = np.unravel_index(int(np.where(inner, means, np.inf).argmin()), means.shape)
    smax, smin = float(means[imax]), float(means[imin])
    imax = (imax[0] + origin[0], imax[1] + origin[1])
    imin = (imin[0] + origin[0], imin[1] + origin[1])
    piu = 100.0 * (1.0 - (smax - smin) / (smax + smin))
    cr, cc = round(obj.centre_rc[0]), round(obj.centre_rc[1])
    h = profile_width_px // 2
    centre_mean = float(img[cr - h:cr + h, cc - h:cc + h].mean())
    lo, hi = (1 - tolerance) * centre_mean, (1 + tolerance) * centre_mean
    frac = []
    for prof, extent in ((img[cr - h:cr + h, :].mean(axis=0), (cc, obj.half_rc[1])),
                         (img[:, cc - h:cc + h].mean(axis=1), (cr, obj.half_rc[0]))):
        c, half = extent
        seg = prof[int(c - 0.75 * half):int(c + 0.75 * half) + 1]   # central 75 % of the object
        frac.append(float(np.mean((seg >= lo) & (seg <= hi))))
    return FloodUniformity(float(piu), frac[0], frac[1], (float(imax[0]), float(imax[1])),
                           (float(imin[0]), float(imin[1])),
                           (obj.half_rc[0] * np.sqrt(0.75), obj.half_rc[1] * np.sqrt(0.75)),
                           centre_mean)


def _row_spans(footprint: np.ndarray) -> list[tuple[int, int, int]]:
    """(row offset, first col offset, last col offset) of each row of a convex footprint."""
    fp = np.asarray(footprint, dtype=bool)
    hr, hc = fp.shape[0] // 2, fp.shape[1] // 2
    used = np.flatnonzero(fp.any(axis=1))
    first = fp[used].argmax(axis=1)
    last = fp.shape[1] - 1 - fp[used, ::-1].argmax(axis=1)
    if (np.count_nonzero(fp[used], axis=1) != last - first + 1).any():
        raise ValueError("footprint rows must be contiguous")
    return [(int(i) - hr, int(f) - hc, int(la) - hc) for i, f, la in zip(used, first, last)]


# float32 holds every integer below 2**24 exactly: integer-valued pixels summed in float32
# below that bound give the float64 sums bit for bit, with half the memory traffic.
_F32_EXACT = 2.0 ** 24


def _inner_disk_means(img: np.ndarray, roi: np.ndarray, footprint: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """Mean of `img` over `footprint` centred at every pixel whose whole footprint lies in
    `roi` (the erosion of `roi` by the footprint), within the ROI's bounding box.

    The footprint (a disk) is a stack of row segments, each summed from a row-wise cumulative
    sum (integral image): O(rows of the footprint) array operations on the ROI's bounding box
    instead of a full-image convolution and erosion. Same values as ``ndimage.convolve`` with
    the normalised disk at the inner pixels up to rounding (≈ 1e-13 relative); outside the
    image counts as outside the ROI, as ``binary_erosion``'s default border.

    Integer-valued images (MR magnitude pixels) whose row sums stay below 2**24 are summed in
    float32, where every partial sum is an exact integer: the same sums as in float64, and
    the rows of the footprint sharing a segment (a disk is symmetric) share one difference.

    Returns
    -------
    inner : bool array of the bounding box
    means : float array of the bounding box (meaningful where `inner`)
    origin : (row, col) of the bounding box's first pixel in the image
    """
    rows = np.flatnonzero(roi.any(axis=1))
    cols = np.flatnonzero(roi.any(axis=0))
    if rows.size == 0:
        return np.zeros((0, 0), bool), np.zeros((0, 0)), (0, 0)
    r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    hr, hc = footprint.shape[0] // 2, footprint.shape[1] // 2
    h, w = r1 - r0, c1 - c0
    # The box padded by the footprint's half sizes; pixels outside the image are zero (and
    # outside the ROI), which only ever reaches pixels that are not inner.
    pr0, pc0 = r0 - hr, c0 - hc
    src = np.s_[max(pr0, 0):min(r1 + hr, img.shape[0]), max(pc0, 0):min(c1 + hc, img.shape[1])]
    dst = np.s_[max(pr0, 0) - pr0:min(r1 + hr, img.shape[0]) - pr0,
                max(pc0, 0) - pc0:min(c1 + hc, img.shape[1]) - pc0]
    spans = _row_spans(footprint)
    n = sum(b - a + 1 for _, a, b in spans)
    shape = (h + 2 * hr, w + 2 * hc + 1)
    part = img[src]
    top = float(np.abs(part).max()) if part.size else 0.0
    exact32 = (top * max(shape[1], n) < _F32_EXACT and np.isfinite(top)
               and bool(np.array_equal(part, np.rint(part))))
    vals = np.zeros(shape, dtype=np.float32 if exact32 else np.float64)
    inside = np.zeros(shape, dtype=np.int16 if shape[1] < 2 ** 15 else np.int32)
    vals[:, 1:][dst] = part
    inside[:, 1:][dst] = roi[src]
    np.cumsum(vals, axis=1, out=vals)        # vals[i, j] = sum of the first j pixels of row i
    np.cumsum(inside, axis=1, out=inside)
    sums = np.zeros((h, w), dtype=vals.dtype)
    count = np.zeros((h, w), dtype=inside.dtype)
    if exact32:   # exact integers: any order of the additions gives the same sums
        by_span: dict[tuple[int, int], list[int]] = {}
        for dr, a, b in spans:
            by_span.setdefault((a, b), []).append(dr)
        for (a, b), drs in by_span.items():
            seg = vals[:, hc + b + 1:hc + b + 1 + w] - vals[:, hc + a:hc + a + w]
            cnt = inside[:, hc + b + 1:hc + b + 1 + w] - inside[:, hc + a:hc + a + w]
            for dr in drs:
                sums += seg[hr + dr:hr + dr + h]
                count += cnt[hr + dr:hr + dr + h]
        return count == n, sums.astype(np.float64) / n, (r0, c0)
    for dr, a, b in spans:
        rs = slice(hr + dr, hr + dr + h)
        hi, lo = slice(hc + b + 1, hc + b + 1 + w), slice(hc + a, hc + a + w)
        sums += vals[rs, hi] - vals[rs, lo]
        count += inside[rs, hi] - inside[rs, lo]
    return count == n, sums / n, (r0, c0)


@dataclass(frozen=True, slots=True)
class FloodGhosting:
    ghosting_percent: float
    signal_mean: float
    ghost_mean: float
    noise_mean: float
    signal_box: tuple[int, int, int, int]
    ghost_box: tuple[int, int, int, int]
    noise_box: tuple[int, int, int, int]
    phase_axis: int


def _span(lo: float, hi: float) -> tuple[int, int]:
    """Index range [start, stop) of the pixels whose centres lie in [lo, hi] (pixel units)."""
    return int(np.ceil(lo - 1e-9)), int(np.floor(hi + 1e-9)) + 1


def flood_ghosting(image: np.ndarray, obj: ObjectBox, *, phase_axis: int) -> FloodGhosting:
    """Percent ghosting of a flood phantom: ghost ROI beside the object along the phase axis.

    Parameters
    ----------
    phase_axis : 0 or 1
        Image axis of the phase-encoding direction (0: columns direction = rows change,
        i.e. (0018,1312) ``COL``; 1: ``ROW``).
    """
    img = np.asarray(image, dtype=np.float64)
    rows, cols = img.shape
    cr, cc = obj.centre_rc
    hr, hc = obj.half_rc
    # Boxes hold the pixels whose centres lie in a span (pixel-centre coordinates, the image
    # covering −0.5 … n − 0.5), so a mirrored image gives the mirrored boxes. Truncating the
    # bounds with int() shifted the signal box half a pixel off centre (ghosting changed by
    # 0.2 % of its value on a flood with a 0.1 %/mm gradient when the image was mirrored).
    sig = _span(cr - 0.3 * hr, cr + 0.3 * hr) + _span(cc - 0.3 * hc, cc + 0.3 * hc)
    sig = (sig[0], sig[2], sig[1], sig[3])

    def side_box(axis: int) -> tuple[int, int, int, int]:
        # The larger gap between object and image edge along `axis`, mid-gap, 60 % of the
        # object's width across.
        n = rows if axis == 0 else cols
        c, h = (cr, hr) if axis == 0 else (cc, hc)
        c2, h2 = (cc, hc) if axis == 0 else (cr, hr)
        gap_lo, gap_hi = (c - h) + 0.5, (n - 0.5) - (c + h)
        if max(gap_lo, gap_hi) < 6:
            raise AnalysisError("There is no air beside the phantom to measure ghosting.",
                                hint="Use a field of view larger than the phantom.")
        if gap_hi >= gap_lo:
            a0, a1 = _span(c + h + 0.25 * gap_hi, n - 0.5 - 0.25 * gap_hi)
        else:
            a0, a1 = _span(-0.5 + 0.25 * gap_lo, c - h - 0.25 * gap_lo)
        b0, b1 = _span(c2 - 0.6 * h2, c2 + 0.6 * h2)
        if axis == 0:
            return a0, b0, a1, b1
        return b0, a0, b1, a1

    gbox = side_box(phase_axis)
    nbox = side_box(1 - phase_axis)

    def mean(b: tuple[int, int, int, int]) -> float:
        return float(img[max(b[0], 0):b[2], max(b[1], 0):b[3]].mean())

    s, g, n = mean(sig), mean(gbox), mean(nbox)
    return FloodGhosting(100.0 * (g - n) / s, s, g, n, sig, gbox, nbox, phase_axis)
