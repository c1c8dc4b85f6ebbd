"""The receiver inside the desktop window: settings, live inbox, analyse from the inbox.

A real pynetdicom SCU sends phantom images over loopback to the receiver the window runs.
"""

from __future__ import annotations

import socket

import pydicom
import pytest
from conftest import TIMEOUT_MS, write_water_day

from imgqa.gui.state import ReceiverSettings, receiver_settings, save_receiver_settings


@pytest.fixture
def two_days(tmp_path):
    """Two one-image CT water series (different days), as files a scanner would send."""
    return [min(write_water_day(tmp_path / f"scanner{d}", d).glob("*.dcm"))
            for d in (6, 7)]


def enable_in_dialog(qtbot, window, inbox, port):
    window.act_settings.trigger()
    dlg = window.settings_dialog
    qtbot.waitUntil(lambda: dlg.isVisible(), timeout=TIMEOUT_MS)
    dlg.rx_enabled.setChecked(True)
    dlg.rx_ae.setText("QCTEST")
    dlg.rx_port.setValue(port)
    dlg.rx_inbox.setText(str(inbox))
    dlg._rx_host = "127.0.0.1"  # loopback only in tests
    return dlg


def test_receive_show_live_in_inbox_and_analyse(
        qtbot, window, tmp_path, two_days, free_port, dicom_send):
    inbox, port = tmp_path / "inbox", free_port()
    dlg = enable_in_dialog(qtbot, window, inbox, port)
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    rx = window.inbox.receiver
    qtbot.waitUntil(lambda: rx.running, timeout=TIMEOUT_MS)
    assert receiver_settings(window.settings) == ReceiverSettings(True, "QCTEST", port,
                                                                  str(inbox), "127.0.0.1")
    assert window.inbox.status_label.text() == f"Receiving as QCTEST on port {port}"

    window.inbox.action.trigger()  # File → Open inbox… (Ctrl+I)
    view = window.inbox.view
    assert window.tabs.currentWidget() is view
    assert "Ctrl+I" in window.inbox.action.shortcut().toString()
    file_menu = window.menuBar().actions()[0].menu()
    names = [a.text() for a in file_menu.actions()]
    assert names.index("Open inbox…") == names.index("Open folder…") + 1

    assert dicom_send(port, two_days, "CTSCANNER", "QCTEST") == [0, 0]
    # Arrivals appear while the window is open: two series, grouped by their date, newest first.
    qtbot.waitUntil(lambda: len(view.series) == 2, timeout=TIMEOUT_MS)
    assert window.inbox.status_label.text() == \
        f"Receiving as QCTEST on port {port} — 2 new images"
    groups = [view.tree.topLevelItem(i).text(0) for i in range(view.tree.topLevelItemCount())]
    assert groups == ["Wed 7 Jan 2026", "Tue 6 Jan 2026"]
    first = view.tree.topLevelItem(0).child(0)
    assert [first.text(c) for c in (0, 1, 3, 5)] == ["Water phantom daily QC", "CT", "1", "● new"]
    assert first.text(2)  # equipment from the header
    folder = first.data(0, 0x0100)
    assert folder.endswith(str(pydicom.dcmread(two_days[1]).SeriesInstanceUID)[:64])

    # Analyse from the inbox: the ordinary open-and-analyse path, results in the table.
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        view.tree.setCurrentItem(first)
        first.setSelected(True)
        view.analyse_button.click()
    qtbot.waitUntil(lambda: not window.busy, timeout=TIMEOUT_MS)
    assert window.tabs.currentIndex() == 0
    (entry,) = window.workspace.entries
    assert entry.protocol == "ct.water" and entry.results
    assert window.results_table.rowCount() > 0
    assert window.inbox.status_label.text() == \
        f"Receiving as QCTEST on port {port} — 1 new image"
    qtbot.waitUntil(lambda: view.item_for(folder) is not None
                    and view.item_for(folder).text(5) == "", timeout=TIMEOUT_MS)

    # Disabling stops the server: the scanner's association is refused afterwards.
    window.act_settings.trigger()
    dlg = window.settings_dialog
    dlg.rx_enabled.setChecked(False)
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    assert not rx.running
    assert window.inbox.status_label.text() == ""
    assert dicom_send(port, two_days[:1], "CTSCANNER", "QCTEST") is None


def test_double_click_analyses_and_received_images_load(
        qtbot, window, tmp_path, two_days, free_port, dicom_send):
    inbox, port = tmp_path / "inbox", free_port()
    save_receiver_settings(ReceiverSettings(True, "IMGQA", port, str(inbox), "127.0.0.1"),
                           window.settings)
    assert window.inbox.apply_settings()
    view = window.inbox.view
    assert dicom_send(port, two_days[:1], "CTSCANNER") == [0]
    qtbot.waitUntil(lambda: len(view.series) == 1, timeout=TIMEOUT_MS)
    item = view.tree.topLevelItem(0).child(0)
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        view.tree.itemDoubleClicked.emit(item, 0)
    qtbot.waitUntil(lambda: not window.busy, timeout=TIMEOUT_MS)
    (entry,) = window.workspace.entries
    assert entry.protocol == "ct.water" and entry.results
    assert window.problems.problems() == []  # no half-written file was picked up
    window.close()  # stops the receiver on exit
    assert not window.inbox.receiver.running
    assert dicom_send(port, two_days[:1], "CTSCANNER") is None


def test_busy_port_and_bad_values_are_explained(qtbot, window, tmp_path, free_port):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen(1)
        port = blocker.getsockname()[1]
        dlg = enable_in_dialog(qtbot, window, tmp_path / "inbox", port)
        dlg._accept()
        assert dlg.isVisible()  # not accepted
        assert f"Port {port} is already in use" in dlg.rx_message.text()
        assert not receiver_settings(window.settings).enabled

        # Settings saved behind the dialog's back: the window reports instead of crashing.
        save_receiver_settings(ReceiverSettings(True, "IMGQA", port, str(tmp_path / "inbox"),
                                                "127.0.0.1"), window.settings)
        assert not window.inbox.apply_settings()
        assert "already in use" in window.inbox.status_label.text()
        dlg.reject()

    dlg = enable_in_dialog(qtbot, window, tmp_path / "inbox", free_port())
    dlg.rx_ae.setText("   ")
    dlg._accept()
    assert "AE title is empty" in dlg.rx_message.text()
    assert dlg.rx_port.minimum() == 1 and dlg.rx_port.maximum() == 65535
    dlg.reject()


def test_inbox_dates_name_today_and_yesterday():
    from datetime import date

    from imgqa.gui.inbox import day_label

    today = date(2026, 11, 23)
    assert day_label(date(2026, 11, 23), today) == "Today — Mon 23 Nov 2026"
    assert day_label(date(2026, 11, 22), today) == "Yesterday — Sun 22 Nov 2026"
    assert day_label(date(2026, 1, 7), today) == "Wed 7 Jan 2026"
    assert day_label(None, today) == "Undated"


def test_receiver_listens_on_loopback_unless_opened_to_the_network(
        qtbot, window, tmp_path, free_port):
    # Fresh settings: loopback, and the dialog shows the choice unticked.
    assert receiver_settings(window.settings).host == "127.0.0.1"
    window.act_settings.trigger()
    dlg = window.settings_dialog
    qtbot.waitUntil(lambda: dlg.isVisible(), timeout=TIMEOUT_MS)
    dlg.rx_enabled.setChecked(True)
    assert dlg.rx_network.isEnabled() and not dlg.rx_network.isChecked()
    assert dlg.receiver_choice().host == "127.0.0.1"
    dlg.rx_network.setChecked(True)
    assert dlg.receiver_choice().host == ""  # every interface: scanners can reach it
    dlg.rx_network.setChecked(False)
    assert dlg.receiver_choice().host == "127.0.0.1"
    dlg.reject()

    # An ini file saved before loopback became the default (host "") keeps the network open,
    # and an address set in the ini file is kept when the box stays ticked.
    for saved in ("", "192.0.2.10"):
        save_receiver_settings(ReceiverSettings(False, "IMGQA", free_port(),
                                                str(tmp_path / "inbox"), saved), window.settings)
        assert receiver_settings(window.settings).host == saved
        window.act_settings.trigger()
        dlg = window.settings_dialog
        qtbot.waitUntil(lambda: dlg.isVisible(), timeout=TIMEOUT_MS)  # noqa: B023
        assert dlg.rx_network.isChecked()
        assert dlg.receiver_choice().host == saved
        dlg.reject()
