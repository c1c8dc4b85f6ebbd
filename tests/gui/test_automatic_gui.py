"""Hands-off QC in the window (issue 12): the Due view, the Automatic QC status panel running
the receiver and the automatic analysis, the at-a-glance badge and the routing rule made from
an analysed series. Real widgets on a real SQLite database; the receive test sends over
loopback with a pynetdicom SCU, as a scanner would."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from conftest import TIMEOUT_MS, open_and_wait, write_water_day

from imgqa.gui.auto_runner import AutoSettings, save_auto_settings
from imgqa.gui.service_status import GlanceCounts, glance_counts, glance_html
from imgqa.gui.state import ReceiverSettings, save_receiver_settings
from imgqa.protocols.base import InputIdentity, Measurement, Result
from imgqa.store import open_store

TODAY = datetime.now(UTC).date()
_UIDS = itertools.count(1)


def _at(days_ago: int) -> datetime:
    d = TODAY - timedelta(days=days_ago)
    return datetime(d.year, d.month, d.day, 9, 0, tzinfo=UTC)


def make_result(serial: str) -> Result:
    """A `generic.roi` result (no images): one new image each call; the store judges it."""
    return Result(protocol="generic.roi", protocol_version="1", parameters={},
                  series={"modality": "CT", "manufacturer": "Acme", "model": "Scan 1",
                          "serial": serial, "station_name": "CT_ROOM_1", "series_uid": "1.2.3"},
                  measurements=(Measurement("mean", 100.0, "HU"),),
                  inputs=(InputIdentity(f"1.2.3.9.{next(_UIDS)}", "ab" * 32),),
                  imgqa_version="test")


def open_window(qtbot, db_path):
    from imgqa.gui.main_window import MainWindow

    w = MainWindow(db_url=str(db_path))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.db.connecting, timeout=TIMEOUT_MS)
    assert w.db.available, w.db.reason
    return w


@pytest.fixture
def scheduled_db(tmp_path):
    """Four schedules, one in each state, listed here NOT in urgency order; one unreviewed
    session with an Action result and one with a Tolerance result."""
    path = tmp_path / "qc.sqlite3"
    store = open_store(str(path))
    try:
        eqs = {n: store.add_equipment(n, modality="CT", serial=f"SN-{n}")
               for n in ("A ok", "B due", "C grace", "D overdue")}
        # mean 100 against a baseline of 50: outside ±10 (Tolerance); D also outside ±20
        for name, act in (("C grace", 100.0), ("D overdue", 20.0)):
            store.set_baseline(eqs[name].id, "generic.roi", "mean", 50.0, reason="test")
            store.set_tolerance(eqs[name].id, "generic.roi", "mean", kind="absolute",
                                act_low=-act, tol_low=-10.0, tol_high=10.0, act_high=act,
                                reason="test")
        # ok: done yesterday, weekly → due in 6 days
        store.save_session(eqs["A ok"].id, [make_result("SN-A ok")], performed_at=_at(1))
        store.set_schedule(eqs["A ok"].id, "generic.roi", "weekly", reason="test")
        # due: never performed
        store.set_schedule(eqs["B due"].id, "generic.roi", "daily", reason="test")
        # grace: weekly, done 9 days ago, grace 5 d → 2 days late, within grace
        store.save_session(eqs["C grace"].id, [make_result("SN-C grace")],
                           performed_at=_at(9))
        store.set_schedule(eqs["C grace"].id, "generic.roi", "weekly", grace_days=5,
                           reason="test")
        # overdue: weekly, done 12 days ago, no grace → 5 days overdue
        store.save_session(eqs["D overdue"].id, [make_result("SN-D overdue")],
                           performed_at=_at(12))
        store.set_schedule(eqs["D overdue"].id, "generic.roi", "weekly", reason="test")
        store.review([s.id for s in store.sessions() if s.equipment_name == "A ok"],
                     "approved", comment="fine")
        ids = {n: e.id for n, e in eqs.items()}
    finally:
        store.close()
    return path, ids


def test_due_view_lists_overdue_first_with_labels(qtbot, scheduled_db):
    path, ids = scheduled_db
    w = open_window(qtbot, path)
    view = w.automatic.due_view
    with qtbot.waitSignal(view.refreshed, timeout=TIMEOUT_MS):
        w.automatic.show_due()   # refreshes when shown
    assert view.statuses() == ["overdue", "grace", "due", "ok"]
    t = view.table
    assert [t.item(r, 1).text() for r in range(4)] == ["D overdue", "C grace", "B due", "A ok"]
    # the test's title, not the internal name (which is the tooltip)
    assert t.item(0, 2).text() != "generic.roi" and t.item(0, 2).toolTip() == "generic.roi"
    assert t.item(0, 0).text() == "● OVERDUE" and t.item(0, 6).text() == "5"
    assert t.item(1, 6).text() == "2"
    assert t.item(2, 4).text() == "never"
    assert t.item(0, 4).text() == (TODAY - timedelta(days=12)).isoformat()
    assert t.item(0, 0).background().color().name() != t.item(3, 0).background().color().name()
    assert "1 overdue" in view.summary.text()
    # the same list as `imgqa due --format json` computes (one computation)
    store = open_store(str(path))
    try:
        assert [d.equipment for d in view.items] == [d.equipment for d in store.due_list()]
    finally:
        store.close()
    # double-click: the trend of the test on that equipment
    trend = w.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        view.table.cellDoubleClicked.emit(0, 1)
    assert w.tabs.currentWidget() is trend
    assert trend.equipment_combo.currentData() == ids["D overdue"]
    assert trend.measurement_combo.currentData()[0] == "generic.roi"
    w.close()


def test_glance_badge_counts_and_opens_the_lists(qtbot, scheduled_db):
    path, _ids = scheduled_db
    w = open_window(qtbot, path)
    badge = w.automatic.badge
    qtbot.waitUntil(lambda: badge.counts is not None, timeout=TIMEOUT_MS)
    c = badge.counts
    # 1 overdue beyond grace, 1 within grace, 1 due; 2 unreviewed sessions, 1 Action, 1 Tol.
    assert c == GlanceCounts(overdue=1, grace=1, due=1, pending=2, action=1, tolerance=1)
    assert badge.isVisible()
    text = badge.text()
    assert "1 overdue" in text and "1 action" in text and "1 tolerance" in text
    badge.linkActivated.emit("due")
    assert w.tabs.currentWidget() is w.automatic.due_view
    badge.linkActivated.emit("review")
    assert w.tabs.currentWidget() is w.review_pane
    # the status panel shows the same pending-review counts
    assert "2 session(s) awaiting review" in w.automatic.status_panel.pending.text()
    w.close()


def test_glance_text_without_anything_to_do():
    assert "up to date" in glance_html(glance_counts([], []))
    assert "2 due" in glance_html(GlanceCounts(due=1, grace=1))
    assert glance_html(GlanceCounts(overdue=2, action=1)).count("<a ") == 2


def test_status_panel_runs_receiver_and_automatic_analysis(qtbot, tmp_path, free_port,
                                                           dicom_send):
    """Start receiving from the panel, a scanner sends a CT water series: the panel shows the
    send, the series is routed by the stored rule, analysed and saved pending review; an
    unknown AE title is refused and said; Stop finishes cleanly."""
    path = tmp_path / "qc.sqlite3"
    store = open_store(str(path))
    store.add_rule("ct.water", reason="morning water phantom", create_equipment=True,
                   modality="CT", description="water")
    store.close()
    files = sorted(write_water_day(tmp_path / "scanner", 6).glob("*.dcm"))
    w = open_window(qtbot, path)
    port = free_port()
    save_receiver_settings(ReceiverSettings(False, "IMGQA", port, str(tmp_path / "inbox"),
                                            "127.0.0.1", ("CTSCANNER",)), w.settings)
    save_auto_settings(AutoSettings(True, 0.5), w.settings)
    panel = w.automatic.status_panel
    panel.automatic.setChecked(True)
    panel.quiet.setValue(0.5)
    panel._settings_changed()
    assert "Stopped" in panel.listening.text()
    assert panel.start_receiving()
    qtbot.waitUntil(lambda: panel.runner.running, timeout=TIMEOUT_MS)
    assert f"port <b>{port}</b>" in panel.listening.text()
    assert "Automatic analysis <b>on</b>" in panel.listening.text()

    assert dicom_send(port, files, "STRANGER") is None   # refused at association
    qtbot.waitUntil(lambda: "refused" in panel.problems.text(), timeout=TIMEOUT_MS)
    assert "STRANGER" in panel.problems.text()

    with qtbot.waitSignal(panel.runner.outcome, timeout=TIMEOUT_MS) as got:
        assert dicom_send(port, files, "CTSCANNER") == [0] * len(files)
    outcome = got.args[0]
    assert (outcome.state, outcome.protocol) == ("saved", "ct.water"), outcome.line()
    assert panel.last_send.text().startswith("from CTSCANNER at ")
    assert panel.last_send.text().endswith(f"{len(files)} image" + ("s" if len(files) > 1
                                                                     else ""))
    assert panel.recent.item(0, 1).text() == "saved, pending review"
    assert panel.recent.item(0, 4).text() == str(outcome.session_id)
    assert "1 saved" in panel.queue.text()
    # saved pending review, counted at a glance and listed in the review pane
    qtbot.waitUntil(lambda: (w.automatic.badge.counts or GlanceCounts()).pending == 1,
                    timeout=TIMEOUT_MS)
    assert "1 session(s) awaiting review" in panel.pending.text()
    qtbot.waitUntil(lambda: outcome.session_id in w.review_pane.session_ids(),
                    timeout=TIMEOUT_MS)

    panel.stop_receiving()
    assert not w.inbox.receiver.running
    qtbot.waitUntil(lambda: not panel.runner.running and not panel.runner.stopping,
                    timeout=TIMEOUT_MS)
    assert "Stopped" in panel.listening.text()
    store = open_store(str(path))
    try:
        [s] = store.sessions(unreviewed_only=True)
        assert s.performed_by == "imgqa serve" and "pending review" in s.comment
    finally:
        store.close()
    # closing the window while it runs stops the receiver, then the analysis thread
    assert panel.start_receiving()
    qtbot.waitUntil(lambda: panel.runner.running, timeout=TIMEOUT_MS)
    thread = panel.runner._thread
    w.close()
    assert not w.inbox.receiver.running
    assert thread is not None and not thread.is_alive()


def _water_rule_db(tmp_path):
    """A results database whose one routing rule sends CT water series to ct.water."""
    path = tmp_path / "qc.sqlite3"
    store = open_store(str(path))
    store.add_rule("ct.water", reason="morning water phantom", create_equipment=True,
                   modality="CT", description="water")
    store.close()
    return path


def _watching_window(qtbot, path, share, tmp_path, free_port):
    """The window on `path`, its automatic QC panel set to watch `share` (created) with the
    receiver off, quick polls and a 0.5 s quiet period; not started yet."""
    share.mkdir()
    w = open_window(qtbot, path)
    save_receiver_settings(ReceiverSettings(False, "IMGQA", free_port(), str(tmp_path / "inbox"),
                                            "127.0.0.1", ("CTSCANNER",)), w.settings)
    panel = w.automatic.status_panel
    panel.runner.watch_poll_s = 0.2
    panel.quiet.setValue(0.5)
    panel.watch_folder.setText(str(share))
    return w, panel


def test_watched_folder_series_is_analysed_without_the_receiver(qtbot, tmp_path, free_port):
    """No receiver: a folder the scanner exports to is set in the panel; a CT water series
    copied there (a temporary name first, then renamed, as copy tools do) is routed by the
    stored rule, analysed and saved pending review; a folder that vanishes is said, not fatal."""
    import shutil

    path = _water_rule_db(tmp_path)
    files = sorted(write_water_day(tmp_path / "scanner", 6).glob("*.dcm"))
    share = tmp_path / "share"
    w, panel = _watching_window(qtbot, path, share, tmp_path, free_port)
    panel.automatic.setChecked(True)   # saves the settings and starts: a folder is watched
    qtbot.waitUntil(lambda: panel.runner.running, timeout=TIMEOUT_MS)
    assert not w.inbox.receiver.running
    assert f"Watching <b>{share}</b>" in panel.listening.text()
    with qtbot.waitSignal(panel.runner.outcome, timeout=TIMEOUT_MS) as got:
        for f in files:
            shutil.copy(f, share / (f.name + ".part"))
            (share / (f.name + ".part")).rename(share / f.name)
    outcome = got.args[0]
    assert (outcome.state, outcome.protocol) == ("saved", "ct.water"), outcome.line()
    assert panel.recent.item(0, 1).text() == "saved, pending review"
    store = open_store(str(path))
    try:
        [s] = store.sessions(unreviewed_only=True)
        assert s.id == outcome.session_id
    finally:
        store.close()
    shutil.rmtree(share)
    qtbot.waitUntil(lambda: "Cannot read the watched folder" in panel.problems.text(),
                    timeout=TIMEOUT_MS)
    assert panel.runner.running
    panel.watch_folder.setText("")
    panel._settings_changed()          # nothing to watch, no receiver: the analysis stops
    qtbot.waitUntil(lambda: not panel.runner.running and not panel.runner.stopping,
                    timeout=TIMEOUT_MS)
    w.close()


def test_rule_from_series_is_the_rule_imgqa_rule_add_makes(qtbot, tmp_path):
    from imgqa.cli.main import main

    path = tmp_path / "qc.sqlite3"
    folder = write_water_day(tmp_path / "water", 3)
    w = open_window(qtbot, path)
    open_and_wait(qtbot, w, [folder])
    entry = w.current_entry()
    assert entry is not None and entry.protocol == "ct.water"
    button = w.automatic.rule_button   # beside the test chooser of the result panel
    assert button.isVisible() and button.isEnabled()
    assert button.text() == "Always like this…"
    button.click()
    dlg = w.automatic.rule_dialog
    assert dlg is not None and dlg.isVisible()
    qtbot.waitUntil(lambda: dlg.equipment_combo.count() >= 1
                    and dlg.equipment_combo.currentData() is not None, timeout=TIMEOUT_MS)
    h = entry.series.header
    # pre-filled from the header; the test shown by its title
    assert dlg.text["description"].text() == "^Water phantom daily QC$"
    assert dlg.text["station_name"].text() == h.equipment.station_name != ""
    assert dlg.text["serial"].text() == h.equipment.serial != ""
    assert dlg.size_spins["rows"].value() == h.rows == 128
    assert dlg.protocol_combo.currentData() == "ct.water"
    assert dlg.protocol_combo.currentText() != "ct.water"
    assert "takes the series it was made from" in dlg.note.text() or dlg.problems()
    save = dlg.buttons.button(dlg.buttons.StandardButton.Save)
    assert not save.isEnabled()   # a reason is required
    dlg.reason.setText("daily water phantom")
    assert save.isEnabled()
    assert "takes the series it was made from" in dlg.note.text()
    with qtbot.waitSignal(dlg.saved, timeout=TIMEOUT_MS) as got:
        save.click()
    gui_rule = got.args[0]
    # the same rule through the command line
    e = h.equipment
    assert main(["--db", str(path), "rule", "add", "--protocol", "ct.water",
                 "--create-equipment", "--modality", "CT", "--station", e.station_name,
                 "--serial", e.serial, "--manufacturer", e.manufacturer, "--model", e.model,
                 "--description", "^Water phantom daily QC$", "--rows", "128",
                 "--columns", "128", "--reason", "daily water phantom"]) == 0
    w.close()
    store = open_store(str(path))
    try:
        a, b = store.rules()
    finally:
        store.close()
    assert a.rule_id == gui_rule.rule_id
    skip = {"rule_id", "created_at"}
    assert {k: v for k, v in a.to_dict().items() if k not in skip} == \
        {k: v for k, v in b.to_dict().items() if k not in skip}


@pytest.mark.parametrize("text", ["ACR T1 (axial) *", "UNIF_INT_H1", "a\\ b", "[x]+? $1 ^",
                                  "Water phantom daily QC"])
def test_description_pattern_matches_exactly_its_description(text):
    import re

    from imgqa.gui.rule_dialog import description_pattern

    pattern = description_pattern(text)
    assert re.search(pattern, text, re.IGNORECASE)
    assert re.search(pattern, text.upper(), re.IGNORECASE)   # the matcher ignores case
    assert not re.search(pattern, text + "x", re.IGNORECASE)
    assert not re.search(pattern, "x" + text, re.IGNORECASE)
    assert description_pattern("  ") == ""


def test_rule_made_in_the_window_routes_the_real_acr_series_sent_later(
        qtbot, tmp_path, shared_data, free_port, dicom_send):
    """The whole loop on the real ACR MRI series (Siemens Skyra, 11 slices): open and analyse
    it, "always analyse series like this one", then the scanner sends it to the window's
    receiver: it is routed by that rule, analysed with mr.acr and saved pending review, with
    the values other tools publish for this series (MANIFEST.md)."""
    acr = sorted((shared_data / "mr/acr/hazen_Siemens").glob("*.dcm"))
    assert len(acr) == 11
    path = tmp_path / "qc.sqlite3"
    w = open_window(qtbot, path)
    open_and_wait(qtbot, w, [acr[0].parent])
    entry = w.current_entry()
    assert entry is not None and entry.protocol == "mr.acr"
    dlg = w.automatic.rule_from_series()
    assert dlg is not None
    qtbot.waitUntil(lambda: dlg.equipment_combo.currentData() is not None, timeout=TIMEOUT_MS)
    assert dlg.text["modality"].text() == "MR"
    dlg.reason.setText("weekly ACR series")
    with qtbot.waitSignal(dlg.saved, timeout=TIMEOUT_MS) as got:
        dlg.save()
    rule = got.args[0]
    assert (rule.protocol, rule.create_equipment) == ("mr.acr", True)

    port = free_port()
    save_receiver_settings(ReceiverSettings(False, "IMGQA", port, str(tmp_path / "inbox"),
                                            "127.0.0.1", ("MR_ACR",)), w.settings)
    save_auto_settings(AutoSettings(True, 0.5), w.settings)
    panel = w.automatic.status_panel
    panel.automatic.setChecked(True)
    panel._settings_changed()
    assert panel.start_receiving()
    qtbot.waitUntil(lambda: panel.runner.running, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(panel.runner.outcome, timeout=120000) as got:
        assert dicom_send(port, acr, "MR_ACR") == [0] * 11
    outcome = got.args[0]
    assert (outcome.state, outcome.rule_id) == ("saved", rule.rule_id), outcome.line()
    assert panel.last_send.text().startswith("from MR_ACR") and "11 images" in \
        panel.last_send.text()
    panel.stop_receiving()
    w.close()
    store = open_store(str(path))
    try:
        [sess] = store.sessions(unreviewed_only=True)
        values = {r.measurement: r.value for r in store.session_results(sess.id)}
        [eq] = store.list_equipment()
    finally:
        store.close()
    assert f"rule {rule.rule_id} (version 1)" in sess.comment
    assert (eq.manufacturer, eq.model) == ("SIEMENS", "Skyra")
    # PIU: hazen 67.49 %, pylinac 66.65 %; slice thickness: hazen 5.89, pylinac 4.64 mm
    assert abs(values["piu"] - 67.49) < 2.0 and abs(values["piu"] - 66.65) < 2.0, values
    assert 4.4 < values["slice_thickness_mm"] < 6.1, values


def test_a_burst_in_the_watched_folder_is_analysed_at_once_on_worker_processes(
        qtbot, tmp_path, free_port, monkeypatch):
    """Issue 17: five series copied into the watched folder together complete at the same
    moment; the window's automatic QC analyses them on worker processes first
    (`SessionSaver.prepare`), then saves each pending review as before."""
    import shutil

    from imgqa.service.saving import PARALLEL_MIN_SERIES, SessionSaver

    prepared: list[int] = []
    real = SessionSaver.prepare

    def counting(self, completes):
        prepared.append(real(self, completes))
        return prepared[-1]

    monkeypatch.setattr(SessionSaver, "prepare", counting)
    path = _water_rule_db(tmp_path)
    n = PARALLEL_MIN_SERIES + 1
    scanner = [write_water_day(tmp_path / f"scanner{d}", d) for d in range(1, n + 1)]
    share = tmp_path / "share"
    w, panel = _watching_window(qtbot, path, share, tmp_path, free_port)
    outcomes: list = []
    panel.runner.outcome.connect(outcomes.append)
    panel.automatic.setChecked(True)
    qtbot.waitUntil(lambda: panel.runner.running, timeout=TIMEOUT_MS)
    staging = tmp_path / "staging"
    for folder in scanner:  # all at once: staged, then moved in one go
        shutil.copytree(folder, staging / folder.name)
    staging.rename(share / "export")
    qtbot.waitUntil(lambda: len(outcomes) == n, timeout=4 * TIMEOUT_MS)
    assert prepared == [n]  # analysed together on worker processes
    assert [(o.state, o.protocol) for o in outcomes] == [("saved", "ct.water")] * n
    panel.automatic.setChecked(False)
    qtbot.waitUntil(lambda: not panel.runner.running and not panel.runner.stopping,
                    timeout=TIMEOUT_MS)
    w.close()
