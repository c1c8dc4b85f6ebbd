"""Reference timings and values of single hazen tasks (relaxometry, MagNET slice width, slice
position, spatial resolution) on one folder. Runs in .venv-ref; prints one JSON object.

usage: .venv-ref/bin/python benchmarks/reference/mr_tasks_ref.py TASK FOLDER [--repeats N]
       [--calc T1|T2 --plate 4|5]
TASK: relaxometry, slice_width, slice_position, spatial_resolution.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
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

CLASSES = {"relaxometry": "Relaxometry", "slice_width": "SliceWidth",
           "slice_position": "SlicePosition", "spatial_resolution": "SpatialResolution"}


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and not p.name.startswith("LICENSE"))


def _plain(v):
    if isinstance(v, (int, float, str)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    try:
        return float(v)
    except (TypeError, ValueError):
        return str(v)


def _values(res) -> list[dict]:
    out = []
    for m in getattr(res, "measurements", []) or []:
        d = {k: getattr(m, k, None) for k in ("name", "value", "type", "subtype",
                                               "description", "unit")}
        out.append(_plain(d))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("task", choices=sorted(CLASSES))
    ap.add_argument("folder")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--calc", default="T1")
    ap.add_argument("--plate", type=int, default=5)
    ap.add_argument("--template", help="hazen's template image for this plate and calc (the "
                    "pip package lacks them; the shared data has Plate5 T1 and Plate4 T2)")
    args = ap.parse_args()
    if args.template:
        from hazenlib.data import relaxometry_params as params

        params.TEMPLATE_VALUES[f"plate{args.plate}"][args.calc.lower()]["filename"] = \
            args.template
    import pydicom

    if not hasattr(pydicom, "pixels"):  # hazen 2.0 relaxometry calls the pydicom-3 name
        import types

        from pydicom.pixel_data_handlers.util import apply_modality_lut
        pydicom.pixels = types.SimpleNamespace(apply_modality_lut=apply_modality_lut)
    cls = getattr(importlib.import_module(f"hazenlib.tasks.{args.task}"), CLASSES[args.task])
    files = _files(Path(args.folder))
    times, cpu, res, err = [], [], None, None
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                task = cls(input_data=files, report=False)
                if args.task == "relaxometry":
                    res = task.run(calc=args.calc, plate_number=args.plate, verbose=True)
                else:
                    res = task.run()
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            err = f"{type(exc).__name__}: {exc}"
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)  # CPU time: less sensitive to other jobs
    json.dump({"task": args.task, "time_s": statistics.median(times),
               "cpu_s": statistics.median(cpu), "error": err,
               "values": _values(res) if res is not None else []}, sys.stdout, default=str)


if __name__ == "__main__":
    main()
