"""E-mail notifications (issue 12): a failing automatic session, and the overdue tests.

Pure composition plus ``smtplib``; no Qt, no SQL (the caller hands in the store's plain
records). Two messages:

* **A saved session whose worst status reaches the notification level** (`imgqa.status`
  ranking; the level is a setting, ACTION by default): subject
  ``[imgqa] ACTION: <equipment> - <test> (session <id>)``; the body lists the results outside
  their limits first, then the others, each with its measurement label, value, unit, limits
  and status, and the session's id and uid.
* **The overdue digest**: the scheduled tests overdue beyond their grace window (the due list of
  ``imgqa due``, `imgqa.store.schedules`), each mailed at most once a UTC day; what was sent is
  remembered in a small JSON state file beside the settings (``notify-state.json``), so a
  restart or a cron job does not repeat it; a test is claimed there (under a file lock)
  before its digest is sent, so two processes checking at once do not both mail it.

No patient data goes into a message: equipment names, test and measurement labels, numbers,
statuses, dates and the session's id/uid only — never a patient name or ID, a file path, an
accession number or a link. A message that cannot be sent is logged (and counted, and kept as
the last error for ``imgqa notify show``); it never stops the service and never touches the
saved session. `Notifier` sends from one background thread so a slow SMTP server does not hold
up the analysis of the next series.
"""

from __future__ import annotations

import contextlib
import email.policy
import json
import logging
import os
import queue
import smtplib
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from imgqa.errors import NotificationError
from imgqa.formatting import format_value
from imgqa.io.atomic_write import write_atomically
from imgqa.service.notify_settings import (
    NotifySettings,
    password,
    settings_path,
    settings_problems,
)
from imgqa.status import BY_SEVERITY, rank

if TYPE_CHECKING:
    from imgqa.evaluate import Limits
    from imgqa.store.records import ResultRow, SessionRecord
    from imgqa.store.schedules import DueItem

__all__ = ["Mail", "NotifyState", "Notifier", "compose_overdue", "compose_session",
           "compose_test", "limits_text", "reaches_level", "send_mail"]

log = logging.getLogger(__name__)

_SUBJECT_PREFIX = "[imgqa]"


@dataclass(frozen=True, slots=True)
class Mail:
    """A plain-text message before it is addressed."""

    subject: str
    body: str


def reaches_level(worst_status: str | None, level: str) -> bool:
    """Whether a session's worst status is at or above the notification level.

    >>> reaches_level("ACTION", "TOLERANCE"), reaches_level("TOLERANCE", "ACTION")
    (True, False)
    >>> reaches_level(None, "TOLERANCE"), reaches_level("NO_TOL", "TOLERANCE")
    (False, False)
    """
    return worst_status is not None and rank(level) >= 0 and rank(worst_status) >= rank(level)


def _title(protocol: str) -> str:
    """A test's human title with its name, or the name alone (an older or unknown protocol)."""
    from imgqa.protocols.base import protocol_title  # the registry loads on first use only

    title = protocol_title(protocol)
    return protocol if title == protocol else f"{title} ({protocol})"


def _label(protocol: str, measurement: str) -> str:
    from imgqa.protocols.base import measurement_label

    return measurement_label(protocol, measurement)


def _range(low: float | None, high: float | None) -> str | None:
    if low is None and high is None:
        return None
    if low is None:
        return f"<= {format_value(high)}"
    if high is None:
        return f">= {format_value(low)}"
    return f"{format_value(low)} to {format_value(high)}"


def limits_text(lim: Limits | None, unit: str = "") -> str:
    """Absolute limits in words, e.g. ``"tolerance -2 to 2 HU; action -5 to 5 HU"``.

    >>> from imgqa.evaluate import Limits
    >>> limits_text(Limits(-5.0, None, None, 5.0), "HU")
    'action -5 to 5 HU'
    >>> limits_text(None)
    'no limits'
    """
    if lim is None:
        return "no limits"
    parts = [f"{name} {r}{' ' + unit if unit else ''}"
             for name, r in (("tolerance", _range(lim.tol_low, lim.tol_high)),
                             ("action", _range(lim.act_low, lim.act_high))) if r]
    return "; ".join(parts) or "no limits"


def _result_line(r: ResultRow, with_test: bool) -> str:
    label = _label(r.protocol, r.measurement)
    what = f"{r.protocol}: {label}" if with_test else label
    value = f"{format_value(r.value)} {r.unit}".rstrip()
    return (f"  {(r.status or 'not judged'):<10} {what} = {value}  "
            f"({limits_text(r.limits, r.unit)})")


def compose_session(session: SessionRecord, rows: Sequence[ResultRow]) -> Mail:
    """The message for one saved session (its worst status, its results and their limits).

    Parameters
    ----------
    session : SessionRecord
        The saved session (`imgqa.store.Store.save_session`'s record).
    rows : sequence of ResultRow
        Its judged results (`Store.session_results`).
    """
    worst = session.worst_status or "not judged"
    tests = ", ".join(_title(p) for p in session.protocols) or "no test"
    short = ", ".join(session.protocols) or "no test"
    subject = (f"{_SUBJECT_PREFIX} {worst}: {session.equipment_name} - {short} "
               f"(session {session.id})")
    with_test = len(session.protocols) > 1
    ordered = sorted(rows, key=lambda r: -rank(r.status))
    failing = [r for r in ordered if rank(r.status) > rank("OK")]
    when = session.performed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"A QC session saved by imgqa is {worst} and waits for review.",
        "",
        f"Equipment:     {session.equipment_name}",
        f"Test:          {tests}",
        f"Performed:     {when}",
        f"Worst status:  {worst}",
        f"Session:       {session.id} (uid {session.uid})",
        "",
    ]
    others = [r for r in ordered if rank(r.status) <= rank("OK")]
    if failing:
        lines += ["Outside the limits:"] + [_result_line(r, with_test) for r in failing] + [""]
    if others:
        lines += ["Other results:"] + [_result_line(r, with_test) for r in others]
    lines += ["", "Review it in imgqa (Review tab) or with `imgqa review`; statuses rank "
              + " < ".join(BY_SEVERITY) + ".", ""]
    return Mail(subject, "\n".join(lines))


def compose_overdue(items: Sequence[DueItem], today: date) -> Mail:
    """The digest of overdue tests (the due list's ``overdue`` items)."""
    n = len(items)
    subject = f"{_SUBJECT_PREFIX} {n} QC test{'s' if n != 1 else ''} overdue ({today.isoformat()})"
    lines = [f"{n} scheduled QC test{'s are' if n != 1 else ' is'} overdue beyond the grace "
             f"window on {today.isoformat()}:", ""]
    for d in items:
        last = d.last_session.isoformat() if d.last_session else "never"
        lines.append(f"  {d.equipment}: {_title(d.protocol)} - due {d.due_date.isoformat()}, "
                     f"{d.days_overdue} day(s) overdue (grace {d.grace_days} d), last done "
                     f"{last}")
    lines += ["", "The full list: `imgqa due` (or the Due view). Each test is mailed at most "
              "once a day.", ""]
    return Mail(subject, "\n".join(lines))


def compose_test(settings: NotifySettings) -> Mail:
    """A test message saying where it came from (``imgqa notify test``)."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return Mail(f"{_SUBJECT_PREFIX} test message",
                f"This is a test message from imgqa, sent at {now} through "
                f"{settings.host}:{settings.port}.\nQC notifications at level {settings.level} "
                f"and above will arrive like this one.\n")


def _reason(exc: BaseException, s: NotifySettings) -> str:
    """What went wrong in a technologist's words (never the password)."""
    where = f"{s.host}:{s.port}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the server {where} refused the login of {s.user!r}"
    if isinstance(exc, smtplib.SMTPNotSupportedError) and s.starttls:
        return f"the server {where} does not offer STARTTLS (switch STARTTLS off or use its " \
               "submission port)"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the server {where} refused the recipient(s) {', '.join(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"the server {where} refused the sender {s.sender!r}"
    if isinstance(exc, ConnectionRefusedError):
        return f"nothing accepts connections at {where}"
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return f"no answer from {where} within {s.timeout_s:g} s"
    if isinstance(exc, socket.gaierror):
        return f"the server name {s.host!r} cannot be resolved"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (f"the certificate of {where} is not trusted ({exc.verify_message}): give the "
                "certificate of the authority that signed it as the CA file")
    if isinstance(exc, ssl.SSLError):
        hint = " (does the server expect STARTTLS on port 587 instead of SSL?)" if s.ssl else ""
        return f"the TLS connection to {where} failed ({exc.reason or exc}){hint}"
    return f"{type(exc).__name__} from {where}: {exc}"


def _tls_context(settings: NotifySettings) -> ssl.SSLContext:
    """The system's trusted CAs plus the settings' CA file; certificate and host name checked."""
    context = ssl.create_default_context()
    if settings.ca_file:
        context.load_verify_locations(cafile=str(Path(settings.ca_file).expanduser()))
    return context


def _connect(settings: NotifySettings) -> smtplib.SMTP:
    if settings.ssl:
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout_s,
                                context=_tls_context(settings))
    return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s)


def send_mail(settings: NotifySettings, mail: Mail) -> None:
    """Send one message through the SMTP server of ``settings`` (even when they are disabled).

    Raises
    ------
    NotificationError
        Incomplete settings, no password for the login, or the server failed (the message
        says which, and never contains the password).
    """
    problems = settings_problems(replace(settings, enabled=True))
    if problems:
        raise NotificationError("E-mail cannot be sent: " + "; ".join(problems) + ".")
    secret = password(settings)
    # no folding below RFC 5322's 998 characters: Python folds a long subject before its first
    # word, and some mail clients then show it with a leading space
    msg = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    msg["Subject"] = mail.subject
    msg["From"] = settings.sender
    msg["To"] = ", ".join(settings.to)
    msg["Date"] = formatdate(localtime=True)
    # the sender's domain, not socket.getfqdn(): a slow reverse lookup must not delay sending
    msg["Message-ID"] = make_msgid("imgqa", domain=settings.sender.rpartition("@")[2])
    msg.set_content(mail.body)
    try:
        with _connect(settings) as smtp:
            if settings.starttls:
                smtp.starttls(context=_tls_context(settings))
            if settings.user:
                smtp.login(settings.user, secret or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise NotificationError(f"The e-mail {mail.subject!r} was not sent: "
                                f"{_reason(exc, settings)}.") from exc


class NotifyState:
    """What was mailed, kept in a JSON file: the overdue tests per day, and the last attempt.

    Parameters
    ----------
    path : path, optional
        Default ``notify-state.json`` beside the settings file.
    """

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else \
            settings_path().with_name("notify-state.json")
        self._lock = threading.Lock()

    def read(self) -> dict[str, Any]:
        """The state (empty when absent or unreadable: at worst a digest is sent again)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"),
                         prefix=".notify-state-")

    @contextlib.contextmanager
    def _exclusive(self) -> Iterator[None]:
        """This process's threads, and other processes (``imgqa serve`` and a cron ``imgqa due
        --notify``), one at a time: a lock file beside the state file (best effort where the
        file system cannot lock)."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path.with_name(self.path.name + ".lock"),
                             os.O_RDWR | os.O_CREAT, 0o600)
            except OSError as exc:
                log.warning("cannot lock the notification state %s: %s", self.path, exc)
                yield
                return
            try:
                _lock_file(fd)
                yield
            finally:
                os.close(fd)  # closing releases the lock

    def update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Read, change and write back, exclusively; returns what ``change`` returns. A failure
        to write is logged, not raised."""
        with self._exclusive():
            data = self.read()
            out = change(data)
            try:
                self._write(data)
            except OSError as exc:
                log.warning("cannot record the notification state in %s: %s", self.path, exc)
            return out

    def claim_overdue(self, keys: Sequence[str], day: str, ttl_s: float) -> list[str]:
        """The keys not mailed on ``day`` and not being mailed by another process, now claimed
        by this one (a claim older than ``ttl_s`` seconds is a crashed sender's: ignored)."""
        now_s = time.time()

        def change(data: dict[str, Any]) -> list[str]:
            sent = data.get("overdue_sent", {})
            claims = data.setdefault("overdue_claims", {})
            for k in [k for k, c in claims.items() if not isinstance(c, dict)
                      or c.get("day") != day or now_s - float(c.get("at", 0)) > ttl_s]:
                del claims[k]
            mine = [k for k in dict.fromkeys(keys)
                    if (not isinstance(sent, dict) or sent.get(k) != day) and k not in claims]
            claims.update({k: {"day": day, "at": now_s, "pid": os.getpid()} for k in mine})
            return mine

        return list(self.update(change))

    def release_overdue(self, keys: Sequence[str]) -> None:
        """Drop this process's claims (the digest was not sent: the next check tries again)."""
        def change(data: dict[str, Any]) -> None:
            claims = data.get("overdue_claims", {})
            for k in keys:
                claims.pop(k, None)
        self.update(change)

    def overdue_sent(self) -> dict[str, str]:
        """``"<equipment id>/<protocol>"`` → the ISO day its overdue notice was mailed."""
        sent = self.read().get("overdue_sent", {})
        return {str(k): str(v) for k, v in sent.items()} if isinstance(sent, dict) else {}


_Job = tuple[Mail, Callable[[], None] | None, tuple[str, ...]]


def _lock_file(fd: int) -> None:
    """Block until this process holds an exclusive lock on the open file ``fd``."""
    if sys.platform == "win32":  # pragma: no cover - Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_LOCK, 1)  # retries for 10 s, then raises
                return
            except OSError:
                continue
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_EX)


def _key(item: DueItem) -> str:
    return f"{item.equipment_id}/{item.protocol}"


class Notifier:
    """Decides what to mail and sends it from one background thread.

    Parameters
    ----------
    settings : NotifySettings
    state : NotifyState, optional
        Where sent overdue notices and the last attempt are remembered.
    send : callable
        ``send(settings, mail)`` (default `send_mail`; raises `NotificationError`).
    report : callable, optional
        Called with one line per attempt (``imgqa serve`` prints it).

    Attributes
    ----------
    sent, failed : int
        Messages sent and failed so far.
    last_error : str
        The last failure, in words ("" if none).
    """

    def __init__(self, settings: NotifySettings, state: NotifyState | None = None, *,
                 send: Callable[[NotifySettings, Mail], None] = send_mail,
                 report: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.state = state or NotifyState()
        self._send = send
        self.report = report
        self.sent = 0
        self.failed = 0
        self.last_error = ""
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._pending: set[str] = set()  # overdue keys queued and not yet sent
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        """Enabled and complete enough to try sending."""
        return self.settings.enabled and not settings_problems(self.settings)

    def session_saved(self, session: SessionRecord, rows: Sequence[ResultRow]) -> bool:
        """Queue the message for a saved session at or above the level; True if queued."""
        if not self.active or not reaches_level(session.worst_status, self.settings.level):
            return False
        self._enqueue(compose_session(session, rows))
        return True

    def overdue(self, items: Iterable[DueItem], today: date | None = None) -> int:
        """Queue one digest of the tests overdue beyond grace and not yet mailed today.

        Returns how many tests it lists (0: nothing queued). A test is marked as mailed for
        ``today`` only once the message has gone, so a failed digest is tried again.
        """
        if not self.active or not self.settings.overdue:
            return 0
        day = (today or datetime.now(UTC).date()).isoformat()
        with self._lock:
            waiting = [d for d in items if d.status == "overdue" and _key(d) not in self._pending]
            # claimed in the shared state file, so two processes checking at the same moment
            # do not both mail the same test; a claim lapses if its sender dies
            claimed = set(self.state.claim_overdue([_key(d) for d in waiting], day,
                                                   ttl_s=max(600.0, 6 * self.settings.timeout_s)))
            new = [d for d in waiting if _key(d) in claimed]
            self._pending.update(_key(d) for d in new)
        if not new:
            return 0
        keys = [_key(d) for d in new]

        def mark() -> None:
            def change(data: dict[str, Any]) -> None:
                done = data.setdefault("overdue_sent", {})
                done.update(dict.fromkeys(keys, day))
                # forget notices older than today: the file stays one entry per test
                for k in [k for k, v in done.items() if v != day]:
                    del done[k]
                claims = data.get("overdue_claims", {})
                for k in keys:
                    claims.pop(k, None)
            self.state.update(change)

        self._enqueue(compose_overdue(new, date.fromisoformat(day)), mark, keys)
        return len(new)

    def _enqueue(self, mail: Mail, on_sent: Callable[[], None] | None = None,
                 keys: Sequence[str] = ()) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="imgqa-notify",
                                                daemon=True)
                self._thread.start()
        self._queue.put((mail, on_sent, tuple(keys)))

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                self._attempt(*job)
            except Exception:  # a broken report or state file must not end the sender
                log.exception("notification bookkeeping failed")
            finally:
                self._queue.task_done()

    def _attempt(self, mail: Mail, on_sent: Callable[[], None] | None,
                 keys: tuple[str, ...]) -> None:
        try:
            self._send(self.settings, mail)
        except Exception as exc:  # any failure: logged and counted, the service goes on
            self.failed += 1
            self.last_error = exc.message if isinstance(exc, NotificationError) else str(exc)
            log.warning("notification not sent: %s", self.last_error)
            self._record(mail, self.last_error)
            if keys:
                self.state.release_overdue(keys)
        else:
            self.sent += 1
            log.info("notification sent: %s", mail.subject)
            self._record(mail, "")
            if on_sent is not None:
                on_sent()
        finally:
            with self._lock:
                self._pending.difference_update(keys)

    def _record(self, mail: Mail, error: str) -> None:
        line = (f"e-mail sent to {', '.join(self.settings.to)}: {mail.subject}" if not error
                else f"e-mail NOT sent: {error}")
        if self.report is not None:
            self.report(line)

        def change(data: dict[str, Any]) -> None:
            data["last"] = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                            "subject": mail.subject, "ok": not error, "error": error}
        self.state.update(change)

    def drain(self) -> None:
        """Wait until every queued message has been tried."""
        if self._thread is not None:
            self._queue.join()

    def close(self, timeout_s: float | None = None) -> None:
        """Try what is queued (at most ``timeout_s`` seconds), then stop the thread."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(timeout_s)
