"""``imgqa record``: store typed-in QC results (checklists, meter readings, visual counts).

Two uses, one path into the store (judged against the tolerances in force, saved as a QC
session like an analysed one):

* a manual protocol (``imgqa protocols`` lists them as ``manual.*``)::

    imgqa record CT1 manual.ct_daily_checklist --value laser_alignment=pass \\
        --value kvp_measured=120.4 --performed-by "J. Tech"

* a measurement an analysed protocol could not score, entered with its images::

    imgqa record MR1 mr.acr --series ACR_T1/ --value low_contrast_spokes=37
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from imgqa.cli._common import fmt_value, print_json, table
from imgqa.cli.db_cmd import open_from_args
from imgqa.errors import ParameterError

EXIT_USAGE = 2


def _values(items: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--value expects NAME=VALUE, got {item!r}.",
                                 hint="e.g. --value laser_alignment=pass --value "
                                      "kvp_measured=120.4")
        if key.strip() in out:
            raise ParameterError(f"{key.strip()} is given twice.")
        out[key.strip()] = value.strip()
    return out


def _when(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date/time: {text!r} (use YYYY-MM-DD or "
                                         "YYYY-MM-DDTHH:MM)") from None
    return t if t.tzinfo else t.astimezone(UTC)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record", help="store typed-in results: checklists, meter readings, visual counts",
        description="Record QC results typed in by a person as a QC session of EQUIPMENT, "
        "judged against the tolerances in force. PROTOCOL is a manual protocol (manual.*, see "
        "`imgqa protocols`) or an analysed one with --series for a measurement it could not "
        "score (mr.acr low_contrast_spokes).")
    p.add_argument("equipment", metavar="EQUIPMENT", help="equipment id, name or serial")
    p.add_argument("protocol", metavar="PROTOCOL")
    p.add_argument("--value", action="append", metavar="NAME=VALUE", required=True,
                   help="one item (repeatable): a number, pass/fail, or text")
    p.add_argument("--series", action="append", metavar="PATH",
                   help="the images of an analysed protocol (mr.acr) to analyse and complete")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="parameters of the analysed protocol (with --series)")
    p.add_argument("--performed-by", metavar="NAME", default=None,
                   help="who did the test (default: your login)")
    p.add_argument("--performed-at", type=_when, default=None, metavar="WHEN",
                   help="when the test was done (default: now, or the images' time)")
    p.add_argument("--comment", default="", help="comment stored with the session")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def build_result(protocol: str, values: dict[str, str], *, entered_by: str,
                 equipment_modality: str, series_paths: list[str] | None,
                 params: dict[str, str]):  # -> Result
    """The result to store: typed values, or an analysed result completed with them."""
    from imgqa.protocols import get_protocol, run_protocol
    from imgqa.protocols.manual import MANUAL_OVERRIDES, manual_result, with_manual_values

    proto = get_protocol(protocol)
    if proto.kind == "manual":
        if series_paths:
            raise ParameterError(f"{protocol} is typed in; it takes no --series.")
        if params:
            raise ParameterError(f"{protocol} is typed in; it takes no --param.")
        return manual_result(protocol, values, entered_by=entered_by,
                             equipment_modality=equipment_modality)
    if protocol not in MANUAL_OVERRIDES:
        raise ParameterError(f"{protocol} is analysed from images; none of its measurements "
                             "can be typed in.",
                             hint="Manual protocols: " + ", ".join(
                                 sorted(p for p in _manual_names())) + ".")
    if not series_paths:
        raise ParameterError(f"{protocol} results are analysed from images: give the series "
                             "with --series PATH so the typed value is stored with the rest "
                             "of the analysis.")
    from imgqa.io import load

    series = load(series_paths)
    if len(series) != 1:
        found = f"{len(series)} series" if series else "no usable images"
        why = "; ".join(p.error for p in series.problems[:3])
        raise ParameterError(f"--series must give exactly one series; found {found}"
                             + (f" ({why})" if why else "") + ".")
    results = run_protocol(proto, series[0], **params)
    if len(results) != 1:
        raise ParameterError(f"{protocol} gave {len(results)} results for this series; "
                             "cannot tell which one the value belongs to.")
    return with_manual_values(results[0], values, entered_by=entered_by)


def _manual_names() -> list[str]:
    from imgqa.protocols import all_protocols

    return [p.name for p in all_protocols() if p.kind == "manual"]


def run(args: argparse.Namespace) -> int:
    from imgqa.cli._common import parse_params
    from imgqa.protocols import get_protocol
    from imgqa.protocols.manual import display_value

    try:
        values = _values(args.value)
        params = parse_params(args.param)
        proto = get_protocol(args.protocol)
    except ParameterError as exc:  # a usage error: say what to type
        print(f"imgqa: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"  {exc.hint}", file=sys.stderr)
        return EXIT_USAGE
    with open_from_args(args) as store:
        eq = store.find_equipment(args.equipment)
        if eq.modality and "*" not in proto.modalities and eq.modality not in proto.modalities:
            print(f"imgqa: {proto.name} is for {' or '.join(proto.modalities)} equipment; "
                  f"{eq.name} is {eq.modality}.", file=sys.stderr)
            return EXIT_USAGE
        who = (args.performed_by or "").strip() or store.current_user()
        try:
            result = build_result(proto.name, values, entered_by=who,
                                  equipment_modality=eq.modality, series_paths=args.series,
                                  params=params)
        except ParameterError as exc:
            print(f"imgqa: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"  {exc.hint}", file=sys.stderr)
            return EXIT_USAGE
        session = store.save_session(eq.id, [result], performed_by=who, comment=args.comment,
                                     performed_at=args.performed_at)
        stored = store.session_results(session.id)
    if args.format == "json":
        print_json({"session_id": session.id, "equipment_id": eq.id, "equipment": eq.name,
                    "protocol": proto.name, "performed_by": session.performed_by,
                    "worst_status": session.worst_status,
                    "measurements": [{"name": r.measurement, "value": r.value, "unit": r.unit,
                                      "status": r.status} for r in stored],
                    "warnings": list(result.warnings)})
        return 0
    print(f"{proto.name} — {proto.title}")
    print(table([[r.measurement,
                  display_value(proto.name, r.measurement, r.value) if proto.kind == "manual"
                  else fmt_value(r.value), r.unit, r.status or ""] for r in stored],
                ["Measurement", "Value", "Unit", "Status"]))
    for w in result.warnings:
        print(f"  note: {w}")
    print(f"Saved as QC session {session.id} of {eq.name} (equipment {eq.id}), performed by "
          f"{session.performed_by}; worst status {session.worst_status or 'none'}.")
    return 0
