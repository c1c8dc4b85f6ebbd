"""SPECT tomographic uniformity, ring artefacts and sphere contrast of a Jaszczak-type phantom.

IAEA Human Health Series No. 6 (2009) §4.3.5–4.3.6 and NEMA NU 1-2018 §3 (tomographic
uniformity) analyse a reconstructed cylinder phantom with a uniform section, a section of cold
spheres and a section of cold rods:

* **Uniform section**: the longest run of slices, away from the ends, whose central disc is
  free of cold structures (no pixel of the lightly smoothed slice below 70 % of the slice's
  median; sphere and rod slices have many). The user may give the slices instead.
* **Tomographic integral uniformity**: the uniform slices are averaged (to reduce noise, as
  IAEA advises), smoothed with the NEMA 9-point kernel (1-2-1 × 1-2-1 / 16) and
  IU = (max − min)/(max + min) × 100 % in a disc of ``roi_fraction`` × the phantom radius.
  The same IU of each slice alone is given as a curve (noise dominates it).
* **Ring artefacts**: the mean of the (unsmoothed) uniform image in 1-pixel annuli about the
  phantom centre. A linear gradient averages out over an annulus; a smooth radial trend
  (cupping or a central hot spot from attenuation/scatter correction) is fitted as
  a + b r² + c r⁴ (robustly, so a ring does not pull it); the ring artefact is the largest
  deviation of an annulus from that trend, in % of the median annulus, and the trend's range
  is the radial non-uniformity.
* **Sphere contrast**: cold spheres are found as dark blobs (below 80 % of the uniform level) in
  the slice where the sphere section is darkest, numbered by size (1 = largest). Each sphere's
  value is the mean of a disc of half its found radius about its darkest point, in the slice
  where it is darkest; contrast = (1 − sphere/uniform) × 100 %, with "uniform" the mean of the
  uniform section's disc. For a cold sphere with no activity and no blurring the contrast is
  100 %; partial volume lowers it for small spheres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.spect_rods import RodSector, rod_contrast, rod_section

__all__ = ["Sphere", "TomoUniformity", "phantom_disc", "uniform_section", "smooth9",
           "tomographic_uniformity"]

_K9 = np.outer([1.0, 2.0, 1.0], [1.0, 2.0, 1.0]) / 16.0


@dataclass(frozen=True, slots=True)
class Sphere:
    """One cold sphere: number (1 = largest), slice, centre (row, col), found diameter (mm),
    mean value in its central disc and contrast (%)."""

    index: int
    slice: int
    centre_rc: tuple[float, float]
    diameter_mm: float
    value: float
    contrast_percent: float


@dataclass(frozen=True, slots=True)
class TomoUniformity:
    """Result of `tomographic_uniformity` (units: %, mm, pixels as named)."""

    uniform_slices: tuple[int, int]
    centre_rc: tuple[float, float]
    radius_px: float
    roi_radius_px: float
    integral_uniformity_percent: float
    slice_uniformity_percent: np.ndarray
    slice_cold_fraction: np.ndarray
    noise_cv_percent: float
    uniform_level: float
    ring_radii_mm: np.ndarray
    ring_profile: np.ndarray
    ring_trend: np.ndarray
    radial_nonuniformity_percent: float
    ring_artefact_percent: float
    ring_artefact_radius_mm: float
    spheres: tuple[Sphere, ...]
    sphere_slices: tuple[int, int] | None
    smoothed: np.ndarray
    roi_mask: np.ndarray
    rods: tuple[RodSector, ...] = ()
    rod_slices: tuple[int, int] | None = None


def smooth9(image: np.ndarray) -> np.ndarray:
    """NEMA 9-point smoothing (weights 1 2 1 / 2 4 2 / 1 2 1, normalised), edges reflected."""
    return ndimage.convolve(np.asarray(image, dtype=np.float64), _K9, mode="nearest")


def phantom_disc(volume: np.ndarray) -> tuple[float, float, float]:
    """Centre (row, col) and radius (pixels) of the cylinder, from the axial mean image.

    The mean of all slices is thresholded at half its robust maximum (99th percentile): the
    area gives the radius (≈ the half-maximum edge), the centroid the centre.
    """
    mean = np.asarray(volume, dtype=np.float64).mean(axis=0)
    top = float(np.percentile(mean, 99))
    mask = mean > 0.5 * top
    if top <= 0 or mask.sum() < 20:
        raise ValueError("no phantom (cylinder) found in the volume")
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = ndimage.sum_labels(mask, labels, np.arange(1, n + 1))
        mask = labels == (1 + int(np.argmax(sizes)))
    rc = ndimage.center_of_mass(mask)
    return float(rc[0]), float(rc[1]), float(np.sqrt(mask.sum() / np.pi))


def _disc(shape: tuple[int, int], centre: tuple[float, float], radius: float) -> np.ndarray:
    rr, cc = np.ogrid[:shape[0], :shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius ** 2


def uniform_section(volume: np.ndarray, disc: np.ndarray, *, cold_level: float = 0.7,
                    ) -> tuple[tuple[int, int], np.ndarray, np.ndarray]:
    """Find the uniform section: ((first, last) slice, cold fraction per slice, disc means).

    A slice qualifies when its disc mean is at least 85 % of the highest slice mean (not an end
    slice) and less than 0.5 % of its smoothed disc pixels fall below ``cold_level`` × the
    slice's median (no cold sphere or rod). The longest run of qualifying slices wins.
    """
    vol = np.asarray(volume, dtype=np.float64)
    sm = ndimage.uniform_filter(vol, size=(1, 3, 3))
    inside = sm[:, disc]
    med = np.median(inside, axis=1)
    cold = (inside < cold_level * med[:, None]).mean(axis=1)
    means = inside.mean(axis=1)
    ok = (means >= 0.85 * means.max()) & (cold < 0.005)
    best: tuple[int, int] | None = None
    start = None
    for k, flag in enumerate(np.append(ok, False)):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            if best is None or k - start > best[1] - best[0] + 1:
                best = (start, k - 1)
            start = None
    if best is None:
        raise ValueError("no uniform section found: every slice has cold structures or is an "
                         "end slice")
    return best, cold, means


def _radial_trend(r: np.ndarray, prof: np.ndarray, counts: np.ndarray, use: np.ndarray
                  ) -> np.ndarray:
    """Smooth radial trend of the annular means: a + b r² + c r⁴ (cupping or capping from
    attenuation and scatter is even and smooth), fitted with the annuli's pixel counts as
    weights; annuli more than 3 robust SDs off are left out and the fit repeated twice, so a
    ring does not pull the trend towards itself."""
    keep = use & (counts > 0)
    if keep.sum() < 4:
        return np.full_like(prof, np.median(prof[keep]) if keep.any() else 0.0)
    x = (r / r[keep].max()) ** 2
    design = np.column_stack([np.ones_like(x), x, x ** 2])
    w = np.sqrt(counts.astype(float))
    fit = np.zeros_like(prof)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(design[keep] * w[keep, None], prof[keep] * w[keep],
                                   rcond=None)
        fit = design @ coef
        res = prof - fit
        mad = 1.4826 * float(np.median(np.abs(res[keep] - np.median(res[keep])))) + 1e-12
        new = use & (counts > 0) & (np.abs(res) <= 3.0 * mad)
        if new.sum() < 4 or np.array_equal(new, keep):
            break
        keep = new
    return fit


def _integral_uniformity(img: np.ndarray, mask: np.ndarray) -> float:
    v = img[mask]
    hi, lo = float(v.max()), float(v.min())
    return 100.0 * (hi - lo) / (hi + lo) if hi + lo > 0 else float("nan")


def _spheres(vol: np.ndarray, disc: np.ndarray, level: float, pixel_mm: float,
             exclude: tuple[int, int], blob_level: float) -> tuple[tuple[Sphere, ...],
                                                                   tuple[int, int] | None]:
    """Cold spheres: dark blobs in the darkest non-uniform slices (see the module docstring)."""
    sm = ndimage.uniform_filter(vol, size=(1, 3, 3))
    nz = vol.shape[0]
    cand = np.array([k for k in range(nz) if not exclude[0] <= k <= exclude[1]])
    if cand.size == 0:
        return (), None
    inside = sm[cand][:, disc]
    dark = (inside < blob_level * level).sum(axis=1)
    means = inside.mean(axis=1)
    cand_ok = means >= 0.85 * level
    if not np.any(cand_ok & (dark > 0)):
        return (), None
    # The sphere section's darkest slice; rods (many small blobs) are told apart by blob size.
    best = None
    for k in np.flatnonzero(cand_ok & (dark > 0)):
        z = int(cand[k])
        labels, n = ndimage.label((sm[z] < blob_level * level) & disc)
        if n == 0:
            continue
        sizes = ndimage.sum_labels(np.ones_like(sm[z]), labels, np.arange(1, n + 1))
        score = float(sizes.max())
        if best is None or score > best[0]:
            best = (score, z, labels, n, sizes)
    if best is None:
        return (), None
    _, z, labels, n, sizes = best
    found = []
    rr, cc = np.ogrid[:vol.shape[1], :vol.shape[2]]
    for lab in range(1, n + 1):
        if sizes[lab - 1] < 3:
            continue
        blob = labels == lab
        r_px = float(np.sqrt(sizes[lab - 1] / np.pi))
        # The sphere's darkest slice near z: minimum of the blob mean over a few slices.
        zs = np.arange(max(z - 4, 0), min(z + 5, nz))
        zs = zs[(zs < exclude[0]) | (zs > exclude[1])]
        zb = int(zs[np.argmin(sm[zs][:, blob].mean(axis=1))])
        # Centre: the darkness-weighted centroid of the blob (a plateau has no single minimum).
        cr, ccn = ndimage.center_of_mass(np.where(blob, np.clip(level - sm[zb], 0, None), 0.0))
        roi = (rr - cr) ** 2 + (cc - ccn) ** 2 <= max(0.5 * r_px, 1.0) ** 2
        value = float(vol[zb][roi].mean())
        found.append((r_px, zb, (float(cr), float(ccn)), value))
    found.sort(key=lambda t: -t[0])
    spheres = tuple(Sphere(i + 1, zb, c, 2 * r * pixel_mm, v, 100.0 * (1.0 - v / level))
                    for i, (r, zb, c, v) in enumerate(found))
    zz = [s.slice for s in spheres]
    return spheres, ((min(zz), max(zz)) if zz else None)


def tomographic_uniformity(volume: np.ndarray, pixel_mm: float, *, roi_fraction: float = 0.8,
                           slices: tuple[int, int] | None = None, contrast: bool = True,
                           blob_level: float = 0.8) -> TomoUniformity:
    """Tomographic uniformity, ring check and sphere contrast (see the module docstring).

    Parameters
    ----------
    volume : (nz, rows, cols) array
        Reconstructed slices of the phantom.
    pixel_mm : float
        In-plane pixel size, mm.
    roi_fraction : float
        Radius of the analysis disc as a fraction of the phantom radius (IAEA: stay clear of
        the wall, ~0.8).
    slices : (first, last) or None
        The uniform section's slices (0-based, inclusive); default: found automatically.
    blob_level : float
        A cold sphere is where the smoothed slice is below this fraction of the uniform level.
    """
    vol = np.asarray(volume, dtype=np.float64)
    if vol.ndim != 3 or vol.shape[0] < 3:
        raise ValueError("a reconstructed volume of at least 3 slices is needed")
    r0, c0, radius = phantom_disc(vol)
    disc = _disc(vol.shape[1:], (r0, c0), roi_fraction * radius)
    found, cold, slice_means = uniform_section(vol, disc)
    first, last = slices if slices is not None else found
    if not (0 <= first <= last < vol.shape[0]):
        raise ValueError(f"uniform slices {first}–{last} are outside the volume "
                         f"(0–{vol.shape[0] - 1})")
    uni = vol[first:last + 1].mean(axis=0)
    sm = smooth9(uni)
    iu = _integral_uniformity(sm, disc)
    per_slice = np.array([_integral_uniformity(smooth9(vol[k]), disc)
                          for k in range(first, last + 1)])
    level = float(uni[disc].mean())
    noise = float(100.0 * vol[first:last + 1][:, disc].std(axis=1).mean() / level)
    # Ring profile: annuli of 1 pixel about the centre, out to the analysis disc.
    rr, cc = np.indices(uni.shape)
    dist = np.hypot(rr - r0, cc - c0)
    nbin = int(np.floor(roi_fraction * radius))
    b = np.floor(dist).astype(int)
    sel = b < nbin
    counts = np.bincount(b[sel], minlength=nbin)
    sums = np.bincount(b[sel], weights=uni[sel], minlength=nbin)
    prof = sums / np.maximum(counts, 1)
    # The innermost annuli hold a handful of pixels: noise, not rings; start at 2 pixels.
    use = np.arange(nbin) >= 2
    ring_med = float(np.median(prof[use])) if use.any() else level
    trend = _radial_trend(np.arange(nbin) + 0.5, prof, counts, use)
    dev = np.where(use, np.abs(prof - trend), 0.0)
    kmax = int(np.argmax(dev))
    ring = float(100.0 * dev[kmax] / ring_med) if ring_med > 0 else float("nan")
    radial = (float(100.0 * np.ptp(trend[use]) / ring_med) if use.sum() > 1 and ring_med > 0
              else float("nan"))
    spheres: tuple[Sphere, ...] = ()
    sph_slices = None
    if contrast:
        spheres, sph_slices = _spheres(vol, disc, level, pixel_mm, (first, last), blob_level)
    rods: tuple[RodSector, ...] = ()
    rod_slices = None
    if contrast:
        # The rod section: cold structure outside the uniform section and the spheres (their
        # largest radius, in slices, plus one on either side of the sphere slices).
        exclude = [(first, last)]
        if sph_slices is not None and spheres:
            half = int(np.ceil(max(s.diameter_mm for s in spheres) / 2 / pixel_mm)) + 1
            exclude.append((sph_slices[0] - half, sph_slices[1] + half))
        rod_slices = rod_section(cold, slice_means, level, exclude)
        if rod_slices is not None and rod_slices[1] - rod_slices[0] >= 2:
            a, b = rod_slices
            inner = slice(a + 1, b) if b - a >= 4 else slice(a, b + 1)  # drop end slices
            rods = rod_contrast(vol[inner].mean(axis=0), (r0, c0), radius, level, pixel_mm,
                                blob_level=blob_level)
        else:
            rod_slices = None
    return TomoUniformity(
        uniform_slices=(first, last), centre_rc=(r0, c0), radius_px=radius,
        roi_radius_px=roi_fraction * radius, integral_uniformity_percent=iu,
        slice_uniformity_percent=per_slice, slice_cold_fraction=cold,
        noise_cv_percent=noise, uniform_level=level,
        ring_radii_mm=(np.arange(nbin) + 0.5) * pixel_mm, ring_profile=prof / ring_med,
        ring_trend=trend / ring_med, radial_nonuniformity_percent=radial,
        ring_artefact_percent=ring, ring_artefact_radius_mm=(kmax + 0.5) * pixel_mm,
        spheres=spheres, sphere_slices=sph_slices, smoothed=np.where(disc, sm, 0.0),
        roi_mask=disc, rods=rods, rod_slices=rod_slices)
