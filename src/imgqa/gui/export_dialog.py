"""Database → Export QA records…: choose a file, a format, a period and equipment.

The dialog only collects choices (`choices()`); the main window runs the export on the
database thread with `run_export`, the same code path as ``imgqa export``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from imgqa.store import Store
    from imgqa.store.records import EquipmentRecord

__all__ = ["ExportDialog", "run_export"]

FORMAT_TEXT = {"xlsx": "Excel workbook (.xlsx)", "pdf": "PDF report (.pdf)",
               "csv": "CSV table (.csv)", "json": "JSON (.json)"}


class ExportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, folder: str | Path = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Export QA records")
        self.setMinimumWidth(480)
        self.file = QLineEdit(str(Path(folder or Path.home()) / "qa-records.xlsx"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.format = QComboBox()
        for key, text in FORMAT_TEXT.items():
            self.format.addItem(text, key)
        self.format.currentIndexChanged.connect(self._format_changed)
        self.file.textChanged.connect(self._file_changed)

        today = QDate.currentDate()
        self.all_dates = QCheckBox("All dates")
        self.since = QDateEdit(today.addMonths(-1))
        self.until = QDateEdit(today)
        for d in (self.since, self.until):
            d.setCalendarPopup(True)
            d.setDisplayFormat("yyyy-MM-dd")
        self.all_dates.toggled.connect(lambda on: (self.since.setEnabled(not on),
                                                   self.until.setEnabled(not on)))
        self.equipment = QListWidget()
        self.equipment.setMaximumHeight(130)
        self.equipment.setToolTip("Tick the equipment to export; none ticked exports all.")
        self.unreviewed = QCheckBox("Only sessions awaiting review")
        self.message = QLabel("")
        self.message.setWordWrap(True)

        file_row = QHBoxLayout()
        file_row.addWidget(self.file, 1)
        file_row.addWidget(browse)
        period = QHBoxLayout()
        period.addWidget(self.since)
        period.addWidget(QLabel("to"))
        period.addWidget(self.until)
        period.addWidget(self.all_dates)
        form = QFormLayout()
        form.addRow("File", file_row)
        form.addRow("Format", self.format)
        form.addRow("Period", period)
        form.addRow("Equipment", self.equipment)
        form.addRow("", self.unreviewed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self._file_changed(self.file.text())

    # -- equipment list (filled from the database thread) --------------------------------
    def set_equipment_list(self, equipment: Sequence[EquipmentRecord]) -> None:
        self.equipment.clear()
        for e in equipment:
            item = QListWidgetItem(f"{e.name} · {e.modality}")
            item.setData(Qt.ItemDataRole.UserRole, e.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.equipment.addItem(item)

    def set_checked(self, equipment_ids: Sequence[int]) -> None:
        for i in range(self.equipment.count()):
            it = self.equipment.item(i)
            it.setCheckState(Qt.CheckState.Checked if it.data(Qt.ItemDataRole.UserRole)
                             in equipment_ids else Qt.CheckState.Unchecked)

    # -- file and format stay in step -----------------------------------------------------
    def _browse(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export QA records", self.file.text(),
                                              ";;".join(FORMAT_TEXT.values()))
        if name:
            self.file.setText(name)

    def _format_changed(self) -> None:
        fmt = self.format.currentData()
        text = self.file.text().strip()
        if text and Path(text).suffix.lower().lstrip(".") != fmt:
            self.file.setText(str(Path(text).with_suffix("." + fmt)))

    def _file_changed(self, text: str) -> None:
        suffix = Path(text.strip()).suffix.lower().lstrip(".")
        i = self.format.findData(suffix)
        if i >= 0 and i != self.format.currentIndex():
            self.format.blockSignals(True)      # no echo back into the file name
            self.format.setCurrentIndex(i)
            self.format.blockSignals(False)

    # -- result ---------------------------------------------------------------------------
    def choices(self) -> dict[str, Any]:
        """file, format, since/until (aware UTC; until exclusive), equipment ids, unreviewed."""
        def day(d: QDate) -> datetime:
            return datetime.combine(d.toPython(), time(0), tzinfo=UTC)

        checked = [self.equipment.item(i).data(Qt.ItemDataRole.UserRole)
                   for i in range(self.equipment.count())
                   if self.equipment.item(i).checkState() == Qt.CheckState.Checked]
        return {
            "file": self.file.text().strip(),
            "format": self.format.currentData(),
            "since": None if self.all_dates.isChecked() else day(self.since.date()),
            "until": None if self.all_dates.isChecked()
            else day(self.until.date()) + timedelta(days=1),
            "equipment": checked,
            "unreviewed_only": self.unreviewed.isChecked(),
        }

    def _accept(self) -> None:
        c = self.choices()
        if not c["file"]:
            self.message.setText("Give a file name.")
            return
        if c["since"] is not None and c["since"] >= c["until"]:
            self.message.setText("The start date must not be after the end date.")
            return
        self.accept()


def run_export(store: Store, choices: dict[str, Any]) -> tuple[int, int, str]:
    """Gather and write the export (on the database thread); (results, sessions, path)."""
    from imgqa.report import export, gather

    records = gather(store, equipment=choices.get("equipment") or (),
                     since=choices.get("since"), until=choices.get("until"),
                     unreviewed_only=bool(choices.get("unreviewed_only")))
    path = export(records, choices["file"], choices.get("format"))
    return len(records.rows), len(records.sessions), str(path)
