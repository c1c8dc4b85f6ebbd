"""Gamma camera checks: NEMA flood uniformity, line-source and edge resolution, bar phantom."""

from __future__ import annotations

from pathlib import Path

from imgqa.phantoms import write_ground_truth, write_series
from imgqa.phantoms.nm import quadrant_bars
from imgqa.validation._phantom import demo
from imgqa.validation.registry import Measure, check


# The truth is the noise-free flood pattern's NEMA values computed analytically by the
# generator (not imgqa's current output); counting noise at 10 000 counts/pixel biases DU
# upwards by ~0.1 % on average.
@check("nm.uniformity", auto=True,
       source="known flood pattern (hot/cold raised-cosine bumps): NEMA NU 1 IU/DU of the "
              "noise-free pattern on the 6.4 mm analysis grid",
       measure=[Measure("integral_uniformity_ufov", "integral_uniformity", abs_tol=0.3),
                Measure("differential_uniformity_ufov_x", "differential_uniformity_x",
                        abs_tol=0.4),
                Measure("differential_uniformity_ufov_y", "differential_uniformity_y",
                        abs_tol=0.4),
                Measure("rebinned_pixel_mm", abs_tol=1e-6)])
def nm_flood(root: Path) -> Path:
    return demo("nm_flood", root)


@check("nm.resolution", auto=True,
       source="Gaussian LSF of known FWHM: FWTM = FWHM·√(ln10/ln2)",
       measure=[Measure("fwhm_x", rel_tol=0.02), Measure("fwtm_x", rel_tol=0.03)])
def nm_line_sources(root: Path) -> Path:
    return demo("nm_line_sources", root)


@check("nm.resolution", auto=True,
       source="edge blurred by a Gaussian PSF (ESF = Φ(d/σ)), Poisson counts",
       measure=[Measure("fwhm_x", rel_tol=0.03)])
def nm_edge(root: Path) -> Path:
    return demo("nm_edge", root)


_WIDTHS = (2.5, 3.0, 3.5, 4.0)


@check("nm.bar_phantom", auto=True,
       params={"bar_widths_mm": ",".join(f"{w:g}" for w in _WIDTHS)},
       source="square-wave bars through a Gaussian PSF: Droege–Morin modulation "
              "√Σ(MTF(k·f0)/k)², k odd, f0 = 1/(2w)",
       measure=[*(Measure(f"mtf_q{q}", abs_tol=0.03, why="Poisson counts at 2 000/pixel")
                  for q in range(1, 5)),
                *(Measure(f"bar_width_measured_mm_q{q}", rel_tol=0.03) for q in range(1, 5))])
def nm_quadrant_bars(root: Path) -> Path:
    folder = root / "nm_quadrant_bars"
    img, truth = quadrant_bars(320, 1.0, bar_widths_mm=_WIDTHS, psf_fwhm_mm=4.0,
                               counts=2000.0, seed=6)
    write_series(img, folder, modality="NM", description="Quadrant bar phantom",
                 pixel_spacing_mm=1.0, prefix="bars")
    for q in truth["quadrants"]:
        truth[f"mtf_q{q['quadrant']}"] = q["mtf_droege_morin"]
        truth[f"bar_width_measured_mm_q{q['quadrant']}"] = q["bar_width_mm"]
    write_ground_truth(folder, truth)
    return folder


# ---------------------------------------------------------------------------------------------
# Issue 13, planar: linearity, SNI, sensitivity, whole-body scan speed (imgqa.phantoms.nm_planar)
# ---------------------------------------------------------------------------------------------
@check("nm.linearity", auto=True,
       source="slit pattern displaced by a known field A·exp(−(y−y_b)²/2w²) + B·((x−x_c)/H)²: "
              "the linearity definitions applied to the known positions (dense, noise-free)",
       measure=[Measure(f"{kind}_linearity_{fld}_mm", abs_tol=0.05,
                        why="issue 13: linearity within 0.05 mm; Poisson counts")
                for kind in ("absolute", "differential") for fld in ("ufov", "cfov")])
def nm_linearity_slits(root: Path) -> Path:
    from imgqa.phantoms.nm_planar import write_linearity

    return write_linearity(root / "nm_linearity_slits", description="Linearity slit mask X")


@check("nm.sni", auto=True,
       source="Poisson flood × (1 + a·cos 2πf₀x): SNI = (S/Q)/(1 + S/Q), "
              "S/Q = N·a²·V(f₀)/(2⟨V⟩)",
       measure=[Measure("sni", abs_tol=0.04, why="periodogram scatter: SD ≈ 0.015"),
                *(Measure(f"sni_q{q}", abs_tol=0.06, why="quarter-size ROI: SD ≈ 0.025")
                  for q in range(1, 5))])
def nm_sni_flood(root: Path) -> Path:
    from imgqa.phantoms.nm_planar import write_sni

    return write_sni(root / "nm_sni_flood", description="Flood SNI", amplitude=0.05)


_ACQ = "2026-01-05T10:00:00"


@check("nm.sensitivity", auto=True,
       params={"activity_mbq": 40.0, "calibration_time": "2026-01-05T09:00:00"},
       source="blob of known expected counts S·A·e^(−λΔt)·T·(1 − e^(−λT))/(λT)",
       measure=[Measure("sensitivity_cps_per_mbq", rel_tol=0.001,
                        why="issue 13: 0.1 %; 5.5·10⁶ Poisson counts (SD 0.04 %)")])
def nm_sensitivity_source(root: Path) -> Path:
    from datetime import datetime

    from imgqa.phantoms.nm_planar import write_sensitivity

    return write_sensitivity(root / "nm_sensitivity_source", elapsed_s=3600.0, duration_s=1800.0,
                             acquired=datetime.fromisoformat(_ACQ), seed=3)


@check("nm.scan_speed", auto=True,
       source="sweep of a uniform sheet, table 10 % faster over 400 mm: counts ∝ 1/v, "
              "deviations (1 + ε)·m − 1 and m − 1 about the harmonic-mean speed",
       measure=[Measure("max_speed_deviation_percent", abs_tol=0.3,
                        why="Poisson noise of the 30 mm profile: SD 0.05 %"),
                Measure("fastest_percent", abs_tol=0.3),
                Measure("slowest_percent", abs_tol=0.3)])
def nm_wb_sweep(root: Path) -> Path:
    from imgqa.phantoms.nm_planar import write_sweep

    return write_sweep(root / "nm_wb_sweep", description="WB scan speed", counts_per_pixel=2000.0)
