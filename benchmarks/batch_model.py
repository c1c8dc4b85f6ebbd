"""Component CPU times of ``imgqa analyse <folder>`` and the wall time they imply on two
dedicated cores (issue 17), for a machine too loaded for wall-clock comparisons.

Each mode runs in a fresh process (``python benchmarks/batch_model.py serial|parallel FOLDER``)
and prints CPU seconds (``time.process_time``, ``RUSAGE_CHILDREN`` for reader workers):

* ``start``: interpreter start and the imports of ``imgqa analyse`` before reading (with the
  command's BLAS thread default and import hooks);
* ``read``: reading the headers (``load``), or with ``load_parallel`` the main process' part
  (unpickling, grouping, importing the kernels of the modalities seen) and the readers';
* ``units``: each unit's analysis, one after the other in this process, as ``--jobs 1`` runs
  them (kernels imported on first use) or after ``load_parallel`` (kernels preloaded, as the
  forked workers inherit them);
* ``finish``: judging against the default tolerances and writing the JSON.

The two-core estimate for the parallel batch is ``start + shared(main, readers) +
makespan + finish`` (``shared``: both on two cores shared fairly), with the makespan of the units dispatched longest first (estimated cost
order, as `imgqa.parallel` does) to the first free of two workers. Not modelled: fork and
result pickling (milliseconds per unit). Used by ``bench_batch.py``.
"""

from __future__ import annotations

import heapq
import io
import json
import resource
import sys
import time


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(mode: str, folder: str) -> dict:
    import imgqa.cli.analyse_cmd  # noqa: F401 - what the command imports before reading
    from imgqa.protocols.base import analyse_unit, batch_units

    out: dict = {"start": time.process_time()}
    c0, k0 = time.process_time(), _children_cpu()
    if mode == "serial":
        from imgqa.io import load

        series = load(folder)
    else:
        import os
        import tempfile

        from imgqa import parallel

        parallel.START_METHOD = "fork"
        trace = tempfile.NamedTemporaryFile(suffix=".jsonl", delete=False).name
        os.environ[parallel.TRACE_ENV] = trace  # for the files this process read itself
        series = parallel.load_parallel(folder, 2)
        del os.environ[parallel.TRACE_ENV]
        with open(trace) as fh:
            events = [json.loads(line) for line in fh]
        os.unlink(trace)
        out["read_main_stolen"] = sum(e["cpu"] for e in events
                                      if e["what"] == "main.read_chunk")
    out["read_main"] = time.process_time() - c0
    out["read_workers"] = _children_cpu() - k0
    units = batch_units(list(series), None)
    from imgqa.parallel import _cost

    results, costs = [], []
    for u in units:
        c = time.process_time()
        res, _ = analyse_unit(u, None)
        costs.append(time.process_time() - c)
        results.extend(res)
    out["units"] = costs
    out["order"] = sorted(range(len(units)), key=lambda i: -_cost(units[i]))
    c = time.process_time()
    from imgqa.store.defaults import evaluate_with_defaults

    judged = [evaluate_with_defaults(r) for r in results]
    json.dump({"results": [r.to_dict() for r in judged]}, io.StringIO(), default=str)
    out["finish"] = time.process_time() - c
    return out


def makespan(costs: list[float], order: list[int], workers: int = 2) -> float:
    """List scheduling: each unit, in ``order``, to the first free worker."""
    free = [0.0] * workers
    for i in order:
        heapq.heappush(free, heapq.heappop(free) + costs[i])
    return max(free)


def estimate(serial: dict, par: dict) -> dict:
    one = serial["start"] + serial["read_main"] + sum(serial["units"]) + serial["finish"]
    main, readers = par["read_main"], par["read_workers"]
    # the main process and the reader(s) sharing two cores fairly (batch_timeline.shared_cores;
    # one reader for two jobs since 2026-12-05, when this was max(main, (main + readers) / 2)),
    # or balanced where the main process read files itself (it does once idle)
    from batch_timeline import shared_cores

    stolen = par.get("read_main_stolen", 0.0)
    read2 = (max(main - stolen, readers, (main + readers) / 2) if stolen
             else shared_cores([main, readers]))
    span = makespan(par["units"], par["order"])
    two = par["start"] + read2 + span + par["finish"]
    return {"jobs1_s": one, "jobs2_s": two, "speedup": one / two,
            "parts_jobs1": {"start": serial["start"], "read": serial["read_main"],
                            "units": sum(serial["units"]), "finish": serial["finish"]},
            "parts_jobs2": {"start": par["start"], "read_main": main, "read_workers": readers,
                            "read_2_cores": read2, "units_cpu": sum(par["units"]),
                            "makespan": span,
                            "makespan_input_order": makespan(par["units"],
                                                             list(range(len(par["units"])))),
                            "finish": par["finish"]}}


if __name__ == "__main__":
    # Start as the command does: single-threaded BLAS and its import hooks, before numpy loads.
    from imgqa import _blas, _lean_imports

    _blas.apply()
    _lean_imports.apply()
    print(json.dumps(measure(sys.argv[1], sys.argv[2])))
