"""``imgqa schedule set``: how often a QC test is due on a piece of equipment (physicist;
reason required, audited like tolerances). ``imgqa due`` lists what is due (`due_cmd`)."""

from __future__ import annotations

import argparse

from imgqa.cli.db_cmd import open_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schedule", help="QC test schedules (physicist)")
    ssub = p.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    s = ssub.add_parser(
        "set", help="set how often a test is due on a piece of equipment",
        description="Create or change the schedule of a QC test. A month counts 30 days, a "
        "quarter 91, a year 365; '10d' means every 10 days. The test is next due one period "
        "after its newest saved session (never done: due today); every saved session of the "
        "test moves the due date on. A test becomes overdue once it is more than the grace "
        "window past its due date (see `imgqa due`).")
    s.add_argument("equipment", metavar="EQUIPMENT", help="id, name or serial number")
    s.add_argument("protocol", metavar="PROTOCOL", help="e.g. mr.acr")
    s.add_argument("--every", required=True, metavar="daily|weekly|monthly|quarterly|annual|<N>d")
    s.add_argument("--grace", default=None, metavar="<N>d",
                   help="days past the due date before the test counts as overdue (default 0)")
    s.add_argument("--reason", required=True, help="why (kept in the audit log)")
    s.set_defaults(func=run_set)


def run_set(args: argparse.Namespace) -> int:
    from imgqa.store.equipment import period_days
    from imgqa.store.schedules import parse_grace

    grace = parse_grace(args.grace)
    with open_from_args(args) as store:
        e = store.find_equipment(args.equipment)
        a = store.set_schedule(e.id, args.protocol, args.every, grace_days=grace,
                               reason=args.reason)
    every = f"every {a.interval_days} days" if a.frequency == "days" else a.frequency
    print(f"{e.name}: {a.protocol} {every} ({period_days(a.frequency, a.interval_days)} d), "
          f"grace {a.grace_days} d, next due {a.next_due}")
    return 0
