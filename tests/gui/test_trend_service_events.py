"""Service events on the trend view: dashed vertical markers with a label and the description
on hover, the "Add service event…" dialog, and restarting the control chart at an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from conftest import TIMEOUT_MS
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor

from imgqa.protocols.base import InputIdentity, Measurement, Result

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BEFORE = [100.0, 101.0, 99.0, 100.5, 99.5, 100.0, 100.8, 99.2]
AFTER = [110.0, 111.0, 109.0, 110.5, 109.5, 110.2]


def _result(mean: float, day: int) -> Result:
    return Result(protocol="generic.roi", protocol_version="1",
                  parameters={"roi_diameter_mm": 20.0},
                  series={"modality": "CT", "manufacturer": "Acme", "model": "Scan 1",
                          "serial": "SN-1", "station_name": "CT_1"},
                  measurements=(Measurement("mean", mean, "HU"), Measurement("sd", 5.0, "HU"),
                                Measurement("snr", 20.0, "")),
                  inputs=(InputIdentity(f"1.2.3.{day}", "ab" * 32),), imgqa_version="test")


@pytest.fixture
def filled_db(tmp_path):
    """The window's database with 14 daily sessions and two service events (made first)."""
    from imgqa.store import open_store

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        eq = store.add_equipment("CT room 1", modality="CT", manufacturer="Acme",
                                 model="Scan 1", serial="SN-1")
        for i, v in enumerate(BEFORE + AFTER):
            store.save_session(eq.id, [_result(v, i)], performed_at=T0 + timedelta(days=i))
        tube = store.add_service_event(eq.id, T0 + timedelta(days=len(BEFORE) - 1, hours=6),
                                       "part replacement", "X-ray tube replaced",
                                       performed_by="A. Engineer, Acme Service")
        sw = store.add_service_event(eq.id, T0 + timedelta(days=2, hours=3), "software",
                                     "console software VB20")
    return {"eq": eq, "events": (sw, tube)}


def _show_trend(qtbot, window, eq_id):
    view = window.trend_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.equipment_combo.findData(eq_id) >= 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(view.loaded, timeout=TIMEOUT_MS):
        view.select(eq_id, "generic.roi", "sd")  # a different one first, so select reloads
    with qtbot.waitSignal(view.loaded, timeout=TIMEOUT_MS):
        view.select(eq_id, "generic.roi", "mean")
    qtbot.waitUntil(lambda: view.point_count == len(BEFORE + AFTER), timeout=TIMEOUT_MS)
    return view


def _purple_rows(view, x_value: float) -> int:
    """Pixels of the marker colour in the image column of time ``x_value``."""
    img = view.plot.grab().toImage()
    vb = view.plot.getPlotItem().vb
    scene = vb.mapViewToScene(QPointF(x_value, vb.viewRange()[1][0]))
    col = int(round(view.plot.mapFromScene(scene).x() * img.devicePixelRatio()))
    want = QColor("#6a1b9a")
    hits = 0
    for dx in (-1, 0, 1):
        for y in range(img.height()):
            c = img.pixelColor(col + dx, y)
            if abs(c.red() - want.red()) + abs(c.green() - want.green()) + \
                    abs(c.blue() - want.blue()) < 60:
                hits += 1
    return hits


def test_service_events_are_marked_with_label_and_description(qtbot, filled_db, window):
    view = _show_trend(qtbot, window, filled_db["eq"].id)
    sw, tube = filled_db["events"]
    assert view.data.service_events == (sw, tube)
    assert [line.value() for line in view.event_lines] == [sw.when.timestamp(),
                                                           tube.when.timestamp()]
    assert [t.textItem.toPlainText() for t in view.event_labels] == \
        ["software", "part replacement"]
    tip = view.event_lines[1].toolTip()
    assert "X-ray tube replaced" in tip and "A. Engineer, Acme Service" in tip
    assert view.event_labels[1].toolTip() == tip
    assert "2 service event(s) marked" in view.info.text()
    # what the user hovers: the label is an item at its own place in the scene
    label = view.event_labels[1]

    def label_is_hit_where_drawn():  # a TextItem settles its transform when painted
        view.plot.viewport().update()
        return label in view.plot.scene().items(label.mapToScene(label.boundingRect().center()))

    qtbot.waitUntil(label_is_hit_where_drawn, timeout=TIMEOUT_MS)
    # labels sit at the top of the view, beside their line, also after zooming
    vb = view.plot.getPlotItem().vb
    vb.setYRange(90, 120, padding=0)
    assert [t.pos().x() for t in view.event_labels] == [sw.when.timestamp(),
                                                        tube.when.timestamp()]
    assert view.event_labels[0].pos().y() == pytest.approx(120)
    # and the dashed line is really drawn at the event's time
    assert _purple_rows(view, tube.when.timestamp()) > 20
    assert _purple_rows(view, (T0 + timedelta(days=5, hours=12)).timestamp()) == 0


def test_add_service_event_dialog_records_and_marks_it(qtbot, filled_db, window):
    view = _show_trend(qtbot, window, filled_db["eq"].id)
    assert view.event_button.isEnabled()
    qtbot.mouseClick(view.event_button, Qt.MouseButton.LeftButton)
    dlg = view.event_dialog
    assert dlg is not None and dlg.isVisible()
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # kind and description are required
    when = T0 + timedelta(days=10, hours=4)
    dlg.when.setDateTime(when.astimezone().replace(tzinfo=None))
    dlg.kind.setCurrentText("calibration")
    from imgqa.store import SERVICE_KINDS

    assert tuple(dlg.kind.itemText(i) for i in range(dlg.kind.count())) == SERVICE_KINDS
    qtbot.keyClicks(dlg.description, "detector gain recalibrated")
    dlg.performed_by.setText("Vendor FSE")
    assert ok.isEnabled()
    with qtbot.waitSignal(view.event_recorded, timeout=TIMEOUT_MS) as rec:
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(view.event_lines) == 3, timeout=TIMEOUT_MS)  # reloaded
    ev = rec.args[0]
    assert (ev.when, ev.kind, ev.description, ev.performed_by) == (
        when, "calibration", "detector gain recalibrated", "Vendor FSE")
    assert ev.recorded_by == window.db.user
    assert len(view.event_lines) == 3 and view.event_lines[2].value() == when.timestamp()


def test_restart_spc_at_service_events(qtbot, filled_db, window):
    view = _show_trend(qtbot, window, filled_db["eq"].id)
    assert view.data.control.n == len(BEFORE + AFTER)
    view.restart_spc.setChecked(True)
    qtbot.waitUntil(lambda: view.data.control.n != len(BEFORE + AFTER), timeout=TIMEOUT_MS)
    ctl = view.data.control
    assert ctl.n == len(AFTER) and ctl.centre == pytest.approx(np.mean(AFTER))
    assert view.data.spc_period[0] == T0 + timedelta(days=len(BEFORE))


def test_event_button_follows_the_role(qtbot, filled_db, window):
    view = _show_trend(qtbot, window, filled_db["eq"].id)
    window.db.role = "technologist"
    window.db.changed.emit()
    assert view.event_button.isEnabled()          # technologists may record events
    assert not view.baseline_button.isVisibleTo(view)  # but not edit baselines
    store, window.db.store = window.db.store, None  # database gone: nothing may be recorded
    try:
        window.db.changed.emit()
        assert not view.event_button.isEnabled()
        assert view.open_service_event_dialog() is None
    finally:
        window.db.store = store
        window.db.changed.emit()
