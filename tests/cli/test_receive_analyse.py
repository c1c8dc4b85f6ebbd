"""Issue 12: ``imgqa receive --analyse`` analyses each series a scanner sends, once.

The receiver runs as a real process; a pynetdicom SCU sends a digital water phantom (mean 0 HU,
noise SD 5 HU); the test waits for the printed line (an event, not a time) and stops the
process with SIGTERM, which must exit 0. A second send of the same series adds no line.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pydicom
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

import imgqa
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series

SRC = Path(imgqa.__file__).resolve().parents[1]


def _read_until(stream, pattern):
    for line in stream:
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"the receiver ended without printing {pattern!r}")


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM is POSIX")
def test_receive_analyse_analyses_each_sent_series_once(tmp_path, dicom_send):
    images, _ = water_phantom(size=128, pixel_mm=1.8, noise_sd=5.0, n_slices=2, seed=1)
    files = write_series(images, tmp_path / "src", modality="CT",
                         description="Water phantom daily QC", pixel_spacing_mm=1.8,
                         slice_thickness_mm=5.0, rescale_intercept=-1024.0)
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgqa.cli.main", "receive", "--port", "0", "--inbox",
         str(tmp_path / "inbox"), "--allow-ae", "CT_ROOM1", "--analyse", "--quiet", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    guard = threading.Timer(240, proc.kill)  # a regression fails instead of hanging
    guard.start()
    try:
        port = int(_read_until(proc.stdout, r"port (\d+)").group(1))
        assert dicom_send(port, files, "CT_ROOM1") == [0, 0]
        first = _read_until(proc.stdout, r"^(analysed|failed|waiting): .*").group(0)
        assert dicom_send(port, files, "CT_ROOM1") == [0, 0]  # the same series again
        assert dicom_send(port, files[:1], calling="STRANGER") is None  # not on the allow-list
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate()
    finally:
        guard.cancel()
    assert proc.returncode == 0, err
    assert first.startswith("analysed: CT 'Water phantom daily QC' (2 images): ct.water "), first
    value = float(re.search(r"Mean CT number, centre = (-?[\d.]+) HU", first).group(1))
    assert abs(value) < 1.5  # truth 0 HU
    assert not re.search(r"^(analysed|failed|waiting): ", out, re.MULTILINE)  # once only
    assert "Stopped; 4 image(s) received." in out
    assert "refused an association from AE title 'STRANGER'" in err


def _start_receiver(inbox, *extra):
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgqa.cli.main", "receive", "--port", "0", "--inbox",
         str(inbox), "--allow-ae", "CT_ROOM1", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    return proc, int(_read_until(proc.stdout, r"port (\d+)").group(1))


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")
def test_sigkill_mid_series_loses_no_acknowledged_image(tmp_path, dicom_send):
    images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=6, seed=2)
    files = write_series(images, tmp_path / "src", modality="CT", description="kill test",
                         pixel_spacing_mm=3.6, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0)
    sent = [pydicom.dcmread(f) for f in files]
    inbox = tmp_path / "inbox"
    proc, port = _start_receiver(inbox)
    guard = threading.Timer(240, proc.kill)
    guard.start()
    try:
        ae = AE(ae_title="CT_ROOM1")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
        assert assoc.is_established
        acknowledged = [ds for ds in sent[:4] if assoc.send_c_store(ds).Status == 0]
        proc.kill()  # SIGKILL in the middle of the series, association still open
        proc.wait()
        assoc.abort()
    finally:
        guard.cancel()
    assert len(acknowledged) == 4
    on_disk = {p.name: p for p in inbox.rglob("*.dcm")}
    for ds in acknowledged:  # every acknowledged image is complete under its final name
        kept = pydicom.dcmread(on_disk[f"{ds.SOPInstanceUID}.dcm"])
        assert kept.PixelData == ds.PixelData
    # Restarted, the scanner sends the whole series again: nothing stored twice.
    proc, port = _start_receiver(inbox)
    try:
        assert dicom_send(port, files, "CT_ROOM1") == [0] * 6
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    finally:
        proc.kill()
    names = sorted(p.name for p in inbox.rglob("*.dcm"))
    assert names == sorted(f"{ds.SOPInstanceUID}.dcm" for ds in sent)
