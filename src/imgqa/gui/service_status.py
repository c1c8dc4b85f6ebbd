"""The *Automatic QC* tab and the at-a-glance badge of the status bar (issue 12).

`ServiceStatusPanel` shows what ``imgqa serve`` prints, live: whether the receiver listens (AE
title, port, who may send), the last send (calling AE title, when, images), the queue (series
waiting for their quiet period, the series being analysed), each series' outcome, the last
errors and refused associations, and the sessions pending review. It also runs the service:
*Start receiving* turns the window's receiver on, and with *Analyse automatically* ticked an
`AutomaticRunner` (`gui/auto_runner.py`) routes, analyses and saves every complete series as
a session pending review, as ``imgqa serve`` does.

`GlanceBadge` (status bar) says what needs a person without any click: tests overdue beyond
their grace window, and sessions pending review with an Action or Tolerance result, e.g.
*2 overdue · 1 action*; each part is a link to the Due view or the review list. The counts
are `glance_counts` of the due list and the unreviewed sessions (pure, tested without Qt).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.auto_runner import (
    WATCH_POLL_S,
    AutomaticRunner,
    auto_settings,
    save_auto_settings,
)
from imgqa.gui.due_view import protocol_label
from imgqa.gui.state import receiver_settings, save_receiver_settings

if TYPE_CHECKING:
    from imgqa.gui.receiver_control import ReceiverControl
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.service.saving import SavedSeries
    from imgqa.store import Store
    from imgqa.store.records import SessionRecord
    from imgqa.store.schedules import DueItem

__all__ = ["GlanceBadge", "GlanceCounts", "ServiceStatusPanel", "glance_counts", "glance_html"]

GLANCE_REFRESH_MS = 60 * 1000
_RED, _ORANGE, _GREY = "#c62828", "#b26a00", "#555555"
_STATE_WORDS = {"saved": "saved, pending review", "duplicate": "already saved",
                "waiting": "waiting (no rule)", "failed": "failed"}


@dataclass(frozen=True, slots=True)
class GlanceCounts:
    """What needs a person: overdue tests and unreviewed sessions by worst status."""

    overdue: int = 0          # past the grace window
    grace: int = 0            # overdue within grace
    due: int = 0              # due today or never done
    pending: int = 0          # sessions awaiting review
    action: int = 0           # ... of which the worst result is ACTION
    tolerance: int = 0        # ... TOLERANCE


def glance_counts(due: Sequence[DueItem], unreviewed: Sequence[SessionRecord]) -> GlanceCounts:
    """Count the due list's states and the unreviewed sessions' worst statuses."""
    return GlanceCounts(overdue=sum(d.status == "overdue" for d in due),
                        grace=sum(d.status == "grace" for d in due),
                        due=sum(d.status == "due" for d in due),
                        pending=len(unreviewed),
                        action=sum(s.worst_status == "ACTION" for s in unreviewed),
                        tolerance=sum(s.worst_status == "TOLERANCE" for s in unreviewed))


def glance_html(c: GlanceCounts) -> str:
    """``2 overdue · 1 action`` as rich text with links (``due``, ``review``); a quiet
    "QC up to date" when nothing needs anyone."""
    parts = []
    if c.overdue:
        parts.append(f"<a href='due' style='color:{_RED}'><b>{c.overdue} overdue</b></a>")
    if c.action:
        parts.append(f"<a href='review' style='color:{_RED}'><b>{c.action} action</b></a>")
    if c.tolerance:
        parts.append(f"<a href='review' style='color:{_ORANGE}'>{c.tolerance} tolerance</a>")
    if not parts:
        if c.grace or c.due:
            n = c.grace + c.due
            return f"<a href='due' style='color:{_GREY}'>{n} due</a>"
        return f"<span style='color:{_GREY}'>QC up to date</span>"
    return " · ".join(parts)


def glance_tooltip(c: GlanceCounts) -> str:
    return (f"Scheduled tests: {c.overdue} overdue beyond their grace window, {c.grace} overdue "
            f"within grace, {c.due} due today or never done.\nSessions awaiting review: "
            f"{c.pending}, of which {c.action} with an Action result and {c.tolerance} with a "
            "Tolerance result.\nClick a count to open the Due view or the review list.")


class GlanceBadge(QLabel):
    """Status-bar badge; refreshes on a timer and when `refresh` is called (after a save, a
    review, an automatically saved session).

    Signals
    -------
    open_due(), open_review(): a count was clicked.
    counts_changed(object): new `GlanceCounts`.
    """

    open_due = Signal()
    open_review = Signal()
    counts_changed = Signal(object)

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.counts: GlanceCounts | None = None
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.linkActivated.connect(self._link)
        self._busy = self._again = self._closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(GLANCE_REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        db.changed.connect(self.refresh)

    def refresh(self) -> None:
        if not self.db.available:
            self.setText("")
            return
        if self._busy:  # one read at a time; read again when it ends (a save meanwhile)
            self._again = True
            return
        self._busy = True

        def job(store: Store) -> GlanceCounts:
            return glance_counts(store.due_list(), store.sessions(unreviewed_only=True))

        def done(c: GlanceCounts) -> None:
            if self._closed:  # the read ended after the window closed: its label is gone
                return
            self.counts = c
            self.setText(glance_html(c))
            self.setToolTip(glance_tooltip(c))
            self.counts_changed.emit(c)

        self.db.run(job, name="at a glance", on_done=done, on_finished=self._read_done)

    def _read_done(self) -> None:
        self._busy = False
        if self._closed:
            return
        if self._again:
            self._again = False
            self.refresh()

    def _link(self, href: str) -> None:
        (self.open_due if href == "due" else self.open_review).emit()

    def shutdown(self) -> None:
        self._closed = True
        self.timer.stop()


def _when(t: datetime) -> str:
    return t.strftime("%H:%M:%S" if t.date() == datetime.now().date() else "%Y-%m-%d %H:%M")


class ServiceStatusPanel(QWidget):
    """Receiver and automatic-analysis status, with the switches to run them.

    Parameters
    ----------
    receiver : the window's `ReceiverControl` (from the inbox controller).
    db : the window's `StoreBridge` (the runner opens its own connection to ``db.url``).
    settings : the application settings (receiver and ``automatic/*`` keys).
    """

    open_review = Signal()
    RECENT = 20

    def __init__(self, receiver: ReceiverControl, db: StoreBridge, settings: QSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.receiver, self.db, self.settings = receiver, db, settings
        self.runner = AutomaticRunner(self)
        receiver.taps.append(self.runner.on_received)
        a = auto_settings(settings)

        self.listening = QLabel("")
        self.listening.setWordWrap(True)
        self.start_button = QPushButton("Start receiving")
        self.start_button.clicked.connect(self.start_receiving)
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(self.stop_receiving)
        self.automatic = QCheckBox("Analyse automatically: route each complete series by the "
                                   "routing rules, analyse it and save it pending review")
        self.automatic.setChecked(a.enabled)
        self.automatic.toggled.connect(self._settings_changed)
        self.quiet = QDoubleSpinBox()
        self.quiet.setRange(0.5, 3600.0)
        self.quiet.setDecimals(1)
        self.quiet.setSuffix(" s")
        self.quiet.setValue(a.quiet_s)
        self.quiet.setToolTip("A series is complete when no new image has arrived for this "
                              "long (imgqa serve --quiet).")
        self.quiet.editingFinished.connect(self._settings_changed)
        self.quiet.setMaximumWidth(120)
        self.watch_folder = QLineEdit(a.watch_folder)
        self.watch_folder.setPlaceholderText("none: only series sent to the receiver")
        self.watch_folder.setToolTip(
            "A folder (e.g. a network share) the scanner exports its series to: it is looked "
            f"at every {WATCH_POLL_S:g} s and complete files are analysed like received ones "
            "(imgqa serve --watch).")
        self.watch_folder.editingFinished.connect(self._settings_changed)
        self.browse_watch = QPushButton("Choose…")
        self.browse_watch.clicked.connect(self._choose_watch_folder)
        self.last_send = QLabel("Nothing received since the receiver started.")
        self.queue = QLabel("")
        self.problems = QLabel("")
        self.problems.setWordWrap(True)
        self.pending = QLabel("")
        self.pending.setTextFormat(Qt.TextFormat.RichText)
        self.pending.linkActivated.connect(lambda _h: self.open_review.emit())
        self.recent = QTableWidget(0, 5)
        self.recent.setHorizontalHeaderLabels(["Time", "Outcome", "Series", "Test", "Session"])
        self.recent.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.recent.verticalHeader().setVisible(False)
        rh = self.recent.horizontalHeader()
        for c in range(5):
            rh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        rh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        rx_box = QGroupBox("Receiver")
        rx_layout = QVBoxLayout(rx_box)
        row = QHBoxLayout()
        row.addWidget(self.listening, 1)
        row.addWidget(self.start_button)
        row.addWidget(self.stop_button)
        rx_layout.addLayout(row)
        rx_layout.addWidget(self.automatic)
        form = QFormLayout()
        form.addRow("Quiet period", self.quiet)
        watch_row = QHBoxLayout()
        watch_row.addWidget(self.watch_folder, 1)
        watch_row.addWidget(self.browse_watch)
        form.addRow("Watched folder", watch_row)
        form.addRow("Last association", self.last_send)
        self.last_send.setToolTip("The last images received from one scanner (calling AE "
                                  "title), counted as one send while they arrive less than "
                                  "5 s apart.")
        form.addRow("Queue", self.queue)
        form.addRow("Pending review", self.pending)
        rx_layout.addLayout(form)
        layout = QVBoxLayout(self)
        layout.addWidget(rx_box)
        layout.addWidget(QLabel("Series analysed automatically (newest first)"))
        layout.addWidget(self.recent, 1)
        layout.addWidget(self.problems)

        receiver.state_changed.connect(self.sync)
        db.changed.connect(self.sync)
        self.runner.changed.connect(self.update_view)
        self.runner.outcome.connect(self._outcome)
        self.sync()

    # -- switches -------------------------------------------------------------------------
    def start_receiving(self) -> bool:
        """Turn the receiver on with the saved settings (File → Settings… for the rest)."""
        rs = replace(receiver_settings(self.settings), enabled=True)
        save_receiver_settings(rs, self.settings)
        return self.receiver.apply(rs)

    def stop_receiving(self) -> None:
        """Stop listening, then let the automatic analysis finish what was acknowledged."""
        rs = replace(receiver_settings(self.settings), enabled=False)
        save_receiver_settings(rs, self.settings)
        self.receiver.apply(rs)   # stops the receiver; state_changed → sync stops the runner

    def _settings_changed(self, *_: Any) -> None:
        save_auto_settings(replace(auto_settings(self.settings),
                                   enabled=self.automatic.isChecked(),
                                   quiet_s=self.quiet.value(),
                                   watch_folder=self.watch_folder.text().strip()), self.settings)
        self.sync()

    def _choose_watch_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder the scanner exports to",
                                                  self.watch_folder.text())
        if folder:
            self.watch_folder.setText(folder)
            self._settings_changed()

    def sync(self) -> None:
        """Run the automatic analysis exactly while it is ticked, the database is open and
        images can come: the receiver runs or a folder is watched."""
        a = auto_settings(self.settings)
        watch = Path(a.watch_folder).expanduser() if a.watch_folder else None
        want = a.enabled and self.db.available and (self.receiver.running or watch is not None)
        if want:
            self.runner.start(self.db.url, self.receiver.inbox, a.quiet_s, watch)
        elif self.runner.running:
            self.runner.stop(wait=False)
        self.update_view()

    def shutdown(self) -> None:
        """At exit, after the receiver stopped: finish the acknowledged series."""
        self.runner.stop(wait=True)

    # -- showing --------------------------------------------------------------------------
    def update_view(self) -> None:
        rx, run = self.receiver, self.runner
        if rx.running:
            where = "this computer only" if rx.settings.host in ("127.0.0.1", "localhost",
                                                                 "::1") else "the network"
            who = ", ".join(rx.settings.allowed_ae_titles) or "programs on this computer"
            text = (f"<b>Listening</b> as AE title <b>{html.escape(rx.settings.ae_title)}</b> "
                    f"on port <b>{rx.port}</b> ({where}); allowed to send: "
                    f"{html.escape(who)}.")
        elif rx.error:
            text = f"<span style='color:{_RED}'><b>Stopped</b>: {html.escape(rx.error)}</span>"
        else:
            text = "<b>Stopped</b>: the receiver is off."
        if run.running:
            text += " Automatic analysis <b>on</b>."
            if run.watching is not None:
                text += (f" Watching <b>{html.escape(str(run.watching))}</b> every "
                         f"{run.watch_poll_s:g} s.")
        elif run.stopping:
            text += " Automatic analysis stopping: finishing the series already received…"
        elif self.automatic.isChecked() and not self.db.available:
            text += f" Automatic analysis waits for the database ({html.escape(self.db.reason)})."
        self.listening.setText(text)
        self.start_button.setEnabled(not rx.running)
        self.stop_button.setEnabled(rx.running)
        b = run.last_burst
        if b is not None:
            span = "" if b.first == b.last else f"–{_when(b.last)}"
            self.last_send.setText(f"from {b.calling_ae or 'no AE title'} at {_when(b.first)}"
                                   f"{span}: {b.images} image{'s' if b.images != 1 else ''}")
        waiting = run.queue()
        q = (f"{len(waiting)} series waiting for completion ({sum(waiting.values())} images)"
             if waiting else "nothing waiting")
        if run.analysing is not None:
            q += f"; analysing 1 series ({run.analysing[1]} images)"
        counts = run.counts()
        if run.outcomes:
            q += " · so far: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        self.queue.setText(q)
        self._show_problems()

    def _show_problems(self) -> None:
        lines = []
        if self.runner.error:
            lines.append(self.runner.error)
        if self.runner.watch_error:
            lines.append(self.runner.watch_error)
        bad = [o for o in self.runner.outcomes if o.state in ("failed", "waiting")][-3:]
        lines += [f"{o.state}: '{o.description}': {o.message}" for o in reversed(bad)]
        if self.receiver.refused_count:
            lines.append(f"{self.receiver.refused_count} association(s) refused. "
                         f"{self.receiver.refused_detail()}")
        self.problems.setText("\n".join(lines))
        self.problems.setStyleSheet(f"color: {_RED};" if lines else "")

    def show_counts(self, c: GlanceCounts) -> None:
        """The glance badge's counts: sessions pending review."""
        if not c.pending:
            self.pending.setText("no session awaiting review")
            return
        worst = ", ".join(x for x in (f"{c.action} with an Action result" if c.action else "",
                                      f"{c.tolerance} with a Tolerance result"
                                      if c.tolerance else "") if x)
        self.pending.setText(f"<a href='review'>{c.pending} session(s) awaiting review</a>"
                             + (f" — {worst}" if worst else ""))

    def _outcome(self, o: SavedSeries) -> None:
        self.recent.insertRow(0)
        cells = [_when(datetime.now()), _STATE_WORDS.get(o.state, o.state), o.description,
                 protocol_label(o.protocol) if o.protocol else "", str(o.session_id) if o.session_id is not None else ""]
        for c, text in enumerate(cells):
            item = QTableWidgetItem(text)
            if c == 1:
                item.setToolTip(o.message or o.line())
            self.recent.setItem(0, c, item)
        while self.recent.rowCount() > self.RECENT:
            self.recent.removeRow(self.recent.rowCount() - 1)
