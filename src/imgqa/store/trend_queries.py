"""Trend queries (`TrendsMixin`): one measurement's time series on a device with the bands in
force at each point, the baseline and tolerance history, service events and SPC control limits
and signals (the statistics are `imgqa.trends`'s, pure; this module only reads and assembles).

Tables read: ``result`` (one indexed scan by equipment, protocol, measurement, time),
``review``, ``baseline``, ``tolerance``, ``service_event``.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select

from imgqa.errors import ToleranceError
from imgqa.evaluate import Limits, limits
from imgqa.protocols.base import get_protocol
from imgqa.store import models as m
from imgqa.store.core import aware, tolerance_of
from imgqa.store.limits import LimitsMixin, baseline_rows, current_rows, in_force
from imgqa.store.records import TrendData, TrendPoint
from imgqa.store.service import ServiceMixin, events_of
from imgqa.trends import control_limits, spc_period_start, spc_signals

__all__ = ["TrendsMixin"]


class TrendsMixin(LimitsMixin, ServiceMixin):
    """Trends of one measurement and the list of what was recorded."""

    def trend(self, equipment_id: int, protocol: str, measurement: str, *,
              since: datetime | None = None, spc_points: int = 20,
              spc_restart_on_events: bool | Collection[str] = False) -> TrendData:
        """Time series of one measurement with the bands in force, baselines, service events
        and SPC limits.

        Control limits come from the first ``spc_points`` values of the baseline period: the
        values since the newest reset that has at least two values after it (from the start
        when there is none). A reset is a baseline change and, with
        ``spc_restart_on_events``, a service event (True: every event; a collection of kinds,
        e.g. ``{"part replacement", "calibration"}``: events of those kinds, compared without
        case). The signals (`imgqa.trends.spc_signals`: Western Electric rules 1 and 4, only
        with limits from at least 20 values) are checked from the start of the period on.
        """
        eq = self.equipment(equipment_id)
        r = m.QcResultRow
        with self._read() as s:
            reviewed = select(m.ReviewRow.session_id).distinct().subquery()
            q = (select(r.performed_at, r.value, r.status, r.session_id, r.reference,
                        r.tol_kind, r.act_low, r.tol_low, r.tol_high, r.act_high, r.unit,
                        reviewed.c.session_id.is_not(None))
                 .outerjoin(reviewed, reviewed.c.session_id == r.session_id)
                 .where(r.equipment_id == equipment_id, r.protocol == protocol,
                        r.measurement == measurement)
                 .order_by(r.performed_at, r.id))
            if since is not None:
                q = q.where(r.performed_at >= aware(since))
            rows = s.execute(q).all()
            bases, tols = current_rows(s, equipment_id, protocol)
            base_hist = baseline_rows(s, equipment_id, protocol, measurement)
            events = events_of(s, equipment_id, since, None)
        points = []
        unit = ""
        lim_cache: dict[tuple, Limits | None] = {}  # most points share the same band
        for (t, v, st, sid, ref, kind, a_lo, t_lo, t_hi, a_hi, u, rev) in rows:
            unit = unit or u
            lim = None
            if ref is not None and kind is not None:
                key = (ref, kind, a_lo, t_lo, t_hi, a_hi)
                if key not in lim_cache:
                    try:
                        lim_cache[key] = limits(ref, tolerance_of(kind, a_lo, t_lo, t_hi, a_hi))
                    except ToleranceError:
                        lim_cache[key] = None
                lim = lim_cache[key]
            rel = None
            if v is not None and ref not in (None, 0):
                rel = 100.0 * (v - ref) / abs(ref)
            points.append(TrendPoint(t, v, st, sid, ref, lim, rel, bool(rev)))
        if not unit:
            try:
                unit = get_protocol(protocol).measurement(measurement).unit
            except Exception:
                unit = ""
        resets = [b.set_at for b in base_hist]
        if spc_restart_on_events:
            chosen = spc_restart_on_events
            if isinstance(chosen, str):  # one kind given as text, not its letters
                chosen = (chosen,)
            kinds = None if chosen is True else \
                {k.casefold() for k in chosen}
            resets += [e.when for e in events if kinds is None or e.kind.casefold() in kinds]
        valued = [i for i, p in enumerate(points) if p.value is not None]
        first = spc_period_start([points[i].time for i in valued], resets)
        start = valued[first] if valued else 0
        period = [points[i] for i in valued[first:first + spc_points]]
        control = control_limits([p.value for p in period])
        violations: tuple = ()
        if control:
            violations = tuple(
                replace(v, index=v.index + start) for v in
                spc_signals([p.value for p in points[start:]], control))
        return TrendData(
            equipment_id=equipment_id, protocol=protocol, measurement=measurement, unit=unit,
            points=tuple(points), baselines=tuple(base_hist),
            tolerance_history=tuple(self.tolerance_history(equipment_id, protocol,
                                                           measurement)),
            tolerance_now=in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                                   bases.get(measurement), tols.get(measurement)),
            control=control,
            spc_period=(period[0].time, period[-1].time) if control else None,
            violations=violations, service_events=tuple(events))

    def measurements_recorded(self, equipment_id: int) -> list[tuple[str, str]]:
        """(protocol, measurement) pairs that have stored results for this equipment."""
        with self._read() as s:
            return [(p, n) for p, n in s.execute(
                select(m.QcResultRow.protocol, m.QcResultRow.measurement)
                .where(m.QcResultRow.equipment_id == equipment_id).distinct()
                .order_by(m.QcResultRow.protocol, m.QcResultRow.measurement)).all()]
