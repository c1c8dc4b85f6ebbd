"""Equipment and its QC schedule (`EquipmentMixin`): the devices under QC, how a series is
matched to one (`imgqa.store.matching`), sites, retiring a device, and which protocol is due
when (``protocol_assignment``, moved on by each saved session through `advance_schedule`).

Tables: ``equipment``, ``site``, ``protocol_assignment``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.protocols.base import get_protocol
from imgqa.store import matching
from imgqa.store import models as m
from imgqa.store.core import finite, now
from imgqa.store.records import AssignmentRecord, EquipmentRecord
from imgqa.store.users import UsersMixin

__all__ = ["EquipmentMixin", "advance_schedule", "equipment_record", "period_days"]

log = logging.getLogger(__name__)

_FREQ_DAYS = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "annual": 365}


def equipment_record(e: m.EquipmentRow, site: str = "") -> EquipmentRecord:
    """The frozen record of an equipment row."""
    return EquipmentRecord(
        id=e.id, name=e.name, modality=e.modality, manufacturer=e.manufacturer,
        model=e.model, serial=e.serial, station_name=e.station_name,
        institution=e.institution, location=e.location, site=site,
        field_strength_t=e.field_strength_t, active=e.active,
        match_rules=dict(e.match_rules or {}), created_at=e.created_at,
        created_by=e.created_by)


def _assignment_record(a: m.ProtocolAssignmentRow) -> AssignmentRecord:
    return AssignmentRecord(a.id, a.equipment_id, a.protocol, a.frequency, a.next_due, a.active,
                            a.interval_days, a.grace_days or 0)


def period_days(frequency: str, interval_days: int | None = None) -> int:
    """Days between two sessions of a test: the named frequency's period (a month is 30 days,
    a quarter 91, a year 365), or ``interval_days`` when the frequency is ``'days'``."""
    if frequency == "days":
        if not interval_days or interval_days < 1:
            raise StoreError("An every-N-days schedule needs N of at least 1.")
        return int(interval_days)
    return _FREQ_DAYS[frequency]


def advance_schedule(s: Session, equipment_id: int, protocols: set[str], when: datetime) -> None:
    """Move the next due date of the equipment's active assignments of ``protocols`` to one
    period after ``when`` (never backwards: an older session saved late changes nothing)."""
    for a in s.execute(select(m.ProtocolAssignmentRow).where(
            m.ProtocolAssignmentRow.equipment_id == equipment_id,
            m.ProtocolAssignmentRow.protocol.in_(protocols),
            m.ProtocolAssignmentRow.active.is_(True))).scalars():
        nxt = when.date() + timedelta(days=period_days(a.frequency, a.interval_days))
        if a.next_due is None or nxt > a.next_due:
            a.next_due = nxt


class EquipmentMixin(UsersMixin):
    """Equipment register, matching a series to its device, and the protocol schedule."""

    def list_equipment(self, active_only: bool = True) -> list[EquipmentRecord]:
        with self._read() as s:
            q = (select(m.EquipmentRow, m.SiteRow.name).outerjoin(m.SiteRow)
                 .order_by(m.EquipmentRow.name, m.EquipmentRow.id))
            if active_only:
                q = q.where(m.EquipmentRow.active.is_(True))
            return [equipment_record(e, site or "") for e, site in s.execute(q).all()]

    def equipment(self, equipment_id: int) -> EquipmentRecord:
        with self._read() as s:
            e = s.get(m.EquipmentRow, equipment_id)
            if e is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.",
                                 hint="`imgqa equipment list` shows the equipment.")
            site = s.get(m.SiteRow, e.site_id) if e.site_id else None
            return equipment_record(e, site.name if site is not None else "")

    def find_equipment(self, ref: str | int) -> EquipmentRecord:
        """Equipment by id, or by exact (case-insensitive) name or serial number."""
        if isinstance(ref, int) or str(ref).isdigit():
            return self.equipment(int(ref))
        key = str(ref).strip().casefold()
        hits = [e for e in self.list_equipment(active_only=False)
                if e.name.casefold() == key or (e.serial and e.serial.casefold() == key)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise StoreError(f"No equipment called {ref!r}.",
                             hint="`imgqa equipment list` shows names and ids.")
        raise StoreError(f"Several pieces of equipment are called {ref!r}.",
                         hint="Use the id from `imgqa equipment list`.")

    def match_equipment(self, series: Any) -> EquipmentRecord | None:
        """The active equipment whose match rules fit the series header (or a Result.series
        summary dict); None when unknown or ambiguous."""
        facts = matching.header_facts(series)
        cands = [(e, e.match_rules) for e in self.list_equipment(active_only=True)]
        best, tied = matching.best_match(cands, facts)
        if best is None and len(tied) > 1:
            log.warning("series matches several pieces of equipment: %s",
                        ", ".join(e.name for e in tied))
        return best

    def add_equipment(self, name: str, *, modality: str = "", manufacturer: str = "",
                      model: str = "", serial: str = "", station_name: str = "",
                      institution: str = "", location: str = "", site: str | None = None,
                      field_strength_t: float | None = None,
                      match_rules: Mapping[str, str] | None = None) -> EquipmentRecord:
        """Register equipment (admin). Match rules default to serial/station + make/model."""
        self._require("admin", "add equipment")
        if not name.strip():
            raise StoreError("Equipment needs a name.")
        facts = {"modality": modality, "manufacturer": manufacturer, "model": model,
                 "serial": serial, "station_name": station_name, "institution": institution}
        rules = dict(match_rules) if match_rules is not None else matching.default_rules(facts)
        bad = set(rules) - set(matching.MATCH_FIELDS)
        if bad:
            raise StoreError(f"Unknown match field(s) {sorted(bad)}.",
                             hint=f"Use {', '.join(matching.MATCH_FIELDS)}.")
        me = self.current_user()

        def work(s: Session) -> EquipmentRecord:
            site_id = None
            if site:
                row = s.execute(select(m.SiteRow).where(m.SiteRow.name == site)
                                ).scalar_one_or_none()
                if row is None:
                    row = m.SiteRow(name=site, address="")
                    s.add(row)
                    s.flush()
                site_id = row.id
            e = m.EquipmentRow(name=name.strip(), site_id=site_id, modality=modality,
                               manufacturer=manufacturer, model=model, serial=serial,
                               station_name=station_name, institution=institution,
                               location=location, field_strength_t=field_strength_t,
                               active=True, match_rules=rules, created_at=now(), created_by=me)
            s.add(e)
            s.flush()
            self._append(s, at=now(), actor=me, action="add_equipment", entity="equipment",
                         entity_id=e.id, details={"name": e.name, "match_rules": rules,
                                                  "modality": modality, "serial": serial})
            return equipment_record(e, site or "")

        return self._write(work)

    def create_equipment_from_series(self, series: Any, *, name: str | None = None,
                                     location: str = "") -> EquipmentRecord:
        """Register the device that made ``series`` (an ImageSeries or a Result.series dict)."""
        facts = matching.header_facts(series)
        fs = None
        if not isinstance(series, Mapping):
            fs = getattr(series.header, "field_strength_t", None)
        else:
            fs = series.get("field_strength_t")
        if not any(facts[k] for k in ("manufacturer", "model", "serial", "station_name")):
            raise StoreError("The images do not say which device made them (no manufacturer, "
                             "model, serial number or station name in the header).",
                             hint="Add the equipment by hand with `imgqa equipment add` and "
                                  "save with --equipment ID.")
        default_name = " ".join(p for p in (facts["manufacturer"], facts["model"],
                                            facts["station_name"] or facts["serial"]) if p)
        return self.add_equipment(
            name or default_name or "unnamed device", location=location,
            field_strength_t=finite(fs), modality=facts["modality"],
            manufacturer=facts["manufacturer"], model=facts["model"], serial=facts["serial"],
            station_name=facts["station_name"], institution=facts["institution"])

    def set_equipment_active(self, equipment_id: int, active: bool) -> EquipmentRecord:
        self._require("admin", "change equipment")
        me = self.current_user()

        def work(s: Session) -> EquipmentRecord:
            e = s.get(m.EquipmentRow, equipment_id)
            if e is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.")
            e.active = active
            self._append(s, at=now(), actor=me, action="set_active", entity="equipment",
                         entity_id=e.id, details={"active": active})
            return equipment_record(e)

        return self._write(work)

    # -- protocol schedule ----------------------------------------------------------------
    def assign_protocol(self, equipment_id: int, protocol: str, frequency: str,
                        next_due: date | None = None) -> AssignmentRecord:
        """Schedule a QC test for the equipment (physicist)."""
        self._require("physicist", "schedule QC tests")
        get_protocol(protocol)
        if frequency not in m.FREQUENCIES:
            raise StoreError(f"Unknown frequency {frequency!r}.",
                             hint=f"Use one of {', '.join(m.FREQUENCIES)}.")
        me = self.current_user()

        def work(s: Session) -> AssignmentRecord:
            a = s.execute(select(m.ProtocolAssignmentRow).where(
                m.ProtocolAssignmentRow.equipment_id == equipment_id,
                m.ProtocolAssignmentRow.protocol == protocol)).scalar_one_or_none()
            if a is None:
                a = m.ProtocolAssignmentRow(equipment_id=equipment_id, protocol=protocol,
                                            frequency=frequency, next_due=next_due, active=True)
                s.add(a)
            else:
                a.frequency, a.interval_days, a.active = frequency, None, True
                if next_due is not None:
                    a.next_due = next_due
            s.flush()
            self._append(s, at=now(), actor=me, action="assign_protocol",
                         entity="protocol_assignment", entity_id=a.id,
                         details={"equipment_id": equipment_id, "protocol": protocol,
                                  "frequency": frequency})
            return _assignment_record(a)

        return self._write(work)

    def assignments(self, equipment_id: int | None = None) -> list[AssignmentRecord]:
        with self._read() as s:
            q = select(m.ProtocolAssignmentRow).order_by(m.ProtocolAssignmentRow.next_due)
            if equipment_id is not None:
                q = q.where(m.ProtocolAssignmentRow.equipment_id == equipment_id)
            return [_assignment_record(a) for a in s.execute(q).scalars()]
