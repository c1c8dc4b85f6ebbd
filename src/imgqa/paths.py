"""Where imgqa keeps its files: the user data directory, never the installation folder.

``$IMGQA_DATA_DIR`` moves it (tests point it at a temporary folder so they never touch the real
user's database, settings or inbox); otherwise platformdirs' user data directory for imgqa
(Windows ``%LOCALAPPDATA%\\imgqa``, macOS ``~/Library/Application Support/imgqa``, Linux
``$XDG_DATA_HOME/imgqa`` or ``~/.local/share/imgqa``). An installed wheel or the PyInstaller
bundle may sit in a read-only folder (``C:\\Program Files``), so everything imgqa writes — the
default SQLite database, settings, the DICOM inbox, the generated demo phantoms — goes here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["data_dir", "inbox_dir", "demo_phantoms_dir", "source_checkout"]


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


def demo_phantoms_dir() -> Path:
    """Where an installed imgqa writes the demo phantom set on first use.

    The set (4.6 MB of DICOM) is not shipped in the wheel or the bundle: ``imgqa.phantoms``
    regenerates it in a few seconds, with ground truth from the same code version.
    """
    return data_dir() / "demo-phantoms"


def source_checkout(package_file: str | os.PathLike[str] | None = None) -> Path | None:
    """The repository root when imgqa runs from a source checkout, else ``None``.

    A checkout is recognised by its layout, ``<root>/src/imgqa/__init__.py`` beside
    ``<root>/pyproject.toml``; an installed wheel (``site-packages/imgqa``) or a frozen
    PyInstaller bundle never is, so they do not pick up folders that merely sit near them.

    Parameters
    ----------
    package_file : the ``__init__.py`` of the imgqa package; default ``imgqa.__file__``.
    """
    if getattr(sys, "frozen", False):
        return None
    if package_file is None:
        # The root package is always loaded before this submodule. Read it from sys.modules:
        # a static `import imgqa` would make this bottom-layer module depend on imgqa.api
        # (the root's lazy attributes) in the layer contract.
        package_file = sys.modules["imgqa"].__file__
    if package_file is None:
        return None
    pkg = Path(package_file).resolve().parent
    root = pkg.parent.parent
    if pkg.name == "imgqa" and pkg.parent.name == "src" and (root / "pyproject.toml").is_file():
        return root
    return None
