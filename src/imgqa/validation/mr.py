"""MRI checks: ACR large phantom, NEMA two-image SNR, flood uniformity (PIU) and ghosting."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from imgqa.phantoms import write_ground_truth, write_series
from imgqa.phantoms.mr import ACR_SMALL_ROI_MM, flood_phantom, rician_mean
from imgqa.validation._phantom import demo
from imgqa.validation.registry import Measure, check

_MR: dict[str, Any] = {"modality": "MR", "extra_tags": {"MagneticFieldStrength": 1.5,
                                        "InPlanePhaseEncodingDirection": "COL"}}


@check("mr.acr", auto=True,
       source="ACR large phantom drawn anti-aliased: 190 mm diameter, 10:1 ramps (FWHM = 10·T), "
              "PIU = 100·(1 − k·(R_L − r_s)), Rician ghost mean, wedge bar difference",
       measure=[Measure("geometric_accuracy_slice5_horizontal", "diameter_mm", abs_tol=0.5),
                Measure("geometric_accuracy_slice5_vertical", "diameter_mm", abs_tol=0.5),
                Measure("slice_thickness_mm", abs_tol=0.2),
                Measure("piu", abs_tol=0.5),
                Measure("ghosting_percent", "ghosting_percent_magnitude", abs_tol=0.2,
                        why="ghost as seen in a magnitude image with Rician noise"),
                Measure("slice_position_slice1_mm", "bar_difference_mm", abs_tol=0.5)])
def mr_acr(root: Path) -> Path:
    return demo("mr_acr", root)


@check("mr.snr", source="two floods with independent Gaussian noise σ: SNR = S/σ (NEMA MS 1 "
                        "difference method, σ = SD(A − B)/√2)",
       measure=[Measure("snr", rel_tol=0.04, why="SE of an SD over ~4 800 ROI pixels ≈ 1 %, ×4"),
                Measure("noise_sd", rel_tol=0.04),
                Measure("signal_mean", rel_tol=0.002)])
def mr_flood_pair(root: Path) -> Path:
    folder = root / "mr_flood_pair"
    signal, sd = 1000.0, 10.0
    for k, seed in (("a", 1), ("b", 2)):
        img, _ = flood_phantom(n=128, pixel_mm=2.0, signal=signal, noise_sd=sd, seed=seed)
        write_series([img], folder / k, description=f"SNR flood {k}", pixel_spacing_mm=2.0,
                     slice_thickness_mm=5.0, prefix=f"snr_{k}", **_MR)
    noise = math.sqrt(sd ** 2 + 1.0 / 12.0)      # + rounding of stored values to integers
    write_ground_truth(folder, {"phantom": "mr_flood_pair", "signal_mean": signal,
                                "noise_sd": noise, "snr": signal / noise})
    return folder


_K = 0.002          # relative left–right gradient per mm
_R = 90.0           # flood radius, mm


@check("mr.uniformity",
       source="flood with a linear gradient k: 1 cm² extremes at ±(R·√0.75 − r_s), PIU = "
              "100·(1 − k·(R·√0.75 − r_s)); profile within ±10 % where |k·x| ≤ 0.1",
       measure=[Measure("piu", abs_tol=0.5, why="1 mm pixels: the extreme ROI centre is known "
                                                "to ±1 pixel (±0.2 % PIU)"),
                Measure("fractional_uniformity_horizontal", abs_tol=0.03,
                        why="segment ends to ±2 pixels of ~135"),
                Measure("fractional_uniformity_vertical", abs_tol=0.01)])
def mr_flood_gradient(root: Path) -> Path:
    folder = root / "mr_flood_gradient"
    img, _ = flood_phantom(n=256, pixel_mm=1.0, diameter_mm=2 * _R, signal=1000.0,
                           noise_sd=2.0, gradient_per_mm=_K, seed=3)
    write_series([img], folder, description="Flood uniformity", pixel_spacing_mm=1.0,
                 slice_thickness_mm=5.0, prefix="uniformity", **_MR)
    half_segment = 0.75 * _R
    write_ground_truth(folder, {
        "phantom": "mr_flood_gradient", "gradient_per_mm": _K, "radius_mm": _R,
        "piu": 100.0 * (1.0 - _K * (_R * math.sqrt(0.75) - ACR_SMALL_ROI_MM)),
        "fractional_uniformity_horizontal": min(1.0, 0.1 / _K / half_segment),
        "fractional_uniformity_vertical": 1.0})
    return folder


@check("mr.ghosting",
       source="flood + copy ×g shifted half the FOV along the phase axis, Rician magnitude: "
              "100·(E[R](g·S) − E[R](0)) / E[R](S) (Rice 1944)",
       measure=[Measure("ghosting_percent", abs_tol=0.1,
                        why="SE of the ghost − noise ROI difference ≈ 0.015 % of the signal")])
def mr_flood_ghost(root: Path) -> Path:
    folder = root / "mr_flood_ghost"
    signal, sd, g = 1000.0, 5.0, 0.02
    img, _ = flood_phantom(n=256, pixel_mm=1.0, signal=signal, noise_sd=sd, noise="rician",
                           ghost_fraction=g, seed=4)
    write_series([img], folder, description="Flood ghosting", pixel_spacing_mm=1.0,
                 slice_thickness_mm=5.0, prefix="ghosting", **_MR)
    floor = rician_mean(0.0, sd)
    write_ground_truth(folder, {
        "phantom": "mr_flood_ghost", "ghost_fraction": g,
        "ghosting_percent": 100.0 * (rician_mean(g * signal, sd) - floor)
        / rician_mean(signal, sd)})
    return folder


def _validation_phantom(module: str, name: str, root: Path) -> Path:
    """Write one of the issue-16 validation phantoms (kept out of the GUI demo set)."""
    import importlib

    return importlib.import_module(f"imgqa.phantoms.{module}").validation_sets()[name](root)


# ---------------------------------------------------------------------------------------------
# mr.relaxometry (issue 16)
# ---------------------------------------------------------------------------------------------
@check("mr.relaxometry",
       source="Eurospin-like plate, IR signal m0·|1 − 2·exp(−TI/T1) + exp(−TR/T1)| with the "
              "known T1 per vial, Rician noise σ = 1 (SNR 1000)",
       measure=[Measure(f"vial_{n}_t1_ms", rel_tol=0.02,
                        why="issue 16: within 2 %; 6 TIs 50–800 ms as at the real site 1")
                for n in range(1, 15)])
def mr_relaxometry_t1(root: Path) -> Path:
    return _validation_phantom("relaxometry", "mr_relaxometry_t1", root)


@check("mr.relaxometry", auto=True,
       source="Eurospin-like plate, multi-echo signal m0·exp(−TE/T2) (first echo × 0.9) with "
              "the known T2 per vial, Rician noise σ = 1",
       measure=[Measure(f"vial_{n}_t2_ms", rel_tol=0.02,
                        why="issue 16: within 2 %; 32 echoes 10–320 ms")
                for n in range(1, 15)])
def mr_relaxometry_t2(root: Path) -> Path:
    return _validation_phantom("relaxometry", "mr_relaxometry_t2", root)


@check("mr.relaxometry",
       source="NIST/ISMRM system phantom T1 array layout (14 spheres on a ring, approximate "
              "geometry), 1.5 T NiCl2 reference T1s (Stupic 2021), IR signal with TR = TI + "
              "3 s, mirrored and rotated −19°, off centre; Rician noise σ = 1",
       measure=[Measure(f"vial_{n}_t1_ms", rel_tol=0.02,
                        why="issue 16: within 2 %; layout recognised as nist, spheres "
                            "numbered by decreasing T1")
                for n in range(1, 15)])
def mr_relaxometry_nist_t1(root: Path) -> Path:
    return _validation_phantom("relaxometry", "mr_relaxometry_nist_t1", root)


@check("mr.relaxometry", auto=True,
       source="NIST/ISMRM system phantom T2 array layout (14 spheres on a ring, approximate "
              "geometry), 1.5 T MnCl2 reference T2s (Stupic 2021), multi-echo signal (first "
              "echo × 0.9), rotated 31°; Rician noise σ = 1",
       measure=[Measure(f"vial_{n}_t2_ms", rel_tol=0.02,
                        why="issue 16: within 2 %; 32 echoes 10–320 ms")
                for n in range(1, 15)])
def mr_relaxometry_nist_t2(root: Path) -> Path:
    return _validation_phantom("relaxometry", "mr_relaxometry_nist_t2", root)


# ---------------------------------------------------------------------------------------------
# mr.magnet (issue 16)
# ---------------------------------------------------------------------------------------------
@check("mr.magnet", auto=True,
       source="MagNET slice-width object: Gaussian slice profile of FWHM W seen through 11.3° "
              "ramps (dip FWHM W/tan 11.3°), 5 % shading, Rician noise",
       measure=[Measure("slice_width_mm", abs_tol=0.2, why="IPEM-type ±0.2 mm at 5 mm")])
def mr_magnet_slice_width(root: Path) -> Path:
    return _validation_phantom("magnet", "mr_magnet_slice_width", root)


@check("mr.magnet", auto=True,
       source="60 slices through ±45° rods (separation 2z) with known per-slice position "
              "errors: max |e − median e| over slices 11–50",
       measure=[Measure("slice_position_max_error_mm", abs_tol=0.1,
                        why="rod centroids to ≈ 0.05 pixel at 1 mm pixels")])
def mr_magnet_slice_position(root: Path) -> Path:
    return _validation_phantom("magnet", "mr_magnet_slice_position", root)


@check("mr.magnet", auto=True,
       source="square block blurred by a Gaussian PSF σ (exact erf product), point-sampled: "
              "MTF50 = √(ln 2/(2π²))/σ",
       measure=[Measure("resolution_mtf50_lp_mm", rel_tol=0.03)])
def mr_magnet_resolution(root: Path) -> Path:
    return _validation_phantom("magnet", "mr_magnet_resolution", root)


@check("mr.acr_sagittal", auto=True,
       source="ACR sagittal localiser drawn with exact edge coverage: 148 mm long, 50 % B1 "
              "shading towards the inferior end, Rician noise",
       measure=[Measure("sagittal_length_mm", abs_tol=0.5,
                        why="edges interpolated to ≈ 0.1 pixel (0.98 mm pixels)")])
def mr_acr_sagittal(root: Path) -> Path:
    return _validation_phantom("acr_sagittal", "mr_acr_sagittal", root)


@check("mr.acr", auto=True,
       source="ACR medium phantom drawn anti-aliased: 165 mm diameter (auto-detected), 10:1 "
              "ramps (FWHM = 10·T), PIU = 100·(1 − k·(R_L − r_s)) with the 160 cm² large ROI, "
              "wedge bar difference",
       measure=[Measure("geometric_accuracy_slice5_horizontal", "diameter_mm", abs_tol=0.5),
                Measure("geometric_accuracy_slice5_vertical", "diameter_mm", abs_tol=0.5),
                Measure("geometric_accuracy_slice1_horizontal", "diameter_mm", abs_tol=0.5),
                Measure("slice_thickness_mm", abs_tol=0.2),
                Measure("piu", abs_tol=0.5),
                Measure("slice_position_slice1_mm", "bar_difference_mm", abs_tol=0.5)])
def mr_acr_medium(root: Path) -> Path:
    from imgqa.phantoms.mr import acr_phantom

    folder = root / "mr_acr_medium"
    images, truth = acr_phantom(variant="medium", diameter_mm=165.0, slice_thickness_mm=5.0,
                                bar_difference_mm=-3.0, rotation_deg=-1.5,
                                centre_offset_mm=(6.0, -4.0), noise_sd=8.0, noise="rician",
                                seed=3)
    write_series(images, folder, description="ACR T1 digital medium phantom",
                 pixel_spacing_mm=250.0 / 256, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 prefix="acrmed", **_MR)
    write_ground_truth(folder, truth)
    return folder
