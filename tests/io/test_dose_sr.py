"""Dose structured reports (issue 15): the per-event values imgqa reads equal those of an
independent plain pydicom walk of the content tree, units converted by hand here."""

from __future__ import annotations

import math

import pydicom
import pytest

import imgqa
from imgqa.io.dose_sr import DoseReportSeries, UnitError, convert
from imgqa.phantoms.dose import expected_values, write_dose_sr
from imgqa.protocols.base import analyse_series, run_protocol


def _plain_walk(path, container_code: str, wanted: dict[str, str]) -> list[dict]:
    """Per container with concept ``container_code``: {code: (value, unit)} of NUM items and the
    protocol text (125203), found by plain recursion (no imgqa code)."""
    ds = pydicom.dcmread(path)
    out = []

    def items(seq):
        for it in seq:
            yield it
            if "ContentSequence" in it:
                yield from items(it.ContentSequence)

    for it in items(ds.ContentSequence):
        if it.ValueType == "CONTAINER" and it.ConceptNameCodeSequence[0].CodeValue == \
                container_code:
            row: dict = {}
            for sub in items(it.ContentSequence):
                code = sub.ConceptNameCodeSequence[0].CodeValue
                if sub.ValueType == "TEXT" and code == "125203":
                    row["label"] = sub.TextValue
                if sub.ValueType == "NUM" and code in wanted and wanted[code] not in row:
                    mv = sub.MeasuredValueSequence[0]
                    row[wanted[code]] = (float(mv.NumericValue),
                                         mv.MeasurementUnitsCodeSequence[0].CodeValue)
            out.append(row)
    return out


# Unit factors written out by hand for the units these two files use.
_TO_IMGQA = {"mGy": 1.0, "mGy.cm": 1.0, "Gym2": 1e4, "Gy.m2": 1e4, "kV": 1.0, "uAs": 1e-3,
             "Gy": 1e3}


def _results(path):
    (series,) = imgqa.load(path)
    assert isinstance(series, DoseReportSeries)
    return analyse_series(series)


def test_ct_dose_report_matches_plain_walk(shared_data):
    path = shared_data / "sr" / "imageqc" / "SR_Dose_Report_CT_QA.dcm"
    ref = _plain_walk(path, "113819", {"113830": "ctdivol_mgy", "113838": "dlp_mgy_cm"})
    results = _results(path)
    assert [r.label for r in results] == ["Topogram", "wire", "Hode vann", "Body vann"]
    assert [r.label for r in results] == [row["label"] for row in ref]
    for r, row in zip(results, ref, strict=True):
        assert r.protocol == "dose.report"
        for name in ("ctdivol_mgy", "dlp_mgy_cm"):
            value, unit = row[name]
            assert r.value(name) == pytest.approx(value * _TO_IMGQA[unit], rel=1e-12)
        assert r.inputs and r.inputs[0].source == str(path)
    # the values imageQCpy's test file holds (MANIFEST; printed in the report's content)
    assert results[1].value("ctdivol_mgy") == pytest.approx(60.0)
    assert results[3].value("dlp_mgy_cm") == pytest.approx(32.33)
    assert results[3].extra["phantom_type"] == "IEC Body Dosimetry Phantom"


def test_projection_dose_report_matches_plain_walk(shared_data):
    path = shared_data / "sr" / "imageqc" / "SR_Radiation_Dose_Information_Xray_QA.dcm"
    ref = _plain_walk(path, "113706", {"122130": "dap_gy_cm2", "113733": "kvp",
                                       "113736": "exposure_mas"})
    results = _results(path)
    assert len(results) == len(ref) == 5
    for r, row in zip(results, ref, strict=True):
        assert r.label == row["label"]
        for name in ("dap_gy_cm2", "kvp", "exposure_mas"):
            value, unit = row[name]
            assert r.value(name) == pytest.approx(value * _TO_IMGQA[unit], rel=1e-12)
    # The report's own comment table lists DAP in dGy·cm²: 0.242, 0.125, 0.161, 0.293, 0.152.
    assert [round(10 * r.value("dap_gy_cm2"), 3) for r in results] == \
        [0.242, 0.125, 0.161, 0.293, 0.152]
    assert results[3].value("deviation_index") == 4.0


@pytest.mark.parametrize("kind", ["CT", "projection"])
def test_synthetic_reports_give_the_values_written(tmp_path, kind):
    path = write_dose_sr(tmp_path, kind)
    results = run_protocol("dose.report", imgqa.load(path)[0])
    truth = expected_values(kind)
    assert [r.label for r in results] == [t["label"] for t in truth]
    for r, t in zip(results, truth, strict=True):
        for name, value in t.items():
            if name != "label":
                assert r.value(name) == pytest.approx(value, rel=1e-12), (r.label, name)


def test_unit_conversion_refuses_wrong_dimension():
    assert convert(1.0, "Gy.m2", "Gy.cm2") == 1e4
    assert math.isclose(convert(250.0, "uAs", "mAs"), 0.25)
    with pytest.raises(UnitError):
        convert(1.0, "Gy", "Gy.cm2")


def test_duplicate_protocol_names_get_unique_labels(tmp_path):
    events = [("QC", {"113830": (10.0, "mGy")}), ("QC", {"113830": (11.0, "mGy")})]
    path = write_dose_sr(tmp_path, "CT", events=events)
    results = run_protocol("dose.report", imgqa.load(path)[0])
    assert [r.label for r in results] == ["QC", "QC (2)"]
    assert [r.value("ctdivol_mgy") for r in results] == [10.0, 11.0]


def test_an_image_is_refused_by_dose_report(tmp_path):
    import numpy as np

    from imgqa.errors import AnalysisError, WrongModalityError
    from imgqa.phantoms import write_series

    write_series(np.zeros((8, 8)) + 5, tmp_path, modality="CT", description="x",
                 pixel_spacing_mm=0.5)
    with pytest.raises((AnalysisError, WrongModalityError)) as err:
        run_protocol("dose.report", imgqa.load(tmp_path)[0])
    assert "SR" in str(err.value) or "dose" in str(err.value)


def test_batch_goes_on_past_a_damaged_report(tmp_path):
    good = write_dose_sr(tmp_path / "a", "CT")
    bad = tmp_path / "b" / "broken.dcm"
    bad.parent.mkdir()
    ds = pydicom.dcmread(good)
    ds.ContentSequence[0].ContentSequence[1].ValueType = "CONTAINER"
    del ds.ContentSequence[0].ContentSequence[1].ContentSequence
    ds.save_as(bad)
    loaded = imgqa.load([good.parent, bad.parent])
    results, problems = imgqa.protocols.analyse_batch(list(loaded))
    assert len([r for r in results if r.protocol == "dose.report"]) >= 3
    assert not [p for p in problems if "Traceback" in p.error]
