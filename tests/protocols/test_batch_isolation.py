"""Issue 19, finding 4: one bad file must not stop a batch.

A series whose header says the pixels are 20 mm (or 50, 200, 1e308 mm) used to end
``imgqa analyse`` with a Python traceback (``ValueError: the ROI contains no pixels``) and the
good series beside it was never analysed. Now absurd geometry is refused before any kernel
runs, and any other failure inside one series' analysis becomes that series' problem.
"""

from __future__ import annotations

import dataclasses
import json
import logging

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import imgqa
from imgqa.cli.main import main
from imgqa.errors import ImplausibleGeometryError, InternalAnalysisError
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.nm import flood
from imgqa.phantoms.writer import write_series
from imgqa.protocols import base
from imgqa.protocols.plausibility import PLAUSIBLE_SPACING_MM, plausible_range

ABSURD_MM = ["20", "50", "200", "1e308"]


def _ct_water(folder, spacing, description):
    images, _ = water_phantom(size=256, pixel_mm=0.9, n_slices=1, noise_sd=5.0, seed=3)
    return write_series(images, folder, modality="CT", description=description,
                        pixel_spacing_mm=spacing, slice_thickness_mm=5.0,
                        rescale_intercept=-1024.0)


@pytest.fixture
def good_ct(tmp_path):
    (path,) = _ct_water(tmp_path / "good", 0.9, "Water good")
    return path


def _bad_ct(tmp_path, spacing: str):
    (path,) = _ct_water(tmp_path / "bad", float(spacing), "Water wrong header")
    return path


def _schema(contracts_dir):
    return json.loads((contracts_dir / "analyse-output.schema.json").read_text())


# --------------------------------------------------------------------------------------------
# The finding, through the command line
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spacing", ABSURD_MM)
def test_cli_json_absurd_spacing_is_a_problem_and_the_good_file_is_analysed(
        tmp_path, good_ct, spacing, contracts_dir, capsys):
    bad = _bad_ct(tmp_path, spacing)
    code = main(["analyse", str(bad), str(good_ct), "--format", "json"])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    out = json.loads(captured.out)
    jsonschema.validate(out, _schema(contracts_dir))
    assert code == 1  # the convention: 1 when some input was not analysed
    assert [r["series"]["series_description"] for r in out["results"]] == ["Water good"]
    (problem,) = out["problems"]
    assert problem["path"] == str(bad)
    assert "outside the plausible range" in problem["error"]
    assert "Pixel Spacing" in problem["error"] and "pixel_spacing_mm" in problem["error"]
    assert problem["kind"] == "ImplausibleGeometryError"


@pytest.mark.parametrize("spacing", ABSURD_MM)
def test_cli_table_absurd_spacing_no_traceback(tmp_path, good_ct, spacing, capsys):
    bad = _bad_ct(tmp_path, spacing)
    code = main(["analyse", str(good_ct), str(bad)])
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err and "ValueError" not in captured.err
    assert "Water good" in captured.out  # the good series' result table
    assert f"Not analysed: {bad}" in captured.err
    shown = float(spacing)
    assert f"pixel spacing {shown:.4g} mm" in captured.err
    assert "for CT" in captured.err


# --------------------------------------------------------------------------------------------
# The Python API
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spacing", ABSURD_MM)
def test_api_batch_goes_on_past_absurd_spacing(tmp_path, good_ct, spacing):
    bad = _bad_ct(tmp_path, spacing)
    results = imgqa.analyse([bad, good_ct])
    assert [r.series["series_description"] for r in results] == ["Water good"]
    (problem,) = results.problems
    assert problem.path == str(bad)
    assert problem.kind == "ImplausibleGeometryError"
    assert "0.01–5 mm for CT" in problem.error


def test_api_single_absurd_series_raises_the_plain_error(tmp_path):
    bad = _bad_ct(tmp_path, "50")
    with pytest.raises(ImplausibleGeometryError, match="outside the plausible range"):
        imgqa.analyse(bad)
    with pytest.raises(ImplausibleGeometryError):
        imgqa.analyse(bad, "ct.water")


def test_user_spacing_is_checked_and_can_correct_a_wrong_header(tmp_path, good_ct):
    with pytest.raises(ImplausibleGeometryError, match="pixel_spacing_mm=50"):
        imgqa.analyse(good_ct, "ct.water", pixel_spacing_mm=50)
    with pytest.raises(ImplausibleGeometryError, match="pixel_spacing_mm=1e\\+308"):
        imgqa.analyse(good_ct, "generic.roi", pixel_spacing_mm=1e308)
    # A plausible value given by the user replaces the absurd header, as the hint says.
    bad = _bad_ct(tmp_path, "20")
    (r,) = imgqa.analyse(bad, "ct.water", pixel_spacing_mm=0.9)
    (ref,) = imgqa.analyse(good_ct, "ct.water")
    assert r.value("mean_hu_centre") == pytest.approx(ref.value("mean_hu_centre"), abs=2.0)


def test_absurd_nm_spacing_refused_good_flood_analysed(tmp_path):
    img, _ = flood(128, 3.2, noise=False)
    good = write_series(img, tmp_path / "g", modality="NM", description="flood good",
                        pixel_spacing_mm=3.2)
    bad = write_series(img, tmp_path / "b", modality="NM", description="flood bad",
                       pixel_spacing_mm=20.0)
    photo = tmp_path / "photo.png"
    photo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    results = imgqa.analyse([*bad, photo, *good])
    assert {r.series["series_description"] for r in results} == {"flood good"}
    # loading and analysis problems share one list, each with path, error, hint and kind
    kinds = {p.path: p.kind for p in results.problems}
    assert kinds == {str(photo): "NotDicomError", str(bad[0]): "ImplausibleGeometryError"}
    (geometry,) = [p for p in results.problems if p.kind == "ImplausibleGeometryError"]
    assert "for NM" in geometry.error
    assert geometry.protocol is None  # refused before a test was chosen (detectors measure too)


# --------------------------------------------------------------------------------------------
# Any other exception inside a kernel
# --------------------------------------------------------------------------------------------
def _boom_on(monkeypatch, protocol_name, when):
    """Replace a protocol's function by one raising RuntimeError for series matching `when`."""
    proto = base.get_protocol(protocol_name)

    def boom(series, **params):
        if when(series):
            raise RuntimeError("index 300 is out of bounds for axis 0 with size 256")
        return proto.function(series, **params)

    monkeypatch.setitem(base._REGISTRY, protocol_name,
                        dataclasses.replace(proto, function=boom))


def test_kernel_crash_is_one_series_problem_cli(tmp_path, good_ct, contracts_dir, capsys,
                                                 caplog):
    (other,) = _ct_water(tmp_path / "other", 0.9, "Water crashing")
    _boom_on(monkeypatch := pytest.MonkeyPatch(), "ct.water",
             lambda s: s.header.series_description == "Water crashing")
    try:
        with caplog.at_level(logging.DEBUG, logger="imgqa"):
            # one job: the analysis (and its DEBUG record) stays in this process, where
            # caplog sees it; the parallel path is tests/cli/test_analyse_jobs.py's
            code = main(["analyse", str(other), str(good_ct), "--protocol", "ct.water",
                         "--format", "json", "--jobs", "1"])
    finally:
        monkeypatch.undo()
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    out = json.loads(captured.out)
    jsonschema.validate(out, _schema(contracts_dir))
    assert code == 1
    assert [r["series"]["series_description"] for r in out["results"]] == ["Water good"]
    (problem,) = out["problems"]
    assert problem["path"] == str(other)
    assert problem["kind"] == "InternalAnalysisError"
    assert problem["protocol"] == "ct.water"
    msg = problem["error"]
    assert "ct.water" in msg and "Water crashing" in msg  # what failed, on which series
    assert "out of bounds" in msg                          # the kernel's own words
    assert "RuntimeError" not in msg                       # no Python class names
    assert "-v" in msg                                     # the hint: how to see details
    # The traceback is kept, at DEBUG level only.
    debug = [r for r in caplog.records if r.exc_info and r.levelno == logging.DEBUG]
    assert debug and debug[0].exc_info[0] is RuntimeError
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING and r.exc_info]


def test_kernel_crash_in_auto_choice_api(tmp_path, good_ct, monkeypatch):
    img, _ = flood(128, 3.2, noise=False)
    nm = write_series(img, tmp_path / "nm", modality="NM", description="flood",
                      pixel_spacing_mm=3.2)
    _boom_on(monkeypatch, "nm.uniformity", lambda s: True)
    results = imgqa.analyse([*nm, good_ct])
    assert [r.series["modality"] for r in results] == ["CT"]
    (problem,) = results.problems
    assert problem.kind == "InternalAnalysisError"
    assert "nm.uniformity" in problem.error and "out of bounds" in problem.error
    # alone, the same series raises the plain error (not the RuntimeError)
    with pytest.raises(InternalAnalysisError, match="nm.uniformity"):
        imgqa.analyse(nm)


def test_multi_series_protocol_failure_is_one_problem(tmp_path, monkeypatch, capsys):
    """A protocol taking all series at once fails as a whole, reported once, no traceback."""
    protos = [p for p in base.all_protocols() if p.multi_series]
    if not protos:
        pytest.skip("no multi-series protocol registered")
    proto = protos[0]
    calls = []

    def boom(series_list, **params):
        calls.append(len(series_list))
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setitem(base._REGISTRY, proto.name, dataclasses.replace(
        proto, function=boom, modalities=("*",), min_images=1, max_images=None))
    a = _ct_water(tmp_path / "a", 0.9, "A")
    b = _ct_water(tmp_path / "b", 0.9, "B")
    code = main(["analyse", *map(str, a + b), "--protocol", proto.name])
    err = capsys.readouterr().err
    assert calls == [2] and code == 1
    assert "Traceback" not in err and "ZeroDivisionError" not in err
    assert err.count("Not analysed:") == 1 and "float division by zero" in err


# --------------------------------------------------------------------------------------------
# The table of plausible ranges
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rel, modality", [
    ("ct/imageqc_Wire_FOV50/CT_wire_FOV50_001.dcm", "CT"),     # 0.098 mm, smallest CT
    ("ct/imageqc_Constancy13img", "CT"),                       # topogram 1 mm
    ("mr/imageqc/MR_water_uncentered.dcm", "MR"),               # 1.76 mm
    ("mr/imageqc/ACR.dcm", "MR"),                               # enhanced multi-frame
    ("nm/imageqc", "NM"),                                       # 2.4 mm whole body
    ("nm/nmqc/UNIFORMIDAD_1.dcm", "NM"),
    ("pet/imageqc_waterphantom", "PT"),                         # 4.07 mm
    ("xray/intraoral/edge_Image9.dcm", "IO"),                   # 0.03 mm
])
def test_real_scanner_geometry_is_plausible(shared_data, rel, modality):
    """No false refusal: every real series of the shared set passes the check."""
    series = imgqa.load(shared_data / rel)
    assert series
    for s in series:
        assert s.modality == modality
        base.check_geometry(s, None, "test")  # raises if refused


def test_every_range_is_ordered_and_named():
    for modality, (low, high, why) in PLAUSIBLE_SPACING_MM.items():
        assert 0 < low < high, modality
        assert why
    assert plausible_range("CT")[:2] == (0.01, 5.0)
    assert plausible_range("XYZ") == plausible_range("")  # unknown modality: the fallback


def test_user_spacing_steers_the_automatic_choice(shared_data, tmp_path):
    """With a wrong header, the detectors see the user's pixel size, as the protocol will."""
    import pydicom
    from pydicom.uid import generate_uid

    src = shared_data / "ct" / "imageqc_CTP486" / "CTP486_005.dcm"
    ds = pydicom.dcmread(src)
    ds.PixelSpacing = [20, 20]
    ds.SeriesInstanceUID, ds.SOPInstanceUID = generate_uid(), generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    bad = tmp_path / "ctp486_wrong_spacing.dcm"
    ds.save_as(bad)
    (ref,) = imgqa.analyse(src)
    with pytest.raises(ImplausibleGeometryError):
        imgqa.analyse(bad)
    (r,) = imgqa.analyse(bad, pixel_spacing_mm=float(ds_spacing(src)))
    assert r.protocol == ref.protocol == "ct.catphan"
    assert r.as_dict() == pytest.approx(ref.as_dict())


def ds_spacing(path):
    import pydicom

    return pydicom.dcmread(path, stop_before_pixels=True).PixelSpacing[0]


@pytest.fixture(scope="module")
def ct_series(tmp_path_factory):
    (path,) = _ct_water(tmp_path_factory.mktemp("ct"), 0.9, "Water")
    return imgqa.load(path)[0]


@settings(max_examples=200, deadline=None)
@given(value=st.floats(allow_nan=True, allow_infinity=True, width=64))
def test_refused_exactly_outside_the_range(ct_series, value):
    low, high, _ = plausible_range("CT")
    plausible = low <= value <= high  # False for NaN
    header = ct_series.with_spacing(value)
    try:
        base.check_geometry(header, None, "ct.water")
        header_ok = True
    except ImplausibleGeometryError as exc:
        header_ok = False
        assert "plausible range 0.01–5 mm for CT" in exc.message
    assert header_ok == plausible
    if value != 0:  # 0 means "not given" for the parameter, as in the protocols
        try:
            base.check_geometry(ct_series, value, "ct.water")
            user_ok = True
        except ImplausibleGeometryError:
            user_ok = False
        assert user_ok == plausible
