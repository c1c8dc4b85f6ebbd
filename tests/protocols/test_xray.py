"""xray.* protocols end to end: DICOM phantoms with known answers, real images, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.errors import (
    AnalysisError,
    MissingSpacingError,
    ParameterError,
    PhantomNotFoundError,
    WrongModalityError,
)
from imgqa.phantoms.writer import write_series
from imgqa.phantoms.xray import (
    flat_field,
    gain_pattern,
    write_edge,
    write_flat_field,
    write_flat_field_set,
)
from imgqa.protocols.base import choose_protocol, get_protocol, run_protocol


def _one(folder):
    series = imgqa.load(folder)
    assert len(series) == 1, series.problems
    return series[0]


# -- xray.mtf_edge -----------------------------------------------------------------------------
@pytest.mark.parametrize("modality,orientation,angle", [("DX", 0, 2.0), ("CR", 90, -3.5),
                                                         ("MG", 180, 6.0), ("IO", 270, 1.5)])
def test_mtf_edge_recovers_analytic_mtf(tmp_path, modality, orientation, angle):
    folder = write_edge(tmp_path / "edge", modality=modality, shape=(384, 384), pixel_mm=0.1,
                        angle_deg=angle, orientation_deg=orientation, sigma_mm=0.1, noise_sd=5.0)
    truth = imgqa.phantoms.read_ground_truth(folder)
    s = _one(folder)
    assert choose_protocol(s).name == "xray.mtf_edge"
    (res,) = run_protocol("xray.mtf_edge", s)
    assert res.value("mtf50") == pytest.approx(truth["mtf50_lp_per_mm"], rel=0.02)
    assert res.value("edge_angle_deg") == pytest.approx(abs(angle), abs=0.05)
    assert res.value("nyquist_lp_per_mm") == pytest.approx(5.0)
    for stem in ("0_5", "1", "2", "3"):
        assert res.value(f"mtf_at_{stem}_lp_per_mm") == pytest.approx(
            truth[f"mtf_at_{stem}_lp_per_mm"], abs=0.02)
    assert {c.name for c in res.curves} == {"MTF", "ESF", "LSF"}
    assert {r.role for r in res.rois} == {"measure", "edge"}
    assert res.extra["spacing_source"].startswith("ImagerPixelSpacing")
    assert not res.warnings


def test_mtf_edge_beyond_nyquist_and_small_angle(tmp_path):
    folder = write_edge(tmp_path / "e", shape=(256, 256), pixel_mm=0.2, angle_deg=0.4,
                        sigma_mm=0.2)
    (res,) = run_protocol("xray.mtf_edge", _one(folder))
    assert res.value("mtf_at_3_lp_per_mm") is None
    assert any("beyond the Nyquist" in w for w in res.warnings)
    assert any("edge angle 0.4°: too close to the pixel grid, MTF unreliable" in w
               for w in res.warnings)


def test_mtf_edge_on_flat_image_says_no_edge(tmp_path):
    folder = write_flat_field(tmp_path / "f", shape=(128, 128))
    with pytest.raises(PhantomNotFoundError, match="No usable edge"):
        run_protocol("xray.mtf_edge", _one(folder))


# -- xray.nps ----------------------------------------------------------------------------------
def test_nps_of_white_noise_and_nnps(tmp_path):
    k, a, b = 4.0, 400.0, 100.0
    folder = write_flat_field(tmp_path / "f", shape=(512, 512), air_kerma_ugy=k,
                              quantum_a=a, electronic_b=b, pixel_mm=0.1)
    s = _one(folder)
    (res,) = run_protocol("xray.nps", s, stp_slope=400.0, stp_intercept=100.0)
    variance = a * k + b + 1 / 12          # + rounding to integers when written
    expected = variance * 0.1 * 0.1
    for stem in ("0_5", "1", "2", "3"):
        assert res.value(f"nps_at_{stem}_lp_per_mm") == pytest.approx(expected, rel=0.05)
        assert res.value(f"nnps_at_{stem}_lp_per_mm") == pytest.approx(
            expected / (400.0 * k) ** 2, rel=0.05)
    assert res.value("noise_sd") == pytest.approx(np.sqrt(variance), rel=0.02)
    assert res.value("mean_signal") == pytest.approx(100 + 400 * k, rel=1e-3)
    assert res.extra["n_rois"] >= 25
    (lin,) = run_protocol("xray.nps", s, linear_image=True)
    assert lin.value("nnps_at_1_lp_per_mm") == pytest.approx(
        lin.value("nps_at_1_lp_per_mm") / lin.value("mean_signal") ** 2)
    (plain,) = run_protocol("xray.nps", s)
    assert plain.value("nnps_at_1_lp_per_mm") is None


# -- xray.uniformity ---------------------------------------------------------------------------
def test_uniformity_recovers_defect(tmp_path):
    shape = (600, 600)                                  # 60 mm at 0.1 mm: 4 × 4 ROIs of 10 mm
    r0, c0 = 100 + 10, 100 + 2 * 100 + 10               # inside grid cell (0, 2)
    gain = gain_pattern(shape, defect=0.04, defect_rc=(r0, c0, r0 + 80, c0 + 80))
    folder = write_flat_field(tmp_path / "f", shape=shape, gain=gain, noise="none",
                              offset=0.0, gain_per_ugy=4000.0)
    s = _one(folder)
    assert choose_protocol(s).name == "xray.uniformity"
    (res,) = run_protocol("xray.uniformity", s)
    area = 80 * 80 / (100 * 100)                        # defect covers 64 % of that ROI
    mean = 1 + 0.04 * area / 16
    assert res.value("global_signal_nonuniformity") == pytest.approx(0.04 * area / mean * 100,
                                                                      rel=0.01)
    assert res.value("local_signal_nonuniformity") == pytest.approx(0.04 * area / mean * 100,
                                                                     rel=0.01)
    assert len(res.maps) == 3 and res.maps[0].data.shape == (4, 4)
    assert len(res.rois) == 16


def test_uniformity_noise_nonuniformity_detects_stale_gain_map(tmp_path):
    # quantum noise follows the gain: a 10 % ramp gives ~5 % SD spread, signal spread 10 %
    shape = (512, 512)
    folder = write_flat_field(tmp_path / "f", shape=shape, gain=gain_pattern(shape, ramp=0.05),
                              quantum_a=4000.0, electronic_b=0.0, offset=0.0)
    (res,) = run_protocol("xray.uniformity", _one(folder), roi_mm=5, border_mm=5)
    assert 7.0 < res.value("global_signal_nonuniformity") < 10.0
    assert 2.0 < res.value("global_noise_nonuniformity") < 12.0
    assert res.value("mean_snr") == pytest.approx(1000 / np.sqrt(4000 * 2.5), rel=0.05)


# -- xray.stp ----------------------------------------------------------------------------------
def test_stp_from_header_dose_and_from_parameter(tmp_path):
    kermas = (0.5, 1.0, 2.0, 4.0, 8.0)
    folders = write_flat_field_set(tmp_path / "stp", kermas_ugy=kermas, shape=(256, 256),
                                   quantum_a=400.0, electronic_b=400.0, structured_c=9.0)
    series = [_one(f) for f in folders][::-1]           # order must not matter
    (res,) = run_protocol("xray.stp", series)
    assert res.value("stp_slope") == pytest.approx(400.0, rel=0.003)
    assert res.value("stp_intercept") == pytest.approx(100.0, abs=3.0)
    assert res.value("stp_r2") > 0.9999
    assert res.value("noise_quantum_coefficient") == pytest.approx(400.0, rel=0.1)
    assert res.value("noise_structured") == pytest.approx(9.0, rel=0.2)
    assert res.value("noise_electronic") == pytest.approx(400.0, rel=0.5)
    assert any("Entrance Dose" in w for w in res.warnings)
    given = ",".join(str(k) for k in kermas[::-1])
    (res2,) = run_protocol("xray.stp", series, air_kerma_ugy=given)
    assert res2.value("stp_slope") == pytest.approx(res.value("stp_slope"))
    with pytest.raises(ParameterError, match="3 values for 5 images"):
        run_protocol("xray.stp", series, air_kerma_ugy="1,2,3")
    assert get_protocol("xray.stp").multi_series


def test_stp_without_dose_asks_for_it(tmp_path):
    folders = write_flat_field_set(tmp_path / "stp", kermas_ugy=(1.0, 2.0), shape=(64, 64),
                                   header_dose=False)
    with pytest.raises(ParameterError, match="no air kerma"):
        run_protocol("xray.stp", [_one(f) for f in folders])


# -- bad input ---------------------------------------------------------------------------------
def test_wrong_modality(tmp_path):
    write_series(np.full((64, 64), 100.0), tmp_path / "ct", modality="CT", description="x",
                 pixel_spacing_mm=0.5)
    for name in ("xray.mtf_edge", "xray.nps", "xray.uniformity"):
        with pytest.raises(WrongModalityError):
            run_protocol(name, _one(tmp_path / "ct"))


def test_missing_spacing_refused_unless_given(tmp_path):
    image, _ = flat_field((256, 256))
    write_series(image, tmp_path / "f", modality="DX", description="flat",
                 pixel_spacing_mm=None)
    s = _one(tmp_path / "f")
    for name in ("xray.mtf_edge", "xray.nps", "xray.uniformity"):
        with pytest.raises(MissingSpacingError) as info:
            run_protocol(name, s)
        assert "pixel_spacing_mm" in info.value.hint
    (res,) = run_protocol("xray.uniformity", s, pixel_spacing_mm=0.1, roi_mm=5, border_mm=2)
    assert res.extra["spacing_source"] == "user parameter pixel_spacing_mm"


def test_empty_and_saturated_images(tmp_path):
    write_series(np.full((128, 128), 0.0), tmp_path / "empty", modality="DX",
                 description="flat", pixel_spacing_mm=0.1)
    with pytest.raises(AnalysisError, match="empty"):
        run_protocol("xray.uniformity", _one(tmp_path / "empty"))
    sat = np.full((128, 128), 65535.0)
    sat[:40] = 30000.0
    write_series(sat, tmp_path / "sat", modality="DX", description="flat", pixel_spacing_mm=0.1)
    with pytest.raises(AnalysisError, match="saturated"):
        run_protocol("xray.nps", _one(tmp_path / "sat"), roi_size_px=32)
    image, _ = flat_field((256, 256))
    image[:20, :40] = 65535.0                           # 1.2 % of the pixels at full scale
    write_series(image, tmp_path / "part", modality="DX", description="flat",
                 pixel_spacing_mm=0.1)
    (res,) = run_protocol("xray.uniformity", _one(tmp_path / "part"), roi_mm=5, border_mm=2)
    assert any("partly saturated" in w for w in res.warnings)


# -- real images -------------------------------------------------------------------------------
def test_real_intraoral_edges(shared_data):
    values = []
    for name in ("edge_Image5.dcm", "edge_Image9.dcm"):
        s = _one(shared_data / "xray" / "intraoral" / name)
        assert choose_protocol(s).name == "xray.mtf_edge"
        (res,) = run_protocol("xray.mtf_edge", s)
        # Sirona intra-oral CMOS/CsI sensor, 0.03 mm pixels: Nyquist 16.7 lp/mm
        assert res.value("nyquist_lp_per_mm") == pytest.approx(16.667, rel=1e-3)
        assert 5.5 < res.value("edge_angle_deg") < 6.5
        assert 3.0 < res.value("mtf50") < 6.0
        assert 10.0 < res.value("mtf10") < 16.7
        assert 0.7 < res.value("mtf_at_1_lp_per_mm") < 0.95
        assert res.extra["spacing_source"].startswith("ImagerPixelSpacing")
        values.append(res.value("mtf50"))
    assert values[0] == pytest.approx(values[1], rel=0.05)   # same detector, two exposures


def test_real_intraoral_flat_fields(shared_data):
    folder = shared_data / "xray" / "intraoral"
    s = _one(folder / "flatfield_60kV.dcm")
    assert choose_protocol(s).name == "xray.uniformity"
    (uni,) = run_protocol("xray.uniformity", s)
    assert any("100-pixel ROIs" in w for w in uni.warnings)   # detector smaller than 10 mm grid
    assert uni.value("global_signal_nonuniformity") < 10.0
    assert 5.0 < uni.value("mean_snr") < 100.0
    (nps,) = run_protocol("xray.nps", s)
    assert 5.0 < nps.value("noise_sd") < 30.0
    assert nps.value("nps_at_1_lp_per_mm") > 0
    bare = _one(folder / "flatfield_no_pixel_spacing.dcm")
    with pytest.raises(MissingSpacingError, match="no pixel spacing"):
        run_protocol("xray.uniformity", bare)
    (given,) = run_protocol("xray.uniformity", bare, pixel_spacing_mm=0.035)
    assert given.value("global_signal_nonuniformity") < 10.0
