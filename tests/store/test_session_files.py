"""Images kept with the record (issue 12): a session's archived files (``session_file``,
revision 0006) are saved in the session's own transaction, listed back, covered by the audit
entry and insert-only — on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from imgqa.io.image_archive import ArchivedFile
from imgqa.store.audit import files_digest

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _files(n: int, tag: str = "a") -> list[ArchivedFile]:
    return [ArchivedFile(f"CT-1/2026-12-01/1.2.3/1.2.3.{tag}{i}.dcm", f"{i:064x}", 1000 + i,
                         f"1.2.3.{i}") for i in range(n)]


def test_files_are_saved_with_the_session_and_listed(store, result_factory):
    eq = store.add_equipment("CT 1")
    files = _files(3)
    sess = store.save_session(eq.id, [result_factory()], performed_at=T0, files=files)
    other = store.save_session(eq.id, [result_factory()], performed_at=T0)   # no archive
    assert store.session_files(sess.id) == files
    assert store.session_files(other.id) == []
    assert store.archived_files() == {sess.id: files}
    assert store.find_session(sess.uid).id == sess.id
    entry = next(e for e in store.audit_log(10) if e.entity_id == sess.id
                 and e.action == "save_session")
    details = json.loads(entry.details) if isinstance(entry.details, str) else entry.details
    assert details["files"] == 3 and details["files_digest"] == files_digest(files)
    assert store.audit_verify() == (True, [])


def test_a_retried_save_adds_no_second_file_list(store, result_factory):
    eq = store.add_equipment("CT 1")
    r = result_factory()
    a = store.save_session(eq.id, [r], uid="retry-1", files=_files(2))
    b = store.save_session(eq.id, [r], uid="retry-1", files=_files(2))
    assert a.id == b.id and len(store.archived_files()[a.id]) == 2


def test_session_file_rows_are_insert_only(store, result_factory):
    eq = store.add_equipment("CT 1")
    store.save_session(eq.id, [result_factory()], files=_files(1))
    for sql in ("UPDATE session_file SET sha256 = 'x'", "DELETE FROM session_file"):
        with pytest.raises(Exception, match="read-only|history"):
            with store.engine.begin() as conn:
                conn.execute(text(sql))
    assert len(store.archived_files()) == 1


def _drop_triggers(store) -> None:
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            for what in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS imgqa_session_file_no_{what}"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS imgqa_session_file_read_only "
                              "ON session_file"))


@pytest.mark.parametrize("sql", [
    "UPDATE session_file SET sha256 = '{sha}' WHERE id = 1",      # a hash rewritten
    "DELETE FROM session_file WHERE id = 2",                      # a file dropped
    "INSERT INTO session_file (session_id, path, sha256, size, sop_instance_uid) "
    "VALUES ({other}, 'x/y/z/evil.dcm', '{sha}', 1, '')",         # a file slipped in
])
def test_db_verify_reports_a_file_list_changed_behind_imgqa(store, result_factory, sql):
    eq = store.add_equipment("CT 1")
    a = store.save_session(eq.id, [result_factory()], files=_files(2))
    b = store.save_session(eq.id, [result_factory()])
    assert store.audit_verify() == (True, [])
    _drop_triggers(store)
    with store.engine.begin() as conn:
        conn.execute(text(sql.format(sha="f" * 64, other=b.id)))
    ok, problems = store.audit_verify()
    changed = b.id if "INSERT" in sql else a.id
    assert not ok and problems == [f"session {changed} was changed after it was saved (its "
                                   "content no longer matches the audit log)"]
