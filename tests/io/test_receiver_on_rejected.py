"""`StorageReceiver(on_rejected=...)`: a refused association is reported to a listener (the
GUI's status bar), and a failing listener never keeps the refusal from going out."""

from __future__ import annotations

from pynetdicom import AE
from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

from imgqa.io.receiver import RejectedAssociation, StorageReceiver


def _associate(port: int, calling: str) -> bool:
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 5
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
    ok = assoc.is_established
    if ok:
        assoc.release()
    return ok


def test_refused_association_is_reported_to_the_listener(tmp_path):
    heard: list[RejectedAssociation] = []
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, host="127.0.0.1",
                         allowed_ae_titles=["CTSCANNER"], on_rejected=heard.append) as rx:
        assert _associate(rx.port, "CTSCANNER")
        assert not _associate(rx.port, "STRANGER")
    assert len(heard) == 1
    assert (heard[0].calling_ae, heard[0].called_ae, heard[0].address) == \
        ("STRANGER", "IMGQA", "127.0.0.1")
    assert heard == rx.rejected


def test_a_failing_listener_does_not_stop_the_refusal(tmp_path):
    def broken(_item: RejectedAssociation) -> None:
        raise RuntimeError("listener bug")

    with StorageReceiver(inbox=tmp_path / "inbox", port=0, host="127.0.0.1",
                         allowed_ae_titles=["CTSCANNER"], on_rejected=broken) as rx:
        assert not _associate(rx.port, "STRANGER")
        assert _associate(rx.port, "CTSCANNER")  # still serving
    assert [r.calling_ae for r in rx.rejected] == ["STRANGER"]
