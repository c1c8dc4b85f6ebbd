"""Start the desktop application (``imgqa gui``)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

__all__ = ["run_app", "make_app", "wait_until"]

log = logging.getLogger(__name__)


def make_app() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("imgqa")
    app.setOrganizationName("imgqa")
    app.setApplicationDisplayName("imgqa")
    return app  # type: ignore[return-value]


def wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Run the event loop until `condition()` is true or the time is up."""
    deadline = time.monotonic() + timeout_s
    loop = QEventLoop()
    while not condition():
        if time.monotonic() > deadline:
            return False
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def run_app(paths: Sequence[str] = (), *, db_url: str | None = None,
            screenshot: str | None = None, demo: bool = False,
            timeout_s: float = 300.0) -> int:
    """Open the main window.

    Parameters
    ----------
    paths : files, folders or zips to open (and analyse) at once.
    db_url : results database URL (default: settings, ``$IMGQA_DB`` or the local SQLite file).
    screenshot : PNG path; open `paths`, wait for the analysis, save the window and exit.
    demo : open the demo phantoms when this is the first run (``make run``).
    """
    app = make_app()
    from imgqa.gui.main_window import MainWindow

    window = MainWindow(db_url)
    window.show()
    # (Read as text: QSettings.value(type=bool) trips a PySide6 reference-count bug.)
    first_run = str(window.settings.value("demo/loaded", "false")).lower() not in ("true", "1")
    if screenshot:
        return _screenshot(app, window, list(paths), Path(screenshot), demo, timeout_s)
    if paths:
        window.open_paths(list(paths))
    elif demo and first_run:
        QTimer.singleShot(0, window.load_demo)
    code = app.exec()
    _dispose(app, window)
    return code


def _dispose(app: QApplication, window) -> None:
    """Delete the window before the interpreter tears Qt down (avoids a crash at exit)."""
    window.close()
    window.deleteLater()
    app.processEvents()


def _screenshot(app: QApplication, window, paths: list[str], out: Path, demo: bool,
                timeout_s: float) -> int:
    wait_until(lambda: not window.db.connecting, 60)
    done = {"analysis": False, "loaded": None}
    window.analysis_finished.connect(lambda: done.__setitem__("analysis", True))
    window.analysis_cancelled.connect(lambda: done.__setitem__("analysis", True))
    window.loaded.connect(lambda n: done.__setitem__("loaded", n))
    if paths:
        window.open_paths(paths)
    elif demo:
        window.load_demo()
    if paths or demo:
        ok = wait_until(lambda: done["analysis"] or done["loaded"] == 0, timeout_s)
        if not ok:
            print(f"imgqa: the analysis did not finish within {timeout_s:.0f} s; "
                  "the screenshot shows its state.", file=sys.stderr)
    wait_until(lambda: not window.busy, 10)
    # Show the first series that has results, with its ROIs.
    for e in window.workspace.entries:
        if e.results:
            window.browser.select(e.key)
            break
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out))
    _dispose(app, window)
    if not ok:
        print(f"imgqa: could not write {out}", file=sys.stderr)
        return 1
    return 0
