"""``imgqa baseline set|from-sessions|show``: reference values (physicist; reason required)."""

from __future__ import annotations

import argparse
from datetime import datetime

from imgqa.cli._common import fmt_value, table
from imgqa.cli.db_cmd import open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="set and show baselines (reference values)")
    bsub = p.add_subparsers(dest="baseline_command", metavar="ACTION", required=True)
    s = bsub.add_parser("set", help="set a baseline by hand (the test must fit the "
                                       "equipment's modality)")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.add_argument("protocol", metavar="PROTOCOL")
    s.add_argument("measurement", metavar="MEASUREMENT")
    s.add_argument("value", metavar="VALUE", type=float)
    s.add_argument("--reason", required=True, help="why (recorded with who and when)")
    s.set_defaults(func=run_set)
    s = bsub.add_parser("from-sessions", help="set baselines to the mean of the first N "
                                              "saved sessions")
    s.add_argument("equipment", metavar="EQUIPMENT")
    s.add_argument("protocol", metavar="PROTOCOL")
    s.add_argument("--first", type=int, required=True, metavar="N")
    s.add_argument("--since", type=datetime.fromisoformat, default=None, metavar="DATE",
                   help="count sessions from this date (e.g. after a service)")
    s.add_argument("--measurement", action="append", metavar="M",
                   help="only this measurement (repeatable; default: all)")
    s.add_argument("--include-fixed", action="store_true",
                   help="also measurements whose default criterion has a fixed reference")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=run_from_sessions)
    s = bsub.add_parser("show", help="baseline history of a measurement")
    s.add_argument("equipment", metavar="EQUIPMENT")
    s.add_argument("protocol", metavar="PROTOCOL")
    s.add_argument("measurement", metavar="MEASUREMENT")
    s.set_defaults(func=run_show)


def run_set(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        b = store.set_baseline(e.id, args.protocol, args.measurement, args.value, args.reason)
    old = "none" if b.old_value is None else fmt_value(b.old_value)
    print(f"{e.name} {b.protocol} {b.measurement}: baseline {old} → {fmt_value(b.value)} "
          f"{b.unit}".rstrip())
    return 0


def run_from_sessions(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        done = store.baselines_from_sessions(e.id, args.protocol, args.first,
                                             reason=args.reason, measurements=args.measurement,
                                             include_fixed=args.include_fixed,
                                             since=args.since)
    if not done:
        print(f"No baseline set: fewer than {args.first} saved values (or only measurements "
              "with a fixed reference; see --include-fixed).")
        return 1
    print(table([[b.measurement, fmt_value(b.old_value), fmt_value(b.value), b.unit]
                 for b in done], ["Measurement", "Old", "New", "Unit"]))
    return 0


def run_show(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        hist = store.baseline_history(e.id, args.protocol, args.measurement)
    if not hist:
        print("No baseline set.")
        return 0
    print(table([[b.set_at.strftime("%Y-%m-%d %H:%M"), b.set_by, fmt_value(b.old_value),
                  fmt_value(b.value), b.unit, b.reason] for b in hist],
                ["When (UTC)", "Who", "Old", "New", "Unit", "Reason"]))
    return 0
