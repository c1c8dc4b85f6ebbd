"""Reference timings for bench_spect.py, run inside .venv-ref (pylinac 3.49).

Usage: spect_ref.py REPEATS KIND=FILE [KIND=FILE ...], KIND one of cor, resolution, uniformity.
Prints JSON: {FILE: {"kind": KIND, "pylinac_s": median seconds including reading, "values":
{...}}}. "uniformity" times TomographicUniformity + TomographicContrast (imgqa's
spect.uniformity_contrast does both); its uniform frames are passed as KIND:FIRST:LAST.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore")


def _median_time(fn, repeats: int) -> float:
    fn()  # warm-up (imports, page cache)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    from pylinac.nuclear import (
        CenterOfRotation,
        TomographicContrast,
        TomographicResolution,
        TomographicUniformity,
    )

    repeats = int(sys.argv[1])
    out = {}
    for arg in sys.argv[2:]:
        kind, path = arg.split("=", 1)
        values: dict = {}
        if kind == "cor":
            def run(path=path, values=values):
                c = CenterOfRotation(path)
                c.analyze()
                values.update(c.results_data(as_dict=True))
        elif kind == "resolution":
            def run(path=path, values=values):
                r = TomographicResolution(path)
                r.analyze()
                values.update(r.results_data(as_dict=True))
        else:
            _, first, last = kind.split(":")

            def run(path=path, values=values, first=int(first), last=int(last)):
                u = TomographicUniformity(path)
                # pylinac's last_frame is exclusive (array[first:last]).
                u.analyze(first_frame=first, last_frame=last + 1)
                c = TomographicContrast(path)
                c.analyze()
                values.update({"uniformity": u.results_data(as_dict=True),
                               "contrast": c.results_data(as_dict=True)})
        t = _median_time(run, repeats if kind != "uniformity" else max(1, repeats // 3))
        out[path] = {"kind": kind.split(":")[0], "pylinac_s": t,
                     "values": json.loads(json.dumps(values, default=str))}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
