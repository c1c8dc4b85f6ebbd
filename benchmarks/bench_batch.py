"""Parallel batch (issue 17): ``imgqa analyse ../shared/data --format json`` with the default
number of jobs vs ``--jobs 1``, each as a whole process.

Runs are interleaved (1, default, 1, default, ...) so that a change in the machine's load hits
both alike; reported: median wall time of each, the ratio, the CPU time (user + system of the
process and its workers, from ``/usr/bin/time -v``), peak memory (max RSS of the largest process;
"incl. children" is the main process plus its largest worker), the load average, and whether
the two JSON outputs are identical apart from timestamps. imgqa runs from compiled bytecode
(a ``PYTHONPYCACHEPREFIX`` cache filled by an untimed warm-up), as an installed package does.

On a machine shared with other work the wall times are dominated by the load, so each timed
run also writes its timeline (``IMGQA_TRACE_BATCH``, `batch_timeline.py`) and the second row
gives the wall time its measured CPU times imply on two dedicated cores (start-up, header
reading beside the kernel imports, grouping, the units list-scheduled on the workers in the
order they ran, judging and writing, half of the CPU no phase accounts for); the third row is
the older in-process model (`batch_model.py`), each mode in a fresh process.
``OPENBLAS_NUM_THREADS`` is passed on as set (the CLI may set it to 1 itself).

Run: ``.venv/bin/python benchmarks/bench_batch.py [repeats]``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
REPEATS = 3


def _without_timestamps(obj):
    if isinstance(obj, dict):
        return {k: _without_timestamps(v) for k, v in obj.items() if k != "created"}
    if isinstance(obj, list):
        return [_without_timestamps(v) for v in obj]
    return obj


def _env(data_dir: str, cache: Path) -> dict[str, str]:
    # as a new user: no results database (an empty data folder), so nothing is stored; as an
    # installed package: compiled bytecode
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "IMGQA_DATA_DIR": data_dir,
           "PYTHONPYCACHEPREFIX": str(cache)}
    env.pop("IMGQA_DB", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _run(jobs: list[str], out: Path) -> dict:
    """One whole ``imgqa analyse`` process under ``/usr/bin/time -v``, with its timeline."""
    env = _env(str(out) + ".data", out.parent / "pycache")
    trace = out.with_suffix(".trace")
    env["IMGQA_TRACE_BATCH"] = str(trace)
    cmd = [sys.executable, "-m", "imgqa.cli.main", "analyse", str(SHARED), "--format", "json",
           *jobs]
    timer = ["/usr/bin/time", "-v"] if Path("/usr/bin/time").exists() else []
    t0 = time.perf_counter()
    with open(out, "w") as fh:
        proc = subprocess.run(timer + cmd, stdout=fh, stderr=subprocess.PIPE, text=True,
                              env=env, check=False)
    wall = time.perf_counter() - t0
    err = proc.stderr

    def field(name: str) -> float | None:
        m = re.search(rf"{re.escape(name)}:\s*([\d.]+)", err)
        return float(m.group(1)) if m else None

    user, system = field("User time (seconds)"), field("System time (seconds)")
    cpu = (user or 0) + (system or 0) if timer else None
    estimate = None
    if cpu is not None and trace.exists():
        sys.path.insert(0, str(Path(__file__).parent))
        from batch_timeline import two_core_estimate

        events = [json.loads(line) for line in trace.read_text().splitlines()]
        estimate = two_core_estimate(events, cpu)["total"]
    return {"wall": wall, "cpu": cpu, "two_core_s": estimate,
            "max_rss_mb": (field("Maximum resident set size (kbytes)") or 0) / 1024,
            "code": proc.returncode, "load": os.getloadavg()[0]}


def run(repeats: int = REPEATS) -> list[dict]:
    if not SHARED.is_dir():
        return [{"name": "analyse ../shared/data", "notes": "shared data not found"}]
    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-batch-"))
    try:
        runs: dict[str, list[dict]] = {"1": [], "default": []}
        outs = {}
        _run(["--jobs", "1"], tmp / "warm-up.json")  # fills the bytecode cache, untimed
        for k in range(repeats):
            for label, argv in (("1", ["--jobs", "1"]), ("default", [])):
                outs[label] = tmp / f"{label}-{k}.json"
                runs[label].append(_run(argv, outs[label]))
        one = json.loads(outs["1"].read_text())
        many = json.loads(outs["default"].read_text())
        same = _without_timestamps(one) == _without_timestamps(many)
        model = _model(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(label: str, key: str) -> float:
        got = [r[key] for r in runs[label] if r[key] is not None]
        return statistics.median(got) if got else float("nan")  # no /usr/bin/time: no CPU

    w1, wn = med("1", "wall"), med("default", "wall")
    c1, cn = med("1", "cpu"), med("default", "cpu")
    loads = [r["load"] for rs in runs.values() for r in rs]
    e1, en = med("1", "two_core_s"), med("default", "two_core_s")
    return [{
        "name": f"imgqa analyse shared/data: --jobs 1 vs default ({os.cpu_count()} cores)",
        "imgqa_s": wn, "reference_s": w1, "ratio": w1 / wn,
        "notes": (f"speed-up {w1 / wn:.2f}x (median of {repeats}, interleaved; walls 1: "
                  f"{[round(r['wall'], 1) for r in runs['1']]}, default: "
                  f"{[round(r['wall'], 1) for r in runs['default']]}); CPU s 1: {c1:.1f}, "
                  f"default: {cn:.1f}; max RSS MB 1: {med('1', 'max_rss_mb'):.0f}, default: "
                  f"{med('default', 'max_rss_mb'):.0f}; load avg {min(loads):.1f}-"
                  f"{max(loads):.1f}; results {len(one['results'])}, problems "
                  f"{len(one['problems'])}; identical JSON apart from timestamps: {same}"),
        "identical": same,
    }, {
        "name": "imgqa analyse shared/data: two-core estimate from the timed runs' timelines",
        "imgqa_s": en, "reference_s": e1, "ratio": e1 / en,
        "notes": (f"speed-up {e1 / en:.2f}x on two dedicated cores implied by the CPU times "
                  f"of each phase (batch_timeline.py; medians of {repeats}; runs 1: "
                  f"{[r['two_core_s'] and round(r['two_core_s'], 2) for r in runs['1']]}, default: "
                  f"{[r['two_core_s'] and round(r['two_core_s'], 2) for r in runs['default']]}); "
                  f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"),
    }, {
        "name": "imgqa analyse shared/data: two-core estimate from component CPU times",
        "imgqa_s": model["jobs2_s"], "reference_s": model["jobs1_s"], "ratio": model["speedup"],
        "notes": (f"speed-up {model['speedup']:.2f}x on two dedicated cores (batch_model.py; "
                  f"pairs {model['all_speedups']}); "
                  f"jobs 1 parts {_rounded(model['parts_jobs1'])}; jobs 2 parts "
                  f"{_rounded(model['parts_jobs2'])}; load avg {model['load']:.1f}"),
    }]


def _rounded(d: dict) -> dict:
    return {k: round(v, 2) for k, v in d.items()}


def _model(tmp: Path) -> dict:
    """`batch_model.estimate` from a fresh process per mode (2 pairs; the lower speed-up)."""
    sys.path.insert(0, str(Path(__file__).parent))
    from batch_model import estimate

    env = _env(str(tmp / "model.data"), tmp / "pycache")
    pairs = []
    for _ in range(2):
        got = {}
        for mode in ("serial", "parallel"):
            proc = subprocess.run([sys.executable, str(Path(__file__).parent / "batch_model.py"),
                                   mode, str(SHARED)], env=env, capture_output=True, text=True,
                                  check=True)
            got[mode] = json.loads(proc.stdout)
        pairs.append(estimate(got["serial"], got["parallel"]))
    low = min(pairs, key=lambda e: e["speedup"])  # the less favourable of the two pairs
    return {**low, "load": os.getloadavg()[0],
            "all_speedups": [round(e["speedup"], 2) for e in pairs]}


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS):
        print(json.dumps(row, indent=1))
