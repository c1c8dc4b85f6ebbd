"""Where the desktop application keeps its own state (window geometry, last folder, recent
folders, database URL): an ini file next to the user's data, never the OS registry.

``IMGQA_DATA_DIR`` moves it (tests point it at a temporary folder so they never touch the real
user's settings); ``IMGQA_QT_ORG`` and ``IMGQA_QT_APP`` rename the organisation/application.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

__all__ = ["data_dir", "app_settings", "recent_folders", "add_recent_folder", "MAX_RECENT"]

MAX_RECENT = 8


def data_dir() -> Path:
    """The user data directory of imgqa (``IMGQA_DATA_DIR`` or the platform default)."""
    env = os.environ.get("IMGQA_DATA_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("imgqa", appauthor=False))


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
