"""The desktop window's analysis of a batch (issue 17): one thread vs worker processes.

Drives the real `QcController` offscreen (no window): the folder is loaded once, then the
first ``k`` open series are analysed and judged (`run_analysis`, until `analysis_finished`)
with ``jobs = 1`` (this process's analysis thread) and with the default (one worker process
per core, `imgqa.gui.analysis_job`), alternately. The first pooled run also starts the fork
server, which later runs reuse (as in the window), so it is reported apart. Wall times,
medians of the repeats; also whether the two give the same results.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_batch.py [FOLDER]
[--sizes 2,4,6,8,all] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _plain(entries) -> list:
    out = []
    for e in entries:
        rs = []
        for r in e.results:
            d = r.to_dict(detail=True)
            d.pop("created", None)
            rs.append(d)
        out.append((e.error, rs))
    return out


def run(folder: str | None = None, sizes_text: str = "2,6,all", repeats: int = 3
        ) -> list[dict]:
    """The rows (`make bench`: the demo set, written to a temporary folder)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-gui-"))
    os.environ["IMGQA_DATA_DIR"] = str(tmp / "data")

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from imgqa.gui.analysis_job import uses_processes
    from imgqa.gui.controller import QcController
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.parallel import default_jobs

    app = QApplication.instance() or QApplication([])
    if folder is None:
        from imgqa.phantoms import make_demo

        folder = str(tmp / "demo")
        make_demo(Path(folder))

    def wait_for(signal, start) -> float:
        loop = QEventLoop()
        signal.connect(loop.quit)
        t0 = time.perf_counter()
        start()
        QTimer.singleShot(600_000, loop.quit)
        loop.exec()
        signal.disconnect(loop.quit)
        elapsed = time.perf_counter() - t0
        while ctl_running():  # the task's last signals (the next run would be refused)
            app.processEvents()
            time.sleep(0.001)
        return elapsed

    db = StoreBridge()
    db.connect_to(str(tmp / "qc.sqlite3"))
    while db.connecting:
        app.processEvents()
        time.sleep(0.01)
    ctl = QcController(db)

    def ctl_running() -> bool:
        return ctl.running or ctl.busy

    wait_for(ctl.loaded, lambda: ctl.load([folder], analyse=False))
    entries = list(ctl.workspace.entries)
    jobs = default_jobs()
    rows = []
    first_pool = None
    sizes = [len(entries) if x == "all" else int(x) for x in sizes_text.split(",")]
    for k in [k for k in sizes if k <= len(entries)] or [len(entries)]:
        keys = [e.key for e in entries[:k]]
        times: dict[int, list[float]] = {1: [], jobs: []}
        same = True
        for _ in range(repeats):
            plain = {}
            for j in (1, jobs):
                ctl.jobs = j
                t = wait_for(ctl.analysis_finished, lambda keys=keys: ctl.run_analysis(keys))
                pooled = uses_processes([(e.key, e.series, None) for e in entries[:k]], j)
                if pooled and first_pool is None:
                    first_pool = (k, t)  # includes starting the fork server
                    t = wait_for(ctl.analysis_finished, lambda keys=keys: ctl.run_analysis(keys))
                times[j].append(t)
                plain[j] = _plain(entries[:k])
            same = same and plain[1] == plain[jobs]
        one, many = statistics.median(times[1]), statistics.median(times[jobs])
        rows.append({"name": f"GUI analysis of {k} series: one thread vs {jobs} processes",
                     "imgqa_s": many, "reference_s": one, "ratio": many / one,
                     "notes": f"speed-up {one / many:.2f}x (medians of {repeats}, "
                              f"interleaved; analysis and judging); identical results: {same}"})
    ctl.shutdown()
    db.close()
    if first_pool is not None:
        rows.append({"name": "GUI: first pooled analysis, including the fork server's start",
                     "imgqa_s": first_pool[1], "reference_s": None, "ratio": None,
                     "notes": f"{first_pool[0]} series"})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", nargs="?")
    ap.add_argument("--sizes", default="2,4,6,8,all")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    for row in run(args.folder, args.sizes, args.repeats):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
