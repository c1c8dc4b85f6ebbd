"""Issue 17 in the service: series that complete at the same moment (a burst from several
scanners, a folder dropped into a watched share) are analysed together on worker processes
(`SessionSaver.prepare`), then saved one by one exactly as when each is analysed on its own;
``imgqa watch`` and ``imgqa receive --analyse`` print them the same way
(`SummaryPrinter.prepare`).

No timed assertions: the gain is measured in benchmarks (docs/automatic-qc.md)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pydicom
import pytest

from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service import saving
from imgqa.service.pipeline import AutomaticQC
from imgqa.service.saving import PARALLEL_MIN_SERIES, SessionSaver
from imgqa.store import open_store

N_SERIES = PARALLEL_MIN_SERIES + 1
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def bursts(tmp_path_factory) -> list[tuple[str, list[tuple[str, str]]]]:
    """(SeriesInstanceUID, [(SOPInstanceUID, path)]) of several 2-slice CT water series."""
    root = tmp_path_factory.mktemp("burst")
    out = []
    for k in range(N_SERIES):
        images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=2, seed=k,
                                  water_hu=float(k))
        paths = sorted(write_series(images, root / f"s{k}", modality="CT",
                                    description="water", pixel_spacing_mm=3.6,
                                    slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                                    prefix=f"s{k}"))
        heads = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
        out.append((str(heads[0].SeriesInstanceUID),
                    [(str(h.SOPInstanceUID), str(p)) for h, p in zip(heads, paths)]))
    return out


def _store(path: Path):
    st = open_store(str(path))
    st.add_rule("ct.water", reason="daily water phantom", create_equipment=True,
                modality="CT", description="water")
    return st


def _run(tmp_path: Path, bursts, name: str, jobs: int) -> tuple[list, list, int]:
    """Deliver every series at once; the saved outcomes, their results, and how many were
    analysed ahead on worker processes."""
    store = _store(tmp_path / f"{name}.sqlite3")
    try:
        saver = SessionSaver(store, tmp_path / f"inbox-{name}")
        saver.jobs = jobs
        prepared: list[int] = []
        qc = AutomaticQC(saver, quiet_s=0.0,
                         prepare=lambda complete: prepared.append(saver.prepare(complete)))
        for uid, images in bursts:
            for sop, path in images:
                qc.collector.add(uid, sop, path)
        assert qc.flush() == len(bursts)  # all complete at the same moment
        outcomes = [(o.state, o.series_uid, o.protocol, o.worst_status) for o in saver.outcomes]
        values = [[(r.measurement, r.value, r.status)
                   for r in store.session_results(o.session_id)] for o in saver.outcomes]
        assert len(saver._prepared) == 0  # every prepared series was used
        return outcomes, values, sum(prepared)
    finally:
        store.close()


def test_a_burst_analysed_on_worker_processes_saves_what_one_process_saves(tmp_path, bursts):
    one = _run(tmp_path, bursts, "one", jobs=1)
    two = _run(tmp_path, bursts, "two", jobs=2)
    assert one[2] == 0 and two[2] == N_SERIES  # only the second used worker processes
    assert [state for state, *_ in one[0]] == ["saved"] * N_SERIES  # the test has teeth
    assert all(values for values in one[1])
    assert two[0] == one[0] and two[1] == one[1]  # same sessions, same results, same order
    assert multiprocessing.active_children() == []


def test_a_rule_changed_after_preparing_applies_to_the_series_saved_after(tmp_path, bursts):
    store = _store(tmp_path / "qc.sqlite3")
    try:
        saver = SessionSaver(store, tmp_path / "inbox")
        saver.jobs = 2
        qc = AutomaticQC(saver, quiet_s=0.0)
        completes = []
        for uid, images in bursts:
            for sop, path in images:
                qc.collector.add(uid, sop, path)
        completes = qc.collector.flush()
        assert saver.prepare(completes) == N_SERIES
        (rule,) = store.rules()
        store.disable_rule(rule.rule_id, reason="moved to another room")
        for c in completes:
            saver(c)
        # prepared with the old rule, saved under the new rules: nothing matches any more
        assert {o.state for o in saver.outcomes} == {"waiting"}
    finally:
        store.close()


def test_few_series_one_core_or_spawning_are_not_sent_to_worker_processes(tmp_path, bursts,
                                                                 monkeypatch):
    def no_pool(*a, **k):
        raise AssertionError("no worker process should start")

    monkeypatch.setattr("imgqa.parallel.map_in_processes", no_pool)
    store = _store(tmp_path / "qc.sqlite3")
    try:
        saver = SessionSaver(store, tmp_path / "inbox")
        qc = AutomaticQC(saver, quiet_s=0.0)
        for uid, images in bursts:
            for sop, path in images:
                qc.collector.add(uid, sop, path)
        completes = qc.collector.flush()
        saver.jobs = 2
        assert saver.prepare(completes[:PARALLEL_MIN_SERIES - 1]) == 0
        saver.jobs = 1
        assert saver.prepare(completes) == 0
        saver.jobs = 2  # where workers must be spawned (Windows): each would import all again
        monkeypatch.setattr("imgqa.parallel.START_METHOD", "spawn")
        assert saver.prepare(completes) == 0
    finally:
        store.close()


_FAIL_UID: list[str] = []  # the series whose job fails in the worker (read after the fork)
_REAL_JOB = saving.analyse_with_rules


def _failing_job(item):  # module level: the pool pickles the function by name
    if item[3] in _FAIL_UID:
        raise RuntimeError("worker trouble")
    return _REAL_JOB(item)


def test_a_failing_worker_leaves_its_series_to_the_service(tmp_path, bursts, monkeypatch):
    # A series whose analysis fails in the worker (here: its job raises) is analysed when it
    # is saved, as without workers: nothing is lost.
    _FAIL_UID[:] = [bursts[1][0]]
    monkeypatch.setattr(saving, "analyse_with_rules", _failing_job)
    monkeypatch.setattr("imgqa.parallel.START_METHOD", "fork")  # the test module is inherited
    try:
        outcomes, values, prepared = _run(tmp_path, bursts, "fail", jobs=2)
    finally:
        _FAIL_UID.clear()
    assert prepared == N_SERIES - 1
    assert [state for state, *_ in outcomes] == ["saved"] * N_SERIES


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_serve_saves_a_burst_dropped_into_a_watched_folder(tmp_path, bursts, serve_until):
    """A real `imgqa serve` process, its workers started from a fork server (as when its
    receiver's threads run): a folder of series dropped at once is saved whole, then a clean
    stop."""
    import shutil

    db = tmp_path / "qc.sqlite3"
    _store(db).close()
    watched = tmp_path / "export"
    watched.mkdir()
    for _uid, images in bursts:  # all at once, as a copied folder
        for _, path in images:
            dest = watched / Path(path).parent.name
            dest.mkdir(exist_ok=True)
            shutil.copy(path, dest)
    seen, _, err, code = serve_until(
        db, watched, tmp_path / "inbox",
        lambda lines: sum(x.startswith("saved:") for x in lines) == N_SERIES,
        IMGQA_START_METHOD="forkserver")
    saved = [line for line in seen if line.startswith("saved:")]
    told = [line for line in seen if line.startswith("analysed ")]
    assert code == 0, err
    assert len(saved) == N_SERIES and "could not use worker processes" not in err
    assert told == [f"analysed {N_SERIES} series at once on worker processes\n"]
    store = open_store(str(db))
    try:
        assert len({s.split("session ")[1].split(",")[0] for s in saved}) == N_SERIES
        assert all(store.session_results(int(s.split("session ")[1].split(",")[0]))
                   for s in saved)
    finally:
        store.close()


def _printed(bursts, jobs: int, capsys, without_timestamps) -> tuple[list, int]:
    """What ``imgqa watch --format json`` prints for a burst (one JSON object per series),
    and how many series were analysed ahead on worker processes."""
    import json

    from imgqa.cli._auto import SummaryPrinter

    printer = SummaryPrinter("json", jobs=jobs)
    prepared: list[int] = []
    qc = AutomaticQC(printer, quiet_s=0.0,
                     prepare=lambda complete: prepared.append(printer.prepare(complete)))
    capsys.readouterr()
    for uid, images in bursts:
        for sop, path in images:
            qc.collector.add(uid, sop, path)
    assert qc.flush() == len(bursts)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printer._prepared) == 0  # every prepared series was printed
    return without_timestamps(lines), sum(prepared)


def test_watch_prints_for_a_burst_on_worker_processes_what_it_prints_one_by_one(
        bursts, capsys, without_timestamps):
    one, none_prepared = _printed(bursts, 1, capsys, without_timestamps)
    two, prepared = _printed(bursts, 2, capsys, without_timestamps)
    assert none_prepared == 0 and prepared == N_SERIES
    assert [line["state"] for line in one] == ["analysed"] * N_SERIES   # the test has teeth
    assert all(line["results"] for line in one)
    assert two == one   # same series, same results, same order
    assert multiprocessing.active_children() == []


def test_imgqa_watch_once_analyses_a_dropped_folder_of_series_at_once(bursts, tmp_path):
    import json
    import shutil

    drop = tmp_path / "share"
    for k, (_, images) in enumerate(bursts):
        for _, path in images:
            (drop / f"s{k}").mkdir(parents=True, exist_ok=True)
            shutil.copy(path, drop / f"s{k}")
    env = {**os.environ, "PYTHONPATH": str(SRC), "IMGQA_DATA_DIR": str(tmp_path / "home"),
           "IMGQA_START_METHOD": "forkserver"}
    proc = subprocess.run(
        [sys.executable, "-c", "from imgqa.cli.main import entry; entry()", "-v", "watch",
         str(drop), "--once", "--poll", "0.2", "--quiet", "0", "--format", "json"],
        capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert sorted(line["series_instance_uid"] for line in lines) == sorted(u for u, _ in bursts)
    assert {line["state"] for line in lines} == {"analysed"}
    assert f"analysed {N_SERIES} series at once on worker processes" in proc.stderr
