"""`imgqa analyse --jobs N` (issue 17, parallel batch): the same JSON as one job, the same
problems for bad files, a dying worker costs one series, and Ctrl-C stops cleanly (exit 130).

No timed assertions: the speed-up is measured, not tested (docs/cli.md)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imgqa import parallel
from imgqa.cli.main import main
from imgqa.io import load
from imgqa.parallel import CRASH_ENV
from imgqa.phantoms import make_demo

SRC = Path(__file__).resolve().parents[2] / "src"


def _analyse_json(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main(["analyse", *argv, "--format", "json"])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def _subprocess(*argv: str, env: dict | None = None, **kw) -> subprocess.Popen:
    full_env = {**os.environ, "PYTHONPATH": str(SRC), **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "imgqa.cli.main", *argv], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    make_demo(out)
    return out


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_two_jobs_give_the_json_of_one_job_on_the_demo_phantoms(capsys, demo_dir, monkeypatch,
                                                                 start, without_timestamps):
    # "fork" (the CLI, single-threaded: series inherited) and "forkserver" (a program with
    # threads, e.g. the GUI: series pickled to the workers) must both give the same output.
    monkeypatch.setattr(parallel, "START_METHOD", start)
    code1, one, _ = _analyse_json(capsys, str(demo_dir), "--jobs", "1")
    code2, two, _ = _analyse_json(capsys, str(demo_dir), "--jobs", "2")
    assert len(one["results"]) >= 9  # every demo phantom gave at least one result
    assert code1 == code2
    assert without_timestamps(two) == without_timestamps(one)


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_two_jobs_give_the_json_of_one_job_on_a_zip(capsys, demo_dir, tmp_path, monkeypatch,
                                                      start, without_timestamps):
    # Series read from a zip: a forked worker must not read members through the archive the
    # parent opened (a shared file position made members "damaged"), and a series sent to a
    # fork server must not carry the closed member stream pydicom kept (it cannot be pickled).
    import zipfile

    archive = tmp_path / "demo.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in sorted(demo_dir.rglob("*.dcm")):
            zf.write(f, f.relative_to(demo_dir).as_posix())
    monkeypatch.setattr(parallel, "START_METHOD", start)
    code1, one, _ = _analyse_json(capsys, str(archive), "--jobs", "1")
    code2, two, _ = _analyse_json(capsys, str(archive), "--jobs", "2")
    assert len(one["results"]) >= 9 and not one["problems"]
    assert code1 == code2
    assert without_timestamps(two) == without_timestamps(one)


def test_two_jobs_give_the_json_of_one_job_on_real_images(capsys, shared_data, without_timestamps):
    paths = [str(shared_data / "ct" / "ge_qa_phantom" / "serie1"),
             str(shared_data / "ct" / "ge_qa_phantom" / "serie2"),
             str(shared_data / "nm" / "nmqc" / "UNIFORMIDAD_1.dcm"),
             str(shared_data / "nm" / "nmqc" / "Spatial_Resol_X.dcm"),
             str(shared_data / "xray" / "intraoral")]
    code1, one, _ = _analyse_json(capsys, *paths, "--jobs", "1")
    code2, two, _ = _analyse_json(capsys, *paths, "--jobs", "2")
    assert len(one["results"]) >= 5
    assert code1 == code2
    assert without_timestamps(two) == without_timestamps(one)


def test_a_multi_series_test_gets_its_series_together_with_two_jobs(capsys, shared_data,
                                                                    without_timestamps):
    pair = str(shared_data / "mr" / "snr_pairs" / "hazen_Siemens")
    _, one, _ = _analyse_json(capsys, pair, "--protocol", "mr.snr", "--jobs", "1")
    _, two, _ = _analyse_json(capsys, pair, "--protocol", "mr.snr", "--jobs", "2")
    assert [r["protocol"] for r in one["results"]] == ["mr.snr"]
    assert without_timestamps(two) == without_timestamps(one)


def _truncated_copy(src: Path, dst: Path) -> Path:
    """A copy whose pixel data is cut short: the header reads, decoding fails (in the worker)."""
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) - len(data) // 3])
    return dst


def test_a_bad_file_beside_good_ones_gives_the_same_problems_with_two_jobs(
        capsys, demo_dir, tmp_path, without_timestamps):
    folder = tmp_path / "mixed"
    folder.mkdir()
    flood = sorted((demo_dir).rglob("*.dcm"))
    good = [p for p in flood if "nm_flood" in str(p) or "xray_edge" in str(p)]
    assert good
    for p in good:
        (folder / f"{p.parent.name}_{p.name}").write_bytes(p.read_bytes())
    ct = sorted(p for p in flood if "ct_water" in str(p))[0]
    _truncated_copy(ct, folder / "cut_short.dcm")
    (folder / "notes.dcm").write_text("not an image")
    code1, one, _ = _analyse_json(capsys, str(folder), "--jobs", "1")
    code2, two, _ = _analyse_json(capsys, str(folder), "--jobs", "2")
    assert code1 == code2 == 1
    assert one["results"], "the good series are still analysed"
    assert {Path(p["path"]).name for p in one["problems"]} >= {"notes.dcm"}
    assert without_timestamps(two) == without_timestamps(one)


def test_a_dying_worker_costs_only_its_own_series(demo_dir, without_timestamps):
    series = load([str(demo_dir)])
    victim = next(s for s in series if s.modality == "NM")
    one, _ = _subprocess("analyse", str(demo_dir), "--format", "json",
                         "--jobs", "1").communicate(timeout=600)
    proc = _subprocess("analyse", str(demo_dir), "--format", "json", "--jobs", "2",
                       env={CRASH_ENV: victim.header.series_uid})
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1
    assert "Traceback" not in err, err
    got, whole = json.loads(out), json.loads(one)
    died = [p for p in got["problems"] if "stopped unexpectedly" in p["error"]]
    assert len(died) == 1, got["problems"]
    # every other series was analysed, as with one job
    others = [r for r in whole["results"] if r["series"]["series_uid"] != victim.header.series_uid]
    assert len(others) < len(whole["results"])
    assert without_timestamps(got["results"]) == without_timestamps(others)
    assert [p for p in got["problems"] if p not in died] == whole["problems"]


def test_ctrl_c_stops_a_parallel_batch_with_130_and_no_traceback(demo_dir, tmp_path):
    # A long batch: the demo phantoms several times over (copies are separate files).
    big = tmp_path / "big"
    for k in range(6):
        for p in demo_dir.rglob("*.dcm"):
            dst = big / str(k) / p.relative_to(demo_dir)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(p.read_bytes())
    proc = _subprocess("analyse", str(big), "--format", "json", "--jobs", "2", "--progress")
    seen = []
    for line in proc.stderr:  # wait until the pool is really working
        seen.append(line)
        if line.startswith("analysed 1/"):
            break
    assert seen and seen[-1].startswith("analysed 1/"), "".join(seen)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert out == ""  # no half-written JSON


def test_progress_goes_to_stderr_and_leaves_the_json_intact(capsys, demo_dir):
    code, got, err = _analyse_json(capsys, str(demo_dir / "nm_flood"), str(demo_dir / "xray_edge"),
                                   "--jobs", "2", "--progress")
    lines = [ln for ln in err.splitlines() if ln.startswith("analysed ")]
    total = len(load([str(demo_dir / "nm_flood"), str(demo_dir / "xray_edge")]))
    assert [ln.split()[1] for ln in lines] == [f"{k}/{total}" for k in range(1, total + 1)]
    assert got["results"]


@pytest.mark.parametrize("bad", ["0", "-2", "many"])
def test_jobs_must_be_a_positive_whole_number(capsys, demo_dir, bad):
    with pytest.raises(SystemExit) as exc:
        main(["analyse", str(demo_dir), "--jobs", bad])
    assert exc.value.code == 2
    assert "--jobs" in capsys.readouterr().err


@pytest.mark.parametrize("start", ["fork", "forkserver"])
def test_series_refused_inside_the_workers_give_the_same_problems(capsys, demo_dir, monkeypatch,
                                                                  start, without_timestamps):
    monkeypatch.setattr(parallel, "START_METHOD", start)
    # nm.uniformity on every demo series: all but the NM flood fail inside a worker process
    # (wrong modality, no flood field); each is its own problem, in input order, as in-process.
    args = (str(demo_dir), "--protocol", "nm.uniformity")
    code1, one, _ = _analyse_json(capsys, *args, "--jobs", "1")
    code2, two, _ = _analyse_json(capsys, *args, "--jobs", "2")
    assert code1 == code2 == 1
    assert one["results"] and len(one["problems"]) >= 5
    assert without_timestamps(two) == without_timestamps(one)
