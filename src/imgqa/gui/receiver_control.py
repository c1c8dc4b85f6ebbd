"""Run the DICOM receiver (`imgqa.io.receiver.StorageReceiver`) inside the desktop application.

pynetdicom answers scanners on its own threads; the only thing its callback does here is emit
a Qt signal, which Qt queues to the GUI thread, so widgets only ever change there. Starting
binds the port at once (a busy or forbidden port is reported in words, not as an errno);
stopping shuts the server down and waits for it.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from imgqa.gui.state import ReceiverSettings
from imgqa.io.ae_policy import ANY, parse_ae_title, parse_host

if TYPE_CHECKING:
    from imgqa.io.receiver import ReceivedImage, RejectedAssociation, StorageReceiver

__all__ = ["ReceiverControl", "access_note", "port_problem", "refusal_reason", "split_names",
           "validate_receiver"]

log = logging.getLogger(__name__)

_DICOM_ALT_PORT = 11112  # the registered DICOM port for unprivileged use (PS3.8 annex G)
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
# No patient data here, but the peer chose these strings: show printable ASCII only.
_SHOWN = re.compile(r"[^ -~]")


def validate_receiver(rs: ReceiverSettings) -> list[str]:
    """What is wrong with these settings, in words (empty: fine). Does not touch the network.

    The AE title rules are those of DICOM PS3.5 (VR AE): 1–16 characters of the default
    character repertoire, no backslash, not only spaces.
    """
    problems = []
    title = rs.ae_title
    if not title.strip():
        problems.append("The AE title is empty: give the name the scanners will send to "
                        "(e.g. IMGQA).")
    elif len(title) > 16 or not all(32 <= ord(c) < 127 and c != "\\" for c in title):
        problems.append(f"The AE title {title!r} is not valid: use at most 16 letters, digits, "
                        "spaces or punctuation (no backslash).")
    if not 1 <= int(rs.port) <= 65535:
        problems.append(f"The port {rs.port} is not valid: use a number from 1 to 65535 "
                        f"({_DICOM_ALT_PORT} is the usual DICOM port).")
    inbox = rs.inbox_path()
    if inbox.exists() and not inbox.is_dir():
        problems.append(f"The inbox {inbox} is a file, not a folder.")
    for name in rs.allowed_ae_titles:
        if name.strip().upper() == ANY:
            continue
        try:
            parse_ae_title(name)
        except ValueError as exc:
            problems.append(f"Scanners allowed to send: {exc}.")
    for address in rs.allowed_hosts:
        try:
            parse_host(address)
        except ValueError as exc:
            problems.append(f"Allowed addresses: {exc}.")
    return problems


def split_names(text: str) -> tuple[str, ...]:
    """The names in a typed list: separated by commas when there is a comma (so an AE title
    may contain a space), else by spaces. Empty items are dropped, the order is kept."""
    parts = text.split(",") if "," in text else text.split()
    return tuple(p.strip() for p in parts if p.strip())


def _allows_any(rs: ReceiverSettings) -> bool:
    return any(t.strip().upper() == ANY for t in rs.allowed_ae_titles)


def access_note(rs: ReceiverSettings) -> str:
    """Who will be refused or let in with these settings, when that may surprise (else "").

    A warning, not an error: saving is allowed, but a technologist should know before a
    scanner's send fails (see `imgqa.io.ae_policy` for the rules).
    """
    network = rs.host not in _LOOPBACK
    if _allows_any(rs):
        if network:
            return ("Any scanner or program on the network can send images to imgqa. Name the "
                    "scanners' AE titles instead if you can.")
        return ""
    if not rs.allowed_ae_titles:
        if network:
            return ("Scanners on the network will be refused until you name them in "
                    "\"Scanners allowed to send\" (their AE titles, as set on each scanner). "
                    "Until then only programs on this computer can send.")
        return ""
    if not network:
        return ("Only programs on this computer can reach the receiver: tick \"Accept images "
                "from scanners on the network\" so the named scanners can send.")
    return ""


def _shown(text: str, limit: int = 40) -> str:
    text = _SHOWN.sub("?", str(text))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def refusal_reason(refused: RejectedAssociation, rs: ReceiverSettings) -> str:
    """Why an association was refused, in the words of the settings dialog."""
    called = str(refused.called_ae).strip()
    if called != rs.ae_title.strip():
        return f"it was sent to AE title {_shown(called)!r}, this receiver is {rs.ae_title!r}"
    if not rs.allowed_ae_titles:
        return ("no scanner is allowed yet: add its AE title to Settings → Scanners allowed "
                "to send")
    if not _allows_any(rs) and str(refused.calling_ae).strip() not in {
            t.strip() for t in rs.allowed_ae_titles}:
        return ("its AE title is not in Settings → Scanners allowed to send")
    return "its address is not in Settings → Allowed addresses"


def port_problem(host: str, port: int, exc: OSError | None = None) -> str | None:
    """Why `port` cannot be listened on (None when it can), in words a technologist follows.

    Without `exc`, tries to bind a throw-away socket (with SO_REUSEADDR, as pynetdicom does).
    """
    if exc is None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, int(port)))
            return None
        except OSError as err:
            exc = err
        finally:
            sock.close()
    code = exc.errno
    if code in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1), 10048):
        return (f"Port {port} is already in use by another program (another DICOM receiver, "
                "or `imgqa receive` running). Stop that program or choose another port.")
    if code in (errno.EACCES, errno.EPERM, getattr(errno, "WSAEACCES", -1), 10013):
        hint = (f" Ports below 1024 need administrator rights: use {_DICOM_ALT_PORT} "
                "or another port from 1024 up." if port < 1024 else "")
        return f"This computer does not allow imgqa to listen on port {port}.{hint}"
    if code in (errno.EADDRNOTAVAIL,):
        return f"The network address {host!r} does not belong to this computer."
    return f"Cannot listen on port {port}: {exc.strerror or exc}."


class ReceiverControl(QObject):
    """Starts, stops and reports the receiver; counts the images received while running.

    Signals
    -------
    received(object): a `ReceivedImage`, delivered on the GUI thread.
    refused(object): a `RejectedAssociation` (AE titles and address only), on the GUI thread.
    state_changed(): started, stopped, failed, or the count of new or refused changed.
    """

    received = Signal(object)
    refused = Signal(object)
    state_changed = Signal()
    _arrived = Signal(object)  # emitted on pynetdicom's thread, queued to ours
    _rejected = Signal(object)  # likewise, for refused associations

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = ReceiverSettings()
        self.error = ""
        self._rx: StorageReceiver | None = None
        # Series folders that received images this session and were not opened since.
        self.new_series: dict[Path, int] = {}
        # Associations refused since the receiver (re)started: a count and the last one.
        self.refused_count = 0
        self.last_refused: RejectedAssociation | None = None
        self._arrived.connect(self._on_arrived)  # a bound slot: queued across threads
        self._rejected.connect(self._on_rejected)
        # Called on pynetdicom's thread with each `ReceivedImage`, before the GUI hears of it:
        # the automatic analysis (`gui/auto_runner.py`) must see every acknowledged image even
        # while the GUI thread is busy. Taps must be quick and thread-safe.
        self.taps: list[Callable[[ReceivedImage], None]] = []

    @property
    def running(self) -> bool:
        return self._rx is not None

    @property
    def port(self) -> int:
        return int(self._rx.port) if self._rx is not None else int(self.settings.port)

    @property
    def inbox(self) -> Path:
        return self.settings.inbox_path()

    @property
    def new_images(self) -> int:
        return sum(self.new_series.values())

    def apply(self, rs: ReceiverSettings) -> bool:
        """Run the receiver as `rs` says (restarting it when a setting changed).

        Returns False (and sets `error`) when it should run but could not start.
        """
        same = rs == self.settings
        if self.running and same and rs.enabled:
            return True
        self.stop(notify=False)
        self.settings = rs
        self.error = ""
        self.refused_count, self.last_refused = 0, None
        if not rs.enabled:
            self.state_changed.emit()
            return True
        problems = validate_receiver(rs)
        if problems:
            self.error = " ".join(problems)
            self.state_changed.emit()
            return False
        from imgqa.io.receiver import StorageReceiver

        try:
            rx = StorageReceiver(inbox=rs.inbox_path(), port=int(rs.port),
                                 ae_title=rs.ae_title, host=rs.host,
                                 on_received=self._on_network_image,
                                 allowed_ae_titles=list(rs.allowed_ae_titles) or None,
                                 allowed_hosts=list(rs.allowed_hosts),
                                 on_rejected=self._rejected.emit)
        except ValueError as exc:  # validate_receiver should have caught it; say it anyway
            self.error = str(exc)
            self.state_changed.emit()
            return False
        try:
            rx.start()
        except OSError as exc:
            self.error = port_problem(rs.host, int(rs.port), exc) or str(exc)
            log.warning("receiver could not start: %s", self.error)
            self.state_changed.emit()
            return False
        self._rx = rx
        self.state_changed.emit()
        return True

    def stop(self, notify: bool = True) -> None:
        if self._rx is not None:
            rx, self._rx = self._rx, None
            rx.stop()
            log.info("receiver stopped")
        if notify:
            self.state_changed.emit()

    def mark_seen(self, folders) -> None:
        changed = False
        for f in folders:
            changed |= self.new_series.pop(Path(f), None) is not None
        if changed:
            self.state_changed.emit()

    def status_text(self) -> str:
        rs = self.settings
        if self.error:
            return f"Receiver stopped: {self.error}"
        if not self.running:
            return "Receiver off" if not rs.enabled else "Receiver stopped"
        n = self.new_images
        new = f" — {n} new image{'s' if n != 1 else ''}" if n else ""
        return f"Receiving as {rs.ae_title} on port {self.port}{new}{self.refused_text()}"

    def refused_text(self) -> str:
        """`` — 2 refused (last: CT_ROOM1 at 10.1.2.3)`` when associations were refused."""
        last = self.last_refused
        if not self.refused_count or last is None:
            return ""
        who = _shown(str(last.calling_ae).strip(), 16) or "no AE title"
        return f" — {self.refused_count} refused (last: {who} at {_shown(last.address)})"

    def refused_detail(self) -> str:
        """One sentence on the last refused association, for a tooltip or the inbox page."""
        last = self.last_refused
        if last is None:
            return ""
        who = _shown(str(last.calling_ae).strip(), 16) or "no AE title"
        return (f"Last refused: AE title {who} at {_shown(last.address)}, because "
                f"{refusal_reason(last, self.settings)}.")

    def _on_network_image(self, item: ReceivedImage) -> None:
        """pynetdicom's thread: hand the image to the taps, then queue it to the GUI."""
        for tap in list(self.taps):
            try:
                tap(item)
            except Exception:  # a listener must never fail a scanner's C-STORE
                log.exception("receiver tap failed")
        self._arrived.emit(item)

    def _on_rejected(self, item: RejectedAssociation) -> None:
        if self._rx is None:
            return  # from a receiver stopped since: not this run's business
        self.refused_count += 1
        self.last_refused = item
        self.refused.emit(item)
        self.state_changed.emit()

    def _on_arrived(self, item) -> None:
        folder = Path(item.path).parent
        self.new_series[folder] = self.new_series.get(folder, 0) + 1
        self.received.emit(item)
        self.state_changed.emit()
