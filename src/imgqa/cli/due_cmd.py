"""``imgqa due [--overdue] [--format table|json]``: the scheduled QC tests, most urgent first.

Exit code 1 when at least one test is overdue beyond its grace window (so a cron job or a
monitoring check can alert), else 0; ``--overdue`` filters the listing, not the exit code.
The JSON has ``items`` and ``overdue`` (how many tests are overdue beyond grace). ``--notify``
also e-mails the overdue tests not mailed yet today (`imgqa.service.notify`); a failed e-mail
is reported on stderr and does not change the exit code.
"""

from __future__ import annotations

import argparse
from typing import Any

from imgqa.cli._common import print_json, table
from imgqa.cli.db_cmd import open_from_args

_LABEL = {"ok": "ok", "due": "due", "grace": "overdue (within grace)", "overdue": "OVERDUE"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "due", help="scheduled QC tests: what is due and what is overdue",
        description="Each scheduled test (`imgqa schedule set`) with its last session, due "
        "date, days overdue and status — overdue (past the grace window), overdue within "
        "grace, due (today or never performed), ok — most urgent first. Exit code 1 when a "
        "test is overdue beyond its grace window.")
    p.add_argument("--overdue", action="store_true",
                   help="only the tests past their due date (within grace or not)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--notify", action="store_true",
                   help="also e-mail the tests overdue beyond grace (notification settings: "
                        "`imgqa notify show`); each test at most once a day")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        every = store.due_list()
    items = [d for d in every if d.status in ("grace", "overdue")] if args.overdue else every
    code = 1 if any(d.status == "overdue" for d in every) else 0
    if args.notify:
        _notify(every)
    if args.format == "json":
        print_json({"items": [d.as_dict() for d in items],
                    "overdue": sum(d.status == "overdue" for d in every)})
        return code
    if not items:
        print("Nothing overdue." if args.overdue else
              "No scheduled tests (set one with `imgqa schedule set`).")
        return code
    rows = [[d.equipment, d.protocol,
             f"{d.every_days} d" if d.frequency == "days" else d.frequency,
             d.last_session or "never", d.due_date, d.days_overdue or "",
             _LABEL[d.status]] for d in items]
    print(table(rows, ["Equipment", "Test", "Every", "Last session", "Due", "Days overdue",
                       "Status"]))
    return code


def _notify(every: list[Any]) -> None:
    """E-mail the overdue tests not mailed today; say on stderr what happened."""
    import sys

    from imgqa.service.notify import Notifier
    from imgqa.service.notify_settings import load_settings, settings_path, settings_problems

    settings = load_settings()
    problems = ["notifications are switched off"] if not settings.enabled else \
        ["the overdue e-mail is switched off"] if not settings.overdue else \
        settings_problems(settings)
    if problems:
        print(f"imgqa due: no e-mail sent: {'; '.join(problems)} ({settings_path()}; "
              "`imgqa notify show`).", file=sys.stderr)
        return
    notifier = Notifier(settings)
    n = notifier.overdue(every)
    notifier.close()
    if notifier.failed:
        print(f"imgqa due: {notifier.last_error}", file=sys.stderr)
    elif n:
        print(f"E-mailed {n} overdue test(s) to {', '.join(settings.to)}.", file=sys.stderr)
