"""Reading and checking the audit log (`AuditMixin`): the newest entries, the chain head, and
the full check behind ``imgqa db verify`` (`imgqa.store.integrity`) against the anchors
recorded outside the database (`imgqa.store.anchor`).

Writing entries is `StoreCore._append` (every write appends one); the chain and the content
digests are `imgqa.store.audit`'s. Table: ``audit_log`` (read: ``tolerance``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select

from imgqa.store import anchor, integrity
from imgqa.store import models as m
from imgqa.store.core import StoreCore
from imgqa.store.records import AuditEntry

__all__ = ["AuditMixin"]


class AuditMixin(StoreCore):
    """The audit log as the CLI and GUI read and verify it."""

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        with self._read() as s:
            rows = s.execute(select(m.AuditLogRow).order_by(m.AuditLogRow.id.desc())
                             .limit(limit)).scalars().all()
            return [AuditEntry(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.details)
                    for e in reversed(rows)]

    def audit_head(self) -> tuple[int, int, str] | None:
        """(number of entries, newest entry id, its hash); None for an empty log."""
        with self._read() as s:
            last = s.execute(select(m.AuditLogRow.id, m.AuditLogRow.hash)
                             .order_by(m.AuditLogRow.id.desc()).limit(1)).first()
            if last is None:
                return None
            n = s.execute(select(func.count()).select_from(m.AuditLogRow)).scalar_one()
            return int(n), int(last[0]), str(last[1])

    def audit_report(self, anchors: Sequence[str | anchor.Anchor] = (),
                     anchor_file: str | None = None, *, record: bool = True
                     ) -> integrity.AuditReport:
        """Check the audit chain, every audited object against its entry (and every entry
        against its object), and the chain head against anchors.

        Parameters
        ----------
        anchors : sequence of str or Anchor
            Heads recorded earlier (``"ID:HASH"``, as printed by `imgqa db verify` and on PDF
            reports).
        anchor_file : path, optional
            A file of anchor lines to check as well; ``$IMGQA_AUDIT_ANCHOR_FILE`` is always
            checked when set (and, with ``record``, gets this head appended when all is well).
        """
        wanted = [a if isinstance(a, anchor.Anchor) else anchor.parse_anchor(a)
                  for a in anchors]
        configured = anchor.anchor_file()
        given = Path(anchor_file).expanduser() if anchor_file else None
        for path in dict.fromkeys(x for x in (given, configured) if x is not None):
            if path == configured and path != given and not path.exists():
                continue  # nothing recorded yet
            wanted += anchor.read_anchor_file(path, self.anchor_name)
        key = self.audit_key
        with self._read() as s:
            report = integrity.verify_store(s, key, wanted)
        if record and report.ok and configured is not None and report.head_id is not None:
            anchor.write_anchor(configured, self.anchor_name, report.head_id,
                                report.head_hash or "", "verify")
        return report

    def deleted_tolerance_ids(self) -> list[int]:
        """Tolerances the audit log records but the database no longer has.

        A cheap check `tolerance show` makes before it presents a packaged default: a deleted
        tolerance row would otherwise be silently replaced by the default (issue 19).
        """
        with self._read() as s:
            logged = {i for i in s.scalars(select(m.AuditLogRow.entity_id).where(
                m.AuditLogRow.entity == "tolerance", m.AuditLogRow.entity_id.is_not(None)))
                if i is not None}
            present = set(s.scalars(select(m.ToleranceRow.id)))
        return sorted(logged - present)

    def audit_verify(self, anchors: Sequence[str | anchor.Anchor] = ()
                     ) -> tuple[bool, list[str]]:
        """`audit_report` as (ok, problems)."""
        report = self.audit_report(anchors)
        return report.ok, report.problems
