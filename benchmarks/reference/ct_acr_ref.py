"""pylinac 3.49 ACRCT on one folder (run in .venv-ref); prints one JSON object with the median
time (reading included) and its values, or the error.

usage: .venv-ref/bin/python benchmarks/reference/ct_acr_ref.py FOLDER [--repeats N]
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

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from pylinac import ACRCT

    times, vals, err = [], {}, None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                acr = ACRCT(args.folder)
                acr.analyze()
                d = acr.results_data(as_dict=True)
        except Exception as exc:  # noqa: BLE001 - reported in the JSON
            err = f"{type(exc).__name__}: {exc}"
            d = None
        times.append(time.perf_counter() - t0)
        if d:
            ct = d.get("ct_module", {})
            vals = {"rois": {k: (v.get("value") if isinstance(v, dict) else v)
                             for k, v in (ct.get("rois") or {}).items()},
                    "low_contrast_cnr": (d.get("low_contrast_module") or {}).get("cnr"),
                    "uniformity": (d.get("uniformity_module") or {}).get("rois"),
                    "mtf50_lp_mm": None}
            try:
                vals["mtf50_lp_mm"] = float(acr.spatial_resolution_module.mtf
                                            .relative_resolution(50))
            except Exception:  # noqa: BLE001
                pass
    json.dump({"time_s": statistics.median(times), "values": vals, "error": err},
              sys.stdout, default=str)


if __name__ == "__main__":
    main()
