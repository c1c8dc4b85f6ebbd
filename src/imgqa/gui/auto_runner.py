"""Automatic QC inside the desktop application: what ``imgqa serve`` does, on a worker thread.

`AutomaticRunner` runs the service's pipeline (`imgqa.service.pipeline.AutomaticQC` handing
each complete series to `imgqa.service.saving.SessionSaver`: routed by the stored routing
rules, analysed, judged and saved as a session *pending review*) on one Python thread of its
own, with its own connection to the results database, so an analysis never blocks the window
or the GUI's database thread. The receiver feeds it through a tap
(`ReceiverControl.taps`, called on pynetdicom's thread for every acknowledged image), and a
watched folder (a share a scanner exports to, as ``imgqa serve --watch``) is polled by the
same thread (`imgqa.service.watcher.DirectoryWatcher`).

Stopping: the receiver is stopped first (no new image is acknowledged), then `stop` lets the
thread analyse and save every series it already holds (`AutomaticQC.flush`), as ``imgqa
serve`` does on SIGTERM, and close its database connection.

What the status panel shows comes from here: the queue (series waiting for their quiet period,
the series being analysed), the last association (a burst of images from one calling AE
title: pynetdicom tells the store handler the calling AE, not the association, so images of
one AE title less than `BURST_GAP_S` apart count as one send) and each series' outcome.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSettings, Signal

if TYPE_CHECKING:
    from imgqa.io.receiver import ReceivedImage
    from imgqa.service.completion import CompleteSeries
    from imgqa.service.pipeline import AutomaticQC
    from imgqa.service.saving import SavedSeries, SessionSaver

__all__ = ["AutoSettings", "AutomaticRunner", "Burst", "auto_settings", "save_auto_settings"]

log = logging.getLogger(__name__)

DEFAULT_QUIET_S = 10.0   # = imgqa.service.completion.DEFAULT_QUIET_S (not imported: start-up)
BURST_GAP_S = 5.0        # images of one AE title further apart than this are another send
KEEP_OUTCOMES = 200


WATCH_POLL_S = 5.0       # = imgqa serve --poll's default


@dataclass(frozen=True, slots=True)
class AutoSettings:
    """Whether the window analyses received series itself, the quiet period (s), and a folder
    it watches for exported series ("" for none)."""

    enabled: bool = False
    quiet_s: float = DEFAULT_QUIET_S
    watch_folder: str = ""


def auto_settings(settings: QSettings) -> AutoSettings:
    d = AutoSettings()
    enabled = settings.value("automatic/enabled", False)
    on = enabled if isinstance(enabled, bool) else str(enabled).lower() in ("true", "1", "yes")
    try:
        quiet = float(settings.value("automatic/quiet_s", d.quiet_s))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        quiet = d.quiet_s
    watch = str(settings.value("automatic/watch_folder", "") or "").strip()
    return AutoSettings(on, quiet if quiet > 0 else d.quiet_s, watch)


def save_auto_settings(a: AutoSettings, settings: QSettings) -> None:
    settings.setValue("automatic/enabled", bool(a.enabled))
    settings.setValue("automatic/quiet_s", float(a.quiet_s))
    settings.setValue("automatic/watch_folder", a.watch_folder.strip())
    settings.sync()


@dataclass(frozen=True, slots=True)
class Burst:
    """The last send seen: calling AE title, first and last image time, images."""

    calling_ae: str
    first: datetime
    last: datetime
    images: int


def _warm_up() -> None:
    """Import the protocols and the analysis path now, on the worker thread, so the first
    series received is not also the one that pays for the imports (~2 s)."""
    try:
        from imgqa.protocols.base import all_protocols
        from imgqa.service import automatic  # noqa: F401 - imported for its side effect

        all_protocols()
    except Exception:  # noqa: BLE001 - only an optimisation: the first series imports them
        log.debug("warm-up failed", exc_info=True)


class AutomaticRunner(QObject):
    """The automatic pipeline on a worker thread; signals come back on the GUI thread.

    Signals
    -------
    outcome(object): a `SavedSeries` (saved, duplicate, waiting or failed).
    changed(): started, stopped, an image arrived, a series started or ended analysis.
    """

    outcome = Signal(object)
    changed = Signal()
    _report = Signal(object)   # emitted on the worker thread, queued to ours
    _poke = Signal()

    def __init__(self, parent: QObject | None = None, *, poll_s: float = 0.1,
                 watch_poll_s: float = WATCH_POLL_S) -> None:
        super().__init__(parent)
        self.poll_s = poll_s
        self.watch_poll_s = watch_poll_s
        self.config: tuple[str | None, Path, float, Path | None] | None = None
        self.watch_error = ""
        self.error = ""
        self.outcomes: list[SavedSeries] = []
        self.last_burst: Burst | None = None
        self.analysing: tuple[str, int] | None = None   # series UID, images
        self._qc: AutomaticQC | None = None
        self._saver: SessionSaver | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._report.connect(self._on_report)
        self._poke.connect(self.changed)

    # -- state ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """The thread runs and has not been asked to stop."""
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    @property
    def stopping(self) -> bool:
        """Asked to stop, still analysing what it holds."""
        return self._thread is not None and self._thread.is_alive() and self._stop.is_set()

    def queue(self) -> dict[str, int]:
        """Series waiting for their quiet period: Series Instance UID → images."""
        qc = self._qc
        return qc.collector.pending() if qc is not None else {}

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in ("saved", "duplicate", "waiting", "failed")}
        for o in self.outcomes:
            out[o.state] = out.get(o.state, 0) + 1
        return out

    # -- running --------------------------------------------------------------------------
    @property
    def watching(self) -> Path | None:
        """The folder being watched while running, else None."""
        return self.config[3] if self.running and self.config is not None else None

    def start(self, db_url: str | None, inbox: Path, quiet_s: float,
              watch: Path | None = None) -> None:
        """Start the pipeline (a no-op when it already runs with this configuration).

        ``watch``: a folder polled every `watch_poll_s` seconds for complete exported files.
        """
        config = (db_url, Path(inbox), float(quiet_s), Path(watch) if watch else None)
        if self.running and config == self.config:
            return
        self.stop(wait=True)
        from imgqa.service.pipeline import AutomaticQC

        self.config, self.error, self.watch_error = config, "", ""
        self._stop = threading.Event()
        self._qc = AutomaticQC(self._handle, quiet_s=float(quiet_s))
        self._saver = None
        self._thread = threading.Thread(target=self._loop, args=(db_url, Path(inbox), config[3]),
                                        name="imgqa automatic QC", daemon=True)
        self._thread.start()
        log.info("automatic QC started (quiet period %g s)", quiet_s)
        self.changed.emit()

    def stop(self, wait: bool = True, timeout_s: float = 300.0) -> bool:
        """Analyse and save what was received, then end the thread.

        Stop the receiver first, so nothing new is acknowledged meanwhile. With ``wait``
        False the thread finishes on its own (`changed` is emitted when it has). Returns
        False when ``wait`` and the thread is still busy after ``timeout_s``.
        """
        thread = self._thread
        if thread is None:
            return True
        self._stop.set()
        self.changed.emit()
        if not wait:
            return not thread.is_alive()
        thread.join(timeout_s)
        return not thread.is_alive()

    def on_received(self, item: ReceivedImage) -> None:
        """The receiver's tap (pynetdicom's thread): note the image, nothing slow."""
        qc = self._qc
        if qc is None or not self.running:
            return
        qc.on_received(item)
        now = datetime.now()
        with self._lock:
            b = self.last_burst
            if b is not None and b.calling_ae == item.calling_ae \
                    and (now - b.last).total_seconds() <= BURST_GAP_S:
                self.last_burst = replace(b, last=now, images=b.images + 1)
            else:
                self.last_burst = Burst(item.calling_ae, now, now, 1)
        self._poke.emit()

    # -- the worker thread ----------------------------------------------------------------
    def _loop(self, db_url: str | None, inbox: Path, watch: Path | None) -> None:
        from imgqa.errors import ImgqaError
        from imgqa.gui.store_bridge import open_store_or_explain
        from imgqa.service.saving import SessionSaver
        from imgqa.service.watcher import DirectoryWatcher

        qc = self._qc
        assert qc is not None
        try:
            store = open_store_or_explain(db_url)
        except ImgqaError as exc:
            self.error = f"Automatic analysis cannot open the results database: {exc.message} " \
                         f"{exc.hint}".strip()
            log.warning("%s", self.error)
            self._stop.set()
            self._poke.emit()
            return
        try:
            self._saver = SessionSaver(store, inbox, report=self._report.emit)
            qc.prepare = self._saver.prepare  # a burst: analysed at once on worker processes
            _warm_up()
            watcher = DirectoryWatcher(watch) if watch is not None else None
            next_look = 0.0
            while not self._stop.wait(self.poll_s):
                if watcher is not None and time.monotonic() >= next_look:
                    next_look = time.monotonic() + self.watch_poll_s
                    self._look(qc, watcher)
                qc.run_due()
            qc.flush()  # every acknowledged image is analysed and saved before we end
        except Exception as exc:  # never die silently: the panel shows it
            log.exception("automatic QC stopped")
            self.error = f"Automatic analysis stopped: {type(exc).__name__}: {exc}"
        finally:
            try:
                store.close()
            except Exception:  # closing at the end: nothing left to do about it
                log.debug("store.close failed", exc_info=True)
            log.info("automatic QC stopped")
            self._poke.emit()

    def _look(self, qc: AutomaticQC, watcher: Any) -> None:
        """One look at the watched folder; an unreachable share is shown, not fatal (it is
        looked at again at the next poll, as ``imgqa serve --watch`` does)."""
        try:
            found = watcher.poll()
        except OSError as exc:
            error = f"Cannot read the watched folder {watcher.root}: {exc.strerror or exc}"
        else:
            error = ""
            if found:
                qc.on_files(found)
                self._poke.emit()
        if error != self.watch_error:
            self.watch_error = error
            if error:
                log.warning("%s", error)
            self._poke.emit()

    def _handle(self, complete: CompleteSeries) -> None:
        saver = self._saver
        if saver is None:
            raise RuntimeError("the automatic analysis is not ready")
        self.analysing = (complete.series_uid, len(complete.paths))
        self._poke.emit()
        try:
            saver(complete)
        finally:
            self.analysing = None
            self._poke.emit()

    def _on_report(self, outcome: Any) -> None:
        self.outcomes.append(outcome)
        del self.outcomes[:-KEEP_OUTCOMES]
        self.outcome.emit(outcome)
        self.changed.emit()
