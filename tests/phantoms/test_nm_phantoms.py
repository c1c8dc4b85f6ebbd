"""NM digital phantoms: truth consistency and the DICOM round trip of the demo sets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import demo_sets, read_ground_truth
from imgqa.phantoms.nm import flood, line_sources, quadrant_bars
from imgqa.phantoms.writer import write_series


def test_flood_flat_without_pattern():
    img, truth = flood(128, 3.2, noise=False)
    assert truth["integral_uniformity"] == pytest.approx(0.0)
    assert truth["rebin_factor"] == 2
    field = img > 0
    assert np.allclose(img[field], 10_000 / 4)


def test_flood_poisson_counts_are_integers_with_right_mean():
    img, truth = flood(128, 3.2, counts_per_pixel=8_000, seed=5)
    assert np.all(img == np.round(img))
    assert img.sum() == pytest.approx(truth["total_counts_expected"], rel=0.001)


def test_line_source_truth():
    _, truth = line_sources(128, 1.0, fwhm_mm=6.0)
    assert truth["fwtm_mm"] / truth["fwhm_mm"] == pytest.approx(
        math.sqrt(math.log(10) / math.log(2)))


def test_quadrant_truth_orders_by_bar_width():
    _, truth = quadrant_bars(256, 1.0, noise=False)
    mtfs = [q["mtf_droege_morin"] for q in truth["quadrants"]]
    assert mtfs == sorted(mtfs)                     # wider bars, higher MTF
    assert all(q["mtf_droege_morin"] >= q["mtf_fundamental"] for q in truth["quadrants"])


@pytest.mark.parametrize("name", ["nm_flood", "nm_line_sources", "nm_edge"])
def test_demo_round_trip(tmp_path, name):
    folder = demo_sets()[name](tmp_path)
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 2_000_000
    truth = read_ground_truth(folder)
    series = imgqa.load(folder)
    assert len(series) == 1 and series[0].modality == "NM"
    assert series[0].pixel_spacing_mm == pytest.approx((truth["pixel_spacing_mm"],) * 2)
    (result,) = imgqa.analyse(folder)   # automatic protocol choice
    if name == "nm_flood":
        assert result.protocol == "nm.uniformity"
        assert result.value("rebinned_pixel_mm") == pytest.approx(truth["rebinned_pixel_mm"])
        assert result.value("integral_uniformity_cfov") == pytest.approx(
            truth["integral_uniformity"], abs=0.5)
    else:
        assert result.protocol == "nm.resolution"
        assert result.value("fwhm_x") == pytest.approx(truth["fwhm_mm"], rel=0.03)
        assert result.value("fwhm_y") is None


def test_multiframe_write_and_load(tmp_path):
    a, _ = flood(64, 6.4, noise=False)
    paths = write_series(np.stack([a, a * 1.01]), tmp_path, modality="NM", description="flood",
                         pixel_spacing_mm=6.4, multiframe=True)
    s = imgqa.load(paths)[0]
    assert len(s) == 2
    assert np.allclose(s.pixels(1), np.rint(a * 1.01))
