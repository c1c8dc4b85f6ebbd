"""Analysing a batch of independent series on several cores (``imgqa analyse --jobs N``).

Each unit of `imgqa.protocols.base.batch_units` (one series, or all series together for a
multi-series protocol) is analysed in a worker process of a `ProcessPoolExecutor`; the results
come back in the order of the units, so the output is the same as with one job.

- A series travels as its headers and frame list (no pixels: `ImageSeries` decodes lazily);
  the worker decodes and analyses it, so decoding also runs in parallel. At most
  ``jobs + 1`` units are pickled ahead of the workers (the executor's call queue), so memory
  does not grow with the size of the batch.
- Workers start from a fork server that has imported the analysis code once ("forkserver":
  safe with the main process' threads, unlike a plain fork, and cheaper than "spawn", which
  imports everything again in every worker). Where there is no fork server (Windows), "spawn".
- A failing series is that unit's one problem, exactly as in-process; a worker that dies
  outright (killed, out of memory) breaks the pool: the units that had not finished are then
  re-run one by one, each in a fresh one-process pool, so only the culprit becomes a problem.
- Ctrl-C (SIGINT to the main process; workers ignore it) is noted and acted on between two
  waits of at most 0.2 s: the pending units are cancelled, the workers stopped, and
  KeyboardInterrupt raised, so the command exits 130 without a traceback.
- Longest first: units are handed to the workers in decreasing order of their estimated cost
  (pixels to analyse), so that a big series does not start last and leave the other workers
  idle at the end; the results are put back in the units' order.

`load_parallel` also reads the headers in worker processes (`imgqa.io.dicom.read_source` on
chunks of the file list; one reader per job beyond the first) while this process imports the
analysis kernels of the modalities seen so far, so that the analysis workers forked afterwards
start with them loaded (each worker would otherwise import them again), then reads files too.
The outcomes travel packed (`imgqa.io.outcome_transport`) and are grouped in file order by
`imgqa.io.dicom.series_from_outcomes`: the same series, problems and order as `load`.
The garbage collector is paused while headers are read and received, and the heap frozen while
the workers fork (`_GcPaused`, `_freeze_heap`). ``IMGQA_TRACE_BATCH=FILE`` records a timeline
of every process (`span`; benchmarks/batch_timeline.py reads it).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgqa.io.series import ImageSeries
    from imgqa.io.sources import Problem
    from imgqa.protocols.base import AnalysisProblem, Protocol, Result

from imgqa.parallel._read import _read_in_workers
from imgqa.parallel._trace import TRACE_ENV, _gc_tuned, _GcPaused, span

__all__ = ["CRASH_ENV", "TRACE_ENV", "analyse_parallel", "default_jobs", "load_parallel",
           "map_in_processes", "span", "starts_cheaply", "warm_up"]

log = logging.getLogger(__name__)

# Test hook: a worker analysing a unit whose first series has this Series Instance UID exits at
# once (as a process killed by the system would), to verify that a dying worker costs one unit.
CRASH_ENV = "IMGQA_TEST_WORKER_EXIT_UID"

# None: automatic (see `_context`); tests force "fork" or "forkserver" to cover both paths.
START_METHOD: str | None = None
# The same from the environment (``IMGQA_START_METHOD=forkserver``): how the window's workers
# start, tried from the command line (docs/install.md checks the bundle with it).
START_METHOD_ENV = "IMGQA_START_METHOD"

# With "fork", the units are inherited by the workers (copy-on-write), not pickled.
_INHERITED: list = []

# Imported once by the fork server, so every worker starts with the analysis code loaded
# (first the import hooks of the imgqa command, `_server_start`).
_PRELOAD = ["imgqa.parallel._server_start", "imgqa.io.dicom", "imgqa.protocols"]

Progress = Callable[[int, int, "Sequence[ImageSeries]"], None]
UnitDone = Callable[[int, "tuple[list[Result], list[AnalysisProblem]]"], None]


def default_jobs() -> int:
    """The number of cores this process may use (its CPU affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def analyse_parallel(series: Sequence[ImageSeries], protocol: Protocol | str | None = None,
                     *, jobs: int | None = None, progress: Progress | None = None,
                     on_unit: UnitDone | None = None, check: Callable[[], None] | None = None,
                     unfreeze: bool = True,
                     **params: Any) -> tuple[list[Result], list[AnalysisProblem]]:
    """Like `imgqa.protocols.analyse_batch`, on up to ``jobs`` processes.

    Parameters
    ----------
    series : sequence of ImageSeries
    protocol : Protocol or str, optional
        As for `analyse_batch`.
    jobs : int, optional
        Worker processes (default: `default_jobs`). With 1, or with a single unit of work, the
        batch runs in this process (no start-up cost).
    progress : callable, optional
        Called as ``progress(done, total, unit)`` after each unit, in the order they finish.
    on_unit : callable, optional
        Called as ``on_unit(index, (results, problems))`` as each unit finishes (``index`` in
        `batch_units` order), before ``progress``; the GUI shows each series' results so.
    check : callable, optional
        Called between two waits for the workers (at least every 0.2 s) and between units in
        this process: an exception it raises (the GUI's cancel) stops the workers at once and
        propagates, as Ctrl-C does.
    unfreeze : bool
        Whether to hand the objects frozen for the workers (`gc.freeze`) back to the collector
        afterwards. False for a caller that keeps its own heap frozen (the GUI, `gui/heap.py`).
    **params
        Protocol parameters.

    Returns
    -------
    results, problems
        As `analyse_batch`, in the same order whatever the number of jobs.
    """
    from imgqa.protocols.base import analyse_unit, batch_units, get_protocol

    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    units = batch_units(series, proto)
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    outcomes: list[tuple[list, list] | None] = [None] * len(units)

    def report(i: int, done: int) -> None:
        out = outcomes[i]
        if on_unit is not None and out is not None:
            on_unit(i, out)
        if progress is not None:
            progress(done, len(units), units[i])

    if jobs == 1 or len(units) <= 1:
        for i, unit in enumerate(units):
            if check is not None:
                check()
            outcomes[i] = _traced_unit(unit, proto, params)
            report(i, i + 1)
    elif not _run_pool(units, proto, params, min(jobs, len(units)), outcomes, report, check,
                       unfreeze):
        log.warning("could not start worker processes; analysing in this process instead")
        for i, unit in enumerate(units):
            if check is not None:
                check()
            outcomes[i] = analyse_unit(unit, proto, **params)
            report(i, i + 1)
    if unfreeze:
        import gc

        gc.unfreeze()  # what `load_parallel` or the pool froze: collected again by a long-lived caller
    results: list[Result] = []
    problems: list[AnalysisProblem] = []
    for out in outcomes:
        assert out is not None
        results.extend(out[0])
        problems.extend(out[1])
    return results, problems


def map_in_processes(fn: Callable[[Any], Any], items: Sequence[Any], jobs: int | None = None
                     ) -> list[Any]:
    """``fn(item)`` for every item on up to ``jobs`` worker processes, in input order.

    For work that is not a batch of loaded series (the service's complete series: files to
    load, route and analyse). ``fn`` must be a module-level function and ``items`` and the
    results picklable. An item whose call raised, or whose worker died, gives None: the
    caller does it itself (so a failure costs time, never a result); all None when no worker
    can start. Workers start as for `analyse_parallel` (fork only when single-threaded).
    """
    from concurrent.futures import ProcessPoolExecutor

    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    out: list[Any] = [None] * len(items)
    if not items:
        return out
    try:
        with ProcessPoolExecutor(max_workers=min(jobs, len(items)), mp_context=_context(),
                                 initializer=_worker_init) as pool:
            futures = [pool.submit(fn, item) for item in items]
            for i, fut in enumerate(futures):
                try:
                    out[i] = fut.result()
                except Exception:  # noqa: BLE001 - done again by the caller, who reports it
                    log.debug("item %d failed in a worker process", i, exc_info=True)
    except Exception:  # noqa: BLE001 - no pool at all: the caller does everything
        log.warning("could not use worker processes", exc_info=True)
    return out


def load_parallel(paths, jobs: int | None = None):
    """`imgqa.io.load` with the headers read on up to ``jobs`` worker processes.

    Zip members are read in this process (a forked worker would share the archive's open
    file and its position). Falls back to reading in this process for a few files, where
    worker processes cannot start, or for a chunk whose outcome cannot travel back.

    The garbage collector is paused meanwhile and what was read is left frozen (`_GcPaused`):
    `analyse_parallel`, called next, forks its workers from it and unfreezes it.

    Returns
    -------
    SeriesList
        Identical to ``load(paths)`` (series, order, problems, skipped files).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    with _GcPaused(freeze=True):
        return _load_parallel(paths, default_jobs() if jobs is None else max(1, int(jobs)))


def _load_parallel(paths: list, jobs: int):
    from imgqa.io.dicom import iter_sources, read_source, series_from_outcomes

    found: list[Problem] = []
    passed: list[str] = []
    sources, marks = [], []
    with span("main.scan") as extra:
        for src in iter_sources(paths, found, passed):
            marks.append((len(found), len(passed)))  # where this file sits among those notes
            sources.append(src)
        extra["files"] = len(sources)
    outcomes: list[tuple[str, object] | None] = [None] * len(sources)
    on_disk = [i for i, s in enumerate(sources) if s.member is None]
    if jobs > 1 and len(on_disk) >= _MIN_PARALLEL_FILES and _start_method() == "fork":
        _read_in_workers(sources, on_disk, outcomes, jobs)
    problems: list[Problem] = []
    skipped: list[str] = []

    def replay():
        p0 = s0 = 0
        for i, src in enumerate(sources):
            p1, s1 = marks[i]
            problems.extend(found[p0:p1])
            skipped.extend(passed[s0:s1])
            p0, s0 = p1, s1
            out = outcomes[i]
            yield out if out is not None else read_source(src)
        problems.extend(found[p0:])
        skipped.extend(passed[s0:])

    with span("main.group"):
        return series_from_outcomes(replay(), paths, problems, skipped)


# Below this many files on disk, reading them here is quicker than starting workers.
_MIN_PARALLEL_FILES = 16


def _preload_kernels(modalities: set[str], interrupted: _Interrupted | None = None) -> None:
    """Import the kernel modules of the tests that accept these modalities (bound lazily in
    the protocol modules, `imgqa.protocols._lazy`), so that forked workers inherit them."""
    import importlib

    for name in _kernel_module_names(modalities):
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: the worker will say what fails
            log.debug("could not preload %s", name, exc_info=True)
        if interrupted is not None:
            interrupted.check()


def _cost(unit: Sequence[ImageSeries]) -> int:
    """Rough work of a unit: the pixels it holds (frames × rows × columns)."""
    return sum(len(s.frames) * max(1, s.header.rows) * max(1, s.header.columns) for s in unit)


def warm_up() -> None:
    """Start the fork server now, so that it imports the analysis code while this process is
    still reading the images (otherwise that import is a serial delay before the first worker).
    Harmless if no pool is made afterwards; does nothing where there is no fork server."""
    if _start_method() == "forkserver":
        from multiprocessing import forkserver

        _context()  # sets the preload list before the server starts
        forkserver.ensure_running()


def starts_cheaply() -> bool:
    """Whether worker processes start here without importing everything again: by fork, or
    from a fork server that has the analysis code loaded (Linux, macOS). Where they must be
    spawned (Windows), each worker imports numpy, SciPy, pydicom and imgqa anew (seconds), so
    the window and the service keep small batches in their own process (`imgqa analyse
    --jobs` still uses workers when asked)."""
    return _start_method() != "spawn"


def _start_method() -> str:
    """"fork" while single-threaded on Linux, else "forkserver" where there is one, else
    "spawn"; decided without importing `multiprocessing` in the common case (fork), so that a
    command analysing one series in-process does not pay for it. Called from a thread other
    than the main one, or with Qt loaded (whose own threads Python does not count), never
    "fork": a forked child would inherit locks held by the other threads."""
    import threading

    if START_METHOD is not None:
        return START_METHOD
    chosen = os.environ.get(START_METHOD_ENV, "").strip().lower()
    if chosen in ("fork", "forkserver", "spawn"):  # to check a platform or a bundle
        return chosen
    if (sys.platform.startswith("linux") and threading.active_count() == 1
            and threading.current_thread() is threading.main_thread()
            and "PySide6.QtCore" not in sys.modules):
        return "fork"
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _context():
    """How workers start: see the module docstring ("fork" only while single-threaded)."""
    import multiprocessing

    method = _start_method()
    ctx = multiprocessing.get_context(method)
    if method == "forkserver":
        # Only effective before the server first starts. With every kernel too, each worker
        # forked from it starts ready (else each imports the kernels of its first unit again:
        # ≈ 0.2 s per worker per batch, measured with benchmarks/bench_gui_batch.py).
        ctx.set_forkserver_preload(_PRELOAD + _kernel_module_names())
    return ctx


def _kernel_module_names(modalities: set[str] | None = None) -> list[str]:
    """The kernel modules (bound lazily, `imgqa.protocols._lazy`) of the registered tests
    that accept any of ``modalities`` (None: of every test), each once, in registry order."""
    from imgqa.protocols import all_protocols
    from imgqa.protocols._lazy import kernel_modules

    names: list[str] = []
    for proto in all_protocols():
        accepted = set(proto.modalities)
        if modalities is not None and "*" not in accepted and not accepted & modalities:
            continue
        names += [n for n in kernel_modules(proto.function) if n not in names]
    return names


class _Interrupted:
    """Ctrl-C noted as a flag while the pool runs, acted on at a safe point.

    A KeyboardInterrupt raised at an arbitrary point inside `concurrent.futures` can leave one
    of its locks held, and the executor's thread then waits on it for ever (seen: a hang after
    Ctrl-C). So in the main thread SIGINT only sets ``is_set``; the waiting loop checks it,
    and calls the caller's own ``check`` there too (the GUI's cancel raises from it).
    """

    def __init__(self, check: Callable[[], None] | None = None) -> None:
        self.is_set = False
        self._check = check
        self._old: Callable[[int, FrameType | None], Any] | int | None = None

    def __enter__(self) -> _Interrupted:
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.is_set = True

    def check(self) -> None:
        if self.is_set:
            raise KeyboardInterrupt
        if self._check is not None:
            self._check()

    def __exit__(self, *exc) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _run_pool(units, proto, params, jobs, outcomes, report, check, unfreeze) -> bool:
    """Fill ``outcomes[i]`` for every unit, calling ``report(i, done)`` as each finishes; see
    the module docstring for crashes and Ctrl-C (and ``check``, which stops them alike).

    Returns False (nothing analysed) when no worker process can start at all.
    """
    import gc

    try:
        with _Interrupted(check) as interrupted:
            return _run_pools(units, proto, params, jobs, outcomes, report, interrupted)
    finally:
        _INHERITED.clear()
        if unfreeze:
            gc.unfreeze()  # a long-running caller (service) collects these objects again


def _run_pools(units, proto, params, jobs, outcomes, report, interrupted) -> bool:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    name = proto.name if proto is not None else None
    done = 0
    ctx = _context()
    _INHERITED[:] = units  # before the pool forks its workers
    _freeze_heap(ctx)
    for stream in (sys.stdout, sys.stderr):  # a forked worker must not write our buffers again
        stream.flush()
    # longest first (stable: equal costs keep their order); results go back by index
    pending = sorted(range(len(units)), key=lambda i: -_cost(units[i]))
    isolate = False  # after a worker died: one unit per fresh pool, to find the culprit
    first = True
    while pending:
        width = 1 if isolate else jobs
        batch = pending[:1] if isolate else pending
        pool = ProcessPoolExecutor(max_workers=width, mp_context=ctx,
                                   initializer=_worker_init)
        try:
            if first:  # a worker that cannot even start is not a problem of the first series
                first = False
                try:
                    with span("main.first_worker"):
                        pool.submit(os.getpid).result()
                except BrokenProcessPool:
                    _stop(pool)
                    return False
                interrupted.check()
            if ctx.get_start_method() == "fork":
                futures = {pool.submit(_worker_forked, i, name, params): i for i in batch}
            else:
                futures = {pool.submit(_worker, [_pack(s) for s in units[i]], name, params): i
                           for i in batch}
            broken: list[int] = []
            waiting = set(futures)
            while waiting:
                finished, waiting = wait(waiting, timeout=0.2, return_when=FIRST_COMPLETED)
                interrupted.check()
                for fut in finished:
                    i = futures[fut]
                    try:
                        outcomes[i] = fut.result()
                    except BrokenProcessPool:
                        if isolate:  # alone in its pool: this unit is the one that kills it
                            outcomes[i] = ([], [_died(units[i], name)])
                        else:
                            broken.append(i)
                            continue
                    except Exception as exc:  # noqa: BLE001 - e.g. a result that cannot travel
                        from imgqa.protocols.base import AnalysisProblem
                        outcomes[i] = ([], [AnalysisProblem.from_exception(exc, name, units[i])])
                    done += 1
                    report(i, done)
        except BaseException:  # Ctrl-C (or anything else): stop the workers, then go on raising
            _stop(pool)
            raise
        pool.shutdown(wait=True)
        interrupted.check()  # stopped between two pools: nothing left to stop
        if isolate:
            pending = pending[1:]
        elif broken:  # the units a dead worker took down with it: again, one at a time
            pending, isolate = sorted(broken, key=lambda i: -_cost(units[i])), True
        else:
            pending = []
    return True


def _freeze_heap(ctx) -> None:
    """Move everything alive now (series, modules) to the collector's permanent generation,
    so that a forked worker's collections skip the inherited heap instead of walking it (and
    writing to every object header, which copies each page: fork shares memory copy-on-write).
    Undone in `_run_pool` once the pool is over. Only for "fork" (nothing is inherited else)."""
    if ctx.get_start_method() == "fork" and _gc_tuned():
        import gc

        gc.freeze()


def _stop(pool) -> None:
    """Cancel what has not started and end the workers now (not after their current unit)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(timeout=5)


def _died(unit, protocol: str | None):
    from imgqa.errors import InternalAnalysisError
    from imgqa.protocols.base import AnalysisProblem

    err = InternalAnalysisError(
        "The process analysing this series stopped unexpectedly (it may have run out of "
        "memory); the other series were analysed.",
        hint="Run it again on its own with --jobs 1; if it stops again, report it with -v.")
    return AnalysisProblem.from_exception(err, protocol, unit)


# -- the worker side --------------------------------------------------------------------------
def _worker_init() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the main process alone decides.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _pack(s: ImageSeries) -> tuple:
    """What a worker needs to rebuild a series: headers and frame list, no pixels or locks."""
    return (s.header, s.geometry, s.frames, s.datasets, s._decoder, s.flags,
            s._cache.max_bytes)


def _worker_forked(index: int, protocol: str | None, params: dict[str, Any]):
    return _analyse_in_worker(_INHERITED[index], protocol, params)


def _worker(packed: list[tuple], protocol: str | None, params: dict[str, Any]):
    from imgqa.io.series import ImageSeries

    return _analyse_in_worker([ImageSeries(*p) for p in packed], protocol, params)


def _analyse_in_worker(unit, protocol: str | None, params: dict[str, Any]):
    from imgqa.protocols.base import get_protocol

    crash = os.environ.get(CRASH_ENV)
    if crash and unit and unit[0].header.series_uid == crash:
        os._exit(70)
    proto = get_protocol(protocol) if protocol else None
    return _traced_unit(unit, proto, params)


def _traced_unit(unit, proto, params: dict[str, Any]):
    """`analyse_unit`, a timeline line per unit when tracing (`span`)."""
    from imgqa.protocols.base import analyse_unit

    with span("unit", cost=_cost(unit), modality=unit[0].modality if unit else "",
              frames=sum(len(s.frames) for s in unit)) as extra:
        out = analyse_unit(unit, proto, **params)
        extra["protocols"] = sorted({r.protocol for r in out[0]})
    return out
