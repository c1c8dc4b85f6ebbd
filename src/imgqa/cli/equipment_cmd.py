"""``imgqa equipment list|add|show|assign|activate|retire|service|events``."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime

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
    s = esub.add_parser("service", help="record a service event (tube change, calibration, "
                                        "software upgrade...) shown on the trend charts")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.add_argument("--date", dest="when", type=_event_time, required=True,
                   metavar="DATE", help="when it was done: YYYY-MM-DD (00:00 UTC) or "
                                        "YYYY-MM-DDTHH:MM (UTC unless an offset is given)")
    s.add_argument("--kind", required=True,
                   help="free text; usual kinds: service, repair, calibration, software, "
                        "part replacement, acceptance")
    s.add_argument("--description", required=True, help="what was done")
    s.add_argument("--by", dest="performed_by", default="", metavar="NAME",
                   help="who did it, e.g. the vendor engineer and company")
    s.set_defaults(func=run_service)
    s = esub.add_parser("events", help="list the service events of a piece of equipment")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.add_argument("--since", type=_event_time, default=None, metavar="DATE")
    s.add_argument("--until", type=lambda t: _event_time(t, end=True), default=None,
                   metavar="DATE", help="up to and including this day")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_events)
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
        events = store.service_events(e.id)[-5:]
        if events:
            print("\nRecent service events:")
            print(table([[v.when.strftime("%Y-%m-%d"), v.kind, v.description,
                          v.performed_by] for v in events],
                        ["When (UTC)", "Kind", "Description", "Performed by"]))
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


def _event_time(text: str, *, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` → 00:00 UTC (the next midnight with ``end``); ISO date-time → UTC."""
    from imgqa.errors import ExportError
    from imgqa.report.records import parse_date

    try:
        return parse_date(text, end=end)
    except ExportError as exc:  # argparse reports an ArgumentTypeError as a usage error
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date; write YYYY-MM-DD or YYYY-MM-DDTHH:MM") from exc


def _event_dict(e) -> dict:
    return {"id": e.id, "equipment_id": e.equipment_id, "when": e.when.isoformat(),
            "kind": e.kind, "description": e.description, "performed_by": e.performed_by,
            "recorded_by": e.recorded_by, "created_at": e.created_at.isoformat()}


def run_service(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        ev = store.add_service_event(e.id, args.when, args.kind, args.description,
                                     performed_by=args.performed_by)
    by = f" by {ev.performed_by}" if ev.performed_by else ""
    print(f"{e.name}: recorded {ev.kind} on {ev.when:%Y-%m-%d %H:%M} UTC{by} "
          f"(event {ev.id}): {ev.description}")
    return 0


def run_events(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        events = store.service_events(e.id, since=args.since, until=args.until)
    if args.format == "json":
        print_json({"equipment": _eq_dict(e), "service_events": [_event_dict(v)
                                                                 for v in events]})
        return 0
    if not events:
        print(f"No service events recorded for {e.name}. Record one with "
              "`imgqa equipment service`.")
        return 0
    print(table([[v.id, v.when.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), v.kind,
                  v.description, v.performed_by, v.recorded_by] for v in events],
                ["Id", "When (UTC)", "Kind", "Description", "Performed by", "Recorded by"]))
    return 0
