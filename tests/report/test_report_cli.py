"""`imgqa export FILE` end to end on the filled SQLite store (global --db)."""

from __future__ import annotations

import csv
import json

import pytest
import report_fixtures

from imgqa.cli.main import main

# Fixtures shared by the export tests (see report_fixtures.py for why not a conftest).
filled_store = report_fixtures.filled_store
store = report_fixtures.store


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_export_formats_from_suffix_with_filters(filled_store, tmp_path, capsys):
    db = ["--db", filled_store.db]
    target = tmp_path / "ct.csv"
    code, out, err = _run(capsys, *db, "export", str(target), "--equipment", "CT room 1",
                          "--since", "2026-01-06", "--until", "2026-01-07")
    assert code == 0, err
    assert "Exported" in out and "2 session(s)" in out
    with open(target, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert {r["equipment"] for r in rows} == {"CT room 1"}
    assert {r["performed_at"][:10] for r in rows} == {"2026-01-06", "2026-01-07"}
    # --format wins over the suffix; --protocol and --unreviewed filter
    target = tmp_path / "pending.dat"
    code, out, err = _run(capsys, *db, "export", str(target), "--format", "json",
                          "--protocol", "nm.uniformity", "--unreviewed")
    assert code == 0, err
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert {r["protocol"] for r in doc["rows"]} == {"nm.uniformity"}
    assert all(r["review_decision"] is None for r in doc["rows"])
    assert len(doc["sessions"]) == filled_store.n_days - 1       # one NM session was reviewed
    # several --equipment, by id and serial, into a PDF and an XLSX
    for name in ("both.pdf", "both.xlsx"):
        code, out, err = _run(capsys, *db, "export", str(tmp_path / name), "-e",
                              str(filled_store.ct_id), "-e", "NM-0007")
        assert code == 0, err
        assert "2 piece(s) of equipment" in out
        assert (tmp_path / name).stat().st_size > 1000


def test_export_problems_are_messages_not_tracebacks(filled_store, tmp_path, capsys):
    db = ["--db", filled_store.db]
    target = tmp_path / "empty.pdf"
    code, _, err = _run(capsys, *db, "export", str(target), "--since", "2031-01-01")
    assert code == 1 and "No QA records match" in err and "period 2031-01-01" in err
    assert "Traceback" not in err and not target.exists()
    code, _, err = _run(capsys, *db, "export", str(tmp_path / "x.docx"))
    assert code == 1 and "Unknown export format" in err
    code, _, err = _run(capsys, *db, "export", str(tmp_path / "x.csv"), "--since", "soon")
    assert code == 1 and "not a date" in err
    code, _, err = _run(capsys, *db, "export", str(tmp_path / "x.csv"), "-e", "nope")
    assert code == 1 and "No equipment called" in err
    with pytest.raises(SystemExit) as exc:                # argparse usage error
        main([*db, "export", str(tmp_path / "x.csv"), "--format", "doc"])
    assert exc.value.code == 2
    assert not list(tmp_path.iterdir())
