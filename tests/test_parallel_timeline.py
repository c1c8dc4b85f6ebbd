"""Issue 17, parallel batch: the timeline used to tune it (``IMGQA_TRACE_BATCH``,
benchmarks/batch_timeline.py) and the garbage-collector settings it led to (collector paused
while headers are read and received, what was read then frozen; the heap frozen before the
analysis workers fork, and unfrozen after the analysis).

No timed assertions: the times themselves are measured in benchmarks/, not tested."""

from __future__ import annotations

import gc
import os
import shutil
import sys
from pathlib import Path

import pytest

from imgqa import parallel
from imgqa.io import load
from imgqa.parallel import TRACE_ENV, analyse_parallel, load_parallel
from imgqa.phantoms import make_demo

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    make_demo(out)
    return out


def test_the_collector_is_paused_while_headers_are_read_and_enabled_after(demo_dir,
                                                                          monkeypatch):
    from imgqa.io import dicom

    monkeypatch.setattr(parallel, "_MIN_PARALLEL_FILES", 1)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    real = dicom.series_from_outcomes
    seen: list[bool] = []

    def grouping(*args, **kwargs):  # runs in this process, after the readers
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(dicom, "series_from_outcomes", grouping)
    assert gc.isenabled()
    got = load_parallel(demo_dir, 2)
    assert seen == [False]
    assert gc.isenabled()  # re-enabled for the rest of the program
    assert gc.get_freeze_count() > 1000  # what was read: frozen, not collected at once
    analyse_parallel(got[:1], jobs=1)  # the analysis that follows unfreezes it
    assert gc.get_freeze_count() == 0
    assert len(got) == len(load(demo_dir))


def test_the_collector_is_left_alone_when_told_so(demo_dir, monkeypatch):
    from imgqa.io import dicom

    monkeypatch.setenv("IMGQA_BATCH_GC", "0")
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_FILES", 1)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    real = dicom.series_from_outcomes
    seen: list[bool] = []
    monkeypatch.setattr(dicom, "series_from_outcomes",
                        lambda *a, **k: seen.append(gc.isenabled()) or real(*a, **k))
    load_parallel(demo_dir, 2)
    assert seen == [True]


@pytest.mark.parametrize("tuned", [True, False])
def test_workers_start_with_a_frozen_heap_and_this_process_unfreezes_it(
        demo_dir, monkeypatch, tmp_path, tuned):
    # A frozen heap in the forked workers (their collections skip what they inherit); none in
    # this process once the batch is over, so a long-running caller still collects it.
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    if not tuned:
        monkeypatch.setenv("IMGQA_BATCH_GC", "0")
    series = [s for s in load(demo_dir) if s.modality != "SR"][:4]
    real = parallel._traced_unit
    marks = tmp_path / "frozen"

    def noting(unit, proto, params):  # inherited by the forked workers
        with open(marks, "a") as fh:
            fh.write(f"{os.getpid()} {gc.get_freeze_count()}\n")
        return real(unit, proto, params)

    monkeypatch.setattr(parallel, "_traced_unit", noting)
    gc.unfreeze()
    before = gc.get_freeze_count()
    results, _ = analyse_parallel(series, jobs=2)
    assert results
    lines = [ln.split() for ln in marks.read_text().splitlines()]
    assert len(lines) == len(series)
    assert all(int(pid) != os.getpid() for pid, _ in lines)  # analysed in the workers
    if tuned:
        assert all(int(n) > 1000 for _, n in lines)  # the series and modules, frozen
    else:
        assert all(int(n) == before for _, n in lines)
    assert gc.get_freeze_count() == 0


def test_no_timeline_is_written_unless_asked(demo_dir, monkeypatch, tmp_path):
    monkeypatch.delenv(TRACE_ENV, raising=False)
    with parallel.span("main.load") as extra:
        extra["files"] = 1
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not Path("/usr/bin/time").exists(), reason="needs /usr/bin/time -v")
def test_the_timeline_shows_each_phase_worker_and_unit(demo_dir, tmp_path):
    # The whole command, as benchmarks/batch_timeline.py runs it: every analysed unit appears
    # once, in a worker process; the main phases follow each other; the two-core estimate
    # lies between half the measured CPU time and all of it.
    folder = tmp_path / "demo_twice"  # enough files for the header readers to start
    for k in range(2):
        shutil.copytree(demo_dir, folder / str(k))
    sys.path.insert(0, str(BENCH))
    try:
        from batch_timeline import summary, trace
    finally:
        sys.path.remove(str(BENCH))
    run = trace(str(folder), ["--jobs", "2"])
    ev = run["events"]
    main = {e["what"]: e for e in ev if e["what"] in ("main.load", "main.analyse",
                                                       "main.judge", "main.output")}
    assert list(main) == ["main.load", "main.analyse", "main.judge", "main.output"]
    order = [main[k] for k in ("main.load", "main.analyse", "main.judge", "main.output")]
    assert all(a["t1"] <= b["t0"] + 1e-3 for a, b in zip(order, order[1:]))
    main_pid = main["main.load"]["pid"]
    units = [e for e in ev if e["what"] == "unit"]
    assert len(units) == len(load(folder))
    assert all(e["pid"] != main_pid for e in units)
    # every file read once: by a reader, or by this process once its kernels were imported
    readers = [e for e in ev if e["what"] == "reader.chunk"]
    here = [e for e in ev if e["what"] == "main.read_chunk"]
    scanned = next(e for e in ev if e["what"] == "main.scan")["files"]
    assert readers and sum(e["files"] for e in readers + here) == scanned
    assert all(e["pid"] == main_pid for e in here)
    s = summary(run)
    assert s["results"] and s["results"] >= len({u["pid"] for u in units})
    assert run["cpu"] / 2 - 0.05 <= s["two_core_estimate_s"] <= run["cpu"] + 0.05


def test_list_scheduling_makespan_of_the_estimate():
    sys.path.insert(0, str(BENCH))
    try:
        from batch_timeline import makespan
    finally:
        sys.path.remove(str(BENCH))
    assert makespan([3, 3, 2, 2, 2]) == 7  # 3+2+2 on one worker, 3+2 on the other
    assert makespan([1, 1, 4]) == 5  # the big one last: one worker idles 4
    assert makespan([4, 1, 1]) == 4
    assert makespan([2, 3], workers=1) == 5
