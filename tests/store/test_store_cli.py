"""The store commands end to end on a SQLite file: analyse --save, equipment, baseline,
tolerance, review, history, db verify/backup. Images are small synthetic DICOM series."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime

import jsonschema
import numpy as np
import pytest

from imgqa.cli.main import main
from imgqa.phantoms.writer import PhantomDevice, write_series


def _series(folder, level: float, day: int, serial: str = "CLI-1"):
    img = np.full((64, 64), level, dtype=float)
    write_series(img, folder, modality="CT", description="water", pixel_spacing_mm=0.5,
                 rescale_intercept=-1024, signed=True, acquired=datetime(2025, 3, day, 8),
                 device=PhantomDevice(serial=serial, station_name="CT_CLI"))
    return str(folder)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_store_workflow_from_the_command_line(tmp_path, capsys, contracts_dir):
    db = str(tmp_path / "qc.sqlite3")
    common = ["--db", db]
    # unknown equipment: analysed and judged, but not saved
    code, out, err = _run(capsys, *common, "analyse", _series(tmp_path / "d1", 100, 1),
                          "--protocol", "generic.roi", "--save", "--format", "json")
    assert code == 1 and json.loads(out)["saved"] == []
    assert "unknown equipment" in json.loads(out)["problems"][0]["error"]
    # --create-equipment registers it from the header and saves the session
    for day, level in ((1, 100), (2, 102), (3, 98)):
        code, out, err = _run(capsys, *common, "analyse",
                              _series(tmp_path / f"s{day}", level, day), "--protocol",
                              "generic.roi", "--save", "--create-equipment",
                              "--performed-by", "Tech A", "--format", "json")
        assert code == 0, err
        doc = json.loads(out)
        jsonschema.validate(doc, json.loads((contracts_dir / "analyse-output.schema.json")
                                            .read_text()))
        assert doc["saved"][0]["equipment_id"] == 1
    code, out, _ = _run(capsys, *common, "equipment", "list", "--format", "json")
    (eq,) = json.loads(out)["equipment"]
    assert eq["serial"] == "CLI-1" and eq["match_rules"]["serial"] == "CLI-1"
    # baselines from the first three sessions, then a tolerance
    code, out, _ = _run(capsys, *common, "baseline", "from-sessions", "1", "generic.roi",
                        "--first", "3", "--measurement", "mean", "--reason", "commissioning")
    assert code == 0 and "100" in out
    code, out, _ = _run(capsys, *common, "tolerance", "set", "1", "generic.roi", "mean",
                        "--kind", "absolute", "--tol-low", "-1", "--tol-high", "1",
                        "--act-low", "-3", "--act-high", "3", "--reason", "local policy")
    assert code == 0 and "limits now" in out
    # the next analysis is judged against it without saving (equipment recognised)
    code, out, _ = _run(capsys, *common, "analyse", _series(tmp_path / "s4", 105, 4),
                        "--protocol", "generic.roi", "--format", "json")
    statuses = {m["name"]: m["status"] for m in json.loads(out)["results"][0]["measurements"]}
    assert statuses["mean"] == "ACTION" and json.loads(out)["saved"] == []
    code, out, _ = _run(capsys, *common, "baseline", "set", "CLI-1", "generic.roi", "mean",
                        "104", "--reason", "after service")
    assert code == 0 and "→ 104" in out
    code, out, _ = _run(capsys, *common, "analyse", _series(tmp_path / "s5", 105, 5),
                        "--protocol", "generic.roi", "--save", "--equipment", "1")
    assert code == 0 and "Saved as QC session 4" in out
    # review: list, then approve everything since a date
    code, out, _ = _run(capsys, *common, "review", "--format", "json")
    assert len(json.loads(out)["sessions"]) == 4
    code, out, _ = _run(capsys, *common, "review", "--approve-all", "--since", "2025-03-02")
    assert code == 0 and "Approved 3 session(s)" in out
    code, out, _ = _run(capsys, *common, "review", "--format", "json")
    assert [s["id"] for s in json.loads(out)["sessions"]] == [1]
    # history of one measurement
    code, out, _ = _run(capsys, *common, "history", "1", "--measurement", "mean", "--format",
                        "json")
    (series,) = json.loads(out)["series"]
    assert [p["value"] for p in series["points"]] == pytest.approx([100, 102, 98, 105])
    # 105 against 104 ± 1 sits exactly on the tolerance limit: inclusive, so OK
    assert [p["status"] for p in series["points"]] == ["NO_TOL", "NO_TOL", "NO_TOL", "OK"]
    code, out, _ = _run(capsys, *common, "history", "1", "-m", "mean")
    assert code == 0 and "OK" in out
    code, out, _ = _run(capsys, *common, "equipment", "show", "1")
    assert code == 0 and "Recent sessions" in out and "generic.roi" in out
    # audit chain, then a backup that holds the same data
    code, out, _ = _run(capsys, *common, "db", "verify")
    assert code == 0 and "intact" in out
    code, out, _ = _run(capsys, *common, "db", "backup", str(tmp_path / "copy.sqlite3"))
    assert code == 0
    with sqlite3.connect(str(tmp_path / "copy.sqlite3")) as c:
        assert c.execute("SELECT count(*) FROM qc_session").fetchone() == (4,)
    code, out, _ = _run(capsys, *common, "db", "info")
    assert "schema" in out and "admin" in out


def test_tampering_is_detected_by_db_verify(tmp_path, capsys):
    db = str(tmp_path / "qc.sqlite3")
    assert _run(capsys, "--db", db, "analyse", _series(tmp_path / "s", 100, 1), "--protocol",
                "generic.roi", "--save", "--create-equipment")[0] == 0
    with sqlite3.connect(db) as c:  # someone edits a result behind imgqa's back
        c.execute("DROP TRIGGER imgqa_result_no_update")
        c.execute("UPDATE result SET value = 42 WHERE measurement = 'mean'")
    code, _, err = _run(capsys, "--db", db, "db", "verify")
    assert code == 1 and "changed after it was saved" in err


def test_store_errors_are_clear(tmp_path, capsys):
    code, _, err = _run(capsys, "--db", str(tmp_path / "nope" / "qc.sqlite3"), "equipment",
                        "list")
    assert code == 1 and "does not exist" in err
    db = str(tmp_path / "qc.sqlite3")
    code, _, err = _run(capsys, "--db", db, "baseline", "set", "7", "generic.roi", "mean", "1",
                        "--reason", "x")
    assert code == 1 and "no equipment with id 7" in err
    code, out, _ = _run(capsys, "--db", db, "tolerance", "defaults", "--protocol", "ct.water")
    assert code == 0 and "ACR CT" in out
    code, _, err = _run(capsys, "--db", db, "db", "init-roles")
    assert code == 1 and "only on PostgreSQL" in err
    code, out, _ = _run(capsys, "--db", db, "db", "backup", str(tmp_path / "none" / "x.db"))
    assert code == 1


def test_analyse_without_database_uses_fixed_defaults(tmp_path, capsys, monkeypatch):
    from imgqa.phantoms import demo_sets

    makers = demo_sets()
    if "ct_water" not in makers:
        pytest.skip("the ct_water digital phantom is not available in this build")
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "empty-home"))
    folder = makers["ct_water"](tmp_path)
    code, out, _ = _run(capsys, "analyse", str(folder), "--protocol", "ct.water",
                        "--format", "json")
    assert code == 0
    ms = {m["name"]: m["status"] for m in json.loads(out)["results"][0]["measurements"]}
    assert ms["mean_hu_centre"] == "OK" and ms["noise_sd_centre"] == "NO_TOL"
    assert not (tmp_path / "empty-home").exists()  # no database was created


def test_service_events_from_the_command_line(tmp_path, capsys):
    db = str(tmp_path / "qc.sqlite3")
    common = ["--db", db]
    assert _run(capsys, *common, "equipment", "add", "CT room 3", "--serial", "SN-3")[0] == 0
    code, out, _ = _run(capsys, *common, "equipment", "events", "CT room 3")
    assert code == 0 and "No service events" in out
    code, out, err = _run(capsys, *common, "equipment", "service", "SN-3", "--date",
                          "2025-03-04", "--kind", "part replacement", "--description",
                          "X-ray tube replaced", "--by", "A. Engineer (Acme Service)")
    assert code == 0, err
    assert "recorded part replacement on 2025-03-04 00:00 UTC by A. Engineer" in out
    code, out, err = _run(capsys, *common, "equipment", "service", "1", "--date",
                          "2025-03-10T14:30+01:00", "--kind", "software", "--description",
                          "console VB20 upgrade")
    assert code == 0, err
    code, out, _ = _run(capsys, *common, "equipment", "events", "1", "--format", "json")
    doc = json.loads(out)
    assert doc["equipment"]["name"] == "CT room 3"
    assert [(e["when"], e["kind"], e["performed_by"]) for e in doc["service_events"]] == [
        ("2025-03-04T00:00:00+00:00", "part replacement", "A. Engineer (Acme Service)"),
        ("2025-03-10T13:30:00+00:00", "software", "")]
    code, out, _ = _run(capsys, *common, "equipment", "events", "1", "--until", "2025-03-04")
    assert code == 0 and "tube replaced" in out and "VB20" not in out
    assert "When (UTC)" in out and "2025-03-04 00:00" in out
    code, out, _ = _run(capsys, *common, "equipment", "show", "1")
    assert "Recent service events" in out and "console VB20 upgrade" in out
    # bad input: a usage error for the date, a clear message for an empty description
    with pytest.raises(SystemExit):
        main([*common, "equipment", "service", "1", "--date", "last week", "--kind", "x",
              "--description", "y"])
    assert "not a date" in capsys.readouterr().err
    code, _, err = _run(capsys, *common, "equipment", "service", "1", "--date", "2025-03-04",
                        "--kind", "repair", "--description", " ")
    assert code == 1 and "needs a description" in err
    code, out, _ = _run(capsys, *common, "db", "verify")
    assert code == 0 and "intact" in out
