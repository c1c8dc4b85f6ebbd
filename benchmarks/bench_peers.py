"""Protocols never timed against their peer before (issue 17), side by side in one run.

| imgqa protocol | peer (in .venv-ref) | files |
|---|---|---|
| ``mr.snr`` | hazen 2.0 ``snr`` task (``SNR``) | mr/snr_pairs/hazen_{Siemens,GE,Philips} (pairs) |
| ``mr.uniformity`` | hazen ``uniformity`` task | mr/uniformity/hazen/*.{dcm,IMA} (one file each) |
| ``mr.ghosting`` | hazen ``ghosting`` task | mr/ghosting/hazen/**/* (one file each) |
| ``nm.bar_phantom`` | pylinac 3.49 ``QuadrantResolution`` | nm/nmqc/QuadrantBar.dcm |
| ``ct.catphan`` | pylinac ``CatPhan504`` / ``CatPhan604`` | digital Catphan (phantoms/ct_catphan), real CTP404 series |

Each time includes reading the files (hazen and pylinac read in their constructors; imgqa:
``imgqa.analyse(path, protocol)``), is the median of ``repeats`` after one untimed warm-up run,
and the peer runs in the same ``make bench`` run, right after imgqa on the same files. ratio =
imgqa / peer. A peer that refuses the files is reported with its message.

Wall and process CPU time are both reported (CPU time is steadier on a loaded machine).

Run: ``.venv/bin/python benchmarks/bench_peers.py [repeats] [rounds] [only]``, e.g.
``bench_peers.py 5 3 mr.snr,mr.uniformity,nm.bar`` (3 interleaved rounds of 5, those cases).
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
REPEATS = 7
QUADRANT_WIDTHS = (2.54, 3.17, 2.10, 4.24)  # nmqc/QuadrantBar.dcm, docs/nm.md


def _ref_python() -> Path:
    """.venv-ref next to the repository, else the main checkout's (a git worktree has none)."""
    env = os.environ.get("IMGQA_REF_VENV")
    for cand in ([Path(env)] if env else []) + [ROOT / ".venv-ref", Path("/work/main/.venv-ref")]:
        if (cand / "bin" / "python").exists():
            return cand / "bin" / "python"
    return ROOT / ".venv-ref" / "bin" / "python"


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and not p.name.upper().startswith("LICENSE"))


def _cases() -> list[dict]:
    """(id, imgqa path + protocol + params, peer job) for every comparison."""
    mr = SHARED / "mr"
    cases = []
    for folder in sorted((mr / "snr_pairs").glob("hazen_*")):
        cases.append({"id": f"mr.snr {folder.name}", "path": str(folder), "protocol": "mr.snr",
                      "params": {}, "peer": "hazen snr",
                      "job": {"tool": "hazen", "task": "snr", "files": _files(folder)}})
    for task, sub in (("uniformity", "uniformity"), ("ghosting", "ghosting")):
        for f in _files(mr / sub / "hazen"):
            cases.append({"id": f"mr.{task} {Path(f).name}", "path": f, "protocol": f"mr.{task}",
                          "params": {}, "peer": f"hazen {task}",
                          "job": {"tool": "hazen", "task": task, "files": [f]}})
    bar = SHARED / "nm" / "nmqc" / "QuadrantBar.dcm"
    cases.append({"id": "nm.bar_phantom QuadrantBar", "path": str(bar),
                  "protocol": "nm.bar_phantom",
                  "params": {"bar_widths_mm": ",".join(map(str, QUADRANT_WIDTHS))},
                  "peer": "pylinac QuadrantResolution",
                  "job": {"tool": "pylinac-quadrant", "files": [str(bar)],
                          "options": {"bar_widths": list(QUADRANT_WIDTHS)}}})
    for label, folder in (("digital Catphan (4 modules)", ROOT / "phantoms" / "ct_catphan"),
                          ("real CTP404 FOV150", SHARED / "ct" / "imageqc_CTP404_FOV150")):
        for cls in ("CatPhan504", "CatPhan604"):
            cases.append({"id": f"ct.catphan {label} vs {cls}", "path": str(folder),
                          "protocol": "ct.catphan", "params": {}, "peer": f"pylinac {cls}",
                          "job": {"tool": "pylinac-catphan", "task": cls,
                                  "folder": str(folder)}})
    return [c for c in cases if Path(c["path"]).exists()]


def _imgqa_time(case: dict, repeats: int) -> tuple[list[float], list[float], dict | str]:
    """Wall and process-CPU times of `repeats` runs after a warm-up, and the first values."""
    import imgqa

    try:
        imgqa.analyse(case["path"], case["protocol"], **case["params"])  # warm-up
        wall, cpu = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            res = imgqa.analyse(case["path"], case["protocol"], **case["params"])
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    except Exception as exc:  # noqa: BLE001 - reported in the row
        return [], [], f"{type(exc).__name__}: {exc}"
    values = {k: v for k, v in res[0].as_dict().items() if isinstance(v, (int, float))}
    return wall, cpu, dict(list(values.items())[:8])


def _peer_times(cases: list[dict], repeats: int) -> dict:
    ref = _ref_python()
    if not ref.exists():
        return {}
    jobs = [{**c["job"], "id": c["id"]} for c in cases]
    proc = subprocess.run([str(ref), str(ROOT / "benchmarks" / "reference" / "peers_ref.py"),
                           str(repeats), json.dumps(jobs)], capture_output=True, text=True,
                          check=False, timeout=3600)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"_error": proc.stderr[-500:]}


def _median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def run(repeats: int = REPEATS, rounds: int = 1, only: str = "") -> list[dict]:
    """Time imgqa and the peers in `rounds` interleaved rounds (imgqa, then the peer, on the
    same cases), each of `repeats` runs after a warm-up; medians over all rounds' runs.

    `only` keeps the cases whose id contains one of its comma-separated words.
    """
    cases = _cases()
    if only:
        words = [w.strip() for w in only.split(",") if w.strip()]
        cases = [c for c in cases if any(w in c["id"] for w in words)]
    load_before = os.getloadavg()[0]
    wall: dict[str, list[float]] = {c["id"]: [] for c in cases}
    cpu: dict[str, list[float]] = {c["id"]: [] for c in cases}
    pwall: dict[str, list[float]] = {c["id"]: [] for c in cases}
    pcpu: dict[str, list[float]] = {c["id"]: [] for c in cases}
    values: dict[str, dict | str] = {}
    peer_values: dict[str, object] = {}
    for _ in range(max(rounds, 1)):
        done: dict[tuple, tuple] = {}  # the same files and protocol are timed once per round
        for c in cases:
            key = (c["path"], c["protocol"], tuple(sorted(c["params"].items())))
            if key not in done:
                done[key] = _imgqa_time(c, repeats)
            w, t, values[c["id"]] = done[key]
            wall[c["id"]] += w
            cpu[c["id"]] += t
        peers = _peer_times(cases, repeats)
        for c in cases:
            peer = peers.get(c["id"], {"error": peers.get("_error",
                                                          "reference tools not installed")})
            pwall[c["id"]] += peer.get("times", [])
            if "cpu_median_s" in peer:
                pcpu[c["id"]].append(peer["cpu_median_s"])
            peer_values[c["id"]] = peer.get("values", peer.get("error"))
    load = f"load avg {load_before:.1f}-{os.getloadavg()[0]:.1f}"
    rows = []
    for c in cases:
        t, pt = _median(wall[c["id"]]), _median(pwall[c["id"]])
        tc, pc = _median(cpu[c["id"]]), _median(pcpu[c["id"]])
        rows.append({"name": c["id"], "protocol": c["protocol"], "peer": c["peer"],
                     "imgqa_s": t, "reference_s": pt,
                     "ratio": t / pt if t and pt else None,
                     "imgqa_cpu_s": tc, "reference_cpu_s": pc,
                     "cpu_ratio": tc / pc if tc and pc else None,
                     "notes": (f"median of {rounds}x{repeats}; {load}; imgqa: "
                               f"{values[c['id']]}; peer: {peer_values[c['id']]}")[:900]})
    return rows


if __name__ == "__main__":
    args = sys.argv[1:]
    for row in run(int(args[0]) if len(args) > 0 else REPEATS,
                   int(args[1]) if len(args) > 1 else 1, args[2] if len(args) > 2 else ""):
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v)
                          for k, v in row.items()}))
