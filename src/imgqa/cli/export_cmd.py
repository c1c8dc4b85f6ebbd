"""``imgqa export FILE``: QA records of a period as CSV, XLSX, PDF or JSON, for audits.

    imgqa export ct-2026-01.pdf --equipment "CT room 1" --since 2026-01-01 --until 2026-01-31
    imgqa --db postgresql://bob@dbhost/imgqa export all.xlsx --protocol ct.water
    imgqa export pending.csv --unreviewed

The format comes from the suffix unless ``--format`` is given. ``--until`` is inclusive (a
plain date means up to the end of that day, UTC).
"""

from __future__ import annotations

import argparse

from imgqa.cli.db_cmd import open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    from imgqa.report import FORMATS

    p = sub.add_parser("export", help="export QA records (CSV, Excel, PDF, JSON) for audits",
                       description="Export the stored QA records of a period: sessions, "
                                   "measurements with units, the reference and tolerances in "
                                   "force, statuses, reviews and comments. No patient data.")
    p.add_argument("file", metavar="FILE", help="output file (.csv, .xlsx, .pdf or .json)")
    p.add_argument("--format", "-f", choices=FORMATS, default=None,
                   help="file format (default: from the FILE suffix)")
    p.add_argument("--equipment", "-e", action="append", default=[], metavar="ID",
                   help="only this equipment: id, name or serial number (repeatable)")
    p.add_argument("--protocol", "-p", default=None, metavar="P",
                   help="only results of this protocol, e.g. ct.water")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="sessions performed on or after DATE (YYYY-MM-DD, UTC)")
    p.add_argument("--until", default=None, metavar="DATE",
                   help="sessions performed up to and including DATE")
    p.add_argument("--unreviewed", action="store_true",
                   help="only sessions that await review")
    p.add_argument("--department", default="", metavar="TEXT",
                   help="department or site for the PDF header (default: the equipment's "
                        "site names)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from imgqa.report import export, format_for, gather, parse_date

    fmt = format_for(args.file, args.format)  # a bad name fails before the database opens
    since = parse_date(args.since) if args.since else None
    until = parse_date(args.until, end=True) if args.until else None
    with open_from_args(args) as store:
        records = gather(store, equipment=args.equipment, protocol=args.protocol,
                         since=since, until=until, unreviewed_only=args.unreviewed)
    path = export(records, args.file, fmt, department=args.department)
    print(f"Exported {len(records.rows)} result(s) of {len(records.sessions)} session(s) "
          f"on {len(records.equipment)} piece(s) of equipment ({records.period_text()}) "
          f"to {path}")
    return 0
