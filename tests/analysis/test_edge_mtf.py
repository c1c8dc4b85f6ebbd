"""Slanted-edge MTF against the analytic MTF of Gaussian-blurred, point-sampled edges."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.edge_mtf import find_edge, mtf_at, mtf_crossing, slanted_edge_mtf
from imgqa.phantoms.xray import gaussian_mtf, slanted_edge


@pytest.mark.parametrize("orientation", [0, 90, 180, 270])
@pytest.mark.parametrize("angle", [1.5, 3.0, -5.0, 8.0])
@pytest.mark.parametrize("noise", [0.0, 10.0])
def test_mtf50_within_2_percent_of_analytic(orientation, angle, noise):
    sigma = 0.1 if angle != 3.0 else 0.15
    image, truth = slanted_edge((384, 384), 0.1, angle_deg=angle, orientation_deg=orientation,
                                sigma_mm=sigma, noise_sd=noise, seed=orientation + 7)
    res = slanted_edge_mtf(image, (0.1, 0.1))
    assert res.mtf50 == pytest.approx(truth["mtf50_lp_per_mm"], rel=0.02)
    # MTF10 sits where the noise dominates: looser with noise
    assert res.mtf10 == pytest.approx(truth["mtf10_lp_per_mm"], rel=0.06 if noise else 0.01)
    assert abs(res.edge.angle_deg) == pytest.approx(abs(angle), abs=0.05)
    assert res.edge.vertical == (orientation in (0, 180))
    assert res.warnings == ()


@pytest.mark.parametrize("sigma", [0.05, 0.2, 0.3])
def test_whole_curve_matches_analytic(sigma):
    image, _ = slanted_edge((512, 512), 0.1, angle_deg=2.5, sigma_mm=sigma)
    res = slanted_edge_mtf(image, (0.1, 0.1))
    expected = gaussian_mtf(res.frequency, sigma)
    assert np.max(np.abs(res.mtf - expected)) < 0.01
    assert res.frequency[-1] == pytest.approx(5.0)            # reported to Nyquist
    assert mtf_at(res, 1.0) == pytest.approx(float(gaussian_mtf(1.0, sigma)), abs=0.01)
    assert mtf_at(res, 6.0) is None                             # beyond Nyquist
    assert mtf_crossing(res, 0.5) == res.mtf50


def test_anisotropic_pixels_use_mm():
    image, truth = slanted_edge((300, 500), (0.15, 0.1), angle_deg=4.0, orientation_deg=0,
                                sigma_mm=0.12)
    res = slanted_edge_mtf(image, (0.15, 0.1))
    assert abs(res.edge.angle_deg) == pytest.approx(4.0, abs=0.05)
    assert res.mtf50 == pytest.approx(truth["mtf50_lp_per_mm"], rel=0.02)
    assert res.nyquist == pytest.approx(5.0)


def test_windows_and_oversampling_agree_on_clean_edge():
    image, truth = slanted_edge((384, 384), 0.1, angle_deg=3.3, sigma_mm=0.1)
    for window in ("tukey", "hann", "none"):
        for n in (4, 8):
            res = slanted_edge_mtf(image, (0.1, 0.1), window=window, oversampling=n)
            assert res.mtf50 == pytest.approx(truth["mtf50_lp_per_mm"], rel=0.01)


def test_small_angle_warns():
    image, _ = slanted_edge((256, 256), 0.1, angle_deg=0.4, sigma_mm=0.1)
    res = slanted_edge_mtf(image, (0.1, 0.1))
    assert any("edge angle 0.4°: too close to the pixel grid" in w for w in res.warnings)


def test_edge_not_centred_and_band_of_opposite_edges():
    # a dark band with two edges: the longer, straighter one is chosen and the other ignored
    image, truth = slanted_edge((400, 400), 0.1, angle_deg=3.0, orientation_deg=90, sigma_mm=0.1)
    image[:60] = image[-1, 0]          # a second (horizontal, untilted) edge near the top
    res = slanted_edge_mtf(image, (0.1, 0.1))
    assert res.mtf50 == pytest.approx(truth["mtf50_lp_per_mm"], rel=0.02)


def test_flat_image_has_no_edge():
    with pytest.raises(ValueError, match="no edge"):
        find_edge(np.full((128, 128), 100.0), (0.1, 0.1))
    with pytest.raises(ValueError):
        slanted_edge_mtf(np.zeros((10, 10)), (0.1, 0.1))


def test_iec_core_helpers_equal_their_numpy_definitions():
    # binned_esf / presampled_mtf / nyquist_band (shared with mr.magnet) keep the arithmetic
    # of the formulas they replace: np.gradient, np.interp over the filled bins, a mask cut
    from imgqa.analysis.edge_mtf import _window, binned_esf, nyquist_band, presampled_mtf

    rng = np.random.default_rng(3)
    h, nb = 0.05, 40
    for gap in (False, True):
        dist = rng.uniform(-2.1, 2.1, 3000)
        if gap:     # empty bins: interpolated
            dist = dist[np.abs(dist - 0.5) > 0.08]
        vals = 100 + 50 * np.tanh(dist / 0.3) + rng.normal(0, 1, dist.size)
        x, esf, empty = binned_esf(dist, vals, h, nb)
        assert (empty > 0) is gap
        idx = np.rint(dist[np.abs(dist) <= (nb + 0.5) * h] / h).astype(int) + nb
        counts = np.bincount(idx, minlength=2 * nb + 1)
        sums = np.bincount(idx, vals[np.abs(dist) <= (nb + 0.5) * h], minlength=2 * nb + 1)
        filled = counts > 0
        np.testing.assert_array_equal(esf, np.interp(x, x[filled], sums[filled] / counts[filled]))
        lsf, f_full, m_full = presampled_mtf(x, esf, h, "hann")
        np.testing.assert_array_equal(lsf, np.gradient(esf, h))
        spec = np.abs(np.fft.rfft(lsf * _window(x / (x[-1] + h), "hann")))
        freq = np.fft.rfftfreq(x.size, d=h)
        corr = np.sinc(freq * h) * np.sinc(2 * freq * h)
        np.testing.assert_array_equal(f_full, freq[corr > 0.2])
        np.testing.assert_array_equal(m_full, (spec / spec[0])[corr > 0.2] / corr[corr > 0.2])
        f, m = nyquist_band(f_full, m_full, f_full[5])      # Nyquist on the grid
        np.testing.assert_array_equal(f, f_full[:6])
        np.testing.assert_array_equal(m, m_full[:6])
        nyq = 0.5 * (f_full[5] + f_full[6])                  # between two frequencies
        f, m = nyquist_band(f_full, m_full, nyq)
        np.testing.assert_array_equal(f, np.append(f_full[:6], nyq))
        np.testing.assert_array_equal(m, np.append(m_full[:6], np.interp(nyq, f_full, m_full)))
