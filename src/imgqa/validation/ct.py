"""CT checks: water phantom, wire MTF, Catphan modules, NPS and the circular-edge TTF."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from imgqa.phantoms import write_ground_truth, write_series
from imgqa.phantoms.ct import rod_phantom, water_phantom
from imgqa.validation._phantom import demo
from imgqa.validation.registry import Measure, check

_CT: dict[str, Any] = {"modality": "CT", "slice_thickness_mm": 2.0, "rescale_intercept": -1024.0}


@check("ct.water", auto=True,
       source="known HU map (water + cupping + shell/table) and noise SD of the generator",
       measure=[Measure("mean_hu_centre", abs_tol=0.5),
                Measure("noise_sd_centre", rel_tol=0.06,
                        why="3 × the sampling SE of an SD over three 400 mm² ROIs"),
                Measure("mean_hu_12", abs_tol=1.0),
                Measure("mean_hu_6", abs_tol=1.0)])
def ct_water(root: Path) -> Path:
    return demo("ct_water", root)


@check("ct.mtf_wire", auto=True,
       source="Gaussian PSF σ: MTF(f) = exp(−2π²σ²f²), f50 = √(ln2/2π²)/σ",
       measure=[Measure("mtf50", rel_tol=0.03), Measure("mtf10", rel_tol=0.03)])
def ct_wire(root: Path) -> Path:
    return demo("ct_wire", root)


@check("ct.catphan", auto=True,
       source="Catphan 600 geometry (50 mm rod square, 23° ramps), Gaussian PSF line-pair "
              "MTF (Fourier series of a square wave), CTP486 module HU",
       measure=[Measure("ctp404_rod_distance_mean_mm", "ctp404.rod_distance_mm", abs_tol=0.15),
                Measure("ctp404_slice_thickness_mm", "ctp404.slice_thickness_mm", abs_tol=0.2),
                Measure("ctp528_mtf50_lp_per_cm", "ctp528.mtf50_lp_per_cm", rel_tol=0.03),
                Measure("ctp486_mean_hu_centre", "ctp486.ctp486_mean_hu_centre", abs_tol=0.5)])
def ct_catphan(root: Path) -> Path:
    return demo("ct_catphan", root)


@check("ct.nps", params={"roi_size_mm": 50.0, "region_fraction": 0.8, "detrend": "mean"},
       source="white noise of SD σ: √(NPS integral) = σ (Parseval); a flat NPS on the "
              "Nyquist disc has half its variance below f_N/√2",
       measure=[Measure("noise_sd_hu", "noise_sd", rel_tol=0.03,
                        why="SE of an SD over 3 × ~30 000 distinct pixels ≈ 0.25 %, ×12"),
                Measure("nps_f_median", "nps_f_median", rel_tol=0.03,
                        why="radial bins of 1/50 mm: 1 bin ≈ 3 % of the median"),
                Measure("mean_hu", abs_tol=0.5)])
def ct_nps_water(root: Path) -> Path:
    folder = root / "ct_nps_water"
    px, sd = 0.8, 12.0
    images, truth = water_phantom(size=256, pixel_mm=px, noise_sd=sd, cupping_hu=0.0,
                                  n_slices=3, seed=4)
    write_series(images, folder, description="Water phantom NPS", pixel_spacing_mm=px,
                 prefix="ct_nps", **_CT)
    nyquist = 1.0 / (2.0 * px)
    write_ground_truth(folder, {
        "phantom": "ct_nps_water", "noise_sd": math.sqrt(sd ** 2 + 1.0 / 12.0),
        "nps_f_median": nyquist / math.sqrt(2.0), "mean_hu": 0.0, "nyquist_per_mm": nyquist,
        "parameters": truth.get("parameters", {}),
        "note": "noise_sd includes the rounding of stored values to 1 HU (variance 1/12)."})
    return folder


@check("ct.ttf", source="rod blurred by a Gaussian PSF σ: TTF(f) = exp(−2π²σ²f²); contrast "
                        "= rod − background HU",
       measure=[Measure("mtf50", rel_tol=0.05), Measure("mtf10", rel_tol=0.05),
                Measure("contrast_hu", abs_tol=5.0)])
def ct_rod(root: Path) -> Path:
    folder = root / "ct_rod"
    images, truth = rod_phantom(size=128, pixel_mm=0.5, sigma_mm=0.6, noise_sd=3.0,
                                n_slices=2, seed=3)
    write_series(images, folder, description="Rod insert TTF", pixel_spacing_mm=0.5,
                 prefix="ct_rod", **_CT)
    write_ground_truth(folder, truth)
    return folder


# ---------------------------------------------------------------------------------------------
# ct.acr (issue 16)
# ---------------------------------------------------------------------------------------------
@check("ct.acr", auto=True,
       source="Gammex 464 layout: known insert HU, wire-ramp slice profile (rect ⊗ Gaussian, "
              "FWHM on a fine grid × tan θ), 6 HU rod in σ = 1 HU noise (CNR 6), cupping "
              "c·(r/R)² (deviation c·0.66²), analytic bar patterns (Gaussian MTF × pixel sinc)",
       measure=[*(Measure(f"ct_number_{m}_hu", abs_tol=1.0, why="issue 16: ±1 HU")
                  for m in ("polyethylene", "bone", "acrylic", "air", "water")),
                Measure("slice_width_mm", abs_tol=0.2, why="issue 16: ±0.2 mm"),
                Measure("low_contrast_cnr", rel_tol=0.05, why="issue 16: ±5 %; SD of a "
                        "1300-pixel ROI is known to ≈ 2 %"),
                Measure("uniformity_max_deviation_hu", abs_tol=0.3),
                Measure("noise_sd_hu", rel_tol=0.05),
                Measure("resolution_lp_cm", abs_tol=0.5,
                        why="groups are ≥ 1 lp/cm apart: ±0.5 means the exact group")])
def ct_acr(root: Path) -> Path:
    from imgqa.phantoms.ct_acr import validation_sets  # kept out of the GUI demo set

    return validation_sets()["ct_acr"](root)
