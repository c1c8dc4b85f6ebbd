"""A date axis for trend plots whose tick labels are dates a physicist can read.

pyqtgraph's `DateAxisItem` labels the day ticks of a few weeks' data with the day number only
("07, 12, 17"): the month and year appear only on a tick at the start of a month, which a
month of daily QC often does not contain. `DateAxis` keeps pyqtgraph's choice of tick
positions but labels them as dates: ``5 Jan 2026, 12 Jan, 19 Jan, 1 Feb 2026``. The first
label, and each one where the month or year changes, carries what the previous labels did not
say (the idea of matplotlib's ``ConciseDateFormatter``), so no label is ambiguous on its own
axis. Month names are English abbreviations, independent of the workstation's locale.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from pyqtgraph.graphicsItems import DateAxisItem as _dai

__all__ = ["MIN_SPAN_S", "MONTHS", "DateAxis", "format_tick", "readable_range"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_DAY = _dai.DAY_SPACING
_MONTH = _dai.MONTH_SPACING
_YEAR = _dai.YEAR_SPACING
_HOUR = _dai.HOUR_SPACING

# Same tick positions as pyqtgraph, but a wider example text (the labels are longer) so the
# automatic thinning leaves room for "30 Sep 2026", and weekly steps for dense day ticks.
_LEVELS = [
    (np.inf, _dai.ZoomLevel([
        _dai.TickSpec(_YEAR, _dai.makeYStepper(1), "%Y", autoSkip=[1, 5, 10, 25]),
        _dai.TickSpec(_MONTH, _dai.makeMStepper(1), "%b")], "Mmm 0000")),
    # Day labels up to ~12 days per label width (pyqtgraph: 5), so two months still get
    # weekly day ticks instead of two month names.
    (12 * _DAY, _dai.ZoomLevel([
        _dai.TickSpec(_MONTH, _dai.makeMStepper(1), "%b"),
        _dai.TickSpec(_DAY, _dai.makeSStepper(_DAY), "%d", autoSkip=[1, 2, 7, 14])],
        "00 Mmm 00")),
    (6 * _HOUR, _dai.ZoomLevel([
        _dai.TickSpec(_DAY, _dai.makeSStepper(_DAY), "%d"),
        _dai.TickSpec(_HOUR, _dai.makeSStepper(_HOUR), "%H:%M",
                      autoSkip=[1, 3, 6, 12])],
        "00 Mmm 0000")),
    (15 * 60, _dai.HOUR_MINUTE_ZOOM_LEVEL),
    (30, _dai.HMS_ZOOM_LEVEL),
    (1, _dai.MS_ZOOM_LEVEL),
]


# The narrowest time range a trend shows: a week, so one point (or a day's points) is read
# against dates instead of pyqtgraph's sub-second ticks ("59.600, 59.700").
MIN_SPAN_S = 7 * 86400.0


def readable_range(lo: float, hi: float, min_span: float = MIN_SPAN_S) -> tuple[float, float]:
    """Widen ``[lo, hi]`` (epoch seconds) around its centre to at least ``min_span`` seconds.

    Examples
    --------
    >>> readable_range(100.0, 100.0, 10.0)
    (95.0, 105.0)
    >>> readable_range(0.0, 50.0, 10.0)
    (0.0, 50.0)
    """
    if hi - lo >= min_span:
        return lo, hi
    mid = 0.5 * (lo + hi)
    return mid - 0.5 * min_span, mid + 0.5 * min_span


def format_tick(when: datetime, spacing: float, previous: datetime | None) -> str:
    """The label of one tick at `when`, given the label drawn before it (None: first one).

    Parameters
    ----------
    when : datetime
        Local date and time of the tick.
    spacing : float
        The tick level's nominal spacing in seconds (year, month, day, hour…).
    previous : datetime or None
        The tick labelled before it on the axis, to decide whether month/year must be said.
    """
    month = MONTHS[when.month - 1]
    new_year = previous is None or previous.year != when.year
    if spacing >= _YEAR:
        return f"{when.year}"
    if spacing >= _MONTH:
        return f"{month} {when.year}" if new_year else month
    if spacing >= _DAY:  # always day and month: "12" alone is what made the axis unreadable
        return f"{when.day} {month} {when.year}" if new_year else f"{when.day} {month}"
    # Hours and finer: the time, with the date when the day changes.
    if previous is None or previous.date() != when.date():
        return f"{when.day} {month} {when:%H:%M}"
    return f"{when:%H:%M}"


class DateAxis(pg.DateAxisItem):
    """`pg.DateAxisItem` with readable date labels (see the module docstring)."""

    def __init__(self, orientation: str = "bottom", **kwargs) -> None:
        super().__init__(orientation, **kwargs)
        from collections import OrderedDict

        self.zoomLevels = OrderedDict(_LEVELS)
        self._levels: list = []  # the tick levels being drawn: [(spacing, [values])]

    def tickValues(self, minVal, maxVal, size):
        values = super().tickValues(minVal, maxVal, size)
        self._levels = values
        return values

    def tickStrings(self, values: Sequence[float], scale, spacing):
        if spacing < _HOUR:  # seconds and minutes: pyqtgraph's labels are fine
            return super().tickStrings(values, scale, spacing)
        dates = [self._local(v) for v in values]
        if any(d is None for d in dates):
            return super().tickStrings(values, scale, spacing)
        # The coarser ticks already drawn (e.g. a month start) name the month/year for the
        # finer ticks after them: "Feb 2026, 8 Feb, 15 Feb".
        # Only ticks whose label is drawn count: pyqtgraph drops a label that would stick out
        # of the axis, and the year must not be said only by a label nobody sees (a single
        # point's week: "3 Jan, 4 Jan…" with the year on the hidden "2 Jan 2026").
        coarse = sorted(v for sp, vs in self._levels if sp > spacing
                        for v in vs if self._label_fits(v, "00 Mmm 0000"))
        labels = []
        prev_own: datetime | None = None
        for v, d in zip(values, dates):
            before = [c for c in coarse if c < v]
            context = prev_own
            if before:
                c = self._local(before[-1])
                if c is not None and (context is None or c > context):
                    context = c
            text = format_tick(d, spacing, context)
            labels.append(text)
            if self._label_fits(v, text):
                prev_own = d
        return labels

    def _label_fits(self, value: float, text: str) -> bool:
        """Whether the label of the tick at ``value`` lies inside the axis (so is drawn).

        Errs towards "does not fit" (a margin of a few pixels), which at worst repeats the
        month or year on the next label.
        """
        lo, hi = self.range
        width = float(self.width()) if self.orientation in ("bottom", "top") else 0.0
        if hi <= lo or width <= 0:
            return True
        from PySide6.QtGui import QFontMetricsF

        font = self.style.get("tickFont") or self.font()
        half = QFontMetricsF(font).horizontalAdvance(text) / 2 + 4
        x = (value - lo) / (hi - lo) * width
        return half <= x <= width - half

    def _local(self, value: float) -> datetime | None:
        try:
            return _dai.utcfromtimestamp(
                _dai.adjustTimestampToPreferredUtcOffset(value, self.utcOffset))
        except (OverflowError, ValueError, OSError):
            return None
