"""Files and series that could not be used, listed without stopping the rest."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

__all__ = ["ProblemsPanel"]


class ProblemsPanel(QTableWidget):
    """A non-modal list: file, what is wrong, what to do."""

    count_changed = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(0, 3, parent)
        self.setHorizontalHeaderLabels(["File", "Problem", "What to do"])
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.setWordWrap(True)
        hh = self.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

    def add_problem(self, path: str, error: str, hint: str = "") -> None:
        r = self.rowCount()
        self.insertRow(r)
        name = Path(path.split("::")[-1]).name if path else ""
        item = QTableWidgetItem(name or path)
        item.setToolTip(path)
        self.setItem(r, 0, item)
        self.setItem(r, 1, QTableWidgetItem(error))
        self.setItem(r, 2, QTableWidgetItem(hint))
        self.count_changed.emit(self.rowCount())

    def clear_problems(self) -> None:
        self.setRowCount(0)
        self.count_changed.emit(0)

    def problems(self) -> list[tuple[str, str, str]]:
        out = []
        for r in range(self.rowCount()):
            out.append(tuple(self.item(r, c).text() if self.item(r, c) else "" for c in range(3)))
        return out  # type: ignore[return-value]
