"""GUI responsiveness: window-appears time, first image of a 300-slice series, and the longest
stall of the GUI event loop while an analysis runs.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui.py

Targets (issue 6): window < 2 s after start; first image of a 300-slice series < 1 s (lazy
loading: only headers are read, one image is decoded); the GUI never blocked more than ~100 ms
during an analysis. Each measurement runs in a fresh interpreter so imports are counted, with a
temporary data directory so no user settings or database are touched. No reference tool has
a comparable GUI, so ``reference_s`` and ``ratio`` are empty.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
REPEATS = 3

WINDOW_SCRIPT = r"""
import sys, time, json
t_start = float(sys.argv[1])
from imgqa.gui.app import make_app
from imgqa.gui.main_window import MainWindow
app = make_app()
w = MainWindow(db_url=sys.argv[2])
w.show()
app.processEvents()
shown = time.time()
print(json.dumps({"window_s": shown - t_start}), flush=True)
w.close(); w.deleteLater(); app.processEvents()
"""

FIRST_IMAGE_SCRIPT = r"""
import sys, time, json
from imgqa.gui.app import make_app, wait_until
from imgqa.gui.main_window import MainWindow
app = make_app()
w = MainWindow(db_url=sys.argv[2])
w.show()
app.processEvents()
state = {}
w.viewer.slice_changed.connect(lambda i: state.setdefault("first", time.perf_counter()))
t0 = time.perf_counter()
w.open_paths([sys.argv[1]], analyse=False)
wait_until(lambda: "first" in state, 60)
wait_until(lambda: bool(w.workspace.entries) and not w.busy, 120)
all_headers = time.perf_counter() - t0
n = len(w.workspace.entries[0].series) if w.workspace.entries else 0
print(json.dumps({"first_image_s": state["first"] - t0, "all_headers_s": all_headers,
                  "slices": n}), flush=True)
w.close(); w.deleteLater(); app.processEvents()
"""

LATENCY_SCRIPT = r"""
import sys, time, json
import numpy as np
from PySide6.QtCore import QTimer
from imgqa.gui.app import make_app, wait_until
from imgqa.gui.main_window import MainWindow
app = make_app()
w = MainWindow(db_url=sys.argv[2])
w.show()
wait_until(lambda: not w.db.connecting, 60)
ticks = []
timer = QTimer(); timer.setInterval(5)
timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
done = {}
w.analysis_finished.connect(lambda: done.setdefault("t", time.perf_counter()))
timer.start()
t0 = time.perf_counter()
w.open_paths([sys.argv[1]])
wait_until(lambda: "t" in done and not w.busy, 600)
timer.stop()
gaps = np.diff(ticks) * 1000
print(json.dumps({"analysis_s": done["t"] - t0, "max_gap_ms": float(gaps.max()),
                  "p99_gap_ms": float(np.percentile(gaps, 99)), "ticks": len(ticks),
                  "series": len(w.workspace.entries)}), flush=True)
w.close(); w.deleteLater(); app.processEvents()
"""


def _run(script: str, *args: str) -> dict:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([PY, "-c", script, *args], capture_output=True, text=True, env=env,
                          timeout=900, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"exit {proc.returncode}: {proc.stdout[-500:]} {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def make_volume(folder: Path, n: int = 300, size: int = 256) -> Path:
    import numpy as np

    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series

    one, _ = water_phantom(size=size, pixel_mm=500.0 / size, n_slices=1, seed=0)
    rng = np.random.default_rng(0)
    vol = np.repeat(one, n, axis=0) + rng.normal(0, 2, (n, size, size))
    write_series(vol, folder, modality="CT", description="Water phantom 300 slices",
                 pixel_spacing_mm=500.0 / size, slice_thickness_mm=1.0,
                 rescale_intercept=-1024.0, prefix="ct")
    return folder


def run() -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-gui-"))
    os.environ["IMGQA_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("IMGQA_DB", None)
    db = str(tmp / "bench.sqlite3")
    rows = []

    window = [_run(WINDOW_SCRIPT, repr(time.time()), db)["window_s"] for _ in range(REPEATS)]
    rows.append({"name": "window appears after start (s)",
                 "imgqa_s": statistics.median(window), "reference_s": None, "ratio": None,
                 "notes": "target < 2 s; fresh interpreter incl. imports; "
                          "runs " + ", ".join(f"{v:.2f}" for v in window)})

    vol = make_volume(tmp / "ct300")
    first = [_run(FIRST_IMAGE_SCRIPT, str(vol), db) for _ in range(REPEATS)]
    rows.append({"name": f"first image of a {first[0]['slices']}-slice CT series (s)",
                 "imgqa_s": statistics.median(f["first_image_s"] for f in first),
                 "reference_s": None, "ratio": None,
                 "notes": "target < 1 s; one file read first for the preview, the other "
                          "headers in a worker (all read after "
                          f"{statistics.median(f['all_headers_s'] for f in first):.1f} s); "
                          "runs " + ", ".join(f"{f['first_image_s']:.2f}" for f in first)})

    from imgqa.phantoms import make_demo

    demo = tmp / "demo"
    make_demo(demo)
    lat = [_run(LATENCY_SCRIPT, str(demo), db) for _ in range(REPEATS)]
    best = sorted(lat, key=lambda r: r["max_gap_ms"])[len(lat) // 2]
    rows.append({"name": f"longest GUI stall while analysing the demo set ({best['series']} "
                         "series) (ms)",
                 "imgqa_s": best["max_gap_ms"] / 1000.0, "reference_s": None, "ratio": None,
                 "notes": f"target < 100 ms; 99th percentile {best['p99_gap_ms']:.0f} ms, "
                          f"analysis {best['analysis_s']:.1f} s; max gaps "
                          + ", ".join(f"{r['max_gap_ms']:.0f}" for r in lat) + " ms"})
    return rows


def main() -> int:
    rows = run()
    print(f"{'benchmark':<62} {'imgqa':>9}  notes")
    for r in rows:
        print(f"{r['name']:<62} {r['imgqa_s']:>9.3f}  {r['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
