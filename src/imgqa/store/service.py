"""Service events (`ServiceMixin`): tube changes, recalibrations, repairs … recorded by a
technologist or above, shown on trends and optionally restarting the SPC period.

Table: ``service_event`` (insert-only, revision 0002).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.store import audit
from imgqa.store import models as m
from imgqa.store.core import aware, now
from imgqa.store.records import ServiceEventRecord
from imgqa.store.users import UsersMixin

__all__ = ["ServiceMixin", "event_record", "events_of"]

# A service event may be recorded up to this far ahead (clock skew, time zones), not more.
_EVENT_FUTURE_SLACK = timedelta(days=1)


def event_record(e: m.ServiceEventRow) -> ServiceEventRecord:
    """The frozen record of a service event row."""
    return ServiceEventRecord(id=e.id, equipment_id=e.equipment_id, when=e.occurred_at,
                              kind=e.kind, description=e.description,
                              performed_by=e.performed_by, recorded_by=e.recorded_by,
                              created_at=e.created_at)


def events_of(s: Session, equipment_id: int, since: datetime | None,
              until: datetime | None) -> list[ServiceEventRecord]:
    """Service events of the equipment, oldest first; ``since`` inclusive, ``until``
    exclusive."""
    q = (select(m.ServiceEventRow).where(m.ServiceEventRow.equipment_id == equipment_id)
         .order_by(m.ServiceEventRow.occurred_at, m.ServiceEventRow.id))
    if since is not None:
        q = q.where(m.ServiceEventRow.occurred_at >= aware(since))
    if until is not None:
        q = q.where(m.ServiceEventRow.occurred_at < aware(until))
    return [event_record(e) for e in s.execute(q).scalars()]


def _event_time(when: datetime | date) -> datetime:
    """A date → 00:00 UTC that day; a naive datetime → UTC; always UTC out."""
    if isinstance(when, datetime):
        return aware(when).astimezone(UTC)
    if isinstance(when, date):
        return datetime(when.year, when.month, when.day, tzinfo=UTC)
    raise StoreError(f"A service event time must be a date or a date-time, not {when!r}.")


class ServiceMixin(UsersMixin):
    """Record and list service events."""

    def add_service_event(self, equipment_id: int, when: datetime | date, kind: str,
                          description: str, performed_by: str = "", who: str | None = None
                          ) -> ServiceEventRecord:
        """Record a service event (technologist and up): tube change, recalibration, ...

        Parameters
        ----------
        equipment_id : int
        when : datetime or date
            When the work was done. A date means 00:00 UTC of that day (so QC done later
            that day counts as after the event); a naive datetime is taken as UTC.
        kind : str
            Free text; `SERVICE_KINDS` lists the suggestions (service, repair, calibration,
            software, part replacement, acceptance).
        description : str
            What was done (required).
        performed_by : str
            Who did it, e.g. the vendor engineer's name and company.
        who : str, optional
            Who records it; on PostgreSQL it must be the login (the default).

        Raises
        ------
        StoreError
            Unknown equipment, empty kind or description, or a time more than a day ahead.
        """
        self._require("technologist", "record service events")
        kind = " ".join((kind or "").split())
        description = (description or "").strip()
        if not kind:
            raise StoreError("A service event needs a kind.",
                             hint="e.g. " + ", ".join(m.SERVICE_KINDS) + ".")
        if not description:
            raise StoreError("A service event needs a description.",
                             hint="Say what was done, e.g. 'X-ray tube replaced'.")
        if len(kind) > 64:
            raise StoreError("The kind of a service event is at most 64 characters.",
                             hint="Put the details in the description.")
        at = _event_time(when)
        if at > now() + _EVENT_FUTURE_SLACK:
            raise StoreError(f"The service event date {at:%Y-%m-%d} is in the future.",
                             hint="Record service events after they happen.")
        actor = self._identity(who)
        me = self.current_user()

        def work(s: Session) -> ServiceEventRecord:
            if s.get(m.EquipmentRow, equipment_id) is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.",
                                 hint="`imgqa equipment list` shows the equipment.")
            created = now()
            ev = m.ServiceEventRow(equipment_id=equipment_id, occurred_at=at, kind=kind,
                                   description=description,
                                   performed_by=(performed_by or "").strip(),
                                   recorded_by=actor, created_at=created)
            s.add(ev)
            s.flush()
            self._append(s, at=created, actor=me, action="service_event",
                         entity="service_event", entity_id=ev.id,
                         details={"equipment_id": equipment_id, "kind": kind,
                                  "digest": audit.service_event_digest(ev),
                                  "digest_v": audit.DIGEST_V})
            return event_record(ev)

        return self._write(work)

    def service_events(self, equipment_id: int, since: datetime | None = None,
                       until: datetime | None = None) -> list[ServiceEventRecord]:
        """Service events of the equipment, oldest first; ``since`` inclusive, ``until``
        exclusive."""
        with self._read() as s:
            return events_of(s, equipment_id, since, until)
