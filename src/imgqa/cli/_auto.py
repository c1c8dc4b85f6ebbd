"""The default ``handle_complete`` of ``imgqa watch`` and ``imgqa receive --analyse``: analyse
each complete series and print one line (or one JSON object) per series. ``imgqa serve`` saves
them as sessions pending review instead (`imgqa.service.saving`)."""

from __future__ import annotations

import json

from imgqa.service.completion import CompleteSeries


class SummaryPrinter:
    """The default ``handle_complete``: analyse and print one line per series."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.failures = 0
        self.series = 0

    def __call__(self, complete: CompleteSeries) -> None:
        from imgqa.service.automatic import analyse_complete

        for outcome in analyse_complete(complete.paths, update=complete.update,
                                        series_uid=complete.series_uid):
            self.series += 1
            self.failures += outcome.state == "failed"
            if self.fmt == "json":
                print(json.dumps(outcome.to_dict(), ensure_ascii=False, default=str),
                      flush=True)
            else:
                print(outcome.summary_line(), flush=True)
