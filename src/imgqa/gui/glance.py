"""At a glance (issue 12): a status-bar label saying how many unreviewed sessions are at Action
or Tolerance level and how many scheduled tests are overdue beyond grace; a click opens the
Review tab. Refreshed when the database changes, after a save and every minute (sessions saved
by ``imgqa serve`` on the shared database appear without a restart).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QLabel, QWidget

from imgqa.gui.results_table import STATUS_STYLE
from imgqa.gui.store_bridge import StoreBridge
from imgqa.service.notify import Glance, glance

__all__ = ["GlanceLabel", "attach_glance"]

REFRESH_MS = 60_000


def _counts(store: object) -> Glance:
    sessions = store.sessions(unreviewed_only=True)  # type: ignore[attr-defined]
    due = store.due_list()  # type: ignore[attr-defined]
    return glance((s.worst_status for s in sessions), (d.status for d in due))


class GlanceLabel(QLabel):
    """The status bar's "needs attention" summary; empty (hidden) when nothing does."""

    clicked = Signal()

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.db = db
        self.current = Glance(0, 0, 0)
        self.setToolTip("Unreviewed sessions outside their limits and overdue QC tests "
                        "(`imgqa review`, `imgqa due`). Click to open the Review tab.")
        self.hide()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._timer.start(REFRESH_MS)

    def refresh(self) -> None:
        if not self.db.available:
            self.show_counts(Glance(0, 0, 0))
            return
        self.db.run(_counts, name="at a glance", on_done=self.show_counts)

    def show_counts(self, g: Glance) -> None:
        self.current = g
        self.setText(g.text)
        colour = STATUS_STYLE.get(g.worst, STATUS_STYLE[None])[0]
        self.setStyleSheet(f"color: {colour}; font-weight: bold;" if g.worst else "")
        self.setVisible(bool(g.text))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        self.clicked.emit()
        super().mousePressEvent(event)


def attach_glance(window: Any) -> GlanceLabel:
    """Put the label in the window's status bar and keep it current: on a database change,
    after a save, after a review, and every minute; a click opens the Review tab."""
    label = GlanceLabel(window.db, window)
    label.clicked.connect(lambda: window.tabs.setCurrentWidget(window.review_pane))
    window.db.changed.connect(label.refresh)
    window.controller.saved.connect(lambda _sessions: label.refresh())
    window.review_pane.reviewed.connect(lambda _n: label.refresh())
    window.statusBar().addPermanentWidget(label)
    label.refresh()
    return label
