"""Digital Catphan modules with analytic ground truth (``ct.catphan``).

`catphan_ctp404` (sensitometry inserts, geometry rods, wire ramps), `catphan_ctp486`
(uniformity), `catphan_ctp528` (line pairs through a Gaussian PSF: square-wave modulation),
`catphan_ctp515` (low-contrast supra-slice discs) and `catphan_ctp591` (bead ramps, a Gaussian
slice sensitivity profile): each module in a 150 mm disc, an air gap and the 200 mm housing.
Split from `imgqa.phantoms.ct` (which re-exports these names) to keep modules small.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgqa.phantoms._ct_common import AIR_HU, _grid_mm, correlated_noise, gaussian_mtf_frequency

__all__ = ["catphan_ctp404", "catphan_ctp486", "catphan_ctp515", "catphan_ctp528",
           "catphan_ctp591", "square_wave_modulation"]


def catphan_ctp404(*, size: int = 512, pixel_mm: float = 0.5, roll_deg: float = 0.0,
                   slice_thickness_mm: float = 5.0, hu_offset: float = 0.0,
                   noise_sd: float = 5.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A simplified Catphan 600 CTP404 slice with known CT numbers, geometry and slice thickness.

    A 200 mm disc of +100 HU holds the seven sensitometry inserts (12 mm, Catphan 600 layout,
    nominal CT number + `hu_offset`), four 3 mm air rods on a 50 mm square (inserts and rods
    with partial volume at their edges, so their centroids are exact at any pixel size) and
    four wire ramps 38 mm from the centre. A ramp at 23° to the slice images as a bright line
    of length T / 0.42 (the Catphan manual's ratio) for a slice thickness T: 1 mm wide, 300 HU,
    blurred by a 0.3 mm Gaussian and integrated over each pixel, so it is drawn right at any
    pixel size.
    Angles: θ = 0 towards +column, θ = 90 towards +row; `roll_deg` rotates everything.

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``inserts`` (material → HU), ``rod_distance_mm`` (50), ``roll_deg``,
        ``slice_thickness_mm``, ``centre_rc``.
    """
    from imgqa.analysis.catphan import CATPHAN_MODELS, NOMINAL_HU, RAMP_ANGLE_RATIO

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = np.full((size, size), AIR_HU)
    img[np.hypot(y, x) <= 100.0] = 100.0
    inserts = {}
    for mat, a in CATPHAN_MODELS["600"].items():
        t = np.deg2rad(a + roll_deg)
        cy, cx = 58.7 * np.sin(t), 58.7 * np.cos(t)
        inserts[mat] = NOMINAL_HU[mat] + hu_offset
        _paint_disc(img, pixel_mm, (cy + offset_mm[0], cx + offset_mm[1]), 6.0, inserts[mat])
    for a in (45.0, 135.0, 225.0, 315.0):
        t = np.deg2rad(a + roll_deg)
        cy, cx = 25.0 * np.sqrt(2) * np.sin(t), 25.0 * np.sqrt(2) * np.cos(t)
        _paint_disc(img, pixel_mm, (cy + offset_mm[0], cx + offset_mm[1]), 1.5, AIR_HU)
    length = slice_thickness_mm / RAMP_ANGLE_RATIO
    for a in (-90.0, 0.0, 90.0, 180.0):
        _add_ramp(img, pixel_mm, offset_mm, a + roll_deg, length)
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp404",
        "inserts": inserts,
        "rod_distance_mm": 50.0,
        "roll_deg": roll_deg,
        "slice_thickness_mm": slice_thickness_mm,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "roll_deg": roll_deg,
                       "slice_thickness_mm": slice_thickness_mm, "hu_offset": hu_offset,
                       "noise_sd": noise_sd, "offset_mm": list(offset_mm), "seed": seed},
    }
    return img[None], truth


_SUBSAMPLES = 8          # per pixel side, for pixel-area integrals


def _paint_disc(img: np.ndarray, pixel_mm: float, centre_mm: tuple[float, float],
                radius_mm: float, value: float) -> None:
    """Set a disc to `value` in place, with partial volume: each pixel is mixed with what was
    there in proportion to its area inside the disc (8 × 8 sub-samples per pixel).

    A pixel-centre mask instead moves the centroid of a small disc by up to a third of a
    pixel (0.35 mm for a 3 mm rod at 0.98 mm pixels), which would show up as rod-distance
    error at coarse pixels.
    """
    size = img.shape[0]
    c0 = (size - 1) / 2.0
    ctr = np.asarray(centre_mm, dtype=float)
    lo = np.maximum(np.floor(c0 + (ctr - radius_mm) / pixel_mm).astype(int) - 1, 0)
    hi = np.minimum(np.ceil(c0 + (ctr + radius_mm) / pixel_mm).astype(int) + 2, size)
    rows = (np.arange(lo[0], hi[0]) - c0) * pixel_mm - ctr[0]
    cols = (np.arange(lo[1], hi[1]) - c0) * pixel_mm - ctr[1]
    sub = ((np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5) * pixel_mm
    inside = np.hypot(rows[:, None, None, None] + sub[None, None, :, None],
                      cols[None, :, None, None] + sub[None, None, None, :]) <= radius_mm
    frac = inside.mean(axis=(2, 3))
    patch = img[lo[0]:hi[0], lo[1]:hi[1]]
    patch += frac * (value - patch)


_RAMP_HU = 300.0          # wire-ramp line: 300 HU over 1 mm wide
_RAMP_WIDTH_MM = 1.0
_RAMP_SIGMA_MM = 0.3     # in-plane blur of the line image


def _add_ramp(img: np.ndarray, pixel_mm: float, offset_mm: tuple[float, float],
              angle_deg: float, length_mm: float) -> None:
    """Add one CTP404 wire-ramp image in place: a 1 mm × `length_mm` line, 38 mm out at
    `angle_deg`, centred 3 mm along the tangent, blurred by a Gaussian PSF and integrated over
    each pixel's area.

    A rectangle convolved with an isotropic Gaussian is exactly the product of two erf
    differences in the rectangle's own frame; averaging it over an 8 × 8 grid in every pixel
    gives the pixel-area integral. So at any pixel size and roll the line's integral across its
    width is 300 HU·mm everywhere along the plateau, and the half-maximum points of the profile
    along the line are at ± length/2 (a thresholded pixel mask instead draws a line that is one
    or two pixels wide depending on its sub-pixel position, which halves its integral over
    stretches of the ramp when 1 mm / pixel is not an integer).
    """
    from scipy.special import erf

    size = img.shape[0]
    t = np.deg2rad(angle_deg)
    radial = np.array([np.sin(t), np.cos(t)])
    tangent = np.array([np.cos(t), -np.sin(t)])
    centre_mm = radial * 38.0 + tangent * 3.0 + np.asarray(offset_mm, dtype=float)
    reach = 4.0 * _RAMP_SIGMA_MM + pixel_mm
    half = (np.abs(tangent) * (length_mm / 2 + reach)
            + np.abs(radial) * (_RAMP_WIDTH_MM / 2 + reach))        # bounding box (row, col)
    c0 = (size - 1) / 2.0
    lo = np.maximum(np.floor(c0 + (centre_mm - half) / pixel_mm).astype(int), 0)
    hi = np.minimum(np.ceil(c0 + (centre_mm + half) / pixel_mm).astype(int) + 1, size)
    rows = (np.arange(lo[0], hi[0]) - c0) * pixel_mm
    cols = (np.arange(lo[1], hi[1]) - c0) * pixel_mm
    sub = ((np.arange(_SUBSAMPLES) + 0.5) / _SUBSAMPLES - 0.5) * pixel_mm
    yy = (rows[:, None, None, None] + sub[None, None, :, None]) - centre_mm[0]
    xx = (cols[None, :, None, None] + sub[None, None, None, :]) - centre_mm[1]
    along = yy * tangent[0] + xx * tangent[1]
    across = yy * radial[0] + xx * radial[1]
    k = 1.0 / (np.sqrt(2.0) * _RAMP_SIGMA_MM)

    def box(s: np.ndarray, w: float) -> np.ndarray:
        return 0.5 * (erf((s + w / 2) * k) - erf((s - w / 2) * k))

    line = box(along, length_mm) * box(across, _RAMP_WIDTH_MM)
    img[lo[0]:hi[0], lo[1]:hi[1]] += _RAMP_HU * line.mean(axis=(2, 3))


def _catphan_body(y: np.ndarray, x: np.ndarray, module_hu: float, housing_hu: float
                  ) -> np.ndarray:
    """Catphan cross-section: module (r < 75 mm), 0.8 mm gap, housing to r = 100 mm.

    The gap reads −300 HU (a thin air gap partly filled by partial volume, as in real images,
    where it never separates the module from the housing at the −400 HU segmentation level).
    """
    r = np.hypot(y, x)
    img = np.full(r.shape, AIR_HU)
    img[r <= 100.0] = housing_hu
    img[r <= 75.8] = -300.0
    img[r <= 75.0] = module_hu
    return img


def catphan_ctp486(*, size: int = 512, pixel_mm: float = 0.45, module_hu: float = 10.0,
                   housing_hu: float = 5.0, noise_sd: float = 6.0, n_slices: int = 1,
                   offset_mm: tuple[float, float] = (0.0, 0.0), seed: int | None = 0
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """A uniform Catphan CTP486 slice: water-equivalent module inside the housing.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``ctp486_mean_hu_centre``, ``ctp486_noise_sd_centre``, ``centre_rc``.
    """
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    img = _catphan_body(y - offset_mm[0], x - offset_mm[1], module_hu, housing_hu)
    images = img[None] + correlated_noise((n_slices, size, size), noise_sd, rng=rng)
    truth = {"phantom": "ct_catphan_ctp486", "ctp486_mean_hu_centre": module_hu,
             "ctp486_noise_sd_centre": noise_sd,
             "ctp486_uniformity_max_deviation_hu": 0.0,
             "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                           (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
             "parameters": {"size": size, "pixel_mm": pixel_mm, "module_hu": module_hu,
                            "housing_hu": housing_hu, "noise_sd": noise_sd,
                            "n_slices": n_slices, "offset_mm": list(offset_mm), "seed": seed}}
    return images, truth


def square_wave_modulation(sigma_mm: float, f_lp_per_mm: float, n_terms: int = 50) -> float:
    """Peak-to-valley modulation of an infinite 50 % duty square wave blurred by a Gaussian.

    M(f) = (4/π)·Σ_{n odd} χ(n)·T(nf)/n with T(f) = exp(−2π²σ²f²) and χ(n) = +1 for
    n ≡ 1 (mod 4), −1 for n ≡ 3 (Coltman 1954): bar-centre minus gap-centre value over the
    unblurred contrast.
    """
    n = np.arange(1, 2 * n_terms, 2)
    chi = np.where(n % 4 == 1, 1.0, -1.0)
    t = np.exp(-2.0 * np.pi ** 2 * sigma_mm ** 2 * (n * f_lp_per_mm) ** 2)
    return float(4.0 / np.pi * np.sum(chi * t / n))


def catphan_ctp528(*, size: int = 512, pixel_mm: float = 0.4, sigma_mm: float = 0.5,
                   roll_deg: float = 0.0, mirrored: bool = False, bar_hu: float = 1100.0,
                   module_hu: float = 100.0, noise_sd: float = 5.0,
                   bar_length_mm: float = 5.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Catphan CTP528 slice: 21 bar groups (1–21 lp/cm) blurred by a Gaussian PSF of SD σ.

    Every bar is a rectangle (width 5/k mm along the circle's tangent, `bar_length_mm`
    radially) of `bar_hu` on `module_hu`, laid out as `CTP528_LAYOUT` (turned by `roll_deg`,
    optionally in the mirrored sense). Each bar is rendered *exactly* blurred: a rectangle
    convolved with a 2-D Gaussian is the product of two erf differences in the bar's own
    axes, evaluated at the pixel centres (no pixel-area averaging, as the other generators).

    Model for the ground truth: the system MTF is T(f) = exp(−2π²σ²f²); the amplitude of the
    fundamental of the blurred bar pattern is (2/π)·C·T(f), which `analyse_ctp528` inverts, so
    its MTF per group should equal T(k/10 lp/mm). The square-wave modulation is given by
    `square_wave_modulation` (≈ (4/π)·T(f) when T(3f) is negligible).

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``mtf`` (per group, analytic), ``square_wave_modulation``, ``mtf50_lp_per_cm``,
        ``mtf10_lp_per_cm``, ``contrast_hu``, ``roll_deg``, ``centre_rc``.
    """
    from scipy.special import erf

    from imgqa.analysis.catphan_ctp528 import CTP528_LAYOUT, CTP528_RADIUS_MM

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = _catphan_body(y, x, module_hu, module_hu)
    s2 = np.sqrt(2.0) * sigma_mm
    sense = -1.0 if mirrored else 1.0
    half_box = (5.0 + 4.0 * sigma_mm)
    for k, n, a in CTP528_LAYOUT:
        w = 5.0 / k
        t = np.deg2rad(180.0 + sense * (a - 180.0) + roll_deg)
        cy, cx = CTP528_RADIUS_MM * np.sin(t), CTP528_RADIUS_MM * np.cos(t)
        # local axes: u along the tangent (cos t, −sin t), v radial (sin t, cos t)
        rows = np.nonzero(np.abs(y[:, 0] - cy) <= (n * w + half_box))[0]
        cols = np.nonzero(np.abs(x[0, :] - cx) <= (n * w + half_box))[0]
        yy, xx = y[rows][:, None, 0] - cy, x[0, cols][None, :] - cx
        u = yy * np.cos(t) - xx * np.sin(t)
        v = yy * np.sin(t) + xx * np.cos(t)
        across = 0.5 * (erf((v + bar_length_mm / 2) / s2) - erf((v - bar_length_mm / 2) / s2))
        along = np.zeros_like(u)
        for j in range(n):
            uc = (j - (n - 1) / 2.0) * 2.0 * w
            along += 0.5 * (erf((u - uc + w / 2) / s2) - erf((u - uc - w / 2) / s2))
        img[np.ix_(rows, cols)] += (bar_hu - module_hu) * along * across
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    freqs = np.arange(1, 22) / 10.0
    mtf = np.exp(-2.0 * np.pi ** 2 * sigma_mm ** 2 * freqs ** 2)
    truth = {
        "phantom": "ct_catphan_ctp528",
        "lp_per_cm": list(range(1, 22)),
        "mtf": mtf.tolist(),
        "square_wave_modulation": [square_wave_modulation(sigma_mm, f) for f in freqs],
        "mtf50_lp_per_cm": 10.0 * gaussian_mtf_frequency(sigma_mm, 0.5),
        "mtf10_lp_per_cm": 10.0 * gaussian_mtf_frequency(sigma_mm, 0.1),
        "contrast_hu": bar_hu - module_hu,
        "roll_deg": roll_deg,
        "mirrored": mirrored,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "sigma_mm": sigma_mm,
                       "roll_deg": roll_deg, "mirrored": mirrored, "bar_hu": bar_hu,
                       "module_hu": module_hu, "noise_sd": noise_sd,
                       "bar_length_mm": bar_length_mm, "offset_mm": list(offset_mm),
                       "seed": seed},
    }
    return img[None], truth


def catphan_ctp515(*, size: int = 512, pixel_mm: float = 0.4, roll_deg: float = 0.0,
                   module_hu: float = 40.0, noise_sd: float = 3.0,
                   contrast_scale: float = 1.0, offset_mm: tuple[float, float] = (0.0, 0.0),
                   seed: int | None = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Catphan CTP515 slice: 27 supra-slice targets of 1.0/0.5/0.3 % contrast, white noise.

    Target contrasts are `contrast_scale` × 10, 5 and 3 HU; targets are discs drawn by the
    pixel-centre test (no blur, no partial volume), so every pixel of the analysis ROI (0.7 ×
    the target radius) has exactly the target value and the expected CNR is ΔHU / noise SD.
    The expected Rose index is CNR·√(π r² / pixel²).

    Returns
    -------
    image : (1, size, size) ndarray in HU
    truth : dict
        ``targets``: name → {``contrast_hu``, ``diameter_mm``, ``cnr``, ``rose_index``},
        ``roll_deg``, ``centre_rc``.
    """
    from imgqa.analysis.catphan_ctp515 import CTP515_RADIUS_MM, ctp515_layout, ctp515_target_name

    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    img = _catphan_body(y, x, module_hu, module_hu)
    targets = {}
    for item in ctp515_layout():
        t = np.deg2rad(item["angle_deg"] + roll_deg)
        cy, cx = CTP515_RADIUS_MM * np.sin(t), CTP515_RADIUS_MM * np.cos(t)
        d_hu = 10.0 * item["contrast_percent"] * contrast_scale
        r = item["diameter_mm"] / 2.0
        img[np.hypot(y - cy, x - cx) <= r] = module_hu + d_hu
        cnr = d_hu / noise_sd
        targets[ctp515_target_name(item["token"], item["diameter_mm"])] = {
            "contrast_hu": d_hu, "diameter_mm": item["diameter_mm"], "cnr": cnr,
            "rose_index": cnr * np.sqrt(np.pi * (r / pixel_mm) ** 2)}
    img = img + correlated_noise((size, size), noise_sd, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp515", "targets": targets, "roll_deg": roll_deg,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "roll_deg": roll_deg,
                       "module_hu": module_hu, "noise_sd": noise_sd,
                       "contrast_scale": contrast_scale, "offset_mm": list(offset_mm),
                       "seed": seed},
    }
    return img[None], truth


def catphan_ctp591(*, size: int = 512, pixel_mm: float = 0.41, fwhm_mm: float = 0.6,
                   slice_z_mm: float | tuple[float, ...] = 0.0, roll_deg: float = 0.0,
                   psf_sigma_mm: float = 0.35, fine_bead_hu_mm2: float = 1000.0,
                   coarse_bead_hu_mm2: float = 2500.0, module_hu: float = 100.0,
                   noise_sd: float = 10.0, corr_sigma_px: float = 0.0,
                   offset_mm: tuple[float, float] = (0.0, 0.0), seed: int | None = 0
                   ) -> tuple[np.ndarray, dict[str, Any]]:
    """Catphan CTP591 slices: six bead ramps sampling a Gaussian slice sensitivity profile.

    Layout as `imgqa.analysis.catphan_ctp591.CTP591_RAMPS`: fine ramps (0.25 mm z steps) on
    x = ±25 mm, coarse ramps (1 mm) on x = ±45 mm and y = ±45 mm, beads 2 mm apart in the
    plane; bead k of a ramp sits at u = 2k mm along the clockwise tangent from the point of the
    line nearest the centre, at z = −k·Δz. A bead's integrated in-plane signal is
    M·SSP(z_bead − z_slice) with SSP(z) = exp(−4 ln2 z²/FWHM²) (peak 1), M = `fine_bead_hu_mm2`
    or `coarse_bead_hu_mm2` (HU·mm²); it is drawn as a 2-D Gaussian of SD `psf_sigma_mm`
    (peak M·SSP/(2πσ²)) evaluated at pixel centres, so the sum of its pixels × pixel area is
    M·SSP to < 10⁻⁶ for σ ≥ 0.7 pixel. The bead-signal profile of every ramp is therefore an
    exact Gaussian of FWHM `fwhm_mm` in z. Two single beads (z = ±1 mm) at (0, ±20) mm and a
    z-parallel wire at (0, 58.5) mm add the module's other bright objects.

    Returns
    -------
    images : (n_slices, size, size) ndarray in HU
    truth : dict
        ``fwhm_mm`` (every ramp), ``slice_z_mm`` (per slice), ``roll_deg``, ``centre_rc``.
    """
    from imgqa.analysis.catphan_ctp591 import BEAD_PITCH_MM, CTP591_RAMPS

    zs = np.atleast_1d(np.asarray(slice_z_mm, dtype=float))
    rng = np.random.default_rng(seed)
    y, x = _grid_mm(size, pixel_mm)
    y = y - offset_mm[0]
    x = x - offset_mm[1]
    body = _catphan_body(y, x, module_hu, module_hu)
    # every bead: (y, x, z or NaN for the z-parallel wire, M)
    beads = []
    for ang, dist, z_step, half in CTP591_RAMPS.values():
        t = np.deg2rad(ang + roll_deg)
        normal = np.array([np.sin(t), np.cos(t)])
        along = np.array([np.cos(t), -np.sin(t)])
        m = fine_bead_hu_mm2 if z_step < 0.5 else coarse_bead_hu_mm2
        for k in range(-int(half // BEAD_PITCH_MM), int(half // BEAD_PITCH_MM) + 1):
            p = normal * dist + along * k * BEAD_PITCH_MM
            beads.append((p[0], p[1], -k * z_step, m))
    rot = np.deg2rad(roll_deg)
    for (py, px_), z, m in (((-20.0, 0.0), 1.0, coarse_bead_hu_mm2),
                            ((20.0, 0.0), -1.0, fine_bead_hu_mm2),
                            ((58.5, 0.0), np.nan, fine_bead_hu_mm2)):
        beads.append((py * np.cos(rot) + px_ * np.sin(rot),
                      -py * np.sin(rot) + px_ * np.cos(rot), z, m))
    bead_table = np.array(beads)  # (n, 4), columns as above
    half_box = 5.0 * psf_sigma_mm
    images = []
    for zsl in zs:
        img = body.copy()
        w = np.where(np.isnan(bead_table[:, 2]), 1.0,
                     np.exp(-4.0 * np.log(2.0) * (bead_table[:, 2] - zsl) ** 2 / fwhm_mm ** 2))
        for (by, bx, _, m), wk in zip(bead_table, w):
            if wk < 1e-6:
                continue
            rows = np.nonzero(np.abs(y[:, 0] - by) <= half_box)[0]
            cols = np.nonzero(np.abs(x[0, :] - bx) <= half_box)[0]
            g = np.exp(-0.5 * ((y[rows] - by) ** 2 + (x[0, cols][None, :] - bx) ** 2)
                       / psf_sigma_mm ** 2)
            img[np.ix_(rows, cols)] += m * wk / (2.0 * np.pi * psf_sigma_mm ** 2) * g
        images.append(img)
    images = np.array(images) + correlated_noise((zs.size, size, size), noise_sd,
                                                 corr_sigma_px=corr_sigma_px, rng=rng)
    truth = {
        "phantom": "ct_catphan_ctp591", "fwhm_mm": fwhm_mm, "slice_z_mm": zs.tolist(),
        "roll_deg": roll_deg,
        "centre_rc": ((size - 1) / 2.0 + offset_mm[0] / pixel_mm,
                      (size - 1) / 2.0 + offset_mm[1] / pixel_mm),
        "parameters": {"size": size, "pixel_mm": pixel_mm, "fwhm_mm": fwhm_mm,
                       "roll_deg": roll_deg, "psf_sigma_mm": psf_sigma_mm,
                       "fine_bead_hu_mm2": fine_bead_hu_mm2,
                       "coarse_bead_hu_mm2": coarse_bead_hu_mm2, "module_hu": module_hu,
                       "noise_sd": noise_sd, "corr_sigma_px": corr_sigma_px,
                       "offset_mm": list(offset_mm), "seed": seed},
    }
    return images, truth


# ---------------------------------------------------------------------------------------------
# Demo series
# ---------------------------------------------------------------------------------------------
