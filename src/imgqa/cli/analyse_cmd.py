"""``imgqa analyse PATH...``: run QC analyses and print the results (table or JSON).

The JSON form is a stable contract (docs/cli.md, ../shared/contracts/analyse-output.schema.json):
``{"imgqa_version", "results": [{"protocol", "protocol_version", "series", "measurements":
[{"name", "value", "unit", "status"}], "warnings"}], "problems": [{"path", "error"}]}``.
"""

from __future__ import annotations

import argparse
import sys

from imgqa import __version__
from imgqa.cli._common import fmt_value, parse_params, print_json, table
from imgqa.errors import ImgqaError
from imgqa.io import load
from imgqa.protocols import choose_protocol, get_protocol, run_protocol


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("analyse", aliases=["analyze"],
                       help="run QC analyses on images and print the results")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--protocol", "-p", metavar="NAME",
                   help="QC test to run (default: chosen from each series)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="protocol parameter (repeatable)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--detail", action="store_true",
                   help="JSON: include ROIs, curves and extra detail")
    p.set_defaults(func=run)


def analyse_loaded(series, protocol_name, params, problems):
    """Run the analyses; per-series failures become problems. Returns the results."""
    results = []
    proto = get_protocol(protocol_name) if protocol_name else None
    if proto is not None and proto.multi_series:
        try:
            return run_protocol(proto, list(series), **params)
        except ImgqaError as exc:
            problems.append({"path": ", ".join(series[0].sources[:1]) if series else "",
                             "error": exc.full_message()})
            return []
    for s in series:
        try:
            results.extend(run_protocol(proto or choose_protocol(s), s, **params))
        except ImgqaError as exc:
            where = s.sources[0] if len(s.sources) == 1 else f"{s.sources[0]} (+{len(s.sources) - 1})"
            problems.append({"path": where, "error": exc.full_message()})
    return results


def run(args: argparse.Namespace) -> int:
    params = parse_params(args.param)
    if args.protocol:
        get_protocol(args.protocol)  # unknown name → a clear error before loading anything
    series = load(args.paths)
    problems = [{"path": p.path, "error": p.error} for p in series.problems]
    results = analyse_loaded(series, args.protocol, params, problems)
    results = _evaluate(results, args)
    if args.format == "json":
        print_json({"imgqa_version": __version__,
                    "results": [r.to_dict(detail=args.detail) for r in results],
                    "problems": problems})
    else:
        for r in results:
            s = r.series
            head = f"{r.protocol} v{r.protocol_version}"
            if r.label:
                head += f" [{r.label}]"
            print(f"{head} — {s.get('modality')} {s.get('manufacturer', '')} "
                  f"{s.get('model', '')} {s.get('series_description', '')}".rstrip())
            print(table([[m.name, fmt_value(m.value), m.unit, m.status or ""]
                         for m in r.measurements], ["Measurement", "Value", "Unit", "Status"]))
            for w in r.warnings:
                print(f"  warning: {w}")
            print()
        for p in problems:
            print(f"Not analysed: {p['path']}\n  {p['error']}", file=sys.stderr)
    if not results and not problems:
        return 1
    return 1 if problems else 0


def _evaluate(results, args):
    """Fill in tolerance statuses when the store is available (issue #5); else leave None."""
    try:
        from imgqa.evaluate import statuses_for_results  # type: ignore[attr-defined]
    except ImportError:
        return results
    return statuses_for_results(results, args)
