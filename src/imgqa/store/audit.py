"""The append-only, tamper-evident audit log.

Each entry stores ``hash = SHA-256(prev_hash | at | actor | action | entity | entity_id |
details)`` where ``prev_hash`` is the previous entry's hash (64 zeros for the first), so
changing, removing or re-ordering any entry breaks every later link. Entries that record a
stored object (session, baseline, tolerance, review, comment) carry a ``digest`` of that
object's content, so `verify` also detects results edited behind imgqa's back.

Writers append under the database write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory
lock taken by the caller), so the chain stays linear with several workstations.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.store.models import AuditLog

__all__ = ["GENESIS", "append", "canonical_json", "content_digest", "entry_hash", "verify_chain"]

GENESIS = "0" * 64


def _plain(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None  # exact, portable float text
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON (sorted keys, no spaces, floats as repr) for hashing."""
    return json.dumps(_plain(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_digest(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of a list of row dicts in canonical form."""
    return hashlib.sha256(canonical_json(list(rows)).encode()).hexdigest()


def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, entity: str,
               entity_id: int | None, details: str) -> str:
    payload = "\x1f".join([prev_hash, at.isoformat(), actor, action, entity,
                           "" if entity_id is None else str(entity_id), details])
    return hashlib.sha256(payload.encode()).hexdigest()


def append(session: Session, *, at: datetime, actor: str, action: str, entity: str,
           entity_id: int | None, details: Mapping[str, Any]) -> AuditLog:
    """Add one entry after the newest; call inside the writer's transaction."""
    prev = session.execute(
        select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)).scalar_one_or_none()
    prev = prev or GENESIS
    text = canonical_json(details)
    entry = AuditLog(at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
                     details=text, prev_hash=prev,
                     hash=entry_hash(prev, at, actor, action, entity, entity_id, text))
    session.add(entry)
    session.flush()
    return entry


def verify_chain(session: Session, batch: int = 5000) -> tuple[list[str], list[AuditLog]]:
    """Check every link; returns (problems, entries) with entries in chain order."""
    problems: list[str] = []
    entries: list[AuditLog] = []
    prev = GENESIS
    last_id = 0
    while True:
        rows = session.execute(select(AuditLog).where(AuditLog.id > last_id)
                               .order_by(AuditLog.id).limit(batch)).scalars().all()
        if not rows:
            break
        for e in rows:
            if e.prev_hash != prev:
                problems.append(f"audit entry {e.id} ({e.action} {e.entity} {e.entity_id}) does "
                                f"not follow the previous entry: an entry was removed, inserted "
                                f"or changed before it")
            expect = entry_hash(e.prev_hash, e.at, e.actor, e.action, e.entity, e.entity_id,
                                e.details)
            if expect != e.hash:
                problems.append(f"audit entry {e.id} ({e.action} {e.entity} {e.entity_id}) was "
                                f"altered: its content no longer matches its hash")
            prev = e.hash
            entries.append(e)
        last_id = rows[-1].id
    return problems, entries
