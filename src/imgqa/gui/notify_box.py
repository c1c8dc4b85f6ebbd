"""Settings → Notifications: e-mail for failing automatic sessions and overdue tests (issue 12).

Edits the same ``notify.toml`` as ``imgqa notify set`` (`imgqa.service.notify_settings`), so
``imgqa serve`` on this computer uses what is chosen here. The password is not a field: it is
read by the service from an environment variable or a file, never saved with the settings.
"Send test e-mail" sends through the fields as they stand, on a worker thread.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.receiver_control import split_names
from imgqa.gui.workers import TaskRunner
from imgqa.service.notify import compose_test, send_mail
from imgqa.service.notify_settings import (
    NotifySettings,
    load_settings,
    save_settings,
    settings_path,
    settings_problems,
)

__all__ = ["NotificationsBox"]

# (shown, stored): which worst status of a session is mailed
_LEVELS = (("Action level only", "ACTION"), ("Tolerance or action level", "TOLERANCE"))
_ENCRYPTION = (("None (internal relay, port 25)", "none"),
               ("STARTTLS (usual on port 587)", "starttls"),
               ("SSL/TLS from the start (usual on port 465)", "ssl"))


class NotificationsBox(QGroupBox):
    """The Notifications group of the settings dialog."""

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__("Notifications (e-mail)", parent)
        self.runner = runner
        self.load_error = ""
        try:
            s = load_settings()
        except Exception as exc:  # a broken file must not stop the dialog opening
            self.load_error = str(exc)
            s = NotifySettings()
        self._loaded = s
        self.enabled = QCheckBox("E-mail failing automatic sessions and overdue tests")
        self.enabled.setChecked(s.enabled)
        self.level = QComboBox()
        for shown, stored in _LEVELS:
            self.level.addItem(shown, stored)
        self.level.setCurrentIndex(max(0, self.level.findData(s.level)))
        self.overdue = QCheckBox("Also e-mail overdue tests (each at most once a day)")
        self.overdue.setChecked(s.overdue)
        self.host = QLineEdit(s.host)
        self.host.setPlaceholderText("smtp.hospital.org")
        self.port = QSpinBox()
        self.port.setRange(1, 65535)
        self.port.setValue(s.port if 1 <= s.port <= 65535 else 25)
        self.encryption = QComboBox()
        for shown, stored in _ENCRYPTION:
            self.encryption.addItem(shown, stored)
        self.encryption.setCurrentIndex(
            self.encryption.findData("ssl" if s.ssl else "starttls" if s.starttls else "none"))
        self.ca_file = QLineEdit(s.ca_file)
        self.ca_file.setPlaceholderText("empty: the system's trusted authorities")
        self.ca_file.setToolTip("A PEM file with the certificate of the authority that signed "
                                "the mail server's certificate, when it is the hospital's own.")
        self.from_edit = QLineEdit(s.sender)
        self.from_edit.setPlaceholderText("imgqa@hospital.org")
        self.to = QLineEdit(", ".join(s.to))
        self.to.setPlaceholderText("physics@hospital.org, qc-lead@hospital.org")
        self.user = QLineEdit(s.user)
        self.user.setPlaceholderText("empty: the server needs no login")
        self.password_env = QLineEdit(s.password_env)
        self.password_env.setToolTip("The environment variable holding the SMTP password for "
                                     "the account that runs imgqa (never stored here).")
        self.password_file = QLineEdit(s.password_file)
        self.password_file.setPlaceholderText("or a file holding only the password")
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(1.0, 120.0)
        self.timeout.setSuffix(" s")
        self.timeout.setValue(min(max(s.timeout_s, 1.0), 120.0))
        self.test_button = QPushButton("Send test e-mail")
        self.test_button.clicked.connect(self.send_test)
        self.test_result = QLabel(f"✖ {self.load_error}" if self.load_error else "")
        self.test_result.setWordWrap(True)
        self._layout()

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Send when a session is at", self.level)
        form.addRow(self.overdue)
        server = QHBoxLayout()
        server.addWidget(self.host, 1)
        server.addWidget(QLabel("port"))
        server.addWidget(self.port)
        form.addRow("SMTP server", server)
        form.addRow("Encryption", self.encryption)
        form.addRow("CA certificate", self.ca_file)
        form.addRow("From", self.from_edit)
        form.addRow("To (comma separated)", self.to)
        form.addRow("Login", self.user)
        form.addRow("Password from variable", self.password_env)
        form.addRow("… or from file", self.password_file)
        form.addRow("Timeout", self.timeout)
        v = QVBoxLayout(self)
        v.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(self.test_button)
        row.addWidget(self.test_result, 1)
        v.addLayout(row)
        note = QLabel(f"Saved in {settings_path()} (read by <code>imgqa serve</code>).")
        note.setWordWrap(True)
        v.addWidget(note)

    def choice(self) -> NotifySettings:
        """The settings as the fields stand."""
        return replace(self._loaded, enabled=self.enabled.isChecked(),
                       level=str(self.level.currentData()), overdue=self.overdue.isChecked(),
                       host=self.host.text().strip(), port=self.port.value(),
                       starttls=self.encryption.currentData() == "starttls",
                       ssl=self.encryption.currentData() == "ssl",
                       ca_file=self.ca_file.text().strip(), sender=self.from_edit.text().strip(),
                       to=split_names(self.to.text()), user=self.user.text().strip(),
                       password_env=self.password_env.text().strip(),
                       password_file=self.password_file.text().strip(),
                       timeout_s=float(self.timeout.value()))

    def problems(self) -> list[str]:
        """Why the chosen settings cannot send (empty when fine or switched off)."""
        return settings_problems(self.choice())

    def save(self) -> None:
        """Write the settings file when something changed (an unchanged file is left alone)."""
        s = self.choice()
        if s != self._loaded:
            save_settings(s)
            self._loaded = s

    def send_test(self) -> None:
        s = self.choice()
        self.test_button.setEnabled(False)
        self.test_result.setText("Sending…")

        def ok(_result: object) -> None:
            self.test_result.setText(f"✔ Sent to {', '.join(s.to)}.")

        def bad(message: str, hint: str) -> None:
            self.test_result.setText(f"✖ {message}")

        self.runner.start(lambda _p: send_mail(s, compose_test(s)), name="test e-mail",
                          on_done=ok, on_failed=bad,
                          on_finished=lambda: self.test_button.setEnabled(True))
