"""The *Due* tab: the scheduled QC tests, most urgent first (issue 12).

The list is the one ``imgqa due`` prints: `Store.due_list` (`imgqa.store.schedules`) computes
each schedule's due date and state, so the CLI, a cron job and this view never disagree. The
view only labels it for people: the test's title instead of its internal name, a coloured
badge per state, "never" for a test not yet performed. It refreshes when shown, after a
session is saved (the window calls `refresh`) and every few minutes (a test becomes overdue at
midnight without anything being saved). Double-clicking a row asks the window to show that
equipment's trend of the test (`open_trend`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.store import Store
    from imgqa.store.schedules import DueItem

__all__ = ["DUE_BADGES", "DueRow", "DueView", "due_rows", "protocol_label"]

# state → (badge text, background, tooltip). Same words as `imgqa due`'s Status column.
DUE_BADGES: dict[str, tuple[str, str, str]] = {
    "overdue": ("● OVERDUE", "#ef9a9a", "Past its due date by more than the grace window."),
    "grace": ("● overdue (within grace)", "#ffcc80",
              "Past its due date, still within the grace window."),
    "due": ("● due", "#fff59d", "Due today, or never performed."),
    "ok": ("✔ ok", "#c5e1a5", "Done in time; the next due date is still ahead."),
}
COLUMNS = ("Status", "Equipment", "Test", "Every", "Last session", "Due", "Days overdue")
REFRESH_MS = 5 * 60 * 1000  # a test turns overdue at midnight with nothing saved


def protocol_label(name: str) -> str:
    """The test's title as people know it (``ACR MRI phantom …``), the name when unknown."""
    from imgqa.protocols.base import protocol_title

    return protocol_title(name)


@dataclass(frozen=True, slots=True)
class DueRow:
    """One line of the Due view, as text (no Qt), in the order of `COLUMNS`."""

    status: str
    equipment_id: int
    protocol: str
    cells: tuple[str, ...]


def _every(item: DueItem) -> str:
    return f"every {item.every_days} days" if item.frequency == "days" else item.frequency


def due_rows(items: Sequence[DueItem], today: date | None = None) -> list[DueRow]:
    """The due list as table rows, in the store's order (most urgent first)."""
    out = []
    for d in items:
        last = d.last_session.isoformat() if d.last_session else "never"
        due = d.due_date.isoformat() + (" (today)" if today and d.due_date == today else "")
        out.append(DueRow(d.status, d.equipment_id, d.protocol, (
            DUE_BADGES[d.status][0], d.equipment, protocol_label(d.protocol), _every(d), last,
            due, str(d.days_overdue) if d.days_overdue else "")))
    return out


class DueView(QWidget):
    """The due list, most urgent first; refreshes on a timer and when asked.

    Signals
    -------
    refreshed(object): the `DueItem` list just shown.
    open_trend(int, str): equipment id and protocol of the double-clicked row.
    """

    refreshed = Signal(object)
    open_trend = Signal(int, str)

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.items: list[DueItem] = []
        self.rows: list[DueRow] = []
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setToolTip("Double-click a test to see its trend on that equipment.")
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        hint = QLabel("Schedules are set with <code>imgqa schedule set</code> "
                      "(docs/automatic-qc.md §6); a saved session of the test moves its due "
                      "date on.")
        hint.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addWidget(hint)
        self._closed = False
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def refresh(self) -> None:
        """Read the due list again (on the database thread)."""
        if not self.db.available:
            self.summary.setText(self.db.why_not("due") or "The database is not available.")
            return

        def job(store: Store) -> list[DueItem]:
            return store.due_list()

        self.db.run(job, name="due list", on_done=self._fill,
                    on_failed=lambda m, h: self.summary.setText(f"{m} {h}".strip()))

    def _fill(self, items: list[DueItem]) -> None:
        if self._closed:  # the read ended after the window closed: its table is gone
            return
        self.items = list(items)
        self.rows = due_rows(self.items, date.today())
        self.table.setRowCount(len(self.rows))
        for r, row in enumerate(self.rows):
            _badge, colour, tip = DUE_BADGES[row.status]
            for c, text in enumerate(row.cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setBackground(QBrush(QColor(colour)))
                    item.setForeground(QBrush(QColor("#111111")))
                    item.setToolTip(tip)
                    font = item.font()
                    font.setBold(row.status in ("overdue", "grace"))
                    item.setFont(font)
                if c == 2:
                    item.setToolTip(row.protocol)  # the internal name, as in `imgqa due`
                if c == 6:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        counts = {s: sum(i.status == s for i in self.items) for s in DUE_BADGES}
        if not self.items:
            self.summary.setText("No scheduled tests yet.")
        else:
            self.summary.setText(
                f"<b>{counts['overdue']} overdue</b>, {counts['grace']} overdue within grace, "
                f"{counts['due']} due, {counts['ok']} ok ({len(self.items)} scheduled tests).")
        self.refreshed.emit(self.items)

    def statuses(self) -> list[str]:
        """The state of each row, top to bottom (tests and tours)."""
        return [r.status for r in self.rows]

    def _double_clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self.rows):
            self.open_trend.emit(self.rows[row].equipment_id, self.rows[row].protocol)

    def shutdown(self) -> None:
        self._closed = True
        self.timer.stop()
