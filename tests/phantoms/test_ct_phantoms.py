"""CT digital phantoms: the generators' truth is self-consistent and survives a DICOM round trip."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import demo_sets, read_ground_truth
from imgqa.phantoms.ct import (
    catphan_ctp404,
    correlated_noise,
    gaussian_mtf_frequency,
    rod_phantom,
    water_phantom,
    wire_phantom,
)


def test_gaussian_mtf_frequency_matches_definition():
    sigma = 0.37
    for level in (0.5, 0.1):
        f = gaussian_mtf_frequency(sigma, level)
        assert np.exp(-2 * np.pi ** 2 * sigma ** 2 * f ** 2) == pytest.approx(level, rel=1e-12)


@pytest.mark.parametrize("corr", [0.0, 1.5])
def test_correlated_noise_has_requested_sd(corr):
    noise = correlated_noise((4, 256, 256), 7.0, corr_sigma_px=corr,
                             rng=np.random.default_rng(3))
    # 260k samples (fewer independent ones when correlated): SD within 2 %.
    assert noise.std() == pytest.approx(7.0, rel=0.02)


def test_water_phantom_values_where_expected():
    images, truth = water_phantom(size=128, pixel_mm=2.0, noise_sd=0.0, cupping_hu=10.0,
                                  water_hu=3.0, offset_mm=(10.0, -20.0))
    r, c = truth["centre_rc"]
    assert images[0, int(round(r)), int(round(c))] == pytest.approx(3.0, abs=0.1)
    assert images[0, 0, 0] == -1000.0
    # Expected edge ROI mean is above the centre by (d² + a²/2 − a²/2)/r_w² · cupping.
    assert truth["mean_hu_12"] > truth["mean_hu_centre"]
    assert truth["uniformity_max_deviation_hu"] < 10.0


def test_wire_and_rod_truth():
    images, truth = wire_phantom(size=64, noise_sd=0.0)
    r, c = truth["wire_rc"]
    peak = np.unravel_index(np.argmax(images[0]), images[0].shape)
    assert abs(peak[0] - r) <= 0.5 and abs(peak[1] - c) <= 0.5
    rod, rt = rod_phantom(size=96, noise_sd=0.0)
    r, c = rt["rod_rc"]
    assert rod[0, int(round(r)), int(round(c))] == pytest.approx(rt["contrast_hu"], abs=1.0)
    assert rod[0, 0, 0] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("pixel_mm", [0.4, 0.5, 0.55, 0.6, 0.98])
@pytest.mark.parametrize("roll", [0.0, 2.0])
def test_ctp404_ramp_and_rods_drawn_right_at_any_pixel_size(pixel_mm, roll):
    """Independent check of the CTP404 drawing (noise-free): the ramp line is 1 mm × 300 HU,
    so its integral across (here down the columns, through a line at `roll` to the rows) is
    300 / cos(roll) HU·mm at every column of its plateau, and its total is 300 HU × 1 mm × L
    with L = T / 0.42; each air rod's deficit centroid is the rod centre. (A pixel-centre mask
    drew the line one or two pixels wide — 165/330 HU·mm at 0.55 mm pixels — and moved the
    rods by up to 0.35 mm at 0.98 mm.)"""
    thickness = 5.0
    size = int(round(150 / pixel_mm))
    images, truth = catphan_ctp404(size=size, pixel_mm=pixel_mm, roll_deg=roll,
                                   slice_thickness_mm=thickness, noise_sd=0.0)
    img = images[0] - 100.0
    r0, c0 = truth["centre_rc"]
    # top ramp: 38 mm above the centre, running along the columns
    row = int(round(r0 - 38.0 * np.cos(np.deg2rad(roll)) / pixel_mm))
    band = img[row - int(4 / pixel_mm):row + int(4 / pixel_mm) + 1]
    per_col = band.sum(axis=0) * pixel_mm
    length = thickness / 0.42
    # position along the ramp (tangent (sin roll, cos roll), centre 38 mm out, 3 mm along)
    x = (np.arange(size) - c0) * pixel_mm
    u = (x - 38.0 * np.sin(np.deg2rad(roll))) / np.cos(np.deg2rad(roll))
    plateau = np.abs(u - 3.0) < length / 2 - 1.5
    assert per_col[plateau] == pytest.approx(300.0 / np.cos(np.deg2rad(roll)), rel=0.01)
    ramp_cols = np.abs(u - 3.0) < length / 2 + 3.0
    assert per_col[ramp_cols].sum() * pixel_mm == pytest.approx(300.0 * length, rel=0.01)
    for a in (45.0, 135.0, 225.0, 315.0):
        t = np.deg2rad(a + roll)
        rc = np.array([r0, c0]) + 25.0 * np.sqrt(2) / pixel_mm * np.array([np.sin(t), np.cos(t)])
        n = int(np.ceil(3.0 / pixel_mm))
        rr, cc = np.mgrid[-n:n + 1, -n:n + 1] + np.round(rc).astype(int)[:, None, None]
        w = np.clip(-img[rr, cc], 0.0, None)           # 1100 HU deficit inside the rod
        cent = np.array([(w * rr).sum(), (w * cc).sum()]) / w.sum()
        assert np.hypot(*(cent - rc)) * pixel_mm < 0.02


@pytest.mark.parametrize("name", ["ct_water", "ct_wire", "ct_catphan"])
def test_demo_round_trip(tmp_path, name):
    maker = demo_sets()[name]
    folder = maker(tmp_path)
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 2_000_000
    series = imgqa.load(folder)
    assert len(series) == 1
    s = series[0]
    truth = read_ground_truth(folder)
    px = truth["parameters"]["pixel_mm"]
    assert s.modality == "CT"
    assert s.pixel_spacing_mm == pytest.approx((px, px))
    assert s.dataset(0).RescaleIntercept == -1024
    assert len(s) == truth["parameters"]["n_slices"]
    # Pixels in HU after the rescale.
    img = s.pixels(0)
    if name == "ct_catphan":
        # CTP486 slice: module at its known HU in the centre, air outside
        r, c = (int(round(v)) for v in truth["ctp486"]["centre_rc"])
        img = s.pixels(3)
        assert np.median(img[r - 10:r + 10, c - 10:c + 10]) == pytest.approx(
            truth["ctp486"]["ctp486_mean_hu_centre"], abs=3.0)
        assert np.median(img[:4, :4]) == pytest.approx(-1000.0, abs=30.0)
    elif name == "ct_water":
        assert np.median(img[:4, :4]) == pytest.approx(-1000.0, abs=30.0)
        r, c = (int(round(v)) for v in truth["centre_rc"])
        assert np.median(img[r - 5:r + 5, c - 5:c + 5]) == pytest.approx(0.0, abs=5.0)
    else:
        p = truth["parameters"]
        assert np.median(img[:8, :8]) == pytest.approx(p["background_hu"], abs=5.0)
        assert img.max() == pytest.approx(p["background_hu"] + p["peak_hu"], rel=0.15)
