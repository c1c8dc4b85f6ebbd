"""Receive images from scanners: a DICOM Storage SCP (C-STORE, C-ECHO) filing into an inbox.

Scanners and PACS push QC images to imgqa's AE title; each image is written atomically to
``inbox/<YYYYMMDD>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`` (the acquisition date, so a
technologist finds today's images in one folder) and can then be opened like any folder.
Logs name only UIDs and the calling AE title, never patient data.

The path is built from *validated* header values only (`inbox_relpath`): a UID that does not
follow the DICOM UID grammar (PS3.5 §9.1) becomes ``x-<SHA-256 prefix of the raw value>``, a
date that is not a real calendar YYYYMMDD gives ``undated``, and the resolved path must lie
under the inbox (else the C-STORE is refused with status 0xC001). A second, *different* image
arriving with the same SOP Instance UID is kept beside the first as ``<name>_2.dcm`` (never
replaces it); an identical re-send is recognised and not stored twice.

Who may send (`imgqa.io.ae_policy`): the called AE title must be ours and the calling AE title
on the allow-list (by default: any title, from this computer only); others get an
A-ASSOCIATE-RJ (PS3.8 §9.3.4) and a log line naming the AE titles and the address.

Robustness: a C-STORE success (0x0000) is returned only after the file is complete under its
final name and flushed to disk (`os.fsync` of the file and of its folder), so an acknowledged
image survives the process being killed. A dataset that cannot be decoded or re-encoded, or
that lacks the SOP Class, SOP Instance or Series Instance UID (or whose SOP Instance UID differs
from the C-STORE request's), is refused (0xC000 / 0xA900) and its bytes, as received, are kept
in ``inbox/quarantine/`` for the physicist to inspect; the receiver goes on serving.

Network limits (pynetdicom defaults are 10 associations and a 60 s idle timeout, so ten idle
TCP connections block every scanner): by default up to 32 simultaneous associations, a
connection that has not asked for an association within 10 s is dropped, an association idle
for 30 s is aborted, and the receiver listens on this computer only (127.0.0.1) unless told
otherwise.

Built on pynetdicom (DICOM PS3.7 DIMSE C-STORE / C-ECHO, PS3.8 upper layer).
"""

from __future__ import annotations

import filecmp
import hashlib
import logging
import math
import os
import re
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date as _date
from pathlib import Path, PurePosixPath
from typing import Any

from pydicom.dataset import Dataset

from imgqa.io.ae_policy import AssociationPolicy
from imgqa.io.atomic_write import flush_to_disk, fsync_folder, write_atomically

__all__ = ["ReceivedImage", "RejectedAssociation", "StorageReceiver", "inbox_relpath",
           "is_valid_da", "is_valid_uid", "QUARANTINE",
           "DEFAULT_HOST", "DEFAULT_MAX_ASSOCIATIONS", "DEFAULT_ACSE_TIMEOUT_S",
           "DEFAULT_DIMSE_TIMEOUT_S", "DEFAULT_NETWORK_TIMEOUT_S"]

log = logging.getLogger(__name__)

# DIMSE status codes (PS3.4 Annex B.2.3)
_SUCCESS = 0x0000
_OUT_OF_RESOURCES = 0xA700
_CANNOT_UNDERSTAND = 0xC000
_DOES_NOT_MATCH_SOP_CLASS = 0xA900  # PS3.4 Table B.2-1: required UIDs missing or inconsistent
# "Cannot understand" class (Cxxx): a failure the scanner should not retry blindly. The
# sub-code 0x001 is ours: the inbox path would leave the inbox (e.g. a symlink inside it).
_REFUSED_UNSAFE_PATH = 0xC001

DEFAULT_HOST = "127.0.0.1"
QUARANTINE = "quarantine"  # inbox sub-folder for refused datasets, kept as received
DEFAULT_MAX_ASSOCIATIONS = 32
DEFAULT_ACSE_TIMEOUT_S = 10.0     # TCP connected but no A-ASSOCIATE-RQ (a scanner sends at once)
DEFAULT_DIMSE_TIMEOUT_S = 30.0
DEFAULT_NETWORK_TIMEOUT_S = 30.0  # an established association with no traffic

# PS3.5 §9.1: components of digits separated by ".", no leading zero unless the component is
# "0", at most 64 characters. ASCII digits only ([0-9], not \d, which takes any Unicode digit).
_UID = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*")
_DA = re.compile(r"[0-9]{8}")
_HASH_CHARS = 20  # 80 bits of SHA-256: distinct raw values never meet in practice


def is_valid_uid(value: str) -> bool:
    """True when `value` follows the DICOM UID grammar (PS3.5 §9.1), at most 64 characters."""
    return isinstance(value, str) and len(value) <= 64 and _UID.fullmatch(value) is not None


def is_valid_da(value: str) -> bool:
    """True when `value` is a DICOM DA (PS3.5 Table 6.2-1) naming a real date: YYYYMMDD."""
    if not isinstance(value, str) or _DA.fullmatch(value) is None:
        return False
    try:
        _date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return False
    return True


def _hashed(raw: str) -> str:
    return "x-" + hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_CHARS]


def _uid_part(raw: str | None, missing: str) -> str:
    if raw is None or raw == "":
        return missing
    return raw if is_valid_uid(raw) else _hashed(raw)


def inbox_relpath(date: str | None, series: str | None, sop: str | None) -> PurePosixPath:
    """The inbox-relative path ``<YYYYMMDD>/<series>/<sop>.dcm`` for raw header values.

    Parameters
    ----------
    date : str or None
        The image's date (DA, YYYYMMDD); anything but a real calendar date gives ``undated``.
    series, sop : str or None
        SeriesInstanceUID and SOPInstanceUID as sent. A valid UID (PS3.5 §9.1) is used as it
        is; anything else becomes ``x-`` + the first 20 hex digits of its SHA-256, so the name
        is safe, stable across re-sends and different for different raw values. Missing values
        give ``unknown-series`` / ``unknown-instance``.

    Returns
    -------
    PurePosixPath
        Three components, none of them ever a raw invalid header string.
    """
    day = date if date is not None and is_valid_da(date) else "undated"
    return PurePosixPath(day, _uid_part(series, "unknown-series"),
                         _uid_part(sop, "unknown-instance") + ".dcm")


class _OutsideInbox(Exception):
    """The resolved target path is not under the inbox root."""


def _check_inside(path: Path, root: Path) -> None:
    # resolve() follows symlinks that already exist: a link inside the inbox pointing out fails.
    if not path.resolve().is_relative_to(root):
        raise _OutsideInbox(str(path))


def _loggable(value: str, limit: int = 80) -> str:
    # A hostile header may hold newlines or control characters: never let it forge log lines.
    return ascii(value[:limit])


def _header_text(ds: Dataset, keyword: str) -> str | None:
    value = ds.get(keyword)
    return None if value is None else str(value)


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
            value) or value <= 0:
        raise ValueError(f"The receiver's {name} must be a positive number of seconds "
                         f"(got {value!r}).")
    return float(value)


@dataclass(frozen=True, slots=True)
class ReceivedImage:
    """One image filed in the inbox."""

    path: Path
    sop_instance_uid: str
    series_instance_uid: str
    modality: str
    calling_ae: str


@dataclass(frozen=True, slots=True)
class RejectedAssociation:
    """An association refused by the AE policy (no patient data: titles and address only)."""

    calling_ae: str
    called_ae: str
    address: str
    why: str


class _Malformed(Exception):
    """The dataset cannot be filed as an image: refuse it with `status`, keep its bytes."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status
        self.why = why


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
        Address to bind. Default ``"127.0.0.1"`` (this computer only); ``"0.0.0.0"`` or ``""``
        for all network interfaces (what scanners on the network need), or one address.
    on_received : callable, optional
        Called (from the network thread) with each `ReceivedImage`, e.g. to notify the GUI.
    maximum_associations : int
        Simultaneous associations accepted (default 32; pynetdicom's own default is 10).
    acse_timeout : float
        Seconds a connection may wait for association negotiation (A-ASSOCIATE / A-RELEASE)
        before it is dropped (default 10): an idle TCP connection holds a slot this long.
    dimse_timeout : float
        Seconds to wait for a DIMSE message within an association (default 30).
    network_timeout : float
        Seconds an association may stay silent before it is aborted (default 30).
    allowed_ae_titles : iterable of str, optional
        Calling AE titles allowed to send (``"ANY"``: all). Default None: any title, but only
        from this computer (loopback); see `imgqa.io.ae_policy.AssociationPolicy`.
    allowed_hosts : iterable of str
        Addresses or networks (``10.1.2.0/24``) allowed to connect (default: no restriction
        beyond the AE titles).
    on_rejected : callable, optional
        Called (from the network thread) with each `RejectedAssociation`, e.g. so the GUI can
        say why a scanner's send failed. Must not block: the scanner waits for the answer.
    """

    inbox: Path
    port: int = 11112
    ae_title: str = "IMGQA"
    host: str = DEFAULT_HOST
    on_received: Callable[[ReceivedImage], None] | None = None
    maximum_associations: int = DEFAULT_MAX_ASSOCIATIONS
    acse_timeout: float = DEFAULT_ACSE_TIMEOUT_S
    dimse_timeout: float = DEFAULT_DIMSE_TIMEOUT_S
    network_timeout: float = DEFAULT_NETWORK_TIMEOUT_S
    allowed_ae_titles: Sequence[str] | None = None
    allowed_hosts: Sequence[str] = ()
    on_rejected: Callable[[RejectedAssociation], None] | None = None
    received: list[ReceivedImage] = field(default_factory=list, init=False)
    rejected: list[RejectedAssociation] = field(default_factory=list, init=False)
    quarantined: list[Path] = field(default_factory=list, init=False)
    policy: AssociationPolicy = field(init=False, repr=False)
    _server: object = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        m = self.maximum_associations
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ValueError("The receiver's maximum number of associations must be a whole "
                             f"number of at least 1 (got {m!r}).")
        self.acse_timeout = _positive("ACSE timeout", self.acse_timeout)
        self.dimse_timeout = _positive("DIMSE timeout", self.dimse_timeout)
        self.network_timeout = _positive("network timeout", self.network_timeout)
        # Validated here, so a bad title or address fails before anything listens.
        self.policy = AssociationPolicy.build(
            self.ae_title, None if self.allowed_ae_titles is None else self.allowed_ae_titles,
            self.allowed_hosts or ())

    def start(self) -> "StorageReceiver":
        """Start listening in the background; returns self. Already listening: nothing to do
        (``rx.start()`` to report a busy port, then ``with rx:`` to stop it at the end)."""
        if self._server is not None:
            return self
        from pynetdicom import AE, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        self.inbox = Path(self.inbox)
        self.inbox.mkdir(parents=True, exist_ok=True)
        ae = AE(ae_title=self.ae_title)
        ae.maximum_associations = self.maximum_associations
        # The ACSE timeout is also pynetdicom's ARTIM timer, started when a TCP connection is
        # accepted: a connection that never sends A-ASSOCIATE-RQ is closed when it expires.
        ae.acse_timeout = self.acse_timeout
        ae.dimse_timeout = self.dimse_timeout
        ae.network_timeout = self.network_timeout
        for cx in AllStoragePresentationContexts:
            ae.add_supported_context(str(cx.abstract_syntax), ALL_TRANSFER_SYNTAXES())
        ae.add_supported_context(Verification)
        handlers: list[Any] = [
            (evt.EVT_REQUESTED, self._handle_requested),
            (evt.EVT_C_STORE, self._handle_store), (evt.EVT_C_ECHO, lambda e: _SUCCESS)]
        server = ae.start_server((self.host, self.port), block=False, evt_handlers=handlers)
        if server is None:  # only with block=True
            raise OSError("the DICOM receiver did not start")
        self._server = server
        self.port = int(server.server_address[1])
        log.info("receiving DICOM as %s on %s port %d into %s (max %d associations, "
                 "timeouts ACSE %g s, DIMSE %g s, network %g s); %s", self.ae_title,
                 self.host or "all interfaces", self.port, self.inbox,
                 self.maximum_associations, self.acse_timeout, self.dimse_timeout,
                 self.network_timeout, self.policy.describe())
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()  # type: ignore[attr-defined]
            self._server = None

    def __enter__(self) -> "StorageReceiver":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- A-ASSOCIATE ------------------------------------------------------------------------
    def _handle_requested(self, event) -> None:  # noqa: ANN001 - pynetdicom event
        """EVT_REQUESTED: refuse (A-ASSOCIATE-RJ) what the policy does not accept."""
        assoc = event.assoc
        rq = assoc.requestor.primitive
        calling = str(getattr(rq, "calling_ae_title", "") or "").strip()
        called = str(getattr(rq, "called_ae_title", "") or "").strip()
        address = str(assoc.requestor.address)
        rejection = self.policy.decide(calling, called, address)
        if rejection is None:
            return
        refused = RejectedAssociation(calling, called, address, rejection.why)
        with self._lock:
            self.rejected.append(refused)
        log.warning("refused an association from AE title %s at %s addressed to %s: %s",
                    _loggable(calling), _loggable(address), _loggable(called), rejection.why)
        if self.on_rejected is not None:
            try:
                self.on_rejected(refused)
            except Exception:  # a listener must never keep the A-ASSOCIATE-RJ from going out
                log.exception("on_rejected callback failed")
        assoc.acse.send_reject(rejection.result, rejection.source, rejection.reason)
        # As pynetdicom does for its own rejections: wait until the A-ASSOCIATE-RJ has gone
        # and the peer has closed (or the ACSE timer expired) before the socket is shut.
        assoc.kill()

    # -- C-STORE ---------------------------------------------------------------------------
    def _handle_store(self, event) -> int:  # noqa: ANN001 - pynetdicom event
        try:
            ds = _checked_dataset(event)
        except _Malformed as exc:
            self._quarantine(event, exc.why)
            return exc.status
        try:
            # the bytes as the scanner sent them (with the file meta of the association's
            # transfer syntax): no re-encoding, and the file is the sender's image exactly
            path = self._file(ds, event.encoded_dataset(include_meta=True))
        except _OutsideInbox as exc:
            log.error("refused an image from %s: its inbox path %s resolves outside the inbox "
                      "%s (a link inside the inbox?)", _loggable(_calling_ae(event)),
                      _loggable(str(exc)), self.inbox)
            return _REFUSED_UNSAFE_PATH
        except OSError as exc:
            log.error("cannot write received image to the inbox: %s", exc.strerror or exc)
            return _OUT_OF_RESOURCES
        except Exception as exc:  # e.g. a header pydicom cannot encode: refuse, keep serving
            log.warning("received image could not be written", exc_info=True)
            self._quarantine(event, f"it could not be written as a DICOM file: {exc}")
            return _CANNOT_UNDERSTAND
        item = ReceivedImage(path, str(ds.get("SOPInstanceUID", "")),
                             str(ds.get("SeriesInstanceUID", "")), str(ds.get("Modality", "")),
                             _calling_ae(event))
        with self._lock:
            self.received.append(item)
        log.info("received %s %s from %s", _loggable(item.modality),
                 _loggable(item.sop_instance_uid), _loggable(item.calling_ae))
        if self.on_received is not None:
            try:
                self.on_received(item)
            except Exception:  # a listener must never make the scanner's send fail
                log.exception("on_received callback failed")
        return _SUCCESS

    def _file(self, ds: Dataset, raw: bytes) -> Path:
        day = next((d for d in (_header_text(ds, k) for k in
                                ("AcquisitionDate", "SeriesDate", "StudyDate"))
                    if d is not None and is_valid_da(d)), None)
        rel = inbox_relpath(day, _header_text(ds, "SeriesInstanceUID"),
                            _header_text(ds, "SOPInstanceUID"))
        root = self.inbox.resolve()
        folder = root.joinpath(*rel.parent.parts)
        _check_inside(folder, root)  # before mkdir: never create folders outside the inbox
        folder.mkdir(parents=True, exist_ok=True)
        _check_inside(folder, root)
        # Write beside the target then publish: a reader never sees a half-written file.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-", suffix=".dcm")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                flush_to_disk(fh)
            with self._lock:  # two associations may deliver the same SOP UID at once
                final = _publish(Path(tmp), folder, rel.stem)
            fsync_folder(folder)  # the new name itself survives a crash
            return final
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _quarantine(self, event, why: str) -> None:  # noqa: ANN001 - pynetdicom event
        """Keep a refused dataset's bytes, exactly as received, in ``inbox/quarantine/``.

        Named by the SHA-256 of the bytes (a re-send is kept once), with ``.txt`` beside it
        saying why. Never raises: quarantine is a courtesy, the refusal is what matters.
        """
        calling = _calling_ae(event)
        try:
            raw = event.encoded_dataset(include_meta=True)
            folder = Path(self.inbox) / QUARANTINE
            folder.mkdir(parents=True, exist_ok=True)
            stem = hashlib.sha256(raw).hexdigest()[:_HASH_CHARS]
            target = folder / f"{stem}.dcm"
            write_atomically(target, raw, prefix=".incoming-", durable=True)
            write_atomically(folder / f"{stem}.txt",
                             f"refused from AE title {calling}: {why}\n".encode(),
                             prefix=".incoming-", durable=True)
        except Exception:
            log.warning("refused a dataset from %s (%s); it could not be quarantined",
                        _loggable(calling), _loggable(why, 240), exc_info=True)
            return
        with self._lock:
            self.quarantined.append(target)
        log.warning("refused a dataset from %s: %s; kept as %s", _loggable(calling),
                    _loggable(why, 240), target)


def _checked_dataset(event) -> Dataset:  # noqa: ANN001 - pynetdicom event
    """The decoded dataset of a C-STORE, or `_Malformed` saying why it cannot be filed."""
    try:
        ds: Dataset = event.dataset
        ds.file_meta = event.file_meta
        # pydicom decodes lazily: touch every element now so a truncated or garbled stream
        # fails here, not later in a reader's hands.
        for _ in ds.iterall():
            pass
    except Exception as exc:
        raise _Malformed(_CANNOT_UNDERSTAND, f"it could not be decoded ({exc})") from None
    missing = [k for k in ("SOPClassUID", "SOPInstanceUID", "SeriesInstanceUID")
               if not str(ds.get(k, "") or "").strip()]
    if missing:
        raise _Malformed(_DOES_NOT_MATCH_SOP_CLASS, "it has no " + ", ".join(missing))
    short = _pixel_data_shortfall(ds)
    if short:
        raise _Malformed(_CANNOT_UNDERSTAND, f"its pixel data is {short} bytes shorter than "
                         "its rows, columns and bits declare (truncated?)")
    requested = str(getattr(event.request, "AffectedSOPInstanceUID", "") or "")
    if requested and str(ds.SOPInstanceUID) != requested:
        raise _Malformed(_DOES_NOT_MATCH_SOP_CLASS, "its SOP Instance UID differs from the "
                         "one in the C-STORE request")
    return ds


def _pixel_data_shortfall(ds: Dataset) -> int:
    """Bytes missing from native (uncompressed) Pixel Data; 0 when complete or not checkable
    (compressed, or no Image Pixel module: the loader reports those later in its own words)."""
    from pydicom.pixels.utils import get_expected_length

    try:
        if "PixelData" not in ds or ds.file_meta.TransferSyntaxUID.is_compressed:
            return 0
        expected = int(get_expected_length(ds, "bytes"))
        return max(0, expected - len(ds.PixelData))
    except Exception:
        return 0


def _publish(tmp: Path, folder: Path, stem: str) -> Path:
    """Give `tmp` its final name ``<stem>.dcm`` without ever replacing a different file.

    An existing file with identical bytes is a re-send: kept, `tmp` dropped. Different content
    under the same name (same SOP Instance UID, different image) goes to ``<stem>_2.dcm``,
    ``_3``...; "_" is in neither the UID nor the hashed alphabet, so it cannot meet a real name.
    """
    n = 1
    while True:
        final = folder / (f"{stem}.dcm" if n == 1 else f"{stem}_{n}.dcm")
        if final.exists():
            if filecmp.cmp(tmp, final, shallow=False):
                return final
            n += 1
            continue
        try:
            # link() never replaces an existing file (atomic no-clobber, also against another
            # process filing into the same inbox); replace() where links are not supported.
            os.link(tmp, final)
        except FileExistsError:
            continue  # appeared since exists(): look at it again
        except OSError:
            os.replace(tmp, final)
        if n > 1:
            log.warning("instance %s arrived again with different content: both kept, the new "
                        "one as %s", _loggable(stem), final.name)
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
