"""``imgqa review``: list sessions awaiting review, or approve/reject them in bulk.

A session with a TOLERANCE or ACTION result is never approved in bulk by accident:
``--approve-all`` skips such sessions and says how many it skipped and why, unless
``--include-failing`` is given with a ``--comment`` (the store refuses an approval of a failing
session without a comment anyway).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from imgqa.cli._common import print_json, table
from imgqa.cli.db_cmd import open_from_args
from imgqa.status import FAILING


def _date(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="list unreviewed QC sessions; approve or reject them",
                       description="Without --approve-all/--reject-all/--session, lists the "
                       "sessions awaiting review.")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--approve-all", action="store_true",
                     help="approve every unreviewed session in the period")
    act.add_argument("--reject-all", action="store_true")
    p.add_argument("--session", type=int, action="append", metavar="ID",
                   help="review this session (repeatable); with --approve-all/--reject-all")
    p.add_argument("--since", type=_date, default=None, metavar="DATE")
    p.add_argument("--until", type=_date, default=None, metavar="DATE")
    p.add_argument("--equipment", default=None, metavar="EQUIPMENT")
    p.add_argument("--comment", default="",
                   help="review comment (required to approve sessions with a Tolerance or "
                        "Action result)")
    p.add_argument("--include-failing", action="store_true",
                   help="with --approve-all: also approve sessions with a Tolerance or Action "
                        "result (needs --comment)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        eq_id = store.find_equipment(args.equipment).id if args.equipment else None
        if args.session:
            pending = [store.session(i) for i in args.session]
        else:
            pending = store.sessions(eq_id, args.since, unreviewed_only=True, until=args.until)
        decision = "approved" if args.approve_all else "rejected" if args.reject_all else None
        if decision is None:
            if args.format == "json":
                print_json({"sessions": [{
                    "id": s.id, "equipment": s.equipment_name, "performed_at":
                    s.performed_at.isoformat(), "performed_by": s.performed_by,
                    "protocols": list(s.protocols), "worst_status": s.worst_status,
                    "status": "pending review", "comment": s.comment}
                    for s in pending]})
            elif not pending:
                print("Nothing awaits review.")
            else:
                print(table([[s.id, s.performed_at.strftime("%Y-%m-%d %H:%M"), s.equipment_name,
                              s.performed_by, ", ".join(s.protocols), s.worst_status or ""]
                             for s in pending],
                            ["Session", "When (UTC)", "Equipment", "By", "Tests", "Worst"]))
            return 0
        if not pending:
            print("Nothing to review in that period.")
            return 0
        skipped: list = []
        if decision == "approved":
            failing = [s for s in pending if s.worst_status in FAILING]
            if args.include_failing and failing and not args.comment.strip():
                print("imgqa review: error: --include-failing needs --comment saying why "
                      f"the {len(failing)} session(s) with a Tolerance or Action result may "
                      "be approved.", file=sys.stderr)
                return 2
            if not args.include_failing:
                skipped = failing
                pending = [s for s in pending if s.worst_status not in FAILING]
        if pending:
            store.review([s.id for s in pending], decision, args.comment)
        me = store.current_user()
    print(f"{decision.capitalize()} {len(pending)} session(s) as {me}.")
    if skipped:
        print(f"Skipped {len(skipped)} session(s) with a Tolerance or Action result "
              f"(session {', '.join(str(s.id) for s in skipped)}): look at them "
              "(`imgqa history`, the Review tab), then approve with --include-failing "
              "--comment \"what was checked\", or reject them.")
    return 0

