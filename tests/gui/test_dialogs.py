"""Baseline/tolerance editor, settings dialog, roles, and the `imgqa gui --screenshot` CLI."""

from __future__ import annotations

import getpass

from conftest import TIMEOUT_MS, open_and_wait, write_water_day
from PySide6.QtCore import Qt


def _saved_equipment(qtbot, window, tmp_path):
    folder = write_water_day(tmp_path / "d", 7, water_hu=3.0)
    open_and_wait(qtbot, window, [folder])
    entry = window.workspace.entries[0]
    eq = window.db.store.create_equipment_from_series(entry.series, name="CT room 1")
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        window.run_analysis()
    assert entry.equipment_id == eq.id
    return entry


def test_baseline_editor_needs_a_reason_and_changes_statuses(qtbot, window, tmp_path):
    entry = _saved_equipment(qtbot, window, tmp_path)
    before = {r.measurement: r.status for r in window.results_table.rows}
    window.results_table.selectRow(0)
    window.act_baseline.trigger()
    dlg = window.baseline_dialog
    qtbot.waitUntil(lambda: dlg.measurement.count() > 0 and dlg.current.text() != "",
                    timeout=TIMEOUT_MS)
    assert dlg.selection() == (entry.equipment_id, "ct.water",
                               window.results_table.rows[0].measurement)
    # A tolerance on the noise SD: value now ~6 HU; baseline 20 HU, ±10 % → ACTION.
    from imgqa.gui.store_bridge import find_data

    j = find_data(dlg.measurement, ("ct.water", "noise_sd_centre"))
    assert j >= 0
    dlg.measurement.setCurrentIndex(j)
    dlg.baseline_value.setText("20")
    assert not dlg.baseline_button.isEnabled()          # no reason yet
    dlg.baseline_reason.setText("commissioning")
    assert dlg.baseline_button.isEnabled()
    with qtbot.waitSignal(dlg.changed, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dlg.baseline_button, Qt.MouseButton.LeftButton)
    dlg.kind.setCurrentIndex(dlg.kind.findData("percent"))
    for lv, v in (("act_low", "-10"), ("tol_low", "-5"), ("tol_high", "5"), ("act_high", "10")):
        dlg.level_edits[lv].setText(v)
    assert not dlg.tolerance_button.isEnabled()
    dlg.tolerance_reason.setText("local protocol")
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        qtbot.mouseClick(dlg.tolerance_button, Qt.MouseButton.LeftButton)
    after = {r.measurement: r.status for r in window.results_table.rows}
    assert after["noise_sd_centre"] == "ACTION"
    assert before.get("noise_sd_centre") != "ACTION"
    assert "20" in dlg.current.text()
    rec = window.db.store.tolerance(entry.equipment_id, "ct.water", "noise_sd_centre")
    assert rec.reference == 20 and rec.tolerance.kind == "percent"


def test_settings_dialog_tests_the_connection_and_switches_database(qtbot, window, tmp_path):
    window.act_settings.trigger()
    dlg = window.settings_dialog
    dlg.default_radio.setChecked(True)
    dlg.sqlite_path.setText(str(tmp_path / "other.sqlite3"))
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.test_result.text().startswith(("✔", "✖")), timeout=TIMEOUT_MS)
    assert dlg.test_result.text().startswith("✔"), dlg.test_result.text()
    dlg.pg_radio.setChecked(True)
    dlg.pg_url.setText("postgresql://nobody@127.0.0.1:1/none")
    qtbot.waitUntil(dlg.test_button.isEnabled, timeout=TIMEOUT_MS)
    qtbot.mouseClick(dlg.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.test_result.text().startswith("✖"), timeout=TIMEOUT_MS)
    dlg.default_radio.setChecked(True)
    with qtbot.waitSignal(window.db.changed, timeout=TIMEOUT_MS):
        dlg._accept()
    qtbot.waitUntil(lambda: not window.db.connecting, timeout=TIMEOUT_MS)
    assert window.db.available
    assert window.settings.value("db/url") == str(tmp_path / "other.sqlite3")
    assert (tmp_path / "other.sqlite3").exists()


def test_technologist_sees_no_review_or_baseline_editing(qtbot, tmp_path):
    from imgqa.gui.main_window import MainWindow
    from imgqa.store import open_store

    url = str(tmp_path / "roles.sqlite3")
    store = open_store(url)
    store.set_user_role(getpass.getuser(), "technologist")
    store.close()
    w = MainWindow(db_url=url)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: not w.db.connecting, timeout=TIMEOUT_MS)
    assert w.db.role == "technologist"
    assert not w.tabs.isTabEnabled(w.tabs.indexOf(w.review_pane))
    assert "role" in w.tabs.tabToolTip(w.tabs.indexOf(w.review_pane))
    assert not w.act_baseline.isEnabled()
    assert w.tabs.isTabEnabled(w.tabs.indexOf(w.trend_view))  # reading trends is allowed
    assert not w.trend_view.baseline_button.isVisibleTo(w.trend_view)
    w.close()


def test_cli_screenshot_runs_the_analysis_and_writes_png(qtbot, tmp_path):
    from imgqa.cli.main import main

    folder = write_water_day(tmp_path / "d", 8)
    out = tmp_path / "shots" / "main.png"
    code = main(["gui", str(folder), "--db", str(tmp_path / "s.sqlite3"), "--screenshot",
                 str(out)])
    assert code == 0
    data = out.read_bytes()
    assert data[:4] == b"\x89PNG" and len(data) > 20000
    from PySide6.QtGui import QImage

    img = QImage(str(out))
    assert img.width() >= 800 and img.height() >= 500
