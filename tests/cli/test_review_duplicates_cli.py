"""Issue 11, items 1 and 5 on the command line: ``review --approve-all`` skips failing sessions
and says so; approving them needs ``--include-failing --comment``; ``analyse --save`` refuses
images already saved, naming the earlier session, unless ``--allow-duplicate --reason``."""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np

from imgqa.cli.main import main
from imgqa.phantoms.writer import PhantomDevice, write_series


def _series(folder, level: float, day: int) -> str:
    img = np.full((64, 64), level, dtype=float)
    write_series(img, folder, modality="CT", description="water", pixel_spacing_mm=0.5,
                 rescale_intercept=-1024, signed=True, acquired=datetime(2025, 3, day, 8),
                 device=PhantomDevice(serial="CLI-11", station_name="CT_CLI"))
    return str(folder)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_same_images_saved_twice_refused_then_saved_with_a_reason(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    day1 = _series(tmp_path / "d1", 100, 1)
    save = ["analyse", day1, "--protocol", "generic.roi", "--save"]
    code, out, err = _run(capsys, *db, *save, "--create-equipment", "--performed-by", "Tech A")
    assert code == 0, err
    code, out, err = _run(capsys, *db, *save, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["saved"] == []
    (problem,) = doc["problems"]
    assert problem["kind"] == "duplicate" and problem["earlier_sessions"] == [1]
    assert "already saved" in problem["error"]
    assert "session 1 (2025-03-01 08:00 UTC, performed by Tech A" in problem["error"]
    assert "--allow-duplicate --reason" in problem["error"]
    code, out, err = _run(capsys, *db, *save)                 # table form: on stderr
    assert code == 1 and "Not saved" in err and "session 1 (" in err
    # a usage error without a reason; nothing analysed or saved
    code, _, err = _run(capsys, *db, *save, "--allow-duplicate")
    assert code == 2 and "--reason" in err
    code, out, err = _run(capsys, *db, *save, "--allow-duplicate", "--reason",
                          "re-analysis after the ROI fix", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["saved"][0]["session_id"] == 2
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    assert [s["id"] for s in json.loads(out)["sessions"]] == [2, 1]
    assert _run(capsys, *db, "export", str(tmp_path / "qc.csv"))[0] == 0
    text = (tmp_path / "qc.csv").read_text(encoding="utf-8-sig")
    assert "Duplicate of session 1 saved on purpose: re-analysis after the ROI fix" in text


def test_approve_all_skips_failing_sessions_and_says_how_many(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    for day, level in ((1, 100), (2, 100.5), (3, 110)):
        code, _, err = _run(capsys, *db, "analyse", _series(tmp_path / f"d{day}", level, day),
                            "--protocol", "generic.roi", "--save", "--create-equipment")
        assert code == 0, err
    # a tolerance set after the fact does not change stored statuses: set it, save again
    assert _run(capsys, *db, "baseline", "set", "1", "generic.roi", "mean", "100",
                "--reason", "commissioning")[0] == 0
    assert _run(capsys, *db, "tolerance", "set", "1", "generic.roi", "mean", "--kind",
                "absolute", "--tol-low", "-2", "--tol-high", "2", "--act-low", "-5",
                "--act-high", "5", "--reason", "local policy")[0] == 0
    for day, level in ((4, 100.5), (5, 109.9), (6, 103)):
        assert _run(capsys, *db, "analyse", _series(tmp_path / f"d{day}", level, day),
                    "--protocol", "generic.roi", "--save")[0] == 0
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    worst = {s["id"]: s["worst_status"] for s in json.loads(out)["sessions"]}
    assert (worst[4], worst[5], worst[6]) == ("OK", "ACTION", "TOLERANCE")

    code, out, _ = _run(capsys, *db, "review", "--approve-all")
    assert code == 0
    assert "Approved 4 session(s)" in out
    assert "Skipped 2 session(s) with a Tolerance or Action result (session 6, 5)" in out
    assert "--include-failing" in out
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    assert sorted(s["id"] for s in json.loads(out)["sessions"]) == [5, 6]

    # approving them needs a comment
    code, _, err = _run(capsys, *db, "review", "--approve-all", "--include-failing")
    assert code == 2 and "--comment" in err
    code, _, err = _run(capsys, *db, "review", "--approve-all", "--include-failing",
                        "--comment", "  ")
    assert code == 2
    code, out, _ = _run(capsys, *db, "review", "--format", "json")
    assert len(json.loads(out)["sessions"]) == 2
    code, out, err = _run(capsys, *db, "review", "--approve-all", "--include-failing",
                          "--session", "5", "--comment", "water phantom re-filled; repeat OK")
    assert code == 0 and "Approved 1 session(s)" in out, err
    assert _run(capsys, *db, "export", str(tmp_path / "qc.json"))[0] == 0
    s5 = [r for r in json.loads((tmp_path / "qc.json").read_text())["rows"]
          if r["session_id"] == 5]
    assert s5 and {r["review_comment"] for r in s5} == {"water phantom re-filled; repeat OK"}
