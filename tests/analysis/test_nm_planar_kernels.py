"""Issue 13 planar kernels against analytic truth: linearity, SNI, sensitivity, scan speed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from imgqa.analysis.nm_linearity import lines_linearity
from imgqa.analysis.nm_sensitivity import (
    HALF_LIVES_H,
    half_life_hours,
    nuclide_from_text,
    planar_sensitivity,
)
from imgqa.analysis.scan_speed import scan_speed_profile
from imgqa.analysis.sni import structured_noise_index
from imgqa.phantoms.nm_planar import linearity_lines, sensitivity_source, sni_flood, wb_sweep

LIN_KEYS = ("absolute_linearity_ufov_mm", "absolute_linearity_cfov_mm",
            "differential_linearity_ufov_mm", "differential_linearity_cfov_mm")


def _lin_values(r) -> dict[str, float]:
    return {"absolute_linearity_ufov_mm": r.ufov.absolute_mm,
            "absolute_linearity_cfov_mm": r.cfov.absolute_mm,
            "differential_linearity_ufov_mm": r.ufov.differential_mm,
            "differential_linearity_cfov_mm": r.cfov.differential_mm}


# ---------------------------------------------------------------------------------------------
# Linearity: known distortion field → within 0.05 mm (issue 13)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [
    {},                                                  # 2 mm pixels, 11 slits 30 mm apart
    {"amplitude_mm": 2.5, "barrel_mm": 0.0},             # larger kink, no barrel
    {"amplitude_mm": 0.5, "barrel_mm": 1.0, "seed": 4},  # barrel-dominated
    {"shift_mm": (7.3, 11.1)},                           # translation
    {"pixel_mm": 1.0, "matrix": 512},                    # pixel size
    {"pixel_mm": 1.5, "matrix": 340},
    {"pixel_mm": 2.5, "matrix": 200},
    {"tilt_deg": 1.0},                                   # mask set askew (rotation)
    {"tilt_deg": -2.0, "shift_mm": (-4.0, 3.3)},
])
def test_linearity_recovers_known_distortion(kw):
    img, truth = linearity_lines(**kw)
    r = lines_linearity(img, kw.get("pixel_mm", 2.0))
    assert r is not None and r.ufov.lines == 11 and r.cfov.lines == 9
    got = _lin_values(r)
    for key in LIN_KEYS:
        assert got[key] == pytest.approx(truth[key], abs=0.05), key
    assert r.spacing_mm == pytest.approx(30.0, abs=0.05)


def test_linearity_y_is_the_transpose_of_x():
    img, truth = linearity_lines(transpose=True)
    assert lines_linearity(img, 2.0) is None  # horizontal lines: no vertical line for X
    r = lines_linearity(img.T, 2.0)
    assert r.ufov.absolute_mm == pytest.approx(truth["absolute_linearity_ufov_mm_y"], abs=0.05)


def test_undistorted_slits_read_near_zero():
    img, truth = linearity_lines(amplitude_mm=0.0, barrel_mm=0.0)
    assert truth["absolute_linearity_ufov_mm"] == pytest.approx(0.0, abs=1e-9)
    exact = lines_linearity(linearity_lines(amplitude_mm=0.0, barrel_mm=0.0, noise=False)[0], 2.0)
    assert exact.ufov.absolute_mm < 1e-6  # noise-free: the Gaussian fit is exact
    r = lines_linearity(img, 2.0)
    assert r.ufov.absolute_mm < 0.05 and r.ufov.differential_mm < 0.02


def test_linearity_truth_is_monotonic_in_the_distortion():
    vals = [lines_linearity(linearity_lines(amplitude_mm=a, barrel_mm=0.0)[0], 2.0)
            .ufov.absolute_mm for a in (0.5, 1.0, 2.0)]
    assert vals == sorted(vals)


def test_flood_has_no_lines():
    flood = np.random.default_rng(0).poisson(500.0, (128, 128)).astype(float)
    assert lines_linearity(flood, 3.2) is None


# ---------------------------------------------------------------------------------------------
# SNI: pure Poisson ≈ 0, ordering and the closed-form value for a cosine pattern
# ---------------------------------------------------------------------------------------------
def test_sni_of_pure_poisson_flood_is_near_zero():
    vals = []
    for seed in range(4):
        img, truth = sni_flood(amplitude=0.0, seed=seed)
        assert truth["sni"] == 0.0
        vals.append(structured_noise_index(img, 3.2).overall.sni)
    # expectation 0; the periodogram scatter of one ROI is ~0.015
    assert abs(np.mean(vals)) < 0.02 and max(abs(v) for v in vals) < 0.05


def test_sni_orders_pattern_amplitudes_and_matches_closed_form():
    got, expected = [], []
    for a in (0.0, 0.02, 0.04, 0.08):
        img, truth = sni_flood(amplitude=a, seed=11)
        r = structured_noise_index(img, 3.2)
        got.append(r.overall.sni)
        expected.append(truth["sni"])
        assert r.overall.sni == pytest.approx(truth["sni"], abs=0.04)
    assert got == sorted(got) and expected == sorted(expected)
    assert expected[-1] > 0.5  # the strongest pattern dominates the Poisson noise


def test_sni_is_invariant_to_pixel_size_and_pattern_phase():
    # 3.2 mm ×2 and 1.6 mm ×4 give the same 6.4 mm analysis grid and the same expected SNI
    a, ta = sni_flood(256, 3.2, amplitude=0.05, counts_per_pixel=250.0, seed=2)
    b, tb = sni_flood(512, 1.6, amplitude=0.05, counts_per_pixel=62.5, rebin_factor=4, seed=2)
    assert ta["sni"] == pytest.approx(tb["sni"], rel=1e-6)
    ra, rb = structured_noise_index(a, 3.2), structured_noise_index(b, 1.6)
    assert ra.rebin_factor == 2 and rb.rebin_factor == 4
    assert ra.overall.sni == pytest.approx(rb.overall.sni, abs=0.04)
    shifted = np.roll(a, 37, axis=1)  # moves the pattern phase (and wraps the field)
    assert structured_noise_index(shifted, 3.2).overall.sni == pytest.approx(ra.overall.sni,
                                                                            abs=0.04)


def test_sni_refuses_an_empty_image():
    with pytest.raises(ValueError, match="empty"):
        structured_noise_index(np.zeros((64, 64)), 3.2)


# ---------------------------------------------------------------------------------------------
# Sensitivity: exact decay algebra (0.1 %)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("elapsed, duration, background", [(0.0, 300.0, 0.0),
                                                          (3600.0, 1800.0, 0.0),
                                                          (-600.0, 600.0, 25.0),
                                                          (7200.0, 3600.0, 10.0)])
def test_sensitivity_recovers_known_value(elapsed, duration, background):
    img, truth = sensitivity_source(elapsed_s=elapsed, duration_s=duration,
                                    background_cps=background, noise=False)
    r = planar_sensitivity(img.sum(), duration, truth["activity_mbq"],
                           truth["half_life_h"] * 3600.0, elapsed_s=elapsed,
                           background_cps=background)
    assert r.sensitivity_cps_per_mbq == pytest.approx(90.0, rel=1e-9)
    noisy, _ = sensitivity_source(elapsed_s=elapsed, duration_s=duration,
                                  background_cps=background, seed=1)
    r = planar_sensitivity(noisy.sum(), duration, truth["activity_mbq"],
                           truth["half_life_h"] * 3600.0, elapsed_s=elapsed,
                           background_cps=background)
    sd = math.sqrt(truth["expected_counts"]) / (truth["expected_counts"]
                                                 - background * duration)
    assert abs(r.sensitivity_cps_per_mbq / 90.0 - 1) < max(0.001, 4 * sd)


def test_decay_factor_limits():
    # T ≪ T½: D → 1; T = T½: D = 1/(2 ln 2)
    assert planar_sensitivity(1e6, 1.0, 1.0, 1e9).decay_factor_during == pytest.approx(1.0)
    d = planar_sensitivity(1e6, 3600.0, 1.0, 3600.0).decay_factor_during
    assert d == pytest.approx(1.0 / (2.0 * math.log(2.0)), rel=1e-12)


def test_nuclides_from_header_text_and_table():
    assert nuclide_from_text("^99m^Technetium") == "Tc-99m"
    assert nuclide_from_text("99m Technetium") == "Tc-99m"
    assert nuclide_from_text("^123^Iodine") == "I-123"
    assert nuclide_from_text("Lu177") == "Lu-177"
    assert nuclide_from_text("F-18") is None
    assert half_life_hours("Tc-99m") == pytest.approx(6.0067)
    with pytest.raises(ValueError, match="known"):
        half_life_hours("Xx-1")
    from imgqa.protocols.nm_planar import NUCLIDES

    assert tuple(HALF_LIVES_H) == NUCLIDES  # the declaration repeats the table


# ---------------------------------------------------------------------------------------------
# Scan speed: known table-speed profile
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"speed_error": -0.08}, {"start_mm": 200.0},
                                {"pixel_mm": 3.2, "rows": 768, "cols": 192}])
def test_scan_speed_recovers_known_profile(kw):
    img, truth = wb_sweep(counts_per_pixel=2000.0, **kw)
    r = scan_speed_profile(img, kw.get("pixel_mm", 2.4))
    assert r.fastest_percent == pytest.approx(truth["fastest_percent"], abs=0.3)
    assert r.slowest_percent == pytest.approx(truth["slowest_percent"], abs=0.3)
    assert r.max_deviation_percent == pytest.approx(truth["max_speed_deviation_percent"],
                                                    abs=0.3)


def test_scan_speed_noise_free_is_exact():
    img, truth = wb_sweep(noise=False)
    r = scan_speed_profile(img, 2.4)
    assert r.fastest_percent == pytest.approx(truth["fastest_percent"], abs=0.01)
    assert r.slowest_percent == pytest.approx(truth["slowest_percent"], abs=0.01)


def test_scan_speed_refuses_a_short_source():
    img = np.zeros((400, 100))
    img[180:220, 20:80] = 100.0
    with pytest.raises(ValueError, match="long"):
        scan_speed_profile(img, 2.4)
