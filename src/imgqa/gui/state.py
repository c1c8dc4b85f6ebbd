"""Where the desktop application keeps its own state (window geometry, last folder, recent
folders, database URL): an ini file next to the user's data, never the OS registry.

``IMGQA_DATA_DIR`` moves it (tests point it at a temporary folder so they never touch the real
user's settings); ``IMGQA_QT_ORG`` and ``IMGQA_QT_APP`` rename the organisation/application.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSettings

from imgqa.paths import data_dir

__all__ = [
    "MAX_RECENT",
    "ReceiverSettings",
    "add_recent_folder",
    "app_settings",
    "data_dir",
    "receiver_settings",
    "recent_folders",
    "save_receiver_settings",
]

MAX_RECENT = 8



def app_settings() -> QSettings:
    """The application's QSettings, stored as an ini file in `data_dir`."""
    org = os.environ.get("IMGQA_QT_ORG", "imgqa")
    app = os.environ.get("IMGQA_QT_APP", "imgqa")
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{org}-{app}-gui.ini"
    return QSettings(str(path), QSettings.Format.IniFormat)


def _as_list(value: object) -> list[str]:
    # QSettings' ini backend returns a str for one-element lists and None for empty ones.
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value]  # type: ignore[union-attr]


def recent_folders(settings: QSettings | None = None) -> list[str]:
    s = settings or app_settings()
    return _as_list(s.value("recent_folders", []))


def add_recent_folder(folder: str, settings: QSettings | None = None) -> list[str]:
    """Put `folder` first in the recent list (no duplicates, at most `MAX_RECENT`)."""
    s = settings or app_settings()
    items = [folder] + [f for f in recent_folders(s) if f != folder]
    items = items[:MAX_RECENT]
    s.setValue("recent_folders", items)
    s.setValue("last_folder", folder)
    s.sync()
    return items


@dataclass(frozen=True)
class ReceiverSettings:
    """The DICOM receiver the window runs (Settings → Receive images from scanners).

    ``inbox`` empty means the default inbox (`imgqa.paths.inbox_dir`). ``host`` is the address
    listened on: ``127.0.0.1`` (the default: this computer only), empty for all network
    interfaces (Settings → "Accept images from scanners on the network"), or one address set as
    ``receiver/host`` in the ini file. An ini file that already holds an empty ``receiver/host``
    (saved before loopback became the default) keeps listening on the network.

    Who may send (`imgqa.io.ae_policy`): ``allowed_ae_titles`` are the scanners' (calling) AE
    titles, ``ANY`` among them allowing every title; empty means programs on this computer only,
    so a receiver opened to the network refuses every scanner until they are named.
    ``allowed_hosts`` optionally restricts senders to addresses or networks (``10.1.2.0/24``).
    """

    enabled: bool = False
    ae_title: str = "IMGQA"
    port: int = 11112
    inbox: str = ""
    host: str = "127.0.0.1"
    allowed_ae_titles: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()

    def inbox_path(self) -> Path:
        if self.inbox:
            return Path(self.inbox).expanduser()
        from imgqa.paths import inbox_dir

        return inbox_dir()


def _as_bool(value: object) -> bool:
    # The ini backend gives "true"/"false" strings back.
    return value if isinstance(value, bool) else str(value).strip().lower() in ("true", "1", "yes")


def receiver_settings(settings: QSettings | None = None) -> ReceiverSettings:
    s = settings or app_settings()
    d = ReceiverSettings()
    try:
        port = int(s.value("receiver/port", d.port))
    except (TypeError, ValueError):
        port = d.port
    return ReceiverSettings(enabled=_as_bool(s.value("receiver/enabled", False)),
                            ae_title=str(s.value("receiver/ae_title", d.ae_title) or d.ae_title),
                            port=port, inbox=str(s.value("receiver/inbox", "") or ""),
                            host=_str_or(s.value("receiver/host", None), d.host),
                            allowed_ae_titles=tuple(_as_list(
                                s.value("receiver/allowed_ae_titles", []))),
                            allowed_hosts=tuple(_as_list(s.value("receiver/allowed_hosts", []))))


def _str_or(value: object, default: str) -> str:
    # Absent key -> default; a saved empty string stays empty (= all interfaces).
    return default if value is None else str(value)


def save_receiver_settings(rs: ReceiverSettings, settings: QSettings | None = None) -> None:
    s = settings or app_settings()
    s.setValue("receiver/enabled", bool(rs.enabled))
    s.setValue("receiver/ae_title", rs.ae_title)
    s.setValue("receiver/port", int(rs.port))
    s.setValue("receiver/inbox", rs.inbox)
    s.setValue("receiver/host", rs.host)
    # Lists (QSettings quotes titles with commas or spaces in the ini file).
    s.setValue("receiver/allowed_ae_titles", list(rs.allowed_ae_titles))
    s.setValue("receiver/allowed_hosts", list(rs.allowed_hosts))
    s.sync()
