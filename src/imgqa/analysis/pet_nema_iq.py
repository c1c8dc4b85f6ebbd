"""NEMA NU 2-2018 §7 image quality and EARL recovery coefficients of the IEC/NEMA body phantom.

Everything is found in 3-D from the image, with no hand-placed ROI:

1. the body (voxels above half the background level) and the background level;
2. the three largest hot spheres (37, 28, 22 mm) as the three largest connected regions above
   half the expected sphere excess; the circle through their centres gives the ring centre
   (the lung-insert axis), the sphere plane and its normal (so a tilted phantom is followed);
3. the other three spheres from the phantom's layout (six spheres 60° apart on a 114.4 mm
   ring, in order of size): the 17 and 13 mm searched along the plane normal, the plane
   refitted through all centres, then the 10 mm predicted; each refined by the centroid of its
   excess activity (`imgqa.analysis.pet_iq_locate`);
4. NEMA §7.4: for each sphere a circular ROI of its inner diameter on the slice nearest its
   centre; 12 background ROIs of 37 mm (and concentric ones of the other diameters) on the
   central slice and the slices ±10 mm and ±20 mm from it, ≥ 15 mm from the phantom edge and
   from the spheres and the insert; percent contrast, background variability and the lung
   residual (30 mm ROI on the insert on each of the five slices);
5. EARL recovery coefficients (Boellaard et al., EJNMMI 42:328 (2015); Kaalep et al., EJNMMI
   45:1344 (2018)): RC = VOI value / true sphere concentration, for the maximum voxel, the
   mean in the 50 % background-adapted isocontour (A50) and the peak (the highest mean of a
   1 cm³ sphere centred inside the sphere, via a convolution with fractional edge weights).

Arrays and mm in; values in the image unit (Bq/ml).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.pet_iq_locate import (
    SPHERE_DIAMETERS_MM,
    all_sphere_centres,
    background_level,
    block_means,
    box_around,
    dist2_mm,
    hot_regions,
    largest_centroids,
    refine_centre,
    sphere_plane,
    to_mm,
    to_vox,
)

__all__ = ["EARL_BANDS", "EARL_SOURCES", "SPHERE_DIAMETERS_MM", "IqResult", "SphereResult",
           "nema_iq_analysis", "peak_kernel"]

ROI_MARGIN_MM = 15.0         # NEMA §7.4.1: background ROIs ≥ 15 mm from edges and spheres
LUNG_ROI_MM = 30.0           # NEMA §7.4.1: 30 mm ROI centred on the lung insert
LUNG_RADIUS_MM = 25.5        # lung insert, 51 mm outer diameter
PEAK_VOLUME_ML = 1.0

# EARL acceptance bands per sphere diameter (10 … 37 mm), (low, high) of the recovery
# coefficient.
# EARL1 (RCmean A50 and RCmax; no peak band): checked 2026-12-04 against EARL's "Accreditation
# specifications" page (R. Boellaard, January 2017, Tables 1 and 2) and against Table 3 of the
# article "SUV variability in EARL-accredited conventional and digital PET" (which reproduces
# the EARL limits); all 12 numbers agree. The method is that of the EANM FDG PET/CT guideline 2.0 (Boellaard et
# al., Eur J Nucl Med Mol Imaging 42:328-354, 2015).
# EARL2 (adopted by EARL as "18F standards 2", 2019): the harmonising specifications proposed
# by Kaalep et al., Eur J Nucl Med Mol Imaging 45:1344-1361 (2018). NOT yet checked against
# the paper's table (it could not be read here): the tolerance file marks them verify = true.
EARL_SOURCES = {
    "EARL1": "EARL accreditation specifications (Boellaard, Jan 2017), Tables 1-2; EANM FDG "
             "PET/CT guideline 2.0, Boellaard et al., Eur J Nucl Med Mol Imaging 42:328 (2015)",
    "EARL2": "Kaalep et al., Eur J Nucl Med Mol Imaging 45:1344-1361 (2018) (numbers to be "
             "verified against the paper)",
}
EARL_BANDS: dict[str, dict[str, tuple[tuple[float, float], ...] | None]] = {
    "EARL1": {
        "rc_max": ((0.34, 0.57), (0.59, 0.85), (0.73, 1.01), (0.83, 1.09), (0.91, 1.13),
                   (0.95, 1.16)),
        "rc_mean": ((0.27, 0.43), (0.44, 0.60), (0.57, 0.73), (0.63, 0.78), (0.72, 0.85),
                    (0.76, 0.89)),
        "rc_peak": None,
    },
    "EARL2": {
        "rc_max": ((0.52, 0.88), (0.85, 1.22), (1.00, 1.38), (1.01, 1.32), (1.01, 1.26),
                   (1.05, 1.29)),
        "rc_mean": ((0.39, 0.61), (0.63, 0.86), (0.76, 0.97), (0.80, 0.99), (0.82, 0.97),
                    (0.85, 1.00)),
        "rc_peak": ((0.27, 0.38), (0.45, 0.60), (0.75, 0.99), (0.90, 1.09), (0.95, 1.07),
                    (0.99, 1.07)),
    },
}


@dataclass(frozen=True, slots=True)
class SphereResult:
    """One sphere: where it is and what it measures. Centre (slice, row, col) in voxels."""

    diameter_mm: float
    centre_vox: tuple[float, float, float]
    slice_index: int
    mean: float
    max: float
    peak: float
    nema_roi_mean: float
    contrast_percent: float
    background_mean: float
    background_variability_percent: float
    rc_mean: float
    rc_max: float
    rc_peak: float
    a50_voxels: int


@dataclass(frozen=True, slots=True)
class IqResult:
    """Outcome of `nema_iq_analysis`.

    ``background_rc`` are the 12 background ROI centres (row, col) shared by the five
    ``background_slices``; ``lung_rc`` the lung ROI centre per background slice.
    """

    spheres: tuple[SphereResult, ...]
    background_mean: float
    sphere_true: float
    lung_residual_percent: float
    lung_residual_per_slice: tuple[float, ...]
    background_slices: tuple[int, ...]
    background_rc: tuple[tuple[float, float], ...]
    lung_rc: tuple[tuple[float, float], ...]
    ring_centre_vox: tuple[float, float, float]
    plane_normal: tuple[float, float, float]
    tilt_deg: float
    ring_radius_mm: float
    warnings: tuple[str, ...]


def peak_kernel(pixel_mm: float, slice_mm: float, volume_ml: float = PEAK_VOLUME_ML,
                sub: int = 6) -> np.ndarray:
    """Normalised weights of a sphere of `volume_ml` on the voxel grid, edge voxels weighted
    by the fraction inside (supersampled `sub`³), so the peak VOI is exactly 1 cm³."""
    r = (3.0 * volume_ml * 1000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)
    nz, nxy = int(math.ceil(r / slice_mm)), int(math.ceil(r / pixel_mm))
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    z = ((np.arange(-nz, nz + 1)[:, None] + offs).ravel() * slice_mm)[:, None, None]
    y = ((np.arange(-nxy, nxy + 1)[:, None] + offs).ravel() * pixel_mm)[None, :, None]
    x = y.reshape(1, 1, -1)
    occ = ((z ** 2 + y ** 2 + x ** 2) <= r * r).reshape(
        2 * nz + 1, sub, 2 * nxy + 1, sub, 2 * nxy + 1, sub).mean(axis=(1, 3, 5))
    return occ / occ.sum()


def _circle_means(image: np.ndarray, centres_rc: np.ndarray, radius_mm: float, px: float
                  ) -> np.ndarray:
    """Mean of `image` in circles (pixel centres within the radius) around each centre;
    vectorised over the centres."""
    r = radius_mm / px
    n = int(math.ceil(r)) + 1
    c = np.asarray(centres_rc, float).reshape(-1, 2)
    base = np.rint(c).astype(int)
    o = np.arange(-n, n + 1)
    yy = base[:, 0, None, None] + o[None, :, None]
    xx = base[:, 1, None, None] + o[None, None, :]
    h, w = image.shape
    valid = ((yy - c[:, 0, None, None]) ** 2 + (xx - c[:, 1, None, None]) ** 2 <= r * r) & \
        (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
    vals = image[np.clip(yy, 0, h - 1), np.clip(xx, 0, w - 1)]
    count = valid.sum(axis=(1, 2))
    sums = np.where(valid, vals, 0.0).sum(axis=(1, 2), dtype=np.float64)
    return np.where(count > 0, sums / np.maximum(count, 1), np.nan)


def _background_centres(body: np.ndarray, sphere_rc: np.ndarray, sphere_r_mm: np.ndarray,
                        lung_rc: np.ndarray, px: float, n: int = 12) -> np.ndarray:
    """Twelve 37 mm ROI centres spread around the phantom periphery (NEMA §7.4.1).

    Allowed centres keep the 37 mm ROI ≥ 15 mm inside the body and ≥ 15 mm from the sphere
    and insert edges; the ROIs are spread along the outermost allowed centres.
    """
    rbig = SPHERE_DIAMETERS_MM[-1] / 2
    inside_mm = ndimage.distance_transform_edt(body) * px
    allowed = inside_mm >= ROI_MARGIN_MM + rbig
    yy, xx = np.indices(body.shape)
    for (sy, sx), rs in zip(sphere_rc, sphere_r_mm):
        allowed &= np.hypot(yy - sy, xx - sx) * px >= rs + ROI_MARGIN_MM + rbig
    dl = np.hypot(yy - lung_rc[0], xx - lung_rc[1]) * px
    allowed &= dl >= LUNG_RADIUS_MM + ROI_MARGIN_MM + rbig
    ys, xs = np.nonzero(allowed)
    if ys.size == 0:
        return np.empty((0, 2))
    # The outermost allowed centre in each 2° direction from the insert traces the periphery;
    # the ROIs go at equal arc-length steps along it.
    ang = np.arctan2(ys - lung_rc[0], xs - lung_rc[1])
    dist = dl[ys, xs]
    bins = np.floor((ang + np.pi) / np.radians(2.0)).astype(int)
    order = np.lexsort((-dist, bins))
    first = order[np.r_[True, bins[order][1:] != bins[order][:-1]]]
    per = np.column_stack([ys[first], xs[first]]).astype(float)
    # Greedy walk along the periphery: an ROI wherever it clears the ones placed (37 mm apart);
    # then n of them, evenly spread, when more fit.
    placed: list[np.ndarray] = []
    for p in per:
        if all(np.hypot(*(p - q)) * px >= 2 * rbig for q in placed):
            placed.append(p)
    pts = np.array(placed)
    if len(pts) > n:
        pts = pts[np.round(np.linspace(0, len(pts) - 1, n)).astype(int)]
    return pts


def _background_slices(k0: int, dz: float, n_slices: int) -> list[int]:
    """The background slices (NEMA §7.4.1).

    Parameters
    ----------
    k0 : int
        Central slice (through the sphere centres).
    dz : float
        Slice spacing (mm).
    n_slices : int
        Number of slices in the images.

    Returns
    -------
    list of int
        `k0` and the slices ±10 mm and ±20 mm from it that are in the images, in that order.
    """
    bslices: list[int] = []
    for off in (0.0, -10.0, 10.0, -20.0, 20.0):
        k = k0 + int(round(off / dz))  # from the central slice, as NEMA counts
        if 0 <= k < n_slices and k not in bslices:
            bslices.append(k)
    return bslices


def _on_axis(k: int, centre_vox: np.ndarray, centre_mm: np.ndarray, normal: np.ndarray,
             px: float, dz: float) -> np.ndarray:
    """Where the ring axis (the lung-insert axis) crosses slice `k`.

    Parameters
    ----------
    k : int
        Slice index.
    centre_vox, centre_mm : (3,) arrays
        Ring centre in voxels and in mm.
    normal : (3,) array
        Unit normal of the sphere plane (axis direction).
    px, dz : float
        Pixel size and slice spacing (mm).

    Returns
    -------
    (3,) array
        The crossing point (slice, row, col) in voxels.
    """
    t = (k - centre_vox[0]) * dz / normal[0]
    return to_vox(centre_mm + t * normal, px, dz)


def _body_mask(image: np.ndarray, level: float) -> np.ndarray:
    """The phantom body on one slice.

    Parameters
    ----------
    image : 2-D array
        The slice.
    level : float
        Threshold.

    Returns
    -------
    bool array
        The largest connected region above `level`, holes filled.
    """
    body0 = ndimage.binary_fill_holes(image > level)
    lab2, n2 = ndimage.label(body0)
    if n2 > 1:
        sizes = ndimage.sum_labels(body0, lab2, np.arange(1, n2 + 1))
        body0 = lab2 == (1 + int(np.argmax(sizes)))
    return body0


def _coarse_mask(mask: np.ndarray, f: int) -> np.ndarray:
    """`mask` on the grid of `block_means`.

    Parameters
    ----------
    mask : 2-D bool array
        Full-resolution mask.
    f : int
        Block size in pixels.

    Returns
    -------
    2-D bool array
        True for the blocks at least half inside `mask`.
    """
    ny, nx = mask.shape
    return mask[:ny - ny % f, :nx - nx % f].reshape(ny // f, f, nx // f, f).mean(
        axis=(1, 3)) >= 0.5


def _background_stats(vol: np.ndarray, bslices: list[int], bg_rc: np.ndarray, px: float
                      ) -> tuple[dict[float, float], dict[float, float]]:
    """Background ROI statistics per sphere diameter (NEMA §7.4.1).

    Returns
    -------
    cb : dict
        Mean of the ROIs of that diameter over all background slices.
    nb : dict
        Background variability: their standard deviation (ddof 1) in percent of `cb`.
    """
    roi_means = {d: np.array([_circle_means(vol[k], bg_rc, d / 2, px) for k in bslices])
                 for d in SPHERE_DIAMETERS_MM}
    cb = {d: float(np.nanmean(m)) for d, m in roi_means.items()}
    nb = {d: float(100.0 * np.nanstd(m, ddof=1) / cb[d]) for d, m in roi_means.items()}
    return cb, nb


def _sphere_true(background: float, background_true: float | None, ratio: float,
                 warnings: list[str]) -> float:
    """True sphere concentration: ``ratio`` × the entered background, else × the measured one
    (with a warning); warns when the two backgrounds differ by more than 10 %."""
    if background_true is None:
        warnings.append("Recovery coefficients use the measured background × the ratio as the "
                        "true sphere concentration; enter background_bq_ml (from the "
                        "preparation) for EARL accreditation.")
        return ratio * background
    if abs(background / background_true - 1) > 0.1:
        warnings.append(f"Measured background {background:.0f} Bq/ml differs by "
                        f"{100 * (background / background_true - 1):+.0f} % from the "
                        "entered value: check the calibration or the entered activity.")
    return ratio * background_true


@dataclass(frozen=True, slots=True)
class _Voi:
    """Sphere VOI values: maximum, A50 mean, peak and the A50 size (voxels)."""

    vmax: float
    vmean: float
    vpeak: float
    a50_voxels: int


def _sphere_voi(vol: np.ndarray, c: np.ndarray, d: float, background: float, kern: np.ndarray,
                px: float, dz: float) -> _Voi:
    """Maximum, A50 mean and peak of the sphere of diameter `d` centred at `c` (voxels).

    The maximum and the peak centre are searched in the sphere (the nearest voxel when none is
    inside); A50 holds the voxels within r + 5 mm at or above half-way from `background` to the
    maximum; the peak is the highest `kern`-weighted mean.
    """
    r = d / 2
    # The box holds the A50 search ball (r + 5 mm) and the 1 cm³ kernel (6.2 mm) around
    # every candidate peak centre inside the sphere.
    sl, lo = box_around(c, r + 7.0, vol.shape, px, dz)
    sub = vol[sl].astype(np.float64)
    d2 = dist2_mm(sub.shape, lo, c, px, dz)
    ball = d2 <= r * r
    if not ball.any():
        ball = d2 <= d2.min()
    vmax = float(sub[ball].max())
    a50 = (d2 <= (r + 5.0) ** 2) & (sub >= background + 0.5 * (vmax - background))
    vmean = float(sub[a50].mean())
    pk = ndimage.correlate(sub, kern, mode="nearest")
    vpeak = float(pk[ball].max())
    return _Voi(vmax=vmax, vmean=vmean, vpeak=vpeak, a50_voxels=int(a50.sum()))


def _measure_sphere(vol: np.ndarray, c: np.ndarray, d: float, *, background: float,
                    sphere_true: float, ratio: float, cb: dict[float, float],
                    nb: dict[float, float], kern: np.ndarray, px: float, dz: float
                    ) -> SphereResult:
    """NEMA contrast (circular ROI on the slice nearest the centre) and EARL recovery of one
    sphere."""
    voi = _sphere_voi(vol, c, d, background, kern, px, dz)
    ks = int(np.clip(round(c[0]), 0, vol.shape[0] - 1))
    nema = float(_circle_means(vol[ks], np.array([c[1:]]), d / 2, px)[0])
    return SphereResult(
        diameter_mm=d, centre_vox=(float(c[0]), float(c[1]), float(c[2])), slice_index=ks,
        mean=voi.vmean, max=voi.vmax, peak=voi.vpeak, nema_roi_mean=nema,
        contrast_percent=100.0 * (nema / cb[d] - 1.0) / (ratio - 1.0),
        background_mean=cb[d], background_variability_percent=nb[d],
        rc_mean=voi.vmean / sphere_true, rc_max=voi.vmax / sphere_true,
        rc_peak=voi.vpeak / sphere_true, a50_voxels=voi.a50_voxels)


def nema_iq_analysis(volume: np.ndarray, pixel_mm: float, slice_mm: float, *,
                     ratio: float = 4.0, background_true: float | None = None
                     ) -> IqResult:
    """Analyse a NEMA/IEC body phantom volume.

    Parameters
    ----------
    volume : (n, rows, cols) array
        Slices in spatial order, evenly spaced, activity concentration (Bq/ml).
    pixel_mm, slice_mm : float
        In-plane pixel size and slice spacing.
    ratio : float
        Sphere : background activity concentration ratio of the filling (NEMA 4:1).
    background_true : float, optional
        Background concentration from the preparation, decay-corrected to the image reference
        time. The true sphere concentration is ``ratio · background_true``; without it the
        measured background replaces it (a warning says so).

    Raises
    ------
    ValueError
        No body, fewer than three hot spheres, or a sphere ring of the wrong size.
    """
    # float32 as read: the whole-volume passes are memory-bound; local boxes are promoted.
    vol = np.asarray(volume, dtype=np.float32)
    if vol.ndim != 3 or vol.shape[0] < 5:
        raise ValueError("a volume of at least 5 slices is needed")
    if ratio <= 1.0:
        raise ValueError("the sphere:background ratio must be above 1")
    px, dz = float(pixel_mm), float(slice_mm)
    warnings: list[str] = []
    # Localisation on a ~4 mm in-plane grid (block means): it smooths the noise and keeps the
    # whole-volume steps (levels, labelling) a few times cheaper than at full resolution.
    f = max(1, int(round(4.0 / px)))
    coarse = block_means(vol, f)
    bg0 = background_level(coarse)
    labels, n = hot_regions(coarse, bg0, ratio)
    cents = [refine_centre(vol, c, d / 2, bg0, px, dz, 6.0)
             for c, d in zip(largest_centroids(coarse, labels, n, bg0, f),
                             SPHERE_DIAMETERS_MM[::-1])]
    centre_mm, ring_r, normal, _ = sphere_plane(*(to_mm(c, px, dz) for c in cents))
    centres_vox, centre_mm, normal = all_sphere_centres(vol, cents, centre_mm, ring_r, normal,
                                                         bg0, px, dz)
    tilt = math.degrees(math.acos(min(1.0, abs(float(normal[0])))))
    if tilt > 15.0:
        warnings.append(f"The sphere plane is tilted {tilt:.0f}° from the axial plane; NEMA "
                        "expects the phantom aligned with the scanner axis.")
    centre_vox = to_vox(centre_mm, px, dz)

    # Background ROIs on the central slice and ±10, ±20 mm (NEMA §7.4.1).
    k0 = int(round(centre_vox[0]))
    bslices = _background_slices(k0, dz, vol.shape[0])
    if len(bslices) < 5:
        warnings.append(f"Only {len(bslices)} of the 5 background slices (±10, ±20 mm) are in "
                        "the images.")
    lung0 = _on_axis(k0, centre_vox, centre_mm, normal, px, dz)
    body0 = _body_mask(vol[k0], 0.5 * bg0)
    sph_rc = np.array([[c[1], c[2]] for c in centres_vox])
    # ROI placement needs no finer than ~4 mm: found on the coarse grid, mapped back.
    shift = (f - 1) / 2
    bg_rc = _background_centres(_coarse_mask(body0, f), (sph_rc - shift) / f,
                                np.array(SPHERE_DIAMETERS_MM) / 2, (lung0[1:] - shift) / f,
                                px * f) * f + shift
    if len(bg_rc) < 12:
        warnings.append(f"Only {len(bg_rc)} background ROIs fit ≥ 15 mm from the phantom edge "
                        "and the spheres (NEMA asks for 12 per slice).")
    if len(bg_rc) == 0:
        raise ValueError("no room for background ROIs: is this the NEMA body phantom?")
    cb, nb = _background_stats(vol, bslices, bg_rc, px)
    background = cb[SPHERE_DIAMETERS_MM[-1]]
    # Lung insert residual per slice (NEMA §7.4.2).
    lung_c = [_on_axis(k, centre_vox, centre_mm, normal, px, dz) for k in bslices]
    lung_rc = [(float(c[1]), float(c[2])) for c in lung_c]
    lung = [100.0 * float(_circle_means(vol[k], np.array([c[1:]]), LUNG_ROI_MM / 2, px)[0])
            / background for k, c in zip(bslices, lung_c)]
    if float(np.mean(lung)) > 50.0:
        warnings.append("No cold lung insert found on the phantom axis (residual "
                        f"{np.mean(lung):.0f} %).")
    sphere_true = _sphere_true(background, background_true, ratio, warnings)
    kern = peak_kernel(px, dz)
    spheres = [_measure_sphere(vol, c, d, background=background, sphere_true=sphere_true,
                               ratio=ratio, cb=cb, nb=nb, kern=kern, px=px, dz=dz)
               for d, c in zip(SPHERE_DIAMETERS_MM, centres_vox)]
    return IqResult(
        spheres=tuple(spheres), background_mean=background, sphere_true=sphere_true,
        lung_residual_percent=float(np.mean(lung)), lung_residual_per_slice=tuple(lung),
        background_slices=tuple(bslices),
        background_rc=tuple((float(a), float(b)) for a, b in bg_rc), lung_rc=tuple(lung_rc),
        ring_centre_vox=(float(centre_vox[0]), float(centre_vox[1]), float(centre_vox[2])),
        plane_normal=(float(normal[0]), float(normal[1]), float(normal[2])), tilt_deg=tilt,
        ring_radius_mm=ring_r, warnings=tuple(warnings))
