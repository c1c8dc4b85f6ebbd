"""The application's state as plain Python (no Qt): what is loaded, what was measured.

Widgets read from it and the main window changes it, after napari's split of models and views.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from imgqa.status import BY_SEVERITY, rank, worst

if TYPE_CHECKING:  # keep start-up light: no pydicom/SciPy import here
    from imgqa.io.dicom import Problem
    from imgqa.io.series import ImageSeries
    from imgqa.protocols.base import Result

__all__ = ["STATUS_ORDER", "MeasurementRow", "SeriesEntry", "Workspace", "worst_status",
           "rows_for"]

# Worse statuses sort later; None = not judged (no equipment or no database).
STATUS_ORDER = {None: 0, **{s: rank(s) + 1 for s in BY_SEVERITY}}


def worst_status(statuses) -> str | None:
    return worst(statuses)


@dataclass(frozen=True)
class MeasurementRow:
    """One line of the results table."""

    measurement: str
    value: float | None
    unit: str
    reference: float | None = None
    tolerance: str = ""
    status: str | None = None
    description: str = ""
    label: str = ""          # e.g. "detector 1" when a protocol reports several analyses
    protocol: str = ""


_ids = itertools.count(1)


@dataclass
class SeriesEntry:
    """One loaded series and everything imgqa found out about it."""

    series: ImageSeries
    key: int = field(default_factory=lambda: next(_ids))
    auto_protocol: str | None = None
    protocol_override: str | None = None
    results: list[Result] = field(default_factory=list)
    error: str | None = None
    analysed_with: str | None = None  # the series whose results include this one's images
    equipment_id: int | None = None
    equipment_name: str = ""
    tolerances: dict[tuple[str, str, str], tuple[float | None, str]] = field(default_factory=dict)

    @property
    def protocol(self) -> str | None:
        return self.protocol_override or self.auto_protocol

    @property
    def status(self) -> str | None:
        return worst_status(m.status for r in self.results for m in r.measurements)

    def title(self) -> str:
        h = self.series.header
        desc = h.series_description or h.protocol_name or "series"
        return f"{h.modality} · {desc} · {len(self.series)} image{'s' if len(self.series) != 1 else ''}"


def rows_for(entry: SeriesEntry) -> list[MeasurementRow]:
    from imgqa.protocols.base import key_measurement

    rows = []
    for res in entry.results:
        # the test's key measurement first (its headline number), the rest as declared
        key = key_measurement(res.protocol)
        for m in sorted(res.measurements, key=lambda m: m.name != key):
            ref, tol = entry.tolerances.get((res.label, res.protocol, m.name), (None, ""))
            rows.append(MeasurementRow(m.name, m.value, m.unit, ref, tol, m.status,
                                       m.description, res.label, res.protocol))
    return rows


class Workspace:
    """The series currently open, in the order they were loaded."""

    def __init__(self) -> None:
        self.entries: list[SeriesEntry] = []
        self.problems: list[Problem] = []

    def clear(self) -> None:
        self.entries.clear()
        self.problems.clear()

    def add(self, series: ImageSeries) -> SeriesEntry:
        entry = SeriesEntry(series)
        self.entries.append(entry)
        return entry

    def get(self, key: int) -> SeriesEntry | None:
        for e in self.entries:
            if e.key == key:
                return e
        return None

    @property
    def results(self) -> list[Result]:
        return [r for e in self.entries for r in e.results]
