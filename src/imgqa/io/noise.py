"""Keep what pixel decoders say (log records, warnings) out of stderr and in imgqa's messages.

pydicom logs a decoder's exception with its traceback (``LOGGER.exception``) before raising its
own summary, and the decoder plugins log or warn too. With the CLI's logging configured, a
truncated RLE file printed a traceback on stderr although imgqa's per-file message already said
what was wrong (issue 19, finding 6). Inside `captured()` everything those libraries log or warn
*from the current thread* is collected instead, so the caller can put it in its message; other
threads (and everything outside the block) are untouched, which keeps decoding thread-safe.

Native decoders can also write to the process's stderr themselves: the Rust RLE decoder's panic
message ("thread '<unnamed>' panicked at ...", with a backtrace) on damaged RLE data. Python
cannot intercept that except at file descriptor 2, so `native_stderr()` points descriptor 2 at a
temporary file around a native decode (one decode at a time: the descriptor is process-wide).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["captured", "detail", "native_stderr"]

# Loggers of pydicom and of the decoder plugins it calls (and their children).
_PREFIXES = ("pydicom", "pylibjpeg", "openjpeg", "jpeg_ls", "rle", "gdcm", "libjpeg", "PIL")

_state = threading.local()


class _Collect(logging.Filter):
    """Diverts a record into the current thread's notes while a capture is active."""

    def filter(self, record: logging.LogRecord) -> bool:
        notes = getattr(_state, "notes", None)
        if notes is None:
            return True
        notes.append(record.getMessage())
        return False


_FILTER = _Collect()
_seen_loggers = -1
_install_lock = threading.Lock()


def _install() -> None:
    """Attach the filter to every logger of those libraries (a logger's filters only see
    records made by that very logger, so children need it too) and wrap showwarning."""
    global _seen_loggers
    loggers = logging.Logger.manager.loggerDict
    if len(loggers) == _seen_loggers and getattr(warnings.showwarning, "_imgqa_capture", False):
        return  # nothing new since the last call (checked again under the lock otherwise)
    with _install_lock:
        if len(loggers) != _seen_loggers:
            for name in [*_PREFIXES, *list(loggers)]:
                if name.split(".")[0] in _PREFIXES:
                    logger = logging.getLogger(name)
                    if _FILTER not in logger.filters:
                        logger.addFilter(_FILTER)
            _seen_loggers = len(loggers)
        if not getattr(warnings.showwarning, "_imgqa_capture", False):
            warnings.showwarning = _wrap_showwarning(warnings.showwarning)


def _wrap_showwarning(previous):
    def showwarning(message, category, filename, lineno, file=None, line=None):
        notes = getattr(_state, "notes", None)
        if notes is None:
            return previous(message, category, filename, lineno, file, line)
        notes.append(str(message))
        return None

    showwarning._imgqa_capture = True  # type: ignore[attr-defined]
    return showwarning


def captured() -> _Capture:
    """Collect decoder log messages and warnings of this thread into the list the ``with``
    statement gives (``with captured() as notes``)."""
    return _Capture()


class _Capture:
    """The context manager of `captured` (a class: a generator-based one cost ~2 µs per file
    read, every header being read inside one)."""

    __slots__ = ("notes", "outer")

    def __enter__(self) -> list[str]:
        _install()
        self.outer: list[str] | None = getattr(_state, "notes", None)
        self.notes: list[str] = []
        _state.notes = self.notes
        return self.notes

    def __exit__(self, *exc: object) -> None:
        _state.notes = self.outer
        if self.outer is not None:
            self.outer.extend(self.notes)


def detail(notes: list[str], limit: int = 300) -> str:
    """The distinct notes, first lines only, joined for a one-line message."""
    lines = list(dict.fromkeys(n.strip().splitlines()[0] for n in notes if n.strip()))
    return "; ".join(lines)[:limit]


_fd_lock = threading.Lock()
_sink: list = []  # one temporary file, reused (making one per decode cost ~0.25 ms)


def _flush_stderr() -> None:
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    except (OSError, ValueError):
        pass


@contextmanager
def native_stderr(notes: list[str]) -> Iterator[None]:
    """Divert what native code writes on file descriptor 2 into `notes` (first lines).

    Serialised by a lock because the descriptor is shared by all threads; anything another
    thread prints in that window (milliseconds) lands in the notes too, which is accepted.
    Without a usable descriptor 2 (a windowed app) nothing is diverted.
    """
    with _fd_lock:
        _flush_stderr()
        try:
            saved = os.dup(2)
        except OSError:
            saved = -1
        if saved < 0:
            yield
            return
        if not _sink:
            _sink.append(tempfile.TemporaryFile())
        sink = _sink[0]
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
        if os.fstat(sink.fileno()).st_size == 0:
            return
        sink.seek(0)
        text = sink.read(64 * 1024).decode("utf-8", "replace")
        sink.seek(0)
        sink.truncate()
    lines = [ln.strip() for ln in text.splitlines()
             if ln.strip() and not ln.startswith((" ", "\t", "stack backtrace", "note:"))]
    # "thread '<unnamed>' panicked at src/lib.rs:487:24:" then the reason: keep the reason.
    notes.extend(ln for ln in lines if "panicked at" not in ln)
    if not lines and text.strip():
        notes.append(text.strip().splitlines()[0])
