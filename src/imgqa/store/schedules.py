"""QC schedules and the due list (`SchedulesMixin`, issue 12).

A schedule is a ``protocol_assignment`` row: a test (protocol) on a piece of equipment, every
day/week/month (30 d)/quarter (91 d)/year (365 d) or every N days, with a grace window.
`set_schedule` creates or changes one (physicist; a reason is required and goes into the
audit entry, as for tolerances). A saved session of the test moves its due date on
(`imgqa.store.equipment.advance_schedule`).

The due list (`due_list`, ``imgqa due``) judges each active schedule on a given day with the
pure function `due_status`:

=========  ================================================================================
``ok``      due date still ahead
``due``     due today, or never performed
``grace``   past its due date by at most ``grace_days`` ("overdue within grace")
``overdue`` past its due date by more than the grace window
=========  ================================================================================

Tables: ``protocol_assignment`` (read: ``qc_session``, ``analysis``, ``equipment``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.protocols.base import get_protocol
from imgqa.store import models as m
from imgqa.store.core import aware, now
from imgqa.store.equipment import EquipmentMixin, period_days
from imgqa.store.records import AssignmentRecord

__all__ = ["DUE_STATUSES", "DueItem", "SchedulesMixin", "due_status", "parse_every",
           "parse_grace"]

# Most urgent first: the due list is sorted by this rank, then by due date.
DUE_STATUSES = ("overdue", "grace", "due", "ok")

_DAYS = re.compile(r"^\s*(\d+)\s*d\s*$", re.IGNORECASE)


def parse_every(text: str) -> tuple[str, int | None]:
    """``daily|weekly|monthly|quarterly|annual|<N>d`` → (frequency, interval_days).

    Raises
    ------
    StoreError
        Anything else, or N < 1.
    """
    t = text.strip().lower()
    if t in m.FREQUENCIES:
        return t, None
    hit = _DAYS.match(t)
    if hit and int(hit.group(1)) >= 1:
        return "days", int(hit.group(1))
    raise StoreError(f"Unknown frequency {text!r}.",
                     hint="Use daily, weekly, monthly, quarterly, annual or every N days as "
                          "e.g. 10d.")


def parse_grace(text: str | None) -> int:
    """``<N>d`` (or a bare number of days) → N ≥ 0; None → 0."""
    if text is None or not str(text).strip():
        return 0
    t = str(text).strip()
    hit = _DAYS.match(t) or re.match(r"^\s*(\d+)\s*$", t)
    if not hit:
        raise StoreError(f"Cannot read the grace window {text!r}.",
                         hint="Give a number of days, e.g. --grace 2d.")
    return int(hit.group(1))


def due_status(due: date, today: date, grace_days: int) -> tuple[str, int]:
    """Status of a test due on ``due`` as seen on ``today``, and its days overdue (≥ 0)."""
    late = (today - due).days
    if late < 0:
        return "ok", 0
    if late == 0:
        return "due", 0
    return ("grace" if late <= grace_days else "overdue"), late


@dataclass(frozen=True, slots=True)
class DueItem:
    """One scheduled test on the due list (dates are local calendar days, UTC-based)."""

    assignment_id: int
    equipment_id: int
    equipment: str
    protocol: str
    frequency: str
    every_days: int
    grace_days: int
    last_session: date | None
    due_date: date
    days_overdue: int
    status: str

    def as_dict(self) -> dict[str, object]:
        return {"assignment_id": self.assignment_id, "equipment_id": self.equipment_id,
                "equipment": self.equipment, "protocol": self.protocol,
                "frequency": self.frequency, "every_days": self.every_days,
                "grace_days": self.grace_days,
                "last_session": self.last_session.isoformat() if self.last_session else None,
                "due_date": self.due_date.isoformat(), "days_overdue": self.days_overdue,
                "status": self.status}


def _last_sessions(s: Session) -> dict[tuple[int, str], datetime]:
    """Newest session time per (equipment, protocol)."""
    q = (select(m.QcSessionRow.equipment_id, m.AnalysisRow.protocol,
                func.max(m.QcSessionRow.performed_at))
         .join(m.AnalysisRow, m.AnalysisRow.session_id == m.QcSessionRow.id)
         .group_by(m.QcSessionRow.equipment_id, m.AnalysisRow.protocol))
    return {(e, p): aware(t) for e, p, t in s.execute(q).all() if t is not None}


class SchedulesMixin(EquipmentMixin):
    """Schedules with a reason, and the due list."""

    def set_schedule(self, equipment_id: int, protocol: str, every: str, *,
                     grace_days: int = 0, reason: str) -> AssignmentRecord:
        """Schedule ``protocol`` on the equipment every ``every`` (physicist).

        Parameters
        ----------
        every : str
            ``daily``, ``weekly``, ``monthly``, ``quarterly``, ``annual`` or ``<N>d``.
        grace_days : int
            Days past the due date before the test counts as overdue.
        reason : str
            Why (required; recorded in the audit log).

        The due date becomes one period after the newest session of the test (none yet: due
        today). Raises `StoreError` for an unknown protocol or frequency or a blank reason.
        """
        self._require("physicist", "schedule QC tests")
        if not reason or not reason.strip():
            raise StoreError("A schedule change needs a reason.",
                             hint="Add --reason TEXT, e.g. --reason 'IPEM 227 weekly MR QC'.")
        get_protocol(protocol)
        frequency, interval = parse_every(every)
        if grace_days < 0:
            raise StoreError("The grace window cannot be negative.")
        self.equipment(equipment_id)  # a clear error for an unknown id
        me = self.current_user()

        def work(s: Session) -> AssignmentRecord:
            last = _last_sessions(s).get((equipment_id, protocol))
            period = period_days(frequency, interval)
            nxt = last.date() + timedelta(days=period) if last else now().date()
            a = s.execute(select(m.ProtocolAssignmentRow).where(
                m.ProtocolAssignmentRow.equipment_id == equipment_id,
                m.ProtocolAssignmentRow.protocol == protocol)).scalar_one_or_none()
            old = None
            if a is None:
                a = m.ProtocolAssignmentRow(equipment_id=equipment_id, protocol=protocol)
                s.add(a)
            else:
                old = {"frequency": a.frequency, "interval_days": a.interval_days,
                       "grace_days": a.grace_days, "active": a.active}
            a.frequency, a.interval_days, a.grace_days = frequency, interval, grace_days
            a.active, a.next_due = True, nxt
            s.flush()
            # action "assign_protocol": the physicist-level action the PostgreSQL audit
            # function (revision 0003) already knows.
            self._append(s, at=now(), actor=me, action="assign_protocol",
                         entity="protocol_assignment", entity_id=a.id,
                         details={"equipment_id": equipment_id, "protocol": protocol,
                                  "frequency": frequency, "interval_days": interval,
                                  "grace_days": grace_days, "next_due": nxt.isoformat(),
                                  "old": old, "reason": reason.strip()})
            return AssignmentRecord(a.id, a.equipment_id, a.protocol, a.frequency, a.next_due,
                                    a.active, a.interval_days, a.grace_days)

        return self._write(work)

    def due_list(self, today: date | None = None, *,
                 overdue_only: bool = False) -> list[DueItem]:
        """Every active schedule of active equipment, most urgent first.

        The due date is the schedule's next due date (moved on by each saved session), else
        one period after the newest session, else ``today`` (never performed). ``today``
        defaults to the current UTC date. ``overdue_only`` keeps ``grace`` and ``overdue``.
        """
        day = today or now().date()
        with self._read() as s:
            last = _last_sessions(s)
            rows = s.execute(
                select(m.ProtocolAssignmentRow, m.EquipmentRow.name)
                .join(m.EquipmentRow, m.EquipmentRow.id == m.ProtocolAssignmentRow.equipment_id)
                .where(m.ProtocolAssignmentRow.active.is_(True),
                       m.EquipmentRow.active.is_(True))).all()
            out: list[DueItem] = []
            for a, name in rows:
                period = period_days(a.frequency, a.interval_days)
                prev = last.get((a.equipment_id, a.protocol))
                prev_day = prev.date() if prev else None
                if a.next_due is not None:
                    due = a.next_due
                elif prev_day is not None:
                    due = prev_day + timedelta(days=period)
                else:
                    due = day
                status, late = due_status(due, day, a.grace_days or 0)
                out.append(DueItem(a.id, a.equipment_id, name, a.protocol, a.frequency, period,
                                   a.grace_days or 0, prev_day, due, late, status))
        if overdue_only:
            out = [d for d in out if d.status in ("grace", "overdue")]
        return sorted(out, key=lambda d: (DUE_STATUSES.index(d.status), d.due_date,
                                          d.equipment, d.protocol))
