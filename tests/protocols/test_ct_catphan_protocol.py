"""ct.catphan end to end: synthetic CTP404 in DICOM and the real Catphan series."""

from __future__ import annotations

import pytest

import imgqa
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms import write_series
from imgqa.phantoms.ct import catphan_ctp404
from imgqa.protocols import choose_protocol, run_protocol


def test_synthetic_ctp404(tmp_path):
    images, truth = catphan_ctp404(roll_deg=2.0, slice_thickness_mm=5.0, size=400)
    write_series(images, tmp_path / "c", modality="CT", description="Head 5mm",
                 pixel_spacing_mm=0.5, slice_thickness_mm=5.0, rescale_intercept=-1024.0)
    series = imgqa.load(tmp_path / "c")[0]
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series)[0]
    assert res.value("ctp404_hu_teflon") == pytest.approx(truth["inserts"]["teflon"], abs=1.5)
    assert res.value("ctp404_hu_air") == pytest.approx(truth["inserts"]["air"], abs=1.5)
    assert res.value("ctp404_rod_distance_mean_mm") == pytest.approx(50.0, abs=0.15)
    assert res.value("ctp404_pixel_size_mm") == pytest.approx(0.5, rel=0.005)
    assert res.value("ctp404_slice_thickness_mm") == pytest.approx(5.0, abs=0.2)
    assert res.value("phantom_roll_deg") == pytest.approx(2.0, abs=0.2)


def test_real_ctp404(shared_data):
    series = imgqa.load(shared_data / "ct" / "imageqc_CTP404_FOV150")[0]
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series, slice_index=0)[0]
    # imageQCpy on slice 001: first insert (Teflon) 931 HU, 8th (air) −1006 HU, rods 50 mm,
    # ramps 4.4/4.6/4.6/4.6 mm.
    assert res.value("ctp404_hu_teflon") == pytest.approx(931, abs=3)
    assert res.value("ctp404_hu_air") == pytest.approx(-1006, abs=3)
    assert res.value("ctp404_rod_distance_mean_mm") == pytest.approx(50.0, abs=0.3)
    ramps = res.extra["ctp404"][0]["ramp_slice_thickness_mm"]
    for name, ref in (("top", 4.4), ("right", 4.6), ("bottom", 4.6), ("left", 4.6)):
        assert ramps[name] == pytest.approx(ref, abs=0.15), name
    assert abs(res.value("phantom_roll_deg")) < 2.0
    whole = run_protocol("ct.catphan", series)[0]
    assert whole.extra["modules"]["ctp404"] == [0, 1, 2]


def test_real_ctp486_and_not_catphan(shared_data):
    series = imgqa.load(shared_data / "ct" / "imageqc_CTP486")[0]
    res = run_protocol("ct.catphan", series)[0]
    assert res.value("ctp486_mean_hu_centre") == pytest.approx(13.1, abs=2.0)
    assert res.value("ctp486_noise_sd_centre") == pytest.approx(6.8, rel=0.15)
    assert res.value("ctp486_uniformity_max_deviation_hu") < 4.0
    for folder in ("imageqc_Constancy13img",):
        for s in imgqa.load(shared_data / "ct" / folder):
            with pytest.raises(PhantomNotFoundError, match="Catphan|localizer"):
                run_protocol("ct.catphan", s)
