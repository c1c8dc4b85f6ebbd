"""The append-only, tamper-evident audit log.

Each entry stores ``hash = SHA-256(prev_hash | at | actor | action | entity | entity_id |
details)`` where ``prev_hash`` is the previous entry's hash (64 zeros for the first), so
changing, removing or re-ordering any entry breaks every later link. Entries that record a
stored object (session, baseline, tolerance, review, comment, service event) carry a
``digest`` of that object's content, so `verify` also detects results edited behind imgqa's
back; ``"digest_v": 2`` in the details marks the wider digests of this version (a session's
analyses and input image identities included), older entries are checked with the old rule.

Without a secret anyone who can write the table can append a well-formed entry. A department
that does not trust the database owner sets a **department key** outside the database
(``$IMGQA_AUDIT_KEY_FILE`` or ``$IMGQA_AUDIT_KEY``, `load_key`): entries are then
``HMAC-SHA256(key, same payload)`` and say so (``"key": <key id>`` in the details, the id being
a one-way fingerprint of the key). Once one entry is keyed every later one must be: a writer
without the key is refused, and `verify_chain` reports unkeyed entries after keyed ones.

Writers append under the database write lock (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory
lock taken by the caller), so the chain stays linear with several workstations. On PostgreSQL
the append goes through the ``imgqa_audit_append`` SECURITY DEFINER function (revision 0003):
logins have no INSERT right on ``audit_log`` itself.

The content digests of the audited objects (`session_digest`, `baseline_digest`, …) are
defined here too, next to the chain that carries them; `imgqa.store.integrity` checks them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.store.models import AuditLogRow

__all__ = [
    "DIGEST_V",
    "GENESIS",
    "DIGEST_COLS",
    "DIGEST_COLS_V2",
    "AuditKey",
    "ChainCheck",
    "analysis_item",
    "append",
    "as_utc",
    "baseline_digest",
    "canonical_json",
    "comment_digest",
    "content_digest",
    "entry_hash",
    "load_key",
    "review_digest",
    "service_event_digest",
    "session_digest",
    "tolerance_digest",
    "verify_chain",
]

GENESIS = "0" * 64
# Version of the content digests written now (1: entries without "digest_v").
DIGEST_V = 2
KEY_ENV = "IMGQA_AUDIT_KEY"
KEY_FILE_ENV = "IMGQA_AUDIT_KEY_FILE"
_MIN_KEY_BYTES = 16
# Session.info slot where `append` leaves (id, hash) of the newest entry for the anchor file.
HEAD_INFO = "imgqa_audit_head"


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


def content_digest(rows: Iterable[Any]) -> str:
    """SHA-256 of a list of row dicts (or, in version-1 session digests, their canonical
    JSON strings) in canonical form."""
    return hashlib.sha256(canonical_json(list(rows)).encode()).hexdigest()


# ------------------------------------------------------------------------------------------
# Department key
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditKey:
    """A department secret for the keyed (HMAC-SHA256) chain; ``key_id`` is public."""

    secret: bytes = field(repr=False)
    key_id: str = ""

    @classmethod
    def from_secret(cls, secret: bytes) -> AuditKey:
        if len(secret) < _MIN_KEY_BYTES:
            raise StoreError(f"The audit key is too short ({len(secret)} bytes).",
                             hint=f"Use at least {_MIN_KEY_BYTES} random bytes, e.g. the "
                                  f"output of `openssl rand -hex 32` in the key file.")
        # The id only tells keys apart; it is a one-way function of the secret.
        kid = hashlib.sha256(b"imgqa-audit-key-id\0" + secret).hexdigest()[:12]
        return cls(secret, kid)


def load_key(environ: Mapping[str, str] | None = None) -> AuditKey | None:
    """The department key from ``$IMGQA_AUDIT_KEY_FILE`` (a file) or ``$IMGQA_AUDIT_KEY``.

    Surrounding white space is ignored. None when neither is set.

    Raises
    ------
    StoreError
        The key file is missing or unreadable, or the key is shorter than 16 bytes.
    """
    env = os.environ if environ is None else environ
    path = env.get(KEY_FILE_ENV, "").strip()
    if path:
        try:
            secret = Path(path).expanduser().read_bytes().strip()
        except OSError as exc:
            raise StoreError(f"Cannot read the audit key file {path}: {exc.strerror}.",
                             hint=f"Check {KEY_FILE_ENV} and the file's permissions.") from exc
        return AuditKey.from_secret(secret)
    raw = env.get(KEY_ENV, "").strip()
    return AuditKey.from_secret(raw.encode()) if raw else None


# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------
def entry_hash(prev_hash: str, at: datetime, actor: str, action: str, entity: str,
               entity_id: int | None, details: str, key: bytes | None = None) -> str:
    """SHA-256 of the entry (HMAC-SHA256 with the department key when ``key`` is given)."""
    payload = "\x1f".join([prev_hash, at.isoformat(), actor, action, entity,
                           "" if entity_id is None else str(entity_id), details]).encode()
    if key is not None:
        return hmac.new(key, payload, hashlib.sha256).hexdigest()
    return hashlib.sha256(payload).hexdigest()


def _key_id(details: str | None) -> str | None:
    if not details:
        return None
    try:
        d = json.loads(details)
    except ValueError:
        return None
    kid = d.get("key") if isinstance(d, dict) else None
    return str(kid) if kid else None


def append(session: Session, *, at: datetime, actor: str, action: str, entity: str,
           entity_id: int | None, details: Mapping[str, Any], key: AuditKey | None = None
           ) -> tuple[int, str]:
    """Add one entry after the newest; call inside the writer's transaction.

    Returns the new entry's (id, hash).

    Raises
    ------
    StoreError
        The log is keyed and this computer has no key, or another key.
    """
    last = session.execute(select(AuditLogRow.hash, AuditLogRow.details)
                           .order_by(AuditLogRow.id.desc()).limit(1)).first()
    prev = last[0] if last else GENESIS
    chain_kid = _key_id(last[1]) if last else None
    if chain_kid and (key is None or key.key_id != chain_kid):
        # An unkeyed entry here would later look exactly like a forgery.
        raise StoreError(
            f"This database's audit log is signed with a department key (id {chain_kid}) "
            + ("but this computer has none" if key is None else
               f"but this computer has another key (id {key.key_id})") + ": nothing was saved.",
            hint=f"Set {KEY_FILE_ENV} to the department's audit key file (ask the physicist "
                 f"in charge).")
    body = dict(details)
    if key is not None:
        body["key"] = key.key_id
    body_text = canonical_json(body)
    digest = entry_hash(prev, at, actor, action, entity, entity_id, body_text,
                        key.secret if key is not None else None)
    if session.get_bind().dialect.name == "postgresql" and _has_append_function(session):
        new_id = session.execute(
            text("SELECT imgqa_audit_append(CAST(:at AS timestamptz), CAST(:actor AS text), "
                 "CAST(:action AS text), CAST(:entity AS text), CAST(:eid AS integer), "
                 "CAST(:details AS text), CAST(:prev AS text), CAST(:hash AS text))"),
            {"at": at, "actor": actor, "action": action, "entity": entity, "eid": entity_id,
             "details": body_text, "prev": prev, "hash": digest}).scalar_one()
    else:
        entry = AuditLogRow(at=at, actor=actor, action=action, entity=entity, entity_id=entity_id,
                         details=body_text, prev_hash=prev, hash=digest)
        session.add(entry)
        session.flush()
        new_id = entry.id
    session.info[HEAD_INFO] = (int(new_id), digest)
    return int(new_id), digest


def _has_append_function(session: Session) -> bool:
    """Whether revision 0003's append function exists (older schemas insert directly)."""
    return bool(session.execute(
        text("SELECT to_regproc('imgqa_audit_append') IS NOT NULL")).scalar_one())


# ------------------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------------------
@dataclass
class ChainCheck:
    """What `verify_chain` found: problems, notes and the entries in chain order."""

    problems: list[str]
    notes: list[str]
    entries: list[AuditLogRow]

    @property
    def head(self) -> tuple[int, str] | None:
        """(id, hash) of the newest entry; None for an empty log."""
        return (self.entries[-1].id, self.entries[-1].hash) if self.entries else None


def _label(e: AuditLogRow) -> str:
    return f"audit entry {e.id} ({e.action} {e.entity} {e.entity_id})"


def verify_chain(session: Session, key: AuditKey | None = None, batch: int = 5000
                 ) -> ChainCheck:
    """Check every link (and every keyed hash when ``key`` is given)."""
    problems: list[str] = []
    entries: list[AuditLogRow] = []
    prev = GENESIS
    last_id = 0
    first_keyed: int | None = None
    unchecked = 0
    while True:
        rows = session.execute(select(AuditLogRow).where(AuditLogRow.id > last_id)
                               .order_by(AuditLogRow.id).limit(batch)).scalars().all()
        if not rows:
            break
        for e in rows:
            if e.prev_hash != prev:
                problems.append(f"{_label(e)} does not follow the previous entry: an entry "
                                f"was removed, inserted or changed before it")
            kid = _key_id(e.details)
            secret: bytes | None = None
            if kid is not None:
                first_keyed = e.id if first_keyed is None else first_keyed
                if key is None:
                    unchecked += 1
                elif kid != key.key_id:
                    problems.append(f"{_label(e)} claims another department key (id {kid}, "
                                    f"this computer's is {key.key_id}): it cannot be checked "
                                    f"and may be forged")
                else:
                    secret = key.secret
            elif first_keyed is not None:
                problems.append(f"{_label(e)} is not signed although the log is signed with "
                                f"the department key since entry {first_keyed}: it was forged "
                                f"or written around imgqa")
            if kid is None or secret is not None:
                expect = entry_hash(e.prev_hash, e.at, e.actor, e.action, e.entity,
                                    e.entity_id, e.details, secret)
                if not hmac.compare_digest(expect, e.hash):
                    problems.append(f"{_label(e)} was altered: its content no longer matches "
                                    f"its hash" + (" (department key)" if secret else ""))
            prev = e.hash
            entries.append(e)
        last_id = rows[-1].id
    notes: list[str] = []
    if unchecked:
        notes.append(f"{unchecked} keyed entries not checked (no key): set {KEY_FILE_ENV} to "
                     f"the department's audit key to check them")
    elif key is not None and first_keyed is not None:
        notes.append(f"signed with the department key (id {key.key_id}) since entry "
                     f"{first_keyed}")
    elif key is not None and entries:
        notes.append(f"a department key is set (id {key.key_id}) but no entry is signed yet")
    return ChainCheck(problems, notes, entries)


# ------------------------------------------------------------------------------------------
# Content digests of the audited objects (what an entry's ``digest`` covers)
# ------------------------------------------------------------------------------------------
# Result columns in a session digest (version 1); version 2 adds the tolerance's source.
DIGEST_COLS = ("protocol", "measurement", "value", "unit", "status", "reference", "tol_kind",
               "act_low", "tol_low", "tol_high", "act_high", "performed_at")
DIGEST_COLS_V2 = (*DIGEST_COLS, "tolerance_source")


def as_utc(t: datetime | None) -> datetime | None:
    """The same instant in UTC, so a digest does not depend on the zone it was given in."""
    if t is None:
        return None
    return (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).astimezone(UTC)


def analysis_item(a: Any, inputs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """What a version-2 session digest covers of one analysis and its input images."""
    return {"protocol": a.protocol, "version": a.protocol_version, "label": a.label,
            "parameters": a.parameters or {}, "series": a.series or {},
            "warnings": list(a.warnings or ()), "imgqa_version": a.imgqa_version,
            "at": as_utc(a.analysed_at), "inputs": sorted([u, h] for u, h in inputs)}


def session_digest(rows: Sequence[Mapping[str, Any]], sess: Any, version: int = DIGEST_V,
                   analyses: Sequence[Mapping[str, Any]] = ()) -> str:
    """Digest of a session: its header and result rows; from version 2 also its analyses
    (`analysis_item`) and who saved it."""
    cols = DIGEST_COLS if version < 2 else DIGEST_COLS_V2
    items = sorted(canonical_json({c: r.get(c) for c in cols}) for r in rows)
    head: dict[str, Any] = {"uid": sess.uid, "equipment_id": sess.equipment_id,
                            "performed_by": sess.performed_by,
                            "performed_at": sess.performed_at, "comment": sess.comment}
    if version < 2:
        return content_digest([head, *items])
    head["saved_by"] = sess.saved_by
    head["performed_at"] = as_utc(sess.performed_at)
    parts = sorted(canonical_json(a) for a in analyses)
    return content_digest([head, {"results": items, "analyses": parts}])


def files_digest(files: Sequence[Any]) -> str:
    """SHA-256 of a session's archived-file list (``path TAB sha256 TAB size`` lines, in
    order): the ``files_digest`` of its ``save_session`` entry (revision 0006)."""
    text_ = "\n".join(f"{f.path}\t{f.sha256}\t{int(f.size)}" for f in files)
    return hashlib.sha256(text_.encode()).hexdigest()


def baseline_digest(b: Any, version: int = DIGEST_V) -> str:
    d: dict[str, Any] = {"e": b.equipment_id, "p": b.protocol, "m": b.measurement, "v": b.value,
                         "old": b.old_value, "why": b.reason, "by": b.set_by, "at": b.set_at}
    if version >= 2:
        d.update(u=b.unit, at=as_utc(b.set_at))
    return content_digest([d])


def tolerance_digest(t: Any, version: int = DIGEST_V) -> str:
    d: dict[str, Any] = {"e": t.equipment_id, "p": t.protocol, "m": t.measurement, "k": t.kind,
                         "l": [t.act_low, t.tol_low, t.tol_high, t.act_high],
                         "why": t.reason, "by": t.set_by, "at": t.set_at}
    if version >= 2:
        d.update(old=t.old, at=as_utc(t.set_at))
    return content_digest([d])


def review_digest(r: Any, version: int = DIGEST_V) -> str:
    d = {"s": r.session_id, "by": r.reviewer, "d": r.decision, "c": r.comment,
         "at": r.reviewed_at if version < 2 else as_utc(r.reviewed_at)}
    return content_digest([d])


def service_event_digest(e: Any, version: int = DIGEST_V) -> str:
    d = {"e": e.equipment_id, "at": e.occurred_at, "k": e.kind, "d": e.description,
         "by": e.performed_by, "rec": e.recorded_by, "c": e.created_at}
    if version >= 2:
        d.update(at=as_utc(e.occurred_at), c=as_utc(e.created_at))
    return content_digest([d])


def comment_digest(c: Any) -> str:
    """Version 2 only: version-1 comment entries carried the text itself (checked as such)."""
    return content_digest([{"s": c.session_id, "r": c.result_id, "by": c.author,
                                  "t": c.text, "at": as_utc(c.created_at)}])
