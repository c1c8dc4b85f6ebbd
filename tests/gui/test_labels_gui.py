"""Issue 11 item 4: readable names in the results table and the series tree.

Before: the table showed internal names elided in the middle (``geometric_a…_horizontal`` on
two rows), the NM status column ran past the right edge at the default window size, and the
series tree cut names to a few characters.
"""

from __future__ import annotations

import pytest
from conftest import open_and_wait
from PySide6.QtCore import QRect, Qt

from imgqa.phantoms import make_demo
from imgqa.protocols import get_protocol, measurement_label


@pytest.fixture
def demo_window(qtbot, window, tmp_path):
    # NM flood (the table whose status column ran off-screen) and the ACR MRI series (the
    # geometric-accuracy rows that read the same), at the default window size.
    folders = make_demo(tmp_path / "demo", ["nm_flood", "mr_acr"])
    open_and_wait(qtbot, window, folders)
    assert len(window.browser.keys()) == 2
    return window


def _shown_whole(table, row: int) -> bool:
    """Is the whole text of the measurement cell on screen (wrapped, not elided)?"""
    text = table.item(row, 0).text()
    width = table.columnWidth(0) - 2 * table.style().pixelMetric(
        table.style().PixelMetric.PM_FocusFrameHMargin) - 4
    box = table.fontMetrics().boundingRect(QRect(0, 0, width, 10_000),
                                           Qt.TextFlag.TextWordWrap, text)
    return box.width() <= width and box.height() <= table.rowHeight(row)


def test_results_table_shows_labels_key_first_and_internal_names_in_tooltips(qtbot, demo_window):
    w = demo_window
    for key in w.browser.keys():
        w.browser.select(key)
        table = w.results_table
        rows = table.rows
        assert rows, "no results shown"
        proto = get_protocol(rows[0].protocol)
        assert rows[0].measurement == proto.key_measurement
        for r, row in enumerate(rows):
            label = measurement_label(row.protocol, row.measurement)
            text = table.item(r, 0).text()
            assert text.endswith(label) and row.measurement not in text
            tip = table.item(r, 0).toolTip()
            assert f"{row.protocol} · {row.measurement}" in tip


def test_results_columns_fit_and_status_column_visible_at_default_size(qtbot, demo_window):
    w = demo_window
    assert (w.width(), w.height()) == (1400, 860)
    for key in w.browser.keys():
        w.browser.select(key)
        table = w.results_table
        qtbot.waitUntil(lambda t=table: all(_shown_whole(t, r) for r in range(t.rowCount())),
                        timeout=2000)
        texts = [table.item(r, 0).text() for r in range(table.rowCount())]
        assert len(set(texts)) == len(texts), "two rows read the same"
        hh = table.horizontalHeader()
        status_left = hh.sectionViewportPosition(5)
        assert status_left >= 0
        assert status_left + table.columnWidth(5) <= table.viewport().width()
        # every status text fits its column
        fm = table.fontMetrics()
        for r in range(table.rowCount()):
            assert fm.horizontalAdvance(table.item(r, 5).text()) < table.columnWidth(5)


def test_results_table_wraps_instead_of_eliding_when_narrow(qtbot):
    from imgqa.gui.model import MeasurementRow
    from imgqa.gui.results_table import ResultsTable

    table = ResultsTable()
    qtbot.addWidget(table)
    table.resize(470, 500)
    table.show()
    acr = get_protocol("mr.acr")
    table.show_rows([MeasurementRow(m.name, 190.0, m.unit, 190.0, "± 2 mm", "OK", m.description,
                                    "", acr.name) for m in acr.measurements])
    qtbot.waitUntil(lambda: all(_shown_whole(table, r) for r in range(table.rowCount())),
                    timeout=2000)
    texts = [table.item(r, 0).text() for r in range(table.rowCount())]
    assert "Geometric accuracy, slice 1, horizontal" in texts
    assert "Geometric accuracy, slice 5, horizontal" in texts
    assert table.horizontalHeader().sectionViewportPosition(5) + table.columnWidth(5) \
        <= table.viewport().width()


def test_series_tree_shows_whole_series_names(qtbot, demo_window):
    b = demo_window.browser
    fm = b.fontMetrics()
    for key in b.keys():
        item = b._items[key]
        name = item.text(0)
        assert len(name) > 10  # the series description, e.g. "Intrinsic flood UFOV (phantom)"
        rect = b.visualRect(b.indexFromItem(item, 0))
        room = rect.width() - b.iconSize().width() - 4
        assert fm.horizontalAdvance(name) <= room, (name, room)
        assert not item.icon(0).isNull()  # status visible beside the name even when scrolled


def test_trend_defaults_to_the_key_measurement_and_shows_labels(qtbot, window, tmp_path):
    """mr.acr declares SNR last; the default trend used to be the first geometry row."""
    from datetime import UTC, datetime

    import imgqa
    from imgqa.store import open_store

    (folder,) = make_demo(tmp_path / "demo", ["mr_acr"])
    results = imgqa.analyse(folder)
    with open_store(str(tmp_path / "qc.sqlite3")) as store:  # the window's database
        mr = store.add_equipment("MR 1", modality="MR")
        store.save_session(mr.id, results, performed_at=datetime(2026, 1, 5, 8, tzinfo=UTC),
                           performed_by="A. Tech")
    trend = window.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=30000):
        window.tabs.setCurrentWidget(trend)
    qtbot.waitUntil(lambda: trend.point_count == 1, timeout=30000)
    assert trend.measurement_combo.currentData() == ("mr.acr", "snr")
    assert trend.measurement_combo.currentText() == "mr.acr · Signal-to-noise ratio"
    assert "Signal-to-noise ratio" in trend.plot.getPlotItem().titleLabel.text
    assert "Signal-to-noise ratio" in trend.plot.getAxis("left").labelText
    tip = trend._tip(0, 0, 0)
    assert "Signal-to-noise ratio = " in tip and "mr.acr · snr" in tip
