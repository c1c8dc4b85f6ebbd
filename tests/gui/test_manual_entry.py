"""Database → Enter results… (issue 11, item 8): a checklist and a meter reading typed into a
form generated from the protocol declaration are saved, judged, reviewed, trended and
exported; the ACR visual spokes count is stored with its analysis, marked as manual."""

from __future__ import annotations

import csv

from conftest import TIMEOUT_MS
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLabel, QLineEdit

CT = "manual.ct_daily_checklist"


def _open_dialog(qtbot, window):
    window.act_enter.trigger()
    dlg = window.manual_dialog
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.equipment_combo.count() > 0, timeout=TIMEOUT_MS)
    return dlg


def _save_button(dlg):
    return dlg.buttons.button(QDialogButtonBox.StandardButton.Save)


def test_checklist_and_reading_entered_in_the_dialog_are_saved_and_judged(qtbot, window,
                                                                          tmp_path):
    store = window.db.store
    ct = store.add_equipment("CT room 1", modality="CT")
    store.add_equipment("Gamma camera", modality="NM")
    store.set_baseline(ct.id, CT, "kvp_measured", 120.0, "nominal kV")
    (db_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&Database"]
    assert window.act_enter in db_menu.actions()

    dlg = _open_dialog(qtbot, window)
    dlg.protocol_combo.setCurrentIndex(dlg.protocol_combo.findData(CT))
    # only equipment the test is for; the form comes from the declaration
    assert [dlg.equipment_combo.itemData(i) for i in range(dlg.equipment_combo.count())] \
        == [ct.id]
    assert isinstance(dlg.fields["laser_alignment"], QComboBox)
    assert isinstance(dlg.fields["kvp_measured"], QLineEdit)
    assert isinstance(dlg.fields["notes"], QLineEdit)
    labels = [w.text() for w in dlg.form_host.findChildren(QLabel)]
    assert "Laser alignment OK:" in labels and "Tube voltage, measured:" in labels
    assert "kV" in labels and "mGy" in labels

    # a typing slip: a sentence under the form, the dialog stays open, nothing is saved
    dlg.fields["kvp_measured"].setText("12O")
    qtbot.mouseClick(_save_button(dlg), Qt.MouseButton.LeftButton)
    assert "not a number" in dlg.message.text() and dlg.isVisible()
    assert store.sessions() == []

    dlg.fields["laser_alignment"].setCurrentText("pass")
    dlg.fields["table_movement"].setCurrentText("fail")
    dlg.fields["kvp_measured"].setText("130")
    dlg.fields["notes"].setText("table judders at 1200 mm")
    dlg.performed_by.setText("J. Tech")
    with qtbot.waitSignal(dlg.saved, timeout=TIMEOUT_MS) as sig:
        qtbot.mouseClick(_save_button(dlg), Qt.MouseButton.LeftButton)
    session = sig.args[0]
    assert not dlg.isVisible()
    assert session.performed_by == "J. Tech" and session.worst_status == "ACTION"
    assert "QC session" in window.status_label.text()
    rows = {r.measurement: r for r in store.session_results(session.id)}
    assert {k: (r.value, r.status) for k, r in rows.items()} == {
        "laser_alignment": (1.0, "OK"), "table_movement": (0.0, "ACTION"),
        "kvp_measured": (130.0, "ACTION")}
    assert any("table judders" in w for w in rows["kvp_measured"].warnings)

    # review pane lists it; the trend shows the reading
    pane = window.review_pane
    qtbot.waitUntil(lambda: session.id in pane.session_ids(), timeout=TIMEOUT_MS)
    trend = window.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        window.tabs.setCurrentWidget(trend)
    qtbot.waitUntil(lambda: trend.measurement_combo.count() > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        trend.select(ct.id, CT, "kvp_measured")
    assert trend.point_count == 1

    # the export has the typed-in rows
    from imgqa.report import export, gather

    path = export(gather(store), tmp_path / "qa.csv")
    with open(path, newline="", encoding="utf-8-sig") as f:
        got = {(r["measurement"], r["status"]) for r in csv.DictReader(f)
               if r["protocol"] == CT}
    assert got == {("laser_alignment", "OK"), ("table_movement", "ACTION"),
                   ("kvp_measured", "ACTION")}


def test_acr_visual_spokes_count_entered_in_the_dialog_is_marked(qtbot, window, tmp_path,
                                                                  monkeypatch):
    from types import SimpleNamespace

    from imgqa import analyse
    from imgqa.phantoms.mr import demo_sets

    store = window.db.store
    mr = store.add_equipment("MR 1", modality="MR", field_strength_t=1.5)
    folder = demo_sets()["mr_acr"](tmp_path / "phantoms")
    (result,) = analyse(folder, "mr.acr", count_spokes=False)   # "count visually"
    assert result.value("low_contrast_spokes") is None

    # the open series (as the Analysis tab holds it after analysing the ACR series)
    monkeypatch.setattr(window, "current_entry",
                        lambda: SimpleNamespace(results=[result], equipment_id=mr.id))
    dlg = _open_dialog(qtbot, window)
    dlg.performed_by.setText("Dr P")
    assert dlg.protocol == "mr.acr" and dlg.equipment_combo.currentData() == mr.id
    assert list(dlg.fields) == ["low_contrast_spokes"]
    dlg.fields["low_contrast_spokes"].setText("37")
    with qtbot.waitSignal(dlg.saved, timeout=TIMEOUT_MS) as sig:
        qtbot.mouseClick(_save_button(dlg), Qt.MouseButton.LeftButton)
    rows = {r.measurement: r for r in store.session_results(sig.args[0].id)}
    spokes = rows["low_contrast_spokes"]
    assert (spokes.value, spokes.status) == (37.0, "OK")
    assert spokes.parameters["manual_entries"]["low_contrast_spokes"]["entered_by"] == "Dr P"
    assert any("entered manually by Dr P" in w for w in spokes.warnings)
    assert rows["piu"].value == result.value("piu")   # the rest of the analysis is stored
