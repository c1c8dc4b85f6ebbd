"""Settings: which results database to use (SQLite file or PostgreSQL), with a connection test."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.store_bridge import check_connection
from imgqa.gui.workers import TaskRunner

__all__ = ["SettingsDialog"]


class SettingsDialog(QDialog):
    def __init__(self, settings: QSettings, current_url: str | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("imgqa settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.runner = TaskRunner(max_threads=1, parent=self)
        saved = str(settings.value("db/url", "") or "") or (current_url or "")

        self.default_radio = QRadioButton("Local SQLite file (default)")
        self.sqlite_path = QLineEdit()
        self.sqlite_path.setPlaceholderText("default location in the user data folder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.pg_radio = QRadioButton("PostgreSQL server (shared by the department)")
        self.pg_url = QLineEdit()
        self.pg_url.setPlaceholderText("postgresql://user@host:5432/imgqa")
        group = QButtonGroup(self)
        group.addButton(self.default_radio)
        group.addButton(self.pg_radio)
        if saved.startswith(("postgresql", "postgres")):
            self.pg_radio.setChecked(True)
            self.pg_url.setText(saved)
        else:
            self.default_radio.setChecked(True)
            self.sqlite_path.setText(saved.removeprefix("sqlite:///"))

        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("")
        self.test_result.setWordWrap(True)

        form = QFormLayout()
        row = QHBoxLayout()
        row.addWidget(self.sqlite_path, 1)
        row.addWidget(browse)
        form.addRow(self.default_radio)
        form.addRow("File", row)
        form.addRow(self.pg_radio)
        form.addRow("URL", self.pg_url)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Results database</b>"))
        layout.addLayout(form)
        trow = QHBoxLayout()
        trow.addWidget(self.test_button)
        trow.addWidget(self.test_result, 1)
        layout.addLayout(trow)
        layout.addWidget(QLabel("<i>Receiver (DICOM network) settings will appear here when "
                                "the receiver is installed.</i>"))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Results database file",
                                              self.sqlite_path.text(),
                                              "SQLite database (*.sqlite3 *.db);;All files (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.sqlite_path.setText(path)

    def url(self) -> str | None:
        """The chosen URL; None means the default SQLite file."""
        if self.pg_radio.isChecked():
            return self.pg_url.text().strip() or None
        path = self.sqlite_path.text().strip()
        return path or None

    def test_connection(self) -> None:
        url = self.url()
        self.test_button.setEnabled(False)
        self.test_result.setText("Connecting…")

        def ok(text: str) -> None:
            self.test_result.setText(f"✔ {text}")

        def bad(message: str, hint: str) -> None:
            self.test_result.setText(f"✖ {message} {hint}".strip())

        self.runner.start(lambda _p: check_connection(url), name="connection test",
                          on_done=ok, on_failed=bad,
                          on_finished=lambda: self.test_button.setEnabled(True))

    def _accept(self) -> None:
        self.settings.setValue("db/url", self.url() or "")
        self.settings.sync()
        self.accept()

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        self.runner.wait(10000)
        super().done(result)
