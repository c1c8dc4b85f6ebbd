"""The results database: equipment, QC sessions, results, baselines, tolerances, reviews and
a tamper-evident audit log. SQLite file by default, any SQLAlchemy URL (PostgreSQL tested).

Typical use::

    from imgqa.store import open_store
    store = open_store()                                   # $IMGQA_DB or the user data dir
    eq = store.match_equipment(series) or store.create_equipment_from_series(series)
    session = store.save_session(eq.id, results, comment="daily QC")
    store.add_service_event(eq.id, date(2026, 3, 2), "part replacement", "X-ray tube replaced",
                            performed_by="A. Engineer, Acme Service")
    trend = store.trend(eq.id, "ct.water", "mean_hu_centre")   # .service_events marked

See docs/store.md for the schema, the evaluation rules, roles and the PostgreSQL setup.
"""

from __future__ import annotations

from imgqa.errors import StoreError, StorePermissionError, ToleranceError
from imgqa.store.duplicates import DuplicateSessionError, EarlierSession
from imgqa.store.models import SERVICE_KINDS
from imgqa.store.records import (
    AssignmentRecord,
    AuditEntry,
    BaselineRecord,
    CommentRecord,
    EquipmentRecord,
    ResultRow,
    ReviewRecord,
    ServiceEventRecord,
    SessionRecord,
    ToleranceRecord,
    TrendData,
    TrendPoint,
)
from imgqa.store.repository import Store, open_store
from imgqa.store.roles import ROLES

__all__ = [
    "ROLES",
    "SERVICE_KINDS",
    "AssignmentRecord",
    "AuditEntry",
    "BaselineRecord",
    "CommentRecord",
    "DuplicateSessionError",
    "EarlierSession",
    "EquipmentRecord",
    "ResultRow",
    "ReviewRecord",
    "ServiceEventRecord",
    "SessionRecord",
    "Store",
    "StoreError",
    "StorePermissionError",
    "ToleranceError",
    "ToleranceRecord",
    "TrendData",
    "TrendPoint",
    "open_store",
]
