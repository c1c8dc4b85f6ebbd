"""Arrivals in, complete series out: the glue between the receiver, the watcher and the handler.

`AutomaticQC` owns a `SeriesCollector`; the receiver's ``on_received`` callback and the
watcher's found files feed it, and `run_due` hands every series that has gone quiet to
``handle_complete(series)``, a callable receiving the `CompleteSeries` (its ``paths`` are the
series' files, ``sop_uids`` its instances). The default handler of ``imgqa watch`` analyses the
series and prints a summary; ``imgqa serve``'s (`imgqa.service.saving.SessionSaver`) saves it
as a session pending review.
A handler that raises is logged and does not stop the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from imgqa.io.receiver import ReceivedImage
from imgqa.service.completion import DEFAULT_QUIET_S, CompleteSeries, SeriesCollector
from imgqa.service.watcher import DicomFile

__all__ = ["AutomaticQC", "HandleComplete"]

log = logging.getLogger(__name__)

HandleComplete = Callable[[CompleteSeries], None]


class AutomaticQC:
    """Collects arrivals from any source and hands complete series to `handle_complete`.

    Parameters
    ----------
    handle_complete : callable
        Called with each `CompleteSeries`, in the thread that calls `run_due` / `flush`.
    quiet_s : float
        Quiet period after a series' last new image (seconds, default 10).
    clock : callable
        Time source in seconds (default `time.monotonic`).
    prepare : callable, optional
        Called with all the series that complete at the same moment (two or more) before
        the handler gets each one (`SessionSaver.prepare` and `SummaryPrinter.prepare`
        analyse them on worker processes).
    """

    def __init__(self, handle_complete: HandleComplete, quiet_s: float = DEFAULT_QUIET_S,
                 clock: Callable[[], float] = time.monotonic,
                 prepare: Callable[[list[CompleteSeries]], Any] | None = None) -> None:
        self.handle_complete = handle_complete
        self.prepare = prepare
        self.collector = SeriesCollector(quiet_s, clock)
        self.handled = 0
        self.failed = 0

    def on_received(self, item: ReceivedImage) -> None:
        """The receiver's callback (network thread): note the arrival, nothing slow."""
        self.collector.add(item.series_instance_uid, item.sop_instance_uid, item.path)

    def on_files(self, files: Iterable[DicomFile]) -> int:
        """The watcher's complete files; returns how many were new instances."""
        return sum(self.collector.add(f.series_uid, f.sop_uid, f.path) for f in files)

    def run_due(self, now: float | None = None) -> int:
        """Hand every series that has gone quiet to the handler; returns how many."""
        return self._handle(self.collector.due(now))

    def flush(self) -> int:
        """Hand every pending series to the handler now (``--once``, or when stopping)."""
        return self._handle(self.collector.flush())

    def _handle(self, complete: list[CompleteSeries]) -> int:
        if self.prepare is not None and len(complete) > 1:
            try:  # e.g. `SessionSaver.prepare`: several series analysed at once, ahead
                self.prepare(complete)
            except Exception:  # each series is then handled on its own, as without it
                log.exception("analysing %d series together failed", len(complete))
        for series in complete:
            try:
                self.handle_complete(series)
                self.handled += 1
            except Exception:  # one series' failure never stops the service
                self.failed += 1
                log.exception("handling complete series %s failed", series.series_uid)
        return len(complete)
