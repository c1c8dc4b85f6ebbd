"""References and tolerances (`LimitsMixin`): the baseline and tolerance in force for a
measurement on a device, their histories, and setting new versions (physicist).

In force = the equipment's newest tolerance row, else the packaged default
(`imgqa.store.defaults`); the equipment's newest baseline, else the default's fixed reference.
Rows are never changed: a new baseline or tolerance is a new row with a reason.

Tables: ``baseline``, ``tolerance`` (read: ``result`` for `baselines_from_sessions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError, ToleranceError
from imgqa.evaluate import validate_tolerance
from imgqa.protocols.base import MeasurementSpec, get_protocol
from imgqa.store import audit
from imgqa.store import models as m
from imgqa.store.core import aware, finite, now, tolerance_of
from imgqa.store.defaults import find_default
from imgqa.store.equipment import EquipmentMixin
from imgqa.store.records import BaselineRecord, EquipmentRecord, ToleranceRecord

__all__ = ["LimitsMixin", "baseline_record", "baseline_rows", "current_rows", "in_force"]


def current_rows(s: Session, equipment_id: int, protocol: str
                 ) -> tuple[dict[str, m.BaselineRow], dict[str, m.ToleranceRow]]:
    """Newest baseline and tolerance row per measurement (two indexed queries)."""
    bases: dict[str, m.BaselineRow] = {}
    for b in s.execute(select(m.BaselineRow).where(
            m.BaselineRow.equipment_id == equipment_id, m.BaselineRow.protocol == protocol)
            .order_by(m.BaselineRow.id)).scalars():
        bases[b.measurement] = b
    tols: dict[str, m.ToleranceRow] = {}
    for t in s.execute(select(m.ToleranceRow).where(
            m.ToleranceRow.equipment_id == equipment_id, m.ToleranceRow.protocol == protocol)
            .order_by(m.ToleranceRow.id)).scalars():
        tols[t.measurement] = t
    return bases, tols


def in_force(equipment_id: int, field_strength_t: float | None, protocol: str,
             measurement: str, base: m.BaselineRow | None, tol: m.ToleranceRow | None,
             conditions: Mapping[str, str] | None = None) -> ToleranceRecord | None:
    """Tolerance and reference in force: the equipment's own tolerance, else the default;
    the equipment's baseline, else the default's fixed reference.

    ``conditions``: the result's analysis conditions (`defaults.result_conditions`, e.g. the
    ACR phantom variant); without them (no result at hand) only unconditional defaults apply.
    """
    default = None if tol is not None else find_default(protocol, measurement,
                                                        field_strength_t, conditions)
    if tol is None and default is None:
        return None
    ref: float | None
    if base is not None:
        ref, ref_src, base_id = base.value, "baseline", base.id
    else:
        fixed = find_default(protocol, measurement, field_strength_t, conditions) \
            if default is None \
            else default
        if fixed is not None and fixed.reference is not None:
            ref, ref_src, base_id = fixed.reference, "fixed", None
        else:
            ref, ref_src, base_id = None, None, None
    if tol is not None:
        return ToleranceRecord(
            equipment_id=equipment_id, protocol=protocol, measurement=measurement,
            tolerance=tolerance_of(tol.kind, tol.act_low, tol.tol_low, tol.tol_high,
                                   tol.act_high),
            reference=ref, reference_source=ref_src, source="equipment", id=tol.id,
            reason=tol.reason, set_by=tol.set_by, set_at=tol.set_at, baseline_id=base_id)
    assert default is not None
    return ToleranceRecord(
        equipment_id=equipment_id, protocol=protocol, measurement=measurement,
        tolerance=default.tolerance, reference=ref, reference_source=ref_src,
        source=f"default:{default.file}", citation=default.source, verify=default.verify,
        baseline_id=base_id)


def baseline_record(b: m.BaselineRow) -> BaselineRecord:
    """The frozen record of a baseline row."""
    return BaselineRecord(b.id, b.equipment_id, b.protocol, b.measurement, b.value,
                          b.old_value, b.unit, b.reason, b.set_by, b.set_at)


def baseline_rows(s: Session, equipment_id: int, protocol: str, measurement: str
                  ) -> list[BaselineRecord]:
    """Every baseline of one measurement, oldest first."""
    return [baseline_record(b) for b in s.execute(select(m.BaselineRow).where(
        m.BaselineRow.equipment_id == equipment_id, m.BaselineRow.protocol == protocol,
        m.BaselineRow.measurement == measurement).order_by(m.BaselineRow.id)).scalars()]


def _measurement_spec(protocol: str, measurement: str) -> MeasurementSpec:
    proto = get_protocol(protocol)
    try:
        return proto.measurement(measurement)
    except KeyError:
        raise StoreError(
            f"{protocol} has no measurement {measurement!r}.",
            hint="Its measurements are: " + ", ".join(x.name for x in proto.measurements)
        ) from None


def _check_modality(eq: EquipmentRecord, protocol: str) -> None:
    """Refuse a baseline/tolerance for a protocol that cannot run on this equipment.

    Equipment without a recorded modality is not checked (nothing to compare with).
    """
    proto = get_protocol(protocol)
    mods = tuple(proto.modalities)
    if not eq.modality or "*" in mods or eq.modality in mods:
        return
    raise StoreError(
        f"{protocol} ({proto.title}) is a test for {' or '.join(mods)} images, but "
        f"{eq.name} is {eq.modality} equipment: no baseline or tolerance was set.",
        hint=f"Choose a test made for {eq.modality} equipment, or the right equipment.")


class LimitsMixin(EquipmentMixin):
    """Baselines and tolerances: what is in force, history, new versions."""

    def tolerance(self, equipment_id: int, protocol: str, measurement: str
                  ) -> ToleranceRecord | None:
        """The tolerance and reference in force now, or None if there is no tolerance."""
        eq = self.equipment(equipment_id)
        with self._read() as s:
            bases, tols = current_rows(s, equipment_id, protocol)
        return in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                        bases.get(measurement), tols.get(measurement))

    def baseline(self, equipment_id: int, protocol: str, measurement: str
                 ) -> BaselineRecord | None:
        hist = self.baseline_history(equipment_id, protocol, measurement)
        return hist[-1] if hist else None

    def baseline_history(self, equipment_id: int, protocol: str, measurement: str
                         ) -> list[BaselineRecord]:
        with self._read() as s:
            return baseline_rows(s, equipment_id, protocol, measurement)

    def tolerance_history(self, equipment_id: int, protocol: str, measurement: str
                          ) -> list[ToleranceRecord]:
        """Every tolerance version set for this equipment (defaults are not listed)."""
        with self._read() as s:
            rows = s.execute(select(m.ToleranceRow).where(
                m.ToleranceRow.equipment_id == equipment_id, m.ToleranceRow.protocol == protocol,
                m.ToleranceRow.measurement == measurement).order_by(m.ToleranceRow.id)).scalars()
            return [ToleranceRecord(
                equipment_id=equipment_id, protocol=protocol, measurement=measurement,
                tolerance=tolerance_of(t.kind, t.act_low, t.tol_low, t.tol_high, t.act_high),
                reference=None, reference_source=None, source="equipment", id=t.id,
                reason=t.reason, set_by=t.set_by, set_at=t.set_at) for t in rows]

    def set_baseline(self, equipment_id: int, protocol: str, measurement: str, value: float,
                     reason: str, who: str | None = None) -> BaselineRecord:
        """Set a new reference value (physicist). Needs a reason; the old value is kept."""
        self._require("physicist", "change baselines")
        spec = _measurement_spec(protocol, measurement)
        checked = finite(value)
        if checked is None:
            raise ToleranceError("A baseline must be a finite number.")
        if not reason or not reason.strip():
            raise StoreError("A baseline change needs a reason.",
                             hint="Say why, e.g. 'after detector replacement'.")
        actor = self._identity(who)
        eq = self.equipment(equipment_id)
        _check_modality(eq, protocol)

        def work(s: Session) -> BaselineRecord:
            bases, tols = current_rows(s, equipment_id, protocol)
            old = bases.get(measurement)
            force = in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                             None, tols.get(measurement))
            if force is not None:
                validate_tolerance(force.tolerance, checked)  # percent on 0 → ToleranceError
            b = m.BaselineRow(equipment_id=equipment_id, protocol=protocol,
                              measurement=measurement, value=checked,
                              old_value=None if old is None else old.value, unit=spec.unit,
                              reason=reason.strip(), set_by=actor, set_at=now())
            s.add(b)
            s.flush()
            rec = baseline_record(b)
            self._append(s, at=now(), actor=self.current_user(), action="set_baseline",
                         entity="baseline", entity_id=b.id,
                         details={"digest": audit.baseline_digest(b),
                                  "digest_v": audit.DIGEST_V})
            return rec

        return self._write(work)

    def set_tolerance(self, equipment_id: int, protocol: str, measurement: str, *,
                      kind: str, act_low: float | None = None, tol_low: float | None = None,
                      tol_high: float | None = None, act_high: float | None = None,
                      reason: str, who: str | None = None) -> ToleranceRecord:
        """Set a new tolerance version (physicist). Earlier results keep their stored status."""
        self._require("physicist", "change tolerances")
        _measurement_spec(protocol, measurement)
        tol = tolerance_of(kind, finite(act_low), finite(tol_low), finite(tol_high),
                           finite(act_high))
        if not reason or not reason.strip():
            raise StoreError("A tolerance change needs a reason.")
        actor = self._identity(who)
        eq = self.equipment(equipment_id)
        _check_modality(eq, protocol)

        def work(s: Session) -> ToleranceRecord:
            bases, tols = current_rows(s, equipment_id, protocol)
            prev = in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                            bases.get(measurement), tols.get(measurement))
            ref = prev.reference if prev is not None else (
                bases[measurement].value if measurement in bases else None)
            validate_tolerance(tol, ref)
            old = None
            if prev is not None:
                old = {"kind": prev.tolerance.kind, "act_low": prev.tolerance.act_low,
                       "tol_low": prev.tolerance.tol_low, "tol_high": prev.tolerance.tol_high,
                       "act_high": prev.tolerance.act_high, "source": prev.source}
            t = m.ToleranceRow(equipment_id=equipment_id, protocol=protocol,
                               measurement=measurement, kind=tol.kind, act_low=tol.act_low,
                               tol_low=tol.tol_low, tol_high=tol.tol_high,
                               act_high=tol.act_high, old=old, reason=reason.strip(),
                               set_by=actor, set_at=now())
            s.add(t)
            s.flush()
            self._append(s, at=now(), actor=self.current_user(), action="set_tolerance",
                         entity="tolerance", entity_id=t.id,
                         details={"digest": audit.tolerance_digest(t),
                                  "digest_v": audit.DIGEST_V})
            rec = in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                           bases.get(measurement), t)
            assert rec is not None  # a tolerance row is always in force
            return rec

        return self._write(work)

    def baselines_from_sessions(self, equipment_id: int, protocol: str, first: int, *,
                                reason: str, measurements: Sequence[str] | None = None,
                                include_fixed: bool = False, since: datetime | None = None
                                ) -> list[BaselineRecord]:
        """Set baselines to the mean of the first N saved values of each measurement.

        Measurements whose default tolerance has a fixed reference (e.g. water 0 HU) are left
        alone unless ``include_fixed``.
        """
        self._require("physicist", "change baselines")
        if first < 1:
            raise StoreError("--first must be at least 1.")
        eq = self.equipment(equipment_id)
        _check_modality(eq, protocol)
        proto = get_protocol(protocol)
        names = list(measurements) if measurements else [x.name for x in proto.measurements]
        out = []
        r = m.QcResultRow
        with self._read() as s:
            values: dict[str, list[float]] = {}
            for name in names:
                q = (select(r.value).where(
                    r.equipment_id == equipment_id, r.protocol == protocol,
                    r.measurement == name, r.value.is_not(None))
                    .order_by(r.performed_at, r.id).limit(first))
                if since is not None:
                    q = q.where(r.performed_at >= aware(since))
                values[name] = [v for v in s.execute(q).scalars() if v is not None]
        for name in names:
            vals = values[name]
            if len(vals) < first:
                continue
            d = find_default(protocol, name, eq.field_strength_t)
            if d is not None and d.reference is not None and not include_fixed:
                continue
            mean = float(sum(vals) / len(vals))
            out.append(self.set_baseline(
                equipment_id, protocol, name, mean,
                f"{reason.strip()} (mean of first {len(vals)} sessions)"))
        return out
