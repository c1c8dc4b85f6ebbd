"""Plain frozen records the store returns (never ORM objects), safe to pass between threads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from imgqa.evaluate import Limits, Tolerance
from imgqa.trends import ControlLimits, RuleViolation

__all__ = [
    "AssignmentRecord",
    "AuditEntry",
    "BaselineRecord",
    "CommentRecord",
    "EquipmentRecord",
    "ResultRow",
    "ReviewRecord",
    "RuleRecord",
    "ServiceEventRecord",
    "SessionRecord",
    "ToleranceRecord",
    "TrendData",
    "TrendPoint",
]


@dataclass(frozen=True, slots=True)
class EquipmentRecord:
    id: int
    name: str
    modality: str
    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    station_name: str = ""
    institution: str = ""
    location: str = ""
    site: str = ""
    field_strength_t: float | None = None
    active: bool = True
    match_rules: Mapping[str, str] = field(default_factory=dict)
    created_at: datetime | None = None
    created_by: str = ""

    def label(self) -> str:
        extra = " ".join(p for p in (self.manufacturer, self.model) if p)
        sn = f" SN {self.serial}" if self.serial else ""
        return f"{self.name} ({extra}{sn})" if extra or sn else self.name


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    id: int
    equipment_id: int
    protocol: str
    frequency: str
    next_due: date | None
    active: bool = True
    interval_days: int | None = None  # the period when frequency == "days"
    grace_days: int = 0


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A saved QC session with a summary of its results and its latest review."""

    id: int
    uid: str
    equipment_id: int
    equipment_name: str
    performed_at: datetime
    performed_by: str
    saved_by: str
    comment: str
    created_at: datetime
    protocols: tuple[str, ...] = ()
    n_results: int = 0
    worst_status: str | None = None
    review_decision: str | None = None  # None: awaiting review
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None

    @property
    def reviewed(self) -> bool:
        return self.review_decision is not None


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One stored measurement with the reference and tolerance that were in force."""

    id: int
    session_id: int
    equipment_id: int
    performed_at: datetime
    protocol: str
    protocol_version: str
    label: str
    measurement: str
    value: float | None
    unit: str
    status: str | None
    reference: float | None
    tolerance: Tolerance | None
    limits: Limits | None
    tolerance_source: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    id: int
    equipment_id: int
    protocol: str
    measurement: str
    value: float
    old_value: float | None
    unit: str
    reason: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class ToleranceRecord:
    """The tolerance in force (or one version of it) with its reference.

    ``source`` is ``"equipment"`` for a tolerance set for this equipment, or
    ``"default:<file>"`` for a packaged default; ``citation`` cites the standard for defaults.
    ``reference_source`` says where ``reference`` came from: ``"baseline"``, ``"fixed"``
    (from the default set) or ``None`` when there is no reference yet.
    """

    equipment_id: int
    protocol: str
    measurement: str
    tolerance: Tolerance
    reference: float | None
    reference_source: str | None
    source: str
    id: int | None = None
    citation: str = ""
    verify: bool = False
    reason: str = ""
    set_by: str = ""
    set_at: datetime | None = None
    baseline_id: int | None = None

    @property
    def limits(self) -> Limits | None:
        from imgqa.evaluate import limits

        if self.reference is None:
            return None
        return limits(self.reference, self.tolerance)


@dataclass(frozen=True, slots=True)
class ReviewRecord:
    id: int
    session_id: int
    reviewer: str
    decision: str
    comment: str
    reviewed_at: datetime


@dataclass(frozen=True, slots=True)
class CommentRecord:
    id: int
    session_id: int
    result_id: int | None
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: int | None
    details: str


@dataclass(frozen=True, slots=True)
class ServiceEventRecord:
    """A service event of a piece of equipment (tube change, recalibration, upgrade...).

    ``when`` is when the work was done (UTC), ``performed_by`` who did it (e.g. the vendor
    engineer and company, free text), ``recorded_by`` the login that recorded it and
    ``created_at`` when it was recorded.
    """

    id: int
    equipment_id: int
    when: datetime
    kind: str
    description: str
    performed_by: str
    recorded_by: str
    created_at: datetime

    def label(self) -> str:
        """A short label for a chart marker: the kind, shortened."""
        k = self.kind.strip() or "service"
        return k if len(k) <= 18 else k[:17] + "…"


@dataclass(frozen=True, slots=True)
class TrendPoint:
    time: datetime
    value: float | None
    status: str | None
    session_id: int
    reference: float | None = None
    limits: Limits | None = None
    relative_percent: float | None = None  # 100·(value − reference)/|reference|
    reviewed: bool = False


@dataclass(frozen=True)
class TrendData:
    """Everything a trend chart needs for one (equipment, protocol, measurement).

    ``points`` are in time order with the reference and limits stored with each result (the
    bands in force at the time). ``control`` holds Shewhart individuals-chart limits from the
    baseline period (``spc_period`` = first and last time used) and ``violations`` the Western
    Electric rules broken (indices into ``points``). ``service_events`` are the equipment's
    service events in the same time window (oldest first), for markers on the chart.
    """

    equipment_id: int
    protocol: str
    measurement: str
    unit: str
    points: tuple[TrendPoint, ...]
    baselines: tuple[BaselineRecord, ...]
    tolerance_history: tuple[ToleranceRecord, ...]
    tolerance_now: ToleranceRecord | None
    control: ControlLimits | None
    spc_period: tuple[datetime, datetime] | None
    violations: tuple[RuleViolation, ...]
    service_events: tuple[ServiceEventRecord, ...] = ()

    def times(self) -> np.ndarray:
        """Point times as numpy datetime64[us] (UTC)."""
        return np.array([p.time.replace(tzinfo=None) for p in self.points],
                        dtype="datetime64[us]")

    def values(self) -> np.ndarray:
        return np.array([np.nan if p.value is None else p.value for p in self.points],
                        dtype=float)

    def band(self, level: str) -> np.ndarray:
        """Per-point limit ``level`` (act_low, tol_low, tol_high, act_high), NaN if none."""
        return np.array([np.nan if p.limits is None or getattr(p.limits, level) is None
                         else getattr(p.limits, level) for p in self.points], dtype=float)


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """One version of a routing rule (`imgqa.store.rules`; matched by
    `imgqa.service.routing.match_rule`). Empty text conditions and None sizes match any
    series; ``description`` is a regular expression searched in SeriesDescription and in
    ProtocolName."""

    rule_id: int
    version: int
    active: bool
    protocol: str
    params: dict[str, Any]
    equipment_id: int | None
    create_equipment: bool
    modality: str = ""
    station_name: str = ""
    serial: str = ""
    manufacturer: str = ""
    model: str = ""
    description: str = ""
    rows: int | None = None
    columns: int | None = None
    reason: str = ""
    created_by: str = ""
    created_at: datetime | None = None

    def conditions(self) -> dict[str, Any]:
        """The conditions that are set (field → value)."""
        out: dict[str, Any] = {}
        for k in ("modality", "station_name", "serial", "manufacturer", "model",
                  "description", "rows", "columns"):
            v = getattr(self, k)
            if v not in (None, ""):
                out[k] = v
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "version": self.version, "active": self.active,
                "protocol": self.protocol, "params": dict(self.params),
                "equipment_id": self.equipment_id, "create_equipment": self.create_equipment,
                "conditions": self.conditions(), "reason": self.reason,
                "created_by": self.created_by,
                "created_at": self.created_at.isoformat() if self.created_at else None}
