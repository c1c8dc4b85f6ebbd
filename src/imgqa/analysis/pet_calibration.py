"""Uniform-cylinder PET analysis: activity concentration in a central VOI, axial and in-slice
uniformity.

The method follows the daily/quarterly cross-calibration practice of the EANM/EARL
accreditation programme (Boellaard et al., EJNMMI 42:328 (2015), §"Calibration QC") and
IAEA Human Health Series 1, "Quality Assurance for PET and PET/CT Systems" (2009), §6.2:
a cylinder filled with a known concentration, a VOI well inside it on every slice away from
the ends, mean concentration compared with the expected one, slice means for axial uniformity.

Arrays in, mm in; no DICOM. Values are whatever unit the image has (Bq/ml for PET).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CylinderSlice", "CylinderResult", "uniform_cylinder"]


@dataclass(frozen=True, slots=True)
class CylinderSlice:
    """One slice used: where the phantom is and what its VOI holds (pixel coordinates)."""

    index: int
    centre_rc: tuple[float, float]
    phantom_radius_mm: float
    voi_mean: float
    voi_cov_percent: float
    inslice_max_deviation_percent: float
    ring_rc: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class CylinderResult:
    """Outcome of `uniform_cylinder`.

    Attributes
    ----------
    mean : float
        Mean over every voxel of the VOI (all used slices), image units.
    slices : tuple of CylinderSlice
        The slices used, in stack order.
    axial_max_deviation_percent, axial_cov_percent : float
        Largest |slice mean − mean| / mean and SD(slice means) / mean, in %.
    inslice_max_deviation_percent : float
        Largest deviation of a small ROI from its slice's VOI mean over all slices, in %.
    voi_radius_mm, ring_roi_radius_mm : float
    phantom_slices : tuple of int
        Every slice where the cylinder was found (before the end margin).
    """

    mean: float
    slices: tuple[CylinderSlice, ...]
    axial_max_deviation_percent: float
    axial_cov_percent: float
    inslice_max_deviation_percent: float
    voi_radius_mm: float
    ring_roi_radius_mm: float
    phantom_slices: tuple[int, ...]
    warnings: tuple[str, ...] = ()


def _phantom_masks(volume: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-voxel phantom mask: above half the typical filled-phantom value."""
    hi = float(np.percentile(volume, 99.5))
    if hi <= 0:  # a small object fills less than 0.5 % of the field
        hi = float(volume.max())
    if hi <= 0:
        raise ValueError("the images are empty (no activity)")
    inside = volume[volume > 0.25 * hi]
    level = float(np.median(inside))
    return volume > 0.5 * level, level


def uniform_cylinder(volume: np.ndarray, pixel_mm: float, slice_z_mm: np.ndarray, *,
                     voi_radius_mm: float | None = None, end_margin_mm: float = 10.0,
                     ring_roi_radius_mm: float | None = None) -> CylinderResult:
    """Analyse a uniform cylinder imaged in axial slices.

    Parameters
    ----------
    volume : (n, rows, cols) array
        Slices in spatial order, image units (Bq/ml).
    pixel_mm : float
        In-plane pixel size (square pixels).
    slice_z_mm : (n,) array
        Slice positions along the axis, mm.
    voi_radius_mm : float, optional
        Radius of the circular VOI section on each slice, centred on that slice's phantom
        centroid (so a tilted or off-centre cylinder is followed). Default: half the measured
        phantom radius (≈ 50 mm for a 20 cm cylinder), which stays > 3 FWHM from the wall.
    end_margin_mm : float
        Slices closer than this to an end of the cylinder that lies inside the field are left
        out (partial volume and scatter at the end caps).
    ring_roi_radius_mm : float, optional
        Radius of the nine in-slice ROIs (centre + eight at 60 % of the phantom radius);
        default 15 % of the phantom radius.

    Raises
    ------
    ValueError
        No cylinder in the images, or no slice left after the end margin.
    """
    vol = np.asarray(volume, dtype=np.float64)
    if vol.ndim != 3:
        raise ValueError("a stack of slices is needed")
    z = np.asarray(slice_z_mm, dtype=float)
    mask, _level = _phantom_masks(vol)
    area = mask.sum(axis=(1, 2)).astype(float)
    radius = np.sqrt(area / np.pi) * pixel_mm
    if not np.any(radius > 20.0):
        raise ValueError("no cylinder of activity (at least 4 cm across) in the images")
    r_typ = float(np.median(radius[radius > 20.0]))
    full = np.flatnonzero(radius >= 0.9 * r_typ)
    warnings: list[str] = []
    use = full
    if full.size:
        # An end of the cylinder is inside the field when slices beyond it lack the phantom.
        lo_end = full[0] > 0 and radius[full[0] - 1] < 0.5 * r_typ
        hi_end = full[-1] < len(z) - 1 and radius[full[-1] + 1] < 0.5 * r_typ
        keep = np.ones(full.size, bool)
        if lo_end:
            keep &= np.abs(z[full] - z[full[0]]) >= end_margin_mm
        if hi_end:
            keep &= np.abs(z[full] - z[full[-1]]) >= end_margin_mm
        use = full[keep]
    if use.size == 0:
        raise ValueError("no slice lies far enough from the cylinder's ends")
    r_voi = voi_radius_mm if voi_radius_mm is not None else 0.5 * r_typ
    if r_voi > r_typ - 10.0:
        warnings.append(f"The VOI radius {r_voi:.0f} mm reaches within 10 mm of the cylinder "
                        f"wall (radius {r_typ:.0f} mm): partial-volume losses lower the mean.")
    r_ring = ring_roi_radius_mm if ring_roi_radius_mm is not None else 0.15 * r_typ
    rows, cols = vol.shape[1:]
    rr, cc = np.ogrid[:rows, :cols]
    angles = np.arange(8) * np.pi / 4
    slices = []
    voxels = []
    for i in use:
        w = mask[i]
        cr, ccol = (float(v) for v in np.argwhere(w).mean(axis=0))
        r_i = radius[i]
        d2 = ((rr - cr) ** 2 + (cc - ccol) ** 2) * pixel_mm ** 2
        vals = vol[i][d2 <= r_voi ** 2]
        voxels.append(vals)
        m = float(vals.mean())
        ring = [(cr, ccol)] + [(cr + 0.6 * r_i / pixel_mm * np.sin(a),
                                ccol + 0.6 * r_i / pixel_mm * np.cos(a)) for a in angles]
        ring_means = np.array([vol[i][((rr - y) ** 2 + (cc - x) ** 2) * pixel_mm ** 2
                                      <= r_ring ** 2].mean() for y, x in ring])
        ring_mean = float(ring_means.mean())
        slices.append(CylinderSlice(
            index=int(i), centre_rc=(cr, ccol), phantom_radius_mm=float(r_i), voi_mean=m,
            voi_cov_percent=float(100.0 * vals.std(ddof=1) / m) if vals.size > 1 else 0.0,
            inslice_max_deviation_percent=float(100.0 * np.max(np.abs(ring_means - ring_mean))
                                                / ring_mean),
            ring_rc=tuple((float(y), float(x)) for y, x in ring)))
    allv = np.concatenate(voxels)
    mean = float(allv.mean())
    means = np.array([s.voi_mean for s in slices])
    axial_dev = float(100.0 * np.max(np.abs(means - mean)) / mean)
    axial_cov = float(100.0 * means.std(ddof=1) / mean) if means.size > 1 else 0.0
    if means.size < 3:
        warnings.append(f"Only {means.size} slice(s) in the VOI: axial uniformity is weakly "
                        "defined.")
    return CylinderResult(mean=mean, slices=tuple(slices), axial_max_deviation_percent=axial_dev,
                          axial_cov_percent=axial_cov,
                          inslice_max_deviation_percent=max(s.inslice_max_deviation_percent
                                                            for s in slices),
                          voi_radius_mm=float(r_voi), ring_roi_radius_mm=float(r_ring),
                          phantom_slices=tuple(int(i) for i in full), warnings=tuple(warnings))
