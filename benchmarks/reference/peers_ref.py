"""Peer timings for bench_peers.py, run in .venv-ref (pylinac 3.49, hazen 2.0; pydicom < 3).

usage: .venv-ref/bin/python benchmarks/reference/peers_ref.py REPEATS JOBS_JSON

JOBS_JSON is a list of {"id", "tool", "task", "files"|"folder", "options"}; tools:
``hazen`` (task = snr | uniformity | ghosting: ``hazenlib.tasks.<task>``, the files as
``input_data``), ``pylinac-quadrant`` (``pylinac.nuclear.QuadrantResolution(file).analyze(
bar_widths)``) and ``pylinac-catphan`` (task = CatPhan504 | CatPhan604 on a folder). Every
timing includes reading the files (each tool reads in its constructor). Prints one JSON object
{id: {"median_s", "times", "cpu_median_s", "values" | "error"}} (wall and
process CPU time).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

HAZEN_CLASSES = {"snr": "SNR", "uniformity": "Uniformity", "ghosting": "Ghosting"}


def _plain(v):
    return v if isinstance(v, (int, float, str)) or v is None else str(v)


def _hazen(job):
    from mr_ref import _measurements  # same folder: hazen results as plain dicts
    mod = importlib.import_module(f"hazenlib.tasks.{job['task']}")
    cls = getattr(mod, HAZEN_CLASSES[job["task"]])
    return _measurements(cls(input_data=list(job["files"]), report=False).run())


def _quadrant(job):
    from pylinac.nuclear import QuadrantResolution

    q = QuadrantResolution(job["files"][0])
    q.analyze(bar_widths=job["options"]["bar_widths"])
    rd = q.results_data() if hasattr(q, "results_data") else None
    return _plain(rd) if rd is not None else q.results()


def _catphan(job):
    import pylinac

    cp = getattr(pylinac, job["task"])(job["folder"])
    cp.analyze()
    return cp.results()


RUNNERS = {"hazen": _hazen, "pylinac-quadrant": _quadrant, "pylinac-catphan": _catphan}


def main() -> None:
    repeats, jobs = int(sys.argv[1]), json.loads(sys.argv[2])
    out = {}
    for job in jobs:
        fn = RUNNERS[job["tool"]]
        times, cpu, values, err = [], [], None, None
        for k in range(repeats + 1):  # the first run warms imports and caches, untimed
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    values = fn(job)
            except Exception as exc:  # noqa: BLE001 - a refusal is a result of the comparison
                err = f"{type(exc).__name__}: {str(exc)[:300]}"
                break
            if k:
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        out[job["id"]] = ({"error": err} if err else
                          {"median_s": statistics.median(times), "times": times,
                           "cpu_median_s": statistics.median(cpu), "values": values})
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    main()
