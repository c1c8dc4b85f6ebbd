"""TG-150 ROI-grid uniformity recovers known gain patterns."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.tg150 import field_mask, nonuniformity, tg150_uniformity
from imgqa.phantoms.xray import flat_field, gain_pattern


def test_linear_ramp_global_and_local():
    # 400 × 400 px at 0.1 mm; border 5 mm (50 px) → 300 px = 6 × 6 ROIs of 5 mm, no noise
    shape, ramp = (400, 400), 0.08
    gain = gain_pattern(shape, ramp=ramp)
    image, _ = flat_field(shape, gain=gain, noise="none", offset=0.0)
    res = tg150_uniformity(image, (0.1, 0.1), roi_mm=5, border_mm=5)
    assert res.roi_mean.shape == (6, 6)
    # analytic: gain = 1 + ramp·(2c/(N−1) − 1); ROI centres at c = 74.5 … 324.5 px
    g = 1 + ramp * (2 * np.array([74.5, 324.5]) / 399 - 1)
    expected_global = (g[1] - g[0]) / 1.0 * 100
    assert res.global_signal_nonuniformity == pytest.approx(expected_global, rel=1e-6)
    # local: interior ROIs of a linear ramp equal their neighbour mean; the worst is a corner
    # ROI, which has one neighbour along the ramp and one across: |q − (q + step + q)/2| = step/2
    step = ramp * 2 * 50 / 399
    assert res.local_signal_nonuniformity == pytest.approx(step / 2 * 100, rel=1e-6)
    # every ROI holds the same linear ramp, hence the same SD
    assert res.global_noise_nonuniformity < 1e-6


def test_square_defect_local_nonuniformity():
    shape = (400, 400)
    # a +5 % defect exactly covering the ROI at grid cell (2, 3)
    r0, c0 = 50 + 2 * 50, 50 + 3 * 50
    gain = gain_pattern(shape, defect=0.05, defect_rc=(r0, c0, r0 + 50, c0 + 50))
    image, _ = flat_field(shape, gain=gain, noise="none", offset=0.0)
    res = tg150_uniformity(image, (0.1, 0.1), roi_mm=5, border_mm=5)
    mean = (36 + 0.05) / 36
    assert res.local_signal_nonuniformity == pytest.approx(0.05 / mean * 100, rel=1e-9)
    assert res.global_signal_nonuniformity == pytest.approx(0.05 / mean * 100, rel=1e-9)


def test_noise_ramp_and_snr():
    rng = np.random.default_rng(4)
    shape = (400, 600)
    sd = np.linspace(8.0, 12.0, shape[1])[None, :]
    image = 1000.0 + rng.normal(0, 1, shape) * sd
    res = tg150_uniformity(image, (0.1, 0.1), roi_mm=10, border_mm=5)
    # ROI centre SDs run from the first to the last ROI centre: 50..550 px → about 3.3 % per ROI
    centres = 50 + 50 + 100 * np.arange(5)
    sds = 8 + 4 * centres / (shape[1] - 1)
    expected = (sds[-1] - sds[0]) / sds.mean() * 100
    assert res.global_noise_nonuniformity == pytest.approx(expected, abs=4.0)
    assert res.mean_noise == pytest.approx(sds.mean(), rel=0.03)
    assert res.mean_snr == pytest.approx(np.mean(1000 / sds), rel=0.03)
    assert res.global_signal_nonuniformity < 0.5


def test_field_mask_excludes_unexposed_border():
    image = np.zeros((300, 300))
    image[30:270, 40:260] = 500.0
    mask = field_mask(image)
    assert mask.sum() == 240 * 220
    res = tg150_uniformity(image + 0.0, (0.1, 0.1), roi_mm=2, border_mm=1, mask=mask)
    assert res.global_signal_nonuniformity == 0.0
    assert res.n_rois == 11 * 10


def test_nonuniformity_with_missing_rois_and_errors():
    q = np.array([[1.0, 1.0, np.nan], [1.0, 2.0, 1.0]])
    glob, local = nonuniformity(q)
    assert glob == pytest.approx(100 / 1.2)
    assert local == pytest.approx(abs(2 - 1) / 1.2 * 100)
    with pytest.raises(ValueError, match="ROIs"):
        tg150_uniformity(np.ones((50, 50)), (0.1, 0.1), roi_mm=10, border_mm=1)
