"""The results table: measurement, value, unit, reference, tolerance and status.

The status is shown with a colour AND a symbol and word, so it reads without colour vision.
Measurements are shown by their human label (`measurement_label`), the internal name in the
tooltip. The label column takes the width the other columns leave and wraps long labels onto
a second line instead of eliding them: elided names read the same (``geometric_a…_horizontal``
twice) and a wide first column pushed the status column off-screen (issue 11, item 4).
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from imgqa.formatting import format_value
from imgqa.gui.model import MeasurementRow

__all__ = ["ResultsTable", "STATUS_STYLE", "measurement_tooltip", "status_icon", "status_text",
           "format_value"]

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


def measurement_tooltip(row: MeasurementRow, shown: str) -> str:
    """Tooltip of a measurement cell: the label, the internal name (as in JSON, the database
    and tolerance files) and the description."""
    internal = f"{row.protocol} · {row.measurement}" if row.protocol else row.measurement
    lines = [shown, f"Internal name: {internal}"]
    if row.description:
        lines.append(row.description)
    return "\n".join(lines)


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
        # The label column stretches over what the content-sized columns leave, so the status
        # column, the one that matters most, stays at the right edge; labels wrap, not elide.
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hh.setMinimumSectionSize(40)
        for c in range(1, len(COLUMNS)):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(False)
        self.setWordWrap(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        # Row heights follow the label column's width (coalesced: one pass per resize burst).
        self._rewrap = QTimer(self, singleShot=True, interval=0)
        self._rewrap.timeout.connect(self.resizeRowsToContents)
        hh.sectionResized.connect(lambda c, _o, _n: self._rewrap.start() if c == 0 else None)
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
        self.resizeRowsToContents()

    def _fill(self, rows: Sequence[MeasurementRow]) -> None:
        from imgqa.protocols import measurement_label  # registry loaded on first results only

        for r, row in enumerate(rows):
            label = measurement_label(row.protocol, row.measurement)
            name = f"{row.label}: {label}" if row.label else label
            cells = [name, format_value(row.value), row.unit,
                     format_value(row.reference) if row.reference is not None else "",
                     row.tolerance, status_text(row.status)]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(measurement_tooltip(row, name))
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
