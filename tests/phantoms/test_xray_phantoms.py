"""X-ray digital phantoms: analytic truth, DICOM round trip, demo sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import demo_sets
from imgqa.phantoms.writer import read_ground_truth
from imgqa.phantoms.xray import (
    flat_field,
    gaussian_mtf,
    gaussian_mtf50,
    slanted_edge,
    write_edge,
    write_flat_field_set,
)


def test_gaussian_mtf_formula():
    sigma = 0.1
    assert float(gaussian_mtf(gaussian_mtf50(sigma), sigma)) == pytest.approx(0.5)
    assert gaussian_mtf50(sigma) == pytest.approx(math.sqrt(math.log(2) / (2 * math.pi ** 2 * 0.01)))


@pytest.mark.parametrize("orientation", [0, 90, 180, 270])
def test_edge_orientation_puts_bright_side_where_stated(orientation):
    image, truth = slanted_edge((64, 64), 0.1, angle_deg=0.0, orientation_deg=orientation,
                                sigma_mm=0.05)
    bright = {0: image[:, -1], 90: image[-1, :], 180: image[:, 0], 270: image[0, :]}[orientation]
    assert np.allclose(bright, truth["high"], atol=1e-6)
    assert truth["edge_angle_deg"] == 0.0


def test_flat_field_noise_model():
    image, truth = flat_field((256, 256), air_kerma_ugy=2.0, noise="poisson",
                              quantum_a=400, electronic_b=100, structured_c=25)
    assert image.mean() == pytest.approx(truth["mean_signal"], rel=1e-3)
    assert image.var() == pytest.approx(400 * 2 + 100 + 25 * 4, rel=0.03)


def test_demo_sets_round_trip(tmp_path):
    sets = demo_sets()
    for name in ("xray_flat_field", "xray_edge"):
        folder = sets[name](tmp_path)
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        assert size < 2_000_000
        series = imgqa.load(folder)
        assert len(series) == 1 and not series.problems
        s = series[0]
        assert s.modality == "DX"
        assert s.geometry.detector_spacing_mm == pytest.approx((0.1, 0.1))
        assert s.geometry.spacing_source == "ImagerPixelSpacing"
        truth = read_ground_truth(folder)
        assert truth["kind"] in ("flat_field", "slanted_edge")
        assert s.pixels(0).shape == (512, 512)


def test_edge_pixels_survive_writing(tmp_path):
    folder = write_edge(tmp_path / "e", modality="CR", shape=(128, 160), pixel_mm=0.15,
                        angle_deg=4.0, sigma_mm=0.2)
    image, _ = slanted_edge((128, 160), 0.15, angle_deg=4.0, sigma_mm=0.2)
    s = imgqa.load(folder)[0]
    assert s.modality == "CR"
    assert np.abs(s.pixels(0) - image).max() <= 0.5      # integer rounding only
    assert read_ground_truth(folder)["mtf50_lp_per_mm"] == pytest.approx(gaussian_mtf50(0.2))


def test_flat_field_set_headers(tmp_path):
    folders = write_flat_field_set(tmp_path / "stp", kermas_ugy=(1.0, 2.0, 4.0), shape=(64, 64))
    doses = [float(imgqa.load(f)[0].dataset(0).EntranceDoseInmGy) for f in folders]
    assert doses == pytest.approx([0.001, 0.002, 0.004])
    assert read_ground_truth(tmp_path / "stp")["air_kerma_ugy"] == [1.0, 2.0, 4.0]
