"""The physicist's review pane: sessions awaiting review, approve/reject with a comment,
bulk approval of a period, and a double-click to open a session's images.

A failure cannot be approved unnoticed (issue 11, item 1): the selected session's Tolerance and
Action measurements are listed with value, reference, limits and status; approving a session
with one needs a review comment (the button stays disabled and says why; the store refuses it
too); the period's bulk approval approves only sessions without such results and says how many
it skipped. ROIs are not stored with results, so the list names the measurements and a
double-click opens the images, where the analysis draws them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from datetime import time as dtime
from typing import TYPE_CHECKING

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

from imgqa.formatting import format_value
from imgqa.gui.results_table import STATUS_STYLE, status_icon, status_text
from imgqa.gui.store_bridge import StoreBridge
from imgqa.protocols.base import measurement_label
from imgqa.status import FAILING

if TYPE_CHECKING:
    from imgqa.evaluate import Limits
    from imgqa.store import Store
    from imgqa.store.records import ResultRow, SessionRecord

__all__ = ["ReviewPane"]

COLUMNS = ["Session", "When", "Equipment", "Performed by", "Tests", "Status", "Comment",
           "Review"]
FAILING_COLUMNS = ["Test", "Measurement", "Value", "Unit", "Reference", "Limits", "Status"]


def limits_text(limits: Limits | None) -> str:
    """``"tolerance 98 to 102; action 95 to 105"`` from stored absolute limits (None: open)."""
    if limits is None:
        return "—"

    def band(lo: float | None, hi: float | None) -> str:
        if lo is None and hi is None:
            return ""
        if lo is None:
            return f"≤ {format_value(hi)}"
        if hi is None:
            return f"≥ {format_value(lo)}"
        return f"{format_value(lo)} to {format_value(hi)}"

    parts = [f"{name} {b}" for name, b in (
        ("tolerance", band(limits.tol_low, limits.tol_high)),
        ("action", band(limits.act_low, limits.act_high))) if b]
    return "; ".join(parts) or "—"


def _when(value: datetime | None) -> str:
    if isinstance(value, datetime):
        local = value.astimezone() if value.tzinfo else value
        return local.strftime("%Y-%m-%d %H:%M")
    return str(value or "")


class ReviewPane(QWidget):
    open_session = Signal(object)
    refreshed = Signal(int)      # number of sessions listed
    reviewed = Signal(int)       # number of sessions just reviewed
    failing_loaded = Signal(object, int)  # session id, number of failing measurements listed

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self._sessions: list[SessionRecord] = []

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

        # The selected session's Tolerance/Action measurements (loaded on selection).
        self.failing_title = QLabel("Select a session to see its failing measurements.")
        self.failing = QTableWidget(0, len(FAILING_COLUMNS))
        self.failing.setHorizontalHeaderLabels(FAILING_COLUMNS)
        self.failing.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.failing.verticalHeader().setVisible(False)
        fh = self.failing.horizontalHeader()
        for c in range(len(FAILING_COLUMNS)):
            fh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        fh.setStretchLastSection(True)
        self.failing.setMaximumHeight(160)
        self.failing.hide()
        self._failing_for: int | None = None

        self.comment = QLineEdit()
        self.comment.setPlaceholderText("Review comment (required to reject, and to approve a "
                                        "session with a Tolerance or Action result)")
        self.comment_needed = QLabel("")
        self.comment_needed.setStyleSheet("color: #c62828;")
        self.comment_needed.setWordWrap(True)
        self.comment_needed.hide()
        self.approve_button = QPushButton("✔ Approve selected")
        self.reject_button = QPushButton("✖ Reject selected")
        self.approve_button.clicked.connect(lambda: self.review_selected("approved"))
        self.reject_button.clicked.connect(lambda: self.review_selected("rejected"))
        self.comment.textChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemSelectionChanged.connect(self._load_failing)

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
        layout.addWidget(self.failing_title)
        layout.addWidget(self.failing)
        layout.addLayout(act)
        layout.addWidget(self.comment_needed)
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

    def _fill(self, sessions: Sequence[SessionRecord]) -> None:
        self._sessions = sorted(sessions, key=lambda s: _aware(s.performed_at), reverse=True)
        self.table.setRowCount(len(self._sessions))
        for r, s in enumerate(self._sessions):
            status = s.worst_status
            decision = s.review_decision
            review = "awaiting review" if decision is None else \
                f"{decision} by {s.reviewed_by or ''}"
            cells = [str(s.id), _when(s.performed_at),
                     str(s.equipment_name or s.equipment_id), str(s.performed_by or ""),
                     ", ".join(s.protocols), status_text(status), str(s.comment or ""),
                     review]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setData(Qt.ItemDataRole.UserRole, s.id)
                if c == 5:
                    item.setIcon(status_icon(status))
                    item.setForeground(Qt.GlobalColor.black)
                    colour = STATUS_STYLE.get(status, STATUS_STYLE[None])[0]
                    item.setToolTip(colour and status_text(status))
                self.table.setItem(r, c, item)
        self.count_label.setText(f"{len(self._sessions)} session(s)")
        self._update_buttons()
        self._load_failing()
        self.refreshed.emit(len(self._sessions))

    def session_ids(self) -> list[int]:
        return [s.id for s in self._sessions]

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._sessions[r].id for r in rows if r < len(self._sessions)]

    def failing_selected(self) -> list[int]:
        """Ids of the selected sessions with a Tolerance or Action result."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._sessions[r].id for r in rows if r < len(self._sessions)
                and self._sessions[r].worst_status in FAILING]

    def _update_buttons(self) -> None:
        has = bool(self.table.selectedIndexes())
        commented = bool(self.comment.text().strip())
        failing = self.failing_selected() if has else []
        self.approve_button.setEnabled(has and (commented or not failing))
        self.reject_button.setEnabled(has and commented)
        need = bool(failing) and not commented
        if need:
            self.comment_needed.setText(
                f"Session {', '.join(map(str, failing))} has a Tolerance or Action result: "
                "write a review comment (what was checked, why it may stand) to approve it.")
        self.comment_needed.setVisible(need)
        self.approve_button.setToolTip(self.comment_needed.text() if need else
                                       "Approve the selected session(s).")

    def _load_failing(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        if len(rows) != 1 or rows[0] >= len(self._sessions):
            self._failing_for = None
            self.failing.hide()
            self.failing_title.setText("Select one session to see its failing measurements.")
            return
        sid = self._sessions[rows[0]].id
        self._failing_for = sid
        self.db.run(lambda store: list(store.session_results(sid)), name="session results",
                    on_done=lambda results: self._fill_failing(sid, results),
                    on_failed=lambda m, h: self.failing_title.setText(f"{m} {h}".strip()))

    def _fill_failing(self, sid: int, results: Sequence[ResultRow]) -> None:
        if sid != self._failing_for:  # the selection moved on while loading
            return
        bad = [r for r in results if r.status in FAILING]
        bad.sort(key=lambda r: r.status != "ACTION")  # Action first
        self.failing.setRowCount(len(bad))
        for row, r in enumerate(bad):
            status = r.status
            label = r.protocol + (f" [{r.label}]" if r.label else "")
            name = r.measurement
            cells = [label, measurement_label(r.protocol, name), format_value(r.value),
                     r.unit or "", format_value(r.reference), limits_text(r.limits),
                     status_text(status)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 1:
                    item.setToolTip(name)  # the internal name, as in JSON and tolerance files
                if c == 6:
                    item.setIcon(status_icon(status))
                self.failing.setItem(row, c, item)
        if bad:
            self.failing_title.setText(
                f"Session {sid}: {len(bad)} measurement(s) outside tolerance. ROIs are not "
                "stored with results: double-click the session to open its images with the "
                "analysis drawn.")
        else:
            self.failing_title.setText(f"Session {sid}: no measurement outside tolerance.")
        self.failing.setVisible(bool(bad))
        self.failing_loaded.emit(sid, len(bad))

    # -- actions --------------------------------------------------------------------------
    def review_selected(self, decision: str) -> None:
        ids = self.selected_ids()
        if ids:
            self._review(ids, decision, self.comment.text().strip())

    def approve_period(self) -> None:
        start = datetime.combine(self.period_from.date().toPython(), dtime.min).astimezone()
        end = datetime.combine(self.period_to.date().toPython(), dtime.max).astimezone()
        comment = self.comment.text().strip() or "Bulk approval of the period"

        # A bulk approval never covers a failure: those sessions are approved one by one,
        # after their failing measurements were looked at, with a comment.
        def job(store: Store) -> tuple[int, list[int]]:
            todo = [s for s in store.sessions(since=start.astimezone(UTC),
                                              unreviewed_only=True)
                    if _aware(s.performed_at) <= end]
            skipped = [s.id for s in todo if s.worst_status in FAILING]
            todo = [s for s in todo if s.worst_status not in FAILING]
            if todo:
                store.review([s.id for s in todo], "approved", comment=comment)
            return len(todo), skipped

        self.db.run(job, name="bulk review", on_done=self._bulk_reviewed,
                    on_failed=lambda m, h: self.message.setText(f"{m} {h}".strip()))

    def _bulk_reviewed(self, out: tuple[int, list[int]]) -> None:
        n, skipped = out
        self._reviewed(n)
        if skipped:
            self.message.setText(
                f"{n} session(s) approved. Skipped {len(skipped)} session(s) with a Tolerance "
                f"or Action result (session {', '.join(map(str, skipped))}): select each, look "
                "at its failing measurements and approve it with a comment, or reject it.")

    def _review(self, ids: list[int], decision: str, comment: str) -> None:
        def job(store: Store) -> int:
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
            self.open_session.emit(self._sessions[row].id)


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)
