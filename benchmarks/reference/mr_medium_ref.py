"""Reference timing and values of pylinac's ACRMRIMedium on one series folder (the ACR medium
phantom). Runs in .venv-ref; prints one JSON object.

usage: .venv-ref/bin/python benchmarks/reference/mr_medium_ref.py FOLDER [--repeats N]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import time
from pathlib import Path


def run_pylinac(folder: Path, repeats: int) -> dict:
    from pylinac import ACRMRIMedium

    times, data, err = [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                acr = ACRMRIMedium(str(folder))
                acr.analyze()
                data = acr.results_data(as_dict=True)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            err = f"{type(exc).__name__}: {exc}"
        times.append(time.perf_counter() - t0)
    vals: dict = {}
    if data:
        s1 = data.get("slice1", {})
        s11 = data.get("slice11", {})
        u = data.get("uniformity_module", {})
        g = data.get("geometric_distortion_module", {})
        vals = {"slice_thickness_mm": s1.get("measured_slice_thickness_mm"),
                "slice_position_slice1_mm": s1.get("bar_difference_mm"),
                "slice_position_slice11_mm": s11.get("bar_difference_mm"),
                "piu": u.get("piu"), "geometry": g.get("distances")}
    return {"time_s": statistics.median(times), "values": vals, "error": err}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    json.dump({"pylinac": run_pylinac(Path(args.folder), args.repeats)}, sys.stdout,
              default=str)


if __name__ == "__main__":
    main()
