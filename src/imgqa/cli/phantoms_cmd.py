"""``imgqa phantoms make DIR``: write the digital phantoms (DICOM + ground truth JSON)."""

from __future__ import annotations

import argparse

from imgqa.phantoms import demo_sets, make_demo


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("phantoms", help="write digital phantoms with known ground truth")
    s = p.add_subparsers(dest="phantoms_command", metavar="ACTION", required=True)
    m = s.add_parser("make", help="write the demo phantom set into DIR")
    m.add_argument("directory", metavar="DIR")
    m.add_argument("--only", action="append", metavar="NAME", help="only this phantom")
    m.set_defaults(func=run_make)
    ls = s.add_parser("list", help="list the available phantoms")
    ls.set_defaults(func=run_list)


def run_make(args: argparse.Namespace) -> int:
    for folder in make_demo(args.directory, args.only):
        print(folder)
    return 0


def run_list(args: argparse.Namespace) -> int:
    for name, maker in demo_sets().items():
        doc = (maker.__doc__ or "").strip().splitlines()
        print(f"{name}: {doc[0] if doc else ''}")
    return 0
