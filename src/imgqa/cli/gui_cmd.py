"""``imgqa gui [PATH] [--screenshot FILE]``: open the desktop application."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="open the desktop application (the default)")
    p.add_argument("paths", nargs="*", metavar="PATH", help="images to open")
    p.add_argument("--screenshot", metavar="FILE",
                   help="open PATH, save a PNG of the window and exit (offscreen use)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgqa.gui.app import run_app  # Qt is imported only when the GUI is wanted

    return run_app(args.paths, screenshot=args.screenshot)
