"""X-ray detector checks: slanted-edge MTF, NPS, signal transfer, TG-150 uniformity."""

from __future__ import annotations

import math
from pathlib import Path

from imgqa.phantoms import read_ground_truth, write_ground_truth
from imgqa.phantoms.xray import gain_pattern, write_flat_field, write_flat_field_set
from imgqa.validation._phantom import demo
from imgqa.validation.registry import Measure, check


@check("xray.mtf_edge", auto=True,
       source="edge point-sampled through a Gaussian PSF σ: MTF(f) = exp(−2π²σ²f²) "
              "(IEC 62220-1-1 presampled MTF)",
       measure=[Measure("mtf50", "mtf50_lp_per_mm", rel_tol=0.02),
                Measure("mtf10", "mtf10_lp_per_mm", rel_tol=0.03),
                Measure("edge_angle_deg", abs_tol=0.1),
                Measure("mtf_at_1_lp_per_mm", abs_tol=0.02)])
def xray_edge(root: Path) -> Path:
    return demo("xray_edge", root)


_K, _A, _B, _PX = 4.0, 400.0, 100.0, 0.1       # µGy, value²/µGy, value², mm


@check("xray.nps", params={"stp_slope": 400.0, "stp_intercept": 100.0},
       source="white noise of variance a·K + b (+ 1/12 rounding): NPS = σ²·Δx·Δy at every "
              "frequency; NNPS = NPS / (slope·K)²",
       measure=[Measure("nps_at_1_lp_per_mm", "nps", rel_tol=0.05,
                        why="> 3 × the SE of the 1 lp/mm annulus mean (≈ 1.5 %)"),
                Measure("nps_at_3_lp_per_mm", "nps", rel_tol=0.05),
                Measure("nnps_at_1_lp_per_mm", "nnps", rel_tol=0.05),
                Measure("noise_sd", rel_tol=0.02),
                Measure("mean_signal", rel_tol=0.001)])
def xray_white_flat(root: Path) -> Path:
    # 1024²: ~100 ROIs, so the 1 lp/mm annulus averages ~4 000 periodogram values (SE ≈ 1.5 %)
    folder = write_flat_field(root / "xray_white_flat", shape=(1024, 1024), air_kerma_ugy=_K,
                              quantum_a=_A, electronic_b=_B, pixel_mm=_PX)
    truth = read_ground_truth(folder)
    variance = _A * _K + _B + 1.0 / 12.0
    truth.update(noise_sd=variance ** 0.5, nps=variance * _PX * _PX,
                 nnps=variance * _PX * _PX / (400.0 * _K) ** 2,
                 generic_mean=truth["mean_signal"], generic_sd=variance ** 0.5,
                 generic_snr=truth["mean_signal"] / variance ** 0.5,
                 note="variance includes the rounding of stored values to integers (1/12)")
    write_ground_truth(folder, truth)
    return folder


@check("xray.stp", params={"roi_mm": 20.0},
       source="flat fields at 0.5–8 µGy: mean = offset + slope·K, variance = a·K + b + c·K² "
              "(IEC 62220-1-1 conversion function)",
       measure=[Measure("stp_slope", rel_tol=0.003), Measure("stp_intercept", abs_tol=3.0),
                Measure("noise_quantum_coefficient", rel_tol=0.1,
                        why="SE of a variance over a 20 mm ROI, 5 doses: worst of 8 seeds 4.5 %"),
                Measure("noise_structured", rel_tol=0.1, why="worst of 8 seeds 2.8 %")])
def xray_flat_set(root: Path) -> Path:
    folder = root / "xray_flat_set"
    # c large enough that c·K² dominates at 8 µGy: the fitted c is then known to a few %
    write_flat_field_set(folder, kermas_ugy=(0.5, 1.0, 2.0, 4.0, 8.0), shape=(256, 256),
                         quantum_a=400.0, electronic_b=400.0, structured_c=100.0)
    return folder


@check("xray.uniformity", auto=True,
       source="gain map with a +4 % square defect over 64 % of one 10 mm ROI: TG-150 global "
              "= local signal non-uniformity = 100·0.04·0.64 / (1 + 0.04·0.64/16)",
       measure=[Measure("global_signal_nonuniformity", rel_tol=0.02,
                        why="ROI-mean noise ≈ 0.003 % against a 2.6 % step"),
                Measure("local_signal_nonuniformity", rel_tol=0.02)])
def xray_defect_flat(root: Path) -> Path:
    shape = (600, 600)                      # 60 mm at 0.1 mm: a 4 × 4 grid of 10 mm ROIs
    r0, c0, side = 110, 310, 80             # inside grid cell (0, 2) after the 10 mm border
    gain = gain_pattern(shape, defect=0.04, defect_rc=(r0, c0, r0 + side, c0 + side))
    folder = write_flat_field(root / "xray_defect_flat", shape=shape, gain=gain, offset=0.0,
                              gain_per_ugy=4000.0)
    area = side * side / (100 * 100)
    step = 100.0 * 0.04 * area / (1.0 + 0.04 * area / 16)
    truth = read_ground_truth(folder)
    truth.update(defect=0.04, defect_area_fraction=area, global_signal_nonuniformity=step,
                 local_signal_nonuniformity=step)
    write_ground_truth(folder, truth)
    return folder


# -- issue 15: exposure index, defects ------------------------------------------------------
_EI_TARGET = 200.0


@check("xray.exposure_index", auto=True,
       params={"cal_slope": 400.0, "cal_intercept": 100.0, "target_exposure_index": _EI_TARGET},
       source="flat field V = 400·K + 100 (K = 2.5 µGy): EI = 100·K = 250 (IEC 62494-1); "
              "DI = 10·log10(250/200)",
       measure=[Measure("exposure_index", rel_tol=0.01,
                        why="issue 15: EI within 1 % of the calibration"),
                Measure("deviation_index", abs_tol=0.05)])
def xray_ei_linear(root: Path) -> Path:
    from imgqa.phantoms.xray import write_ei_flat_field

    folder = write_ei_flat_field(root / "xray_ei_linear", air_kerma_ugy=2.5, ramp=0.03)
    truth = read_ground_truth(folder)
    truth["deviation_index"] = 10.0 * math.log10(truth["exposure_index"] / _EI_TARGET)
    write_ground_truth(folder, truth)
    return folder


@check("xray.exposure_index", auto=True,
       params={"calibration": "log", "cal_slope": 1000.0, "cal_intercept": 2000.0},
       source="CR-like log response V = 1000·log10(K) + 2000 (K = 6.3 µGy): EI = 630",
       measure=[Measure("exposure_index", rel_tol=0.01)])
def xray_ei_log(root: Path) -> Path:
    from imgqa.phantoms.xray import write_ei_flat_field

    return write_ei_flat_field(root / "xray_ei_log", air_kerma_ugy=6.3, calibration="log",
                               cal_slope=1000.0, cal_intercept=2000.0, noise_sd=5.0)


@check("xray.defects", auto=True,
       source="flat field with 6 isolated dead/hot pixels, dead clusters 3×3, 2×2, 1×2, one "
              "dead column and one row +3 % (a faint line): counts planted",
       measure=[Measure("defective_pixels", abs_tol=0.5,
                        why="issue 15: every planted defect found, none false (±0.5 on a count: exact)"),
                Measure("clusters", abs_tol=0.5), Measure("defective_lines", abs_tol=0.5)])
def xray_defects_flat(root: Path) -> Path:
    from imgqa.phantoms.xray import write_defect_flat_field

    return write_defect_flat_field(root / "xray_defects_flat", seed=3)


@check("xray.leeds_tor", auto=True,
       source="TOR 18FG-type object (18 discs of known contrast, 21 bar groups 0.5–5 lp/mm), "
              "Gaussian PSF σ 0.16 mm × 0.15 mm pixel aperture, white noise: disc CNR = "
              "S(1 − a)c/σ; limiting group = last with MTF(f)/MTF(0.5) ≥ 0.1 (2.0 lp/mm, "
              "margins ×1.30 / ×0.75)",
       measure=[*(Measure(f"disc_{k}_cnr", rel_tol=0.05,
                          why="issue 15: disc CNR within 5 %" if k == 1 else "")
                  for k in range(1, 13)),
                Measure("limiting_resolution_lp_mm", abs_tol=0.01,
                        why="the correct bar group (groups ≥ 0.06 lp/mm apart)"),
                Measure("discs_detected", abs_tol=0.5)])
def xray_leeds_tor_phantom(root: Path) -> Path:
    from imgqa.phantoms.xray import write_leeds_tor

    folder = write_leeds_tor(root / "xray_leeds_tor", rotation_deg=12.0, centre_mm=(6.0, -9.0),
                             seed=5)
    truth = read_ground_truth(folder)
    truth["discs_detected"] = 18  # Rose SNR of the faintest disc ≈ 31 ≫ 5 at this noise
    write_ground_truth(folder, truth)
    return folder
