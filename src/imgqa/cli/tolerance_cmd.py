"""``imgqa tolerance set|show|defaults``: tolerance levels (physicist; reason required)."""

from __future__ import annotations

import argparse
import sys

from imgqa.cli._common import fmt_value, table
from imgqa.cli.db_cmd import open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tolerance", help="set and show tolerances")
    tsub = p.add_subparsers(dest="tolerance_command", metavar="ACTION", required=True)
    s = tsub.add_parser("set", help="set a new tolerance version for a measurement",
                        description="Levels are signed offsets from the reference, absolute "
                        "(measurement unit) or percent; act_low ≤ tol_low ≤ tol_high ≤ "
                        "act_high; omit a level for no limit on that side. Earlier results "
                        "keep the status they were saved with. The test must fit the equipment's "
                        "modality (ct.water is refused on an NM gamma camera).")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.add_argument("protocol", metavar="PROTOCOL")
    s.add_argument("measurement", metavar="MEASUREMENT")
    s.add_argument("--kind", choices=("absolute", "percent"), required=True)
    for level in ("act-low", "tol-low", "tol-high", "act-high"):
        s.add_argument(f"--{level}", type=float, default=None, metavar="OFFSET")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=run_set)
    s = tsub.add_parser("show", help="tolerances in force for an equipment's measurements")
    s.add_argument("equipment", metavar="EQUIPMENT")
    s.add_argument("protocol", metavar="PROTOCOL")
    s.add_argument("measurement", nargs="?", metavar="MEASUREMENT")
    s.set_defaults(func=run_show)
    s = tsub.add_parser("defaults", help="list the packaged default tolerances and sources")
    s.add_argument("--protocol", default=None)
    s.set_defaults(func=run_defaults)


def run_set(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        t = store.set_tolerance(e.id, args.protocol, args.measurement, kind=args.kind,
                                act_low=args.act_low, tol_low=args.tol_low,
                                tol_high=args.tol_high, act_high=args.act_high,
                                reason=args.reason)
    lim = t.limits
    ref = fmt_value(t.reference) if t.reference is not None else "no reference yet"
    print(f"{e.name} {t.protocol} {t.measurement}: {t.tolerance.describe()} "
          f"(reference {ref})")
    if lim is not None:
        print(f"  limits now: action {fmt_value(lim.act_low)}…{fmt_value(lim.act_high)}, "
              f"tolerance {fmt_value(lim.tol_low)}…{fmt_value(lim.tol_high)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from imgqa.protocols import get_protocol

    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        names = [args.measurement] if args.measurement else \
            [m.name for m in get_protocol(args.protocol).measurements]
        rows = []
        for name in names:
            t = store.tolerance(e.id, args.protocol, name)
            if t is None:
                rows.append([name, "", "none", "", ""])
                continue
            rows.append([name, fmt_value(t.reference), t.tolerance.describe(),
                         t.reference_source or "", t.source + (" (verify)" if t.verify else "")])
        deleted = store.deleted_tolerance_ids()
    print(table(rows, ["Measurement", "Reference", "Tolerance", "Reference from", "Source"]))
    if deleted:
        print(f"\nWarning: {len(deleted)} tolerance(s) recorded in the audit log are missing "
              "from the database, so a default shown above may have replaced a deleted "
              "setting. Run `imgqa db verify` and tell the physicist.", file=sys.stderr)
        return 1
    return 0


def run_defaults(args: argparse.Namespace) -> int:
    from imgqa.store.defaults import default_tolerances

    rows = []
    for d in default_tolerances():
        if args.protocol and d.protocol != args.protocol:
            continue
        fs = ""
        if d.field_strength_min_t is not None or d.field_strength_max_t is not None:
            fs = f" [{d.field_strength_min_t or 0:g}–{d.field_strength_max_t or 99:g} T]"
        rows.append([d.protocol, d.measurement + fs,
                     "baseline" if d.reference is None else fmt_value(d.reference),
                     d.tolerance.describe(), ("(verify) " if d.verify else "") + d.source])
    print(table(rows, ["Protocol", "Measurement", "Reference", "Tolerance", "Source"]))
    return 0
