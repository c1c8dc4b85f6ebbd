"""Who may send to the window's receiver: Settings → "Scanners allowed to send (their AE
titles)", "Any scanner (not recommended)", "Allowed addresses"; refused sends in the status bar.

The real settings dialog is driven; a real pynetdicom SCU sends over loopback.
"""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS, write_water_day

from imgqa.gui.receiver_control import (
    access_note,
    refusal_reason,
    split_names,
    validate_receiver,
)
from imgqa.gui.state import ReceiverSettings, receiver_settings, save_receiver_settings
from imgqa.io.receiver import RejectedAssociation


@pytest.fixture
def image(tmp_path):
    return min(write_water_day(tmp_path / "scanner", 6).glob("*.dcm"))


def open_dialog(qtbot, window):
    window.act_settings.trigger()
    dlg = window.settings_dialog
    qtbot.waitUntil(lambda: dlg.isVisible(), timeout=TIMEOUT_MS)
    return dlg


def enable(qtbot, window, inbox, port, names="", hosts="", any_ae=False):
    dlg = open_dialog(qtbot, window)
    dlg.rx_enabled.setChecked(True)
    dlg.rx_ae.setText("QCTEST")
    dlg.rx_port.setValue(port)
    dlg.rx_inbox.setText(str(inbox))
    dlg._rx_host = "127.0.0.1"  # loopback only in tests
    dlg.rx_allowed_ae.setText(names)
    dlg.rx_allowed_hosts.setText(hosts)
    dlg.rx_any_ae.setChecked(any_ae)
    return dlg


def test_names_are_split_by_commas_or_spaces():
    assert split_names("CT_ROOM1 MR_3T  GAMMA2") == ("CT_ROOM1", "MR_3T", "GAMMA2")
    # A comma anywhere: commas separate, so a title may have a space inside.
    assert split_names(" CT ROOM 1, MR_3T,,") == ("CT ROOM 1", "MR_3T")
    assert split_names("  ") == ()


def test_allow_list_round_trips_through_dialog_and_ini(qtbot, window, tmp_path, free_port):
    port = free_port()
    dlg = enable(qtbot, window, tmp_path / "inbox", port, names="CT_ROOM1, MR 3T",
                 hosts="10.1.2.0/24 127.0.0.1")
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    saved = receiver_settings(window.settings)
    assert saved == ReceiverSettings(True, "QCTEST", port, str(tmp_path / "inbox"),
                                     "127.0.0.1", ("CT_ROOM1", "MR 3T"),
                                     ("10.1.2.0/24", "127.0.0.1"))
    assert window.inbox.receiver.running
    assert window.inbox.receiver.settings == saved  # what the running receiver was given

    # Reopened: the fields show what was saved, and saving again changes nothing.
    dlg = open_dialog(qtbot, window)
    assert dlg.rx_allowed_ae.text() == "CT_ROOM1, MR 3T"
    assert dlg.rx_allowed_hosts.text() == "10.1.2.0/24, 127.0.0.1"
    assert not dlg.rx_any_ae.isChecked() and dlg.rx_allowed_ae.isEnabled()
    assert dlg.receiver_choice() == saved

    # "Any scanner" is stored as ANY; the typed names are kept for when it is unticked.
    dlg.rx_any_ae.setChecked(True)
    assert not dlg.rx_allowed_ae.isEnabled()
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    assert receiver_settings(window.settings).allowed_ae_titles == ("CT_ROOM1", "MR 3T", "ANY")
    dlg = open_dialog(qtbot, window)
    assert dlg.rx_any_ae.isChecked() and dlg.rx_allowed_ae.text() == "CT_ROOM1, MR 3T"
    dlg.rx_any_ae.setChecked(False)
    assert dlg.receiver_choice().allowed_ae_titles == ("CT_ROOM1", "MR 3T")
    dlg.reject()


@pytest.mark.parametrize(("names", "hosts", "message"), [
    ("CT_ROOM1, ABCDEFGHIJKLMNOPQ", "", "Scanners allowed to send: 'ABCDEFGHIJKLMNOPQ' is "
     "longer than the 16 characters an AE title may have."),
    ("CT\\ROOM1", "", "Scanners allowed to send: 'CT\\\\ROOM1': an AE title has printable "
     "ASCII characters only, no backslash."),
    ("CT_ROOM1", "10.1.2.0/24, ct-room1.hospital.org", "Allowed addresses: "
     "'ct-room1.hospital.org' is not an IP address or network (e.g. 10.1.2.3 or 10.1.2.0/24); "
     "host names are not accepted."),
    ("CT_ROOM1", "10.1.2.300", "Allowed addresses: '10.1.2.300' is not an IP address"),
])
def test_bad_names_and_addresses_are_explained_and_not_saved(qtbot, window, tmp_path,
                                                             names, hosts, message, free_port):
    dlg = enable(qtbot, window, tmp_path / "inbox", free_port(), names=names, hosts=hosts)
    dlg._accept()
    assert dlg.isVisible()  # kept open until fixed
    assert message in dlg.rx_message.text()
    assert not receiver_settings(window.settings).enabled
    dlg.reject()


def test_control_characters_in_a_title_are_refused():
    rs = ReceiverSettings(True, "QCTEST", 11112, "", "", ("CT\tROOM",))
    (problem,) = validate_receiver(rs)
    assert problem.startswith("Scanners allowed to send:") and "printable ASCII" in problem
    assert validate_receiver(ReceiverSettings(True, "QCTEST", 11112, "", "",
                                              ("any", "CT_ROOM1"), ("fe80::/10",))) == []


def test_network_without_names_says_scanners_will_be_refused(qtbot, window, tmp_path, free_port):
    dlg = enable(qtbot, window, tmp_path / "inbox", free_port())
    assert dlg.rx_note.text() == ""  # this computer only: nothing surprising
    dlg.rx_network.setChecked(True)
    assert "Scanners on the network will be refused until you name them" in dlg.rx_note.text()
    assert dlg.receiver_problems() == []  # a warning: OK still saves
    dlg.rx_allowed_ae.setText("CT_ROOM1")
    assert dlg.rx_note.text() == ""
    dlg.rx_any_ae.setChecked(True)
    assert "Any scanner or program on the network can send" in dlg.rx_note.text()
    dlg.rx_any_ae.setChecked(False)
    dlg.rx_network.setChecked(False)
    assert "Only programs on this computer can reach the receiver" in dlg.rx_note.text()
    dlg.rx_enabled.setChecked(False)
    assert dlg.rx_note.text() == ""
    dlg.reject()
    # The same rule without the dialog (what the window would warn about).
    assert access_note(ReceiverSettings(True, host="")).startswith("Scanners on the network")
    assert access_note(ReceiverSettings(True, host="127.0.0.1")) == ""


def test_listed_scanner_stores_and_others_are_refused_with_status(qtbot, window, tmp_path,
                                                                  image, free_port, dicom_send):
    inbox, port = tmp_path / "inbox", free_port()
    dlg = enable(qtbot, window, inbox, port, names="CTSCANNER")
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    rx, label = window.inbox.receiver, window.inbox.status_label
    qtbot.waitUntil(lambda: rx.running, timeout=TIMEOUT_MS)

    assert dicom_send(port, [image], "CTSCANNER", "QCTEST") == [0]
    qtbot.waitUntil(lambda: rx.new_images == 1, timeout=TIMEOUT_MS)
    assert len(list(inbox.rglob("*.dcm"))) == 1
    assert label.text() == f"Receiving as QCTEST on port {port} — 1 new image"

    # An AE title not on the list, from this very computer: refused, and the status bar says
    # who and why (titles and address only, never patient data).
    with qtbot.waitSignal(rx.refused, timeout=TIMEOUT_MS):
        assert dicom_send(port, [image], "STRANGER", "QCTEST") is None
    assert label.text() == (f"Receiving as QCTEST on port {port} — 1 new image — 1 refused "
                            "(last: STRANGER at 127.0.0.1)")
    assert "its AE title is not in Settings → Scanners allowed to send" in label.toolTip()
    assert "1 refused" in window.inbox.view.status.text()
    assert "STRANGER" in window.inbox.view.status.text()

    # A listed scanner addressing another AE title is refused too, with that reason.
    with qtbot.waitSignal(rx.refused, timeout=TIMEOUT_MS):
        assert dicom_send(port, [image], "CTSCANNER", called="WHATEVER") is None
    assert label.text().endswith("— 2 refused (last: CTSCANNER at 127.0.0.1)")
    assert "it was sent to AE title 'WHATEVER', this receiver is 'QCTEST'" in label.toolTip()
    assert len(list(inbox.rglob("*.dcm"))) == 1  # nothing filed from refused associations


def test_address_list_refuses_a_listed_title_from_elsewhere(qtbot, window, tmp_path, image,
                                                            free_port, dicom_send):
    inbox, port = tmp_path / "inbox", free_port()
    save_receiver_settings(ReceiverSettings(True, "QCTEST", port, str(inbox), "127.0.0.1",
                                            ("CTSCANNER",), ("10.1.2.0/24",)), window.settings)
    assert window.inbox.apply_settings()
    rx, label = window.inbox.receiver, window.inbox.status_label
    with qtbot.waitSignal(rx.refused, timeout=TIMEOUT_MS):
        # 127.0.0.1 is not in 10.1.2.0/24
        assert dicom_send(port, [image], "CTSCANNER", "QCTEST") is None
    assert label.text().endswith("— 1 refused (last: CTSCANNER at 127.0.0.1)")
    assert "its address is not in Settings → Allowed addresses" in label.toolTip()

    # Allowing loopback (the settings changed: the receiver restarts, the count starts over).
    save_receiver_settings(ReceiverSettings(True, "QCTEST", port, str(inbox), "127.0.0.1",
                                            ("CTSCANNER",), ("10.1.2.0/24", "127.0.0.0/8")),
                           window.settings)
    assert window.inbox.apply_settings()
    assert rx.refused_count == 0 and "refused" not in label.text()
    assert dicom_send(port, [image], "CTSCANNER", "QCTEST") == [0]
    qtbot.waitUntil(lambda: rx.new_images == 1, timeout=TIMEOUT_MS)


def test_any_scanner_accepts_every_title(qtbot, window, tmp_path, image, free_port, dicom_send):
    inbox, port = tmp_path / "inbox", free_port()
    dlg = enable(qtbot, window, inbox, port, any_ae=True)
    with qtbot.waitSignal(dlg.accepted, timeout=TIMEOUT_MS):
        dlg._accept()
    assert receiver_settings(window.settings).allowed_ae_titles == ("ANY",)
    rx = window.inbox.receiver
    assert dicom_send(port, [image], "WHOEVER", "QCTEST") == [0]
    qtbot.waitUntil(lambda: rx.new_images == 1, timeout=TIMEOUT_MS)
    assert rx.refused_count == 0


def test_refusal_reasons_match_the_receivers_policy():
    """Each reason the GUI gives is the one the receiver's policy applied (same settings)."""
    from imgqa.io.ae_policy import AssociationPolicy

    cases = [  # settings, calling AE, called AE, address, the GUI's reason
        (ReceiverSettings(True, "QCTEST", host=""), "CT_ROOM1", "QCTEST", "10.1.2.3",
         "no scanner is allowed yet: add its AE title to Settings → Scanners allowed to send"),
        (ReceiverSettings(True, "QCTEST", host="", allowed_ae_titles=("MR_3T",)), "CT_ROOM1",
         "QCTEST", "10.1.2.3", "its AE title is not in Settings → Scanners allowed to send"),
        (ReceiverSettings(True, "QCTEST", host="", allowed_ae_titles=("ANY",)), "CT_ROOM1",
         "IMGQA", "10.1.2.3", "it was sent to AE title 'IMGQA', this receiver is 'QCTEST'"),
        (ReceiverSettings(True, "QCTEST", host="", allowed_ae_titles=("CT_ROOM1",),
                          allowed_hosts=("10.9.0.0/16",)), "CT_ROOM1", "QCTEST", "10.1.2.3",
         "its address is not in Settings → Allowed addresses"),
    ]
    for rs, calling, called, address, reason in cases:
        policy = AssociationPolicy.build(rs.ae_title, list(rs.allowed_ae_titles) or None,
                                         rs.allowed_hosts)
        rejection = policy.decide(calling, called, address)
        assert rejection is not None  # the receiver does refuse it
        refused = RejectedAssociation(calling, called, address, rejection.why)
        assert refusal_reason(refused, rs) == reason
