"""NM protocols end to end: synthetic truth through DICOM, real images, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.errors import (
    AnalysisError,
    MissingSpacingError,
    PhantomNotFoundError,
    WrongModalityError,
)
from imgqa.phantoms.nm import edge, flood, four_bar, quadrant_bars
from imgqa.phantoms.writer import write_series
from imgqa.protocols.base import choose_protocol

UNIFORMITY_NAMES = {
    "integral_uniformity_ufov", "integral_uniformity_cfov", "differential_uniformity_ufov",
    "differential_uniformity_cfov", "differential_uniformity_ufov_x",
    "differential_uniformity_ufov_y", "differential_uniformity_cfov_x",
    "differential_uniformity_cfov_y", "rebinned_pixel_mm", "mean_counts_per_pixel",
    "total_counts"}


def _write(tmp_path, img, spacing=3.2, modality="NM", description="flood", **kw):
    return imgqa.load(write_series(img, tmp_path, modality=modality, description=description,
                                   pixel_spacing_mm=spacing, **kw))[0]


def test_uniformity_through_dicom_matches_truth(tmp_path):
    img, truth = flood(128, 3.2, hot=0.05, cold=0.04, noise=False, field_blocks=(48, 48))
    (r,) = imgqa.analyse(_write(tmp_path, img), "nm.uniformity")
    assert set(r.as_dict()) == UNIFORMITY_NAMES
    # DICOM stores integers: rounding 2500-count pixels moves values by < 0.02 %.
    assert r.value("integral_uniformity_ufov") == pytest.approx(truth["integral_uniformity"],
                                                                abs=0.05)
    assert r.value("differential_uniformity_ufov") == pytest.approx(
        max(truth["differential_uniformity_x"], truth["differential_uniformity_y"]), abs=0.05)
    assert r.value("rebinned_pixel_mm") == pytest.approx(6.4)
    roles = {roi.label: roi.role for roi in r.rois}
    assert roles["UFOV"] == roles["CFOV"] == "field"
    assert {"UFOV max", "UFOV min", "CFOV max", "CFOV min"} <= set(roles)
    assert r.maps and r.maps[0].pixel_mm == pytest.approx(6.4)


def test_multi_detector_gives_one_result_each(tmp_path):
    a, _ = flood(128, 3.2, hot=0.05, noise=False)
    b, _ = flood(128, 3.2, cold=0.06, noise=False)
    series = _write(tmp_path, np.stack([a, b]), multiframe=True)
    results = imgqa.analyse(series, "nm.uniformity")
    assert [r.label for r in results] == ["detector 1", "detector 2"]
    assert [len(r.inputs) for r in results] == [1, 1]
    assert results[0].value("integral_uniformity_ufov") != results[1].value(
        "integral_uniformity_ufov")


def test_wrong_modality(tmp_path):
    img, _ = flood(64, 6.4, noise=False)
    s = _write(tmp_path, img, spacing=6.4, modality="CT")
    with pytest.raises(WrongModalityError):
        imgqa.analyse(s, "nm.uniformity")


def test_missing_spacing(tmp_path):
    img, _ = flood(64, 6.4, noise=False)
    s = _write(tmp_path, img, spacing=None)
    with pytest.raises(MissingSpacingError):
        imgqa.analyse(s, "nm.uniformity")
    (r,) = imgqa.analyse(s, "nm.uniformity", pixel_spacing_mm=6.4)
    assert r.value("rebinned_pixel_mm") == pytest.approx(6.4)


def test_empty_image(tmp_path):
    s = _write(tmp_path, np.zeros((64, 64)), spacing=6.4)
    for proto in ("nm.uniformity", "nm.resolution", "nm.bar_phantom"):
        with pytest.raises(AnalysisError, match="empty"):
            imgqa.analyse(s, proto)


def test_saturated_image_warns(tmp_path):
    img, _ = flood(128, 3.2, counts_per_pixel=4 * 65535 * 1.2, noise=False)
    (r,) = imgqa.analyse(_write(tmp_path, np.minimum(img, 65535)), "nm.uniformity")
    assert any("saturated" in w for w in r.warnings)


def test_flood_is_not_a_line_source(tmp_path):
    img, _ = flood(128, 3.2, noise=False)
    with pytest.raises(PhantomNotFoundError):
        imgqa.analyse(_write(tmp_path, img), "nm.resolution")


def test_four_bar_through_dicom(tmp_path):
    img, truth = four_bar(256, 1.0, fwhm_mm=6.0, side_mm=100.0)
    s = _write(tmp_path, img, spacing=1.0, description="four bar")
    assert choose_protocol(s).name == "nm.resolution"
    (r,) = imgqa.analyse(s, "nm.resolution", line_spacing_mm=100.0)
    for k in ("fwhm_x", "fwhm_y", "fwtm_x", "fwtm_y"):
        assert r.value(k) == pytest.approx(truth[k], rel=0.02)
    assert r.value("pixel_size_measured_mm_x") == pytest.approx(1.0, rel=0.005)
    assert r.value("pixel_size_measured_mm_y") == pytest.approx(1.0, rel=0.005)


def test_quadrant_bars_through_dicom(tmp_path):
    widths = (2.5, 3.0, 3.5, 4.0)
    img, truth = quadrant_bars(320, 1.0, bar_widths_mm=widths, psf_fwhm_mm=4.0, counts=2000)
    s = _write(tmp_path, img, spacing=1.0, description="quadrant bar")
    assert choose_protocol(s).name == "nm.bar_phantom"
    (r,) = imgqa.analyse(s, "nm.bar_phantom", bar_widths_mm="2.5,3.0,3.5,4.0")
    for q in truth["quadrants"]:
        i = q["quadrant"]
        assert r.value(f"mtf_q{i}") == pytest.approx(q["mtf_droege_morin"], abs=0.03)
        assert r.value(f"bar_width_measured_mm_q{i}") == pytest.approx(q["bar_width_mm"],
                                                                       rel=0.03)
    assert not r.warnings


# ---------------------------------------------------------------------------------------------
# Real images (plausible ranges; other tools' values in comments)
# ---------------------------------------------------------------------------------------------
def _real(shared_data, rel, proto, **params):
    return imgqa.analyse(shared_data / "nm" / rel, proto, **params)


def test_real_flood(shared_data):
    (r,) = _real(shared_data, "nmqc/UNIFORMIDAD_1.dcm", "nm.uniformity")
    v = r.as_dict()
    assert v["rebinned_pixel_mm"] == pytest.approx(3 * 2.065, rel=1e-3)
    assert v["total_counts"] == pytest.approx(16.0e6, rel=0.01)
    assert 1.0 < v["integral_uniformity_cfov"] < 6.0        # measured 3.03 %
    assert v["integral_uniformity_cfov"] <= v["integral_uniformity_ufov"] < 8.0   # 3.41 % (5.18 % before the issue-10 edge fix)
    assert 0.5 < v["differential_uniformity_cfov"] <= v["differential_uniformity_ufov"] < 5.0
    assert any("counts per" in w for w in r.warnings)      # 3 100 counts/pixel < 10 000


@pytest.mark.parametrize("rel, lo, hi", [
    ("nmqc/Spatial_Resol_X.dcm", ("x",), ("y",)),
    ("nmqc/Spatial_Resol_Y.dcm", ("y",), ("x",)),
])
def test_real_line_sources_one_direction(shared_data, rel, lo, hi):
    (r,) = _real(shared_data, rel, "nm.resolution", line_spacing_mm=50.0)
    for a in lo:
        assert 6.0 < r.value(f"fwhm_{a}") < 8.5                # measured 7.3 / 7.1 mm
        assert 1.6 < r.value(f"fwtm_{a}") / r.value(f"fwhm_{a}") < 2.2
        assert 0.95 < r.value(f"pixel_size_measured_mm_{a}") < 1.12   # header 1.0325 mm
    for a in hi:
        assert r.value(f"fwhm_{a}") is None
    assert any("could not be measured" in w for w in r.warnings)


def test_real_four_bar(shared_data):
    (r,) = _real(shared_data, "nmqc/FourBar.dcm", "nm.resolution")
    for a in "xy":
        assert 6.0 < r.value(f"fwhm_{a}") < 8.5                # measured 7.2 / 7.3 mm
        assert 11.0 < r.value(f"fwtm_{a}") < 16.0


def test_real_linesource_planar(shared_data):
    """imageQCpy asserts FWHM/FWTM x 7.4/13.5, y 7.3/13.3 mm; we measure about 6.6/13.2 and
    7.4/13.4 (we bin perpendicular to the fitted, ~13° tilted line)."""
    (r,) = _real(shared_data, "imageqc/linesource_planar.dcm", "nm.resolution")
    for a, ref_fwhm, ref_fwtm in (("x", 7.4, 13.5), ("y", 7.3, 13.3)):
        assert r.value(f"fwhm_{a}") == pytest.approx(ref_fwhm, rel=0.15)
        assert r.value(f"fwtm_{a}") == pytest.approx(ref_fwtm, rel=0.08)


@pytest.mark.parametrize("rel", ["imageqc/edge_det1.dcm", "imageqc/edge_det2.dcm"])
def test_real_edge_images(shared_data, rel):
    """Siemens intrinsic edge images (a tilted cross of four attenuating squares, 1.2 mm
    pixels). imageQCpy asserts FWHM/FWTM 3.5/6.4 (det 1) and 3.2/5.8 mm (det 2) from one edge
    (Y); we pool the 8 edges per direction: about 3.6/6.4 (X), 3.4/6.2 (Y) for det 1 and
    3.4/6.4, 3.5/6.3 for det 2."""
    (r,) = _real(shared_data, rel, "nm.resolution")
    assert r.extra["method"] == "edge"
    for a in "xy":
        assert r.extra[f"edges_{a}"] >= 6                       # 8 edges per direction
        assert 3.0 < r.value(f"fwhm_{a}") < 4.0                 # intrinsic resolution
        assert 5.5 < r.value(f"fwtm_{a}") < 7.2
        assert 1.6 < r.value(f"fwtm_{a}") / r.value(f"fwhm_{a}") < 2.0   # near-Gaussian
    assert r.value("fwhm_y") == pytest.approx({"edge_det1": 3.5, "edge_det2": 3.2}[
        rel.split("/")[1][:-4]], rel=0.15)                      # imageQCpy, one edge
    assert not r.warnings
    assert sum(roi.role == "edge" for roi in r.rois) >= 12
    assert {c.name for c in r.curves} == {"ESF X", "LSF X", "ESF Y", "LSF Y"}


def test_edge_phantom_through_dicom(tmp_path):
    img, truth = edge(256, 1.2, fwhm_mm=3.5, angle_deg=4.0, across="x", high=1000.0,
                      transmission=0.05, field_margin_px=16, seed=3)
    s = _write(tmp_path, img, spacing=1.2, description="Edge method det 1")
    assert choose_protocol(s).name == "nm.resolution"
    (r,) = imgqa.analyse(s, "nm.resolution")
    assert r.extra["method"] == "edge"
    assert r.value("fwhm_x") == pytest.approx(truth["fwhm_x"], rel=0.03)
    assert r.value("fwtm_x") == pytest.approx(truth["fwtm_x"], rel=0.05)
    assert r.value("fwhm_y") is None and r.value("fwtm_y") is None
    assert any("No horizontal edge" in w for w in r.warnings)
    with pytest.raises(PhantomNotFoundError, match="No line source found"):
        imgqa.analyse(s, "nm.resolution", method="line")


@pytest.mark.parametrize("rel", ["nmqc/QuadrantBar.dcm", "imageqc/barphantom.dcm"])
def test_real_quadrant_bars(shared_data, rel):
    (r,) = _real(shared_data, rel, "nm.bar_phantom")
    for q in range(1, 5):
        assert 0.05 < r.value(f"mtf_q{q}") < 1.0
        assert 1.5 < r.value(f"bar_width_measured_mm_q{q}") < 7.0
    # wider bars are better resolved
    widths = [r.value(f"bar_width_measured_mm_q{q}") for q in range(1, 5)]
    mtfs = [r.value(f"mtf_q{q}") for q in range(1, 5)]
    assert mtfs[int(np.argmax(widths))] == max(mtfs)


def test_real_whole_body_two_detectors(shared_data):
    results = _real(shared_data, "imageqc/WB_scanspeed.dcm", "nm.uniformity")
    assert [r.label for r in results] == ["detector 1", "detector 2"]


def test_detection_on_real_headers(shared_data):
    nm = shared_data / "nm"
    assert choose_protocol(imgqa.load(nm / "nmqc/UNIFORMIDAD_1.dcm")[0]).name == "nm.uniformity"
    assert choose_protocol(imgqa.load(nm / "nmqc/Spatial_Resol_X.dcm")[0]).name == "nm.resolution"
    assert choose_protocol(imgqa.load(nm / "imageqc/barphantom.dcm")[0]).name == "nm.bar_phantom"
    assert choose_protocol(imgqa.load(nm / "imageqc/edge_det1.dcm")[0]).name == "nm.resolution"
    assert choose_protocol(imgqa.load(nm / "nmqc/Jaszack.dcm")[0]).name != "nm.uniformity"
