"""Issue 12: ``imgqa watch DIR`` analyses each complete series that appears in a folder.

``--once`` on a copy of a real ACR MRI series gives the mr.acr results (compared with hazen's
and pylinac's published values in ../shared/data/MANIFEST.md); the continuous mode is run as a
real process that is stopped with SIGTERM once it has printed its line (no test sleeps).
"""

from __future__ import annotations

import json
import os
import shutil
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

SRC = Path(imgqa.__file__).resolve().parents[1]
ACR = Path("mr") / "acr" / "hazen_Siemens"
# ../shared/data/MANIFEST.md, hazen_Siemens: PIU hazen 67.49 %, pylinac 3.49 66.65 %
PIU_OTHER_TOOLS = (67.49, 66.65)


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _water(folder):
    images, _ = water_phantom(size=128, pixel_mm=1.8, noise_sd=5.0, n_slices=2, seed=1)
    return write_series(images, folder, modality="CT", description="Water phantom daily QC",
                        pixel_spacing_mm=1.8, slice_thickness_mm=5.0, rescale_intercept=-1024.0)


def test_watch_once_on_an_acr_series_gives_mr_acr_results(shared_data, tmp_path, capsys):
    share = tmp_path / "share" / "export-0001"
    shutil.copytree(shared_data / ACR, share)
    code = main(["watch", str(tmp_path / "share"), "--once", "--poll", "0.05",
                 "--format", "json"])
    (line,) = _json_lines(capsys.readouterr().out)
    assert code == 0
    assert line["state"] == "analysed" and line["images"] == 11 and line["modality"] == "MR"
    (result,) = line["results"]
    assert result["protocol"] == "mr.acr"
    values = {m["name"]: m["value"] for m in result["measurements"]}
    # Sensible against the other tools on the same series (their spread is 0.8 points).
    for other in PIU_OTHER_TOOLS:
        assert values["piu"] == pytest.approx(other, abs=2.0)
    # The automatic path gives exactly what `imgqa.analyse` gives on the original folder.
    (direct,) = imgqa.analyse(shared_data / ACR)
    assert values == pytest.approx({m.name: m.value for m in direct.measurements},
                                   nan_ok=True)


def test_watch_once_prints_one_line_per_series_and_skips_junk(tmp_path, capsys):
    share = tmp_path / "share"
    _water(share / "a")
    _water(share / "b")  # a second series (new UIDs)
    (share / "README.txt").write_text("exported by the scanner")
    (share / "b" / "copying.dcm.part").write_bytes(b"\0" * 10)
    code = main(["watch", str(share), "--once", "--poll", "0.05"])
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert code == 0 and len(lines) == 2
    assert all(line.startswith("analysed: CT 'Water phantom daily QC' (2 images): ct.water ")
               for line in lines)
    assert "1 file(s) in the folder are not DICOM images" in captured.err


def test_watch_once_on_an_empty_folder_is_quiet_success(tmp_path, capsys):
    assert main(["watch", str(tmp_path), "--once", "--poll", "0.05"]) == 0
    assert capsys.readouterr().out == ""


def test_watch_a_folder_that_is_not_there_says_so(tmp_path, capsys):
    assert main(["watch", str(tmp_path / "missing"), "--once"]) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and "network share" in err


def test_watch_a_series_that_cannot_be_read_exits_1_and_the_others_go_on(tmp_path, capsys):
    share = tmp_path / "share"
    _water(share / "good")
    for f in _water(share / "cut"):  # headers intact, pixel data cut short
        f.write_bytes(f.read_bytes()[:-2000])
    code = main(["watch", str(share), "--once", "--poll", "0.05", "--format", "json"])
    lines = _json_lines(capsys.readouterr().out)
    assert code == 1
    assert sorted(line["state"] for line in lines) == ["analysed", "failed"]
    failed = next(line for line in lines if line["state"] == "failed")
    assert failed["problems"] and all("cut" in p["path"] for p in failed["problems"])


@pytest.mark.parametrize("argv", [["--quiet", "-1"], ["--poll", "0"], ["--quiet", "x"],
                                  ["--format", "xml"]])
def test_watch_bad_flags_are_usage_errors(tmp_path, argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["watch", str(tmp_path), *argv])
    assert exc.value.code == 2
    assert "imgqa: error:" in capsys.readouterr().err


def test_watch_help_names_the_flags(capsys):
    with pytest.raises(SystemExit):
        main(["watch", "--help"])
    out = capsys.readouterr().out
    for flag in ("--quiet", "--once", "--poll", "--format", "DIR"):
        assert flag in out


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_watch_runs_until_sigterm_and_analyses_what_arrives(tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen([sys.executable, "-m", "imgqa.cli.main", "watch", str(share),
                             "--poll", "0.1", "--quiet", "0.3", "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # a safety net so a regression fails instead of hanging; nothing is timed
    guard = threading.Timer(240, proc.kill)
    guard.start()
    try:
        _water(share / "incoming")  # the series arrives while the watcher runs
        line = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate()
    finally:
        guard.cancel()
    assert proc.returncode == 0, err
    assert line["state"] == "analysed" and line["results"][0]["protocol"] == "ct.water"
    assert _json_lines(out) == []  # analysed once
