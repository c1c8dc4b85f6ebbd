"""``imgqa rule add|list|show|disable``: routing rules for automatic QC (physicist; reason
required; versioned and audited like tolerances). Matching: `imgqa.service.routing`."""

from __future__ import annotations

import argparse

from imgqa.cli._common import parse_params, print_json, table
from imgqa.cli.db_cmd import open_from_args
from imgqa.store.records import RuleRecord


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rule", help="routing rules: which test runs on which incoming series")
    rsub = p.add_subparsers(dest="rule_command", metavar="ACTION", required=True)
    s = rsub.add_parser(
        "add", help="add a routing rule (physicist)",
        description="A series received by `imgqa serve` (or `receive --analyse`, `watch`) is "
        "analysed with PROTOCOL when every condition given holds (text compared ignoring case "
        "and extra spaces; --description is a regular expression searched in "
        "SeriesDescription and ProtocolName). The most specific rule wins: serial and "
        "station count 10, a description pattern 5, each other condition 1; equally specific "
        "rules that disagree match nothing (the series waits in the inbox with the reason).")
    s.add_argument("--protocol", required=True, help="the test to run, e.g. mr.acr")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--equipment", metavar="ID", help="file under this equipment (id, name "
                     "or serial)")
    who.add_argument("--create-equipment", action="store_true",
                     help="register the device from the header when no equipment matches it")
    s.add_argument("--modality", metavar="M", default="")
    s.add_argument("--station", metavar="S", default="", help="StationName")
    s.add_argument("--serial", metavar="N", default="", help="DeviceSerialNumber")
    s.add_argument("--manufacturer", default="")
    s.add_argument("--model", default="", help="ManufacturerModelName")
    s.add_argument("--description", metavar="REGEX", default="",
                   help="pattern searched in SeriesDescription or ProtocolName")
    s.add_argument("--rows", type=int, default=None, help="image rows")
    s.add_argument("--columns", type=int, default=None, help="image columns")
    s.add_argument("--param", action="append", metavar="K=V", help="protocol parameter")
    s.add_argument("--reason", required=True)
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_add)
    s = rsub.add_parser("list", help="the routing rules in force")
    s.add_argument("--all", action="store_true", help="include disabled rules")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_list)
    s = rsub.add_parser("show", help="a rule with its history")
    s.add_argument("rule_id", type=int, metavar="ID")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_show)
    s = rsub.add_parser("disable", help="disable a rule (physicist; kept with its history)")
    s.add_argument("rule_id", type=int, metavar="ID")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=run_disable)


def _conditions(r: RuleRecord) -> str:
    return ", ".join(f"{k}={v}" if k != "description" else f"description~/{v}/"
                     for k, v in r.conditions().items())


def _target(r: RuleRecord) -> str:
    return f"equipment {r.equipment_id}" if r.equipment_id is not None else "create equipment"


def _rows(rules: list[RuleRecord]) -> list[list[object]]:
    return [[r.rule_id, r.version, "yes" if r.active else "disabled", _conditions(r),
             r.protocol + (" " + " ".join(f"{k}={v}" for k, v in r.params.items())
                           if r.params else ""), _target(r), r.reason] for r in rules]


_HEAD = ["Rule", "Version", "Active", "When", "Test", "Files under", "Reason"]


def run_add(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        eq = store.find_equipment(args.equipment).id if args.equipment else None
        r = store.add_rule(args.protocol, reason=args.reason, equipment_id=eq,
                           create_equipment=args.create_equipment,
                           params=parse_params(args.param), modality=args.modality,
                           station_name=args.station, serial=args.serial,
                           manufacturer=args.manufacturer, model=args.model,
                           description=args.description, rows=args.rows, columns=args.columns)
    if args.format == "json":
        print_json(r.to_dict())
    else:
        print(f"rule {r.rule_id}: {_conditions(r)} → {r.protocol} ({_target(r)})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        rules = store.rules(active_only=not args.all)
    if args.format == "json":
        print_json({"rules": [r.to_dict() for r in rules]})
    elif rules:
        print(table(_rows(rules), _HEAD))
    else:
        print("No routing rules (add one with `imgqa rule add`).")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        hist = store.rule_history(args.rule_id)
    if args.format == "json":
        print_json({"rule": hist[-1].to_dict(), "history": [r.to_dict() for r in hist]})
        return 0
    print(table(_rows(hist), _HEAD))
    return 0


def run_disable(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        r = store.disable_rule(args.rule_id, args.reason)
    print(f"rule {r.rule_id} disabled (version {r.version})")
    return 0
