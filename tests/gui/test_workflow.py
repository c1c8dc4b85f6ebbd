"""The whole desktop workflow on real widgets, offscreen: open → analyse → statuses → save →
review → trend → click a point → that session's images open again."""

from __future__ import annotations

from datetime import date

from conftest import TIMEOUT_MS, add_bad_file, open_and_wait
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialogButtonBox


def _save_through_dialog(qtbot, window, comment: str) -> list:
    assert window.act_save.isEnabled()
    window.act_save.trigger()
    dialog = window.save_dialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.performed_by.text()  # defaults to the OS / database user
    # The equipment list arrives from the database thread; wait for it.
    box = dialog.group_boxes[0]
    qtbot.waitUntil(lambda: box.equipment.count() >= 1, timeout=TIMEOUT_MS)
    dialog.comment.setPlainText(comment)
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
                         Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.busy and not window.db.runner.busy, timeout=TIMEOUT_MS)
    return saved.args[0]


def test_open_analyse_save_review_trend_and_click(qtbot, window, day_folders):
    # Day 1: unknown equipment, so measurements are not judged until it is created on save.
    open_and_wait(qtbot, window, [day_folders[0]])
    entry = window.workspace.entries[0]
    assert entry.protocol == "ct.water"
    assert window.results_table.rowCount() >= 3
    assert set(window.results_table.statuses()) == {None}
    assert window.viewer.drawn_overlay_count > 0          # ROIs drawn on the image

    sessions = _save_through_dialog(qtbot, window, "first day")
    assert len(sessions) == 1
    # After saving, the equipment exists: the table shows judged statuses, with text.
    qtbot.waitUntil(lambda: None not in set(window.results_table.statuses()),
                    timeout=TIMEOUT_MS)
    statuses = set(window.results_table.statuses())
    assert statuses <= {"OK", "TOLERANCE", "ACTION", "NO_TOL"}
    texts = [window.results_table.item(r, 5).text() for r in range(window.results_table.rowCount())]
    assert any(t.endswith(("OK", "Tolerance", "Action", "No tolerance")) for t in texts)
    assert entry.equipment_id is not None

    # Days 2 and 3: the equipment is matched from the header at once.
    for folder, day in ((day_folders[1], 2), (day_folders[2], 3)):
        open_and_wait(qtbot, window, [folder])
        assert window.workspace.entries[0].equipment_id == entry.equipment_id
        assert None not in set(window.results_table.statuses())
        _save_through_dialog(qtbot, window, f"day {day}")

    # Review: three sessions await review; approve one, then bulk-approve the period.
    pane = window.review_pane
    with qtbot.waitSignal(pane.refreshed, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(pane)
    qtbot.waitUntil(lambda: pane.table.rowCount() == 3, timeout=TIMEOUT_MS)
    pane.table.selectRow(0)
    assert pane.approve_button.isEnabled()
    assert not pane.reject_button.isEnabled()               # rejecting needs a comment
    with qtbot.waitSignal(pane.refreshed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(pane.approve_button, Qt.MouseButton.LeftButton)
    assert pane.table.rowCount() == 2
    pane.period_from.setDate(QDate(2025, 12, 1))
    pane.period_to.setDate(QDate(date.today().year + 1, 1, 1))
    with qtbot.waitSignal(pane.reviewed, timeout=TIMEOUT_MS) as bulk:
        qtbot.mouseClick(pane.approve_period_button, Qt.MouseButton.LeftButton)
    assert bulk.args == [2]
    qtbot.waitUntil(lambda: pane.table.rowCount() == 0, timeout=TIMEOUT_MS)

    # Trend: three points for the centre mean, with hover details.
    trend = window.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(trend)
    qtbot.waitUntil(lambda: trend.measurement_combo.count() > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS,
                          check_params_cb=lambda n: n == 3):
        trend.select(entry.equipment_id, "ct.water", "mean_hu_centre")
    assert trend.point_count == 3
    tip = trend._tip(0, 0, 2)
    assert "mean_hu_centre" in tip and "status" in tip and "session" in tip

    # Click the last point (day 3): that session's images open in the Analysis tab.
    window.resize(1400, 900)
    qtbot.wait(50)
    scene_pos = trend.point_scene_pos(2)
    view_pos = trend.plot.mapFromScene(scene_pos)
    with qtbot.waitSignal(window.loaded, timeout=TIMEOUT_MS):
        qtbot.mouseClick(trend.plot.viewport(), Qt.MouseButton.LeftButton, pos=view_pos)
    assert window.tabs.currentIndex() == 0
    opened = window.workspace.entries[0].series.sources[0]
    assert "day3" in opened


def test_bad_file_listed_while_the_rest_is_analysed(qtbot, window, day_folders):
    folder = day_folders[0]
    add_bad_file(folder)
    problems_seen_before_results = []
    window.loaded.connect(lambda _n: problems_seen_before_results.append(
        (window.problems.rowCount(), len(window.workspace.results))))
    open_and_wait(qtbot, window, [folder])
    # The problem was listed as soon as loading finished, before any result came back.
    assert problems_seen_before_results == [(1, 0)]
    names = [p[0] for p in window.problems.problems()]
    assert names == ["not_dicom.png"]
    assert "PNG" in window.problems.problems()[0][1]
    assert window.problems_dock.isVisible()
    assert "(1)" in window.problems_dock.windowTitle()
    # ...and the good series was analysed all the same.
    assert len(window.workspace.entries) == 1
    assert window.workspace.entries[0].results
    assert window.results_table.rowCount() > 0


def test_export_trend_png_and_svg(qtbot, window, day_folders, tmp_path):
    open_and_wait(qtbot, window, [day_folders[0]])
    _save_through_dialog(qtbot, window, "")
    trend = window.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(trend)
    qtbot.waitUntil(lambda: trend.point_count == 1 or trend.measurement_combo.count() > 0,
                    timeout=TIMEOUT_MS)
    png = trend.export(tmp_path / "t.png")
    svg = trend.export(tmp_path / "t.svg")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in svg.read_bytes()[:2000]
