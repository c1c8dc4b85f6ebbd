"""ct.mtf_wire, ct.ttf and ct.nps end to end: DICOM phantoms with known truth, real images."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms import demo_sets, read_ground_truth, write_series
from imgqa.phantoms.ct import rod_phantom, water_phantom
from imgqa.protocols import choose_protocol, run_protocol


def _write(tmp_path, images, px, desc):
    write_series(images, tmp_path / "s", modality="CT", description=desc, pixel_spacing_mm=px,
                 slice_thickness_mm=2.0, rescale_intercept=-1024.0)
    return imgqa.load(tmp_path / "s")[0]


def test_wire_demo_truth(tmp_path):
    folder = demo_sets()["ct_wire"](tmp_path)
    truth = read_ground_truth(folder)
    series = imgqa.load(folder)[0]
    assert choose_protocol(series).name == "ct.mtf_wire"
    res = run_protocol("ct.mtf_wire", series)[0]
    assert res.value("mtf50") == pytest.approx(truth["mtf50"], rel=0.03)
    assert res.value("mtf10") == pytest.approx(truth["mtf10"], rel=0.03)
    assert res.value("mtf50_x") == pytest.approx(truth["mtf50"], rel=0.03)
    assert res.value("mtf50_y") == pytest.approx(truth["mtf50"], rel=0.03)
    assert {c.name for c in res.curves} >= {"MTF (radial)", "MTF x", "MTF y"}


def test_ttf_dicom_truth(tmp_path):
    images, truth = rod_phantom(size=128, pixel_mm=0.5, sigma_mm=0.6, noise_sd=3.0,
                                n_slices=2)
    series = _write(tmp_path, images, 0.5, "rod")
    res = run_protocol("ct.ttf", series)[0]
    assert res.value("mtf50") == pytest.approx(truth["mtf50"], rel=0.05)
    assert res.value("mtf10") == pytest.approx(truth["mtf10"], rel=0.05)
    assert res.value("contrast_hu") == pytest.approx(truth["contrast_hu"], abs=5.0)
    # A user-given centre near the rod gives the same answer.
    r, c = truth["rod_rc"]
    res2 = run_protocol("ct.ttf", series, rod_row=r + 2, rod_col=c - 2)[0]
    assert res2.value("mtf50") == pytest.approx(res.value("mtf50"), rel=0.01)


def _expected_f_avg(f_grid, nps_of_f):
    """TG-233 f_avg of an analytic radial NPS sampled on the method's frequency grid (f > 0:
    the mean-detrended ROIs have no power at zero frequency)."""
    f = f_grid[f_grid > 0]
    p = nps_of_f(f)
    return float((f * p).sum() / p.sum())


def test_nps_white_and_correlated_noise(tmp_path):
    px = 0.8
    kw = {"roi_size_mm": 50.0, "region_fraction": 0.8, "detrend": "mean"}
    # White noise: flat NPS; noise magnitude = the known SD.
    images, _ = water_phantom(size=256, pixel_mm=px, noise_sd=12.0, n_slices=3, seed=4)
    res = run_protocol("ct.nps", _write(tmp_path / "w", images, px, "water"), **kw)[0]
    assert res.value("noise_sd_hu") == pytest.approx(12.0, rel=0.03)
    assert res.value("mean_hu") == pytest.approx(0.0, abs=0.5)
    f_grid = res.curves[0].x
    flat = _expected_f_avg(f_grid, np.ones_like)
    assert res.value("nps_f_avg") == pytest.approx(flat, rel=0.05)
    # Correlated noise (Gaussian filter of σ = 1.5 px): NPS ∝ exp(−4π²σ²f²).
    images, _ = water_phantom(size=256, pixel_mm=px, noise_sd=12.0, corr_sigma_px=1.5,
                              n_slices=3, seed=5)
    res = run_protocol("ct.nps", _write(tmp_path / "c", images, px, "water"), **kw)[0]
    assert res.value("noise_sd_hu") == pytest.approx(12.0, rel=0.05)
    a = 4 * np.pi ** 2 * (1.5 * px) ** 2
    expected = _expected_f_avg(res.curves[0].x, lambda f: np.exp(-a * f * f))
    assert res.value("nps_f_avg") == pytest.approx(expected, rel=0.1)
    assert res.value("nps_f_peak") < 0.15


def test_wrong_input_messages(tmp_path):
    images, _ = water_phantom(size=128, pixel_mm=1.8, n_slices=1)
    series = _write(tmp_path, images, 1.8, "water")
    with pytest.raises(PhantomNotFoundError, match="wire"):
        run_protocol("ct.mtf_wire", series)
    with pytest.raises(PhantomNotFoundError, match="rod insert"):
        run_protocol("ct.ttf", series)


def test_real_wires(shared_data):
    s = imgqa.load(shared_data / "ct" / "imageqc_Wire_FOV50")[0]
    res = run_protocol("ct.mtf_wire", s)[0]
    # imageQCpy: x 50 % = 1.1 lp/mm (10 %: 1.5; see docs/ct.md for the difference).
    assert res.value("mtf50_x") == pytest.approx(1.1, abs=0.1)
    assert 1.2 < res.value("mtf10") < 1.6
    rev = imgqa.load(shared_data / "ct" / "wire_mtf_revolution")[0]
    res = run_protocol("ct.mtf_wire", rev, slice_index=16)[0]
    assert 0.5 < res.value("mtf50") < 1.2   # BONEPLUS kernel, 0.29 mm pixels


def test_real_ttf_and_nps(shared_data):
    s = imgqa.load(shared_data / "ct" / "imageqc_CTP404_FOV150")[0]
    res = run_protocol("ct.ttf", s, polarity="positive")[0]   # Teflon
    # imageQCpy Teflon MTF50/10 = 0.36/0.66 lp/mm.
    assert res.value("mtf50") == pytest.approx(0.36, rel=0.15)
    assert res.value("mtf10") == pytest.approx(0.66, rel=0.15)
    assert res.value("contrast_hu") > 700
    s = imgqa.load(shared_data / "ct" / "imageqc_CTP486")[0]
    res = run_protocol("ct.nps", s, slice_index=0)[0]
    # imageQCpy: ROI SD 6.8 HU, mean 13.1 HU, NPS median frequency 0.3 /mm.
    assert res.value("noise_sd_hu") == pytest.approx(6.8, rel=0.15)
    assert res.value("mean_hu") == pytest.approx(13.1, abs=1.5)
    assert res.value("nps_f_median") == pytest.approx(0.3, abs=0.08)
