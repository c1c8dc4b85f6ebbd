"""xray.exposure_index (issue 15): IEC 62494-1 EI within 1 % of a known detector calibration,
DI = 10·log10(EI/EI_T), header values when the modality writes them, clear errors otherwise."""

from __future__ import annotations

import math

import numpy as np
import pytest

import imgqa
from imgqa.analysis.exposure_index import central_roi, deviation_index
from imgqa.errors import AnalysisError
from imgqa.phantoms.xray import write_ei_flat_field, write_flat_field
from imgqa.protocols.base import analyse_series, run_protocol


@pytest.mark.parametrize(("kerma", "calibration", "slope", "intercept"), [
    (0.8, "linear", 400.0, 100.0), (2.5, "linear", 250.0, 0.0), (10.0, "linear", 120.0, 500.0),
    (1.2, "log", 1000.0, 2000.0), (6.3, "log", 500.0, 1500.0)])
def test_ei_recovers_the_calibration_within_1_percent(tmp_path, kerma, calibration, slope,
                                                      intercept):
    write_ei_flat_field(tmp_path, air_kerma_ugy=kerma, calibration=calibration, cal_slope=slope,
                        cal_intercept=intercept, ramp=0.05, seed=int(kerma * 10))
    (r,) = run_protocol("xray.exposure_index", imgqa.load(tmp_path)[0], calibration=calibration,
                        cal_slope=slope, cal_intercept=intercept, target_exposure_index=250.0)
    assert r.value("exposure_index") == pytest.approx(100 * kerma, rel=0.01)
    assert r.value("deviation_index") == pytest.approx(10 * math.log10(100 * kerma / 250.0),
                                                       abs=0.05)
    assert r.rois and r.rois[0].shape == "rect"


@pytest.mark.parametrize("pixel_mm", [0.05, 0.1, 0.2])
def test_ei_does_not_depend_on_pixel_size(tmp_path, pixel_mm):
    write_ei_flat_field(tmp_path, pixel_mm=pixel_mm, air_kerma_ugy=3.0)
    (r,) = run_protocol("xray.exposure_index", imgqa.load(tmp_path)[0], cal_slope=400.0,
                        cal_intercept=100.0)
    assert r.value("exposure_index") == pytest.approx(300.0, rel=0.01)


def test_central_roi_covers_ten_percent():
    r0, c0, r1, c1 = central_roi((854, 1200))
    assert (r1 - r0) * (c1 - c0) / (854 * 1200) == pytest.approx(0.10, rel=0.01)
    assert abs((r0 + r1) / 2 - 427) <= 1 and abs((c0 + c1) / 2 - 600) <= 1


def test_header_exposure_index_is_used_and_auto_chosen(tmp_path):
    write_ei_flat_field(tmp_path, air_kerma_ugy=2.0,
                        header={"ExposureIndex": 210.0, "TargetExposureIndex": 250.0})
    (r,) = analyse_series(imgqa.load(tmp_path)[0])
    assert r.protocol == "xray.exposure_index"
    assert r.value("exposure_index") == 210.0
    assert r.value("deviation_index") == pytest.approx(deviation_index(210.0, 250.0))
    assert r.extra["ei_source"].startswith("header")


def test_image_without_header_ei_or_calibration_is_refused_in_plain_words(tmp_path):
    write_flat_field(tmp_path / "f", shape=(64, 64))
    series = imgqa.load(tmp_path / "f")[0]
    with pytest.raises(AnalysisError) as err:
        run_protocol("xray.exposure_index", series, source="image")
    assert "no detector calibration" in err.value.message and "cal_slope" in err.value.hint


def test_real_intraoral_flat_field(shared_data):
    """The Sirona flat field has no EI in its header; with a linear calibration the EI is
    100·(V − b)/a of the central ROI mean, which the test computes independently."""
    path = shared_data / "xray" / "intraoral" / "flatfield_60kV.dcm"
    series = imgqa.load(path)[0]
    img = np.asarray(series.pixels(0), dtype=float)
    (r,) = run_protocol("xray.exposure_index", series, cal_slope=10.0, cal_intercept=0.0)
    rows, cols = img.shape
    h, w = round(rows * 0.1 ** 0.5), round(cols * 0.1 ** 0.5)
    voi = img[(rows - h) // 2:(rows - h) // 2 + h, (cols - w) // 2:(cols - w) // 2 + w].mean()
    assert r.value("exposure_index") == pytest.approx(100 * voi / 10.0, rel=1e-9)
    assert 0 < r.value("exposure_index") < 1e6
