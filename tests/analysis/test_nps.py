"""NPS kernel against analytic answers: white noise is flat at σ²·Δx·Δy; Parseval holds."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.nps import (
    axis_profiles,
    detrend_rois,
    extract_rois,
    nps_2d,
    nps_mean_frequency,
    radial_profile,
    value_at,
)


@pytest.mark.parametrize("detrend", ["mean", "plane", "poly2"])
@pytest.mark.parametrize("pixel_mm", [(0.1, 0.1), (0.15, 0.08)])
def test_white_noise_nps_equals_sigma2_dxdy(detrend, pixel_mm):
    rng = np.random.default_rng(1)
    sigma = 3.0
    rois = rng.normal(100.0, sigma, (80, 64, 64))
    res = nps_2d(rois, pixel_mm, detrend=detrend)
    expected = sigma ** 2 * pixel_mm[0] * pixel_mm[1]
    f, prof = radial_profile(res, exclude_axes=True)
    # away from zero frequency (where detrending removes power) the NPS is flat
    sel = f > 0.1 * f.max()
    assert np.mean(prof[sel]) == pytest.approx(expected, rel=0.05)
    fa, nx, ny = axis_profiles(res)
    assert np.mean(nx[1:]) == pytest.approx(expected, rel=0.05)
    assert np.mean(ny[1:]) == pytest.approx(expected, rel=0.05)
    assert res.fx.size == 64 and res.nps.shape == (64, 64)


@pytest.mark.parametrize("detrend", ["mean", "plane", "poly2"])
def test_integral_equals_variance(detrend):
    rng = np.random.default_rng(2)
    rois = rng.normal(0, 1.7, (10, 48, 40)) + np.linspace(0, 5, 40)[None, None, :]
    res = nps_2d(rois, (0.2, 0.1), detrend=detrend)
    assert res.integral() == pytest.approx(res.variance, rel=1e-10)
    if detrend != "mean":
        # the linear ramp is removed by plane and poly2 detrending
        assert res.variance == pytest.approx(1.7 ** 2, rel=0.05)


def test_detrend_removes_polynomials_exactly():
    y, x = np.mgrid[0:32, 0:32].astype(float)
    plane = 3 + 0.2 * x - 0.5 * y
    quad = plane + 0.01 * x * x - 0.02 * x * y
    assert np.abs(detrend_rois(plane[None], "plane")).max() < 1e-9
    assert np.abs(detrend_rois(quad[None], "poly2")).max() < 1e-9
    assert np.abs(detrend_rois(quad[None], "plane")).max() > 1e-3


def test_correlated_noise_shape_is_recovered():
    # noise filtered by a 3-tap [1,2,1]/4 kernel along x has NPS ∝ cos⁴(π f Δx)
    rng = np.random.default_rng(3)
    white = rng.normal(0, 1, (60, 64, 66))
    filt = (white[:, :, :-2] + 2 * white[:, :, 1:-1] + white[:, :, 2:]) / 4
    res = nps_2d(filt, (0.1, 0.1), detrend="mean")
    f, nx, _ = axis_profiles(res)
    expected = 0.01 * np.cos(np.pi * f * 0.1) ** 4
    sel = (f > 0.5) & (f < 3.0)
    assert np.allclose(nx[sel], expected[sel], rtol=0.12, atol=2e-4)
    fr, pr = radial_profile(res)
    assert 0 < nps_mean_frequency(fr, pr) < 5.0


def test_extract_rois_tiling_and_mask():
    img = np.arange(100 * 120, dtype=float).reshape(100, 120)
    rois = extract_rois(img, 20, overlap=0.5)
    assert rois.shape == (9 * 11, 20, 20)
    assert np.array_equal(rois[1], img[0:20, 10:30])
    mask = np.zeros_like(img, bool)
    mask[10:70, 10:90] = True
    inside = extract_rois(img, 20, overlap=0.5, mask=mask)
    assert inside.shape[0] == 5 * 7
    assert np.array_equal(inside[0], img[10:30, 10:30])
    assert extract_rois(img, 200).shape == (0, 200, 200)


def test_value_at_and_bad_input():
    assert value_at(np.array([0.0, 1.0]), np.array([0.0, 2.0]), 0.5) == 1.0
    assert value_at(np.array([0.0, 1.0]), np.array([0.0, 2.0]), 2.0) is None
    with pytest.raises(ValueError):
        nps_2d(np.zeros((2, 2)), (0.1, 0.1))
    with pytest.raises(ValueError):
        nps_2d(np.zeros((8, 8)), (0.1, 0.1), detrend="cubic")
    with pytest.raises(ValueError):
        nps_2d(np.full((8, 8), np.nan), (0.1, 0.1))
