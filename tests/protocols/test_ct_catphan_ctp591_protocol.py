"""ct.catphan on CTP591 bead-ramp slices: a synthetic series written as DICOM (known SSP FWHM)
and the real Siemens Biograph128 0.6 mm helical series (imageQCpy: fine ramps 0.7 mm)."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.phantoms import write_series
from imgqa.phantoms.ct import catphan_ctp591
from imgqa.protocols import choose_protocol, run_protocol

PX = 0.41


def test_synthetic_series_round_trip(tmp_path):
    images, truth = catphan_ctp591(size=480, pixel_mm=PX, fwhm_mm=0.8,
                                   slice_z_mm=(-0.4, 0.0, 0.4), roll_deg=-4.0, noise_sd=10.0,
                                   corr_sigma_px=1.0, seed=5)
    write_series(images, tmp_path / "s", modality="CT", description="Hel body 0.8",
                 pixel_spacing_mm=PX, slice_thickness_mm=0.8, rescale_intercept=-1024.0)
    series = imgqa.load(tmp_path / "s")[0]
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series)[0]
    assert res.extra["modules"]["ctp591"] == [0, 1, 2]
    assert res.value("ctp591_slice_thickness_mm") == pytest.approx(truth["fwhm_mm"], abs=0.1)
    per_ramp = res.extra["ctp591_ramp_fwhm_mm"]
    assert per_ramp["fine_left"] == pytest.approx(0.8, abs=0.1)
    assert per_ramp["fine_right"] == pytest.approx(0.8, abs=0.1)
    assert any(r.label == "bead ramp fine_left" for r in res.rois)
    assert any("fine_left" in c.name for c in res.curves)


def test_real_ctp591_06mm(shared_data):
    series = imgqa.load(shared_data / "ct" / "imageqc_CTP591_06mm")[0]
    assert choose_protocol(series).name == "ct.catphan"
    res = run_protocol("ct.catphan", series)[0]
    assert res.extra["modules"]["ctp591"] == [0, 1, 2]
    # nominal 0.6 mm; a helical SSP is a little wider (imageQCpy, fine ramps: 0.7 / 0.7 mm)
    assert 0.55 < res.value("ctp591_slice_thickness_mm") < 0.9
    for name in ("fine_left", "fine_right"):
        assert 0.55 < res.extra["ctp591_ramp_fwhm_mm"][name] < 0.9
    # the 1 mm coarse ramps cannot resolve a 0.6 mm SSP: None, with a warning, never a number
    assert all(res.extra["ctp591_ramp_fwhm_mm"][n] is None
               for n in ("coarse_top", "coarse_bottom", "coarse_left", "coarse_right"))
    assert any("coarse ramps" in w for w in res.warnings)
    # the SSP centre moves along the fine ramps by the 0.6 mm table increment between slices:
    # this checks the 0.25 mm-per-2 mm ramp geometry on the real phantom
    pos = np.array([[s["ramps"][n]["slice_position_mm"] for n in ("fine_left", "fine_right")]
                    for s in res.extra["ctp591"]])
    assert np.abs(np.diff(pos, axis=0)).mean() == pytest.approx(0.6, abs=0.1)
