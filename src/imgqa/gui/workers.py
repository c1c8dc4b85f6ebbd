"""Run slow work (loading, analysis, database) off the GUI thread; only signals come back.

A job is a plain function ``job(progress) -> value``. It runs on a `QThreadPool` thread and
reports through `Progress` (``report`` for the progress bar, ``emit`` for partial results,
``check`` to stop early when the user pressed Cancel). The `Task` re-emits everything as Qt
signals, which Qt delivers to slots on the GUI thread (queued connections), so widgets are only
ever changed there.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from imgqa.errors import ImgqaError

__all__ = ["Cancelled", "Progress", "Task", "TaskRunner"]

log = logging.getLogger(__name__)


class Cancelled(Exception):
    """Raised inside a job by `Progress.check` after the user cancelled it."""


class Progress:
    """What a job gets to talk to the GUI; safe to call from the worker thread."""

    def __init__(self, signals: "TaskSignals", cancel: threading.Event) -> None:
        self._signals = signals
        self._cancel = cancel

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def report(self, done: int, total: int, text: str = "") -> None:
        self._signals.progress.emit((int(done), int(total), str(text)))

    def emit(self, item: Any) -> None:
        """Hand a partial result to the GUI while the job goes on."""
        self._signals.partial.emit(item)


class TaskSignals(QObject):
    # One Python object per emission: PySide6 6.12 mis-counts references of queued
    # (int, int, str) arguments across threads (a crash at exit after many emissions).
    progress = Signal(object)       # (done, total, text)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str, str)      # message, hint
    cancelled = Signal()
    finished = Signal()            # always, after done/failed/cancelled


class Task(QRunnable):
    """One job on a thread pool. Create it on the GUI thread (its signals live there)."""

    def __init__(self, job: Callable[[Progress], Any], name: str = "") -> None:
        super().__init__()
        self.setAutoDelete(False)  # Python owns it; see TaskRunner for when it is released
        self.name = name or getattr(job, "__name__", "task")
        self.signals = TaskSignals()
        self._job = job
        self._cancel = threading.Event()
        self.is_finished = False
        self.finished_at = 0.0

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:  # worker thread
        sig = self.signals
        try:
            value = self._job(Progress(sig, self._cancel))
            if self._cancel.is_set():
                sig.cancelled.emit()
            else:
                sig.done.emit(value)
        except Cancelled:
            sig.cancelled.emit()
        except ImgqaError as exc:
            sig.failed.emit(exc.message, exc.hint)
        except Exception as exc:  # never let a worker die silently; the log has the traceback
            log.exception("%s crashed", self.name)
            sig.failed.emit(f"{self.name} stopped unexpectedly: {type(exc).__name__}: {exc}",
                            "Details are in the log.")
        finally:
            self.is_finished = True
            self.finished_at = time.monotonic()
            sig.finished.emit()


class TaskRunner(QObject):
    """Starts tasks on its own pool and keeps them alive until they finish."""

    def __init__(self, max_threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        if max_threads:
            self.pool.setMaxThreadCount(max_threads)
        self._tasks: set[Task] = set()
        # Finished tasks are kept a little longer: the pool thread may still be returning from
        # run() when the GUI hears "finished", and freeing the runnable then would crash.
        # (Handing the pool a plain callable instead trips a PySide6 reference-count bug.)
        self._done: list[Task] = []

    def start(self, job: Callable[[Progress], Any], *, name: str = "",
              on_done: Callable[[Any], None] | None = None,
              on_failed: Callable[[str, str], None] | None = None,
              on_progress: Callable[[int, int, str], None] | None = None,
              on_partial: Callable[[Any], None] | None = None,
              on_cancelled: Callable[[], None] | None = None,
              on_finished: Callable[[], None] | None = None) -> Task:
        task = Task(job, name)
        s = task.signals
        if on_progress is not None:
            s.progress.connect(lambda value, cb=on_progress: cb(*value))
        for signal, slot in ((s.done, on_done), (s.failed, on_failed), (s.partial, on_partial),
                             (s.cancelled, on_cancelled), (s.finished, on_finished)):
            if slot is not None:
                signal.connect(slot)
        s.finished.connect(lambda t=task: self._tasks.discard(t))
        self._tasks.add(task)
        self.pool.start(task.run)
        return task

    def _retire(self, task: Task) -> None:
        self._tasks.discard(task)
        self._done.append(task)

    def _purge(self) -> None:
        now = time.monotonic()
        idle = self.pool.activeThreadCount() == 0
        self._done = [t for t in self._done if not (idle or now - t.finished_at > 2.0)]

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def cancel_all(self) -> None:
        for t in list(self._tasks):
            t.cancel()

    def wait(self, msecs: int = 30000) -> bool:
        return self.pool.waitForDone(msecs)
