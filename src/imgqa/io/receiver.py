"""Receive images from scanners: a DICOM Storage SCP (C-STORE, C-ECHO) filing into an inbox.

Scanners and PACS push QC images to imgqa's AE title; each image is written atomically to
``inbox/<YYYYMMDD>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (the acquisition date, so a
technologist finds today's images in one folder) and can then be opened like any folder.
Logs name only UIDs and the calling AE title, never patient data.

Built on pynetdicom (DICOM PS3.7 DIMSE C-STORE / C-ECHO).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydicom.dataset import Dataset

__all__ = ["ReceivedImage", "StorageReceiver"]

log = logging.getLogger(__name__)

# DIMSE status codes (PS3.4 Annex B.2.3)
_SUCCESS = 0x0000
_OUT_OF_RESOURCES = 0xA700
_CANNOT_UNDERSTAND = 0xC000

_SAFE = re.compile(r"[^0-9A-Za-z.\-]")


@dataclass(frozen=True, slots=True)
class ReceivedImage:
    """One image filed in the inbox."""

    path: Path
    sop_instance_uid: str
    series_instance_uid: str
    modality: str
    calling_ae: str


@dataclass
class StorageReceiver:
    """A Storage SCP that files every received image into `inbox`.

    Parameters
    ----------
    inbox : Path
        Folder the images are written to (created if missing).
    port : int
        TCP port to listen on (0 picks a free one; see `port` after `start`).
    ae_title : str
        Our Application Entity title; scanners are configured to send to it.
    host : str
        Address to bind; ``""`` for all interfaces, ``"127.0.0.1"`` for this machine only.
    on_received : callable, optional
        Called (from the network thread) with each `ReceivedImage`, e.g. to notify the GUI.
    """

    inbox: Path
    port: int = 11112
    ae_title: str = "IMGQA"
    host: str = ""
    on_received: Callable[[ReceivedImage], None] | None = None
    received: list[ReceivedImage] = field(default_factory=list, init=False)
    _server: object = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def start(self) -> "StorageReceiver":
        """Start listening in the background; returns self."""
        from pynetdicom import AE, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        self.inbox = Path(self.inbox)
        self.inbox.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.ae_title)
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES())
        ae.add_supported_context(Verification)
        handlers = [(evt.EVT_C_STORE, self._handle_store), (evt.EVT_C_ECHO, lambda e: _SUCCESS)]
        self._server = ae.start_server((self.host, self.port), block=False,
                                       evt_handlers=handlers)
        self.port = self._server.server_address[1]  # type: ignore[attr-defined]
        log.info("receiving DICOM as %s on port %d into %s", self.ae_title, self.port, self.inbox)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # type: ignore[attr-defined]
            self._server = None

    def __enter__(self) -> "StorageReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- C-STORE ---------------------------------------------------------------------------
    def _handle_store(self, event) -> int:  # noqa: ANN001 - pynetdicom event
        try:
            ds: Dataset = event.dataset
            ds.file_meta = event.file_meta
        except Exception:
            log.warning("C-STORE from %s could not be decoded", _calling_ae(event))
            return _CANNOT_UNDERSTAND
        try:
            path = self._file(ds)
        except OSError as exc:
            log.error("cannot write received image to the inbox: %s", exc.strerror or exc)
            return _OUT_OF_RESOURCES
        item = ReceivedImage(path, str(ds.get("SOPInstanceUID", "")),
                             str(ds.get("SeriesInstanceUID", "")), str(ds.get("Modality", "")),
                             _calling_ae(event))
        with self._lock:
            self.received.append(item)
        log.info("received %s %s from %s", item.modality, item.sop_instance_uid, item.calling_ae)
        if self.on_received is not None:
            try:
                self.on_received(item)
            except Exception:  # a listener must never make the scanner's send fail
                log.exception("on_received callback failed")
        return _SUCCESS

    def _file(self, ds: Dataset) -> Path:
        day = str(ds.get("AcquisitionDate") or ds.get("SeriesDate") or ds.get("StudyDate")
                  or "undated")
        series = _SAFE.sub("_", str(ds.get("SeriesInstanceUID", "unknown-series")))[:64]
        sop = _SAFE.sub("_", str(ds.get("SOPInstanceUID", "")))[:64] or next(
            tempfile._get_candidate_names())  # noqa: SLF001
        folder = self.inbox / _SAFE.sub("_", day)[:8] / series
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"{sop}.dcm"
        # Write beside the target then rename: a reader never sees a half-written file.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".dcm")
        os.close(fd)
        try:
            ds.save_as(tmp, enforce_file_format=True)
            os.replace(tmp, final)
        except Exception:
            Path(tmp).unlink(missing_ok=True)
            raise
        return final


def _calling_ae(event) -> str:  # noqa: ANN001
    try:
        return str(event.assoc.requestor.ae_title).strip()
    except Exception:
        return "?"


def ALL_TRANSFER_SYNTAXES() -> list[str]:  # noqa: N802 - reads like a constant
    """Transfer syntaxes accepted: uncompressed and every compression imgqa can decode."""
    from pydicom.uid import (
        JPEG2000,
        DeflatedExplicitVRLittleEndian,
        ExplicitVRBigEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGBaseline8Bit,
        JPEGExtended12Bit,
        JPEGLossless,
        JPEGLosslessSV1,
        JPEGLSLossless,
        JPEGLSNearLossless,
        RLELossless,
    )

    return [ExplicitVRLittleEndian, ImplicitVRLittleEndian, DeflatedExplicitVRLittleEndian,
            ExplicitVRBigEndian, JPEGBaseline8Bit, JPEGExtended12Bit, JPEGLossless,
            JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000,
            RLELossless]
