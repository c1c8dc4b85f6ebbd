"""Issue 12, receiver security and robustness: the AE allow-list and called-AE check (PS3.8
A-ASSOCIATE-RJ), the address allow-list, acknowledged images complete on disk, malformed
datasets refused and quarantined while the service goes on.

Every association test talks to a real `StorageReceiver` over loopback with a pynetdicom SCU.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pydicom
import pytest
from pynetdicom import AE
from pynetdicom import _config as pynetdicom_config
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

from imgqa.cli.main import build_parser
from imgqa.cli.receive_cmd import receiver_from_args
from imgqa.io import receiver as receiver_module
from imgqa.io.ae_policy import AssociationPolicy, parse_ae_title, parse_host
from imgqa.io.receiver import QUARANTINE, StorageReceiver
from imgqa.phantoms.writer import write_series

# PS3.8 Table 9-21
PERMANENT, SERVICE_USER = 1, 1
NO_REASON, CALLING_NOT_RECOGNISED, CALLED_NOT_RECOGNISED = 1, 3, 7


@pytest.fixture
def ct_files(tmp_path):
    images = np.stack([np.full((16, 16), v, dtype=float) for v in (0.0, 100.0, -500.0)])
    return write_series(images, tmp_path / "src", modality="CT", description="water QC",
                        pixel_spacing_mm=0.5, slice_thickness_mm=5.0,
                        rescale_intercept=-1024.0, signed=False)


def _associate(port, calling="CTSCANNER", called="IMGQA"):
    ae = AE(ae_title=calling)
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(Verification)
    return ae.associate("127.0.0.1", port, ae_title=called)


def _rj(assoc):
    """(result, source, reason) of the A-ASSOCIATE-RJ the SCU received."""
    assert assoc.is_rejected and not assoc.is_established
    p = assoc.acceptor.primitive
    return (p.result, p.result_source, p.diagnostic)


def _images(root):
    return sorted(p for p in root.rglob("*.dcm") if QUARANTINE not in p.parts)


# -- the AE policy over the network -------------------------------------------------------------
def test_stranger_to_whatever_is_rejected_and_logged_without_patient_data(tmp_path, ct_files,
                                                                          caplog):
    caplog.set_level(logging.WARNING, logger="imgqa.io.receiver")
    with StorageReceiver(inbox=tmp_path / "inbox", port=0,
                         allowed_ae_titles=["CTSCANNER"]) as rx:
        assoc = _associate(rx.port, "STRANGER", "WHATEVER")
        assert _rj(assoc) == (PERMANENT, SERVICE_USER, CALLED_NOT_RECOGNISED)
        (rej,) = rx.rejected
    assert (rej.calling_ae, rej.called_ae, rej.address) == ("STRANGER", "WHATEVER", "127.0.0.1")
    assert rx.received == [] and _images(tmp_path / "inbox") == []
    line = next(r.getMessage() for r in caplog.records if "refused an association" in r.message)
    assert "STRANGER" in line and "127.0.0.1" in line and "WHATEVER" in line


def test_unlisted_calling_ae_is_rejected_as_not_recognised(tmp_path):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0,
                         allowed_ae_titles=["CTSCANNER"]) as rx:
        assert _rj(_associate(rx.port, "STRANGER", "IMGQA")) == (
            PERMANENT, SERVICE_USER, CALLING_NOT_RECOGNISED)


def test_allowed_ae_to_our_ae_is_accepted_and_stores(tmp_path, ct_files):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, ae_title="QC_NODE",
                         allowed_ae_titles=["MR1", "CTSCANNER"]) as rx:
        assoc = _associate(rx.port, "CTSCANNER", "QC_NODE")
        assert assoc.is_established
        try:
            assert [assoc.send_c_store(pydicom.dcmread(f)).Status for f in ct_files] == [0] * 3
        finally:
            assoc.release()
    assert len(_images(tmp_path / "inbox")) == 3 and rx.rejected == []


def test_allowed_caller_addressing_another_ae_title_is_rejected(tmp_path):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0,
                         allowed_ae_titles=["CTSCANNER"]) as rx:
        assert _rj(_associate(rx.port, "CTSCANNER", "PACS")) == (
            PERMANENT, SERVICE_USER, CALLED_NOT_RECOGNISED)


def test_allow_any_accepts_every_calling_title_but_still_checks_the_called(tmp_path):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, allowed_ae_titles=["ANY"]) as rx:
        ok = _associate(rx.port, "WHOEVER", "IMGQA")
        assert ok.is_established
        ok.release()
        assert _rj(_associate(rx.port, "WHOEVER", "OTHER"))[2] == CALLED_NOT_RECOGNISED


def test_address_allow_list_is_checked_besides_the_title(tmp_path):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, allowed_ae_titles=["ANY"],
                         allowed_hosts=["10.20.30.0/24"]) as rx:
        assert _rj(_associate(rx.port)) == (PERMANENT, SERVICE_USER, NO_REASON)
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, allowed_ae_titles=["CTSCANNER"],
                         allowed_hosts=["127.0.0.0/8"]) as rx:
        assoc = _associate(rx.port)
        assert assoc.is_established
        assoc.release()


def test_receiver_keeps_serving_after_rejections(tmp_path, ct_files):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0,
                         allowed_ae_titles=["CTSCANNER"]) as rx:
        for _ in range(3):
            assert _associate(rx.port, "STRANGER").is_rejected
        assoc = _associate(rx.port)
        try:
            assert assoc.send_c_store(pydicom.dcmread(ct_files[0])).Status == 0
        finally:
            assoc.release()
    assert len(rx.rejected) == 3 and len(rx.received) == 1


# -- the policy as a pure function ---------------------------------------------------------------
def test_default_policy_accepts_this_computer_only():
    policy = AssociationPolicy.build("IMGQA")
    for loopback in ("127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1"):
        assert policy.decide("ANYONE", "IMGQA", loopback) is None, loopback
    for remote in ("10.1.2.3", "192.168.0.7", "fe80::1", "not-an-address"):
        rej = policy.decide("CT1", "IMGQA", remote)
        assert rej is not None and rej.reason == CALLING_NOT_RECOGNISED, remote
        assert "--allow-ae CT1" in rej.why  # tells the technologist what to add


def test_policy_titles_are_exact_and_spaces_are_not_significant():
    policy = AssociationPolicy.build(" IMGQA ", ["CT1 "])
    assert policy.decide("CT1", "IMGQA   ", "10.0.0.1") is None
    assert policy.decide("ct1", "IMGQA", "10.0.0.1").reason == CALLING_NOT_RECOGNISED
    assert policy.decide("CT1", "imgqa", "10.0.0.1").reason == CALLED_NOT_RECOGNISED


@pytest.mark.parametrize("bad", ["", "   ", "A" * 17, "CT\\1", "CT\n1", "CTÄ"])
def test_bad_ae_titles_are_refused_in_words(bad):
    with pytest.raises(ValueError, match="AE title"):
        parse_ae_title(bad)


@pytest.mark.parametrize("bad", ["scanner.hospital.org", "10.1.2", "10.0.0.0/33"])
def test_bad_hosts_are_refused_in_words(bad):
    with pytest.raises(ValueError, match="not an IP address"):
        parse_host(bad)


def test_receive_allow_flags_configure_the_policy(tmp_path):
    args = build_parser(["receive"]).parse_args(
        ["receive", "--inbox", str(tmp_path), "--ae-title", "QC", "--allow-ae", "CT1",
         "--allow-ae", "any", "--allow-ae", "MR2", "--allow-host", "10.1.0.0/16"])
    policy = receiver_from_args(args).policy
    assert policy.ae_title == "QC"
    assert policy.allowed_ae_titles == {"CT1", "ANY", "MR2"} and policy.accepts_any_ae
    assert [str(h) for h in policy.allowed_hosts] == ["10.1.0.0/16"]
    default = receiver_from_args(build_parser(["receive"]).parse_args(
        ["receive", "--inbox", str(tmp_path)])).policy
    assert default.allowed_ae_titles is None and default.allowed_hosts == ()


@pytest.mark.parametrize("argv", [["--allow-ae", "X" * 17], ["--allow-host", "scanner"],
                                  ["--ae-title", "BAD\\AE"]])
def test_receive_bad_allow_flag_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser(["receive"]).parse_args(["receive", *argv])
    assert exc.value.code == 2
    assert "imgqa: error:" in capsys.readouterr().err


# -- acknowledged means complete on disk --------------------------------------------------------
def test_store_success_implies_the_complete_file_is_on_disk(tmp_path, ct_files, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(receiver_module.os, "fsync",
                        lambda fd: (synced.append(fd), real_fsync(fd))[1])
    with StorageReceiver(inbox=tmp_path / "inbox", port=0) as rx:
        assoc = _associate(rx.port)
        try:
            for f in ct_files:
                sent = pydicom.dcmread(f)
                before = len(synced)
                assert assoc.send_c_store(sent).Status == 0
                # At the moment the success arrived, before anything else happens: the file is
                # under its final name, complete, and was flushed (file and folder fsynced).
                (item,) = [r for r in rx.received if r.sop_instance_uid == sent.SOPInstanceUID]
                assert item.path.name == f"{sent.SOPInstanceUID}.dcm"
                on_disk = pydicom.dcmread(item.path)
                assert on_disk.SOPInstanceUID == sent.SOPInstanceUID
                assert on_disk.PixelData == sent.PixelData
                assert len(synced) - before >= 2
        finally:
            assoc.release()
    assert not list((tmp_path / "inbox").rglob(".incoming-*"))


def test_a_failed_flush_is_not_acknowledged_and_leaves_no_file(tmp_path, ct_files, monkeypatch):
    def disk_error(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(receiver_module.os, "fsync", disk_error)
    with StorageReceiver(inbox=tmp_path / "inbox", port=0) as rx:
        assoc = _associate(rx.port)
        try:
            status = assoc.send_c_store(pydicom.dcmread(ct_files[0])).Status
        finally:
            assoc.release()
    assert status == 0xA700  # out of resources: the scanner keeps the image and retries
    assert rx.received == [] and _images(tmp_path / "inbox") == []
    assert not list((tmp_path / "inbox").rglob(".incoming-*"))


# -- malformed datasets -------------------------------------------------------------------------
@pytest.fixture
def send_raw_files(monkeypatch):
    """Let the SCU send a file's bytes as they are (no decoding on the sending side), as a
    faulty scanner would."""
    monkeypatch.setattr(pynetdicom_config, "STORE_SEND_CHUNKED_DATASET", True)


def _malformed(ct_file, tmp_path):
    """Three files a scanner should never send: no series UID, no SOP instance UID in the data
    set, pixel data cut short. Each carries a patient name that must never reach the log."""
    out = {}
    ds = pydicom.dcmread(ct_file)
    ds.PatientName = "DOE^JANE"
    del ds.SeriesInstanceUID
    ds.save_as(tmp_path / "no-series.dcm")
    out["no-series.dcm"] = 0xA900
    ds = pydicom.dcmread(ct_file)
    ds.PatientName = "DOE^JANE"
    del ds.SOPInstanceUID
    ds.save_as(tmp_path / "no-sop.dcm", enforce_file_format=False)
    out["no-sop.dcm"] = 0xA900
    ds = pydicom.dcmread(ct_file)
    ds.PatientName = "DOE^JANE"
    ds.save_as(tmp_path / "whole.dcm")
    raw = (tmp_path / "whole.dcm").read_bytes()
    (tmp_path / "truncated.dcm").write_bytes(raw[:-100])
    out["truncated.dcm"] = 0xC000
    return out


def test_malformed_datasets_are_refused_quarantined_and_the_next_image_is_stored(
        tmp_path, ct_files, send_raw_files, caplog):
    caplog.set_level(logging.INFO, logger="imgqa.io.receiver")
    expected = _malformed(ct_files[0], tmp_path)
    with StorageReceiver(inbox=tmp_path / "inbox", port=0) as rx:
        assoc = _associate(rx.port)
        try:
            statuses = {name: int(assoc.send_c_store(tmp_path / name).Status)
                        for name in expected}
            good = int(assoc.send_c_store(ct_files[1]).Status)
        finally:
            assoc.release()
        # the service is still up: a new association is served too
        again = _associate(rx.port)
        try:
            assert again.send_c_store(ct_files[2]).Status == 0
        finally:
            again.release()
    assert statuses == expected and good == 0
    stored = _images(tmp_path / "inbox")
    assert len(stored) == 2 and {p.name for p in stored} == {
        f"{pydicom.dcmread(f).SOPInstanceUID}.dcm" for f in ct_files[1:]}
    quarantine = tmp_path / "inbox" / QUARANTINE
    kept = sorted(quarantine.glob("*.dcm"))
    assert len(kept) == 3 and len(rx.quarantined) == 3
    for dcm in kept:  # the bytes as received, and why, side by side
        assert dcm.with_suffix(".txt").read_text().startswith("refused from AE title CTSCANNER")
    assert pydicom.dcmread(kept[0], force=True).get("PatientName") == "DOE^JANE"
    assert "DOE" not in caplog.text and "JANE" not in caplog.text


def test_a_dataset_that_cannot_be_written_is_refused_and_quarantined(tmp_path, ct_files,
                                                                      monkeypatch):
    """An unexpected failure while filing one image (not a full disk: that is 0xA700) refuses
    that image, keeps its bytes in quarantine, and the next image is filed."""
    import imgqa.io.receiver as receiver

    def cannot_write(fh):
        raise ValueError("the image cannot be written")

    with StorageReceiver(inbox=tmp_path / "inbox", port=0) as rx:
        assoc = _associate(rx.port)
        try:
            monkeypatch.setattr(receiver, "flush_to_disk", cannot_write)
            bad = int(assoc.send_c_store(pydicom.dcmread(ct_files[0])).Status)
            monkeypatch.undo()
            good = int(assoc.send_c_store(pydicom.dcmread(ct_files[1])).Status)
        finally:
            assoc.release()
    assert (bad, good) == (0xC000, 0)
    assert len(rx.quarantined) == 1 and len(_images(tmp_path / "inbox")) == 1


def test_starting_twice_keeps_one_server(tmp_path):
    """`imgqa receive` starts the receiver (to report a busy port), then enters `with rx:`:
    the second start must not bind the port again (it used to fail: address already in use)."""
    rx = StorageReceiver(inbox=tmp_path / "inbox", port=0).start()
    port = rx.port
    with rx:
        assert rx.port == port
        assoc = _associate(rx.port)
        assert assoc.is_established
        assoc.release()
    assert rx._server is None


def test_filed_image_is_the_dataset_exactly_as_sent(tmp_path, ct_files):
    """The receiver writes the bytes the scanner sent (not a re-encoding): the filed file's
    data set, after its file meta, is byte-identical to the original file's (both explicit VR
    little endian), with a valid file meta for the association's transfer syntax."""
    def body(path):
        """The bytes after the file meta (PS3.10: 128-byte preamble, "DICM", then (0002,0000)
        File Meta Information Group Length, explicit VR UL, whose value ends at byte 144)."""
        data = path.read_bytes()
        assert data[128:132] == b"DICM" and data[132:138] == b"\x02\x00\x00\x00UL"
        return data[144 + int.from_bytes(data[140:144], "little"):]

    with StorageReceiver(inbox=tmp_path / "inbox", port=0) as rx:
        assoc = _associate(rx.port)
        try:
            assert assoc.send_c_store(pydicom.dcmread(ct_files[0])).Status == 0
        finally:
            assoc.release()
    [stored] = _images(tmp_path / "inbox")
    original = pydicom.dcmread(ct_files[0])
    filed = pydicom.dcmread(stored)
    assert body(stored) == body(ct_files[0])
    assert filed.file_meta.TransferSyntaxUID == original.file_meta.TransferSyntaxUID
    assert filed.file_meta.MediaStorageSOPInstanceUID == original.SOPInstanceUID
    assert filed.file_meta.MediaStorageSOPClassUID == original.SOPClassUID
