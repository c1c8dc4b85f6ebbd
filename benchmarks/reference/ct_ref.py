"""Reference CT analyses with pylinac (run in .venv-ref); prints JSON with times and values.

Usage: python ct_ref.py DATA_DIR
pylinac's CatPhan classes expect a whole Catphan scan (all modules); the shared data has
single-module series, so each attempt records its error instead of values.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import traceback
from pathlib import Path


def _timed(fn, repeats=3):
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    data = Path(sys.argv[1])
    results = {}
    try:
        from pylinac import CatPhan600

        def run600():
            cp = CatPhan600(str(data / "ct" / "imageqc_CTP404_FOV150"))
            cp.analyze()
            d = cp.results_data(as_dict=True)
            return {k: v for k, v in d.items() if k.startswith("ctp404") or k == "catphan_roll_deg"}

        t, vals = _timed(run600, repeats=1)
        results["catphan600_ctp404"] = {"seconds": t, "values": vals}
    except Exception as exc:  # noqa: BLE001 - record, do not crash the benchmark
        results["catphan600_ctp404"] = {"error": f"{type(exc).__name__}: {exc}"[:300],
                                        "trace": traceback.format_exc()[-600:]}
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
