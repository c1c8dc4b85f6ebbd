"""``imgqa history EQUIPMENT [--measurement M]``: stored results over time."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from imgqa.cli._common import fmt_value, print_json, table
from imgqa.cli.db_cmd import open_from_args
from imgqa.protocols import measurement_label
from imgqa.trends import RULE_TEXT


def _date(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("history", help="results of one equipment over time")
    p.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    p.add_argument("--measurement", "-m", action="append", metavar="M",
                   help="only this measurement (repeatable)")
    p.add_argument("--protocol", "-p", default=None)
    p.add_argument("--since", type=_date, default=None, metavar="DATE")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def _vs_ref(value: float | None, reference: float | None, relative: float | None,
            unit: str) -> str:
    """Percent from the reference, or the difference in the unit when the reference is 0
    (e.g. water at 0 HU), where a percentage means nothing."""
    if relative is not None:
        return f"{relative:+.1f} %"
    if value is None or reference is None:
        return ""
    return f"{value - reference:+.3g} {unit}".rstrip()


def _points_table(t) -> str:
    """One row per stored point; the Reference, vs ref and SPC columns appear only when some
    point has something to put in them, so no column is printed empty or untitled."""
    flagged = {v.index: v.rule for v in t.violations}
    cols: list[tuple[str, list[str]]] = [
        ("When (UTC)", [p.time.strftime("%Y-%m-%d %H:%M") for p in t.points]),
        ("Value", [fmt_value(p.value) for p in t.points]),
        ("Status", [p.status or "" for p in t.points]),
        ("Reference", ["" if p.reference is None else fmt_value(p.reference) for p in t.points]),
        ("vs ref", [_vs_ref(p.value, p.reference, p.relative_percent, t.unit)
                    for p in t.points]),
        ("SPC signal", [f"rule {flagged[i]}" if i in flagged else ""
                        for i in range(len(t.points))]),
        ("Session", [str(p.session_id) for p in t.points]),
    ]
    optional = {"Reference", "vs ref", "SPC signal"}
    cols = [(h, v) for h, v in cols if h not in optional or any(v)]
    return table(list(zip(*(v for _, v in cols))), [h for h, _ in cols])


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        pairs = [(p, m) for p, m in store.measurements_recorded(e.id)
                 if (not args.protocol or p == args.protocol)
                 and (not args.measurement or m in args.measurement)]
        trends = [store.trend(e.id, p, m, since=args.since) for p, m in pairs]
    if args.format == "json":
        print_json({"equipment": {"id": e.id, "name": e.name}, "series": [{
            "protocol": t.protocol, "measurement": t.measurement,
            "label": measurement_label(t.protocol, t.measurement), "unit": t.unit,
            "control": None if t.control is None else {
                "centre": t.control.centre, "lcl": t.control.lcl, "ucl": t.control.ucl},
            "points": [{"time": p.time.isoformat(), "value": p.value, "status": p.status,
                        "session_id": p.session_id, "reference": p.reference,
                        "relative_percent": p.relative_percent} for p in t.points],
            "violations": [{"index": v.index, "rule": v.rule} for v in t.violations]}
            for t in trends]})
        return 0
    if not trends:
        print(f"No results stored for {e.name}" + (" with that measurement." if
                                                   args.measurement else "."))
        return 1 if args.measurement else 0
    for t in trends:
        print(f"{e.name} — {t.protocol} · {measurement_label(t.protocol, t.measurement)}"
              + (f" [{t.unit}]" if t.unit else "") + f" ({t.measurement})")
        print(_points_table(t))
        if t.control:
            print(f"  control limits ({t.control.describe()}): centre "
                  f"{fmt_value(t.control.centre)}, {fmt_value(t.control.lcl)}…"
                  f"{fmt_value(t.control.ucl)}")
        for rule in sorted({v.rule for v in t.violations}):  # the SPC column in plain words
            print(f"  SPC rule {rule}: {RULE_TEXT.get(rule, '')}")
        print()
    return 0
