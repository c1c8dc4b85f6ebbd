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

import importlib
from typing import TYPE_CHECKING, Any

from imgqa.errors import StoreError, StorePermissionError, ToleranceError

if TYPE_CHECKING:
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

# Where each public name lives, imported on first use (PEP 562, as `imgqa.io`): importing a
# light submodule such as `imgqa.store.defaults` (the packaged tolerances `imgqa analyse`
# judges with when there is no database) then does not load SQLAlchemy (issue 17).
_SOURCES = {"DuplicateSessionError": "duplicates", "EarlierSession": "duplicates",
            "SERVICE_KINDS": "models", "Store": "repository", "open_store": "repository",
            "ROLES": "roles",
            **{name: "records" for name in (
                "AssignmentRecord", "AuditEntry", "BaselineRecord", "CommentRecord",
                "EquipmentRecord", "ResultRow", "ReviewRecord", "ServiceEventRecord",
                "SessionRecord", "ToleranceRecord", "TrendData", "TrendPoint")}}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])


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
