"""``imgqa validate``: show that this installation recovers the digital phantoms' known answers.

``--report FILE.pdf|.json`` files a commissioning report (with the agreement table on the real
images when ../shared/data or ``--real-data DIR`` exists); ``--verify-report FILE`` checks a
filed report's SHA-256; ``--format markdown`` prints the table docs/validation.md shows.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from imgqa._version import __version__
from imgqa.cli._common import fmt_value, print_json, table

_AUTO = "auto"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="analyse the digital phantoms and compare every "
                                        "number with its analytic ground truth")
    p.add_argument("--keep", metavar="DIR", help="write the phantoms here and keep them")
    p.add_argument("--only", action="append", metavar="PHANTOM", help="only this phantom")
    p.add_argument("--protocol", action="append", metavar="NAME",
                   help="only the checks of this protocol")
    p.add_argument("--format", choices=("table", "json", "markdown"), default="table")
    p.add_argument("--report", metavar="FILE",
                   help="write a commissioning report (.pdf with a .sha256 sidecar, or .json)")
    p.add_argument("--real-data", metavar="DIR", nargs="?", const=_AUTO,
                   help="also compare with other tools on the real images in DIR (default "
                        "../shared/data; always tried with --report)")
    p.add_argument("--verify-report", metavar="FILE",
                   help="check that a report was not changed since it was written")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.verify_report:
        from imgqa.validation.report import verify_report

        ok, message = verify_report(args.verify_report)
        print(("OK: " if ok else "FAILED: ") + message)
        return 0 if ok else 1

    from imgqa.validation import run_validation

    start = time.perf_counter()
    outcomes = run_validation(args.keep, phantoms=args.only, protocols=args.protocol)
    elapsed = time.perf_counter() - start
    failed = [o for o in outcomes if not o.passed]
    real = _real_data(args)

    if args.format == "json":
        out: dict[str, Any] = {"imgqa_version": __version__, "passed": not failed,
                               "checks": [o.to_dict() for o in outcomes],
                               "elapsed_s": round(elapsed, 2)}
        if real is not None:
            out["real_data"] = real
        print_json(out)
    elif args.format == "markdown":
        print(_markdown(outcomes, real))
    else:
        print(_table(outcomes))
        print(f"\n{len(outcomes) - len(failed)} of {len(outcomes)} checks passed "
              f"({len({o.check.protocol for o in outcomes})} protocols, {elapsed:.1f} s).")
        if real is not None:
            print()
            print(_real_table(real))
    if args.report:
        from imgqa.validation.report import build_report, write_report

        report = build_report(outcomes, elapsed_s=elapsed, real_data=real)
        written = write_report(report, args.report)
        # stdout stays machine-readable with --format json
        target = print if args.format == "table" else _stderr
        target(f"Report written: {', '.join(str(p) for p in written)} "
               f"(content SHA-256 {report['sha256']}).")
    return 1 if failed else 0


def _stderr(text: str) -> None:
    import sys

    print(text, file=sys.stderr)


def _real_data(args: argparse.Namespace) -> dict[str, Any] | None:
    """The agreement table, a note saying why it is missing, or None when not asked for."""
    if args.real_data is None and not args.report:
        return None
    from imgqa.validation.real_data import default_data_dir, run_agreement

    if args.real_data in (None, _AUTO):
        folder = default_data_dir()
        if folder is None:
            return {"note": "skipped: no ../shared/data folder next to the project "
                            "(give one with --real-data DIR)"}
    else:
        folder = Path(args.real_data)
        if not folder.is_dir():
            return {"note": f"skipped: {folder} is not a folder"}
    return {"data_dir": str(folder), "rows": run_agreement(folder)}


def _table(outcomes: list) -> str:
    rows = []
    for o in outcomes:
        c = o.check
        allowed = c.allowed(o.truth) if o.truth is not None else None
        rows.append([c.phantom, c.protocol, c.measurement, fmt_value(o.truth),
                     fmt_value(o.measured), fmt_value(o.error),
                     f"±{fmt_value(allowed)}" if allowed is not None else "",
                     "PASS" if o.passed else "FAIL", o.note])
    return table(rows, ["Phantom", "Protocol", "Measurement", "Truth", "Measured", "Error",
                        "Allowed", "", "Note"])


def _real_table(real: dict[str, Any]) -> str:
    if not real.get("rows"):
        return f"Real images: {real.get('note', 'not run')}"
    rows = [[r["series"], r["protocol"], r["measurement"], r["tool"], fmt_value(r["tool_value"]),
             fmt_value(r["imgqa"]), fmt_value(r["difference"]), r["note"]] for r in real["rows"]]
    return table(rows, ["Series", "Protocol", "Measurement", "Tool", "Tool value", "imgqa",
                        "Difference", "Note"])


def _md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def _markdown(outcomes: list, real: dict[str, Any] | None) -> str:
    """The check list (and agreement table) as Markdown, for docs/validation.md."""
    lines = [_md_row(["protocol", "phantom", "measurement", "truth (source)", "tolerance",
                      "truth", "measured", "error", ""]),
             _md_row(["---"] * 9)]
    sources: dict[tuple[str, str], str] = {}
    for o in outcomes:
        c = o.check
        first = (c.protocol, c.phantom) not in sources
        sources.setdefault((c.protocol, c.phantom), c.source)
        lines.append(_md_row([f"`{c.protocol}`", c.phantom, f"`{c.measurement}`",
                              c.source if first else "″", c.tolerance_text(),
                              fmt_value(o.truth), fmt_value(o.measured), fmt_value(o.error),
                              "pass" if o.passed else "**FAIL**"]))
    n_fail = sum(not o.passed for o in outcomes)
    lines.append("")
    lines.append(f"{len(outcomes) - n_fail} of {len(outcomes)} checks pass, "
                 f"{len({o.check.protocol for o in outcomes})} protocols.")
    if real is not None:
        lines += ["", "Agreement on real images (imgqa − tool):", ""]
        if real.get("rows"):
            lines += [_md_row(["series", "protocol", "measurement", "tool", "tool value",
                               "imgqa", "difference", "note"]), _md_row(["---"] * 8)]
            lines += [_md_row([f"`{r['series']}`", f"`{r['protocol']}`", f"`{r['measurement']}`",
                               r["tool"], fmt_value(r["tool_value"]), fmt_value(r["imgqa"]),
                               fmt_value(r["difference"]), r["note"]]) for r in real["rows"]]
        else:
            lines.append(real.get("note", "not run"))
    return "\n".join(lines)
