"""SQLAlchemy 2 tables of the results database.

The schema is created and changed only by the Alembic migrations in ``migrations/``; these
classes are the application's view of it (and the migrations' autogenerate target).

History is never rewritten: results, analyses, input identities, baselines, tolerances, reviews,
comments and audit entries are insert-only (database triggers refuse UPDATE and DELETE; on
PostgreSQL the role grants refuse them as well). A new baseline or tolerance is a new row; the
one in force is the newest row for (equipment, protocol, measurement).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "DECISIONS",
    "FREQUENCIES",
    "SCHEDULE_FREQUENCIES",
    "IMMUTABLE_TABLES",
    "ROLES",
    "SERVICE_KINDS",
    "AnalysisRow",
    "AppUserRow",
    "AuditLogRow",
    "Base",
    "BaselineRow",
    "CommentRow",
    "EquipmentRow",
    "InputImageRow",
    "ProtocolAssignmentRow",
    "RoutingRuleRow",
    "QcResultRow",
    "QcSessionRow",
    "ReviewRow",
    "ServiceEventRow",
    "SessionFileRow",
    "SiteRow",
    "ToleranceRow",
    "UTCDateTime",
]

FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "annual")
# ``frequency = 'days'`` means every ``interval_days`` days (`imgqa schedule set --every 10d`).
SCHEDULE_FREQUENCIES = (*FREQUENCIES, "days")
DECISIONS = ("approved", "rejected")
ROLES = ("technologist", "physicist", "admin")
# Tables whose rows may never be updated or deleted (enforced by triggers, see migrations).
IMMUTABLE_TABLES = ("qc_session", "analysis", "input_image", "result", "baseline", "tolerance",
                    "review", "comment", "audit_log", "service_event", "routing_rule",
                    "session_file")
# Suggested kinds of service event (the kind is free text; these are offered in the GUI/CLI).
SERVICE_KINDS = ("service", "repair", "calibration", "software", "part replacement",
                 "acceptance")


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive UTC text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)


class SiteRow(Base):
    __tablename__ = "site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(Text, default="")


class EquipmentRow(Base):
    """A scanner, camera or detector under QC. ``match_rules`` maps header fields (manufacturer,
    model, serial, station_name, institution, modality) to the values that identify it."""

    __tablename__ = "equipment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    modality: Mapped[str] = mapped_column(String(16), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str] = mapped_column(String(200), default="")
    station_name: Mapped[str] = mapped_column(String(200), default="")
    institution: Mapped[str] = mapped_column(String(200), default="")
    location: Mapped[str] = mapped_column(String(200), default="")
    field_strength_t: Mapped[float | None] = mapped_column(Float, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    match_rules: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(200), default="")


class ProtocolAssignmentRow(Base):
    """A QC test due on a piece of equipment at a frequency (or every ``interval_days``
    days when the frequency is ``'days'``), overdue once ``grace_days`` past its due date."""

    __tablename__ = "protocol_assignment"
    __table_args__ = (
        UniqueConstraint("equipment_id", "protocol"),
        CheckConstraint("frequency IN ('daily','weekly','monthly','quarterly','annual','days')",
                        name="frequency"),
        CheckConstraint("(frequency = 'days' AND interval_days IS NOT NULL AND "
                        "interval_days >= 1) OR (frequency <> 'days' AND interval_days IS NULL)",
                        name="interval_days"),
        CheckConstraint("grace_days >= 0", name="grace_days"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    protocol: Mapped[str] = mapped_column(String(100))
    frequency: Mapped[str] = mapped_column(String(16))
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    grace_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class RoutingRuleRow(Base):
    """One version of a routing rule (insert-only; the newest version of a ``rule_id`` is in
    force, ``active`` false = disabled). Empty conditions match any series."""

    __tablename__ = "routing_rule"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        CheckConstraint("version >= 1", name="version"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    protocol: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"), nullable=True)
    create_equipment: Mapped[bool] = mapped_column(Boolean, default=False)
    modality: Mapped[str] = mapped_column(String(16), default="")
    station_name: Mapped[str] = mapped_column(String(200), default="")
    serial: Mapped[str] = mapped_column(String(200), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    rows: Mapped[int | None] = mapped_column(Integer, nullable=True)
    columns: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QcSessionRow(Base):
    """One QC session: the analyses saved together for one piece of equipment.

    ``uid`` is generated by the client, so a retried save can never store a session twice.
    ``saved_by`` is the login that stored it; ``performed_by`` who did the test.
    """

    __tablename__ = "qc_session"
    __table_args__ = (Index("ix_qc_session_equipment_time", "equipment_id", "performed_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    performed_by: Mapped[str] = mapped_column(String(200))
    saved_by: Mapped[str] = mapped_column(String(200))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AnalysisRow(Base):
    """One protocol run (one `imgqa.protocols.Result`) within a session."""

    __tablename__ = "analysis"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qc_session.id"), index=True)
    protocol: Mapped[str] = mapped_column(String(100))
    protocol_version: Mapped[str] = mapped_column(String(32))
    label: Mapped[str] = mapped_column(String(200), default="")
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    series: Mapped[dict] = mapped_column(JSON, default=dict)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    imgqa_version: Mapped[str] = mapped_column(String(32), default="")
    analysed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InputImageRow(Base):
    """Identity of one input image: SOPInstanceUID and SHA-256 of its pixel data."""

    __tablename__ = "input_image"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analysis.id"), index=True)
    sop_instance_uid: Mapped[str] = mapped_column(String(64))
    pixel_sha256: Mapped[str] = mapped_column(String(64))


class SessionFileRow(Base):
    """A source file of a session kept in the image archive (issue 12, revision 0006).

    ``path`` is relative to the archive root (``/``-separated), which is a per-workstation
    setting, so any workstation that mounts the share reopens the file
    (`imgqa.io.image_archive`). ``sha256`` and ``size`` are those of the whole file, so
    ``imgqa db verify`` can report a missing or altered file. Insert-only.
    """

    __tablename__ = "session_file"
    __table_args__ = (UniqueConstraint("session_id", "path"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qc_session.id"), index=True)
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sop_instance_uid: Mapped[str] = mapped_column(String(64), default="")


class QcResultRow(Base):
    """One measured value with the reference and tolerance in force when it was saved.

    Equipment, protocol and time are repeated from the session and analysis so a trend is one
    indexed range scan.
    """

    __tablename__ = "result"
    __table_args__ = (
        Index("ix_result_trend", "equipment_id", "protocol", "measurement", "performed_at"),
        CheckConstraint("status IS NULL OR status IN ('OK','TOLERANCE','ACTION','NO_TOL')",
                        name="status"),
        CheckConstraint("tol_kind IS NULL OR tol_kind IN ('absolute','percent')",
                        name="tol_kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qc_session.id"), index=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analysis.id"))
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    protocol: Mapped[str] = mapped_column(String(100))
    measurement: Mapped[str] = mapped_column(String(100))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    reference: Mapped[float | None] = mapped_column(Float, nullable=True)
    tol_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    act_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    tol_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    tol_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    act_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    baseline_id: Mapped[int | None] = mapped_column(ForeignKey("baseline.id"), nullable=True)
    tolerance_id: Mapped[int | None] = mapped_column(ForeignKey("tolerance.id"), nullable=True)
    # Where the tolerance came from: "equipment", "default:<file>" or "" (none).
    tolerance_source: Mapped[str] = mapped_column(String(100), default="")


class BaselineRow(Base):
    """A reference value; the newest row per (equipment, protocol, measurement) is in force."""

    __tablename__ = "baseline"
    __table_args__ = (Index("ix_baseline_key", "equipment_id", "protocol", "measurement"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    protocol: Mapped[str] = mapped_column(String(100))
    measurement: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    old_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ToleranceRow(Base):
    """A tolerance version; the newest row per (equipment, protocol, measurement) is in force.

    ``old`` keeps the previous version's levels (JSON) so the change record is self-contained.
    """

    __tablename__ = "tolerance"
    __table_args__ = (
        Index("ix_tolerance_key", "equipment_id", "protocol", "measurement"),
        CheckConstraint("kind IN ('absolute','percent')", name="kind"),
        CheckConstraint("act_low IS NULL OR tol_low IS NULL OR act_low <= tol_low",
                        name="act_low_le_tol_low"),
        CheckConstraint("tol_low IS NULL OR tol_high IS NULL OR tol_low <= tol_high",
                        name="tol_low_le_tol_high"),
        CheckConstraint("tol_high IS NULL OR act_high IS NULL OR tol_high <= act_high",
                        name="tol_high_le_act_high"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    protocol: Mapped[str] = mapped_column(String(100))
    measurement: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    act_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    tol_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    tol_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    act_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    old: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[str] = mapped_column(Text)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReviewRow(Base):
    __tablename__ = "review"
    __table_args__ = (CheckConstraint("decision IN ('approved','rejected')", name="decision"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qc_session.id"), index=True)
    reviewer: Mapped[str] = mapped_column(String(200))
    decision: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CommentRow(Base):
    """A note on a session or on one result of it."""

    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("qc_session.id"), index=True)
    result_id: Mapped[int | None] = mapped_column(ForeignKey("result.id"), nullable=True)
    author: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ServiceEventRow(Base):
    """Something done to the equipment that can shift its QC results: a service visit, repair,
    calibration, software upgrade, part replacement or acceptance test (insert-only).

    ``occurred_at`` is when it was done, ``performed_by`` who did it (often a vendor engineer,
    free text), ``recorded_by`` the login that recorded it. Trend charts mark these events and
    the control chart may restart its baseline period at one (`imgqa.trends`).
    """

    __tablename__ = "service_event"
    __table_args__ = (Index("ix_service_event_equipment_time", "equipment_id", "occurred_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    equipment_id: Mapped[int] = mapped_column(ForeignKey("equipment.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    performed_by: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditLogRow(Base):
    """Append-only, hash-chained record of every change (see `imgqa.store.audit`)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    details: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AppUserRow(Base):
    """Roles of OS users on a local SQLite database (PostgreSQL uses database roles instead)."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint("role IN ('technologist','physicist','admin')",
                                      name="role"),)
    username: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    added_by: Mapped[str] = mapped_column(String(200), default="")
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
