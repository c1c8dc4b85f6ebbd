"""Issue 12's done-when for ``imgqa serve``: a real process on a loopback port with a fresh
SQLite database and a routing rule for mr.acr; a pynetdicom SCU sends the real ACR MRI series
(/work/shared/data/mr/acr/hazen_Siemens, 11 slices). A session with mr.acr results, pending
review, appears; a second send adds nothing; an unknown calling AE is refused; a series no rule
matches waits with the reason; SIGTERM ends the service with exit code 0.

The test waits for printed lines (events), never for a time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import imgqa
from imgqa.cli.main import main
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.store import open_store

SRC = Path(imgqa.__file__).resolve().parents[1]


def _read_until(stream, pattern, seen):
    for line in stream:
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"imgqa serve ended without printing {pattern!r}: {''.join(seen)}")


def _start(db, inbox):
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgqa.cli.main", "--db", db, "serve", "--port", "0",
         "--inbox", str(inbox), "--allow-ae", "MR_ACR", "--quiet", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    timer = threading.Timer(240, proc.kill)  # a regression fails instead of hanging
    timer.daemon = True  # (and a passing run does not wait for it)
    timer.start()
    seen: list[str] = []
    return proc, int(_read_until(proc.stdout, r"port (\d+)", seen).group(1)), seen


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_serve_saves_a_received_acr_series_once_pending_review(
        tmp_path, shared_data, capsys, dicom_send):
    acr = sorted((shared_data / "mr/acr/hazen_Siemens").glob("*.dcm"))
    assert len(acr) == 11
    db = str(tmp_path / "qc.sqlite3")
    assert main(["--db", db, "rule", "add", "--protocol", "mr.acr", "--create-equipment",
                 "--modality", "MR", "--description", "^ACR_T1", "--reason",
                 "weekly ACR series"]) == 0
    # a CT series no rule matches: it must wait in the inbox, with the reason
    images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=2, seed=3)
    ct = write_series(images, tmp_path / "ct", modality="CT", description="water",
                      pixel_spacing_mm=3.6, slice_thickness_mm=5.0, rescale_intercept=-1024.0)
    inbox = tmp_path / "inbox"
    line = r"^(saved|failed|waiting|duplicate): .*"
    proc, port, seen = _start(db, inbox)
    try:
        assert dicom_send(port, acr, "MR_ACR") == [0] * 11
        saved = _read_until(proc.stdout, line, seen)
        assert saved.group(1) == "saved", saved.group(0)
        assert dicom_send(port, acr, "MR_ACR") == [0] * 11  # the same series again: nothing new
        assert dicom_send(port, acr[:1], calling="STRANGER") is None  # not on the allow-list
        assert dicom_send(port, ct, calling="MR_ACR") == [0, 0]
        wait = _read_until(proc.stdout, line, seen)
        assert wait.group(1) == "waiting" and "no routing rule matches" in wait.group(0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped: 1 saved, 0 duplicate, 1 waiting, 0 failed." in out
    assert "refused an association from AE title 'STRANGER'" in err
    [waiting] = [json.loads(x) for x in (inbox / "waiting.jsonl").read_text().splitlines()]
    assert waiting["modality"] == "CT" and "no routing rule" in waiting["reason"]
    # Restarted (the series is new to the process): the store's duplicate check refuses it.
    proc, port, seen = _start(db, inbox)
    try:
        assert dicom_send(port, acr, "MR_ACR") == [0] * 11
        again = _read_until(proc.stdout, line, seen)
        assert again.group(1) == "duplicate" and "session 1: nothing added" in again.group(0)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Stopped: 0 saved, 1 duplicate, 0 waiting, 0 failed." in out

    with open_store(db) as store:
        [sess] = store.sessions()
        assert sess.protocols == ("mr.acr",) or list(sess.protocols) == ["mr.acr"]
        assert not sess.reviewed and sess.performed_by == "imgqa serve"
        assert "rule 1 (version 1)" in sess.comment and "pending review" in sess.comment
        values = {r.measurement: r.value for r in store.session_results(sess.id)
                  if r.protocol == "mr.acr"}
        # the values other tools publish for this series (MANIFEST.md): PIU hazen 67.49 %,
        # pylinac 66.65 %; slice thickness hazen 5.89 mm, pylinac 4.64 mm (nominal 5 mm)
        assert abs(values["piu"] - 67.49) < 2.0 and abs(values["piu"] - 66.65) < 2.0, values
        assert 4.4 < values["slice_thickness_mm"] < 6.1, values
        [eq] = store.list_equipment()
        assert (eq.manufacturer, eq.model) == ("SIEMENS", "Skyra")
    capsys.readouterr()
    assert main(["--db", db, "review", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)["sessions"]
    assert [s["id"] for s in listed] == [sess.id]
    assert listed[0]["status"] == "pending review" and "rule 1" in listed[0]["comment"]
    # once reviewed it is no longer listed
    assert main(["--db", db, "review", "--reject-all", "--comment", "test"]) == 0
    capsys.readouterr()
    assert main(["--db", db, "review", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["sessions"] == []
