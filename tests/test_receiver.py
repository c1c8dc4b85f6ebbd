"""The DICOM receiver: a real pynetdicom SCU sends phantom images over loopback."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification  # type: ignore[attr-defined]

import imgqa
from imgqa.io.receiver import StorageReceiver
from imgqa.phantoms.writer import write_series


@pytest.fixture
def receiver(tmp_path):
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, host="127.0.0.1") as rx:
        yield rx


def _associate(rx):
    ae = AE(ae_title="CTSCANNER")
    ae.add_requested_context(CTImageStorage)
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", rx.port, ae_title="IMGQA")
    assert assoc.is_established
    return assoc


def test_echo_and_store_files_images_that_load(receiver, tmp_path):
    images = np.stack([np.full((32, 32), v, dtype=float) for v in (0.0, 100.0, -500.0)])
    files = write_series(images, tmp_path / "src", modality="CT", description="water QC",
                         pixel_spacing_mm=0.5, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0, signed=False)
    assoc = _associate(receiver)
    try:
        assert assoc.send_c_echo().Status == 0
        for f in files:
            assert assoc.send_c_store(pydicom.dcmread(f)).Status == 0
    finally:
        assoc.release()
    assert len(receiver.received) == 3
    assert {r.calling_ae for r in receiver.received} == {"CTSCANNER"}
    (series,) = imgqa.load(receiver.inbox)
    assert len(series) == 3
    means = sorted(float(series.pixels(i).mean()) for i in range(3))
    assert means == pytest.approx([-500.0, 0.0, 100.0])
    # filed by date and series, no temporary files left behind
    assert not list(receiver.inbox.rglob(".incoming-*"))
    assert all(r.path.parent.parent.name == "20260105" for r in receiver.received)


def test_unwritable_inbox_refuses_instead_of_losing(receiver, tmp_path):
    images = np.zeros((1, 8, 8))
    (f,) = write_series(images, tmp_path / "src", modality="CT", description="x",
                        pixel_spacing_mm=1.0, rescale_intercept=-1024.0)
    receiver.inbox = tmp_path / "file-not-folder"
    receiver.inbox.write_text("not a folder")
    assoc = _associate(receiver)
    try:
        status = assoc.send_c_store(pydicom.dcmread(f)).Status
    finally:
        assoc.release()
    assert status == 0xA700  # "out of resources": the scanner keeps the image and retries
    assert receiver.received == []
