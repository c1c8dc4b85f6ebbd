"""Digital relaxometry plate (Eurospin TO5 plate 4/5 layout) with known T1 and T2 per vial.

The plate: a water bath disc (radius 90 mm) holding 14 vials (inner radius 8 mm, plastic wall
1.5 mm, no signal) — 10 on a ring of radius 50 mm numbered clockwise from 12 o'clock and 4
inside it at (±20, ±20) mm numbered clockwise from top-left, vial 1 having the longest time as
on the real plates — plus three screw fiducials (dark discs with a bright centre) near the
edge. Every compartment has the same proton density ``m0``, so the signal of compartment k is

* inversion recovery: S = m0·(1 − 2B·exp(−TI/T1ₖ) + exp(−TR/T1ₖ)), shown as a magnitude;
* multi-echo spin echo: S = m0·exp(−TE/T2ₖ), the first echo × ``first_echo_factor`` (a CPMG
  first echo lacks the stimulated-echo pathway);

with Rician noise of σ ``noise_sd``. Edges are anti-aliased by 4 × 4 supersampling. The truth is
the T1/T2 of each vial put into the signal equation; the bath is vial 15. The T1 values are
those hazen reports for the real site-1 plate 5, the T2 values the Eurospin TO5 plate-4 1.5 T
data-sheet values (as listed in hazen's relaxometry parameters), so the phantom spans the
real range (8–2632 ms).

``layout="nist"``: the T1 (NiCl₂) or T2 (MnCl₂) array of the ISMRM/NIST system phantom
(Stupic et al., MRM 86 (2021) 1194) — 14 spheres on one ring, sphere 1 (the longest time) at
12 o'clock, numbered clockwise, no screw fiducials. The geometry is **approximate** (no
drawing was at hand): spheres of 15 mm inner diameter (1.5 mm wall) on a ring of radius
50 mm in a bath of radius 90 mm, a plane through the spheres' equators. The times are the
1.5 T reference values of the phantom's arrays (Stupic et al. 2021, supporting information,
spheres 1–14 in decreasing order; `NIST_T1_MS`, `NIST_T2_MS`); the bath is vial 15 as for
the Eurospin plate.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["PLATE5_T1_MS", "PLATE4_T2_MS", "NIST_T1_MS", "NIST_T2_MS", "plate_layout",
           "relaxometry_plate", "write_t1_series", "write_t2_series", "validation_sets"]

# vials 1–14 then the bath (ms)
PLATE5_T1_MS = (1862.6, 1435.8, 999.9, 740.7, 498.2, 351.6, 255.2, 178.0, 131.7, 93.3, 66.6,
                45.1, 32.5, 22.4, 2632.0)
PLATE4_T2_MS = (939.4, 594.3, 416.5, 267.0, 184.9, 140.6, 91.76, 64.84, 45.28, 30.62, 19.76,
                15.99, 10.47, 8.15, 2400.0)
# ISMRM/NIST system phantom, 1.5 T, spheres 1–14 (Stupic et al. 2021 supporting information;
# T1 array NiCl₂, T2 array MnCl₂), then the bath (as the Eurospin digital plate's)
NIST_T1_MS = (2033.0, 1489.0, 1012.0, 730.8, 514.1, 367.9, 260.1, 184.6, 132.7, 92.7, 65.4,
              46.32, 32.45, 22.859, 2632.0)
NIST_T2_MS = (939.4, 594.3, 416.5, 267.0, 184.9, 140.6, 91.76, 64.84, 45.28, 30.62, 19.76,
              15.99, 10.47, 8.15, 2400.0)
NIST_SPHERE_RADIUS_MM = 7.5     # approximate (see the module docstring)
NIST_RING_RADIUS_MM = 50.0      # approximate
BATH_RADIUS_MM = 90.0
VIAL_RADIUS_MM = 8.0
WALL_MM = 1.5
RING_RADIUS_MM = 50.0
INNER_OFFSET_MM = 20.0


def plate_layout(rotation_deg: float = 0.0, mirror: bool = False,
                 centre_mm: tuple[float, float] = (0.0, 0.0), layout: str = "eurospin"
                 ) -> np.ndarray:
    """Vial centres (x, y) in mm, vials 1–14, y down (image rows); rotation clockwise.
    ``layout``: ``"eurospin"`` (10 on a ring + 4 inside) or ``"nist"`` (14 on a ring)."""
    if layout == "nist":
        ring = np.deg2rad(np.arange(14) * 360.0 / 14)
        r = NIST_RING_RADIUS_MM
        pts = [(r * np.sin(a), -r * np.cos(a)) for a in ring]
    else:
        ring = np.deg2rad(np.arange(10) * 36.0)
        pts = [(RING_RADIUS_MM * np.sin(a), -RING_RADIUS_MM * np.cos(a)) for a in ring]
        d = INNER_OFFSET_MM
        pts += [(-d, -d), (d, -d), (d, d), (-d, d)]
    xy = np.asarray(pts, float)
    if mirror:
        xy[:, 0] = -xy[:, 0]
    a = np.deg2rad(rotation_deg)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return xy @ rot.T + np.asarray(centre_mm, float)


def _coverage(n: int, px: float, centre_mm: tuple[float, float], shapes
              ) -> list[np.ndarray]:
    """Area fraction of each pixel inside each shape (list of (x, y, r) discs), 4×4 samples."""
    sub = 4
    c = (np.arange(n * sub) + 0.5) / sub - n / 2
    x = c[None, :] * px - centre_mm[0]
    y = c[:, None] * px - centre_mm[1]
    out = []
    for sx, sy, r in shapes:
        inside = ((x - sx) ** 2 + (y - sy) ** 2 <= r * r).astype(np.float32)
        out.append(inside.reshape(n, sub, n, sub).mean(axis=(1, 3)))
    return out


def relaxometry_plate(times_ms: Any, *, kind: str = "T1", n: int = 192,
                      pixel_mm: float = 250.0 / 192, x_ms: Any,
                      tr_ms: np.ndarray | None = None, inversion_b: float = 1.0,
                      first_echo_factor: float = 0.9, m0: float = 1000.0,
                      noise_sd: float = 1.0, rotation_deg: float = 0.0, mirror: bool = False,
                      centre_mm: tuple[float, float] = (0.0, 0.0), seed: int = 0,
                      layout: str = "eurospin") -> tuple[np.ndarray, dict]:
    """Images of the plate at each TI (``kind="T1"``) or TE (``"T2"``) in ``x_ms``.

    ``times_ms``: T1 or T2 of vials 1–14 and the bath (15 values). The other relaxation time
    does not enter (IR with short TE; SE with long TR). ``layout``: ``"eurospin"`` or
    ``"nist"`` (module docstring). Returns ``(stack, truth)``.
    """
    times = np.asarray(times_ms, float)
    x = np.asarray(x_ms, float)
    vials = plate_layout(rotation_deg, mirror, (0.0, 0.0), layout)
    r_in = NIST_SPHERE_RADIUS_MM if layout == "nist" else VIAL_RADIUS_MM
    shapes = [(0.0, 0.0, BATH_RADIUS_MM)]
    shapes += [(vx, vy, r_in + WALL_MM) for vx, vy in vials]
    shapes += [(vx, vy, r_in) for vx, vy in vials]
    fid: list[tuple[float, float]] = []
    if layout != "nist":   # the Eurospin plate's screw fiducials
        fid_angles = np.deg2rad(np.array([-25.0, 95.0, 200.0]) + rotation_deg)
        fid = [(72.0 * np.sin(a), -72.0 * np.cos(a)) for a in fid_angles]
    shapes += [(fx, fy, 5.5) for fx, fy in fid] + [(fx, fy, 1.5) for fx, fy in fid]
    cov = _coverage(n, pixel_mm, centre_mm, shapes)
    bath, walls, insides = cov[0], cov[1:15], cov[15:29]
    fid_out, fid_in = cov[29:29 + len(fid)], cov[29 + len(fid):]
    bath_frac = bath - sum(walls) - sum(fid_out, np.zeros_like(bath)) \
        + sum(fid_in, np.zeros_like(bath))
    if kind == "T1":
        tr = np.broadcast_to(np.asarray(tr_ms if tr_ms is not None else 1e9, float), x.shape)
        sig = m0 * (1 - 2 * inversion_b * np.exp(-x[:, None] / times[None, :])
                    + np.exp(-tr[:, None] / times[None, :]))            # (n_x, 15)
    else:
        sig = m0 * np.exp(-x[:, None] / times[None, :])
        sig[np.argmin(x)] *= first_echo_factor
    rng = np.random.default_rng(seed)
    stack = np.empty((x.size, n, n))
    for k in range(x.size):
        img = bath_frac * sig[k, 14]
        for v in range(14):
            img = img + insides[v] * sig[k, v]
        noisy = np.hypot(img + rng.normal(0, noise_sd, img.shape),
                         rng.normal(0, noise_sd, img.shape))
        stack[k] = noisy
    truth = {"kind": kind, "times_ms": times.tolist(), "x_ms": x.tolist(),
             "vial_centres_mm": (vials + np.asarray(centre_mm)).tolist(),
             "rotation_deg": rotation_deg, "mirror": mirror, "noise_sd": noise_sd,
             "layout": layout}
    key = "t1" if kind == "T1" else "t2"
    for i, t in enumerate(times, start=1):
        truth[f"vial_{i}_{key}_ms"] = float(t)
    return stack, truth


def write_t1_series(folder: Path, *,
                    ti_ms=(50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0),
                    tr_ms: Any = None, pixel_mm: float = 250.0 / 192, **kw) -> dict:
    """One series per TI (as scanners write them); TR = TI + 3000 ms unless given.

    The default TIs reach 3.2 s so that the longest T1s (1.9 s, the 2.6 s bath) are
    determined: with TIs ≤ 800 ms (the real site-1 protocol) B and T1 trade off for
    T1 ≫ TI and σ/S ≈ 0.3 % already moves vial 1 by ≈ 4 %.
    """
    ti = np.asarray(ti_ms, float)
    tr = np.asarray(tr_ms, float) * np.ones_like(ti) if tr_ms is not None else ti + 3000.0
    nist = kw.get("layout") == "nist"
    stack, truth = relaxometry_plate(NIST_T1_MS if nist else PLATE5_T1_MS, kind="T1", x_ms=ti,
                                     tr_ms=tr, pixel_mm=pixel_mm, **kw)
    plate = "NIST T1 array" if nist else "T1 plate 5"
    # one session: the series of every TI share the study and the frame of reference, as a
    # scanner writes them (what groups them for the automatic choice)
    session = {"StudyInstanceUID": generate_uid(), "FrameOfReferenceUID": generate_uid()}
    for k in range(ti.size):
        write_series(stack[k], folder, modality="MR",
                     description=f"Relaxometry {plate} TI{ti[k]:.0f} (phantom)",
                     pixel_spacing_mm=pixel_mm, slice_thickness_mm=5.0, prefix=f"ti{k + 1:02d}",
                     extra_tags={"InversionTime": f"{ti[k]:g}", "RepetitionTime": f"{tr[k]:g}",
                                 "EchoTime": "12", "MagneticFieldStrength": 1.5,
                                 "ScanningSequence": "IR", "SeriesNumber": k + 1, **session})
    truth["tr_ms"] = tr.tolist()
    write_ground_truth(folder, truth)
    return truth


def write_t2_series(folder: Path, *, te_ms: np.ndarray | None = None,
                    pixel_mm: float = 250.0 / 192, **kw) -> dict:
    """One multi-echo series (32 echoes, 10 ms apart), all echoes at one position."""
    te = np.asarray(te_ms if te_ms is not None else 10.0 * np.arange(1, 33), float)
    nist = kw.get("layout") == "nist"
    stack, truth = relaxometry_plate(NIST_T2_MS if nist else PLATE4_T2_MS, kind="T2", x_ms=te,
                                     pixel_mm=pixel_mm, **kw)
    paths = write_series(stack, folder, modality="MR",
                         description=f"Relaxometry {'NIST T2 array' if nist else 'T2 plate 4'}"
                                     " (phantom)",
                         pixel_spacing_mm=pixel_mm, slice_thickness_mm=5.0, prefix="te",
                         extra_tags={"RepetitionTime": "2000", "MagneticFieldStrength": 1.5,
                                     "ScanningSequence": "SE"})
    for k, p in enumerate(paths):  # per-image echo time, one slice position for every echo
        ds = pydicom.dcmread(p)
        ds.EchoTime = f"{te[k]:g}"
        ds.EchoNumbers = k + 1
        ds.ImagePositionPatient = [float(v) for v in ds.ImagePositionPatient[:2]] + [0.0]
        ds.SliceLocation = 0.0
        ds.save_as(p, enforce_file_format=True)
    write_ground_truth(folder, truth)
    return truth


def _make_t1(out_dir: Path) -> Path:
    folder = Path(out_dir) / "mr_relaxometry_t1"
    write_t1_series(folder, noise_sd=1.0, rotation_deg=7.0, seed=11)
    return folder


def _make_t2(out_dir: Path) -> Path:
    folder = Path(out_dir) / "mr_relaxometry_t2"
    write_t2_series(folder, noise_sd=1.0, rotation_deg=-5.0, seed=12)
    return folder


def _make_nist_t1(out_dir: Path) -> Path:
    folder = Path(out_dir) / "mr_relaxometry_nist_t1"
    write_t1_series(folder, noise_sd=1.0, rotation_deg=-19.0, mirror=True, seed=13,
                    centre_mm=(6.0, -4.0), layout="nist")
    return folder


def _make_nist_t2(out_dir: Path) -> Path:
    folder = Path(out_dir) / "mr_relaxometry_nist_t2"
    write_t2_series(folder, noise_sd=1.0, rotation_deg=31.0, seed=14, layout="nist")
    return folder


def validation_sets() -> dict[str, Callable[[Path], Path]]:
    """Phantoms `imgqa validate` writes (not in the GUI demo set): ``mr_relaxometry_t1`` (6 IR
    series, 192²), ``mr_relaxometry_t2`` (32 echoes) and the same on the NIST layout
    (``mr_relaxometry_nist_t1``, ``mr_relaxometry_nist_t2``)."""
    return {"mr_relaxometry_t1": _make_t1, "mr_relaxometry_t2": _make_t2,
            "mr_relaxometry_nist_t1": _make_nist_t1, "mr_relaxometry_nist_t2": _make_nist_t2}
