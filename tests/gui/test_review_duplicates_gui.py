"""Issue 11, items 1 and 5 on the real widgets: the review pane lists a session's failing
measurements and will not approve it without a comment (bulk approval skips it); saving the same
images again is refused naming the earlier session, then saved with a typed reason."""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS, open_and_wait, write_water_day
from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialogButtonBox

from imgqa.protocols.base import measurement_label


def _save(qtbot, window, comment: str = "", expect_saved: bool = True):
    window.act_save.trigger()
    dialog = window.save_dialog
    qtbot.waitUntil(lambda: dialog.group_boxes[0].equipment.count() >= 1, timeout=TIMEOUT_MS)
    dialog.comment.setPlainText(comment)
    button = dialog.buttons.button(QDialogButtonBox.StandardButton.Save)
    if expect_saved:
        with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS) as saved:
            qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.db.runner.busy, timeout=TIMEOUT_MS)
        return saved.args[0]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    return None


def test_saving_the_same_images_again_asks_for_a_reason(qtbot, window, tmp_path):
    day1 = write_water_day(tmp_path / "day1", 1)
    open_and_wait(qtbot, window, [day1])
    (first,) = _save(qtbot, window, "daily QC")
    # The same images, saved again: refused, the earlier session named, a reason asked for.
    _save(qtbot, window, "daily QC", expect_saved=False)
    qtbot.waitUntil(lambda: window.duplicate_dialog is not None
                    and window.duplicate_dialog.isVisible(), timeout=TIMEOUT_MS)
    dlg = window.duplicate_dialog
    text = dlg.text.text()
    assert f"session {first.id} (2026-01-01 08:00 UTC, performed by" in text
    assert "ct.water" in text and "not saved" in text
    save = dlg.buttons.button(QDialogButtonBox.StandardButton.Save)
    assert not save.isEnabled()                              # no reason, no save
    assert "already saved" in window.status_label.text()
    assert len(window.db.store.sessions()) == 1
    qtbot.keyClicks(dlg.reason, "repeat after console restart")
    assert save.isEnabled()
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    (again,) = saved.args[0]
    qtbot.waitUntil(lambda: not window.db.runner.busy, timeout=TIMEOUT_MS)
    stored = window.db.store.session(again.id)
    assert stored.comment == (f"daily QC\nDuplicate of session {first.id} saved on purpose: "
                              "repeat after console restart")
    assert len(window.db.store.sessions()) == 2


def test_review_pane_shows_failing_measurements_and_needs_a_comment(qtbot, window, tmp_path):
    for day, hu in ((1, 0.0), (2, 9.9)):  # day 2: water at 9.9 HU, outside 0 ± 5 HU
        open_and_wait(qtbot, window, [write_water_day(tmp_path / f"day{day}", day, hu)])
        _save(qtbot, window)
    pane = window.review_pane
    with qtbot.waitSignal(pane.refreshed, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(pane)
    qtbot.waitUntil(lambda: pane.table.rowCount() == 2, timeout=TIMEOUT_MS)
    row = next(r for r in range(2) if "Action" in pane.table.item(r, 5).text())
    bad_id = int(pane.table.item(row, 0).text())

    # Selecting it lists its failing measurements with value, limits and status.
    with qtbot.waitSignal(pane.failing_loaded, timeout=TIMEOUT_MS) as loaded:
        pane.table.selectRow(row)
    assert loaded.args[0] == bad_id and loaded.args[1] >= 1
    assert pane.failing.isVisible()
    # people read the label; the internal name is the tooltip
    rows = {pane.failing.item(r, 1).toolTip(): [pane.failing.item(r, c).text() for c in range(7)]
            for r in range(pane.failing.rowCount())}
    test, label, value, unit, ref, limits, status = rows["mean_hu_centre"]
    assert label == measurement_label("ct.water", "mean_hu_centre") != "mean_hu_centre"
    assert test == "ct.water" and unit == "HU" and ref == "0"
    (stored,) = [r for r in window.db.store.session_results(bad_id)
                 if r.measurement == "mean_hu_centre"]
    assert stored.status == "ACTION" and float(value) == pytest.approx(stored.value, abs=1e-3)
    assert float(value) > 5.0                                # water measured well above 0 HU
    assert limits == "action -5 to 5" and status.endswith("Action")
    assert "ROIs are not stored" in pane.failing_title.text()

    # No comment: approving is not offered, and says why.
    assert not pane.approve_button.isEnabled()
    assert pane.comment_needed.isVisible()
    assert f"Session {bad_id} has a Tolerance or Action result" in pane.comment_needed.text()
    # Even if the button were bypassed, the store refuses and the pane shows why.
    pane.review_selected("approved")
    qtbot.waitUntil(lambda: "needs a review comment" in pane.message.text(),
                    timeout=TIMEOUT_MS)
    assert len(window.db.store.sessions(unreviewed_only=True)) == 2

    # Bulk approval of the period approves the clean session only and says what it skipped.
    pane.period_from.setDate(QDate(2025, 12, 1))
    pane.period_to.setDate(QDate(2026, 12, 31))
    with qtbot.waitSignal(pane.reviewed, timeout=TIMEOUT_MS) as bulk:
        qtbot.mouseClick(pane.approve_period_button, Qt.MouseButton.LeftButton)
    assert bulk.args == [1]
    assert f"Skipped 1 session(s) with a Tolerance or Action result (session {bad_id})" in \
        pane.message.text()
    qtbot.waitUntil(lambda: pane.table.rowCount() == 1, timeout=TIMEOUT_MS)

    # With a comment it can be approved; the comment is the review's.
    pane.table.selectRow(0)
    qtbot.keyClicks(pane.comment, "water bath refilled; repeat scan 1.2 HU")
    assert pane.approve_button.isEnabled() and not pane.comment_needed.isVisible()
    with qtbot.waitSignal(pane.refreshed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(pane.approve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: pane.table.rowCount() == 0, timeout=TIMEOUT_MS)
    (review,) = window.db.store.reviews(bad_id)
    assert (review.decision, review.comment) == ("approved",
                                                 "water bath refilled; repeat scan 1.2 HU")
