"""Reference timings and values for the ACR MRI battery: hazen's ACR tasks and pylinac's
ACRMRILarge, on one series folder. Runs in .venv-ref (pydicom < 3); prints one JSON object.

usage: .venv-ref/bin/python benchmarks/reference/mr_ref.py FOLDER [--repeats N] [--snr2 FOLDER2]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

HAZEN_TASKS = [
    ("acr_geometric_accuracy", "ACRGeometricAccuracy"),
    ("acr_slice_thickness", "ACRSliceThickness"),
    ("acr_slice_position", "ACRSlicePosition"),
    ("acr_spatial_resolution", "ACRSpatialResolution"),
    ("acr_uniformity", "ACRUniformity"),
    ("acr_ghosting", "ACRGhosting"),
    ("acr_snr", "ACRSNR"),
]


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _measurements(res) -> list[dict]:
    out = []
    for m in getattr(res, "measurements", []) or []:
        import dataclasses

        if isinstance(m, dict):
            d = m
        elif dataclasses.is_dataclass(m):
            d = dataclasses.asdict(m)
        elif hasattr(m, "model_dump"):
            d = m.model_dump()
        else:
            d = {k: getattr(m, k) for k in dir(m) if not k.startswith("_")
                 and not callable(getattr(m, k))}
        out.append({k: (v if isinstance(v, (int, float, str)) or v is None else str(v))
                    for k, v in dict(d).items()})
    return out


def run_hazen(folder: Path, repeats: int) -> dict:
    import importlib

    files = _files(folder)
    per_task, values = {}, {}
    for mod_name, cls_name in HAZEN_TASKS:
        cls = getattr(importlib.import_module(f"hazenlib.tasks.{mod_name}"), cls_name)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    res = cls(input_data=files, report=False).run()
                err = None
            except Exception as exc:  # noqa: BLE001 - a failing task is reported, not fatal
                res, err = None, f"{type(exc).__name__}: {exc}"
            times.append(time.perf_counter() - t0)
        per_task[mod_name] = statistics.median(times)
        values[mod_name] = {"error": err} if res is None else _measurements(res)
    return {"times": per_task, "total_s": sum(per_task.values()), "values": values}


def run_pylinac(folder: Path, repeats: int) -> dict:
    from pylinac import ACRMRILarge

    times, data, err = [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                acr = ACRMRILarge(str(folder))
                acr.analyze()
                data = acr.results_data(as_dict=True)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            err = f"{type(exc).__name__}: {exc}"
        times.append(time.perf_counter() - t0)
    vals = {}
    if data:
        s1 = data.get("slice1", {})
        u = data.get("uniformity_module", {}) or data.get("uniformity", {})
        g = data.get("geometric_distortion_module", {}) or data.get("geometric_distortion", {})
        s11 = data.get("slice11", {})
        vals = {"slice_thickness_mm": s1.get("measured_slice_thickness_mm"),
                "slice_position_slice1_mm": s1.get("bar_difference_mm"),
                "slice_position_slice11_mm": s11.get("bar_difference_mm"),
                "piu": u.get("piu"), "ghosting_percent": u.get("ghosting_ratio"),
                "geometry": g.get("distances"),
                "low_contrast_spokes": (data.get("low_contrast_multi_slice_module", {})
                                        or {}).get("score")}
        vals = {k: (v if isinstance(v, (int, float, dict)) or v is None else str(v))
                for k, v in vals.items()}
    return {"time_s": statistics.median(times), "values": vals, "error": err,
            "keys": sorted(data) if data else []}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-pylinac", action="store_true")
    args = ap.parse_args()
    folder = Path(args.folder)
    out = {"folder": str(folder), "hazen": run_hazen(folder, args.repeats)}
    if not args.no_pylinac:
        out["pylinac"] = run_pylinac(folder, args.repeats)
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
