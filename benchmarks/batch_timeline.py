"""Timeline of one ``imgqa analyse FOLDER --format json [--jobs N]`` process and its workers
(issue 17: where a core idles, where work is duplicated).

Runs the command with ``IMGQA_TRACE_BATCH`` set (`imgqa.parallel.span`: one JSON line per main
phase, header chunk and analysed unit, with wall and CPU times) and prints, per process, its
tasks in time order, then a summary: the time before the first analysis starts, the busy and
idle time of each analysis worker, the tail (one worker busy, the other idle), and CPU per kind
of task. Whole-process CPU and peak memory come from ``/usr/bin/time -v``.

imgqa runs from compiled bytecode (``PYTHONPYCACHEPREFIX``, kept between runs; the first run
fills it, so discard it). Run: ``.venv/bin/python benchmarks/batch_timeline.py [FOLDER]
[-- extra analyse args]``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
PYCACHE = os.environ.get("PYTHONPYCACHEPREFIX") or str(Path(tempfile.gettempdir())
                                                      / "imgqa-timeline-pycache")


def trace(folder: str, extra: list[str]) -> dict:
    """Run the command once; return its events (times relative to the launch) and totals."""
    with tempfile.TemporaryDirectory(prefix="imgqa-timeline-") as tmp:
        log = Path(tmp) / "trace.jsonl"
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "IMGQA_TRACE_BATCH": str(log),
               "IMGQA_DATA_DIR": str(Path(tmp) / "data"), "PYTHONPYCACHEPREFIX": PYCACHE}
        env.pop("IMGQA_DB", None)
        # compiled bytecode, as installed (else every import compiles: seconds of start-up)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cmd = [sys.executable, "-m", "imgqa.cli.main", "analyse", folder, "--format", "json",
               *extra]
        t0 = time.time()
        proc = subprocess.run(["/usr/bin/time", "-v", *cmd], env=env, capture_output=True,
                              text=True, check=False)
        t1 = time.time()
        events = [json.loads(line) for line in log.read_text().splitlines()]

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}:\s*([\d.]+)", proc.stderr)
        return float(m.group(1)) if m else float("nan")

    for e in events:
        e["t0"] -= t0
        e["t1"] -= t0
    return {"events": events, "wall": t1 - t0, "load": os.getloadavg()[0],
            "cpu": field("User time (seconds)") + field("System time (seconds)"),
            "max_rss_mb": field("Maximum resident set size (kbytes)") / 1024,
            "results": len(json.loads(proc.stdout)["results"]) if proc.stdout else None}


def summary(run: dict) -> dict:
    ev = run["events"]
    main_pid = next(e["pid"] for e in ev if e["what"] == "main.load")
    units = [e for e in ev if e["what"] == "unit"]
    by_pid: dict[int, list[dict]] = defaultdict(list)
    for e in units:
        by_pid[e["pid"]].append(e)
    start = min((e["t0"] for e in units), default=float("nan"))
    end = max((e["t1"] for e in units), default=float("nan"))
    workers = {}
    for pid, es in by_pid.items():
        busy = sum(e["t1"] - e["t0"] for e in es)
        workers[pid] = {"units": len(es), "busy_s": busy, "cpu_s": sum(e["cpu"] for e in es),
                        "first": min(e["t0"] for e in es), "last": max(e["t1"] for e in es)}
    ends = sorted(w["last"] for w in workers.values())
    cpu_by_kind: dict[str, float] = defaultdict(float)
    for e in ev:
        cpu_by_kind[e["what"]] += e["cpu"]
    phases = {e["what"]: (round(e["t0"], 2), round(e["t1"], 2), round(e["cpu"], 2))
              for e in ev if e["pid"] == main_pid and e["what"].startswith("main.")
              and e["what"] not in ("main.receive_chunk", "main.preload")}
    est = two_core_estimate(ev, run["cpu"])
    return {"wall": run["wall"], "cpu": run["cpu"], "max_rss_mb": run["max_rss_mb"],
            "two_core_estimate_s": est.pop("total"), "estimate_parts": est,
            "load": run["load"], "results": run["results"],
            "first_unit_at": start, "last_unit_end": end,
            "tail_one_worker_idle_s": (ends[-1] - ends[-2]) if len(ends) > 1 else 0.0,
            "workers": workers, "cpu_by_kind": dict(cpu_by_kind), "main_phases": phases}


def makespan(costs: list[float], workers: int = 2) -> float:
    """List scheduling in the given order, each task to the first free worker."""
    free = [0.0] * workers
    for c in costs:
        free[free.index(min(free))] += c
    return max(free)


def shared_cores(demands: list[float], cores: int = 2) -> float:
    """When processes that need these CPU times, all started together, are done on ``cores``
    cores shared fairly (as the OS does: three busy processes on two cores get 2/3 each)."""
    left, t = sorted(d for d in demands if d > 0), 0.0
    while left:
        rate = min(1.0, cores / len(left))
        t += left[0] / rate
        left = [d - left[0] for d in left[1:]]
    return t


def two_core_estimate(ev: list[dict], total_cpu: float) -> dict:
    """The wall time the measured CPU times imply on two dedicated cores (no other load).

    start (main alone) + reading (the main process and the readers sharing two cores fairly,
    `shared_cores`, or balanced where the main process read files itself; until 2026-12-05
    max(main, longest reader, all / 2) in every case, a perfect schedule) + grouping (main alone) + the analyses list-scheduled on two workers in
    the order they started (serial: their sum) + judging and output + half the CPU no span
    accounts for (forks, exits, result transfer), which both cores share.
    """
    main = {e["what"]: e for e in ev if e["what"].startswith("main.") and e["what"] not in
            ("main.receive_chunk", "main.preload")}
    units = sorted((e for e in ev if e["what"] == "unit"), key=lambda e: e["t0"])
    readers: dict[int, float] = defaultdict(float)
    for e in ev:
        if e["what"] == "reader.chunk":
            readers[e["pid"]] += e["cpu"]
    start = main["main.load"].get("cpu_before", 0.0)
    group = main["main.group"]["cpu"] if "main.group" in main else 0.0
    main_read = main["main.load"]["cpu"] - group
    # Files this process read itself (it does once idle, `imgqa.parallel._read_in_workers`)
    # are work the readers would have done on dedicated cores: with such stealing the phase is
    # balanced, else the processes share the cores as they ran.
    stolen = sum(e["cpu"] for e in ev if e["what"] == "main.read_chunk")
    if stolen:
        read = max(main_read - stolen, *readers.values(),
                   (main_read + sum(readers.values())) / 2)
    else:
        read = shared_cores([main_read, *readers.values()])
    unit_pids = {e["pid"] for e in units}
    span = makespan([e["cpu"] for e in units], 2 if len(unit_pids) > 1 else 1)
    analyse_main = main["main.analyse"]["cpu"] - (sum(e["cpu"] for e in units)
                                                  if len(unit_pids) == 1 else 0.0)
    finish = main["main.judge"]["cpu"] + main["main.output"]["cpu"] + max(0.0, analyse_main)
    known = (start + main["main.load"]["cpu"] + sum(readers.values())
             + main["main.analyse"]["cpu"] + main["main.judge"]["cpu"]
             + main["main.output"]["cpu"]
             + (sum(e["cpu"] for e in units) if len(unit_pids) > 1 else 0.0))
    other = max(0.0, total_cpu - known)
    share = other / 2 if len(unit_pids) > 1 else other
    return {"total": start + read + group + span + finish + share, "start": start,
            "read": read, "group": group, "analyses": span, "finish": finish,
            "unaccounted_cpu": other}


def show(run: dict) -> None:
    for e in sorted(run["events"], key=lambda e: (e["pid"], e["t0"])):
        info = {k: v for k, v in e.items() if k not in ("pid", "what", "t0", "t1", "cpu")}
        print(f"{e['pid']:>7} {e['t0']:7.2f}-{e['t1']:7.2f} cpu {e['cpu']:5.2f} "
              f"{e['what']:<20} {json.dumps(info)}")
    print(json.dumps(summary(run), indent=1, default=lambda x: round(x, 3)))


if __name__ == "__main__":
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    show(trace(argv[0] if argv else str(SHARED), extra))
