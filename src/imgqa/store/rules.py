"""Routing rules (`RulesMixin`, issue 12): which test runs automatically on which series.

Rules are versioned and audited like tolerances: adding a rule or disabling one needs a
physicist and a reason, writes a new insert-only ``routing_rule`` row (``rule_id`` stays, the
version goes up) and an audit entry (action ``set_rule``) carrying the whole version; nothing
is ever updated or deleted. The newest version of each rule is in force; a disabled rule is
kept with its history. Matching a series to the rules is `imgqa.service.routing.match_rule`.

Table: ``routing_rule``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.protocols.base import get_protocol
from imgqa.store import models as m
from imgqa.store.core import aware, now
from imgqa.store.equipment import EquipmentMixin
from imgqa.store.records import RuleRecord

__all__ = ["RulesMixin", "rule_record"]

_TEXT_FIELDS = ("modality", "station_name", "serial", "manufacturer", "model", "description")


def rule_record(r: m.RoutingRuleRow) -> RuleRecord:
    return RuleRecord(rule_id=r.rule_id, version=r.version, active=r.active,
                      protocol=r.protocol, params=dict(r.params or {}),
                      equipment_id=r.equipment_id, create_equipment=r.create_equipment,
                      modality=r.modality, station_name=r.station_name, serial=r.serial,
                      manufacturer=r.manufacturer, model=r.model, description=r.description,
                      rows=r.rows, columns=r.columns, reason=r.reason,
                      created_by=r.created_by, created_at=aware(r.created_at))


def _newest_ids(s: Session) -> Any:
    return (select(func.max(m.RoutingRuleRow.id)).group_by(m.RoutingRuleRow.rule_id)
            .scalar_subquery())


class RulesMixin(EquipmentMixin):
    """Routing rules: add, list, show (with history), disable."""

    def add_rule(self, protocol: str, *, reason: str, equipment_id: int | None = None,
                 create_equipment: bool = False, params: Mapping[str, Any] | None = None,
                 modality: str = "", station_name: str = "", serial: str = "",
                 manufacturer: str = "", model: str = "", description: str = "",
                 rows: int | None = None, columns: int | None = None) -> RuleRecord:
        """Add a routing rule (physicist; reason required).

        At least one condition is needed, and either ``equipment_id`` or
        ``create_equipment`` (the series' device is registered from its header when no
        equipment matches it). ``description`` is a regular expression (Python syntax)
        searched case-insensitively in SeriesDescription and ProtocolName. Parameters are
        checked against the protocol now, so a bad rule is refused here, not at 3 am.
        """
        self._require("physicist", "add routing rules")
        if not reason or not reason.strip():
            raise StoreError("A routing rule needs a reason.",
                             hint="Add --reason TEXT, e.g. --reason 'weekly ACR on MR 3T'.")
        proto = get_protocol(protocol)
        pars = {str(k): v for k, v in (params or {}).items()}
        proto.resolve_params(pars)  # raises a clear error for an unknown or bad parameter
        if (equipment_id is None) == (not create_equipment):
            raise StoreError("A routing rule files series under one piece of equipment or "
                             "registers the device from the header.",
                             hint="Give --equipment ID or --create-equipment (not both).")
        if equipment_id is not None:
            self.equipment(equipment_id)
        text = {"modality": modality, "station_name": station_name, "serial": serial,
                "manufacturer": manufacturer, "model": model, "description": description}
        text = {k: " ".join(str(v or "").split()) if k != "description" else str(v or "")
                for k, v in text.items()}
        if not any(text.values()) and rows is None and columns is None:
            raise StoreError("A routing rule needs at least one condition, or it would take "
                             "every series.", hint="Add e.g. --station, --serial or "
                             "--description.")
        try:
            re.compile(text["description"])
        except re.error as err:
            raise StoreError(f"The description pattern {description!r} is not a valid "
                             f"regular expression: {err}.",
                             hint="e.g. --description 'ACR|phantom' (| means or; escape "
                                  "brackets as \\( ).") from None
        for name, n in (("rows", rows), ("columns", columns)):
            if n is not None and n < 1:
                raise StoreError(f"Image {name} must be a positive number of pixels.")
        me = self.current_user()

        def work(s: Session) -> RuleRecord:
            new_id = int(s.execute(select(func.coalesce(func.max(m.RoutingRuleRow.rule_id),
                                                        0))).scalar_one()) + 1
            row = m.RoutingRuleRow(rule_id=new_id, version=1, active=True, protocol=protocol,
                                   params=pars, equipment_id=equipment_id,
                                   create_equipment=create_equipment, rows=rows,
                                   columns=columns, reason=reason.strip(), created_by=me,
                                   created_at=now(), **text)
            return self._record_version(s, row, me)

        return self._write(work)

    def _record_version(self, s: Session, row: m.RoutingRuleRow, me: str) -> RuleRecord:
        s.add(row)
        s.flush()
        rec = rule_record(row)
        details = rec.to_dict()
        details["created_at"] = row.created_at.isoformat()
        self._append(s, at=row.created_at, actor=me, action="set_rule", entity="routing_rule",
                     entity_id=row.id, details=details)
        return rec

    def rules(self, active_only: bool = True) -> list[RuleRecord]:
        """The newest version of every rule (only the enabled ones by default), by rule id."""
        with self._read() as s:
            q = (select(m.RoutingRuleRow).where(m.RoutingRuleRow.id.in_(_newest_ids(s)))
                 .order_by(m.RoutingRuleRow.rule_id))
            out = [rule_record(r) for r in s.execute(q).scalars()]
        return [r for r in out if r.active] if active_only else out

    def rule_history(self, rule_id: int) -> list[RuleRecord]:
        """Every version of a rule, oldest first; `StoreError` for an unknown id."""
        with self._read() as s:
            rows = s.execute(select(m.RoutingRuleRow).where(m.RoutingRuleRow.rule_id == rule_id)
                             .order_by(m.RoutingRuleRow.version)).scalars().all()
            out = [rule_record(r) for r in rows]
        if not out:
            raise StoreError(f"There is no routing rule {rule_id}.",
                             hint="`imgqa rule list --all` shows the rules.")
        return out

    def rule(self, rule_id: int) -> RuleRecord:
        """The version of the rule in force (possibly disabled)."""
        return self.rule_history(rule_id)[-1]

    def disable_rule(self, rule_id: int, reason: str) -> RuleRecord:
        """Disable a rule (physicist; reason required): a new version with active false."""
        self._require("physicist", "disable routing rules")
        if not reason or not reason.strip():
            raise StoreError("Disabling a routing rule needs a reason.",
                             hint="Add --reason TEXT.")
        me = self.current_user()

        def work(s: Session) -> RuleRecord:
            cur = s.execute(select(m.RoutingRuleRow).where(m.RoutingRuleRow.rule_id == rule_id)
                            .order_by(m.RoutingRuleRow.version.desc()).limit(1)
                            ).scalar_one_or_none()
            if cur is None:
                raise StoreError(f"There is no routing rule {rule_id}.",
                                 hint="`imgqa rule list --all` shows the rules.")
            if not cur.active:
                raise StoreError(f"Routing rule {rule_id} is already disabled.")
            row = m.RoutingRuleRow(
                rule_id=rule_id, version=cur.version + 1, active=False, protocol=cur.protocol,
                params=dict(cur.params or {}), equipment_id=cur.equipment_id,
                create_equipment=cur.create_equipment, rows=cur.rows, columns=cur.columns,
                reason=reason.strip(), created_by=me, created_at=now(),
                **{k: getattr(cur, k) for k in _TEXT_FIELDS})
            return self._record_version(s, row, me)

        return self._write(work)
