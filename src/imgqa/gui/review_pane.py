"""The physicist's review pane: sessions awaiting review, approve/reject with a comment,
bulk approval of a period, and a double-click to open a session's images."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDateEdit,
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

from imgqa.gui.results_table import STATUS_STYLE, status_icon, status_text
from imgqa.gui.store_bridge import StoreBridge, attr

__all__ = ["ReviewPane"]

COLUMNS = ["Session", "When", "Equipment", "Performed by", "Tests", "Status", "Comment",
           "Review"]


def _when(value: Any) -> str:
    if isinstance(value, datetime):
        local = value.astimezone() if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    return str(value or "")


class ReviewPane(QWidget):
    open_session = Signal(object)
    refreshed = Signal(int)      # number of sessions listed
    reviewed = Signal(int)       # number of sessions just reviewed

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self._sessions: list[Any] = []

        self.unreviewed_only = QCheckBox("Awaiting review only")
        self.unreviewed_only.setChecked(True)
        self.unreviewed_only.toggled.connect(self.refresh)
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        self.count_label = QLabel("")

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        self.table.cellDoubleClicked.connect(self._double_clicked)
        self.table.setToolTip("Double-click a session to open its images.")

        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Review comment (required to reject)")
        self.approve_button = QPushButton("✔ Approve selected")
        self.reject_button = QPushButton("✖ Reject selected")
        self.approve_button.clicked.connect(lambda: self.review_selected("approved"))
        self.reject_button.clicked.connect(lambda: self.review_selected("rejected"))
        self.comment.textChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._update_buttons)

        today = QDate.currentDate()
        self.period_from = QDateEdit(today.addDays(-7))
        self.period_to = QDateEdit(today)
        for d in (self.period_from, self.period_to):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.approve_period_button = QPushButton("Approve all awaiting review in this period")
        self.approve_period_button.clicked.connect(self.approve_period)

        top = QHBoxLayout()
        top.addWidget(self.unreviewed_only)
        top.addWidget(refresh)
        top.addStretch(1)
        top.addWidget(self.count_label)
        act = QHBoxLayout()
        act.addWidget(self.comment, 1)
        act.addWidget(self.approve_button)
        act.addWidget(self.reject_button)
        period = QHBoxLayout()
        period.addWidget(QLabel("Period from"))
        period.addWidget(self.period_from)
        period.addWidget(QLabel("to"))
        period.addWidget(self.period_to)
        period.addWidget(self.approve_period_button)
        period.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(act)
        layout.addLayout(period)
        self.message = QLabel("")
        layout.addWidget(self.message)
        self._update_buttons()

    # -- data -----------------------------------------------------------------------------
    def set_enabled_by_role(self, allowed: bool) -> None:
        self.setEnabled(allowed)

    def refresh(self) -> None:
        only = self.unreviewed_only.isChecked()
        self.db.run(lambda store: list(store.sessions(unreviewed_only=only)),
                    name="sessions", on_done=self._fill,
                    on_failed=lambda m, h: self.message.setText(f"{m} {h}".strip()))

    def _fill(self, sessions: Sequence[Any]) -> None:
        self._sessions = sorted(sessions, key=lambda s: attr(s, "performed_at") or datetime.min,
                                reverse=True)
        self.table.setRowCount(len(self._sessions))
        for r, s in enumerate(self._sessions):
            status = attr(s, "worst_status")
            decision = attr(s, "review_decision")
            review = "awaiting review" if decision is None else \
                f"{decision} by {attr(s, 'reviewed_by', default='')}"
            cells = [str(attr(s, "id")), _when(attr(s, "performed_at")),
                     str(attr(s, "equipment_name", default="") or attr(s, "equipment_id")),
                     str(attr(s, "performed_by", default="")),
                     ", ".join(attr(s, "protocols", default=()) or ()),
                     status_text(status), str(attr(s, "comment", default="") or ""), review]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, attr(s, "id"))
                if c == 5:
                    item.setIcon(status_icon(status))
                    item.setForeground(Qt.GlobalColor.black)
                    colour = STATUS_STYLE.get(status, STATUS_STYLE[None])[0]
                    item.setToolTip(colour and status_text(status))
                self.table.setItem(r, c, item)
        self.count_label.setText(f"{len(self._sessions)} session(s)")
        self._update_buttons()
        self.refreshed.emit(len(self._sessions))

    def session_ids(self) -> list[Any]:
        return [attr(s, "id") for s in self._sessions]

    def selected_ids(self) -> list[Any]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [attr(self._sessions[r], "id") for r in rows if r < len(self._sessions)]

    def _update_buttons(self) -> None:
        has = bool(self.table.selectedIndexes())
        self.approve_button.setEnabled(has)
        self.reject_button.setEnabled(has and bool(self.comment.text().strip()))

    # -- actions --------------------------------------------------------------------------
    def review_selected(self, decision: str) -> None:
        ids = self.selected_ids()
        if ids:
            self._review(ids, decision, self.comment.text().strip())

    def approve_period(self) -> None:
        start = datetime.combine(self.period_from.date().toPython(), dtime.min).astimezone()
        end = datetime.combine(self.period_to.date().toPython(), dtime.max).astimezone()
        comment = self.comment.text().strip() or "Bulk approval of the period"

        def job(store) -> int:
            todo = [s for s in store.sessions(since=start.astimezone(UTC),
                                              unreviewed_only=True)
                    if _aware(s.performed_at) <= end]
            if todo:
                store.review([s.id for s in todo], "approved", comment=comment)
            return len(todo)

        self.db.run(job, name="bulk review", on_done=self._reviewed,
                    on_failed=lambda m, h: self.message.setText(f"{m} {h}".strip()))

    def _review(self, ids: list[Any], decision: str, comment: str) -> None:
        def job(store) -> int:
            store.review(ids, decision, comment=comment)
            return len(ids)

        self.db.run(job, name="review", on_done=self._reviewed,
                    on_failed=lambda m, h: self.message.setText(f"{m} {h}".strip()))

    def _reviewed(self, n: int) -> None:
        self.message.setText(f"{n} session(s) reviewed.")
        self.comment.clear()
        self.reviewed.emit(n)
        self.refresh()

    def _double_clicked(self, row: int, _col: int) -> None:
        if 0 <= row < len(self._sessions):
            self.open_session.emit(attr(self._sessions[row], "id"))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
