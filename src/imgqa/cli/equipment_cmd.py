"""``imgqa equipment list|add|show|assign|activate|retire``."""

from __future__ import annotations

import argparse
from datetime import date

from imgqa.cli._common import fmt_value, print_json, table
from imgqa.cli.db_cmd import open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("equipment", help="list, add and show equipment under QC")
    esub = p.add_subparsers(dest="equipment_command", metavar="ACTION", required=True)
    s = esub.add_parser("list", help="list equipment")
    s.add_argument("--all", action="store_true", help="include retired equipment")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_list)
    s = esub.add_parser("add", help="register equipment (admin)")
    s.add_argument("name")
    s.add_argument("--modality", default="")
    s.add_argument("--manufacturer", default="")
    s.add_argument("--model", default="")
    s.add_argument("--serial", default="", help="(0018,1000) Device Serial Number")
    s.add_argument("--station", dest="station_name", default="", help="(0008,1010) Station Name")
    s.add_argument("--institution", default="")
    s.add_argument("--location", default="")
    s.add_argument("--site", default=None)
    s.add_argument("--field-strength", dest="field_strength_t", type=float, default=None,
                   help="MRI field strength in T (selects ACR limits)")
    s.set_defaults(func=run_add)
    s = esub.add_parser("show", help="details, schedule, tolerances and recent sessions")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.set_defaults(func=run_show)
    s = esub.add_parser("assign", help="schedule a QC test (physicist)")
    s.add_argument("equipment", metavar="EQUIPMENT")
    s.add_argument("protocol")
    s.add_argument("frequency", choices=("daily", "weekly", "monthly", "quarterly", "annual"))
    s.add_argument("--next-due", type=date.fromisoformat, default=None, metavar="YYYY-MM-DD")
    s.set_defaults(func=run_assign)
    for name, active in (("activate", True), ("retire", False)):
        s = esub.add_parser(name, help=f"{'re-activate' if active else 'retire'} equipment "
                                       "(admin)")
        s.add_argument("equipment", metavar="EQUIPMENT")
        s.set_defaults(func=run_active, active=active)


def _eq_dict(e) -> dict:
    return {"id": e.id, "name": e.name, "modality": e.modality, "manufacturer": e.manufacturer,
            "model": e.model, "serial": e.serial, "station_name": e.station_name,
            "location": e.location, "site": e.site, "active": e.active,
            "field_strength_t": e.field_strength_t, "match_rules": dict(e.match_rules)}


def run_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        eqs = store.list_equipment(active_only=not args.all)
    if args.format == "json":
        print_json({"equipment": [_eq_dict(e) for e in eqs]})
        return 0
    if not eqs:
        print("No equipment yet. Add some with `imgqa equipment add` or "
              "`imgqa analyse PATH --save --create-equipment`.")
        return 0
    print(table([[e.id, e.name, e.modality, e.manufacturer, e.model, e.serial, e.station_name,
                  e.location, "" if e.active else "retired"] for e in eqs],
                ["Id", "Name", "Modality", "Manufacturer", "Model", "Serial", "Station",
                 "Location", ""]))
    return 0


def run_add(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.add_equipment(args.name, modality=args.modality,
                                manufacturer=args.manufacturer, model=args.model,
                                serial=args.serial, station_name=args.station_name,
                                institution=args.institution, location=args.location,
                                site=args.site, field_strength_t=args.field_strength_t)
    print(f"Added equipment {e.id}: {e.label()}  (matches images with "
          + ", ".join(f"{k}={v!r}" for k, v in e.match_rules.items()) + ")")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        print(f"{e.id}: {e.label()}")
        for k in ("modality", "station_name", "institution", "location", "site",
                  "field_strength_t", "created_by"):
            v = getattr(e, k)
            if v not in ("", None):
                print(f"  {k.replace('_', ' ')}: {v}")
        print("  match rules: " + (", ".join(f"{k}={v!r}" for k, v in e.match_rules.items())
                                   or "none"))
        print("  active" if e.active else "  RETIRED")
        sched = store.assignments(e.id)
        if sched:
            print("\nSchedule:")
            print(table([[a.protocol, a.frequency, a.next_due or "", "" if a.active else "off"]
                         for a in sched], ["Protocol", "Frequency", "Next due", ""]))
        pairs = store.measurements_recorded(e.id)
        if pairs:
            rows = []
            for proto, meas in pairs:
                t = store.tolerance(e.id, proto, meas)
                if t is None:
                    rows.append([proto, meas, "", "none", ""])
                    continue
                rows.append([proto, meas, fmt_value(t.reference),
                             t.tolerance.describe(), t.source + (" (verify)" if t.verify
                                                                 else "")])
            print("\nReferences and tolerances in force:")
            print(table(rows, ["Protocol", "Measurement", "Reference", "Tolerance", "Source"]))
        sessions = store.sessions(e.id)[:10]
        if sessions:
            print("\nRecent sessions:")
            print(table([[s.id, s.performed_at.strftime("%Y-%m-%d %H:%M"), s.performed_by,
                          ", ".join(s.protocols), s.worst_status or "",
                          s.review_decision or "awaiting review"] for s in sessions],
                        ["Session", "When (UTC)", "By", "Tests", "Worst", "Review"]))
    return 0


def run_assign(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        a = store.assign_protocol(e.id, args.protocol, args.frequency, args.next_due)
    print(f"{e.name}: {a.protocol} {a.frequency}" + (f", next due {a.next_due}"
                                                     if a.next_due else ""))
    return 0


def run_active(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        store.set_equipment_active(e.id, args.active)
    print(f"{e.name} is now {'active' if args.active else 'retired'}.")
    return 0
