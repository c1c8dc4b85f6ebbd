"""mg.sdnr, mg.homogeneity, mg.artefacts (issue 15): known answers of digital phantoms,
invariance to where the object lies and to the pixel size, clear errors on wrong images."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.analysis.defects import artefact_map
from imgqa.analysis.mammo import homogeneity, sdnr
from imgqa.errors import PhantomNotFoundError, WrongModalityError
from imgqa.phantoms import write_series
from imgqa.phantoms.mammo import al_square, artefact_flat, step_flat, write_mammo
from imgqa.protocols.base import run_protocol


@pytest.mark.parametrize(("centre", "rot", "px"), [
    ((0.0, 0.0), 0.0, 0.1), ((15.0, -20.0), 10.0, 0.1), ((-25.0, 18.0), 45.0, 0.1),
    ((5.0, 5.0), 30.0, 0.07), ((-10.0, 0.0), 0.0, 0.085)])
def test_sdnr_within_3_percent_anywhere(centre, rot, px):
    shape = (int(120 / px), int(100 / px))
    img, truth = al_square(shape, px, centre_mm=centre, rotation_deg=rot, seed=int(rot))
    res = sdnr(img, px, offset=truth["offset"])
    assert res.sdnr == pytest.approx(truth["sdnr"], rel=0.03)
    assert res.contrast_percent == pytest.approx(truth["contrast_percent"], rel=0.02)


@pytest.mark.parametrize(("contrast", "noise"), [(0.03, 5.0), (0.06, 20.0), (0.10, 40.0)])
def test_sdnr_over_contrast_and_noise(contrast, noise):
    img, truth = al_square(contrast=contrast, noise_sd=noise, seed=7)
    res = sdnr(img, 0.1, offset=truth["offset"], noise="acr")
    assert res.sdnr == pytest.approx(truth["sdnr"], rel=0.03)


def test_sdnr_protocol_auto_chosen_with_rois(tmp_path):
    img, truth = al_square(seed=1)
    write_mammo(img, truth, tmp_path, "QC SDNR 0.2 mm Al on PMMA")
    (r,) = imgqa.analyse(tmp_path, offset=50.0)
    assert r.protocol == "mg.sdnr"
    assert r.value("sdnr") == pytest.approx(truth["sdnr"], rel=0.03)
    assert [roi.role for roi in r.rois] == ["measure"] + ["background"] * 4


def test_flat_image_has_no_sdnr_object(tmp_path):
    rng = np.random.default_rng(0)
    write_mammo(1000 + rng.normal(0, 10, (600, 500)), {}, tmp_path, "QC SDNR")
    with pytest.raises(PhantomNotFoundError) as err:
        run_protocol("mg.sdnr", imgqa.load(tmp_path)[0])
    assert "0.2 mm Al" in err.value.message


def test_ct_image_is_refused_by_mammo_tests(tmp_path):
    write_series(np.zeros((32, 32)), tmp_path, modality="CT", description="x",
                 pixel_spacing_mm=0.5)
    for name in ("mg.sdnr", "mg.homogeneity", "mg.artefacts"):
        with pytest.raises(WrongModalityError):
            run_protocol(name, imgqa.load(tmp_path)[0])


def test_homogeneity_step_truth():
    img, truth = step_flat()
    res = homogeneity(img, 0.1, roi_mm=10.0)
    assert res.max_mean_deviation_percent == pytest.approx(8.0, abs=0.2)
    assert res.max_local_mean_deviation_percent == pytest.approx(16 / 3, abs=0.2)
    assert 8.0 <= res.max_snr_deviation_percent <= 11.0


def test_homogeneity_flat_is_flat_and_pixel_size_free():
    for px in (0.05, 0.1):
        shape = (int(180 / px), int(230 / px))
        rng = np.random.default_rng(3)
        img = 1000 + rng.normal(0, 10, shape)
        res = homogeneity(img, px, roi_mm=5.0)
        assert res.means.shape == (17, 22)
        assert res.max_mean_deviation_percent < 0.5


def test_homogeneity_protocol_maps(tmp_path):
    img, truth = step_flat((900, 1150), 0.2)
    write_mammo(img, truth, tmp_path, "QC homogeneity", pixel_mm=0.2)
    (r,) = imgqa.analyse(tmp_path)
    assert r.protocol == "mg.homogeneity"
    assert r.value("max_mean_deviation_percent") == pytest.approx(8.0, abs=0.3)
    assert {m.name for m in r.maps} == {"ROI mean", "ROI SNR"}


@pytest.mark.parametrize("seed", range(4))
def test_artefacts_found_where_planted_and_not_on_clean_noise(seed):
    img, truth = artefact_flat(seed=seed)
    res = artefact_map(img, 0.1)
    assert res.artefact_regions == 3
    found = np.array([(r, c) for r, c, _, _ in res.regions])
    for r, c in truth["artefacts_px"]:
        assert np.min(np.hypot(found[:, 0] - r, found[:, 1] - c)) < 20
    clean = (1000 * (1 + 0.08 * np.linspace(-1, 1, 1200))[:, None]
             + np.random.default_rng(seed).normal(0, 20, (1200, 1000)))
    assert artefact_map(clean, 0.1).artefact_regions == 0


def test_artefacts_protocol(tmp_path):
    img, truth = artefact_flat(seed=5)
    write_mammo(img, truth, tmp_path, "QC artefacts")
    (r,) = imgqa.analyse(tmp_path)
    assert r.protocol == "mg.artefacts"
    assert r.value("artefact_regions") == 3 and len(r.rois) == 3
    assert {m.name for m in r.maps} >= {"local deviation", "artefacts"}
