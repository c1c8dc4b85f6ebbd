"""Save the analysed series as QC sessions: who did it, a comment, and which equipment.

One group per device found in the images. A device already in the database is matched from the
DICOM header; otherwise the user picks an existing record or creates one from the header.

The device groups sit in a scroll area and the dialog is never taller than the screen, so Save
and Cancel stay reachable with any number of devices (17 made it 3 000 px high, issue 11); a
search box filters the groups shown (by device label and equipment names). Filtering only
changes what is shown: hidden devices are saved as set.

`saved_message` is the status-bar line after saving.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from imgqa.status import BY_SEVERITY

if TYPE_CHECKING:
    from imgqa.store.records import EquipmentRecord, ResultRow, SessionRecord

__all__ = ["SaveDialog", "CREATE_NEW", "saved_message"]

CREATE_NEW = "__create__"
# Share of the screen's available height the dialog may take at most when it opens.
_MAX_SCREEN_SHARE = 0.85
_STATUS_ORDER = BY_SEVERITY[::-1]  # worst first
_STATUS_WORDS = {"NO_TOL": "without tolerance"}


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

    def set_equipment_list(self, records: Sequence[EquipmentRecord]) -> None:
        current = self.group.get("equipment_id")
        self.equipment.blockSignals(True)
        self.equipment.clear()
        if current is not None and not any(r.id == current for r in records):
            self.equipment.addItem(self.group.get("equipment_name") or f"#{current}", current)
        for r in records:
            modality = r.modality
            if modality and modality != self.group.get("modality"):
                continue
            self.equipment.addItem(f"{r.name} ({r.location or modality})", r.id)
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

    def search_text(self) -> str:
        """What the search box matches: the device label and the equipment choices."""
        names = [self.equipment.itemText(i) for i in range(self.equipment.count())
                 if self.equipment.itemData(i) != CREATE_NEW]
        return " ".join([self.group["label"], *names]).casefold()

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
        self.setSizeGripEnabled(True)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.performed_by = QLineEdit(default_user or getpass.getuser())
        self.comment = QPlainTextEdit()
        self.comment.setPlaceholderText("Optional: anything worth knowing about this QC.")
        self.comment.setFixedHeight(70)
        form.addRow("Performed by", self.performed_by)
        form.addRow("Comment", self.comment)
        layout.addLayout(form)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search devices (name, serial number, modality…)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.filter_note = QLabel("")
        layout.addWidget(self.search)
        layout.addWidget(self.filter_note)
        self.search.setVisible(len(groups) > 3)  # a filter for a handful of boxes is clutter
        self.group_boxes = [_GroupBox(g) for g in groups]
        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 0, 0)
        for box in self.group_boxes:
            inner_layout.addWidget(box)
        inner_layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(inner)
        layout.addWidget(self.scroll, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.performed_by.textChanged.connect(self._validate)
        layout.addWidget(self.buttons)
        self._validate()
        self._filter()

    def sizeHint(self) -> QSize:
        """Tall enough for the device boxes, but never more than most of the screen."""
        hint = super().sizeHint()
        inner = self.scroll.widget().sizeHint().height() - self.scroll.viewport().height()
        screen = (self.parentWidget() or self).screen()
        cap = int(screen.availableGeometry().height() * _MAX_SCREEN_SHARE)
        return QSize(hint.width(), max(min(hint.height() + max(inner, 0), cap),
                                       self.minimumSizeHint().height()))

    def showEvent(self, event: Any) -> None:
        # Size once on opening (the user may resize afterwards, with the size grip).
        super().showEvent(event)
        if not getattr(self, "_sized", False):
            self._sized = True
            self.resize(self.sizeHint())
            avail = self.screen().availableGeometry()
            frame = self.frameGeometry()
            if not avail.contains(frame):  # keep the buttons on screen
                frame.moveTop(max(avail.top(), min(frame.top(), avail.bottom() - frame.height())))
                self.move(frame.topLeft())

    def _filter(self, *_: Any) -> None:
        words = self.search.text().casefold().split()
        shown = 0
        for box in self.group_boxes:
            visible = all(w in box.search_text() for w in words)
            box.setVisible(visible)
            shown += visible
        n = len(self.group_boxes)
        self.filter_note.setText(
            f"Showing {shown} of {n} devices; hidden devices are saved as set." if words
            else "")
        self.filter_note.setVisible(bool(words))

    def _validate(self) -> None:
        ok = bool(self.performed_by.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(ok)

    def set_equipment_list(self, records: Sequence[EquipmentRecord]) -> None:
        for box in self.group_boxes:
            box.set_equipment_list(records)
        self._filter()

    def choices(self) -> dict:
        return {"performed_by": self.performed_by.text().strip(),
                "comment": self.comment.toPlainText().strip(),
                "groups": [b.choice() for b in self.group_boxes]}


def saved_message(saved: Sequence[tuple[SessionRecord, Sequence[ResultRow]]]) -> str:
    """The status-bar line after saving: "Saved session 12 for CT 1: 3 results, 1 ACTION."

    Parameters
    ----------
    saved : sequence of (session record, result rows)
        Each saved session with its stored results.
    """
    if not saved:
        return "Nothing was saved."
    parts = []
    for session, rows in saved:
        counts: dict[str | None, int] = {}
        for r in rows:
            counts[r.status] = counts.get(r.status, 0) + 1
        statuses = [f"{counts[s]} {_STATUS_WORDS.get(s, s)}" for s in _STATUS_ORDER
                    if counts.get(s)]
        parts.append(f"session {session.id} for {session.equipment_name}: "
                     + ", ".join([f"{len(rows)} results", *statuses]))
    return "Saved " + "; ".join(parts) + "."
