"""NEMA NU 1 uniformity kernel against analytic truth from the digital flood phantom."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.nema_uniformity import (
    differential_uniformity,
    integral_uniformity,
    nema_rebin_factor,
    nema_smooth,
    nema_uniformity,
    rebin_sum,
)
from imgqa.phantoms.nm import flood, nema_block


@pytest.mark.parametrize("spacing", np.round(np.arange(0.5, 7.01, 0.25), 3))
def test_rebin_factor_lands_in_nema_range(spacing):
    f = nema_rebin_factor(spacing)
    size = f * spacing
    others = [k * spacing for k in range(1, 40) if 4.48 <= k * spacing <= 8.32]
    if spacing >= 4.48 or not others:
        assert f == 1      # in range, too big, or no factor can land in range: not rebinned
    else:
        assert 4.48 - 1e-9 <= size <= 8.32 + 1e-9    # lands in range, never overshoots
        # no other integer factor is closer to 6.4 mm
        assert abs(size - 6.4) <= min(abs(o - 6.4) for o in others) + 1e-9
    assert f == nema_block(spacing)                  # independent brute-force derivation


def test_rebin_factor_known_values():
    assert nema_rebin_factor(2.065) == 3      # Mediso 256² flood → 6.195 mm
    assert nema_rebin_factor(0.4) == 16       # 1024² on 410 mm → 6.4 mm
    assert nema_rebin_factor(3.2) == 2
    assert nema_rebin_factor(6.0) == 1
    assert nema_rebin_factor(4.25) == 1       # ×2 = 8.5 mm would overshoot


def test_rebin_sum_and_smoothing_basics():
    img = np.arange(36, dtype=float).reshape(6, 6)
    out, off = rebin_sum(img, 3)
    assert off == (0, 0)
    assert out[0, 0] == img[:3, :3].sum()
    flat = np.full((7, 7), 5.0)
    mask = np.zeros((7, 7), bool)
    mask[1:6, 1:6] = True
    sm = nema_smooth(flat, mask)
    assert np.allclose(sm[mask], 5.0)          # normalised convolution keeps a flat field flat
    spike = np.zeros((5, 5))
    spike[2, 2] = 16.0
    assert nema_smooth(spike)[2, 2] == pytest.approx(4.0)   # centre weight 4/16


def test_differential_uniformity_ignores_runs_leaving_the_mask():
    img = np.ones((3, 9))
    img[1, 0] = 3.0                 # a big step at a pixel outside the mask
    mask = np.ones((3, 9), bool)
    mask[:, 0] = False
    du, _ = differential_uniformity(img, mask, axis=1)
    assert du == pytest.approx(0.0)
    mask[:, 0] = True
    du, rc = differential_uniformity(img, mask, axis=1)
    assert du == pytest.approx(100 * 2 / 4)
    assert rc == (1, 0)
    assert integral_uniformity(np.array([9.0, 11.0])) == pytest.approx(10.0)


@pytest.mark.parametrize("pixel_mm, matrix", [(3.2, 128), (2.0, 240), (0.4, 1024), (6.0, 64)])
def test_noise_free_pattern_exact(pixel_mm, matrix):
    f = nema_block(pixel_mm)
    nb = matrix // f
    fb = (nb * 3 // 4 - (nb * 3 // 4 - nb) % 2,) * 2
    img, truth = flood(matrix, pixel_mm, hot=0.05, cold=0.04, noise=False, field_blocks=fb)
    r = nema_uniformity(img, pixel_mm)
    assert r.rebin_factor == truth["rebin_factor"]
    assert r.rebinned_pixel_mm == pytest.approx(truth["rebinned_pixel_mm"])
    for fov in ("ufov", "cfov"):
        assert getattr(r, f"integral_uniformity_{fov}") == pytest.approx(
            truth["integral_uniformity"], abs=0.05)
        assert getattr(r, f"differential_uniformity_{fov}_x") == pytest.approx(
            truth["differential_uniformity_x"], abs=0.05)
        assert getattr(r, f"differential_uniformity_{fov}_y") == pytest.approx(
            truth["differential_uniformity_y"], abs=0.05)
    assert r.total_counts == pytest.approx(truth["total_counts_expected"], rel=1e-9)
    assert r.mean_counts_per_pixel == pytest.approx(10_000, rel=0.02)
    assert r.max_rc_cfov == tuple(truth["hot_centre_rc_rebinned"])
    assert r.min_rc_cfov == tuple(truth["cold_centre_rc_rebinned"])


@pytest.mark.parametrize("field", ["circle", "octagon"])
def test_noise_free_cfov_exact_for_round_and_octagonal_fields(field):
    img, truth = flood(128, 3.2, field=field, field_mm=(300.0, 360.0), hot=0.05, cold=0.04,
                       noise=False)
    r = nema_uniformity(img, 3.2)
    assert r.integral_uniformity_cfov == pytest.approx(truth["integral_uniformity"], abs=0.05)
    assert r.differential_uniformity_cfov_x == pytest.approx(truth["differential_uniformity_x"],
                                                             abs=0.05)
    # The UFOV reaches partly covered edge pixels, which can only add non-uniformity.
    assert r.integral_uniformity_ufov >= r.integral_uniformity_cfov - 1e-9
    # The UFOV follows the field shape: a circle fills ~π/4 of its bounding box.
    rows, cols = np.flatnonzero(r.ufov_mask.any(1)), np.flatnonzero(r.ufov_mask.any(0))
    fill = r.ufov_mask.sum() / ((rows[-1] - rows[0] + 1) * (cols[-1] - cols[0] + 1))
    assert (0.70 < fill < 0.86) if field == "circle" else (0.86 < fill < 0.99)


def test_poisson_floods_unbiased_at_10k_counts():
    """Mean over 10 seeds at 10 000 counts per analysis pixel within 0.2 % of the noise-free
    truth (IU, DU x, DU y). Counting noise biases DU upwards by ~0.1 % here."""
    res = []
    for seed in range(10):
        img, truth = flood(128, 3.2, hot=0.05, cold=0.04, counts_per_pixel=10_000, seed=seed,
                           field_blocks=(48, 48))
        r = nema_uniformity(img, 3.2)
        res.append([r.integral_uniformity_ufov, r.differential_uniformity_ufov_x,
                    r.differential_uniformity_ufov_y])
        assert r.mean_counts_per_pixel == pytest.approx(10_000, rel=0.01)
    mean = np.mean(res, axis=0)
    expected = [truth["integral_uniformity"], truth["differential_uniformity_x"],
                truth["differential_uniformity_y"]]
    assert np.all(np.abs(mean - expected) < 0.2), (mean, expected)


def test_low_counts_warn():
    img, _ = flood(128, 3.2, counts_per_pixel=2_000, seed=3)
    r = nema_uniformity(img, 3.2)
    assert any("counts per" in w for w in r.warnings)


def test_big_native_pixels_warn_and_forced_factor_warns():
    img, _ = flood(64, 6.0, counts_per_pixel=20_000)
    big = np.repeat(np.repeat(img, 1, 0), 1, 1)
    assert any("larger than NEMA" in w for w in nema_uniformity(big, 9.0).warnings)
    img, _ = flood(128, 3.2)
    assert any("outside NEMA" in w for w in nema_uniformity(img, 3.2, rebin_factor=1).warnings)


def test_bad_input():
    with pytest.raises(ValueError, match="no counts"):
        nema_uniformity(np.zeros((64, 64)), 3.2)
    with pytest.raises(ValueError):
        nema_uniformity(np.ones((64,)), 3.2)
    with pytest.raises(ValueError):
        nema_uniformity(np.ones((64, 64)), 0.0)
