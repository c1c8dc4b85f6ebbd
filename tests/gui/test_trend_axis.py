"""The trend plot's date axis labels ticks with full dates, not bare day numbers."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from conftest import TIMEOUT_MS
from PySide6.QtGui import QImage, QPainter

from imgqa.gui.date_axis import MONTHS, DateAxis

_LABEL = re.compile(r"^(\d{1,2}) ([A-Z][a-z]{2})(?: (\d{4}))?$")


def drawn_labels(axis) -> list[tuple[float, str]]:
    """(time value under the label's centre, text) of the labels the axis really draws."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        _axis, _ticks, texts = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    vb = axis.linkedView()
    out = []
    for rect, _flags, text in texts:
        scene = axis.mapToScene(rect.center())
        out.append((vb.mapSceneToView(scene).x(), text))
    return out


def local_date(value: float) -> datetime:
    return datetime.fromtimestamp(value)


@pytest.mark.parametrize("days,width", [(24, 1000), (24, 420), (70, 1000), (70, 500)])
def test_trend_axis_shows_readable_dates(qtbot, window, days, width):
    view = window.trend_view
    window.tabs.setCurrentWidget(view)
    axis = view.plot.getAxis("bottom")
    assert isinstance(axis, DateAxis)
    view.plot.setFixedWidth(width)
    start = datetime(2026, 1, 5, 8, 0)
    x0 = start.timestamp()
    view.plot.setXRange(x0, (start + timedelta(days=days)).timestamp(), padding=0)
    # the layout settles asynchronously; then at least two labels fit
    qtbot.waitUntil(lambda: abs(axis.range[0] - x0) < 1 and len(drawn_labels(axis)) >= 2,
                    timeout=TIMEOUT_MS)

    labels = [t for _v, t in drawn_labels(axis)]
    assert not any(re.fullmatch(r"\d{1,2}", t) for t in labels), labels  # the old "07, 12"
    assert any("2026" in t for t in labels), labels                   # the year is said
    day_labels = [t for t in labels if _LABEL.match(t)]
    assert day_labels or len(labels) == len([t for t in labels if t[:3] in MONTHS]), labels
    for t in day_labels:
        d, mon, _year = _LABEL.match(t).groups()
        assert mon in MONTHS and 1 <= int(d) <= 31
    # each day label is the date of its tick
    for v, t in drawn_labels(axis):
        m = _LABEL.match(t)
        if m:
            when = local_date(v + 1800)  # tick at local midnight; allow half an hour
            assert (int(m.group(1)), m.group(2)) == (when.day, MONTHS[when.month - 1]), (v, t)


def test_year_is_repeated_when_it_changes():
    from imgqa.gui.date_axis import format_tick

    day = 86400.0
    dec, jan = datetime(2025, 12, 29), datetime(2026, 1, 5)
    assert format_tick(dec, day, None) == "29 Dec 2025"
    assert format_tick(jan, day, dec) == "5 Jan 2026"
    assert format_tick(datetime(2026, 1, 12), day, jan) == "12 Jan"
    assert format_tick(datetime(2026, 2, 1), 30 * day, None) == "Feb 2026"
