"""Where the images of each saved session are on this computer.

The database keeps the identity of every input image (SOPInstanceUID and pixel hash), not
file paths, which differ between workstations. The GUI remembers the paths it saved from, in a
small JSON file in the user data directory keyed by the session's UID, so a click on a trend
point can open that day's images again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path

from imgqa.gui.state import data_dir

__all__ = ["remember", "paths_for"]

_LOCK = threading.Lock()
_FILE = "session_images.json"


def _path() -> Path:
    return data_dir() / _FILE


def _read() -> dict[str, list[str]]:
    try:
        return json.loads(_path().read_text())
    except (OSError, ValueError):
        return {}


def remember(session_uid: str, sources: Iterable[str]) -> None:
    """Record the files (or zip archives) a session's images came from."""
    paths = list(dict.fromkeys(s.split("::")[0] for s in sources if s))
    with _LOCK:
        data = _read()
        data[str(session_uid)] = paths
        target = _path()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(target)


def paths_for(session_uid: str) -> list[str]:
    with _LOCK:
        return list(_read().get(str(session_uid), []))
