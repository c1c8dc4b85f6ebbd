"""Issue 12's done-when for images kept with the record: *a session saved on one workstation
reopens its images on another that shares the database and the archive folder* — two data
folders (two ``IMGQA_DATA_DIR``), one SQLite database, one archive mounted at two paths.

Workstation A runs ``imgqa analyse --save --archive X`` on the real ACR MRI series
(../shared/data/mr/acr/hazen_Siemens); workstation B, with the same share at another path Y,
lists the session's images (``imgqa session images``), analyses them again and gets the same
values; ``imgqa db verify`` then reports a deleted and an altered file (exit 1). ``imgqa
serve``'s saver archives what it saves too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imgqa.cli.main import main
from imgqa.store import open_store


def _run(capsys, monkeypatch, data_dir: Path, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("IMGQA_DATA_DIR", str(data_dir))   # this workstation's settings
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def acr(shared_data) -> Path:
    d = shared_data / "mr/acr/hazen_Siemens"
    if not d.is_dir():
        pytest.skip("the ACR series is not in ../shared/data")
    return d


def test_session_saved_on_a_reopens_on_b_with_the_same_values(tmp_path, acr, capsys,
                                                               monkeypatch):
    monkeypatch.delenv("IMGQA_ARCHIVE", raising=False)
    db = str(tmp_path / "shared-qc.sqlite3")
    ws_a, ws_b = tmp_path / "workstation-a", tmp_path / "workstation-b"
    share_x = tmp_path / "server" / "qa-share"        # mounted here on A
    share_x.mkdir(parents=True)
    code, out, err = _run(capsys, monkeypatch, ws_a, "--db", db, "analyse", str(acr),
                          "--save", "--create-equipment", "--archive", str(share_x),
                          "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    [saved] = doc["saved"]
    assert saved["archived_files"] == 11
    values_a = {m["name"]: m["value"] for m in doc["results"][0]["measurements"]}
    # the files are under equipment/date/series, with no original (possibly patient) names
    files = sorted(p for p in share_x.rglob("*") if p.is_file())
    assert len(files) == 11
    rel = files[0].relative_to(share_x).parts
    assert rel[1] == "2021-11-26" and rel[2].startswith("1.3.12.2.1107.5.2.19.46229")

    # workstation B mounts the same share elsewhere (a symlink stands for the mount)
    share_y = tmp_path / "mnt" / "Q"
    share_y.parent.mkdir()
    share_y.symlink_to(share_x, target_is_directory=True)
    code, out, err = _run(capsys, monkeypatch, ws_b, "--db", db, "session", "images",
                          saved["session_uid"], "--archive", str(share_y), "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["session_id"] == saved["session_id"] and len(listed["files"]) == 11
    assert all(f["state"] == "ok" and f["location"].startswith(str(share_y))
               for f in listed["files"])
    # B's setting instead of the option: $IMGQA_ARCHIVE, and --paths for `imgqa analyse`
    monkeypatch.setenv("IMGQA_ARCHIVE", str(share_y))
    code, out, err = _run(capsys, monkeypatch, ws_b, "--db", db, "session", "images",
                          str(saved["session_id"]), "--paths")
    assert code == 0, err
    paths = out.split()
    assert len(paths) == 11 and all(p.startswith(str(share_y)) for p in paths)
    code, out, err = _run(capsys, monkeypatch, ws_b, "analyse", *paths, "--protocol",
                          "mr.acr", "--format", "json")
    assert code == 0, err
    values_b = {m["name"]: m["value"] for m in json.loads(out)["results"][0]["measurements"]}
    assert values_b == values_a          # the same images give the same numbers
    code, out, _ = _run(capsys, monkeypatch, ws_b, "--db", db, "db", "verify")
    assert code == 0 and "Image archive intact: 11 file(s) of 1 session(s)" in out

    # a deleted file and an altered file are reported by db verify (exit 1)
    gone, changed = files[3], files[7]
    gone.unlink()
    data = changed.read_bytes()
    changed.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))   # one pixel byte flipped
    code, out, err = _run(capsys, monkeypatch, ws_b, "--db", db, "db", "verify",
                          "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["audit_ok"] is True and report["ok"] is False
    states = {p["path"].rsplit("/", 1)[-1]: p["state"] for p in report["archive"]["problems"]}
    assert states == {gone.name: "missing", changed.name: "altered"}
    code, out, err = _run(capsys, monkeypatch, ws_b, "--db", db, "db", "verify")
    assert code == 1 and "is missing" in err and "is altered" in err
    code, out, err = _run(capsys, monkeypatch, ws_b, "--db", db, "session", "images",
                          saved["session_uid"])
    assert code == 1 and "2 of 11 file(s) missing or altered" in err


def test_verify_without_archive_root_says_so_and_a_missing_share_is_an_error(
        tmp_path, acr, capsys, monkeypatch):
    monkeypatch.delenv("IMGQA_ARCHIVE", raising=False)
    db = str(tmp_path / "qc.sqlite3")
    share = tmp_path / "share"
    share.mkdir()
    code, _, err = _run(capsys, monkeypatch, tmp_path / "a", "--db", db, "analyse", str(acr),
                        "--save", "--create-equipment", "--archive", str(share))
    assert code == 0, err
    code, out, _ = _run(capsys, monkeypatch, tmp_path / "b", "--db", db, "db", "verify")
    assert code == 0 and "were not checked: no image archive folder is set" in out
    code, _, err = _run(capsys, monkeypatch, tmp_path / "b", "--db", db, "db", "verify",
                        "--archive", str(tmp_path / "unmounted"))
    assert code == 1 and "is the share mounted?" in err
    code, _, err = _run(capsys, monkeypatch, tmp_path / "b", "--db", db, "session", "images",
                        "1")
    assert code == 1 and "No image archive folder is set" in err


def test_serve_saver_archives_the_series_it_saves(tmp_path, acr):
    from imgqa.service.completion import CompleteSeries
    from imgqa.service.saving import SessionSaver

    db = str(tmp_path / "qc.sqlite3")
    share = tmp_path / "share"
    assert main(["--db", db, "rule", "add", "--protocol", "mr.acr", "--create-equipment",
                 "--modality", "MR", "--description", "^ACR_T1", "--reason", "weekly"]) == 0
    paths = tuple(sorted(acr.glob("*.dcm")))
    with open_store(db) as store:
        saver = SessionSaver(store, archive=share)
        saver(CompleteSeries(series_uid="x", paths=paths, sop_uids=tuple(p.name for p in paths),
                             first_arrival=0.0, last_arrival=0.0, update=False))
        [done] = saver.outcomes
        assert done.state == "saved", done.line()
        files = store.session_files(done.session_id)
        assert len(files) == 11
        assert all((share / f.path).is_file() for f in files)
        # sent twice: nothing added, and the archive keeps one copy of each file
        saver(CompleteSeries(series_uid="x", paths=paths, sop_uids=tuple(p.name for p in paths),
                             first_arrival=0.0, last_arrival=0.0, update=False))
        assert saver.outcomes[-1].state == "duplicate"
        assert len([p for p in share.rglob("*") if p.is_file()]) == 11
