"""Settings → Notifications (issue 12): the real dialog sends a test e-mail to a throwaway SMTP
server on loopback (aiosmtpd), saves notify.toml for ``imgqa serve`` and refuses incomplete
settings with the reason."""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS, write_water_day
from PySide6.QtCore import Qt

from imgqa.service.notify_settings import load_settings, settings_path

pytest.importorskip("aiosmtpd.controller")  # the test extra


def test_notifications_group_sends_a_test_and_saves_the_settings(qtbot, window, smtp_server):
    inbox, port = smtp_server()
    window.act_settings.trigger()
    dlg = window.settings_dialog
    box = dlg.notify_box
    box.enabled.setChecked(True)
    box.host.setText("127.0.0.1")
    box.port.setValue(port)
    box.from_edit.setText("imgqa@qc.example.org")
    box.to.setText("physics@qc.example.org, lead@qc.example.org")
    box.level.setCurrentIndex(box.level.findData("TOLERANCE"))
    qtbot.mouseClick(box.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.test_result.text().startswith(("✔", "✖")),
                    timeout=TIMEOUT_MS)
    assert box.test_result.text().startswith("✔"), box.test_result.text()
    assert inbox.subjects == ["[imgqa] test message"]
    qtbot.waitUntil(box.test_button.isEnabled, timeout=TIMEOUT_MS)
    box.to.setText("")  # incomplete: refused with the reason, nothing saved
    dlg._accept()
    assert "no recipient" in box.test_result.text() and dlg.isVisible()
    assert not settings_path().exists()
    box.to.setText("physics@qc.example.org")
    dlg._accept()
    s = load_settings()
    assert (s.enabled, s.host, s.port, s.level, s.to) == (
        True, "127.0.0.1", port, "TOLERANCE", ("physics@qc.example.org",))


def test_status_bar_shows_failing_sessions_and_overdue_tests_at_a_glance(qtbot, window,
                                                                         tmp_path):
    """A session saved outside the window (as `imgqa serve` would) at ACTION, and a daily test
    not done for 10 days: the status-bar badge counts both; approving the session leaves only
    the overdue test; its review link opens the Review tab."""
    from datetime import UTC, datetime, timedelta

    import imgqa

    badge = window.automatic.badge
    store = window.db.store
    folder = write_water_day(tmp_path / "w", 3, water_hu=20.0)  # planted +20 HU: ACTION
    results = imgqa.analyse(sorted(folder.glob("*.dcm")), "ct.water")
    eq = store.add_equipment("CT Room 1", modality="CT")
    sess = store.save_session(eq.id, list(results),
                              performed_at=datetime.now(UTC) - timedelta(days=10))
    assert sess.worst_status == "ACTION"
    store.set_schedule(eq.id, "ct.water", "daily", reason="morning water phantom")
    badge.refresh()
    # a refresh may have read the database between the save and the schedule: wait for both
    qtbot.waitUntil(lambda: badge.counts is not None and badge.counts.action == 1
                    and badge.counts.overdue == 1, timeout=TIMEOUT_MS)
    assert "1 overdue" in badge.text() and "1 action" in badge.text()
    store.review([sess.id], "approved", "planted offset, checked")
    badge.refresh()
    qtbot.waitUntil(lambda: badge.counts.action == 0, timeout=TIMEOUT_MS)
    assert "1 overdue" in badge.text() and "action" not in badge.text()
    badge.linkActivated.emit("review")
    assert window.tabs.currentWidget() is window.review_pane


def test_encryption_choice_maps_to_one_tls_mode_and_is_saved(qtbot, window, tmp_path):
    window.act_settings.trigger()
    dlg = window.settings_dialog
    box = dlg.notify_box
    labels = [box.encryption.itemText(i) for i in range(box.encryption.count())]
    assert all("_" not in t and t[0].isupper() for t in labels)  # labels, not internal names
    box.enabled.setChecked(True)
    box.host.setText("smtp.qc.example.org")
    box.port.setValue(465)
    box.from_edit.setText("imgqa@qc.example.org")
    box.to.setText("physics@qc.example.org")
    box.encryption.setCurrentIndex(box.encryption.findData("ssl"))
    box.ca_file.setText(str(tmp_path / "missing.pem"))
    dlg._accept()  # a CA file that is not there is refused with the reason
    assert "does not exist" in box.test_result.text() and not settings_path().exists()
    ca = tmp_path / "hospital-ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    box.ca_file.setText(str(ca))
    dlg._accept()
    s = load_settings()
    assert (s.ssl, s.starttls, s.port, s.ca_file) == (True, False, 465, str(ca))
    window.act_settings.trigger()  # reopened: the same choice is shown
    assert window.settings_dialog.notify_box.encryption.currentData() == "ssl"
