"""Benchmark: imgqa's whole mr.acr battery (load + analysis) against hazen's seven ACR tasks and
pylinac's ACRMRILarge, on the same series, in one run.

Reference tools run in .venv-ref via benchmarks/reference/mr_ref.py (subprocess, JSON out).
Times are medians of repeats and include reading the DICOM files for every tool.

usage: .venv/bin/python benchmarks/bench_mr.py [--repeats N] [--series NAME ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mr"
REF_PY = ROOT / ".venv-ref" / "bin" / "python"
SERIES = {
    "hazen_Siemens": DATA / "acr" / "hazen_Siemens",
    "hazen_GE (512²)": DATA / "acr" / "hazen_GE",
    "hazen_PhilipsAchieva": DATA / "acr" / "hazen_PhilipsAchieva",
    "hazen_GE_MR450W_1.5T_T1": DATA / "acr" / "hazen_GE_MR450W_1.5T_T1",
    "hazen_Siemens_Sola_1.5T_T1 (enhanced)": DATA / "acr" / "hazen_Siemens_Sola_1.5T_T1",
}

# imgqa measurement → (hazen task, hazen subtype or description match, pylinac key)
PAIRS = [
    ("geometric_accuracy_slice1_horizontal", ("acr_geometric_accuracy", "Slice 1 Horizontal"), None),
    ("geometric_accuracy_slice1_vertical", ("acr_geometric_accuracy", "Slice 1 Vertical"), None),
    ("geometric_accuracy_slice5_horizontal", ("acr_geometric_accuracy", "Slice 5 Horizontal"),
     ("geometry", "horizontal")),
    ("geometric_accuracy_slice5_vertical", ("acr_geometric_accuracy", "Slice 5 Vertical"),
     ("geometry", "vertical")),
    ("slice_thickness_mm", ("acr_slice_thickness", "slice width"), "slice_thickness_mm"),
    ("slice_position_slice1_mm", ("acr_slice_position", "Slice 1 "), "slice_position_slice1_mm"),
    ("slice_position_slice11_mm", ("acr_slice_position", "Slice 11 "),
     "slice_position_slice11_mm"),
    ("resolution_mm", ("acr_spatial_resolution", "Best"), None),
    ("piu", ("acr_uniformity", "Integral uniformity"), "piu"),
    ("ghosting_percent", ("acr_ghosting", "signal ghosting"), "ghosting_percent"),
    ("snr", ("acr_snr", "smoothing"), None),
]


def _imgqa_run(folder: Path, repeats: int) -> tuple[float, dict[str, float | None]]:
    import imgqa

    imgqa.analyse(folder, "mr.acr")           # warm-up: imports, first-call costs
    times, values = [], {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        series = imgqa.load(folder)
        result = imgqa.analyse(series[0], "mr.acr")[0]
        times.append(time.perf_counter() - t0)
        values = result.as_dict()
    return statistics.median(times), values


def _hazen_value(ref: dict, task: str, key: str) -> float | None:
    for m in ref["hazen"]["values"].get(task, []) or []:
        if not isinstance(m, dict):
            continue
        text = f"{m.get('subtype', '')} {m.get('description', '')}"
        if key in text and isinstance(m.get("value"), (int, float)):
            return float(m["value"])
    return None


def _pylinac_value(ref: dict, key) -> float | None:
    vals = (ref.get("pylinac") or {}).get("values") or {}
    if key is None:
        return None
    if isinstance(key, tuple):
        v = (vals.get(key[0]) or {}).get(key[1])
        return float(str(v).replace("mm", "")) if v is not None else None
    v = vals.get(key)
    if key == "ghosting_percent" and v is not None:
        return 100.0 * float(v)               # pylinac reports the ratio
    return float(v) if isinstance(v, (int, float)) else None


def run(repeats: int = 5, names: list[str] | None = None) -> list[dict]:
    rows = []
    for name, folder in SERIES.items():
        if names and not any(n in name for n in names):
            continue
        t_imgqa, vals = _imgqa_run(folder, repeats)
        ref: dict = {}
        ref_py = _ref_py()            # worktrees: $REF_PY or the main checkout's .venv-ref
        if ref_py.exists():
            proc = subprocess.run([str(ref_py), str(ROOT / "benchmarks" / "reference" /
                                                    "mr_ref.py"), str(folder),
                                   "--repeats", str(max(1, repeats // 2))],
                                  capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                ref = json.loads(proc.stdout)
        hazen_s = ref.get("hazen", {}).get("total_s")
        pyl_s = (ref.get("pylinac") or {}).get("time_s")
        agreement = {}
        for m, (task, key), pkey in PAIRS:
            agreement[m] = {"imgqa": vals.get(m),
                            "hazen": _hazen_value(ref, task, key) if ref else None,
                            "pylinac": _pylinac_value(ref, pkey) if ref else None}
        rows.append({
            "name": name, "imgqa_s": t_imgqa, "reference_s": hazen_s,
            "ratio": (t_imgqa / hazen_s) if hazen_s else None,
            "pylinac_s": pyl_s, "ratio_pylinac": (t_imgqa / pyl_s) if pyl_s else None,
            "hazen_task_s": ref.get("hazen", {}).get("times"),
            "agreement": agreement,
            "notes": (ref.get("pylinac") or {}).get("error") or "",
        })
    if not names:
        rows += run_relaxometry(repeats)
        rows += run_magnet(repeats)
    return rows


# ---------------------------------------------------------------------------------------------
# mr.relaxometry vs hazen's Relaxometry task (issue 16)
# ---------------------------------------------------------------------------------------------
def _ref_py() -> Path:
    """.venv-ref next to the repository, else the main checkout's (worktrees), or $REF_PY."""
    import os

    for p in (os.environ.get("REF_PY"), REF_PY, Path("/work/main/.venv-ref/bin/python")):
        if p and Path(p).exists():
            return Path(p)
    return REF_PY


def _hazen_task(task: str, folder: Path, repeats: int, *extra: str) -> dict:
    py = _ref_py()
    if not py.exists():
        return {}
    proc = subprocess.run([str(py), str(ROOT / "benchmarks" / "reference" / "mr_tasks_ref.py"),
                           task, str(folder), "--repeats", str(repeats), *extra],
                          capture_output=True, text=True, timeout=900, check=False,
                          cwd=str(ROOT))
    if proc.returncode != 0 or not proc.stdout.strip():
        print(proc.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


RELAX = DATA / "relaxometry_hazen"
RELAX_CASES = [  # name, folder, calc, plate, hazen's template image
    ("relaxometry T1 site 1 plate 5 (6 series)", RELAX / "T1/site1_20200218/plate5", "T1", 5,
     RELAX / "T1/Template_plate5_T1_signed"),
    ("relaxometry T2 site 1 plate 4 (32 echoes)", RELAX / "T2/site1_20200218/plate4", "T2", 4,
     RELAX / "T2/Template_plate4_T2"),
]


def _interleaved(folder: Path, protocol: str, repeats: int, task: str, *extra: str
                 ) -> tuple[dict, Any, dict]:
    """imgqa (load, then analysis) and one hazen run alternately, ``repeats`` times: the
    machine's load (other jobs) then weighs on both alike. Returns imgqa's medians
    (``total``, ``load``, ``analysis`` s), its last result, and hazen's last JSON with
    ``time_s`` the median of its runs (hazen's own timer: its task, reading included)."""
    import os

    import imgqa

    imgqa.analyse(folder, protocol)  # warm-up (imports, caches)
    t_load, t_ana, t_ref = [], [], []
    result, ref = None, {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        series = imgqa.load(folder)
        t1 = time.perf_counter()
        result = imgqa.analyse(series, protocol)[0]
        t2 = time.perf_counter()
        t_load.append(t1 - t0)
        t_ana.append(t2 - t1)
        ref = _hazen_task(task, folder, 1, *extra)
        if ref.get("time_s") is not None:
            t_ref.append(ref["time_s"])
    tot = [a + b for a, b in zip(t_load, t_ana)]
    if t_ref:
        ref["time_s"] = statistics.median(t_ref)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return ({"total": statistics.median(tot), "load": statistics.median(t_load),
             "analysis": statistics.median(t_ana), "loadavg": load}, result, ref)


def _note(t: dict, ref: dict, what: str) -> str:
    split = (f"imgqa load {t['load']:.3f} s + analysis {t['analysis']:.3f} s; "
             f"interleaved with {what}, load average {t['loadavg']:.1f}")
    return f"{ref['error']} ({split})" if ref.get("error") else split


def _interleaved_cpu(folder: Path, protocol: str, repeats: int, task: str, *extra: str
                     ) -> tuple[dict, Any, dict]:
    """As `_interleaved`, with the CPU time (``time.process_time``) of imgqa's load and
    analysis and of hazen's task beside the wall times: on a machine shared with other jobs
    the CPU time is the steadier measure. Returns imgqa's medians (``total``, ``load``,
    ``analysis`` wall s; ``cpu_total``, ``cpu_load``, ``cpu_analysis`` CPU s), its last
    result, and hazen's last JSON with ``time_s`` / ``cpu_s`` the medians of its runs."""
    import os

    import imgqa

    imgqa.analyse(folder, protocol)  # warm-up (imports, caches)
    wall: dict[str, list[float]] = {"load": [], "analysis": []}
    cpu: dict[str, list[float]] = {"load": [], "analysis": []}
    t_ref, c_ref = [], []
    result, ref = None, {}
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        series = imgqa.load(folder)
        t1, c1 = time.perf_counter(), time.process_time()
        result = imgqa.analyse(series, protocol)[0]
        t2, c2 = time.perf_counter(), time.process_time()
        wall["load"].append(t1 - t0)
        wall["analysis"].append(t2 - t1)
        cpu["load"].append(c1 - c0)
        cpu["analysis"].append(c2 - c1)
        ref = _hazen_task(task, folder, 1, *extra)
        if ref.get("time_s") is not None:
            t_ref.append(ref["time_s"])
        if ref.get("cpu_s") is not None:
            c_ref.append(ref["cpu_s"])
    if t_ref:
        ref["time_s"] = statistics.median(t_ref)
    ref["cpu_s"] = statistics.median(c_ref) if c_ref else None
    med = statistics.median
    out = {"total": med([a + b for a, b in zip(wall["load"], wall["analysis"])]),
           "load": med(wall["load"]), "analysis": med(wall["analysis"]),
           "cpu_total": med([a + b for a, b in zip(cpu["load"], cpu["analysis"])]),
           "cpu_load": med(cpu["load"]), "cpu_analysis": med(cpu["analysis"]),
           "loadavg": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}
    return out, result, ref


def run_relaxometry(repeats: int = 5) -> list[dict]:
    """imgqa mr.relaxometry vs hazen Relaxometry (load + fit, interleaved, medians; wall and
    CPU time)."""
    rows = []
    for name, folder, calc, plate, template in RELAX_CASES:
        if not folder.is_dir():
            continue
        t, result, ref = _interleaved_cpu(folder, "mr.relaxometry", repeats, "relaxometry",
                                          "--calc", calc, "--plate", str(plate),
                                          "--template", str(template))
        key = calc.lower()
        hz = [v["value"] for v in ref.get("values", [])
              if v.get("type") == "measured" and v.get("unit") == "ms"]
        agreement = {f"vial_{n}_{key}_ms": {"imgqa": result.value(f"vial_{n}_{key}_ms"),
                                             "hazen": hz[n - 1] if n <= len(hz) else None,
                                             "pylinac": None} for n in range(1, 16)}
        t_ref, c_ref = ref.get("time_s"), ref.get("cpu_s")
        note = _note(t, ref, "hazen Relaxometry (template registration)")
        note += (f"; CPU: imgqa {t['cpu_total']:.3f} s (load {t['cpu_load']:.3f} + analysis "
                 f"{t['cpu_analysis']:.3f})"
                 + (f" vs hazen {c_ref:.3f} s, ratio {t['cpu_total'] / c_ref:.3f}"
                    if c_ref else ""))
        rows.append({"name": name, "imgqa_s": t["total"], "reference_s": t_ref,
                     "ratio": t["total"] / t_ref if t_ref else None, "pylinac_s": None,
                     "ratio_pylinac": None, "agreement": agreement,
                     "imgqa_load_s": t["load"], "imgqa_analysis_s": t["analysis"],
                     "imgqa_cpu_s": t["cpu_total"], "imgqa_cpu_load_s": t["cpu_load"],
                     "imgqa_cpu_analysis_s": t["cpu_analysis"], "reference_cpu_s": c_ref,
                     "ratio_cpu": t["cpu_total"] / c_ref if c_ref else None,
                     "notes": note})
    return rows


# ---------------------------------------------------------------------------------------------
# mr.magnet vs hazen's slice_width / slice_position / spatial_resolution tasks (issue 16)
# ---------------------------------------------------------------------------------------------
MAGNET = DATA / "magnet_hazen"
MAGNET_CASES = [  # name, folder, hazen task, imgqa measurement, hazen subtype
    ("MagNET slice width", MAGNET / "SLICEWIDTH", "slice_width", "slice_width_mm",
     "slice width"),
    ("MagNET slice position (60 slices)", MAGNET / "SLICEPOSITION", "slice_position",
     "slice_position_max_error_mm", "maximum"),
    ("MagNET resolution (512²)", MAGNET / "RESOLUTION", "spatial_resolution",
     "resolution_mtf50_lp_mm", "phase encoding direction"),
]


def _magnet_interleaved(folder: Path, repeats: int, task: str) -> tuple[dict, Any, dict]:
    """imgqa mr.magnet (load, then analysis) and one hazen ``task`` run alternately,
    ``repeats`` times, so that other jobs on the machine weigh on both alike. Wall and CPU
    (``time.process_time``) times, medians; hazen's from its own timers (its task, reading
    included), its process start-up and imports excluded. Also the medians of imgqa's
    involuntary / voluntary context switches and minor page faults per run (``getrusage``):
    why its wall time exceeds its CPU time (preempted, waiting, or faulting in memory)."""
    import os
    import resource

    import imgqa

    imgqa.analyse(folder, "mr.magnet")  # warm-up (imports, caches)
    wall: dict[str, list[float]] = {"load": [], "analysis": [], "total": []}
    cpu: dict[str, list[float]] = {"load": [], "analysis": [], "total": []}
    ref_wall, ref_cpu, loads = [], [], []
    counts: dict[str, list[int]] = {"nivcsw": [], "nvcsw": [], "minflt": []}
    result, ref = None, {}
    for _ in range(repeats):
        u0 = resource.getrusage(resource.RUSAGE_SELF)
        t0, c0 = time.perf_counter(), time.process_time()
        series = imgqa.load(folder)
        t1, c1 = time.perf_counter(), time.process_time()
        result = imgqa.analyse(series, "mr.magnet")[0]
        t2, c2 = time.perf_counter(), time.process_time()
        u1 = resource.getrusage(resource.RUSAGE_SELF)
        for d, (a, b, c) in ((wall, (t0, t1, t2)), (cpu, (c0, c1, c2))):
            d["load"].append(b - a)
            d["analysis"].append(c - b)
            d["total"].append(c - a)
        for k in counts:
            counts[k].append(getattr(u1, "ru_" + k) - getattr(u0, "ru_" + k))
        ref = _hazen_task(task, folder, 1)
        if ref.get("time_s") is not None:
            ref_wall.append(ref["time_s"])
        if ref.get("cpu_s") is not None:
            ref_cpu.append(ref["cpu_s"])
        if hasattr(os, "getloadavg"):
            loads.append(os.getloadavg()[0])
    t = {k: statistics.median(v) for k, v in wall.items()}
    t.update({f"cpu_{k}": statistics.median(v) for k, v in cpu.items()})
    t["loadavg"] = statistics.median(loads) if loads else float("nan")
    t.update({k: statistics.median(v) for k, v in counts.items()})
    ref["time_s"] = statistics.median(ref_wall) if ref_wall else None
    ref["cpu_s"] = statistics.median(ref_cpu) if ref_cpu else None
    return t, result, ref


def run_magnet(repeats: int = 5) -> list[dict]:
    """imgqa mr.magnet vs the matching hazen task (load + analysis, interleaved, medians of
    wall and CPU time; ``ratio`` is wall time, ``ratio_cpu`` CPU time)."""
    rows = []
    for name, folder, task, meas, subtype in MAGNET_CASES:
        if not folder.is_dir():
            continue
        t, result, ref = _magnet_interleaved(folder, repeats, task)
        hz = next((v["value"] for v in ref.get("values", [])
                   if v.get("subtype") == subtype), None)
        t_ref, c_ref = ref.get("time_s"), ref.get("cpu_s")
        note = (f"imgqa load {t['load']:.3f} s + analysis {t['analysis']:.3f} s "
                f"(CPU {t['cpu_load']:.3f} + {t['cpu_analysis']:.3f} s); hazen {task} "
                + (f"CPU {c_ref:.3f} s, " if c_ref else "")
                + (f"CPU ratio {t['cpu_total'] / c_ref:.3f}; " if c_ref else "")
                + f"interleaved, load average {t['loadavg']:.1f}; imgqa per run: "
                f"{t['nivcsw']:g} involuntary / {t['nvcsw']:g} voluntary context switches, "
                f"{t['minflt']:g} minor faults"
                + (" (hazen: mm, ≈ 1/(2·MTF50))" if "resolution" in task else ""))
        rows.append({"name": name, "imgqa_s": t["total"], "reference_s": t_ref,
                     "ratio": t["total"] / t_ref if t_ref else None, "pylinac_s": None,
                     "ratio_pylinac": None,
                     "imgqa_load_s": t["load"], "imgqa_analysis_s": t["analysis"],
                     "imgqa_cpu_s": t["cpu_total"], "imgqa_cpu_load_s": t["cpu_load"],
                     "imgqa_cpu_analysis_s": t["cpu_analysis"], "reference_cpu_s": c_ref,
                     "ratio_cpu": t["cpu_total"] / c_ref if c_ref else None,
                     "loadavg": t["loadavg"], "imgqa_nivcsw": t["nivcsw"],
                     "imgqa_nvcsw": t["nvcsw"], "imgqa_minflt": t["minflt"],
                     "agreement": {meas: {"imgqa": result.value(meas), "hazen": hz,
                                          "pylinac": None}},
                     "notes": f"{ref['error']} ({note})" if ref.get("error") else note})
    return rows


def _fmt(v, digits: int = 2) -> str:
    return "—" if v is None else (f"{v:.{digits}f}" if isinstance(v, float) else str(v))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--series", nargs="*")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--only", choices=("acr", "relaxometry", "magnet"),
                    help="one part only (mr.acr series, or the issue-16 hazen tasks)")
    args = ap.parse_args(argv)
    if args.only == "relaxometry":
        rows = run_relaxometry(args.repeats)
    elif args.only == "magnet":
        rows = run_magnet(args.repeats)
    else:
        rows = run(args.repeats, args.series if args.only != "acr" else (args.series or [""]))
    if args.json:
        print(json.dumps(rows, indent=1, default=str))
        return 0
    print(f"{'series':40s} {'imgqa s':>8s} {'hazen s':>8s} {'ratio':>7s} {'pylinac s':>9s} "
          f"{'ratio':>7s}")
    for r in rows:
        # three decimals: the speed target (ratio ≤ 0.1) is decided in the third
        print(f"{r['name']:40s} {_fmt(r['imgqa_s'], 3):>8s} {_fmt(r['reference_s'], 3):>8s} "
              f"{_fmt(r['ratio'], 3):>7s} {_fmt(r['pylinac_s'], 3):>9s} "
              f"{_fmt(r['ratio_pylinac'], 3):>7s}")
    print()
    for r in rows:
        print(r["name"] + (f"  [{r['notes']}]" if r.get("imgqa_load_s") is not None else ""))
        for m, v in r["agreement"].items():
            print(f"   {m:40s} imgqa {_fmt(v['imgqa']):>8s}  hazen {_fmt(v['hazen']):>8s}  "
                  f"pylinac {_fmt(v['pylinac']):>8s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
