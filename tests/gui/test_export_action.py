"""Database → Export QA records…: the dialog's choices reach the export on the database thread."""

from __future__ import annotations

import csv
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import QDialogButtonBox

import imgqa
from imgqa.phantoms import make_demo

TIMEOUT = 30000


def _saved_sessions(window, tmp_path) -> tuple[int, int]:
    """Two NM sessions on one camera and one on another, saved straight into the store."""
    folder, = make_demo(tmp_path / "demo", ["nm_flood"])
    results = imgqa.analyse(folder)
    store = window.db.store
    a = store.add_equipment("Gamma camera A", modality="NM", serial="NM-A")
    b = store.add_equipment("Gamma camera B", modality="NM", serial="NM-B")
    t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
    for d in range(2):  # one demo acquisition stands for two days: new UIDs for day 2
        day = [replace(r, inputs=tuple(replace(i, sop_instance_uid=f"{i.sop_instance_uid}.{d}")
                                       for i in r.inputs)) for r in results]
        store.save_session(a.id, day, performed_at=t0 + timedelta(days=d))
    store.save_session(b.id, results, performed_at=t0)
    return a.id, len(results[0].measurements)


def _open_dialog(qtbot, window):
    assert window.act_export.isEnabled()
    window.act_export.trigger()
    dlg = window.export_dialog
    qtbot.waitUntil(lambda: dlg.equipment.count() == 2, timeout=TIMEOUT)
    return dlg


def _click_export(qtbot, dlg):
    qtbot.mouseClick(dlg.buttons.button(QDialogButtonBox.StandardButton.Ok),
                     Qt.MouseButton.LeftButton)


def test_export_action_writes_the_chosen_records(qtbot, window, tmp_path):
    a_id, n_meas = _saved_sessions(window, tmp_path)
    dlg = _open_dialog(qtbot, window)
    target = tmp_path / "out" / "camera-a.pdf"
    target.parent.mkdir()
    dlg.file.setText(str(target))
    assert dlg.format.currentData() == "pdf"            # the format follows the suffix
    dlg.format.setCurrentIndex(dlg.format.findData("csv"))
    assert dlg.file.text().endswith("camera-a.csv")     # and the suffix follows the format
    dlg.since.setDate(QDate(2026, 1, 1))
    dlg.until.setDate(QDate(2026, 1, 31))
    dlg.set_checked([a_id])
    with qtbot.waitSignal(window.exported, timeout=TIMEOUT) as sig:
        _click_export(qtbot, dlg)
    n_results, n_sessions, path = sig.args[0]
    assert (n_results, n_sessions) == (2 * n_meas, 2)
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert {r["equipment"] for r in rows} == {"Gamma camera A"}
    assert "Exported" in window.status_label.text()


def test_export_of_an_empty_period_reports_why(qtbot, window, tmp_path):
    _saved_sessions(window, tmp_path)
    dlg = _open_dialog(qtbot, window)
    dlg.file.setText(str(tmp_path / "empty.xlsx"))
    dlg.since.setDate(QDate(2030, 1, 1))
    dlg.until.setDate(QDate(2030, 1, 31))
    with qtbot.waitSignal(window.export_failed, timeout=TIMEOUT) as sig:
        _click_export(qtbot, dlg)
    assert "No QA records match" in sig.args[0]
    assert not (tmp_path / "empty.xlsx").exists()
    # a start after the end is caught in the dialog, before any database work
    dlg = _open_dialog(qtbot, window)
    dlg.since.setDate(QDate(2026, 2, 1))
    dlg.until.setDate(QDate(2026, 1, 1))
    _click_export(qtbot, dlg)
    assert dlg.isVisible() and "start date" in dlg.message.text()
    dlg.reject()
