"""Review and comments (`ReviewsMixin`): a physicist approves or rejects sessions (approving a
failure needs a comment, issue 11), and anyone adds a note to a session or one of its results.

Tables: ``review``, ``comment`` (read: ``qc_session``, ``result``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from imgqa.errors import StoreError
from imgqa.status import FAILING
from imgqa.store import audit
from imgqa.store import models as m
from imgqa.store.core import chunks, now
from imgqa.store.records import CommentRecord, ReviewRecord
from imgqa.store.users import UsersMixin

__all__ = ["ReviewsMixin"]


def _failing(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """Session id → ``"protocol/measurement STATUS"`` of its TOLERANCE/ACTION results."""
    out: dict[int, list[str]] = {}
    r = m.QcResultRow
    for chunk in chunks(list(ids), 900):
        for sid, proto, meas, status in s.execute(
                select(r.session_id, r.protocol, r.measurement, r.status)
                .where(r.session_id.in_(chunk), r.status.in_(sorted(FAILING, reverse=True)))
                .order_by(r.session_id, r.id)):
            out.setdefault(sid, []).append(f"{proto}/{meas} {status}")
    return out


def _needs_comment(failing: dict[int, list[str]]) -> StoreError:
    """The refusal of an approval without comment, naming the failing measurements."""
    return StoreError(
        "Approving a session with a Tolerance or Action result needs a "
        "review comment: " + "; ".join(
            f"session {sid}: {', '.join(what[:4])}"
            + (f" and {len(what) - 4} more" if len(what) > 4 else "")
            for sid, what in list(failing.items())[:5])
        + (f"; and {len(failing) - 5} more session(s)" if len(failing) > 5
           else "") + ". Nothing was approved.",
        hint="Look at the failing measurements, then approve with a comment "
             "saying what was checked and why the results may stand (or "
             "reject the session).")


class ReviewsMixin(UsersMixin):
    """Reviews (approve/reject) and comments."""

    def review(self, session_ids: Sequence[int], decision: str, comment: str = "",
               reviewer: str | None = None) -> None:
        """Approve or reject sessions (physicist), one review record each, atomically.

        Approving a session with a TOLERANCE or ACTION result needs a ``comment`` (what was
        checked, why it may stand): without one a `StoreError` names the sessions and their
        failing measurements, and nothing is reviewed.
        """
        if decision not in m.DECISIONS:
            raise StoreError(f"A review decision is 'approved' or 'rejected', not {decision!r}.")
        self._require("physicist", "review QC sessions")
        who = self._identity(reviewer)
        ids = list(dict.fromkeys(int(i) for i in session_ids))
        if not ids:
            return
        me = self.current_user()

        def work(s: Session) -> None:
            found = set(s.execute(select(m.QcSessionRow.id)
                                  .where(m.QcSessionRow.id.in_(ids))).scalars())
            missing = [i for i in ids if i not in found]
            if missing:
                raise StoreError(f"No QC session(s) {', '.join(map(str, missing))}.")
            if decision == "approved" and not (comment or "").strip():
                failing = _failing(s, ids)
                if failing:
                    raise _needs_comment(failing)
            at = now()
            for sid in ids:
                rv = m.ReviewRow(session_id=sid, reviewer=who, decision=decision,
                                 comment=comment or "", reviewed_at=at)
                s.add(rv)
                s.flush()
                self._append(s, at=at, actor=me, action="review", entity="review",
                             entity_id=rv.id, details={"digest": audit.review_digest(rv),
                                                        "digest_v": audit.DIGEST_V})

        self._write(work)

    def reviews(self, session_id: int) -> list[ReviewRecord]:
        with self._read() as s:
            return [ReviewRecord(r.id, r.session_id, r.reviewer, r.decision, r.comment,
                                 r.reviewed_at) for r in s.execute(
                select(m.ReviewRow).where(m.ReviewRow.session_id == session_id)
                .order_by(m.ReviewRow.id)).scalars()]

    def add_comment(self, session_id: int, text_: str, *, result_id: int | None = None
                    ) -> CommentRecord:
        """A note on a session or one of its results (any role)."""
        if not text_ or not text_.strip():
            raise StoreError("A comment cannot be empty.")
        me = self.current_user()

        def work(s: Session) -> CommentRecord:
            if s.get(m.QcSessionRow, session_id) is None:
                raise StoreError(f"There is no QC session {session_id}.")
            c = m.CommentRow(session_id=session_id, result_id=result_id, author=me,
                             text=text_.strip(), created_at=now())
            s.add(c)
            s.flush()
            self._append(s, at=now(), actor=me, action="comment", entity="comment",
                         entity_id=c.id, details={"session_id": session_id,
                                                  "result_id": result_id,
                                                  "digest": audit.comment_digest(c),
                                                  "digest_v": audit.DIGEST_V})
            return CommentRecord(c.id, c.session_id, c.result_id, c.author, c.text,
                                 c.created_at)

        return self._write(work)

    def comments(self, session_id: int) -> list[CommentRecord]:
        with self._read() as s:
            return [CommentRecord(c.id, c.session_id, c.result_id, c.author, c.text,
                                  c.created_at) for c in s.execute(
                select(m.CommentRow).where(m.CommentRow.session_id == session_id)
                .order_by(m.CommentRow.id)).scalars()]
