"""The full check behind ``imgqa db verify`` (the content digests are `imgqa.store.audit`'s).

The check is complete in both directions:

* every stored session, baseline, tolerance, review, comment, service event, equipment and
  schedule entry has an audit entry, and its content still matches the digest logged for it;
* every object the audit log records (its newest entry per object) is still in the database,
  so a row deleted behind imgqa's back (the no-delete triggers dropped) is reported even
  though its entry was kept;

plus the chain itself (`imgqa.store.audit.verify_chain`) and the anchors recorded outside the
database (`imgqa.store.anchor`), which catch the newest entries being cut off the end.

A session saved with archived image files (revision 0006) also has ``files_digest`` in its
entry: the ``session_file`` rows must still give it, and a session whose entry has none must
have no such rows (the files themselves are checked by ``imgqa db verify --archive``).

Digest versions: entries with ``"digest_v": 2`` (this version) also cover a session's analyses
(protocol, version, label, parameters, series summary, warnings, imgqa version, time) and its
input identities (SOPInstanceUID + pixel SHA-256), a baseline's unit, a tolerance's previous
version and a comment's content. Entries without it were written by earlier versions and are
checked with the digest rule of their time (version 1), so old databases verify honestly.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.store import anchor as anchors_mod
from imgqa.store import audit
from imgqa.store import models as m
from imgqa.store.audit import (  # the digests live with the audit log since issue 9
    DIGEST_COLS,
    DIGEST_COLS_V2,
    analysis_item,
    as_utc,
    baseline_digest,
    comment_digest,
    files_digest,
    review_digest,
    service_event_digest,
    session_digest,
    tolerance_digest,
)

__all__ = ["AuditReport", "DIGEST_COLS", "analysis_item", "baseline_digest", "comment_digest",
           "review_digest", "service_event_digest", "session_digest", "tolerance_digest",
           "verify_store"]

# ------------------------------------------------------------------------------------------
# The check
# ------------------------------------------------------------------------------------------
@dataclass
class AuditReport:
    """Result of `verify_store`: ``ok`` is True when ``problems`` is empty."""

    problems: list[str]
    notes: list[str] = field(default_factory=list)
    entries: int = 0
    head_id: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def anchor(self) -> str | None:
        """The head as an anchor text (``ID:HASH16``); None for an empty log."""
        if self.head_id is None or self.head_hash is None:
            return None
        return anchors_mod.format_anchor(self.head_id, self.head_hash)


# (audit entity name, table) of every audited object, in report order.
_AUDITED = (("session", m.QcSessionRow), ("baseline", m.BaselineRow),
            ("tolerance", m.ToleranceRow), ("review", m.ReviewRow), ("comment", m.CommentRow),
            ("service_event", m.ServiceEventRow), ("equipment", m.EquipmentRow),
            ("protocol_assignment", m.ProtocolAssignmentRow))


def _details(e: m.AuditLogRow) -> dict[str, Any]:
    try:
        d = json.loads(e.details)
    except ValueError:
        return {}
    return d if isinstance(d, dict) else {}


def _describe(e: m.AuditLogRow) -> str:
    return f"{e.action} by {e.actor} at {as_utc(e.at):%Y-%m-%d %H:%M} UTC, audit entry {e.id}"


def verify_store(s: Session, key: audit.AuditKey | None = None,
                 anchors: Sequence[anchors_mod.Anchor] = ()) -> AuditReport:
    """Check the chain, every audited object against its entry (both ways) and the anchors."""
    chk = audit.verify_chain(s, key)
    problems = list(chk.problems)
    latest: dict[tuple[str, int], m.AuditLogRow] = {}
    for e in chk.entries:
        if e.entity_id is not None:
            latest[(e.entity, e.entity_id)] = e
    present: dict[str, set[int]] = {}
    for entity, table in _AUDITED:
        present[entity] = set()
        for obj in _rows(s, entity, table):
            present[entity].add(obj.id)
            entry = latest.get((entity, obj.id))
            if entry is None:
                problems.append(f"{entity} {obj.id} has no audit entry (added outside imgqa?)")
                continue
            if not _matches(s, entity, obj, _details(entry)):
                problems.append(f"{entity} {obj.id} was changed after it was saved (its content "
                                f"no longer matches the audit log)")
    for (entity, id_), e in latest.items():
        if entity in present and id_ not in present[entity]:
            problems.append(f"{entity} {id_} was deleted: the audit log records it ("
                            f"{_describe(e)}) but the database no longer has it")
    chain = {e.id: e.hash for e in chk.entries}
    head = chk.head
    problems += anchors_mod.check_anchors(chain, head[0] if head else None, anchors)
    return AuditReport(problems, list(chk.notes), len(chk.entries),
                       head[0] if head else None, head[1] if head else None)


# Sessions are checked with their results, analyses and inputs loaded in bulk (three queries
# for the whole database instead of three per session).
class _SessionParts:
    def __init__(self, s: Session) -> None:
        self.rows: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for r in s.execute(select(m.QcResultRow.session_id,
                                  *[getattr(m.QcResultRow, c) for c in DIGEST_COLS_V2])):
            d = dict(r._mapping)
            self.rows[d.pop("session_id")].append(d)
        inputs: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for aid, uid, sha in s.execute(select(m.InputImageRow.analysis_id,
                                              m.InputImageRow.sop_instance_uid,
                                              m.InputImageRow.pixel_sha256)):
            inputs[aid].append((uid, sha))
        self.analyses: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for a in s.execute(select(m.AnalysisRow)).scalars():
            self.analyses[a.session_id].append(analysis_item(a, inputs.get(a.id, ())))
        self.files: dict[int, list[m.SessionFileRow]] = defaultdict(list)
        for f in s.execute(select(m.SessionFileRow).order_by(m.SessionFileRow.id)).scalars():
            self.files[f.session_id].append(f)


def _rows(s: Session, entity: str, table: type[Any]) -> Any:
    if entity == "session":
        s.info["imgqa_session_parts"] = _SessionParts(s)
    return s.execute(select(table).order_by(table.id)).scalars()


def _matches(s: Session, entity: str, obj: Any, details: Mapping[str, Any]) -> bool:
    """Whether ``obj`` still matches its newest audit entry's details."""
    v = int(details.get("digest_v", 1) or 1)
    want = details.get("digest")
    if entity == "session":
        parts: _SessionParts = s.info["imgqa_session_parts"]
        # archived files (0006): the list logged at save, or none when nothing was logged
        files = parts.files.get(obj.id, [])
        if details.get("files_digest") != (files_digest(files) if files else None):
            return False
        return want == session_digest(parts.rows.get(obj.id, []), obj, v,
                                      parts.analyses.get(obj.id, []))
    if entity == "baseline":
        return want == baseline_digest(obj, v)
    if entity == "tolerance":
        return want == tolerance_digest(obj, v)
    if entity == "review":
        return want == review_digest(obj, v)
    if entity == "service_event":
        return want == service_event_digest(obj, v)
    if entity == "comment":
        if v >= 2:
            return want == comment_digest(obj)
        # version 1 logged the comment itself
        return (details.get("session_id"), details.get("result_id"), details.get("text")) == \
            (obj.session_id, obj.result_id, obj.text)
    return True  # equipment and schedule: mutable settings, checked for presence only
