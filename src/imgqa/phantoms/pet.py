"""PET digital phantoms with known answers, written as PT DICOM series.

* `cylinder` — a uniform cylinder of known activity concentration (Bq/ml), optionally shifted,
  blurred by a Gaussian PSF and with Gaussian noise. The truth is the concentration itself
  and the activity that, injected at a known time, gives it at the scan start.
* `nema_iq` — the NEMA NU 2-2018 / IEC 61675-1 body phantom: the D-shaped body (a 147 mm
  half-circle joined to a 77 mm-radius rounded top, 294 × 224 mm inside), a cold 51 mm lung
  insert on the axis and six hot spheres (10, 13, 17, 22, 28, 37 mm inner diameter) on a
  114.4 mm-diameter ring around it, sphere:background activity ratio `ratio`. Partial volumes
  are modelled (spheres supersampled 4³ per voxel, body and insert edges by signed distance),
  the volume is blurred by a Gaussian PSF of known FWHM, and the phantom may be shifted,
  rotated in-plane and tilted out of the axial plane. The expected results — recovery
  coefficients (EARL definitions: max, A50 mean, 1 cm³ peak), NEMA percent contrast and lung
  residual — are computed here numerically from the noise-free blurred volume at the true
  sphere centres, independently of the analysis code.

The volumes are (slices, rows, columns) with x along columns, y along rows, z along slices;
written one file per slice with its own Rescale Slope, as scanners do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.uid import generate_uid

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["F18_HALF_LIFE_S", "SPHERE_DIAMETERS_MM", "cylinder", "demo_sets", "nema_iq",
           "pet_tags", "write_pet_series"]

F18_HALF_LIFE_S = 6586.2
SPHERE_DIAMETERS_MM = (10.0, 13.0, 17.0, 22.0, 28.0, 37.0)
_RING_RADIUS_MM = 57.2
_LUNG_RADIUS_MM = 25.5
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
_PEAK_RADIUS_MM = (3000.0 / (4.0 * math.pi)) ** (1.0 / 3.0)  # 1 cm³ sphere


# ---------------------------------------------------------------------------------------------
# Geometry helpers
# ---------------------------------------------------------------------------------------------
def _rotation(tilt_deg: float, rotation_deg: float) -> np.ndarray:
    """Phantom → image rotation: in-plane rotation about z, then a tilt about x."""
    a, b = math.radians(tilt_deg), math.radians(rotation_deg)
    rz = np.array([[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    return rx @ rz


def _grid_mm(shape: tuple[int, int, int], px: float, dz: float) -> tuple[np.ndarray, ...]:
    """x, y, z (mm) of voxel centres, origin at the volume centre, broadcastable."""
    nz, ny, nx = shape
    z = (np.arange(nz) - (nz - 1) / 2) * dz
    y = (np.arange(ny) - (ny - 1) / 2) * px
    x = (np.arange(nx) - (nx - 1) / 2) * px
    return x[None, None, :], y[None, :, None], z[:, None, None]


def _to_phantom(shape: tuple[int, int, int], px: float, dz: float, shift: np.ndarray,
                rot: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, y, z = _grid_mm(shape, px, dz)
    dx, dy, dzz = x - shift[0], y - shift[1], z - shift[2]
    # p_phantom = rotᵀ (p_image − shift)
    xp = rot[0, 0] * dx + rot[1, 0] * dy + rot[2, 0] * dzz
    yp = rot[0, 1] * dx + rot[1, 1] * dy + rot[2, 1] * dzz
    zp = rot[0, 2] * dx + rot[1, 2] * dy + rot[2, 2] * dzz
    return xp, yp, zp


def _occupancy(signed_distance_mm: np.ndarray, px: float) -> np.ndarray:
    """Fraction of a voxel inside a smooth boundary, from the signed distance (< 0 inside)."""
    return np.clip(0.5 - signed_distance_mm / px, 0.0, 1.0)


def _body_distance(xp: np.ndarray, yp: np.ndarray) -> np.ndarray:
    """Signed in-plane distance (mm) to the NEMA body outline; y > 0 is the round side."""
    ax = np.abs(xp)
    round_side = np.hypot(xp, yp) - 147.0
    flat_top = np.where(ax <= 70.0, -yp - 77.0, np.hypot(ax - 70.0, yp) - 77.0)
    return np.where(yp >= 0, round_side, flat_top)


def _sphere_occupancy(centre_img: np.ndarray, radius: float, shape: tuple[int, int, int],
                      px: float, dz: float, sub: int = 4) -> tuple[tuple[slice, ...], np.ndarray]:
    """Fraction of each voxel inside a sphere (supersampled `sub`³), in a box around it."""
    nz, ny, nx = shape
    centre_idx = np.array([centre_img[2] / dz + (nz - 1) / 2, centre_img[1] / px + (ny - 1) / 2,
                           centre_img[0] / px + (nx - 1) / 2])
    half = np.array([radius / dz, radius / px, radius / px]) + 2
    lo = np.maximum(np.floor(centre_idx - half).astype(int), 0)
    hi = np.minimum(np.ceil(centre_idx + half).astype(int) + 1, [nz, ny, nx])
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    kz = (np.arange(lo[0], hi[0])[:, None] + offs[None, :]).ravel()
    ky = (np.arange(lo[1], hi[1])[:, None] + offs[None, :]).ravel()
    kx = (np.arange(lo[2], hi[2])[:, None] + offs[None, :]).ravel()
    dzz = ((kz - centre_idx[0]) * dz)[:, None, None]
    dyy = ((ky - centre_idx[1]) * px)[None, :, None]
    dxx = ((kx - centre_idx[2]) * px)[None, None, :]
    inside = (dzz ** 2 + dyy ** 2 + dxx ** 2) <= radius ** 2
    bz, by, bx = (hi - lo)
    occ = inside.reshape(bz, sub, by, sub, bx, sub).mean(axis=(1, 3, 5))
    return box, occ


def _blur(volume: np.ndarray, fwhm_mm: float, px: float, dz: float) -> np.ndarray:
    from scipy import ndimage

    if fwhm_mm <= 0:
        return volume
    s = fwhm_mm / _FWHM_PER_SIGMA
    # "nearest": the activity continues beyond the first and last slice (no zero padding).
    return ndimage.gaussian_filter(volume, (s / dz, s / px, s / px), mode="nearest")


# ---------------------------------------------------------------------------------------------
# Uniform cylinder
# ---------------------------------------------------------------------------------------------
def cylinder(shape: tuple[int, int, int] = (31, 128, 128), pixel_mm: float = 4.0,
             slice_mm: float = 4.0, *, radius_mm: float = 100.0, length_mm: float = 200.0,
             concentration_bq_ml: float = 11600.0, shift_mm: tuple[float, float, float] =
             (0.0, 0.0, 0.0), fwhm_mm: float = 6.0, noise_fraction: float = 0.0,
             seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """A uniform cylinder along z (Bq/ml), with partial-volume edges, PSF and noise.

    Returns the volume and the truth (``concentration_bq_ml``, the volume in ml).
    """
    x, y, z = _grid_mm(shape, pixel_mm, slice_mm)
    r = np.hypot(x - shift_mm[0], y - shift_mm[1])
    radial = _occupancy(r - radius_mm, pixel_mm)
    axial = _occupancy(np.abs(z - shift_mm[2]) - length_mm / 2, slice_mm)
    vol = _blur(concentration_bq_ml * radial * axial, fwhm_mm, pixel_mm, slice_mm)
    if noise_fraction > 0:
        rng = np.random.default_rng(seed)
        vol = vol + rng.normal(0.0, noise_fraction * concentration_bq_ml, vol.shape) * (vol > 0)
    truth = {"concentration_bq_ml": concentration_bq_ml,
             "volume_ml": math.pi * radius_mm ** 2 * length_mm / 1000.0,
             "radius_mm": radius_mm, "fwhm_mm": fwhm_mm}
    return vol.astype(np.float32), truth


# ---------------------------------------------------------------------------------------------
# NEMA NU 2 image-quality phantom
# ---------------------------------------------------------------------------------------------
def _sphere_angle_deg(k: int) -> float:
    """Where sphere k (0 = 10 mm … 5 = 37 mm) sits on the ring (phantom frame)."""
    return 180.0 + 60.0 * k


def nema_iq(shape: tuple[int, int, int] = (36, 160, 160), pixel_mm: float = 2.5,
            slice_mm: float = 3.0, *, background_bq_ml: float = 5300.0, ratio: float = 4.0,
            fwhm_mm: float = 6.0, shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0),
            tilt_deg: float = 0.0, rotation_deg: float = 0.0, noise_fraction: float = 0.0,
            seed: int = 0, sphere_offsets_mm: tuple[float, ...] | None = None
            ) -> tuple[np.ndarray, dict[str, Any]]:
    """The NEMA IQ body phantom, blurred; returns the volume (Bq/ml) and its expected results.

    The sphere plane passes through ``shift_mm`` (image frame, origin at the volume centre);
    the body extends 70 mm towards +z (the lid) and 110 mm towards −z from it.
    ``sphere_offsets_mm`` (six values, 10 … 37 mm) move single spheres along the phantom axis
    off the common plane, as a sphere glued a little lower on its stem is in a real phantom.
    """
    rot = _rotation(tilt_deg, rotation_deg)
    shift = np.asarray(shift_mm, float)
    xp, yp, zp = _to_phantom(shape, pixel_mm, slice_mm, shift, rot)
    body = _occupancy(_body_distance(xp, yp), pixel_mm)
    body = body * np.clip(0.5 - (np.maximum(zp - 70.0, -110.0 - zp)) / slice_mm, 0.0, 1.0)
    lung = _occupancy(np.hypot(xp, yp) - _LUNG_RADIUS_MM, pixel_mm)
    ideal = background_bq_ml * body * (1.0 - lung)
    centres = []
    hot = ratio * background_bq_ml
    for k, d in enumerate(SPHERE_DIAMETERS_MM):
        a = math.radians(_sphere_angle_deg(k))
        off = 0.0 if sphere_offsets_mm is None else float(sphere_offsets_mm[k])
        c = rot @ np.array([_RING_RADIUS_MM * math.cos(a), _RING_RADIUS_MM * math.sin(a), off]) \
            + shift
        centres.append(c)
        box, occ = _sphere_occupancy(c, d / 2, shape, pixel_mm, slice_mm)
        ideal[box] += (hot - background_bq_ml) * occ
    clean = _blur(ideal, fwhm_mm, pixel_mm, slice_mm)
    truth = _iq_truth(clean, centres, pixel_mm, slice_mm, background_bq_ml, ratio, shift, rot)
    truth.update({"background_bq_ml": background_bq_ml, "ratio": ratio, "fwhm_mm": fwhm_mm,
                  "tilt_deg": tilt_deg, "rotation_deg": rotation_deg,
                  "shift_mm": list(shift_mm)})
    vol = clean
    if noise_fraction > 0:
        rng = np.random.default_rng(seed)
        vol = clean + rng.normal(0.0, noise_fraction * background_bq_ml, clean.shape) * \
            (clean > 0.05 * background_bq_ml)
    return vol.astype(np.float32), truth


def _index_of(c: np.ndarray, shape: tuple[int, int, int], px: float, dz: float) -> np.ndarray:
    nz, ny, nx = shape
    return np.array([c[2] / dz + (nz - 1) / 2, c[1] / px + (ny - 1) / 2, c[0] / px + (nx - 1) / 2])


def _iq_truth(clean: np.ndarray, centres: list[np.ndarray], px: float, dz: float, bg: float,
              ratio: float, shift: np.ndarray, rot: np.ndarray) -> dict[str, Any]:
    """Expected EARL recoveries, NEMA contrast and lung residual of the noise-free volume."""
    from scipy import ndimage

    shape = clean.shape
    hot = ratio * bg
    # 1 cm³ averaging kernel with fractional edge voxels (supersampled 8³).
    rz, rxy = int(math.ceil(_PEAK_RADIUS_MM / dz)), int(math.ceil(_PEAK_RADIUS_MM / px))
    sub = 8
    offs = (np.arange(sub) + 0.5) / sub - 0.5
    kz = ((np.arange(-rz, rz + 1)[:, None] + offs).ravel() * dz)[:, None, None]
    ky = ((np.arange(-rxy, rxy + 1)[:, None] + offs).ravel() * px)[None, :, None]
    kx = ky.reshape(1, 1, -1)
    inside = (kz ** 2 + ky ** 2 + kx ** 2) <= _PEAK_RADIUS_MM ** 2
    kern = inside.reshape(2 * rz + 1, sub, 2 * rxy + 1, sub, 2 * rxy + 1, sub).mean(
        axis=(1, 3, 5))
    kern /= kern.sum()
    peak_map = ndimage.correlate(clean.astype(np.float64), kern, mode="nearest")
    grid: tuple[np.ndarray, ...] = np.indices(shape, sparse=True)
    iz, iy, ix = grid[0], grid[1], grid[2]
    out: dict[str, Any] = {"spheres": []}
    for k, (d, c) in enumerate(zip(SPHERE_DIAMETERS_MM, centres), start=1):
        ci = _index_of(c, shape, px, dz)
        dist2 = ((iz - ci[0]) * dz) ** 2 + ((iy - ci[1]) * px) ** 2 + ((ix - ci[2]) * px) ** 2
        ball = dist2 <= (d / 2) ** 2
        ball_ext = dist2 <= (d / 2 + 5.0) ** 2
        vmax = float(clean[ball].max())
        thr = bg + 0.5 * (vmax - bg)
        a50 = ball_ext & (clean >= thr)
        vmean = float(clean[a50].mean())
        vpeak = float(peak_map[ball].max())
        # NEMA: circle of the sphere's diameter on the slice nearest the centre.
        zs = int(round(ci[0]))
        yy, xx = np.indices(shape[1:])
        roi = ((yy - ci[1]) ** 2 + (xx - ci[2]) ** 2) * px ** 2 <= (d / 2) ** 2
        c_h = float(clean[zs][roi].mean())
        contrast = 100.0 * (c_h / bg - 1.0) / (ratio - 1.0)
        entry = {"diameter_mm": d, "centre_mm": [float(v) for v in c],
                 "rc_max": vmax / hot, "rc_mean": vmean / hot, "rc_peak": vpeak / hot,
                 "contrast_percent": contrast}
        out["spheres"].append(entry)
        for key in ("rc_max", "rc_mean", "rc_peak", "contrast_percent"):
            out[f"sphere_{k}_{key}"] = entry[key]
        out[f"sphere_{k}_mean_bq_ml"] = vmean
        out[f"sphere_{k}_max_bq_ml"] = vmax
        out[f"sphere_{k}_peak_bq_ml"] = vpeak
    # Lung residual on the sphere-plane slice: 30 mm circle on the insert axis / background.
    axis = rot @ np.array([0.0, 0.0, 1.0])
    ci = _index_of(shift, shape, px, dz)
    zs = int(round(ci[0]))
    dzmm = (zs - ci[0]) * dz
    lung_c = shift + axis * dzmm / axis[2]
    li = _index_of(lung_c, shape, px, dz)
    yy, xx = np.indices(shape[1:])
    roi = ((yy - li[1]) ** 2 + (xx - li[2]) ** 2) * px ** 2 <= 15.0 ** 2
    out["lung_residual_percent"] = 100.0 * float(clean[zs][roi].mean()) / bg
    out["background_mean_bq_ml"] = bg
    return out


# ---------------------------------------------------------------------------------------------
# DICOM
# ---------------------------------------------------------------------------------------------
def pet_tags(*, injected_bq: float | None, injected_at: datetime | None, scan_start: datetime,
             weight_kg: float | None, half_life_s: float = F18_HALF_LIFE_S,
             decay_correction: str = "START", units: str = "BQML") -> dict[str, Any]:
    """The PET header elements the analysis reads (PS3.3 C.8.9.1 PET Series, C.8.9.2 Isotope)."""
    tags: dict[str, Any] = {"Units": units, "DecayCorrection": decay_correction,
                            "CorrectedImage": ["NORM", "ATTN", "SCAT", "DECY", "RAN"],
                            "SeriesType": ["STATIC", "IMAGE"]}
    if weight_kg is not None:
        tags["PatientWeight"] = f"{weight_kg:.6g}"
    if injected_bq is not None and injected_at is not None:
        item = Dataset()
        item.Radiopharmaceutical = "Fluorodeoxyglucose"
        item.RadiopharmaceuticalStartTime = injected_at.strftime("%H%M%S")
        item.RadiopharmaceuticalStartDateTime = injected_at.strftime("%Y%m%d%H%M%S")
        item.RadionuclideTotalDose = f"{injected_bq:.8g}"
        item.RadionuclideHalfLife = f"{half_life_s:.6g}"
        item.RadionuclidePositronFraction = "0.9673"
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = \
            "C-111A1", "SRT", "^18^Fluorine"
        item.RadionuclideCodeSequence = Sequence([code])
        tags["RadiopharmaceuticalInformationSequence"] = Sequence([item])
    return tags


def write_pet_series(volume: np.ndarray, folder: str | Path, *, pixel_mm: float,
                     slice_mm: float, description: str, scan_start: datetime,
                     tags: Mapping[str, Any], prefix: str = "pet") -> list[Path]:
    """Write a (slices, rows, cols) Bq/ml volume as a PT series, one Rescale Slope per slice
    (the largest value of each slice maps to 32 000, as scanners scale each slice)."""
    folder = Path(folder)
    vol = np.maximum(np.asarray(volume, float), 0.0)
    nz, ny, nx = vol.shape
    uids = {"SeriesInstanceUID": generate_uid(), "StudyInstanceUID": generate_uid(),
            "FrameOfReferenceUID": generate_uid()}
    paths: list[Path] = []
    for k in range(nz):
        top = float(vol[k].max())
        slope = top / 32000.0 if top > 0 else 1.0
        z = (k - (nz - 1) / 2) * slice_mm
        extra = dict(tags)
        extra.update(uids)
        extra.update({
            "InstanceNumber": k + 1, "ImageIndex": k + 1, "NumberOfSlices": nz,
            "ImageOrientationPatient": [1, 0, 0, 0, 1, 0],
            "ImagePositionPatient": [-(nx - 1) / 2 * pixel_mm, -(ny - 1) / 2 * pixel_mm, z],
            "SliceLocation": z, "SliceThickness": f"{slice_mm:.6g}",
            "ImageType": ["ORIGINAL", "PRIMARY"],
            "RescaleSlope": f"{slope:.8g}", "RescaleIntercept": "0",
        })
        paths += write_series(vol[k], folder, modality="PT", description=description,
                              pixel_spacing_mm=pixel_mm, slice_thickness_mm=slice_mm,
                              rescale_slope=slope, acquired=scan_start,
                              prefix=f"{prefix}_{k + 1:03d}", extra_tags=extra)
    return paths


_SCAN = datetime(2026, 1, 5, 9, 0, 0)


def _make_cylinder_demo(root: Path) -> Path:
    folder = Path(root) / "pet_cylinder"
    conc, vol_ml = 11600.0, None
    img, truth = cylinder((21, 100, 100), noise_fraction=0.05, seed=3)  # ≈ 0.4 MB
    vol_ml = truth["volume_ml"]
    injected_at = _SCAN - timedelta(minutes=35)
    injected = conc * vol_ml / math.exp(-math.log(2) * 35 * 60 / F18_HALF_LIFE_S)
    tags = pet_tags(injected_bq=injected, injected_at=injected_at, scan_start=_SCAN,
                    weight_kg=vol_ml / 1000.0)
    write_pet_series(img, folder, pixel_mm=4.0, slice_mm=4.0, description="Daily QC cylinder",
                     scan_start=_SCAN, tags=tags)
    truth.update({"activity_concentration_bq_ml": conc, "expected_concentration_bq_ml": conc,
                  "suv_mean": 1.0, "calibration_factor": 1.0, "injected_bq": injected,
                  "axial_uniformity_max_deviation_percent": 0.0})
    write_ground_truth(folder, truth)
    return folder


def _make_iq_demo(root: Path) -> Path:
    folder = Path(root) / "pet_nema_iq"
    img, truth = nema_iq((36, 128, 128), 3.0, 3.0, shift_mm=(12.0, -8.0, 4.0), tilt_deg=3.0,
                         rotation_deg=10.0, noise_fraction=0.02, seed=5)  # ≈ 1.2 MB
    write_pet_series(img, folder, pixel_mm=3.0, slice_mm=3.0, description="NEMA IQ",
                     scan_start=_SCAN, tags=pet_tags(injected_bq=None, injected_at=None,
                                                     scan_start=_SCAN, weight_kg=None))
    write_ground_truth(folder, truth)
    return folder


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """The PET demo series: a uniform cylinder and a tilted, shifted NEMA IQ phantom."""
    return {"pet_cylinder": _make_cylinder_demo, "pet_nema_iq": _make_iq_demo}
