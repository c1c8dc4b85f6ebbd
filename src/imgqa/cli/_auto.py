"""The default ``handle_complete`` of ``imgqa watch`` and ``imgqa receive --analyse``: analyse
each complete series and print one line (or one JSON object) per series. ``imgqa serve`` saves
them as sessions pending review instead (`imgqa.service.saving`). Series that complete at the
same moment (a folder of exports dropped into the watched share) are analysed on worker
processes first (`SummaryPrinter.prepare`, `imgqa.service.bursts`), then printed in the order
they came."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from imgqa.service.bursts import Prepared, burst_workers
from imgqa.service.completion import CompleteSeries

log = logging.getLogger(__name__)


class SummaryPrinter:
    """The default ``handle_complete``: analyse and print one line per series.

    Give `prepare` to `AutomaticQC` (``prepare=printer.prepare``) for bursts on all cores;
    ``jobs`` caps the worker processes (None: one per core).
    """

    def __init__(self, fmt: str, jobs: int | None = None) -> None:
        self.fmt = fmt
        self.jobs = jobs
        self.failures = 0
        self.series = 0
        self._prepared = Prepared()

    def prepare(self, completes: Sequence[CompleteSeries]) -> int:
        """Analyse series that completed together on worker processes, before they are printed
        one by one (`imgqa.service.bursts.burst_workers` says when: 4 series or more, two
        cores, workers that start cheaply). A series whose worker failed is analysed again
        when printed. Returns how many were prepared."""
        from imgqa.service.routing import analyse_automatically

        jobs = burst_workers(len(completes), self.jobs)
        if not jobs:
            return 0
        prepared = self._prepared.analyse(
            completes, analyse_automatically,
            [(tuple(c.paths), c.update, c.series_uid) for c in completes], jobs)
        if prepared:
            log.info("analysed %d series at once on worker processes", prepared)
        return prepared

    def __call__(self, complete: CompleteSeries) -> None:
        from imgqa.service.automatic import analyse_complete

        outcomes = self._prepared.take(complete)
        if outcomes is None:
            outcomes = analyse_complete(complete.paths, update=complete.update,
                                        series_uid=complete.series_uid)
        for outcome in outcomes:
            self.series += 1
            self.failures += outcome.state == "failed"
            if self.fmt == "json":
                print(json.dumps(outcome.to_dict(), ensure_ascii=False, default=str),
                      flush=True)
            else:
                print(outcome.summary_line(), flush=True)
