"""Start the desktop application."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from PySide6.QtWidgets import QApplication

from imgqa.gui.main_window import MainWindow


def run_app(paths: Sequence[str] = (), screenshot: str | None = None) -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("imgqa")
    app.setOrganizationName("imgqa")
    window = MainWindow()
    window.show()
    if paths:
        window.open_paths([str(p) for p in paths])
    if screenshot:
        app.processEvents()
        Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(screenshot))
        return 0
    return app.exec()
