"""pylinac 3.49 SimpleSensitivity timings and values (run in .venv-ref by bench_nm_planar.py).

Usage: nm_planar_ref.py REPEATS ACTIVITY_MBQ FILE...; prints one JSON line
{file: {"pylinac_s": median seconds, "sensitivity": cps/MBq}} (Tc-99m, no background).
"""

from __future__ import annotations

import json
import statistics
import sys
import time


def main() -> None:
    from pylinac.nuclear import Nuclide, SimpleSensitivity

    repeats, activity = int(sys.argv[1]), float(sys.argv[2])
    out = {}
    for f in sys.argv[3:]:
        def once(f=f):
            s = SimpleSensitivity(f)
            s.analyze(activity, Nuclide.Tc99m)
            return s.sensitivity_mbq

        value = once()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            once()
            times.append(time.perf_counter() - t0)
        out[f] = {"pylinac_s": statistics.median(times), "sensitivity": value}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
