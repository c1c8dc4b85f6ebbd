"""`imgqa record` (issue 11, item 8): checklists, meter readings and the ACR visual spokes
count typed in, stored, judged, in the history, the review list and the exports."""

from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path

import pytest

from imgqa.cli.main import main

CT = "manual.ct_daily_checklist"


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def db(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    assert _run(capsys, *db, "equipment", "add", "CT room 1", "--modality", "CT")[0] == 0
    assert _run(capsys, *db, "equipment", "add", "MR 1", "--modality", "MR",
                "--field-strength", "1.5")[0] == 0
    # the kV meter reading is judged against the nominal kV (baseline), ±5 %
    code, _, err = _run(capsys, *db, "baseline", "set", "CT room 1", CT, "kvp_measured", "120",
                        "--reason", "nominal kV of the daily protocol")
    assert code == 0, err
    return db


def test_checklist_and_meter_reading_are_stored_judged_and_exported(db, tmp_path, capsys):
    code, out, err = _run(capsys, *db, "record", "CT room 1", CT,
                          "--value", "laser_alignment=pass", "--value", "table_movement=pass",
                          "--value", "kvp_measured=120.4", "--performed-by", "J. Tech",
                          "--performed-at", "2026-01-05T08:00")
    assert code == 0, err
    assert re.search(r"laser_alignment\s+pass\s+OK", out)
    assert re.search(r"kvp_measured\s+120.4\s+kV\s+OK", out)
    assert "Saved as QC session 1" in out and "J. Tech" in out
    # a failing checklist item and an out-of-tolerance reading the next day: ACTION
    code, out, err = _run(capsys, *db, "record", "CT room 1", CT,
                          "--value", "laser_alignment=fail", "--value", "kvp_measured=130",
                          "--value", "notes=left laser 3 mm high",
                          "--performed-by", "J. Tech", "--performed-at", "2026-01-06T08:00",
                          "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    status = {m["name"]: m["status"] for m in doc["measurements"]}
    assert status == {"laser_alignment": "ACTION", "kvp_measured": "ACTION"}
    assert doc["worst_status"] == "ACTION" and doc["performed_by"] == "J. Tech"
    # history / trend: both days, in order
    code, out, _ = _run(capsys, *db, "history", "CT room 1", "-p", CT, "-m", "kvp_measured",
                        "--format", "json")
    assert code == 0
    points = json.loads(out)["series"][0]["points"]
    assert [p["value"] for p in points] == [pytest.approx(120.4), 130.0]
    assert [p["status"] for p in points] == ["OK", "ACTION"]
    # review lists the sessions with their worst status
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    assert {(s["id"], s["worst_status"]) for s in json.loads(out)["sessions"]} == {
        (1, "OK"), (2, "ACTION")}
    # CSV and PDF exports carry the typed-in results, the failure and the note
    code, _, err = _run(capsys, *db, "export", str(tmp_path / "qa.csv"))
    assert code == 0, err
    with open(tmp_path / "qa.csv", newline="", encoding="utf-8-sig") as f:
        rows = [r for r in csv.DictReader(f) if r["protocol"] == CT]
    assert {(r["measurement"], r["status"]) for r in rows} == {
        ("laser_alignment", "OK"), ("table_movement", "OK"), ("kvp_measured", "OK"),
        ("laser_alignment", "ACTION"), ("kvp_measured", "ACTION")}
    failing = [r for r in rows if r["status"] == "ACTION"]
    assert all("left laser 3 mm high" in r["warnings"] for r in failing)
    assert all("Entered manually by J. Tech" in r["warnings"] for r in rows)
    code, _, err = _run(capsys, *db, "export", str(tmp_path / "qa.pdf"))
    assert code == 0, err
    sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
    from test_report_formats import pdf_text

    text = pdf_text((tmp_path / "qa.pdf").read_bytes())
    assert CT in text and "kvp_measured" in text and "ACTION" in text
    # the stored manual sessions (no images) pass the integrity check like any other
    code, out, err = _run(capsys, *db, "db", "verify")
    assert code == 0, out + err


def test_protocols_lists_manual_tests_with_how_to_type_them(capsys):
    code, out, _ = _run(capsys, "protocols", "--format", "json")
    kinds = {p["name"]: p["kind"] for p in json.loads(out)}
    assert kinds[CT] == "manual" and kinds["ct.water"] == "analysis"
    code, out, _ = _run(capsys, "protocols")
    assert "--value laser_alignment=<pass|fail>" in out and "--value kvp_measured=<number>" in out


@pytest.mark.parametrize("argv,message", [
    (["CT room 1", CT, "--value", "laser_alignment=maybe"], "type pass or fail"),
    (["CT room 1", CT, "--value", "laser=pass"], "has no item 'laser'"),
    (["CT room 1", CT, "--value", "kvp_measured=1204"], "cannot be right"),
    (["CT room 1", CT, "--value", "kvp_measured"], "expects NAME=VALUE"),
    (["MR 1", CT, "--value", "laser_alignment=pass"], "is for CT equipment; MR 1 is MR"),
    (["MR 1", "mr.acr", "--value", "low_contrast_spokes=37"], "give the series"),
    (["CT room 1", "ct.water", "--value", "mean_hu_centre=0"], "none of its measurements can be typed in"),
])
def test_bad_entries_are_usage_errors_and_store_nothing(db, capsys, argv, message):
    code, out, err = _run(capsys, *db, "record", *argv)
    assert code == 2 and message in err and "Traceback" not in err
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    assert json.loads(out)["sessions"] == []


def test_acr_spokes_count_entered_visually_is_stored_and_marked(db, tmp_path, capsys):
    from imgqa.phantoms.mr import demo_sets
    from imgqa.store import open_store

    folder = demo_sets()["mr_acr"](tmp_path / "phantoms")
    # count_spokes=false: the automatic count declines ("count visually"), as on real images
    code, out, err = _run(capsys, *db, "record", "MR 1", "mr.acr", "--series", str(folder),
                          "--param", "count_spokes=false",
                          "--value", "low_contrast_spokes=37", "--performed-by", "Dr P",
                          "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    by_name = {m["name"]: m for m in doc["measurements"]}
    assert by_name["low_contrast_spokes"]["value"] == 37.0
    assert by_name["low_contrast_spokes"]["status"] == "OK"       # ACR pass ≥ 30 at 1.5 T
    assert by_name["piu"]["value"] is not None                     # the analysis is kept
    with open_store(db[1]) as store:
        (row,) = [r for r in store.session_results(doc["session_id"])
                  if r.measurement == "low_contrast_spokes"]
    assert row.parameters["manual_entries"]["low_contrast_spokes"] == {
        "value": 37.0, "entered_by": "Dr P", "automatic": None}
    assert any("low_contrast_spokes = 37 entered manually by Dr P" in w for w in row.warnings)
