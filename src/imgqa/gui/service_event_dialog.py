"""The *Add service event…* dialog of the trend view and the hover text of an event marker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from imgqa.store.records import ServiceEventRecord

__all__ = ["SERVICE_KINDS", "ServiceEventDialog", "event_tooltip"]

# Suggested kinds (free text is allowed); the same list as imgqa.store.SERVICE_KINDS, repeated
# so the GUI does not import the store module on the GUI thread.
SERVICE_KINDS = ("service", "repair", "calibration", "software", "part replacement",
                 "acceptance")


def event_tooltip(event: ServiceEventRecord) -> str:
    """Hover text of a service-event marker: date, kind, description, who did/recorded it."""
    when = event.when.astimezone() if event.when.tzinfo else event.when
    lines = [f"{when:%Y-%m-%d %H:%M} · {event.kind}", event.description]
    if event.performed_by:
        lines.append(f"performed by {event.performed_by}")
    lines.append(f"recorded by {event.recorded_by}")
    return "\n".join(lines)


class ServiceEventDialog(QDialog):
    """Record a service event: when, kind (suggestions or free text), what was done, by whom.

    The time is entered in local time and stored in UTC.
    """

    def __init__(self, equipment_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Add service event · {equipment_name}")
        self.setMinimumWidth(460)
        self.when = QDateTimeEdit(QDateTime.currentDateTime())
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when.setMaximumDateTime(QDateTime.currentDateTime().addDays(1))
        self.kind = QComboBox()
        self.kind.setEditable(True)
        self.kind.addItems(SERVICE_KINDS)
        self.kind.setCurrentIndex(-1)
        self.kind.lineEdit().setPlaceholderText("e.g. part replacement")
        self.description = QLineEdit()
        self.description.setPlaceholderText("What was done (required), e.g. X-ray tube replaced")
        self.performed_by = QLineEdit()
        self.performed_by.setPlaceholderText("Engineer and company (optional)")
        form = QFormLayout()
        form.addRow("When", self.when)
        form.addRow("Kind", self.kind)
        form.addRow("Description", self.description)
        form.addRow("Performed by", self.performed_by)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Record event")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.kind.currentTextChanged.connect(self._update_ok)
        self.description.textChanged.connect(self._update_ok)
        self._update_ok()

    def _update_ok(self, *_: Any) -> None:
        ok = bool(self.kind.currentText().strip() and self.description.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> dict[str, Any]:
        """Keyword arguments for `Store.add_service_event` (``when`` timezone-aware)."""
        when = self.when.dateTime().toPython().astimezone()  # naive local → aware
        return {"when": when, "kind": self.kind.currentText().strip(),
                "description": self.description.text().strip(),
                "performed_by": self.performed_by.text().strip()}
