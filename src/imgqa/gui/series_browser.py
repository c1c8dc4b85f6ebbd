"""The equipment/series browser (left) and the header panel (facts of the shown series)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
)

from imgqa.gui.model import SeriesEntry
from imgqa.gui.results_table import status_icon, status_text

__all__ = ["SeriesBrowser", "HeaderPanel"]

_KEY = Qt.ItemDataRole.UserRole


class SeriesBrowser(QTreeWidget):
    """Series grouped by the device that made them; emits the entry key on selection."""

    series_selected = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setHeaderLabels(["Equipment / series", "Test", "Status"])
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        # Series names are sized to their content, never cut (a stretched first column left
        # 3–4 characters of them beside the test and status columns, issue 11 item 4); a narrow
        # dock scrolls sideways, and the status icon also sits before the name so the
        # judgement stays visible.
        for c in range(3):
            self.header().setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.header().setStretchLastSection(True)
        self.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self._items: dict[int, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self.currentItemChanged.connect(self._on_current)

    def clear_entries(self) -> None:
        self.clear()
        self._items.clear()
        self._groups.clear()

    def add_entry(self, entry: SeriesEntry) -> None:
        eq = entry.series.header.equipment
        device = " ".join(p for p in (eq.manufacturer, eq.model) if p) or eq.label()
        label = f"{device} · {entry.series.modality}"
        group = self._groups.get(label)
        if group is None:
            group = QTreeWidgetItem([label, "", ""])
            group.setToolTip(0, f"{eq.label()} · {entry.series.modality}")
            group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            group.setFirstColumnSpanned(False)
            self.addTopLevelItem(group)
            group.setFirstColumnSpanned(True)
            group.setExpanded(True)
            self._groups[label] = group
        h = entry.series.header
        item = QTreeWidgetItem([h.series_description or h.protocol_name or entry.title(), "", ""])
        item.setData(0, _KEY, entry.key)
        when = h.acquired.strftime("%Y-%m-%d %H:%M") if h.acquired else "date unknown"
        item.setToolTip(0, f"{entry.title()}\n{when}\n{entry.series.sources[0] if entry.series.sources else ''}")
        group.addChild(item)
        self._items[entry.key] = item
        self.update_entry(entry)

    def update_entry(self, entry: SeriesEntry) -> None:
        item = self._items.get(entry.key)
        if item is None:
            return
        item.setText(1, entry.protocol or "")
        if entry.error:
            item.setText(2, "✖ could not analyse")
            item.setToolTip(2, entry.error)
            item.setIcon(0, status_icon(None))
        elif entry.results:
            item.setText(2, status_text(entry.status))
            item.setIcon(2, status_icon(entry.status))
            item.setIcon(0, status_icon(entry.status))
        elif entry.analysed_with:
            item.setText(2, "↳ with the first")
            item.setToolTip(2, f"Analysed together with '{entry.analysed_with}': its results "
                               "are shown there.")
            item.setIcon(0, QIcon())
        else:
            item.setText(2, "")
            item.setIcon(0, QIcon())

    def select(self, key: int) -> None:
        item = self._items.get(key)
        if item is not None:
            self.setCurrentItem(item)

    def current_key(self) -> int | None:
        item = self.currentItem()
        return item.data(0, _KEY) if item is not None else None

    def keys(self) -> list[int]:
        return list(self._items)

    def _on_current(self, current: QTreeWidgetItem | None, _previous) -> None:
        if current is not None and current.data(0, _KEY) is not None:
            self.series_selected.emit(int(current.data(0, _KEY)))


class HeaderPanel(QTableWidget):
    """Key facts of the shown series (equipment, geometry); never patient data."""

    def __init__(self, parent=None) -> None:
        super().__init__(0, 2, parent)
        self.setHorizontalHeaderLabels(["Field", "Value"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    def show_summary(self, summary: dict | None) -> None:
        items = [(k, v) for k, v in (summary or {}).items() if v not in (None, "", [])]
        self.setRowCount(len(items))
        for r, (k, v) in enumerate(items):
            if isinstance(v, float):
                text = f"{v:.5g}"
            elif isinstance(v, (list, tuple)):
                text = ", ".join(f"{x:.5g}" if isinstance(x, float) else str(x) for x in v)
            else:
                text = str(v)
            self.setItem(r, 0, QTableWidgetItem(k.replace("_", " ")))
            self.setItem(r, 1, QTableWidgetItem(text))
