"""A burst in the service (issue 17): several series complete at the same moment and are
analysed and saved by `imgqa serve`'s handler, one process against worker processes.

``K`` CT water series (256², ``S`` slices each, different noise) are written once; each run
gives them all to a fresh `AutomaticQC` + `SessionSaver` on a fresh SQLite store with a
``ct.water`` rule, and times `flush()` (load, route, analyse, judge, save every series):
``jobs = 1`` (each analysed when saved, as before) against the default (`SessionSaver.prepare`
analyses them together on worker processes first). Runs alternate; medians; the first pooled
run, which also starts the pool's processes, is reported apart. Also checks that both save
the same results.

Run: ``.venv/bin/python benchmarks/bench_serve_burst.py [K] [S] [repeats]``.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def run(k: int = 8, slices: int = 12, repeats: int = 3) -> list[dict]:
    """The row (`make bench`: 8 series of 12 slices, 3 repeats)."""

    import pydicom

    from imgqa.parallel import default_jobs
    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series
    from imgqa.service.pipeline import AutomaticQC
    from imgqa.service.saving import SessionSaver
    from imgqa.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-burst-"))
    burst = []
    for i in range(k):
        images, _ = water_phantom(size=256, pixel_mm=0.9, noise_sd=6.0, n_slices=slices,
                                  seed=i)
        paths = sorted(write_series(images, tmp / f"s{i}", modality="CT", description="water",
                                    pixel_spacing_mm=0.9, slice_thickness_mm=5.0,
                                    rescale_intercept=-1024.0, prefix=f"s{i}"))
        heads = [pydicom.dcmread(p, stop_before_pixels=True) for p in paths]
        burst.append((str(heads[0].SeriesInstanceUID),
                      [(str(h.SOPInstanceUID), str(p)) for h, p in zip(heads, paths)]))

    def run(jobs: int, n: int) -> tuple[float, list]:
        store = open_store(str(tmp / f"run{n}.sqlite3"))
        store.add_rule("ct.water", reason="bench", create_equipment=True, modality="CT",
                       description="water")
        saver = SessionSaver(store, tmp / f"inbox{n}")
        saver.jobs = jobs
        qc = AutomaticQC(saver, quiet_s=0.0, prepare=saver.prepare)
        for uid, images in burst:
            for sop, path in images:
                qc.collector.add(uid, sop, path)
        t0 = time.perf_counter()
        qc.flush()
        elapsed = time.perf_counter() - t0
        saved = [[(r.measurement, r.value, r.status) for r in store.session_results(o.session_id)]
                 for o in saver.outcomes]
        store.close()
        return elapsed, saved

    jobs = default_jobs()
    times: dict[int, list[float]] = {1: [], jobs: []}
    same, n, first = True, 0, None
    for _ in range(repeats + 1):
        got = {}
        for j in (1, jobs):
            n += 1
            t, got[j] = run(j, n)
            if j != 1 and first is None:
                first = t  # the pool's first start
                continue
            times[j].append(t)
        same = same and got[1] == got[jobs]
    one, many = statistics.median(times[1]), statistics.median(times[jobs])
    return [{
        "name": f"imgqa serve: a burst of {k} CT series ({slices} slices of 256²) analysed "
                f"and saved, one process vs {jobs} worker processes",
        "imgqa_s": many, "reference_s": one, "ratio": many / one,
        "notes": f"speed-up {one / many:.2f}x (medians of {len(times[1])} / "
                 f"{len(times[jobs])}, alternating); first pooled run {first:.2f} s; "
                 f"identical saved results: {same}"}]


def main() -> None:
    args = [int(a) for a in sys.argv[1:4]]
    for row in run(*args):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
