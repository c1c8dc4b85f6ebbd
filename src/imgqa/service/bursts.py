"""Several complete series at once on worker processes (issue 17): a burst.

Series complete together when several scanners send at the start of the day, a folder of
exports is dropped into a watched share, or the inbox is re-collected at start. `AutomaticQC`
hands such a burst to its ``prepare`` hook before handling the series one by one; the hook
analyses them on worker processes (`imgqa.parallel.map_in_processes`) and keeps the outcomes
until each series is handled, in the order it came. Two handlers do this: the saving service
(`imgqa.service.saving.SessionSaver`, which also records the routing rules used) and the
printing commands ``imgqa watch`` and ``imgqa receive --analyse``
(`imgqa.cli._auto.SummaryPrinter`, test chosen from each series).

This module holds what both share: when a burst is worth the pool (`burst_workers`) and the
outcomes kept until their series is handled (`Prepared`). It imports neither the store nor
the kernels, so the workers stay light.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from imgqa.service.completion import CompleteSeries

__all__ = ["PARALLEL_MIN_SERIES", "Prepared", "burst_workers", "series_key"]

# From this many series completing at once they are analysed on worker processes; below it the
# pool's start costs more than it saves (docs/automatic-qc.md, "Several series at once").
PARALLEL_MIN_SERIES = 4


def burst_workers(count: int, jobs: int | None) -> int:
    """How many worker processes should analyse ``count`` series that completed together.

    Parameters
    ----------
    count
        Series in the burst.
    jobs
        The handler's ``jobs`` (None: one per core, `imgqa.parallel.default_jobs`).

    Returns
    -------
    int
        0 (analyse them one by one as they are handled) below `PARALLEL_MIN_SERIES`
        series, with one job or core, or where workers must be spawned (Windows:
        `imgqa.parallel.starts_cheaply`); else the number of workers.
    """
    from imgqa.parallel import default_jobs, starts_cheaply

    n = default_jobs() if jobs is None else jobs
    if n < 2 or count < PARALLEL_MIN_SERIES or not starts_cheaply():
        return 0
    return n


def series_key(complete: CompleteSeries) -> tuple:
    """What identifies a complete series between ``prepare`` and its handling."""
    return (complete.series_uid, tuple(complete.paths), complete.update)


class Prepared:
    """Outcomes analysed ahead of their series' handling, each taken once (thread-safe: the
    desktop window's runner prepares in one thread while another handles)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[Hashable, Any] = {}

    def put(self, complete: CompleteSeries, value: Any) -> None:
        with self._lock:
            self._by_key[series_key(complete)] = value

    def analyse(self, completes: Sequence[CompleteSeries], worker: Callable[[Any], Any],
                items: Sequence[Any], workers: int, label: Any = None) -> int:
        """``worker(item)`` for each series' item on ``workers`` processes
        (`imgqa.parallel.map_in_processes`); each outcome is kept for its series, as
        ``(label, outcome)`` when a label is given. A worker that failed gives nothing: that
        series is analysed when it is handled. Returns how many series were prepared."""
        from imgqa.parallel import map_in_processes

        found = map_in_processes(worker, items, workers)
        for complete, outcome in zip(completes, found):
            if outcome is not None:
                self.put(complete, outcome if label is None else (label, outcome))
        return sum(o is not None for o in found)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_key)

    def take(self, complete: CompleteSeries) -> Any:
        """The value put for this series (then forgotten), or None."""
        with self._lock:
            return self._by_key.pop(series_key(complete), None)
