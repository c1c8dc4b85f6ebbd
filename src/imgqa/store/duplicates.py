"""Earlier sessions that already hold the same input images (issue 11, item 5).

Saving the same images twice would make two identical sessions that both count in trends, SPC
control limits and reports. An analysis is a *duplicate* when every one of its input images
(SOP Instance UID **and** SHA-256 of the pixel data, table ``input_image``) is among the inputs
of one earlier stored analysis of the same protocol and label on the same equipment. Both keys
are compared: a re-sent image with new pixel data (or a re-used UID) is not the same image.
Results without inputs (typed-in values) are never duplicates.

The query walks from the equipment's sessions to their analyses and inputs through existing
indexes (``ix_qc_session_equipment_time``, ``analysis.session_id``, ``input_image.analysis_id``),
so no schema change is needed; its cost grows with that equipment's stored inputs only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.protocols.base import Result
from imgqa.store import models as m

__all__ = ["DuplicateSessionError", "EarlierSession", "describe", "find_earlier",
           "find_partial"]

_CHUNK = 900  # bound parameters per IN (), below SQLite's limit


@dataclass(frozen=True, slots=True)
class EarlierSession:
    """A stored session holding the same images for the same protocol."""

    session_id: int
    performed_at: datetime
    performed_by: str
    saved_by: str
    protocol: str
    label: str = ""

    def text(self) -> str:
        """``"session 12 (2026-03-02 08:00 UTC, performed by Tech A, saved by jdoe)"``."""
        who = self.performed_by
        if self.saved_by and self.saved_by != who:
            who += f", saved by {self.saved_by}"
        return (f"session {self.session_id} ({self.performed_at:%Y-%m-%d %H:%M} UTC, "
                f"performed by {who})")


class DuplicateSessionError(StoreError):
    """The images were already saved for this protocol and equipment; ``earlier`` names where."""

    default_hint = ("Saving them again would count the same images twice in trends, control "
                    "limits and reports. To save anyway (e.g. a re-analysis after a protocol "
                    "correction), give a reason: it is stored with the session and audited.")

    def __init__(self, message: str, earlier: Sequence[EarlierSession], *,
                 hint: str = "") -> None:
        super().__init__(message, hint=hint)
        self.earlier = tuple(earlier)


def find_earlier(s: Session, equipment_id: int, results: Sequence[Result]
                 ) -> list[EarlierSession]:
    """Earlier sessions of ``equipment_id`` that already hold the inputs of one of ``results``.

    Parameters
    ----------
    s : sqlalchemy.orm.Session
        An open session (the save's own write transaction, so the check cannot race a save).
    equipment_id : int
    results : sequence of Result
        The analyses about to be saved; each is checked on its own (several results of one
        save may share inputs: that is several analyses of one image, not a duplicate).

    Returns
    -------
    list of EarlierSession
        One per (earlier session, protocol, label), oldest first; empty when nothing repeats.
    """
    found: dict[tuple[int, str, str], EarlierSession] = {}
    for r in results:
        wanted = {(i.sop_instance_uid, i.pixel_sha256) for i in r.inputs}
        if not wanted:
            continue
        held, meta = _holding(s, equipment_id, r.protocol, r.label or "", wanted)
        for aid, pairs in held.items():
            if wanted <= pairs:
                found.setdefault((meta[aid].session_id, r.protocol, r.label or ""), meta[aid])
    return sorted(found.values(), key=lambda e: (e.performed_at, e.session_id))


def _holding(s: Session, equipment_id: int, protocol: str, label: str,
             wanted: set[tuple[str, str]], not_session: int | None = None
             ) -> tuple[dict[int, set[tuple[str, str]]], dict[int, EarlierSession]]:
    """Stored analyses of ``protocol``/``label`` on the equipment holding any of ``wanted``
    (SOP Instance UID, pixel SHA-256): analysis id → the wanted pairs it holds, and → its
    session."""
    held: dict[int, set[tuple[str, str]]] = {}
    meta: dict[int, EarlierSession] = {}
    uids = sorted({u for u, _ in wanted})
    for k in range(0, len(uids), _CHUNK):
        q = (select(m.InputImageRow.analysis_id, m.InputImageRow.sop_instance_uid,
                    m.InputImageRow.pixel_sha256, m.QcSessionRow.id,
                    m.QcSessionRow.performed_at, m.QcSessionRow.performed_by,
                    m.QcSessionRow.saved_by)
             .join(m.AnalysisRow, m.AnalysisRow.id == m.InputImageRow.analysis_id)
             .join(m.QcSessionRow, m.QcSessionRow.id == m.AnalysisRow.session_id)
             .where(m.QcSessionRow.equipment_id == equipment_id,
                    m.AnalysisRow.protocol == protocol,
                    m.AnalysisRow.label == label,
                    m.InputImageRow.sop_instance_uid.in_(uids[k:k + _CHUNK])))
        if not_session is not None:
            q = q.where(m.QcSessionRow.id != not_session)
        for aid, uid, sha, sid, when, by, saver in s.execute(q):
            if (uid, sha) in wanted:
                held.setdefault(aid, set()).add((uid, sha))
                meta[aid] = EarlierSession(sid, when, by, saver, protocol, label)
    return held, meta


def find_partial(s: Session, session_id: int) -> list[EarlierSession]:
    """Other sessions of the same equipment that hold a *part* of one of this session's
    analyses: every input image of theirs (same protocol and label) is among this analysis's
    inputs, and they have fewer. A series whose last images came after its quiet period was
    first saved incomplete; the complete one makes that first session obsolete.

    Returns
    -------
    list of EarlierSession
        One per (session, protocol, label), oldest first.
    """
    sess = s.get(m.QcSessionRow, session_id)
    if sess is None:
        raise StoreError(f"There is no QC session {session_id}.")
    found: dict[tuple[int, str, str], EarlierSession] = {}
    analyses = s.execute(select(m.AnalysisRow.id, m.AnalysisRow.protocol, m.AnalysisRow.label)
                         .where(m.AnalysisRow.session_id == session_id)).all()
    for aid_new, protocol, label in analyses:
        wanted = {(u, h) for u, h in s.execute(
            select(m.InputImageRow.sop_instance_uid, m.InputImageRow.pixel_sha256)
            .where(m.InputImageRow.analysis_id == aid_new))}
        if not wanted:
            continue
        held, meta = _holding(s, sess.equipment_id, protocol, label or "", wanted,
                              not_session=session_id)
        if not held:
            continue
        totals = dict(s.execute(
            select(m.InputImageRow.analysis_id, func.count())
            .where(m.InputImageRow.analysis_id.in_(sorted(held)))
            .group_by(m.InputImageRow.analysis_id)).all())
        for aid, pairs in held.items():
            if len(pairs) == totals.get(aid, 0) < len(wanted):
                e = meta[aid]
                found.setdefault((e.session_id, e.protocol, e.label), e)
    return sorted(found.values(), key=lambda e: (e.performed_at, e.session_id))


def describe(earlier: Sequence[EarlierSession], equipment_name: str) -> str:
    """The refusal message, naming each earlier session (id, date, who) and protocol."""
    parts = [f"{e.protocol}{f' [{e.label}]' if e.label else ''} in {e.text()}"
             for e in earlier]
    return (f"These images were already saved for {equipment_name}: {'; '.join(parts)}. "
            "The new session was not saved.")
