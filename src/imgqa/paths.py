"""Where imgqa keeps its files: the user data directory.

``$IMGQA_DATA_DIR`` moves it (tests point it at a temporary folder so they never touch the real
user's database, settings or inbox); otherwise platformdirs' user data directory for imgqa.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "inbox_dir"]


def data_dir() -> Path:
    """``$IMGQA_DATA_DIR`` if set, else the platform's user data directory for imgqa."""
    env = os.environ.get("IMGQA_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("imgqa", appauthor=False))


def inbox_dir() -> Path:
    """Where images received from scanners (``imgqa receive``) are filed."""
    return data_dir() / "inbox"
