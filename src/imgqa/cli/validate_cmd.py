"""``imgqa validate``: show that this installation recovers the digital phantoms' known answers."""

from __future__ import annotations

import argparse

from imgqa import __version__
from imgqa.cli._common import fmt_value, print_json, table


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="analyse the digital phantoms and compare every "
                                        "number with its analytic ground truth")
    p.add_argument("--keep", metavar="DIR", help="write the phantoms here and keep them")
    p.add_argument("--only", action="append", metavar="PHANTOM", help="only this phantom")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgqa.validation import run_validation

    outcomes = run_validation(args.keep, phantoms=args.only)
    failed = [o for o in outcomes if not o.passed]
    if args.format == "json":
        print_json({"imgqa_version": __version__, "passed": not failed,
                    "checks": [o.to_dict() for o in outcomes]})
    else:
        rows = []
        for o in outcomes:
            c = o.check
            allowed = c.allowed(o.truth) if o.truth is not None else None
            rows.append([c.phantom, c.protocol, c.measurement, fmt_value(o.truth),
                         fmt_value(o.measured), fmt_value(o.error),
                         f"±{fmt_value(allowed)}" if allowed is not None else "",
                         "PASS" if o.passed else "FAIL", o.note])
        print(table(rows, ["Phantom", "Protocol", "Measurement", "Truth", "Measured", "Error",
                           "Allowed", "", "Note"]))
        print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} checks passed.")
    return 1 if failed else 0
