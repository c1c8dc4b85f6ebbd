"""Warm `imgqa.load` of small series, and the first pixel access of each freshly loaded image.

The case timed: a folder of a few small files, loaded again and again (imports done, files in
the page cache), as the single-image protocols and the GUI's inbox load them:

* ``t1_site1`` — mr/relaxometry_hazen/T1/site1_20200218/plate5: 6 files, one 192² MR image
  each, 6 series;
* ``t2_site1`` — mr/relaxometry_hazen/T2/site1_20200218/plate4: 32 echoes of one series.

Columns, in ms of wall time for the whole folder (median of ``repeats`` loads, the lowest of
``rounds`` such medians: the machine is shared): ``load`` (`imgqa.load`), ``pixels`` (then
``series.pixels(i)`` of every image, each decoded for the first time: file read, decode,
rescale, SHA-256), and their sum.

Run: ``PYTHONPATH=src python benchmarks/bench_load_small.py [repeats] [rounds]``. With
``--before DIR`` (a checkout's ``src`` folder, e.g. from ``git archive <commit> src``) the old
and the new code are timed in alternating subprocesses, so the machine's load weighs on both
alike. Unset PYTHONDONTWRITEBYTECODE first, so that both use compiled bytecode.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.exists():
    SHARED = Path("/work/shared/data")

SETS = {
    "t1_site1": "mr/relaxometry_hazen/T1/site1_20200218/plate5",
    "t2_site1": "mr/relaxometry_hazen/T2/site1_20200218/plate4",
}


def _time_set(folder: Path, repeats: int) -> tuple[float, float]:
    """Median ms of (load, first pixels of every image) over `repeats` warm loads."""
    import imgqa

    imgqa.load(folder)  # warm-up: imports, page cache, caches of header layouts
    loads, pixels = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        series = imgqa.load(folder)
        t1 = time.perf_counter()
        for s in series:
            for i in range(len(s)):
                s.pixels(i)
        t2 = time.perf_counter()
        loads.append(t1 - t0)
        pixels.append(t2 - t1)
    return statistics.median(loads) * 1e3, statistics.median(pixels) * 1e3


def measure(repeats: int) -> dict[str, tuple[float, float]]:
    """(load, pixels) ms per set present in the shared data."""
    return {name: _time_set(SHARED / rel, repeats) for name, rel in SETS.items()
            if (SHARED / rel).is_dir()}


def _run(src: Path, repeats: int) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(src))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run([sys.executable, __file__, "--json", str(repeats)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def run(repeats: int = 300) -> list[dict]:
    """The rows for `make bench` (benchmarks/run_all.py): per set, warm load + first pixels
    of the folder in seconds (a fresh process; no reference tool times this)."""
    rows = []
    for name, (load_ms, pixels_ms) in _run(ROOT / "src", repeats).items():
        rows.append({"name": f"warm load + first pixels: {name}",
                     "imgqa_s": (load_ms + pixels_ms) / 1e3, "reference_s": None,
                     "ratio": None, "notes": f"load {load_ms:.3f} ms, first pixels "
                                             f"{pixels_ms:.3f} ms (median of {repeats})"})
    return rows


def main(argv: list[str]) -> None:
    if argv[:1] == ["--json"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    before = None
    if "--before" in argv:
        i = argv.index("--before")
        before = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    repeats = int(argv[0]) if argv else 300
    rounds = int(argv[1]) if len(argv) > 1 else 5
    versions = {"after": ROOT / "src"} | ({"before": before} if before else {})
    runs: dict[str, list[dict[str, list[float]]]] = {v: [] for v in versions}
    for _ in range(rounds):
        for version, src in versions.items():  # alternating: the same machine load on both
            runs[version].append(_run(src, repeats))
    print(f"warm load of small folders: ms per folder, lowest of {rounds} medians of "
          f"{repeats}")
    for name in SETS:
        cells = []
        for version in versions:
            results = [r[name] for r in runs[version] if name in r]
            if not results:
                continue
            load = min(r[0] for r in results)
            pixels = min(r[1] for r in results)
            total = min(r[0] + r[1] for r in results)
            cells.append(f"{version}: load {load:6.3f} +pixels {pixels:6.3f} = {total:6.3f}")
        if cells:
            print(f"{name:10s} " + "   ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
