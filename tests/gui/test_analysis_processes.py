"""Issue 17 in the desktop window: a batch of series is analysed on worker processes
(`imgqa.gui.analysis_job`), with the results of the one-thread path, each series' outcome
shown as it finishes, progress, and a Cancel that stops the workers.

No timed assertions: the speed-up is measured in benchmarks/bench_gui_batch.py."""

from __future__ import annotations

import gc
import multiprocessing
import time
from pathlib import Path

import pytest
from conftest import TIMEOUT_MS

from imgqa.gui import analysis_job
from imgqa.gui.analysis_job import POOL_MIN_SERIES, uses_processes
from imgqa.gui.controller import QcController
from imgqa.gui.store_bridge import StoreBridge
from imgqa.phantoms import make_demo


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    make_demo(out)
    return out


@pytest.fixture
def controller(qtbot, tmp_path):
    db = StoreBridge()
    db.connect_to(str(tmp_path / "qc.sqlite3"))
    qtbot.waitUntil(lambda: not db.connecting, timeout=TIMEOUT_MS)
    ctl = QcController(db)
    yield ctl
    ctl.shutdown()
    db.close()


def _outcomes(ctl: QcController) -> list:
    """Per open series (in the browser's order): its results without timestamps, or its error."""
    def plain(result) -> dict:
        d = result.to_dict(detail=True)
        d.pop("created", None)
        return d

    return [(e.series.header.series_uid, e.error, [plain(r) for r in e.results])
            for e in ctl.workspace.entries]


def _analyse(qtbot, ctl: QcController, folder: Path, jobs: int) -> tuple[list, list]:
    ctl.jobs = jobs
    shown: list = []  # what the window was told, in order
    ctl.entry_changed.connect(
        lambda e, judged: None if judged else shown.append(e.series.header.series_uid))
    with qtbot.waitSignal(ctl.analysis_finished, timeout=4 * TIMEOUT_MS):
        ctl.load([str(folder)], analyse=True)
    qtbot.waitUntil(lambda: not ctl.busy and not ctl.running, timeout=TIMEOUT_MS)
    return _outcomes(ctl), shown


def test_worker_processes_give_the_results_of_one_thread(qtbot, tmp_path, demo_dir):
    outcomes, shown = {}, {}
    for jobs in (1, 2):
        db = StoreBridge()
        db.connect_to(str(tmp_path / f"qc{jobs}.sqlite3"))
        qtbot.waitUntil(lambda db=db: not db.connecting, timeout=TIMEOUT_MS)
        ctl = QcController(db)
        try:
            outcomes[jobs], shown[jobs] = _analyse(qtbot, ctl, demo_dir, jobs)
            items = [(e.key, e.series, None) for e in ctl.workspace.entries]
            assert uses_processes(items, jobs) == (jobs == 2)
        finally:
            ctl.shutdown()
            db.close()
    assert len(outcomes[1]) >= POOL_MIN_SERIES  # the demo set is a batch: the pool ran
    assert sum(1 for _, err, res in outcomes[1] if res and not err) >= 10  # it has teeth
    assert outcomes[2] == outcomes[1]
    # every series' results reached the window once, whichever order they finished in
    assert sorted(shown[2]) == sorted(shown[1]) and len(set(shown[2])) == len(shown[2])
    assert multiprocessing.active_children() == []  # no worker left behind


def test_the_window_keeps_its_heap_frozen_after_a_pooled_analysis(qtbot, controller,
                                                                  demo_dir):
    # gui/heap.py freezes the long-lived objects so that collections do not stall the window;
    # the pool must not hand them back to the collector (imgqa analyse's pool does).
    controller.load([str(demo_dir)], analyse=False)
    qtbot.waitUntil(lambda: not controller.running, timeout=TIMEOUT_MS)
    gc.freeze()
    frozen = gc.get_freeze_count()
    controller.jobs = 2
    with qtbot.waitSignal(controller.analysis_finished, timeout=4 * TIMEOUT_MS):
        controller.run_analysis()
    # still frozen (a few frozen objects are freed by reference counting meanwhile)
    assert frozen > 1000 and gc.get_freeze_count() > 0.9 * frozen
    gc.unfreeze()


def test_cancel_stops_the_worker_processes(qtbot, controller, demo_dir, monkeypatch):
    controller.load([str(demo_dir)], analyse=False)
    qtbot.waitUntil(lambda: not controller.running, timeout=TIMEOUT_MS)
    n = len(controller.workspace.entries)
    started: list[int] = []

    real = analysis_job.analyse_entries

    def cancel_once_started(items, p, jobs=None):  # on the analysis thread
        started.append(len(items))
        deadline = time.monotonic() + 10
        while controller._analysis_task is None and time.monotonic() < deadline:
            time.sleep(0.01)  # the window has not stored its task yet
        controller._analysis_task.cancel()  # as Cancel does, before the first series is back
        return real(items, p, jobs)

    monkeypatch.setattr("imgqa.gui.controller.analyse_entries", cancel_once_started)
    controller.jobs = 2
    with qtbot.waitSignal(controller.analysis_cancelled, timeout=4 * TIMEOUT_MS):
        controller.run_analysis()
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT_MS)
    assert started == [n]
    assert sum(1 for e in controller.workspace.entries if e.results or e.error) < n
    assert multiprocessing.active_children() == []  # the workers were stopped, not left


@pytest.mark.parametrize(("jobs", "n", "override", "expected"), [
    (2, POOL_MIN_SERIES, None, True),
    (2, POOL_MIN_SERIES - 1, None, False),  # too few series to pay for starting the pool
    (1, 20, None, False),
    (2, 20, "generic.roi", False),  # a test chosen by hand runs on each series alone
])
def test_which_batches_go_to_worker_processes(jobs, n, override, expected):
    items = [(i, None, override) for i in range(n)]
    assert uses_processes(items, jobs) is expected


def test_no_worker_processes_where_they_would_be_spawned(monkeypatch):
    # Windows spawns workers, each importing numpy, SciPy and imgqa anew: a window's batch
    # stays in its thread there (imgqa.parallel.starts_cheaply)
    items = [(i, None, None) for i in range(20)]
    monkeypatch.setattr("imgqa.parallel.START_METHOD", "spawn")
    assert uses_processes(items, 2) is False
    monkeypatch.setattr("imgqa.parallel.START_METHOD", "forkserver")
    assert uses_processes(items, 2) is True
