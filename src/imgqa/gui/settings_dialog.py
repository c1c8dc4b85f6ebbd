"""Settings: which results database to use (SQLite file or PostgreSQL), with a connection test,
the image archive folder (where saved sessions' images are kept, e.g. a department share; key
``archive/root``, read by the CLI too through `imgqa.io.image_archive.default_archive_root`),
and the DICOM receiver (receive images from scanners: AE title, port, inbox folder, and which
scanners may send: their AE titles and, optionally, addresses), and e-mail notifications
(`imgqa.gui.notify_box`)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.notify_box import NotificationsBox
from imgqa.gui.receiver_control import (
    ReceiverControl,
    access_note,
    port_problem,
    split_names,
    validate_receiver,
)
from imgqa.gui.state import ReceiverSettings, receiver_settings, save_receiver_settings
from imgqa.gui.store_bridge import check_connection
from imgqa.gui.workers import TaskRunner
from imgqa.io.ae_policy import ANY
from imgqa.io.image_archive import ARCHIVE_ENV

__all__ = ["SettingsDialog"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
ARCHIVE_KEY = "archive/root"   # read by imgqa.io.image_archive.default_archive_root


class SettingsDialog(QDialog):
    def __init__(self, settings: QSettings, current_url: str | None,
                 parent: QWidget | None = None,
                 receiver: ReceiverControl | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("imgqa settings")
        self.setMinimumWidth(560)
        self.settings = settings
        self.receiver = receiver  # the running one: its own port is not "in use"
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
        layout.addSpacing(8)
        layout.addLayout(self._build_archive_row(str(settings.value(ARCHIVE_KEY, "") or "")))
        layout.addSpacing(8)
        layout.addWidget(self._build_receiver_box(receiver_settings(settings)))
        # Notifications: its own group, saved to notify.toml (read by `imgqa serve`)
        self.notify_box = NotificationsBox(self.runner, self)
        layout.addWidget(self.notify_box)
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

    # -- image archive ----------------------------------------------------------------------
    def _build_archive_row(self, saved: str) -> QVBoxLayout:
        box = QVBoxLayout()
        box.addWidget(QLabel("<b>Image archive</b>"))
        self.archive_folder = QLineEdit(saved)
        self.archive_folder.setPlaceholderText("none: images stay where they were opened from")
        self.archive_folder.setToolTip(
            "Saved sessions' images are copied here (equipment/date/series) and recorded "
            "with the session, so every workstation that mounts the same share, wherever it "
            "is mounted, can reopen them and `imgqa db verify` can check them.")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_archive)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        row.addWidget(self.archive_folder, 1)
        row.addWidget(browse)
        box.addLayout(row)
        env = os.environ.get(ARCHIVE_ENV, "").strip()
        if env:  # the service environment wins, as for the CLI
            box.addWidget(QLabel(f"${ARCHIVE_ENV} is set: {env} is used instead."))
        return box

    def _browse_archive(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Image archive folder",
                                                  self.archive_folder.text())
        if folder:
            self.archive_folder.setText(folder)

    def archive_choice(self) -> str:
        return self.archive_folder.text().strip()

    # -- receiver ---------------------------------------------------------------------------
    def _build_receiver_box(self, rs: ReceiverSettings) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(QLabel("<b>Receive images from scanners</b> (DICOM network, C-STORE)"))
        self.rx_enabled = QCheckBox("Receive images from scanners")
        self.rx_enabled.setToolTip("Scanners and PACS send QC images to this AE title and port; "
                                   "they are filed in the inbox (File → Open inbox…, Ctrl+I).")
        self.rx_enabled.setChecked(rs.enabled)
        self.rx_ae = QLineEdit(rs.ae_title)
        self.rx_ae.setMaxLength(16)
        self.rx_port = QSpinBox()
        self.rx_port.setRange(1, 65535)
        self.rx_port.setValue(rs.port if 1 <= rs.port <= 65535 else 11112)
        self.rx_inbox = QLineEdit(rs.inbox)
        self.rx_inbox.setPlaceholderText(str(ReceiverSettings().inbox_path()))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_inbox)
        # Loopback unless the user opens the receiver to the network; a specific address set
        # in the ini file (receiver/host) is kept when the box is ticked.
        self._rx_host = rs.host
        self._rx_network_host = "" if rs.host in _LOOPBACK else rs.host
        self.rx_network = QCheckBox("Accept images from scanners on the network")
        self.rx_network.setToolTip(
            "Off: only programs on this computer can send (address 127.0.0.1). On: listen on "
            + ("every network interface" if not self._rx_network_host else
               f"{self._rx_network_host}") + ", so scanners and PACS can reach the receiver.")
        self.rx_network.setChecked(rs.host not in _LOOPBACK)
        self.rx_network.toggled.connect(self._rx_network_toggled)
        self._build_allow_list(rs)
        form = QFormLayout()
        form.addRow(self.rx_enabled)
        form.addRow("AE title", self.rx_ae)
        form.addRow("Port", self.rx_port)
        row = QHBoxLayout()
        row.addWidget(self.rx_inbox, 1)
        row.addWidget(browse)
        form.addRow("Inbox folder", row)
        form.addRow(self.rx_network)
        form.addRow("Scanners allowed to send (their AE titles)", self.rx_allowed_ae)
        form.addRow("", self.rx_any_ae)
        form.addRow("Allowed addresses", self.rx_allowed_hosts)
        v.addLayout(form)
        self.rx_note = QLabel("")
        self.rx_note.setWordWrap(True)
        self.rx_note.setStyleSheet("color: #8a5a00;")
        v.addWidget(self.rx_note)
        self.rx_message = QLabel("")
        self.rx_message.setWordWrap(True)
        self.rx_message.setStyleSheet("color: #c62828;")
        v.addWidget(self.rx_message)
        self.rx_enabled.toggled.connect(self._rx_enable_fields)
        self._rx_enable_fields(rs.enabled)
        return box

    def _build_allow_list(self, rs: ReceiverSettings) -> None:
        """Who may send: the scanners' AE titles (or any), optionally their addresses."""
        names = [t for t in rs.allowed_ae_titles if t.strip().upper() != ANY]
        self.rx_allowed_ae = QLineEdit(", ".join(names))
        self.rx_allowed_ae.setPlaceholderText("e.g. CT_ROOM1, MR_3T, GAMMA2")
        self.rx_allowed_ae.setToolTip(
            "The AE title each scanner sends as (its own AE title, set on the scanner's DICOM "
            "page), separated by commas or spaces; use commas when a title has a space in it. "
            "Other scanners are refused. Leave empty to accept programs on this computer only.")
        self.rx_any_ae = QCheckBox("Any scanner (not recommended)")
        self.rx_any_ae.setToolTip("Accept every AE title: any program that reaches the port "
                                  "can fill the inbox. Name the scanners instead if you can.")
        self.rx_any_ae.setChecked(len(names) != len(rs.allowed_ae_titles))
        self.rx_allowed_hosts = QLineEdit(", ".join(rs.allowed_hosts))
        self.rx_allowed_hosts.setPlaceholderText("e.g. 10.1.2.15, 10.1.2.0/24 (empty: any)")
        self.rx_allowed_hosts.setToolTip(
            "Optional: the scanners' IP addresses or networks (10.1.2.0/24). When given, a "
            "scanner must also send from one of them. Host names are not accepted.")
        self.rx_allowed_ae.textChanged.connect(self._rx_update_note)
        self.rx_allowed_hosts.textChanged.connect(self._rx_update_note)
        self.rx_any_ae.toggled.connect(self._rx_update_note)

    def _rx_enable_fields(self, on: bool) -> None:
        for w in (self.rx_ae, self.rx_port, self.rx_inbox, self.rx_network, self.rx_any_ae,
                  self.rx_allowed_hosts):
            w.setEnabled(on)
        self.rx_message.setText("")
        self._rx_update_note()

    def _rx_network_toggled(self, on: bool) -> None:
        self._rx_host = self._rx_network_host if on else "127.0.0.1"
        self._rx_update_note()

    def _rx_update_note(self, *_args: object) -> None:
        """Say who will be refused (or let in) as the choice stands; never blocks saving."""
        on = self.rx_enabled.isChecked()
        self.rx_allowed_ae.setEnabled(on and not self.rx_any_ae.isChecked())
        self.rx_note.setText(access_note(self.receiver_choice()) if on else "")

    def _browse_inbox(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Inbox folder for received images",
                                                  self.rx_inbox.text() or
                                                  self.rx_inbox.placeholderText())
        if folder:
            self.rx_inbox.setText(folder)

    def receiver_choice(self) -> ReceiverSettings:
        titles = split_names(self.rx_allowed_ae.text())
        if self.rx_any_ae.isChecked():  # the typed names are kept for when it is unticked
            titles += (ANY,)
        return ReceiverSettings(enabled=self.rx_enabled.isChecked(),
                                ae_title=self.rx_ae.text().strip(), port=self.rx_port.value(),
                                inbox=self.rx_inbox.text().strip(), host=self._rx_host,
                                allowed_ae_titles=titles,
                                allowed_hosts=split_names(self.rx_allowed_hosts.text()))

    def receiver_problems(self) -> list[str]:
        """What stops the receiver from starting as chosen (empty: fine or disabled)."""
        rs = self.receiver_choice()
        if not rs.enabled:
            return []
        problems = validate_receiver(rs)
        mine = self.receiver is not None and self.receiver.running and \
            self.receiver.port == rs.port and self.receiver.settings.host == rs.host
        if not problems and not mine:
            why = port_problem(rs.host, rs.port)
            if why:
                problems.append(why)
        return problems

    def _accept(self) -> None:
        problems = self.receiver_problems()
        if problems:
            self.rx_message.setText("✖ " + " ".join(problems))
            return
        notify_problems = self.notify_box.problems()
        if notify_problems:
            self.notify_box.test_result.setText("✖ " + "; ".join(notify_problems) + ".")
            return
        self.notify_box.save()
        save_receiver_settings(self.receiver_choice(), self.settings)
        self.settings.setValue("db/url", self.url() or "")
        self.settings.setValue(ARCHIVE_KEY, self.archive_choice())
        self.settings.sync()
        self.accept()

    def done(self, result: int) -> None:  # noqa: D401 (Qt override)
        self.runner.wait(10000)
        super().done(result)
