"""``imgqa gui [PATH] [--db URL] [--screenshot FILE] [--demo]``: open the desktop application."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop application (the default)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="images to open and analyse")
    # SUPPRESS: `imgqa --db URL gui` (the global option) keeps working.
    p.add_argument("--db", metavar="URL", default=argparse.SUPPRESS,
                   help="results database (SQLAlchemy URL or SQLite file path)")
    p.add_argument("--screenshot", metavar="FILE",
                   help="open PATH, run its analysis, save a PNG of the window and exit "
                        "(works offscreen)")
    p.add_argument("--demo", action="store_true",
                   help="on the first run, open and analyse the demo phantoms")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.screenshot and not os.environ.get("QT_QPA_PLATFORM") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) \
            and os.name == "posix" and not _is_macos():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen
    # Before Qt loads: a missing xcb library would abort Qt with a cryptic plugin message.
    from imgqa.cli.qt_platform import check_qt_platform_libraries

    check = check_qt_platform_libraries()
    if not check.ok:
        print(check.message, file=sys.stderr)
        return 1
    from imgqa.gui.app import run_app  # Qt is imported only when the GUI is wanted

    return run_app(args.paths, db_url=getattr(args, "db", None), screenshot=args.screenshot,
                   demo=bool(getattr(args, "demo", False)))


def _is_macos() -> bool:
    return sys.platform == "darwin"
