"""QC sessions and their results (`SessionsMixin`): judging results against what is in force,
saving a session atomically (with its analyses, input image identities and results, the
duplicate check of `imgqa.store.duplicates` and the schedule moved on), and reading sessions
back with their result counts, worst status and latest review.

Tables: ``qc_session``, ``analysis``, ``input_image``, ``result``, ``session_file`` (read:
``review``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError, ToleranceError
from imgqa.evaluate import Limits, evaluate, limits
from imgqa.io.image_archive import ArchivedFile
from imgqa.protocols.base import Measurement, Result
from imgqa.status import Status, StatusName, worst
from imgqa.store import audit, duplicates
from imgqa.store import models as m
from imgqa.store.core import aware, chunks, finite, now, tolerance_of
from imgqa.store.defaults import result_conditions
from imgqa.store.equipment import advance_schedule
from imgqa.store.limits import LimitsMixin, current_rows, in_force
from imgqa.store.records import ResultRow, SessionRecord, ToleranceRecord

__all__ = ["SessionsMixin"]

log = logging.getLogger(__name__)

# The status ranking (`imgqa.status`) as SQL, so the worst status of many sessions is one query.
_RANK_OF = {s.value: s.rank for s in Status}
_STATUS_AT = {s.rank: s.value for s in Status}

Judged = list[tuple[Measurement, ToleranceRecord | None, StatusName | None]]


def _judge(equipment_id: int, field_strength_t: float | None, result: Result,
           bases: Mapping[str, m.BaselineRow], tols: Mapping[str, m.ToleranceRow]) -> Judged:
    """Each measurement of ``result`` with the tolerance in force and its status."""
    out: Judged = []
    cond = result_conditions(result)
    for meas in result.measurements:
        force = in_force(equipment_id, field_strength_t, result.protocol, meas.name,
                         bases.get(meas.name), tols.get(meas.name), cond)
        value = finite(meas.value)
        status: StatusName | None
        try:
            status = evaluate(value, force.reference if force else None,
                              force.tolerance if force else None)
        except ToleranceError as exc:  # guarded at set time; never let it stop a save
            log.warning("%s/%s: %s", result.protocol, meas.name, exc)
            status = None if value is None else "NO_TOL"
        out.append((meas, force, status))
    return out


def _acquired(results: Sequence[Result]) -> datetime | None:
    times = []
    for r in results:
        a = r.series.get("acquired") if isinstance(r.series, Mapping) else None
        if a:
            try:
                times.append(aware(datetime.fromisoformat(str(a))))
            except ValueError:
                pass
    return min(times) if times else None


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    from imgqa.protocols.base import _jsonable

    return _jsonable(d)


def _result_row(r: m.QcResultRow, a: m.AnalysisRow) -> ResultRow:
    tol = None if r.tol_kind is None else tolerance_of(r.tol_kind, r.act_low, r.tol_low,
                                                       r.tol_high, r.act_high)
    lim: Limits | None = None
    if tol is not None and r.reference is not None:
        try:
            lim = limits(r.reference, tol)
        except ToleranceError:
            lim = None
    return ResultRow(
        id=r.id, session_id=r.session_id, equipment_id=r.equipment_id,
        performed_at=r.performed_at, protocol=r.protocol, protocol_version=a.protocol_version,
        label=a.label, measurement=r.measurement, value=r.value, unit=r.unit, status=r.status,
        reference=r.reference, tolerance=tol, limits=lim, tolerance_source=r.tolerance_source,
        parameters=dict(a.parameters or {}), warnings=tuple(a.warnings or ()))


def _result_values(session_id: int, analysis_id: int, equipment_id: int, when: datetime,
                   protocol: str, judged: Judged) -> list[dict[str, Any]]:
    """``result`` rows: value, status and the reference and tolerance in force."""
    rows = []
    for meas, force, status in judged:
        t = force.tolerance if force and force.reference is not None else None
        rows.append({
            "session_id": session_id, "analysis_id": analysis_id,
            "equipment_id": equipment_id, "performed_at": when,
            "protocol": protocol, "measurement": meas.name,
            "value": finite(meas.value), "unit": meas.unit or "",
            "status": status,
            "reference": force.reference if force else None,
            "tol_kind": t.kind if t else None,
            "act_low": t.act_low if t else None, "tol_low": t.tol_low if t else None,
            "tol_high": t.tol_high if t else None,
            "act_high": t.act_high if t else None,
            "baseline_id": force.baseline_id if force else None,
            "tolerance_id": force.id if force else None,
            "tolerance_source": force.source if force else ""})
    return rows


class SessionsMixin(LimitsMixin):
    """Judge, save and read QC sessions and their results."""

    def evaluate(self, equipment_id: int, result: Result) -> Result:
        """A copy of ``result`` with each measurement's status against what is in force now."""
        eq = self.equipment(equipment_id)
        with self._read() as s:
            bases, tols = current_rows(s, equipment_id, result.protocol)
        judged = _judge(equipment_id, eq.field_strength_t, result, bases, tols)
        return result.with_statuses({meas.name: st for meas, _, st in judged})

    def save_session(self, equipment_id: int, results: Sequence[Result], *,
                     performed_by: str | None = None, comment: str = "",
                     performed_at: datetime | None = None, uid: str | None = None,
                     duplicate_reason: str = "",
                     files: Sequence[ArchivedFile] = ()) -> SessionRecord:
        """Store results as one QC session, atomically.

        Each measurement is stored with its value, unit, status and the reference and
        tolerance in force now. ``performed_at`` defaults to the earliest acquisition time of
        the images, else now. ``uid`` (generated if omitted) makes a retried save idempotent.

        Images already saved for the same protocol on this equipment (same SOP Instance UIDs
        and pixel hashes, `imgqa.store.duplicates`) are refused with a
        `~imgqa.store.duplicates.DuplicateSessionError` naming the earlier session(s), unless
        ``duplicate_reason`` says why they are saved again: the reason is then added to the
        session comment and to the audit entry (``duplicate_of``, ``duplicate_reason``).

        ``files`` are the session's source files already copied into the image archive
        (`imgqa.io.image_archive.archive_results`): one ``session_file`` row each (path
        relative to the archive root, SHA-256, size), in the same transaction; the audit entry
        gets their number and a digest of the list (``files``, ``files_digest``).
        """
        self._require("technologist", "save QC sessions")
        if not results:
            raise StoreError("There are no results to save.")
        me = self.current_user()
        who = (performed_by or "").strip() or me
        dup_reason = " ".join((duplicate_reason or "").split())
        uid = uid or str(uuid.uuid4())
        when = (aware(performed_at) if performed_at else _acquired(results) or now()
                ).astimezone(UTC)

        def work(s: Session) -> SessionRecord | int:
            existing = s.execute(select(m.QcSessionRow.id).where(m.QcSessionRow.uid == uid)
                                 ).scalar_one_or_none()
            if existing is not None:  # a retry after an ambiguous failure
                return existing
            eq = s.get(m.EquipmentRow, equipment_id)
            if eq is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.")
            if not eq.active:
                raise StoreError(f"{eq.name} is retired (inactive); results cannot be saved "
                                 "to it.", hint="An admin can re-activate it with "
                                                "`imgqa equipment activate`.")
            earlier = duplicates.find_earlier(s, equipment_id, results)
            if earlier and not dup_reason:
                raise duplicates.DuplicateSessionError(
                    duplicates.describe(earlier, eq.name), earlier)
            note = comment or ""
            if earlier:  # saved again on purpose: say so where reviewers and reports look
                ids = ", ".join(str(e.session_id) for e in earlier)
                note = (f"{note}\n" if note else "") + \
                    f"Duplicate of session {ids} saved on purpose: {dup_reason}"
            at = now()
            sess = m.QcSessionRow(uid=uid, equipment_id=equipment_id, performed_at=when,
                                  performed_by=who, saved_by=me, comment=note, created_at=at)
            s.add(sess)
            s.flush()
            rows: list[dict[str, Any]] = []
            inputs: list[dict[str, Any]] = []
            parts: list[dict[str, Any]] = []  # analyses with their inputs, for the digest
            cache: dict[str, tuple[dict[str, m.BaselineRow], dict[str, m.ToleranceRow]]] = {}
            for r in results:
                if r.protocol not in cache:
                    cache[r.protocol] = current_rows(s, equipment_id, r.protocol)
                bases, tols = cache[r.protocol]
                a = m.AnalysisRow(
                    session_id=sess.id, protocol=r.protocol,
                    protocol_version=str(r.protocol_version), label=r.label or "",
                    parameters=_json_safe(dict(r.parameters)),
                    # why the test ran goes with the series (no schema change)
                    series=_json_safe({**dict(r.series), **(
                        {"choice_reason": r.choice_reason} if r.choice_reason else {})}),
                    warnings=list(r.warnings), imgqa_version=r.imgqa_version or "",
                    analysed_at=aware(r.created))
                s.add(a)
                s.flush()
                inputs += [{"analysis_id": a.id, "sop_instance_uid": i.sop_instance_uid,
                            "pixel_sha256": i.pixel_sha256} for i in r.inputs]
                parts.append(audit.analysis_item(
                    a, [(i.sop_instance_uid, i.pixel_sha256) for i in r.inputs]))
                rows += _result_values(sess.id, a.id, equipment_id, when, r.protocol,
                                       _judge(equipment_id, eq.field_strength_t, r, bases, tols))
            if inputs:
                s.execute(insert(m.InputImageRow), inputs)
            if rows:
                s.execute(insert(m.QcResultRow), rows)
            kept = list(dict.fromkeys(files))
            if kept:
                s.execute(insert(m.SessionFileRow), [
                    {"session_id": sess.id, "path": f.path, "sha256": f.sha256,
                     "size": int(f.size), "sop_instance_uid": f.sop_instance_uid or ""}
                    for f in kept])
            advance_schedule(s, equipment_id, {r.protocol for r in results}, when)
            self._append(s, at=at, actor=me, action="save_session", entity="session",
                         entity_id=sess.id,
                         details={"uid": uid, "equipment_id": equipment_id,
                                  "performed_by": who, "results": len(rows),
                                  "digest": audit.session_digest(rows, sess, audit.DIGEST_V,
                                                                 parts),
                                  "digest_v": audit.DIGEST_V,
                                  **({"files": len(kept), "files_digest": audit.files_digest(kept)}
                                     if kept else {}),
                                  **({"duplicate_of": sorted({e.session_id for e in earlier}),
                                      "duplicate_reason": dup_reason} if earlier else {})})
            return SessionRecord(
                id=sess.id, uid=uid, equipment_id=equipment_id, equipment_name=eq.name,
                performed_at=when, performed_by=who, saved_by=me, comment=sess.comment,
                created_at=at, protocols=tuple(sorted({r.protocol for r in results})),
                n_results=len(rows), worst_status=worst(r["status"] for r in rows))

        out = self._write(work)
        return out if isinstance(out, SessionRecord) else self.session(out)

    # -- reading sessions -----------------------------------------------------------------
    def session(self, session_id: int) -> SessionRecord:
        found = self._sessions(ids=[session_id])
        if not found:
            raise StoreError(f"There is no QC session {session_id}.")
        return found[0]

    def sessions(self, equipment_id: int | None = None, since: datetime | None = None,
                 unreviewed_only: bool = False, *, until: datetime | None = None
                 ) -> list[SessionRecord]:
        """Saved sessions, newest first, with result counts, worst status and latest review."""
        return self._sessions(equipment_id=equipment_id, since=since, until=until,
                              unreviewed_only=unreviewed_only)

    def _sessions(self, *, ids: Sequence[int] | None = None, equipment_id: int | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  unreviewed_only: bool = False) -> list[SessionRecord]:
        with self._read() as s:
            q = (select(m.QcSessionRow, m.EquipmentRow.name).join(m.EquipmentRow)
                 .order_by(m.QcSessionRow.performed_at.desc(), m.QcSessionRow.id.desc()))
            if ids is not None:
                q = q.where(m.QcSessionRow.id.in_(list(ids)))
            if equipment_id is not None:
                q = q.where(m.QcSessionRow.equipment_id == equipment_id)
            if since is not None:
                q = q.where(m.QcSessionRow.performed_at >= aware(since))
            if until is not None:
                q = q.where(m.QcSessionRow.performed_at < aware(until))
            latest = (select(m.ReviewRow.session_id, func.max(m.ReviewRow.id).label("rid"))
                      .group_by(m.ReviewRow.session_id).subquery())
            if unreviewed_only:
                q = q.where(m.QcSessionRow.id.not_in(select(latest.c.session_id)))
            rows = s.execute(q).all()
            if not rows:
                return []
            sids = [r[0].id for r in rows]
            stats: dict[int, tuple[int, int]] = {}
            rank = case(_RANK_OF, value=m.QcResultRow.status, else_=-1)
            for chunk in chunks(sids, 900):
                for sid, n, worst_rank in s.execute(
                        select(m.QcResultRow.session_id, func.count(), func.max(rank))
                        .where(m.QcResultRow.session_id.in_(chunk))
                        .group_by(m.QcResultRow.session_id)):
                    stats[sid] = (n, worst_rank)
            protos: dict[int, list[str]] = {}
            reviews: dict[int, m.ReviewRow] = {}
            for chunk in chunks(sids, 900):
                for sid, p in s.execute(select(m.AnalysisRow.session_id, m.AnalysisRow.protocol)
                                        .where(m.AnalysisRow.session_id.in_(chunk)).distinct()):
                    protos.setdefault(sid, []).append(p)
                for row in s.execute(select(m.ReviewRow)
                                     .join(latest, latest.c.rid == m.ReviewRow.id)
                                     .where(m.ReviewRow.session_id.in_(chunk))).scalars():
                    reviews[row.session_id] = row
        out = []
        for sess, eq_name in rows:
            n, worst_rank = stats.get(sess.id, (0, -1))
            rv = reviews.get(sess.id)
            out.append(SessionRecord(
                id=sess.id, uid=sess.uid, equipment_id=sess.equipment_id,
                equipment_name=eq_name, performed_at=sess.performed_at,
                performed_by=sess.performed_by, saved_by=sess.saved_by, comment=sess.comment,
                created_at=sess.created_at, protocols=tuple(sorted(protos.get(sess.id, []))),
                n_results=n, worst_status=_STATUS_AT.get(worst_rank),
                review_decision=rv.decision if rv else None,
                reviewed_by=rv.reviewer if rv else None,
                reviewed_at=rv.reviewed_at if rv else None))
        return out

    def session_results(self, session_id: int) -> list[ResultRow]:
        with self._read() as s:
            q = (select(m.QcResultRow, m.AnalysisRow)
                 .join(m.AnalysisRow, m.AnalysisRow.id == m.QcResultRow.analysis_id)
                 .where(m.QcResultRow.session_id == session_id).order_by(m.QcResultRow.id))
            return [_result_row(r, a) for r, a in s.execute(q).all()]

    def find_session(self, key: str | int) -> SessionRecord:
        """A session by its id (digits) or its UID."""
        text = str(key).strip()
        if text.isdigit():
            return self.session(int(text))
        with self._read() as s:
            sid = s.execute(select(m.QcSessionRow.id).where(m.QcSessionRow.uid == text)
                            ).scalar_one_or_none()
        if sid is None:
            raise StoreError(f"There is no QC session {text!r}.",
                             hint="Give the session id or UID as listed by `imgqa history`.")
        return self.session(sid)

    def session_files(self, session_id: int) -> list[ArchivedFile]:
        """The session's files in the image archive (paths relative to the archive root)."""
        return self.archived_files([session_id]).get(session_id, [])

    def archived_files(self, session_ids: Sequence[int] | None = None
                       ) -> dict[int, list[ArchivedFile]]:
        """Session id → its archived files, for the given sessions (None: every session)."""
        out: dict[int, list[ArchivedFile]] = {}
        with self._read() as s:
            q = select(m.SessionFileRow).order_by(m.SessionFileRow.id)
            groups = [None] if session_ids is None else list(chunks(list(session_ids), 900))
            for chunk in groups:
                qq = q if chunk is None else q.where(m.SessionFileRow.session_id.in_(chunk))
                for r in s.execute(qq).scalars():
                    out.setdefault(r.session_id, []).append(
                        ArchivedFile(r.path, r.sha256, int(r.size), r.sop_instance_uid))
        return out

    def partial_sessions(self, session_id: int) -> list[duplicates.EarlierSession]:
        """Other sessions holding only part of this one's images for the same test (a series
        first saved incomplete, its late images having come after the quiet period):
        `imgqa.store.duplicates.find_partial`."""
        with self._read() as s:
            return duplicates.find_partial(s, session_id)

    def session_inputs(self, session_id: int) -> list[tuple[str, str]]:
        """(SOPInstanceUID, pixel SHA-256) of every image the session's analyses used."""
        with self._read() as s:
            q = (select(m.InputImageRow.sop_instance_uid, m.InputImageRow.pixel_sha256)
                 .join(m.AnalysisRow).where(m.AnalysisRow.session_id == session_id)
                 .order_by(m.InputImageRow.id))
            return [(u, h) for u, h in s.execute(q).all()]
