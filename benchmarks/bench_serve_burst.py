"""A burst in the service (issue 17): several series complete at the same moment and are
analysed and saved by `imgqa serve`'s handler, one process against worker processes.

``K`` CT water series (256², ``S`` slices each, different noise) are written once; each run
gives them all to a fresh `AutomaticQC` + `SessionSaver` on a fresh SQLite store with a
``ct.water`` rule, and times `flush()` (load, route, analyse, judge, save every series):
``jobs = 1`` (each analysed when saved, as before) against the default (`SessionSaver.prepare`
analyses them together on worker processes first). The same burst is then printed by the
handler of ``imgqa watch`` and ``imgqa receive --analyse`` (`SummaryPrinter`, test chosen from
each series), one process against `SummaryPrinter.prepare`. Runs alternate; medians; the first
pooled run, which also starts the pool's processes, is reported apart. Also checks that both
give the same results.

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


def _write_burst(tmp: Path, k: int, slices: int) -> list[tuple[str, list[tuple[str, str]]]]:
    """(Series Instance UID, [(SOP Instance UID, path)]) of ``k`` CT water series."""
    import pydicom

    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series

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
    return burst


def _alternate(run_once, jobs: int, repeats: int) -> tuple[float, float, float, bool]:
    """Medians of ``run_once(1, n)`` and ``run_once(jobs, n)`` run alternately (the first
    pooled run, which starts the pool's processes, apart), and whether every pair agreed."""
    times: dict[int, list[float]] = {1: [], jobs: []}
    same, n, first = True, 0, float("nan")
    for r in range(repeats + 1):
        got = {}
        for j in (1, jobs):
            n += 1
            t, got[j] = run_once(j, n)
            if j != 1 and r == 0:
                first = t
                continue
            times[j].append(t)
        same = same and got[1] == got[jobs]
    return statistics.median(times[1]), statistics.median(times[jobs]), first, same


def run(k: int = 8, slices: int = 12, repeats: int = 3) -> list[dict]:
    """The rows (`make bench`: 8 series of 12 slices, 3 repeats): `imgqa serve`'s saver and
    the printer of `imgqa watch` / `imgqa receive --analyse`."""
    import contextlib
    import io

    from imgqa.cli._auto import SummaryPrinter
    from imgqa.parallel import default_jobs
    from imgqa.service.pipeline import AutomaticQC
    from imgqa.service.saving import SessionSaver
    from imgqa.store import open_store

    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-burst-"))
    burst = _write_burst(tmp, k, slices)

    def deliver(qc: AutomaticQC) -> float:
        for uid, images in burst:
            for sop, path in images:
                qc.collector.add(uid, sop, path)
        t0 = time.perf_counter()
        qc.flush()
        return time.perf_counter() - t0

    def serve_once(jobs: int, n: int) -> tuple[float, list]:
        store = open_store(str(tmp / f"run{n}.sqlite3"))
        store.add_rule("ct.water", reason="bench", create_equipment=True, modality="CT",
                       description="water")
        saver = SessionSaver(store, tmp / f"inbox{n}")
        saver.jobs = jobs
        elapsed = deliver(AutomaticQC(saver, quiet_s=0.0, prepare=saver.prepare))
        saved = [[(r.measurement, r.value, r.status) for r in store.session_results(o.session_id)]
                 for o in saver.outcomes]
        store.close()
        return elapsed, saved

    def watch_once(jobs: int, n: int) -> tuple[float, list]:
        printer = SummaryPrinter("json", jobs=jobs)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            elapsed = deliver(AutomaticQC(printer, quiet_s=0.0, prepare=printer.prepare))
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        return elapsed, [[(m["name"], m["value"], m["status"])
                          for r in line["results"] for m in r["measurements"]]
                         for line in lines]

    jobs = default_jobs()
    rows = []
    for label, once in (("imgqa serve: a burst of {k} CT series ({s} slices of 256²) "
                         "analysed and saved", serve_once),
                        ("imgqa watch / receive --analyse: a burst of {k} CT series ({s} "
                         "slices of 256²) analysed and printed", watch_once)):
        one, many, first, same = _alternate(once, jobs, repeats)
        rows.append({
            "name": label.format(k=k, s=slices) + f", one process vs {jobs} worker processes",
            "imgqa_s": many, "reference_s": one, "ratio": many / one,
            "notes": f"speed-up {one / many:.2f}x (medians of {repeats}, alternating); first "
                     f"pooled run {first:.2f} s; identical results: {same}"})
    return rows


def main() -> None:
    args = [int(a) for a in sys.argv[1:4]]
    for row in run(*args):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
