"""Reference timings for bench_nm.py, run inside .venv-ref (pylinac 3.49, pydicom < 3).

Usage: nm_ref.py REPEATS FILE [FILE ...]
Prints JSON: {file: {"pylinac_s": median seconds of PlanarUniformity(f).analyze() including
reading, "pydicom_s": median seconds of dcmread(f).pixel_array, "values": {...}, "bin": n}}.
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
    import pydicom
    from pylinac.nuclear import PlanarUniformity, determine_binning

    repeats = int(sys.argv[1])
    out = {}
    for f in sys.argv[2:]:
        def bare(f=f):
            return pydicom.dcmread(f).pixel_array

        def pylinac_run(f=f):
            p = PlanarUniformity(f)
            p.analyze()
            return p

        p = pylinac_run()
        data = p.results_data(as_dict=True)
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        out[f] = {
            "pydicom_s": _median_time(bare, repeats),
            "pylinac_s": _median_time(pylinac_run, repeats),
            "values": data,
            "bin": determine_binning(float(ds.PixelSpacing[0])),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
