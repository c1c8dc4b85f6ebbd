"""ct.catphan end to end on a synthetic 4-module Catphan series (CTP404, CTP528, CTP515,
CTP486) written as DICOM, and the automatic choice of ct.catphan for the real CTP486 slices."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import write_series
from imgqa.phantoms.ct import catphan_ctp404, catphan_ctp486, catphan_ctp515, catphan_ctp528
from imgqa.protocols import choose_protocol, run_protocol

PX = 0.5
SIZE = 440
ROLL = 3.0


@pytest.fixture(scope="module")
def catphan_series(tmp_path_factory):
    c404, t404 = catphan_ctp404(size=SIZE, pixel_mm=PX, roll_deg=ROLL)
    c528, t528 = catphan_ctp528(size=SIZE, pixel_mm=PX, roll_deg=ROLL, sigma_mm=0.6, seed=1)
    c515, t515 = catphan_ctp515(size=SIZE, pixel_mm=PX, roll_deg=ROLL, noise_sd=3.0, seed=2)
    c486, t486 = catphan_ctp486(size=SIZE, pixel_mm=PX, noise_sd=5.0, seed=3)
    folder = tmp_path_factory.mktemp("catphan") / "s"
    write_series(np.concatenate([c404, c528, c515, c486]), folder, modality="CT",
                 description="Head 5mm", pixel_spacing_mm=PX, slice_thickness_mm=5.0,
                 rescale_intercept=-1024.0)
    return imgqa.load(folder)[0], {"404": t404, "528": t528, "515": t515, "486": t486}


def test_all_modules_found_and_measured(catphan_series):
    series, truth = catphan_series
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series)[0]
    assert res.extra["modules"] == {"ctp404": [0], "ctp528": [1], "ctp515": [2],
                                    "ctp486": [3], "ctp591": []}
    assert res.value("phantom_roll_deg") == pytest.approx(ROLL, abs=0.2)
    # stored as integers (1 HU rounding) after the DICOM round trip: same tolerances as the
    # kernel tests
    assert res.value("ctp528_mtf50_lp_per_cm") == pytest.approx(
        truth["528"]["mtf50_lp_per_cm"], rel=0.03)
    assert res.value("ctp528_mtf10_lp_per_cm") == pytest.approx(
        truth["528"]["mtf10_lp_per_cm"], rel=0.03)
    assert res.extra["ctp528"][0]["rotation_deg"] == pytest.approx(ROLL, abs=0.3)
    for name in ("ctp515_cnr_1p0_15mm", "ctp515_cnr_0p5_15mm", "ctp515_cnr_0p3_9mm"):
        t = truth["515"]["targets"][name]["cnr"]
        assert res.value(name) == pytest.approx(t, abs=0.35), name
    assert 0 < res.value("ctp515_visible_targets") <= 27
    assert res.value("ctp486_mean_hu_centre") == pytest.approx(10.0, abs=1.0)
    assert res.value("ctp486_noise_sd_centre") == pytest.approx(5.0, rel=0.1)
    labels = {r.label for r in res.rois}
    assert {"1 lp/cm", "21 lp/cm", "1p0_15mm", "0p3_2mm"} <= labels


def test_real_ctp486_claimed_by_catphan(shared_data):
    series = imgqa.load(shared_data / "ct" / "imageqc_CTP486")[0]
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series)[0]
    assert res.extra["modules"]["ctp486"] == [0, 1, 2]
    assert not res.extra["modules"]["ctp515"] and not res.extra["modules"]["ctp528"]
    assert not res.extra["modules"]["ctp591"]
    for s in imgqa.load(shared_data / "ct" / "imageqc_Constancy13img"):
        if "vann" in s.header.series_description:
            assert choose_protocol(s).name == "ct.water"


@pytest.mark.parametrize("op", ["fliplr", "rot90"])
def test_mirrored_or_turned_series_is_measured_and_said(tmp_path, op):
    """A feet-first/head-first mix-up mirrors every slice, a phantom mounted a quarter turn
    off turns them: the inserts keep their materials (kernel), every module is still found
    (its own full rotation search) and the technologist is told."""
    c404, _ = catphan_ctp404(size=SIZE, pixel_mm=PX, roll_deg=ROLL)
    c528, t528 = catphan_ctp528(size=SIZE, pixel_mm=PX, roll_deg=ROLL, sigma_mm=0.6, seed=1)
    c515, _ = catphan_ctp515(size=SIZE, pixel_mm=PX, roll_deg=ROLL, noise_sd=3.0, seed=2)
    c486, _ = catphan_ctp486(size=SIZE, pixel_mm=PX, noise_sd=5.0, seed=3)
    stack = np.concatenate([c404, c528, c515, c486])
    stack = stack[:, :, ::-1] if op == "fliplr" else np.rot90(stack, 1, axes=(1, 2))
    write_series(np.ascontiguousarray(stack), tmp_path / "s", modality="CT",
                 description="Head 5mm", pixel_spacing_mm=PX, slice_thickness_mm=5.0,
                 rescale_intercept=-1024.0)
    res = run_protocol("ct.catphan", imgqa.load(tmp_path / "s")[0])[0]
    assert res.extra["modules"] == {"ctp404": [0], "ctp528": [1], "ctp515": [2],
                                    "ctp486": [3], "ctp591": []}
    assert res.value("ctp404_hu_teflon") == pytest.approx(990.0, abs=15.0)
    assert res.value("ctp528_mtf50_lp_per_cm") == pytest.approx(
        t528["mtf50_lp_per_cm"], rel=0.03)
    said = " ".join(res.warnings)
    assert ("mirrored" in said) == (op == "fliplr")
    assert ("turned by" in said) == (op == "rot90")
