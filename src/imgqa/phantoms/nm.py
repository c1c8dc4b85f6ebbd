"""Gamma-camera digital phantoms with analytic ground truth.

* `flood` — a flood field (rectangular, circular or octagonal) with Poisson counts and an
  optional non-uniformity pattern: one hot and one cold separable raised-cosine bump. Because
  summing blocks and the NEMA 9-point kernel are both separable linear operations, the
  noise-free rebinned-and-smoothed image is ``1 + a·Bx·By − c·Bx'·By'`` with 1-D sequences
  computed here exactly, so the noise-free NEMA IU and DU are known (`flood` returns them).
* `line_sources` — one or more Gaussian line sources (known FWHM/FWTM), any angle, and the
  four-bar layout (a square of four lines).
* `quadrant_bars` — a quadrant bar phantom imaged through a Gaussian PSF; the truth gives the
  MTF at each quadrant's fundamental and the Droege–Morin value including odd harmonics.
* `edge` — a straight lead edge on a flood, blurred by a Gaussian PSF (known FWHM/FWTM of the
  LSF), any angle, Poisson counts, optionally inside a detector field with zeros outside.

Images are point-sampled (value at the pixel centre) so the truth is the continuous model.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["demo_sets", "edge", "flood", "four_bar", "line_sources", "nema_block", "quadrant_bars",
           "quadrant_bars_sampled", "shifted_line_sources", "smooth_flood"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_FWTM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(10.0))


def nema_block(pixel_mm: float) -> int:
    """The NEMA summing factor for `pixel_mm`, derived independently of the analysis code.

    Brute force over factors 1–64: those giving 4.48–8.32 mm, closest to 6.4 mm, smaller on a
    tie; 1 when the native pixel is already ≥ 4.48 mm or no factor lands in range.
    """
    if pixel_mm >= 4.48:
        return 1
    best = None
    for f in range(1, 65):
        size = f * pixel_mm
        in_range = 4.48 - 1e-9 <= size <= 8.32 + 1e-9
        if in_range and (best is None or abs(size - 6.4) < abs(best * pixel_mm - 6.4) - 1e-12):
            best = f
    return 1 if best is None else best


def _raised_cosine(x: np.ndarray, centre: float, width: float) -> np.ndarray:
    """(1 + cos(2π(x − centre)/width))/2 inside |x − centre| ≤ width/2, else 0."""
    u = (x - centre) / width
    return np.where(np.abs(u) <= 0.5, 0.5 * (1.0 + np.cos(2.0 * np.pi * u)), 0.0)


def _block_smooth_1d(values: np.ndarray, block: int) -> np.ndarray:
    """Mean over blocks of `block` samples, then [1,2,1]/4 with a constant extension."""
    b = values.reshape(-1, block).mean(axis=1)
    padded = np.concatenate([b[:1], b, b[-1:]])
    return 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]


def _field_mask(shape: tuple[int, int], pixel_mm: float, field: str,
                size_mm: tuple[float, float]) -> np.ndarray:
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2.0)[:, None] * pixel_mm
    x = (np.arange(cols) - (cols - 1) / 2.0)[None, :] * pixel_mm
    h, w = size_mm[0] / 2.0, size_mm[1] / 2.0
    if field == "rectangle":
        return (np.abs(y) <= h) & (np.abs(x) <= w)
    if field == "circle":
        return (x / w) ** 2 + (y / h) ** 2 <= 1.0
    if field == "octagon":
        cut = 0.3 * min(h, w)  # corner cut, as on rectangular detectors' masks
        return (np.abs(y) <= h) & (np.abs(x) <= w) & (np.abs(x) + np.abs(y) <= h + w - cut)
    raise ValueError(f"field must be rectangle, circle or octagon, got {field!r}")


def flood(matrix: int | tuple[int, int] = 128, pixel_mm: float = 3.2, *,
          field: str = "rectangle", field_blocks: tuple[int, int] | None = None,
          field_mm: tuple[float, float] | None = None, counts_per_pixel: float = 10_000.0,
          hot: float = 0.0, cold: float = 0.0, bump_mm: tuple[float, float] = (64.0, 38.4),
          noise: bool = True, seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A gamma-camera flood with a known NEMA answer.

    Parameters
    ----------
    matrix : int or (rows, cols)
        Native matrix; must be a multiple of the NEMA block (`nema_block(pixel_mm)`).
    pixel_mm : float
        Native pixel size.
    field : {"rectangle", "circle", "octagon"}
        Shape of the illuminated field.
    field_blocks : (rows, cols), optional
        Rectangular field size in analysis pixels, aligned to the block grid (exact truth).
        Default: 3/4 of the matrix.
    field_mm : (height, width), optional
        Field size in mm for circles and octagons (overrides `field_blocks`).
    counts_per_pixel : float
        Expected counts per analysis (rebinned) pixel in the flat part.
    hot, cold : float
        Relative amplitudes of the hot and cold bumps (e.g. 0.05 = +5 %).
    bump_mm : (along x, along y)
        Full widths of the raised-cosine bumps; unequal widths make DU_x ≠ DU_y.
    noise : bool
        Poisson counts (True) or the noise-free expectation.

    Returns
    -------
    image : (rows, cols) float64
    truth : dict
        ``rebin_factor``, ``rebinned_pixel_mm``, ``counts_per_pixel`` and the noise-free
        ``integral_uniformity`` and ``differential_uniformity_x``/``_y`` (%), valid for the UFOV
        and CFOV alike because both bumps lie inside the CFOV.
    """
    rows, cols = (int(v) for v in np.broadcast_to(np.asarray(matrix), (2,)))  # n or (rows, cols)
    f = nema_block(pixel_mm)
    if rows % f or cols % f:
        raise ValueError(f"matrix {rows}×{cols} must be a multiple of the NEMA block {f}")
    nbr, nbc = rows // f, cols // f
    big = f * pixel_mm
    if field_mm is None:
        fb = field_blocks or (int(nbr * 0.75), int(nbc * 0.75))
        field_mm = (fb[0] * big, fb[1] * big)
        if field == "rectangle" and ((nbr - fb[0]) % 2 or (nbc - fb[1]) % 2):
            raise ValueError("field_blocks must leave an even margin so the field is aligned "
                             "to the block grid")
    mask = _field_mask((rows, cols), pixel_mm, field, field_mm)
    # Bumps: hot to the upper left, cold to the lower right of the centre, both inside the CFOV
    # and centred on analysis pixels so their peaks are sampled exactly.
    xs = (np.arange(cols) + 0.5) * pixel_mm
    ys = (np.arange(rows) + 0.5) * pixel_mm
    cx_blk, cy_blk = nbc // 2, nbr // 2
    shift_x = max(1, round(bump_mm[0] / big * 0.75))
    shift_y = max(1, round(bump_mm[1] / big * 0.75))
    hot_c = ((cy_blk - shift_y + 0.5) * big, (cx_blk - shift_x + 0.5) * big)
    cold_c = ((cy_blk + shift_y + 0.5) * big, (cx_blk + shift_x + 0.5) * big)
    hx, hy = _raised_cosine(xs, hot_c[1], bump_mm[0]), _raised_cosine(ys, hot_c[0], bump_mm[1])
    kx, ky = _raised_cosine(xs, cold_c[1], bump_mm[0]), _raised_cosine(ys, cold_c[0], bump_mm[1])
    rel = 1.0 + hot * np.outer(hy, hx) - cold * np.outer(ky, kx)
    expected = rel * (counts_per_pixel / (f * f)) * mask
    if noise:
        rng = np.random.default_rng(seed)
        image = rng.poisson(expected).astype(np.float64)
    else:
        image = expected

    # Noise-free NEMA answer on the analysis grid (exact away from the field edge).
    smap = (1.0 + hot * np.outer(_block_smooth_1d(hy, f), _block_smooth_1d(hx, f))
            - cold * np.outer(_block_smooth_1d(ky, f), _block_smooth_1d(kx, f)))
    iu = 100.0 * (smap.max() - smap.min()) / (smap.max() + smap.min())

    def du(axis: int) -> float:
        w = sliding_window_view(smap, 5, axis=axis)
        mx, mn = w.max(axis=-1), w.min(axis=-1)
        return float(100.0 * ((mx - mn) / (mx + mn)).max())

    truth = {
        "kind": "nm_flood",
        "pixel_spacing_mm": pixel_mm,
        "field": field,
        "field_mm": list(field_mm),
        "rebin_factor": f,
        "rebinned_pixel_mm": big,
        "counts_per_pixel": counts_per_pixel,
        "hot": hot, "cold": cold, "bump_mm": list(bump_mm),
        "hot_centre_rc_rebinned": [cy_blk - shift_y, cx_blk - shift_x],
        "cold_centre_rc_rebinned": [cy_blk + shift_y, cx_blk + shift_x],
        "integral_uniformity": float(iu),
        "differential_uniformity_x": du(1),
        "differential_uniformity_y": du(0),
        "total_counts_expected": float(expected.sum()),
        "noise": noise,
    }
    return image, truth


def _overlap_1d(edges: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of [lo, hi] inside each interval [edges[i], edges[i+1]] (mm)."""
    return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)


def _cosine_integral_1d(edges: np.ndarray, lo: float, hi: float, centre: float,
                        width: float) -> np.ndarray:
    """Exact integral of the raised cosine (`_raised_cosine`) over each interval ∩ [lo, hi]."""
    a = np.clip(np.maximum(edges[:-1], lo), centre - width / 2, centre + width / 2)
    b = np.clip(np.minimum(edges[1:], hi), centre - width / 2, centre + width / 2)
    b = np.maximum(a, b)

    def prim(x: np.ndarray) -> np.ndarray:  # antiderivative of (1 + cos(2π(x − c)/W))/2
        return 0.5 * (x + width / (2 * np.pi) * np.sin(2 * np.pi * (x - centre) / width))

    return prim(b) - prim(a)


def smooth_flood(shape: tuple[int, int] = (1024, 1024), pixel_mm: float = 0.5, *,
                 field_mm: tuple[float, float] = (300.0, 400.0),
                 offset_mm: tuple[float, float] = (0.0, 0.0), counts_per_mm2: float = 250.0,
                 amplitude: float = 0.1, pattern_mm: tuple[float, float] = (180.0, 240.0),
                 noise: bool = False, seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A rectangular flood at any sub-pixel position, area-integrated, with a smooth pattern.

    The expected counts of a pixel are the exact integral over the pixel's area ∩ the field of
    ``counts_per_mm2 · (1 + amplitude·b_y(y)·b_x(x))``, where b are raised cosines of full
    widths `pattern_mm` (along y, along x) centred on the field centre (the pattern moves with
    the field). Outside the pattern the field is flat, so the UFOV periphery is flat and the NEMA
    result must not depend on where the field edge falls on the analysis-pixel grid. Because
    pixels integrate exactly, summing native pixels into blocks gives the same image as a
    coarser native pixel of the block's size.

    Parameters
    ----------
    shape : (rows, cols)
        Native matrix.
    pixel_mm : float
        Native pixel size, mm.
    field_mm : (height, width)
        Size of the rectangular field, mm.
    offset_mm : (dy, dx)
        Shift of the field (and pattern) centre from the image centre, mm (any fraction).
    counts_per_mm2 : float
        Expected counts per mm² in the flat part (250/mm² ≈ 10 240 per 6.4 mm pixel).
    amplitude : float
        Relative height of the central bump (0.1 = +10 %).
    pattern_mm : (along y, along x)
        Full widths of the bump.
    noise : bool
        Poisson counts (True) or the noise-free expectation.

    Returns
    -------
    image : (rows, cols) float64
    truth : dict
        ``field_edges_mm`` (top, bottom, left, right from the image's top-left corner),
        ``counts_per_mm2``, ``amplitude``, ``pattern_mm``.
    """
    rows, cols = shape
    cy = rows * pixel_mm / 2.0 + offset_mm[0]
    cx = cols * pixel_mm / 2.0 + offset_mm[1]
    top, bottom = cy - field_mm[0] / 2.0, cy + field_mm[0] / 2.0
    left, right = cx - field_mm[1] / 2.0, cx + field_mm[1] / 2.0
    ey = np.arange(rows + 1) * pixel_mm
    ex = np.arange(cols + 1) * pixel_mm
    area = np.outer(_overlap_1d(ey, top, bottom), _overlap_1d(ex, left, right))
    bump = np.outer(_cosine_integral_1d(ey, top, bottom, cy, pattern_mm[0]),
                    _cosine_integral_1d(ex, left, right, cx, pattern_mm[1]))
    expected = counts_per_mm2 * (area + amplitude * bump)
    if noise:
        image = np.random.default_rng(seed).poisson(expected).astype(np.float64)
    else:
        image = expected
    truth = {"kind": "nm_smooth_flood", "pixel_spacing_mm": pixel_mm,
             "field_mm": list(field_mm), "offset_mm": list(offset_mm),
             "field_edges_mm": [top, bottom, left, right], "counts_per_mm2": counts_per_mm2,
             "amplitude": amplitude, "pattern_mm": list(pattern_mm), "noise": noise}
    return image, truth


def _line_image(shape: tuple[int, int], pixel_mm: float, lines: Sequence[tuple[float, float, float, float]],
                fwhm_mm: float, peak: float, background: float) -> np.ndarray:
    """Sum of finite Gaussian line segments (x0, y0, x1, y1 in mm from the image centre)."""
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2.0)[:, None] * pixel_mm
    x = (np.arange(cols) - (cols - 1) / 2.0)[None, :] * pixel_mm
    sigma = fwhm_mm / _FWHM_PER_SIGMA
    img = np.full(shape, float(background))
    for x0, y0, x1, y1 in lines:
        dx, dy = x1 - x0, y1 - y0
        length = math.hypot(dx, dy)
        ux, uy = dx / length, dy / length
        t = (x - x0) * ux + (y - y0) * uy            # along the line
        d = -(x - x0) * uy + (y - y0) * ux           # perpendicular distance
        along = (t >= 0) & (t <= length)
        img += peak * np.exp(-0.5 * (d / sigma) ** 2) * along
    return img


def line_sources(matrix: int = 256, pixel_mm: float = 1.0, *, fwhm_mm: float = 8.0,
                 orientation: str = "vertical", n_lines: int = 2, spacing_mm: float = 50.0,
                 length_mm: float = 150.0, angle_deg: float = 0.0, peak: float = 1000.0,
                 background: float = 0.0, noise: bool = False, seed: int | None = 0
                 ) -> tuple[np.ndarray, dict[str, Any]]:
    """Parallel Gaussian line sources (NEMA NU 1 spatial resolution with line sources).

    ``orientation="vertical"`` lines run along the columns and measure the resolution in X;
    ``"horizontal"`` lines measure Y. `angle_deg` tilts them (counter-clockwise).
    """
    if orientation not in ("vertical", "horizontal"):
        raise ValueError("orientation must be 'vertical' or 'horizontal'")
    a = math.radians(angle_deg)
    offsets = (np.arange(n_lines) - (n_lines - 1) / 2.0) * spacing_mm
    segs = []
    for o in offsets:
        if orientation == "vertical":   # direction (sin a, cos a), offset along x
            d = (math.sin(a), math.cos(a))
            n = (math.cos(a), -math.sin(a))
        else:                           # direction (cos a, −sin a), offset along y
            d = (math.cos(a), -math.sin(a))
            n = (math.sin(a), math.cos(a))
        cx, cy = o * n[0], o * n[1]
        segs.append((cx - d[0] * length_mm / 2, cy - d[1] * length_mm / 2,
                     cx + d[0] * length_mm / 2, cy + d[1] * length_mm / 2))
    img = _line_image((matrix, matrix), pixel_mm, segs, fwhm_mm, peak, background)
    if noise:
        img = np.random.default_rng(seed).poisson(img).astype(np.float64)
    sigma = fwhm_mm / _FWHM_PER_SIGMA
    axis_key = "x" if orientation == "vertical" else "y"
    truth = {"kind": "nm_line_sources", "pixel_spacing_mm": pixel_mm, "orientation": orientation,
             "n_lines": n_lines, "spacing_mm": spacing_mm, "angle_deg": angle_deg,
             "fwhm_mm": fwhm_mm, "fwtm_mm": sigma * _FWTM_PER_SIGMA,
             f"fwhm_{axis_key}": fwhm_mm, f"fwtm_{axis_key}": sigma * _FWTM_PER_SIGMA}
    return img, truth


def shifted_line_sources(matrix: int = 256, pixel_mm: float = 1.0, *, fwhm_mm: float = 8.0,
                         shift_mm: tuple[float, float] = (0.0, 0.0), n_lines: int = 2,
                         spacing_mm: float = 50.0, length_mm: float = 150.0,
                         angle_deg: float = 0.0, peak: float = 1000.0) -> np.ndarray:
    """Noise-free vertical line sources as `line_sources`, moved by `shift_mm` = (dx, dy).

    For invariance tests: the lines are regenerated analytically at a sub-pixel position
    instead of resampling an image (resampling would widen them).
    """
    a = math.radians(angle_deg)
    d, nrm = (math.sin(a), math.cos(a)), (math.cos(a), -math.sin(a))
    segs = []
    for o in (np.arange(n_lines) - (n_lines - 1) / 2.0) * spacing_mm:
        cx, cy = o * nrm[0] + shift_mm[0], o * nrm[1] + shift_mm[1]
        segs.append((cx - d[0] * length_mm / 2, cy - d[1] * length_mm / 2,
                     cx + d[0] * length_mm / 2, cy + d[1] * length_mm / 2))
    return _line_image((matrix, matrix), pixel_mm, segs, fwhm_mm, peak, 0.0)


def four_bar(matrix: int = 256, pixel_mm: float = 1.0, *, fwhm_mm: float = 6.0,
             side_mm: float = 100.0, peak: float = 1000.0, noise: bool = False,
             seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Four line sources on the sides of a square (the "four-bar" resolution phantom).

    Two vertical sides measure X, two horizontal sides Y; their separation `side_mm` is known,
    so the pixel size can be measured.
    """
    h = side_mm / 2.0
    trim = 0.1 * side_mm  # the lines stop short of the corners, as in the real phantom
    segs = [(-h, -h + trim, -h, h - trim), (h, -h + trim, h, h - trim),
            (-h + trim, -h, h - trim, -h), (-h + trim, h, h - trim, h)]
    img = _line_image((matrix, matrix), pixel_mm, segs, fwhm_mm, peak, 0.0)
    if noise:
        img = np.random.default_rng(seed).poisson(img).astype(np.float64)
    sigma = fwhm_mm / _FWHM_PER_SIGMA
    fwtm = sigma * _FWTM_PER_SIGMA
    return img, {"kind": "nm_four_bar", "pixel_spacing_mm": pixel_mm, "spacing_mm": side_mm,
                 "fwhm_x": fwhm_mm, "fwhm_y": fwhm_mm, "fwtm_x": fwtm, "fwtm_y": fwtm}


def quadrant_bars(matrix: int = 256, pixel_mm: float = 1.0, *,
                  bar_widths_mm: Sequence[float] = (2.0, 2.5, 3.0, 3.5),
                  psf_fwhm_mm: float = 4.0, counts: float = 1000.0, transmission: float = 0.0,
                  gap_mm: float = 8.0, border_mm: float = 30.0, noise: bool = True,
                  seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A quadrant bar phantom on a flood, blurred by a Gaussian PSF.

    Quadrants are numbered 1 top-left, 2 top-right, 3 bottom-left, 4 bottom-right; bars in
    quadrants 1 and 4 are vertical, in 2 and 3 horizontal. The open field holds `counts` per
    pixel, bars `transmission`·counts. The truth gives, per quadrant, the Gaussian MTF at the
    fundamental 1/(2w) and the Droege–Morin expected value (odd harmonics included).
    """
    from scipy import ndimage

    n = matrix
    yy, xx = np.indices((n, n), dtype=np.float64)
    x_mm, y_mm = (xx + 0.5) * pixel_mm, (yy + 0.5) * pixel_mm
    half = n // 2
    quad = np.where(yy < half, np.where(xx < half, 0, 1), np.where(xx < half, 2, 3))
    vertical = np.isin(quad, (0, 3))
    coord = np.where(vertical, x_mm, y_mm)
    w = np.asarray(bar_widths_mm, dtype=np.float64)[quad]
    # Supersample the bar edges (×8) so the pattern is the continuous square wave.
    sub = (np.arange(8) + 0.5) / 8.0 - 0.5
    open_frac = np.zeros((n, n))
    for s in sub:
        open_frac += (np.floor((coord + s * pixel_mm) / w) % 2 == 0)
    open_frac /= len(sub)
    centre = n * pixel_mm / 2.0
    open_frac = np.where((np.abs(x_mm - centre) < gap_mm / 2) | (np.abs(y_mm - centre) < gap_mm / 2)
                         | (x_mm < border_mm) | (y_mm < border_mm)
                         | (x_mm > n * pixel_mm - border_mm) | (y_mm > n * pixel_mm - border_mm),
                         1.0, open_frac)
    obj = counts * (transmission + (1.0 - transmission) * open_frac)
    sigma_px = psf_fwhm_mm / _FWHM_PER_SIGMA / pixel_mm
    img = ndimage.gaussian_filter(obj, sigma_px, mode="reflect")
    if noise:
        img = np.random.default_rng(seed).poisson(img).astype(np.float64)
    sigma_mm = psf_fwhm_mm / _FWHM_PER_SIGMA

    def mtf(freq: float) -> float:
        return math.exp(-2.0 * (math.pi * sigma_mm * freq) ** 2)

    quadrants = []
    for q, width in enumerate(bar_widths_mm, start=1):
        f0 = 1.0 / (2.0 * width)
        dm = math.sqrt(sum((mtf(k * f0) / k) ** 2 for k in range(1, 40, 2)))
        quadrants.append({"quadrant": q, "bar_width_mm": width, "frequency_lp_per_mm": f0,
                          "mtf_fundamental": mtf(f0), "mtf_droege_morin": dm,
                          "bars": "vertical" if q in (1, 4) else "horizontal"})
    return img, {"kind": "nm_quadrant_bars", "pixel_spacing_mm": pixel_mm,
                 "psf_fwhm_mm": psf_fwhm_mm, "transmission": transmission,
                 "quadrants": quadrants}


def quadrant_bars_sampled(matrix: int = 256, pixel_mm: float = 1.0, *,
                          bar_widths_mm: Sequence[float] = (2.0, 2.5, 3.0, 3.5),
                          psf_fwhm_mm: float = 4.0, counts: float = 1000.0,
                          gap_mm: float = 8.0, border_mm: float = 30.0,
                          n_terms: int = 40) -> np.ndarray:
    """Noise-free quadrant bars (layout of `quadrant_bars`, opaque bars), blurred analytically.

    `quadrant_bars` area-samples the bar pattern on the pixel grid and blurs it there, so at
    pixels coarser than about half a bar the square wave's harmonics alias to low frequencies
    before the blur and the modulation depends on the pixel size. Here each quadrant is the
    Fourier series of the square wave, every harmonic multiplied by the Gaussian MTF, sampled
    at the pixel centres: the same physical image at any pixel size (for invariance tests).
    The gap and border are open field with unblurred boundaries (kept outside the analysed
    part of each quadrant).
    """
    n = matrix
    yy, xx = np.indices((n, n), dtype=np.float64)
    x_mm, y_mm = (xx + 0.5) * pixel_mm, (yy + 0.5) * pixel_mm
    half = n * pixel_mm / 2.0
    quad = np.where(y_mm < half, np.where(x_mm < half, 0, 1), np.where(x_mm < half, 2, 3))
    coord = np.where(np.isin(quad, (0, 3)), x_mm, y_mm)
    w = np.asarray(bar_widths_mm, dtype=np.float64)[quad]
    sigma = psf_fwhm_mm / _FWHM_PER_SIGMA
    k = np.arange(1, 2 * n_terms, 2, dtype=np.float64)[:, None, None]
    f = k / (2.0 * w[None])
    # open (1) on [0, w) of each 2w period: ½ + Σ_odd 2/(πk)·sin(2π·k·x/2w), blurred
    series = (2.0 / (np.pi * k)) * np.exp(-2.0 * (np.pi * sigma * f) ** 2) \
        * np.sin(2.0 * np.pi * f * coord[None])
    open_frac = 0.5 + series.sum(axis=0)
    outside = (np.abs(x_mm - half) < gap_mm / 2) | (np.abs(y_mm - half) < gap_mm / 2) \
        | (x_mm < border_mm) | (y_mm < border_mm) \
        | (x_mm > n * pixel_mm - border_mm) | (y_mm > n * pixel_mm - border_mm)
    return counts * np.where(outside, 1.0, open_frac)


def edge(matrix: int = 256, pixel_mm: float = 1.2, *, fwhm_mm: float = 3.5,
         angle_deg: float = 10.0, across: str = "y", high: float = 1500.0,
         transmission: float = 0.6, offset_mm: float = 0.0, field_margin_px: int = 0,
         noise: bool = True, seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A straight edge (e.g. a lead sheet's border) on a flood, blurred by a Gaussian PSF.

    The expected counts are ``low + (high − low)·Φ(d/σ)`` with d the signed distance (mm) of
    the pixel centre from the edge line and Φ the normal CDF: the edge spread function of a
    Gaussian PSF. Its derivative, the LSF, is a Gaussian of the given FWHM, so the truth is
    analytic. Images are point-sampled at pixel centres.

    Parameters
    ----------
    matrix, pixel_mm : int, float
        Square matrix and pixel size.
    fwhm_mm : float
        FWHM of the PSF (and of the LSF across the edge).
    angle_deg : float
        Tilt of the edge from the image axis it is nearest to (counter-clockwise).
    across : {"x", "y"}
        Direction the counts change in: ``"x"`` = a near-vertical edge (measures X),
        ``"y"`` = a near-horizontal edge (measures Y).
    high : float
        Expected counts per pixel on the open side.
    transmission : float
        Low side / high side (0 = opaque lead; the real imageQC images show ≈ 0.6).
    offset_mm : float
        Distance of the edge from the image centre along its normal.
    field_margin_px : int
        Zero counts in a border this wide (the detector's field edge, as in real images).
    noise : bool
        Poisson counts (True) or the noise-free expectation.

    Returns
    -------
    image : (matrix, matrix) float64
    truth : dict
        ``fwhm_mm``, ``fwtm_mm`` and ``fwhm_x``/``fwtm_x`` or ``fwhm_y``/``fwtm_y``.
    """
    from scipy.special import ndtr

    if across not in ("x", "y"):
        raise ValueError("across must be 'x' or 'y'")
    c = (np.arange(matrix) - (matrix - 1) / 2.0) * pixel_mm
    y, x = c[:, None], c[None, :]
    a = math.radians(angle_deg)
    # unit normal pointing to the open (high) side
    nx, ny = (math.cos(a), math.sin(a)) if across == "x" else (-math.sin(a), math.cos(a))
    d = x * nx + y * ny - offset_mm
    sigma = fwhm_mm / _FWHM_PER_SIGMA
    low = transmission * high
    expected = low + (high - low) * ndtr(d / sigma)
    if field_margin_px > 0:
        m = field_margin_px
        inside = np.zeros_like(expected, dtype=bool)
        inside[m:-m, m:-m] = True
        expected = np.where(inside, expected, 0.0)
    image = np.random.default_rng(seed).poisson(expected).astype(np.float64) if noise \
        else expected
    fwtm = sigma * _FWTM_PER_SIGMA
    return image, {"kind": "nm_edge", "pixel_spacing_mm": pixel_mm, "angle_deg": angle_deg,
                   "across": across, "high": high, "transmission": transmission,
                   "fwhm_mm": fwhm_mm, "fwtm_mm": fwtm,
                   f"fwhm_{across}": fwhm_mm, f"fwtm_{across}": fwtm, "noise": noise}


# ---------------------------------------------------------------------------------------------
# Demo series
# ---------------------------------------------------------------------------------------------
def _make_flood_demo(out: Path) -> Path:
    folder = out / "nm_flood"
    img, truth = flood(128, 3.2, field="rectangle", field_blocks=(44, 56),
                       counts_per_pixel=10_000, hot=0.04, cold=0.03, seed=1)
    write_series(img, folder, modality="NM", description="Intrinsic flood UFOV (phantom)",
                 pixel_spacing_mm=3.2, prefix="flood")
    write_ground_truth(folder, truth)
    return folder


def _make_line_demo(out: Path) -> Path:
    folder = out / "nm_line_sources"
    img, truth = line_sources(256, 1.0, fwhm_mm=8.0, orientation="vertical", n_lines=2,
                              spacing_mm=50.0, length_mm=180.0, angle_deg=2.0, peak=800.0,
                              noise=True, seed=2)
    write_series(img, folder, modality="NM", description="Line sources X resolution (phantom)",
                 pixel_spacing_mm=1.0, prefix="lines")
    write_ground_truth(folder, truth)
    return folder


def _make_edge_demo(out: Path) -> Path:
    folder = out / "nm_edge"
    img, truth = edge(256, 1.2, fwhm_mm=3.5, angle_deg=5.0, across="x", high=1000.0,
                      transmission=0.05, field_margin_px=16, seed=5)
    write_series(img, folder, modality="NM", description="Intrinsic resolution edge X "
                 "(phantom)", pixel_spacing_mm=1.2, prefix="edge")
    write_ground_truth(folder, truth)
    return folder


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """The NM demo series: a flood with a known pattern, two line sources, a lead edge."""
    return {"nm_flood": _make_flood_demo, "nm_line_sources": _make_line_demo,
            "nm_edge": _make_edge_demo}
