"""The results table: measurement, value, unit, reference, tolerance and status.

The status is shown with a colour AND a symbol and word, so it reads without colour vision.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from imgqa.formatting import format_value
from imgqa.gui.model import MeasurementRow

__all__ = ["ResultsTable", "STATUS_STYLE", "status_icon", "status_text", "format_value"]

# status → (colour, symbol, words)
STATUS_STYLE: dict[str | None, tuple[str, str, str]] = {
    "OK": ("#2e7d32", "✔", "OK"),
    "TOLERANCE": ("#f9a825", "▲", "Tolerance"),
    "ACTION": ("#c62828", "✖", "Action"),
    "NO_TOL": ("#757575", "○", "No tolerance"),
    None: ("#9e9e9e", "–", "Not judged"),
}
COLUMNS = ["Measurement", "Value", "Unit", "Reference", "Tolerance", "Status"]


def status_text(status: str | None) -> str:
    _, symbol, words = STATUS_STYLE.get(status, STATUS_STYLE[None])
    return f"{symbol} {words}"


_icons: dict[str | None, QIcon] = {}


def status_icon(status: str | None) -> QIcon:
    if status not in _icons:
        colour = QColor(STATUS_STYLE.get(status, STATUS_STYLE[None])[0])
        pm = QPixmap(12, 12)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setBrush(colour)
        p.setPen(colour.darker(130))
        p.drawEllipse(1, 1, 10, 10)
        p.end()
        _icons[status] = QIcon(pm)
    return _icons[status]


class ResultsTable(QTableWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.verticalHeader().setVisible(False)
        self.setAlternatingRowColors(True)
        hh = self.horizontalHeader()
        # Long measurement names are elided (full name in the tooltip) so the status column,
        # the one that matters most, is always visible.
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.setColumnWidth(0, 170)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        for c in range(1, len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        self._rows: list[MeasurementRow] = []

    def show_rows(self, rows: Sequence[MeasurementRow]) -> None:
        """Replace the table's content with `rows`.

        Filled as one batch: with the ResizeToContents columns live, every `setItem` over an
        existing row re-measured whole columns (quadratic: 80 ms for the 46 Catphan rows, a
        visible GUI stall); now the columns are sized once at the end.
        """
        self._rows = list(rows)
        hh = self.horizontalHeader()
        modes = [hh.sectionResizeMode(c) for c in range(self.columnCount())]
        self.setUpdatesEnabled(False)
        try:
            for c in range(self.columnCount()):
                hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
            self.setRowCount(0)  # drop the old items in one go
            self.setRowCount(len(rows))
            self._fill(self._rows)
        finally:
            for c, mode in enumerate(modes):
                hh.setSectionResizeMode(c, mode)
            self.setUpdatesEnabled(True)

    def _fill(self, rows: Sequence[MeasurementRow]) -> None:
        for r, row in enumerate(rows):
            name = f"{row.label}: {row.measurement}" if row.label else row.measurement
            cells = [name, format_value(row.value), row.unit,
                     format_value(row.reference) if row.reference is not None else "",
                     row.tolerance, status_text(row.status)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(f"{name}: {row.description}" if row.description else name)
                if c == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if c == 5:
                    colour = QColor(STATUS_STYLE.get(row.status, STATUS_STYLE[None])[0])
                    item.setIcon(status_icon(row.status))
                    bg = QColor(colour)
                    bg.setAlpha(60)
                    item.setBackground(QBrush(bg))
                    item.setData(Qt.ItemDataRole.UserRole, row.status)
                self.setItem(r, c, item)

    @property
    def rows(self) -> list[MeasurementRow]:
        return list(self._rows)

    def statuses(self) -> list[str | None]:
        return [r.status for r in self._rows]
