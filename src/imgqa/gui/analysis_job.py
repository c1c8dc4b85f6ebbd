"""The desktop window's analysis job: every open series analysed, each outcome handed to the
window as soon as it is known, on worker processes when there are enough series (issue 17).

Runs on a `gui.workers` thread; talks to the window only through its `Progress` (``report``
for the progress bar, ``emit`` for each series' outcome, ``check`` for Cancel). The outcome of
a series is ``("ok", key, protocol name, results)`` or ``("error", key, protocol name,
message, hint)``, whichever way it was analysed, or ``("joined", key, protocol name, lead
series description)`` for a series analysed together with another (the one-TI series of a
T1 relaxometry plate: the results go to the first of them).

With at least `POOL_MIN_SERIES` series, more than one core and no test chosen by hand, the
series go to `imgqa.parallel.analyse_parallel`, the process pool of ``imgqa analyse``: the
same results (each series is one unit, analysed by `analyse_series` with the automatic
choice), in the order they finish; Cancel stops the workers at once instead of after the
current series. Fewer series are analysed in this thread: starting the pool (a fork server
importing the analysis code, then each worker the kernels it needs) costs more than it saves
(docs/gui.md, "Analysing on all cores"). So is every batch where workers would have to be
spawned (Windows: each imports everything again, `imgqa.parallel.starts_cheaply`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imgqa.gui.workers import Progress
    from imgqa.io.series import ImageSeries

__all__ = ["POOL_MIN_SERIES", "analyse_entries", "unit_keys", "uses_processes"]

# Below this many series the pool's start-up outweighs the second core (docs/gui.md).
POOL_MIN_SERIES = 6

Item = tuple[int, "ImageSeries", "str | None"]  # entry key, series, test chosen by the user


def uses_processes(items: Sequence[Item], jobs: int | None) -> bool:
    """Whether `analyse_entries` will use worker processes for these items."""
    from imgqa.parallel import default_jobs, starts_cheaply

    jobs = default_jobs() if jobs is None else jobs
    # A test chosen by hand runs as `analyse_series(series, name)` on each series alone; the
    # pool would give a multi-series test all the series at once: those stay in this thread.
    return (jobs > 1 and len(items) >= POOL_MIN_SERIES
            and all(override is None for _, _, override in items) and starts_cheaply())


def analyse_entries(items: Sequence[Item], p: Progress, jobs: int | None = None) -> int:
    """Analyse every item, emitting each one's outcome as it finishes; returns their number.

    Parameters
    ----------
    items : sequence of (key, ImageSeries, protocol name or None)
    p : Progress
        The job's link to the window; its ``check`` raises `Cancelled` after Cancel.
    jobs : int, optional
        Worker processes (default: the cores this process may use).
    """
    n = len(items)
    if uses_processes(items, jobs):
        _in_processes(items, p, jobs)
    else:
        _in_this_thread(items, p)
    p.report(n, n, "done")
    return n


def _in_this_thread(items: Sequence[Item], p: Progress) -> None:
    from imgqa.protocols.base import analyse_unit

    n = len(items)
    by_key = {key: (series, override) for key, series, override in items}
    done = 0
    for keys in unit_keys(items):
        p.check()
        p.report(done, n, f"{done + 1}/{n}")
        if len(keys) > 1 and _emit_group(p, keys, [by_key[k][0] for k in keys],
                                         analyse_unit([by_key[k][0] for k in keys], None)):
            done += len(keys)
            continue
        for key in keys:   # one series (or a group that turned out not to be one)
            _emit_one(p, key, *by_key[key])
            done += 1


def _emit_one(p: Progress, key: int, series: ImageSeries, override: str | None) -> None:
    """Analyse one series alone and emit its outcome."""
    from imgqa.protocols import AnalysisProblem, analyse_series

    name = override
    try:
        results = analyse_series(series, override)
        name = results[0].protocol if results else override
        p.emit(("ok", key, name, results))
    except Exception as exc:  # one series' problem; the next one runs
        # Plain message and hint; a traceback goes to the log at DEBUG only.
        prob = AnalysisProblem.from_exception(exc, override, [series])
        p.emit(("error", key, name, prob.error, prob.hint))


def unit_keys(items: Sequence[Item]) -> list[list[int]]:
    """The entry keys of each unit of work, in order: one series each, except the series of
    one acquisition that the automatic choice analyses together (`batch_units`: e.g. the
    one-TI series of a T1 relaxometry plate). A test chosen by hand keeps its series alone."""
    from imgqa.protocols.base import batch_units

    auto = [(key, series) for key, series, override in items if override is None]
    key_of = {id(series): key for key, series in auto}
    grouped = {id(unit[0]): [key_of[id(s)] for s in unit]
               for unit in batch_units([s for _, s in auto], None) if len(unit) > 1}
    member = {k for keys in grouped.values() for k in keys[1:]}
    return [grouped.get(id(series), [key]) for key, series, _ in items if key not in member]


def _emit_group(p: Progress, keys: Sequence[int], series: Sequence[ImageSeries],
                outcome: tuple[list, list]) -> bool:
    """Emit a grouped unit's outcome: its results on its first series, the others marked as
    analysed with it. False (nothing emitted) when the group was not analysed as one (its
    protocol found no such acquisition): the caller then analyses each series alone."""
    from imgqa.protocols.base import grouping_protocol

    results, problems = outcome
    proto = grouping_protocol(series)
    if proto is None or problems or not results or any(
            r.protocol != proto.name or r.series.get("series_count") != len(series)
            for r in results):
        return False
    lead = series[0].header.series_description or "the first series"
    p.emit(("ok", keys[0], proto.name, results))
    for key in keys[1:]:
        p.emit(("joined", key, proto.name, lead))
    return True


def _in_processes(items: Sequence[Item], p: Progress, jobs: int | None) -> None:
    from imgqa.parallel import analyse_parallel

    units = unit_keys(items)   # the pool's units (`batch_units`), as entry keys
    by_key = {key: (series, override) for key, series, override in items}
    p.report(0, len(items), f"0/{len(items)} (on several processes)")

    def on_unit(i: int, outcome: tuple[list, list]) -> None:
        keys = units[i]
        if len(keys) > 1:
            if not _emit_group(p, keys, [by_key[k][0] for k in keys], outcome):
                for key in keys:   # rare: grouped series that are not one acquisition
                    _emit_one(p, key, *by_key[key])
            return
        results, problems = outcome
        if problems:
            p.emit(("error", keys[0], None, problems[0].error, problems[0].hint))
        else:
            p.emit(("ok", keys[0], results[0].protocol if results else None, results))

    def progress(done: int, total: int, _unit: object) -> None:
        p.report(done, total, f"{done}/{total}")

    # unfreeze=False: the window keeps its long-lived objects frozen (gui/heap.py)
    analyse_parallel([series for _, series, _ in items], None, jobs=jobs, progress=progress,
                     on_unit=on_unit, check=p.check, unfreeze=False)
