"""MR digital phantoms: demo set round trip."""

from __future__ import annotations

import numpy as np

import imgqa
from imgqa.phantoms import demo_sets
from imgqa.phantoms.mr import acr_phantom
from imgqa.phantoms.writer import read_ground_truth


def test_mr_acr_demo_round_trip(tmp_path):
    folder = demo_sets()["mr_acr"](tmp_path)
    size = sum(p.stat().st_size for p in folder.iterdir())
    assert size < 2 * 1024 * 1024
    series = imgqa.load(folder)[0]
    assert series.modality == "MR" and len(series) == 11
    assert series.pixel_spacing_mm == (250 / 256, 250 / 256) or \
        np.allclose(series.pixel_spacing_mm, 250 / 256, atol=1e-5)
    assert series.header.field_strength_t == 1.5
    truth = read_ground_truth(folder)
    images, _ = acr_phantom(slice_thickness_mm=5.0, bar_difference_mm=2.0, rotation_deg=1.0,
                            noise_sd=8.0, noise="rician")
    assert np.abs(series.pixels(6) - np.clip(np.rint(images[6]), 0, 65535)).max() <= 0.5
    assert truth["slice_thickness_mm"] == 5.0 and truth["bar_difference_mm"] == 2.0
    r = imgqa.analyse(folder, "mr.acr")[0]
    assert abs(r.value("slice_thickness_mm") - 5.0) < 0.2
