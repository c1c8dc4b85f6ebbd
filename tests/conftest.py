"""Shared fixtures: where the real scanner images are, a Qt-free default environment, and the
loopback network peers the receiver and e-mail tests talk to (a free port, a DICOM sender, a
throwaway SMTP server)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from imgqa import _lean_imports

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The libraries are imported as the imgqa command imports them: pydicom's image codecs on first
# use (so every compressed-image test also checks `_lean_imports.ensure_codecs` call sites).
LEAN_IMPORTS = _lean_imports.apply()

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONTRACTS = SHARED_DATA.parent / "contracts"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real phantom images); present in CI, tests skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def contracts_dir() -> Path:
    if not CONTRACTS.is_dir():
        pytest.skip("../shared/contracts is not present")
    return CONTRACTS


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's database or settings from a test."""
    home = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("IMGQA_DATA_DIR", str(home))
    monkeypatch.delenv("IMGQA_DB", raising=False)
    monkeypatch.delenv("IMGQA_ARCHIVE", raising=False)   # no test archives into a real share


def _without_timestamps(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_timestamps(v) for k, v in obj.items() if k != "created"}
    if isinstance(obj, list):
        return [_without_timestamps(v) for v in obj]
    return obj


@pytest.fixture(scope="session")
def serve_until() -> Callable[..., tuple[list[str], str, str, int]]:
    """A function running ``imgqa --db DB serve --no-listen --watch DIR`` (quiet and poll
    0.3 s) as a real process until ``done(lines read so far)`` is true, then stopping it with
    SIGTERM; it returns (the lines read, the rest of stdout, stderr, the exit code). The
    process is killed after 240 s, so that a regression fails instead of hanging."""

    def run(db: Path | str, watched: Path, inbox: Path, done: Callable[[list[str]], bool],
            **env: str) -> tuple[list[str], str, str, int]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "imgqa.cli.main", "--db", str(db), "serve", "--no-listen",
             "--watch", str(watched), "--quiet", "0.3", "--poll", "0.3", "--inbox", str(inbox)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT / "src"), **env))
        killer = threading.Timer(240, proc.kill)
        killer.start()
        seen: list[str] = []
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                seen.append(line)
                if done(seen):
                    break
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=120)
        finally:
            killer.cancel()
        return seen, out, err, proc.returncode

    return run


@pytest.fixture(scope="session")
def without_timestamps() -> Callable[[Any], Any]:
    """A function giving `imgqa analyse`'s JSON (or any part of it) minus what legitimately
    differs between two runs of the same analysis: every ``created`` timestamp."""
    return _without_timestamps


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """A function giving a TCP port free on the loopback interface at the time of the call."""

    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    return pick


@pytest.fixture
def dicom_send() -> Callable[..., list[int] | None]:
    """``send(port, items, calling="SCANNER", called="IMGQA", contexts=None)``: C-STORE each
    item (a file path or a dataset) to a receiver on loopback in one association, as a scanner
    does. Returns the statuses as integers, or None when the association is refused.
    ``contexts`` are the SOP classes to propose (default: those of the items)."""
    import pydicom
    from pynetdicom import AE

    def send(port: int, items: Sequence[Any], calling: str = "SCANNER", called: str = "IMGQA",
             contexts: Sequence[str] | None = None) -> list[int] | None:
        datasets = [pydicom.dcmread(x) if isinstance(x, (str, os.PathLike)) else x
                    for x in items]
        ae = AE(ae_title=calling)
        ae.acse_timeout = ae.network_timeout = 5
        for uid in dict.fromkeys(contexts or [str(ds.SOPClassUID) for ds in datasets]):
            ae.add_requested_context(uid)
        assoc = ae.associate("127.0.0.1", port, ae_title=called)
        if not assoc.is_established:
            return None
        try:
            return [int(assoc.send_c_store(ds).Status) for ds in datasets]
        finally:
            assoc.release()

    return send


class SmtpInbox:
    """aiosmtpd handler keeping every message it receives, and whether it came over TLS."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s   # a slow server: two senders overlap
        self.messages: list[tuple[list[str], bytes]] = []
        self.tls: list[bool] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        # STARTTLS records its TLS in the session; implicit TLS is the transport's own
        self.tls.append(session.ssl is not None
                        or server.transport.get_extra_info("ssl_object") is not None)
        return "250 OK"

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default)  # type: ignore[misc]
                for _, raw in self.messages]

    @property
    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.parsed()]


@pytest.fixture
def smtp_server(free_port) -> Iterator[Callable[..., tuple[SmtpInbox, int]]]:
    """``start(delay_s=0.0, **controller_options)`` → ``(inbox, port)``: a throwaway SMTP
    server (aiosmtpd) on loopback; every server started is stopped after the test."""
    controller = pytest.importorskip("aiosmtpd.controller")
    started: list[Any] = []

    def start(delay_s: float = 0.0, **options: Any) -> tuple[SmtpInbox, int]:
        inbox = SmtpInbox(delay_s)
        ctl = controller.Controller(inbox, hostname="127.0.0.1", port=free_port(), **options)
        ctl.start()
        started.append(ctl)
        return inbox, int(ctl.port)

    yield start
    for ctl in reversed(started):
        ctl.stop()
