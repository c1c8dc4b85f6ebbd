"""CTP528 (line-pair MTF) and CTP515 (low-contrast CNR) kernels recover known truth.

CTP528 model: bars blurred by a Gaussian PSF of SD σ, rendered exactly (erf products) at pixel
centres; the MTF is T(f) = exp(−2π²σ²f²) and the square-wave modulation the Coltman series.
CTP515 model: discs of 10/5/3 HU in white noise of known SD; CNR = ΔHU/SD exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.catphan import has_catphan_housing
from imgqa.analysis.catphan_ctp515 import analyse_ctp515
from imgqa.analysis.catphan_ctp528 import analyse_ctp528
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.ct import (
    catphan_ctp486,
    catphan_ctp515,
    catphan_ctp528,
    water_phantom,
)


@pytest.mark.parametrize("sigma,px,roll,mirrored,known_roll", [
    (0.5, 0.4, 0.0, False, False),
    (0.7, 0.4, 4.0, False, True),
    (0.4, 0.4, -20.0, True, False),
    (0.6, 0.5, 12.0, False, False),
])
def test_ctp528_mtf_truth(sigma, px, roll, mirrored, known_roll):
    images, truth = catphan_ctp528(sigma_mm=sigma, pixel_mm=px, roll_deg=roll,
                                   mirrored=mirrored, offset_mm=(4.0, -7.0),
                                   size=int(205 / px) + 2)
    res = analyse_ctp528(images[0], px, truth["centre_rc"],
                         roll_deg=roll if known_roll else None)
    assert res.rotation_deg == pytest.approx(roll, abs=0.3)
    assert res.mirrored == mirrored
    assert res.contrast_hu == pytest.approx(truth["contrast_hu"], rel=0.05)
    nyquist_lp_per_cm = 10.0 / (2.0 * px)
    for g, t_mtf, t_mod in zip(res.groups, truth["mtf"], truth["square_wave_modulation"]):
        if g.lp_per_cm <= 0.85 * nyquist_lp_per_cm:
            # Stated tolerance: each group's MTF within 0.03 (absolute) of exp(-2π²σ²f²)
            assert g.mtf == pytest.approx(t_mtf, abs=0.03), g.lp_per_cm
            assert g.modulation == pytest.approx(t_mod, abs=0.04), g.lp_per_cm
    # Stated tolerance: mtf50 / mtf10 within 3 % of the analytic Gaussian values
    assert res.mtf50_lp_per_cm == pytest.approx(truth["mtf50_lp_per_cm"], rel=0.03)
    assert res.mtf10_lp_per_cm == pytest.approx(truth["mtf10_lp_per_cm"], rel=0.03)


def test_ctp528_refuses_uniform_module():
    images, truth = catphan_ctp486(n_slices=1)
    with pytest.raises(PhantomNotFoundError, match="CTP528"):
        analyse_ctp528(images[0], 0.45, truth["centre_rc"])


def _cnr_se(cnr: float, n_target: int, n_bg: int) -> float:
    """Standard error of (mean_t − mean_bg)/sd_bg for white noise."""
    return float(np.sqrt(1.0 / n_target + 1.0 / n_bg + cnr ** 2 / (2.0 * n_bg)))


@pytest.mark.parametrize("roll,noise,scale,known_roll", [(0.0, 3.0, 1.0, False),
                                                         (7.0, 5.0, 1.0, True),
                                                         (-35.0, 2.0, 2.0, False)])
def test_ctp515_cnr_truth(roll, noise, scale, known_roll):
    images, truth = catphan_ctp515(roll_deg=roll, noise_sd=noise, contrast_scale=scale,
                                   offset_mm=(-5.0, 6.0), seed=3)
    res = analyse_ctp515(images[0], 0.4, truth["centre_rc"],
                         roll_deg=roll if known_roll else None)
    assert res.rotation_deg == pytest.approx(roll, abs=0.3)
    bg_n = 2 * int(np.pi * (4.0 / 0.4) ** 2)
    errors = []
    for t in res.targets:
        tt = truth["targets"][t.name]
        se = _cnr_se(tt["cnr"], t.target.n_pixels, bg_n)
        # Stated tolerance: every CNR within 4 standard errors of ΔHU / SD
        assert t.cnr == pytest.approx(tt["cnr"], abs=4.0 * se), t.name
        errors.append((t.cnr - tt["cnr"]) / se)
    assert abs(np.mean(errors)) < 1.0      # no bias over the 27 targets
    # Visible count: equal to the truth count, allowing targets whose expected Rose index is
    # within 25 % of the threshold to fall either way.
    exp_idx = np.array([v["rose_index"] for v in truth["targets"].values()])
    sure = int(np.sum(exp_idx >= 1.25 * 5.0))
    maybe = int(np.sum((exp_idx >= 0.75 * 5.0) & (exp_idx < 1.25 * 5.0)))
    assert sure <= res.visible_targets <= sure + maybe


def test_ctp515_refuses_other_modules():
    images, truth = catphan_ctp486(n_slices=1, noise_sd=7.0)
    with pytest.raises(PhantomNotFoundError, match="CTP515"):
        analyse_ctp515(images[0], 0.45, truth["centre_rc"])
    bars, bt = catphan_ctp528()
    with pytest.raises(PhantomNotFoundError, match="CTP515|low-contrast"):
        analyse_ctp515(bars[0], 0.4, bt["centre_rc"])


def test_catphan_housing_vs_water_phantom():
    cat, _ = catphan_ctp486(n_slices=1)
    assert has_catphan_housing(cat[0], 0.45)
    water, _ = water_phantom(size=256, pixel_mm=0.9, n_slices=1)
    assert not has_catphan_housing(water[0], 0.9)
