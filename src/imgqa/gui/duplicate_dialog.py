"""Confirm-with-reason dialog shown when Save finds the images already saved (issue 11, item 5).

The store refused the session and named the earlier one(s); this dialog shows that message and
saves again only with a reason typed in (it is stored with the session and audited). Cancel
leaves nothing saved.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

__all__ = ["DuplicateDialog"]


class DuplicateDialog(QDialog):
    """Lists why each refused session was refused and asks for the reason to save anyway."""

    def __init__(self, parent: QWidget | None, messages: Sequence[str]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Images already saved")
        self.setSizeGripEnabled(True)
        self.text = QLabel("\n\n".join(messages))
        self.text.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why are these images saved again? (required)")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setText("Save again with this reason")
        save.setEnabled(False)
        self.reason.textChanged.connect(lambda s: save.setEnabled(bool(s.strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(QLabel("Saving them again counts the same images twice in trends, "
                                "control limits and reports. Reason (stored with the session "
                                "and in the audit log):"))
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(560, self.sizeHint().height())

    def reason_text(self) -> str:
        return " ".join(self.reason.text().split())
