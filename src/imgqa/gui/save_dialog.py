"""Save the analysed series as QC sessions: who did it, a comment, and which equipment.

One group per device found in the images. A device already in the database is matched from the
DICOM header; otherwise the user picks an existing record or creates one from the header.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.store_bridge import attr

__all__ = ["SaveDialog", "CREATE_NEW"]

CREATE_NEW = "__create__"


class _GroupBox(QGroupBox):
    """Equipment choice for the series of one device."""

    def __init__(self, group: dict, parent: QWidget | None = None) -> None:
        n = len(group["entries"])
        super().__init__(f"{group['label']} — {n} series", parent)
        self.group = group
        form = QFormLayout(self)
        self.include = QCheckBox("Save these results")
        self.include.setChecked(True)
        self.equipment = QComboBox()
        self.equipment.currentIndexChanged.connect(self._toggle_new)
        self.new_name = QLineEdit(group["label"])
        self.location = QLineEdit()
        self.location.setPlaceholderText("e.g. Room 3, Nuclear Medicine")
        self.match_note = QLabel("")
        form.addRow(self.include)
        form.addRow("Equipment", self.equipment)
        form.addRow("", self.match_note)
        form.addRow("New record name", self.new_name)
        form.addRow("Location", self.location)
        self.set_equipment_list([])

    def set_equipment_list(self, records: Sequence[Any]) -> None:
        current = self.group.get("equipment_id")
        self.equipment.blockSignals(True)
        self.equipment.clear()
        if current is not None and not any(attr(r, "id") == current for r in records):
            self.equipment.addItem(self.group.get("equipment_name") or f"#{current}", current)
        for r in records:
            modality = attr(r, "modality", default="")
            if modality and modality != self.group.get("modality"):
                continue
            self.equipment.addItem(f"{attr(r, 'name', default='')} "
                                   f"({attr(r, 'location', default='') or modality})",
                                   attr(r, "id"))
        self.equipment.addItem("Create a new equipment record from the image header…",
                               CREATE_NEW)
        idx = self.equipment.findData(current) if current is not None else -1
        self.equipment.setCurrentIndex(idx if idx >= 0 else self.equipment.count() - 1)
        self.equipment.blockSignals(False)
        self.match_note.setText("Matched from the image header." if current is not None else
                                "This device is not in the database yet.")
        self._toggle_new()

    def _toggle_new(self, *_: Any) -> None:
        new = self.equipment.currentData() == CREATE_NEW
        self.new_name.setEnabled(new)
        self.location.setEnabled(new)

    def choice(self) -> dict:
        data = self.equipment.currentData()
        out = dict(self.group)
        out["skip"] = not self.include.isChecked()
        out["equipment_id"] = None if data == CREATE_NEW else data
        out["new_name"] = self.new_name.text().strip()
        out["location"] = self.location.text().strip()
        return out


class SaveDialog(QDialog):
    def __init__(self, parent: QWidget | None, groups: Sequence[dict],
                 default_user: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Save QC results")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.performed_by = QLineEdit(default_user or getpass.getuser())
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Optional: anything worth knowing about this QC.")
        self.comment.setFixedHeight(70)
        form.addRow("Performed by", self.performed_by)
        form.addRow("Comment", self.comment)
        layout.addLayout(form)
        self.group_boxes = [_GroupBox(g) for g in groups]
        for box in self.group_boxes:
            layout.addWidget(box)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.performed_by.textChanged.connect(self._validate)
        layout.addWidget(self.buttons)
        self._validate()

    def _validate(self) -> None:
        ok = bool(self.performed_by.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)

    def set_equipment_list(self, records: Sequence[Any]) -> None:
        for box in self.group_boxes:
            box.set_equipment_list(records)

    def choices(self) -> dict:
        return {"performed_by": self.performed_by.text().strip(),
                "comment": self.comment.toPlainText().strip(),
                "groups": [b.choice() for b in self.group_boxes]}
