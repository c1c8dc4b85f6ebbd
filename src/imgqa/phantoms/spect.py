"""SPECT digital phantoms with analytic ground truth.

* `cor_projections` — projections of a point source over 360° by one or two heads whose centre
  of rotation projects `offsets_px` away from the matrix centre: the source's column follows
  ``x(θ) = r·sin(θ + φ) + (cols − 1)/2 + offset`` exactly, its row is constant (or drifts by a
  known amount). Truth: the COR offset per head (pixels, mm) and the head-to-head difference.
* `line_volume` — a reconstructed volume of Gaussian line sources (optionally tilted) and point
  sources through a 3-D Gaussian PSF of known FWHM in-plane and along z. Truth: FWHM/FWTM
  (FWTM = FWHM·√(ln 10 / ln 2)).
* `jaszczak_volume` — a cylinder with a uniform section carrying a known linear gradient (and
  optionally a ring of known height), then a section of cold spheres of known activity
  fraction. Truth: tomographic integral uniformity of the gradient in the analysis disc,
  ring height, sphere contrasts (1 − fraction)·100 %.

Volumes are point-sampled (value at the voxel centre) so the truth is the continuous model.
The writers make multi-frame NM files marked as SPECT: projections get Image Type TOMO with a
Detector Vector, Rotation Information (start angle, angular step) and Angular View Vector;
reconstructions get RECON TOMO with a Slice Vector and Spacing Between Slices.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["DEMO_RODS", "cor_projections", "demo_sets", "jaszczak_volume", "line_volume", "write_projections",
           "write_reconstruction"]

_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_FWTM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(10.0))

# Rod sectors of the demo/validation cylinder: (diameter mm, activity fraction), the Jaszczak
# Deluxe sizes 12.7–6.4 mm, two sectors partly filled so the contrasts differ.
DEMO_RODS = ((12.7, 0.0), (11.1, 0.2), (9.5, 0.0), (7.9, 0.4), (6.4, 0.0))


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------
def cor_projections(*, size: int = 64, pixel_mm: float = 6.0, n_per_head: int = 60,
                    heads: int = 2, offsets_px: Sequence[float] = (0.6, -0.3),
                    radius_mm: float = 80.0, phase_deg: float = 20.0, row_px: float = 30.3,
                    y_drift_px: float = 0.0, fwhm_mm: float = 15.0, peak_counts: float = 0.0,
                    background: float = 0.0, seed: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Point-source projections over 360° (see the module docstring).

    Head 2 starts 180° after head 1 (opposed heads), each covering 360° in ``n_per_head``
    steps. ``y_drift_px`` makes the row rise linearly by that much over the rotation.
    ``peak_counts`` > 0 scales to that peak and draws Poisson counts.

    Returns
    -------
    stack : (heads·n, size, size) float array; angles_deg, heads : (heads·n,) arrays; truth.
    """
    rng = np.random.default_rng(seed)
    sigma = fwhm_mm / _FWHM_PER_SIGMA / pixel_mm
    centre = (size - 1) / 2.0
    step = 360.0 / n_per_head
    idx = np.arange(n_per_head)
    frames, angles, det = [], [], []
    rr = np.arange(size, dtype=float)[None, :, None]
    cc = np.arange(size, dtype=float)[None, None, :]
    for h in range(heads):
        theta = np.mod(idx * step + 180.0 * h, 360.0)
        x = radius_mm / pixel_mm * np.sin(np.radians(theta + phase_deg)) + centre + offsets_px[h]
        y = row_px + y_drift_px * idx / max(n_per_head - 1, 1)
        img = np.exp(-0.5 * (((cc - x[:, None, None]) / sigma) ** 2
                             + ((rr - np.broadcast_to(y, x.shape)[:, None, None]) / sigma) ** 2))
        frames.append(img)
        angles.append(theta)
        det.append(np.full(n_per_head, h + 1))
    stack = np.concatenate(frames)
    if peak_counts > 0:
        stack = rng.poisson(stack * peak_counts + background).astype(float)
    truth: dict[str, Any] = {"pixel_mm": pixel_mm, "fwhm_mm": fwhm_mm, "heads": heads,
                             "y_drift_mm": y_drift_px * pixel_mm}
    for h in range(heads):
        truth[f"cor_offset_pixels_head{h + 1}"] = float(offsets_px[h])
        truth[f"cor_offset_mm_head{h + 1}"] = float(offsets_px[h]) * pixel_mm
    worst = max(range(heads), key=lambda h: abs(offsets_px[h]))
    truth["cor_offset_pixels"] = float(offsets_px[worst])
    truth["cor_offset_mm"] = float(offsets_px[worst]) * pixel_mm
    if heads >= 2:
        truth["head_alignment_mm"] = (offsets_px[0] - offsets_px[1]) * pixel_mm
    return stack, np.concatenate(angles), np.concatenate(det), truth


def line_volume(*, shape: tuple[int, int, int] = (48, 96, 96), pixel_mm: float = 2.4,
                slice_mm: float | None = None, fwhm_xy_mm: float = 10.0,
                fwhm_z_mm: float = 12.0,
                lines: Sequence[tuple[float, float, float, float]] = ((0.0, 0.0, 0.0, 0.0),
                                                                      (60.0, -50.0, 0.0, 0.0)),
                points: Sequence[tuple[float, float, float]] = (),
                amplitude: float = 1000.0, background: float = 0.0
                ) -> tuple[np.ndarray, dict[str, Any]]:
    """Gaussian line and point sources in a reconstructed volume (see the module docstring).

    Parameters
    ----------
    lines : (x_mm, y_mm, tilt_x_deg, tilt_y_deg) per line
        Position in the middle slice relative to the volume centre, and the tilt of the line
        from the z axis towards x and y. A tilted line's width across it equals the in-plane
        FWHM only for an isotropic PSF (``fwhm_z_mm == fwhm_xy_mm``).
    points : (x_mm, y_mm, z_mm) per point source, relative to the volume centre.
    """
    nz, nr, nc = shape
    dz = slice_mm or pixel_mm
    sxy = fwhm_xy_mm / _FWHM_PER_SIGMA
    sz = fwhm_z_mm / _FWHM_PER_SIGMA
    z = (np.arange(nz) - (nz - 1) / 2.0)[:, None, None] * dz
    y = (np.arange(nr) - (nr - 1) / 2.0)[None, :, None] * pixel_mm
    x = (np.arange(nc) - (nc - 1) / 2.0)[None, None, :] * pixel_mm
    inv = np.diag([1 / sxy ** 2, 1 / sxy ** 2, 1 / sz ** 2])
    vol = np.full(shape, float(background))
    for x0, y0, ax, ay in lines:
        u = np.array([math.tan(math.radians(ax)), math.tan(math.radians(ay)), 1.0])
        u /= np.linalg.norm(u)
        iu = inv @ u
        p = inv - np.outer(iu, iu) / float(u @ iu)  # the metric across the line
        d = (x - x0, y - y0, z + 0.0 * x)
        q = sum(p[i, j] * d[i] * d[j] for i in range(3) for j in range(3))
        vol += amplitude * np.exp(-0.5 * q)
    for x0, y0, z0 in points:
        vol += amplitude * np.exp(-0.5 * (((x - x0) / sxy) ** 2 + ((y - y0) / sxy) ** 2
                                          + ((z - z0) / sz) ** 2))
    truth = {"fwhm_x_mm": fwhm_xy_mm, "fwhm_y_mm": fwhm_xy_mm,
             "fwtm_x_mm": fwhm_xy_mm * _FWTM_PER_SIGMA / _FWHM_PER_SIGMA,
             "fwtm_y_mm": fwhm_xy_mm * _FWTM_PER_SIGMA / _FWHM_PER_SIGMA,
             "fwhm_z_mm": fwhm_z_mm if points else None,
             "fwtm_z_mm": fwhm_z_mm * _FWTM_PER_SIGMA / _FWHM_PER_SIGMA if points else None,
             "pixel_mm": pixel_mm, "slice_mm": dz, "lines": [list(v) for v in lines],
             "points": [list(v) for v in points]}
    return vol, truth


def jaszczak_volume(*, size: int = 96, pixel_mm: float = 3.0, n_uniform: int = 12,
                    n_spheres: int = 16, radius_mm: float = 108.0, level: float = 1000.0,
                    gradient: float = 0.04, ring: tuple[float, float, float] | None = None,
                    spheres: Sequence[tuple[float, float]] = ((38.0, 0.0), (31.8, 0.2),
                                                              (25.4, 0.4), (19.1, 0.5)),
                    roi_fraction: float = 0.8, centre_px: tuple[float, float] | None = None,
                    rods: Sequence[tuple[float, float]] = (), n_rods: int = 10,
                    rod_rotation_deg: float = 15.0, cupping: float = 0.0,
                    counts: float = 0.0, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A Jaszczak-type cylinder (see the module docstring); slices are ``pixel_mm`` apart.

    The whole cylinder is ``level·(1 + gradient·x/R)`` (x from the centre along the columns,
    R the cylinder radius); the uniform section adds ``cupping``·level·((r/R)² − ½) (a smooth
    radial trend, no ring) and ``ring = (radius_mm, width_mm, height)`` when given: a ring of
    ``height`` × level. The sphere section follows: spheres of (diameter_mm, activity fraction)
    at 55 % of the radius, evenly spaced in angle, centred on the section's middle slice.

    Truth: ``tomographic_integral_uniformity_percent`` = 100·g·ρ/(1) with ρ = roi_fraction (the
    gradient's extreme in the analysis disc; without ring), ``ring_artefact_percent`` =
    100·height, ``sphere_N_contrast_percent`` = 100·(1 − fraction·(1 + g·x_s/R)) (x_s the
    sphere centre), largest sphere first.
    """
    nz = n_uniform + n_spheres + (n_rods if rods else 0)
    c = centre_px or ((size - 1) / 2.0, (size - 1) / 2.0)
    rr = (np.arange(size) - c[0])[:, None] * pixel_mm
    cc = (np.arange(size) - c[1])[None, :] * pixel_mm
    dist = np.hypot(rr, cc)
    inside = dist <= radius_mm
    vol = np.zeros((nz, size, size))
    uni = level * (1.0 + gradient * cc / radius_mm)
    if cupping:
        # A smooth radial trend level·cupping·((r/R)² − ½): no ring, radial range |cupping|.
        uni = uni + level * cupping * ((dist / radius_mm) ** 2 - 0.5)
    if ring is not None:
        r_mm, w_mm, h = ring
        uni = uni + level * h * ((dist >= r_mm - w_mm / 2) & (dist < r_mm + w_mm / 2))
    vol[:n_uniform] = np.where(inside, uni, 0.0)
    zc = n_uniform + (n_spheres - 1) / 2.0
    z = (np.arange(nz) - zc)[:, None, None] * pixel_mm
    sec = np.where(inside, level, 0.0)[None].repeat(n_spheres, axis=0)
    vol[n_uniform:n_uniform + n_spheres] = sec * (1.0 + gradient * cc / radius_mm)
    truth: dict[str, Any] = {"pixel_mm": pixel_mm, "uniform_slices": [0, n_uniform - 1],
                             "radius_mm": radius_mm, "level": level}
    order = sorted(range(len(spheres)), key=lambda k: -spheres[k][0])
    for n, k in enumerate(order, start=1):
        d, frac = spheres[k]
        ang = 2 * math.pi * k / len(spheres)
        sx, sy = 0.55 * radius_mm * math.cos(ang), 0.55 * radius_mm * math.sin(ang)
        ball = (cc - sx) ** 2 + (rr - sy) ** 2 + z ** 2 <= (d / 2) ** 2
        ball[:n_uniform] = False
        ball[n_uniform + n_spheres:] = False
        vol[ball] = (level * frac * (1.0 + gradient * cc / radius_mm) * np.ones_like(vol))[ball]
        # The gradient runs through the whole cylinder: the sphere sits where the level is
        # level·(1 + g·x/R), and the uniform level (mean over the centred disc) is level.
        truth[f"sphere_{n}_contrast_percent"] = 100.0 * (1.0 - frac * (1 + gradient * sx
                                                                          / radius_mm))
        truth[f"sphere_{n}_diameter_mm"] = d
    if rods:
        rod_img, rod_truth = _rod_insert(size, pixel_mm, c, radius_mm, level, gradient, rods,
                                         rod_rotation_deg)
        vol[n_uniform + n_spheres:] = rod_img
        truth.update(rod_truth)
    truth["tomographic_integral_uniformity_percent"] = 100.0 * gradient * roi_fraction
    truth["ring_artefact_percent"] = 100.0 * ring[2] if ring is not None else 0.0
    if counts > 0:
        rng = np.random.default_rng(seed)
        vol = np.asarray(rng.poisson(vol * counts / level), dtype=float) * (level / counts)
    return vol, truth


def _rod_insert(size: int, pixel_mm: float, c: tuple[float, float], radius_mm: float,
                level: float, gradient: float, rods: Sequence[tuple[float, float]],
                rotation_deg: float) -> tuple[np.ndarray, dict[str, Any]]:
    """One slice of the rod insert: sector k (of 6, from ``rotation_deg`` counter-clockwise)
    holds rods of (diameter_mm, activity fraction) on a hexagonal grid of pitch 2·d, each rod
    wholly inside its wedge (d/2 clear of the edges) between 15 % and 85 % of the radius.
    Truth per sector (largest diameter = 1): mean over its rods of 100·(1 − f(1 + g·x/R))."""
    y = -(np.arange(size) - c[0])[:, None] * pixel_mm  # up
    x = (np.arange(size) - c[1])[None, :] * pixel_mm
    img = np.where(np.hypot(x, y) <= radius_mm, level * (1.0 + gradient * x / radius_mm), 0.0)
    truth: dict[str, Any] = {}
    order = sorted(range(len(rods)), key=lambda k: -rods[k][0])
    for n, k in enumerate(order, start=1):
        d, frac = rods[k]
        a0, a1 = math.radians(rotation_deg + 60 * k), math.radians(rotation_deg + 60 * (k + 1))
        pitch = 2.0 * d
        gi, gj = np.meshgrid(np.arange(-40, 41), np.arange(-40, 41))
        px_ = (gi + 0.5 * (gj % 2)) * pitch
        py_ = gj * pitch * math.sqrt(3) / 2
        rr_ = np.hypot(px_, py_)
        aa = np.arctan2(py_, px_) % (2 * math.pi)
        # distance from each wedge edge (a line through the centre at angle a0 or a1)
        e0 = px_ * math.sin(a0) - py_ * math.cos(a0)
        e1 = -(px_ * math.sin(a1) - py_ * math.cos(a1))
        inside = ((aa - a0) % (2 * math.pi) < (a1 - a0)) & (-e0 >= d) & (-e1 >= d) & \
            (rr_ >= 0.15 * radius_mm + d / 2) & (rr_ <= 0.85 * radius_mm - d / 2)
        cx, cy = px_[inside], py_[inside]
        vals = []
        for x0, y0 in zip(cx, cy):
            rod = (x - x0) ** 2 + (y - y0) ** 2 <= (d / 2) ** 2
            img = np.where(rod, level * frac * (1.0 + gradient * x / radius_mm), img)
            vals.append(100.0 * (1.0 - frac * (1.0 + gradient * x0 / radius_mm)))
        truth[f"rod_{n}_contrast_percent"] = float(np.mean(vals)) if vals else None
        truth[f"rod_{n}_diameter_mm"] = d
        truth[f"rod_{n}_count"] = len(vals)
    return img, truth


# ---------------------------------------------------------------------------------------------
# DICOM writers
# ---------------------------------------------------------------------------------------------
def _retag(path: Path, fix: Callable[[Dataset], None]) -> None:
    ds = pydicom.dcmread(path)
    fix(ds)
    ds.save_as(path, enforce_file_format=True)


def write_projections(stack: np.ndarray, angles_deg: np.ndarray, heads: np.ndarray,
                      folder: Path, *, pixel_mm: float, description: str = "SPECT COR",
                      prefix: str = "cor") -> Path:
    """Write projections as one NM multi-frame TOMO file (frames ordered head by head)."""
    (path,) = write_series(stack, folder, modality="NM", description=description,
                           pixel_spacing_mm=pixel_mm, prefix=prefix, multiframe=True)
    heads = np.asarray(heads)
    n_heads = int(np.unique(heads).size)
    per = int(len(heads) // n_heads)
    step = float(np.diff(angles_deg[:2])[0]) if len(angles_deg) > 1 else 0.0

    def fix(ds: Dataset) -> None:
        ds.ImageType = ["ORIGINAL", "PRIMARY", "TOMO", "EMISSION"]
        ds.FrameIncrementPointer = [0x00540020, 0x00540050, 0x00540090]
        ds.DetectorVector = [int(h) for h in heads]
        ds.RotationVector = [1] * len(heads)
        ds.AngularViewVector = [int(i % per) + 1 for i in range(len(heads))]
        ds.NumberOfDetectors = n_heads
        ds.NumberOfRotations = 1
        rot = Dataset()
        rot.StartAngle = f"{float(angles_deg[0]):.6g}"
        rot.AngularStep = f"{step:.6g}"
        rot.RotationDirection = "CC"
        rot.ScanArc = "360"
        rot.NumberOfFramesInRotation = per
        ds.RotationInformationSequence = DicomSequence([rot])
        dets = []
        for h in range(n_heads):
            d = Dataset()
            d.StartAngle = f"{float(angles_deg[h * per]):.6g}"
            dets.append(d)
        ds.DetectorInformationSequence = DicomSequence(dets)

    _retag(path, fix)
    return path


def write_reconstruction(volume: np.ndarray, folder: Path, *, pixel_mm: float,
                         slice_mm: float | None = None, description: str = "SPECT recon",
                         prefix: str = "recon") -> Path:
    """Write a reconstructed volume as one NM multi-frame RECON TOMO file (slices as frames)."""
    top = float(np.max(volume))
    slope = max(top / 60000.0, 1e-6) if top > 0 else 1.0
    (path,) = write_series(volume, folder, modality="NM", description=description,
                           pixel_spacing_mm=pixel_mm, prefix=prefix, multiframe=True,
                           rescale_slope=slope)
    n = int(np.asarray(volume).shape[0])
    dz = slice_mm or pixel_mm

    def fix(ds: Dataset) -> None:
        ds.ImageType = ["DERIVED", "PRIMARY", "RECON TOMO", "EMISSION"]
        ds.FrameIncrementPointer = [0x00540080]
        del ds.DetectorVector
        ds.SliceVector = list(range(1, n + 1))
        ds.NumberOfSlices = n
        ds.NumberOfDetectors = 1
        ds.SliceThickness = f"{dz:.6g}"
        ds.SpacingBetweenSlices = f"{dz:.6g}"

    _retag(path, fix)
    return path


# ---------------------------------------------------------------------------------------------
# Demo sets
# ---------------------------------------------------------------------------------------------
def _demo_cor(root: Path) -> Path:
    folder = root / "spect_cor"
    # Offsets within the IAEA 0.5-pixel tolerance (the kernel tests plant larger ones): the demo
    # set is a camera in control, judged OK by the default tolerances.
    stack, ang, heads, truth = cor_projections(offsets_px=(0.25, -0.15), peak_counts=400.0,
                                               background=0.5, seed=3)
    write_projections(stack, ang, heads, folder, pixel_mm=truth["pixel_mm"],
                      description="SPECT COR point source (phantom)")
    write_ground_truth(folder, truth)
    return folder


def _demo_lines(root: Path) -> Path:
    folder = root / "spect_line_sources"
    vol, truth = line_volume(points=((-50.0, 50.0, 0.0),))
    write_reconstruction(vol, folder, pixel_mm=truth["pixel_mm"], slice_mm=truth["slice_mm"],
                         description="SPECT line sources [Recon] (phantom)")
    write_ground_truth(folder, truth)
    return folder


def _demo_jaszczak(root: Path) -> Path:
    folder = root / "spect_jaszczak"
    vol, truth = jaszczak_volume(pixel_mm=2.0, size=140, rods=DEMO_RODS)
    write_reconstruction(vol, folder, pixel_mm=truth["pixel_mm"],
                         description="SPECT Jaszczak [Recon] (phantom)")
    write_ground_truth(folder, truth)
    return folder


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """SPECT demo phantoms: COR projections, line sources, Jaszczak cylinder."""
    return {"spect_cor": _demo_cor, "spect_line_sources": _demo_lines,
            "spect_jaszczak": _demo_jaszczak}
