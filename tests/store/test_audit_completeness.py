"""Issue 19, finding 3: `imgqa db verify` must notice deletions, tail truncation, edits to
analyses and input identities, and forged entries; PostgreSQL technologists append to the
audit log only through the owner's function; `db init-roles` says what privilege is missing.

Every tamper here is done the way someone with file or owner access would: the no-delete /
no-update triggers are dropped first, then rows are changed with plain SQL behind imgqa's back.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from imgqa.cli.main import main
from imgqa.store import audit, db, open_store
from imgqa.store import models as m

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DATA = Path(__file__).parent / "data"


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _tamper(url: str, *sql: str) -> None:
    """Drop the insert-only triggers, then run ``sql`` with plain SQL as the file's / the
    database's owner would (SQLite: foreign keys are off in a plain sqlite3 connection)."""
    if "://" not in url:
        with sqlite3.connect(url) as c:
            for t in m.IMMUTABLE_TABLES:
                for what in ("update", "delete"):
                    c.execute(f"DROP TRIGGER IF EXISTS imgqa_{t}_no_{what}")
            for stmt in sql:
                c.execute(stmt)
        return
    u = db.resolve_url(url)[0]
    with psycopg.connect(host=u.host, port=u.port, user=u.username, dbname=u.database,
                         autocommit=True) as c:
        for t in m.IMMUTABLE_TABLES:
            c.execute(f"DROP TRIGGER IF EXISTS imgqa_{t}_read_only ON {t}")
        for stmt in sql:
            c.execute(stmt)


def _fill(store, result_factory) -> dict:
    """A little of every audited kind. Sessions come first, so the baseline and tolerance
    are referenced by no result (deleting them needs no foreign-key trickery)."""
    eq = store.add_equipment("CT 1", modality="CT", manufacturer="Acme", model="Scan 1",
                             serial="SN-1")
    sids = [store.save_session(eq.id, [result_factory(mean=100.0 + i, uid=f"1.2.3.{i}")],
                               performed_at=T0 + timedelta(days=i)).id for i in range(3)]
    base = store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    tol = store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", tol_low=-2,
                              tol_high=2, act_low=-4, act_high=4, reason="local policy")
    store.review([sids[0]], "approved", "fine")
    review = store.reviews(sids[0])[0]
    note = store.add_comment(sids[1], "phantom was cold")
    ev = store.add_service_event(eq.id, T0 + timedelta(days=1, hours=3), "repair",
                                 "collimator swapped")
    assert store.audit_verify() == (True, [])
    return {"eq": eq, "sessions": sids, "baseline": base, "tolerance": tol, "review": review,
            "comment": note, "event": ev}


def _delete_session_sql(sid: int) -> list[str]:
    """Everything of one session (its audit entry is kept)."""
    return [f"DELETE FROM comment WHERE session_id = {sid}",
            f"DELETE FROM review WHERE session_id = {sid}",
            f"DELETE FROM result WHERE session_id = {sid}",
            f"DELETE FROM input_image WHERE analysis_id IN "
            f"(SELECT id FROM analysis WHERE session_id = {sid})",
            f"DELETE FROM analysis WHERE session_id = {sid}",
            f"DELETE FROM qc_session WHERE id = {sid}"]


# ------------------------------------------------------------------------------------------
# deletions
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["tolerance", "session", "baseline", "review",
                                  "service_event", "comment"])
def test_deleting_an_audited_row_is_reported(store_url, result_factory, kind):
    with open_store(store_url) as store:
        made = _fill(store, result_factory)
    ids = {"tolerance": made["tolerance"].id, "session": made["sessions"][2],
           "baseline": made["baseline"].id, "review": made["review"].id,
           "service_event": made["event"].id, "comment": made["comment"].id}
    table = {"session": "qc_session"}.get(kind, kind)
    sql = (_delete_session_sql(ids[kind]) if kind == "session"
           else [f"DELETE FROM {table} WHERE id = {ids[kind]}"])
    _tamper(store_url, *sql)
    with open_store(store_url) as store:
        ok, problems = store.audit_verify()
    assert not ok
    gone = [p for p in problems if p.startswith(f"{kind} {ids[kind]} was deleted: ")]
    assert len(gone) == 1, problems
    assert "the database no longer has it" in gone[0]


def test_db_verify_reports_deleted_tolerances_the_default_would_hide(tmp_path, capsys,
                                                                     result_factory):
    """The issue's case: all tolerances deleted → `tolerance show` silently falls back to the
    default; `db verify` must say so."""
    path = str(tmp_path / "qc.sqlite3")
    with open_store(path) as store:
        made = _fill(store, result_factory)
        assert store.tolerance(made["eq"].id, "generic.roi", "mean").source == "equipment"
    _tamper(path, "DELETE FROM tolerance")
    with open_store(path) as store:  # the symptom: nothing says the tolerance went
        assert store.tolerance(made["eq"].id, "generic.roi", "mean") is None
    assert main(["--db", path, "db", "verify"]) == 1
    err = capsys.readouterr().err
    assert f"tolerance {made['tolerance'].id} was deleted" in err
    assert "Traceback" not in err
    # ... and `tolerance show` no longer presents the fallback in silence.
    assert main(["--db", path, "tolerance", "show", str(made["eq"].id), "generic.roi",
                 "mean"]) == 1
    err = capsys.readouterr().err
    assert "missing from the database" in err and "db verify" in err


# ------------------------------------------------------------------------------------------
# truncation and anchors
# ------------------------------------------------------------------------------------------
def _truncate_last_sessions(url: str, sids: list[int]) -> None:
    """Cut the newest sessions off with their audit entries: the rest still chains."""
    sql = [s for sid in sids for s in _delete_session_sql(sid)]
    sql.append("DELETE FROM audit_log WHERE entity = 'session' AND entity_id IN "
               f"({', '.join(map(str, sids))})")
    _tamper(url, *sql)


def test_tail_truncation_is_caught_by_the_anchor_file(store_url, result_factory, tmp_path,
                                                      monkeypatch):
    anchors = tmp_path / "anchors.tsv"
    monkeypatch.setenv("IMGQA_AUDIT_ANCHOR_FILE", str(anchors))
    with open_store(store_url) as store:
        eq = store.add_equipment("CT 1", serial="SN-1")
        sids = [store.save_session(eq.id, [result_factory(mean=100.0 + i)],
                                   performed_at=T0 + timedelta(days=i)).id for i in range(4)]
        n_entries, head_id, head_hash = store.audit_head()
        assert n_entries == 5
        lines = anchors.read_text().splitlines()
        assert len(lines) == 5  # one per saved change
        assert lines[-1].split("\t")[1:] == ["write", store.anchor_name,
                                             f"{head_id}:{head_hash[:16]}"]
        assert store.audit_verify() == (True, [])  # an intact log is anchored too
        assert anchors.read_text().splitlines()[-1].split("\t")[1] == "verify"
    _truncate_last_sessions(store_url, sids[2:])
    monkeypatch.delenv("IMGQA_AUDIT_ANCHOR_FILE")
    with open_store(store_url) as store:
        assert store.audit_head()[0] == 3
        assert store.audit_verify() == (True, [])  # the chain alone cannot see the cut
        ok, problems = store.audit_verify([f"{head_id}:{head_hash[:16]}"])  # an anchor can
        assert not ok and len(problems) == 1
        assert "the newest entries were removed (truncated)" in problems[0]
        monkeypatch.setenv("IMGQA_AUDIT_ANCHOR_FILE", str(anchors))  # so can the file
        ok, problems = store.audit_verify()
        assert not ok and any(f"anchor {head_id}:{head_hash[:16]} (anchors.tsv line 5" in p
                              and "truncated" in p for p in problems), problems
        assert len(anchors.read_text().splitlines()) == 6  # no anchor taken from a bad log
        # new entries after the cut: SQLite reuses the ids, PostgreSQL does not
        monkeypatch.delenv("IMGQA_AUDIT_ANCHOR_FILE")
        for i in range(3):
            store.save_session(eq.id, [result_factory(mean=90.0)],
                               performed_at=T0 + timedelta(days=9 + i))
        problems = store.audit_report([f"{head_id}:{head_hash[:16]}"]).problems
        if store.dialect == "sqlite":  # SQLite reuses the ids: the entry is there, different
            assert problems and "was rewritten since that anchor" in problems[0]
        else:  # a PostgreSQL sequence never reuses an id: the anchored entry is missing
            assert problems and "is missing from the audit log" in problems[0]


def test_db_verify_prints_the_head_and_checks_an_anchor(tmp_path, capsys, result_factory):
    path = str(tmp_path / "qc.sqlite3")
    with open_store(path) as store:
        eq = store.add_equipment("CT 1", serial="SN-1")
        sids = [store.save_session(eq.id, [result_factory(mean=100.0 + i)]).id
                for i in range(3)]
    assert main(["--db", path, "db", "verify"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"Chain head: 4 entries, newest entry 4; anchor (4:[0-9a-f]{16})\b", out)
    assert found, out
    anchor = found.group(1)
    assert main(["--db", path, "db", "verify", "--anchor", anchor]) == 0
    capsys.readouterr()
    _truncate_last_sessions(path, sids[-1:])
    assert main(["--db", path, "db", "verify"]) == 0  # without the anchor: looks intact
    capsys.readouterr()
    assert main(["--db", path, "db", "verify", "--anchor", anchor]) == 1
    err = capsys.readouterr().err
    assert "truncated" in err and "Chain head now: 3 entries" in err
    # an anchor file given on the command line, and a typo in an anchor
    f = tmp_path / "kept.tsv"
    f.write_text(f"2026-03-01T00:00:00Z\twrite\t{Path(path).absolute()}\t{anchor}\n"
                 f"2026-03-01T00:00:00Z\twrite\t/some/other.sqlite3\t99:{'0' * 16}\n")
    assert main(["--db", path, "db", "verify", "--anchor-file", str(f)]) == 1
    assert "truncated" in capsys.readouterr().err
    assert main(["--db", path, "db", "verify", "--anchor", "4-abc"]) == 1
    err = capsys.readouterr().err
    assert "is not an audit anchor" in err and "Traceback" not in err


# ------------------------------------------------------------------------------------------
# analyses and input identities are covered by the session digest
# ------------------------------------------------------------------------------------------
_EDITS = {
    "parameters": "UPDATE analysis SET parameters = '{\"roi_diameter_mm\": 25.0}'",
    "series": "UPDATE analysis SET series = '{\"modality\": \"MR\"}'",
    "protocol": "UPDATE analysis SET protocol = 'ct.water'",
    "protocol_version": "UPDATE analysis SET protocol_version = '2'",
    "pixel_sha256": f"UPDATE input_image SET pixel_sha256 = '{'cd' * 32}'",
    "sop_instance_uid": "UPDATE input_image SET sop_instance_uid = '9.9.9'",
}


@pytest.mark.parametrize("what", sorted(_EDITS))
def test_edits_to_analyses_and_inputs_are_reported(store_url, result_factory, what):
    with open_store(store_url) as store:
        eq = store.add_equipment("CT 1", serial="SN-1")
        s = store.save_session(eq.id, [result_factory()])
        assert store.audit_verify() == (True, [])
    _tamper(store_url, _EDITS[what])
    with open_store(store_url) as store:
        assert store.audit_verify() == (False, [
            f"session {s.id} was changed after it was saved (its content no longer matches "
            "the audit log)"])


# ------------------------------------------------------------------------------------------
# databases written before digest version 2
# ------------------------------------------------------------------------------------------
def test_entries_of_an_older_imgqa_are_verified_with_their_own_rule(tmp_path, result_factory):
    path = tmp_path / "old.sqlite3"
    shutil.copy(DATA / "audit_v1.sqlite3", path)
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT version_num FROM alembic_version").fetchone() == ("0002",)
        assert not any("digest_v" in d for (d,) in c.execute("SELECT details FROM audit_log"))
    with open_store(str(path)) as store:  # upgraded to 0003 (backup first)
        assert store.audit_verify() == (True, [])
        s = store.save_session(1, [result_factory()])  # new entries: digest version 2
        assert '"digest_v":2' in store.audit_log(1)[0].details
        assert store.audit_verify() == (True, [])
    assert len(list(tmp_path.glob("old.sqlite3.0002.*.bak"))) == 1
    # the old rule still catches what it covered: a result value and a comment's text
    _tamper(str(path), "UPDATE result SET value = 42 WHERE session_id = 1",
            "UPDATE comment SET text = 'all fine'")
    with open_store(str(path)) as store:
        ok, problems = store.audit_verify()
    assert not ok and sorted(problems) == [
        "comment 1 was changed after it was saved (its content no longer matches the audit "
        "log)",
        "session 1 was changed after it was saved (its content no longer matches the audit "
        "log)"]
    assert f"session {s.id}" not in " ".join(problems)


# ------------------------------------------------------------------------------------------
# department key (HMAC)
# ------------------------------------------------------------------------------------------
def _rechain_plain(url: str, from_id: int, edit_details, keep_key: bool) -> None:
    """Forge: edit the details of entry ``from_id`` and recompute the plain SHA-256 chain
    from there to the end, as someone without the key would."""
    engine = db.make_engine(db.resolve_url(url)[0])
    with engine.connect() as conn:
        rows = conn.execute(m.AuditLogRow.__table__.select().order_by(m.AuditLogRow.id)).all()
    engine.dispose()
    prev = next(r.hash for r in rows if r.id == from_id - 1) if from_id > 1 else audit.GENESIS
    sql = []
    for r in rows:
        if r.id < from_id:
            continue
        d = json.loads(r.details)
        if r.id == from_id:
            d = edit_details(d)
        if not keep_key:
            d.pop("key", None)
        text = audit.canonical_json(d)
        at = r.at if r.at.tzinfo else r.at.replace(tzinfo=UTC)
        h = audit.entry_hash(prev, at, r.actor, r.action, r.entity, r.entity_id, text)
        sql.append(f"UPDATE audit_log SET details = '{text}', prev_hash = '{prev}', "
                   f"hash = '{h}' WHERE id = {r.id}")
        prev = h
    _tamper(url, *sql)


@pytest.mark.parametrize("keep_key", [True, False], ids=["marker-kept", "marker-removed"])
def test_forged_entry_with_a_plain_chain_is_caught_with_the_key(store_url, result_factory,
                                                                tmp_path, monkeypatch,
                                                                keep_key):
    key_file = tmp_path / "audit.key"
    key_file.write_text(hashlib.sha256(b"department secret").hexdigest() + "\n")
    monkeypatch.setenv("IMGQA_AUDIT_KEY_FILE", str(key_file))
    with open_store(store_url) as store:
        made = _fill(store, result_factory)
        assert all('"key":' in e.details for e in store.audit_log(50))
        report = store.audit_report()
        assert report.ok and report.notes == [
            f"signed with the department key (id {store.audit_key.key_id}) since entry 1"]
        tol_entry = next(e for e in store.audit_log(50) if e.entity == "tolerance")
    # widen the tolerance, then make its entry's digest match and re-chain without the key
    _tamper(store_url, f"UPDATE tolerance SET act_high = 40 WHERE id = {made['tolerance'].id}")
    with open_store(store_url) as store:
        from imgqa.store.integrity import tolerance_digest

        with store._read() as s:
            forged = tolerance_digest(s.get(m.ToleranceRow, made["tolerance"].id))
    _rechain_plain(store_url, tol_entry.id, lambda d: {**d, "digest": forged}, keep_key)
    with open_store(store_url) as store:
        report = store.audit_report()
        assert not report.ok
        assert all("tolerance" not in p or "changed" not in p for p in report.problems)
        if keep_key:  # HMAC of the forged entry fails
            assert f"audit entry {tol_entry.id} (set_tolerance tolerance " \
                   f"{made['tolerance'].id}) was altered" in report.problems[0]
            assert "(department key)" in report.problems[0]
        else:  # an unsigned entry after signed ones
            assert f"audit entry {tol_entry.id} (set_tolerance tolerance " \
                   f"{made['tolerance'].id}) is not signed although the log is signed" \
                   in report.problems[0]
    # without the key the forgery with the marker kept passes the plain check: the note says
    # what was not checked
    monkeypatch.delenv("IMGQA_AUDIT_KEY_FILE")
    with open_store(store_url) as store:
        report = store.audit_report()
        if keep_key:
            assert report.ok
            assert report.notes and "keyed entries not checked (no key)" in report.notes[0]
        else:
            assert not report.ok  # unsigned after signed needs no key to be seen


def test_a_writer_without_the_key_is_refused_on_a_signed_log(tmp_path, monkeypatch,
                                                             result_factory, capsys):
    path = str(tmp_path / "qc.sqlite3")
    monkeypatch.setenv("IMGQA_AUDIT_KEY", "0123456789abcdef0123456789abcdef")
    with open_store(path) as store:
        eq = store.add_equipment("CT 1", serial="SN-1")
    monkeypatch.delenv("IMGQA_AUDIT_KEY")
    with open_store(path) as store:
        with pytest.raises(Exception, match="signed with a department key .* but this "
                                            "computer has none: nothing was saved"):
            store.save_session(eq.id, [result_factory()])
        assert store.sessions() == []
    monkeypatch.setenv("IMGQA_AUDIT_KEY", "too short")
    assert main(["--db", path, "db", "verify"]) == 1
    assert "audit key is too short" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# PDF export records the head
# ------------------------------------------------------------------------------------------
def _pdf_streams(data: bytes) -> bytes:
    out = []
    for mt in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", data, re.DOTALL):
        raw = mt.group(2)
        if b"ASCII85Decode" in mt.group(1):
            import base64

            raw = base64.a85decode(raw.strip().removesuffix(b"~>"), ignorechars=b" \n\r\t")
        if b"FlateDecode" in mt.group(1):
            raw = zlib.decompress(raw)
        out.append(raw)
    return b"\n".join(out)


def test_pdf_report_records_the_chain_head(tmp_path, result_factory):
    pytest.importorskip("reportlab")
    from imgqa.report import gather
    from imgqa.report.pdf_export import write_pdf

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        eq = store.add_equipment("CT 1", serial="SN-1")
        for i in range(2):
            store.save_session(eq.id, [result_factory(mean=100.0 + i)],
                               performed_at=T0 + timedelta(days=i))
        n, head_id, head_hash = store.audit_head()
        records = gather(store)
    assert records.audit_anchor == f"{head_id}:{head_hash[:16]}" and records.audit_entries == n
    write_pdf(records, tmp_path / "r.pdf")
    assert records.audit_anchor.encode() in _pdf_streams((tmp_path / "r.pdf").read_bytes())


# ------------------------------------------------------------------------------------------
# PostgreSQL: no direct INSERT into audit_log; init-roles with the documented owner
# ------------------------------------------------------------------------------------------
def _raw(server, dbname, user, sql, params=None):
    with psycopg.connect(host=server.host, port=server.port, user=user, dbname=dbname,
                         autocommit=True) as conn:
        return conn.execute(sql, params).fetchall() if params is not None else \
            conn.execute(sql)


@pytest.mark.postgres
def test_documented_department_setup_and_technologist_audit_rights(pg_server, result_factory,
                                                                   capsys):
    """docs/store.md's steps: an owner made with `createuser` (no CREATEROLE) gets a one-line
    message naming the missing privilege; with CREATEROLE init-roles works; a technologist
    then saves but cannot INSERT into audit_log or append an entry as someone else."""
    dbname = pg_server.new_database()
    owner, tech = f"own_{dbname}", f"tech_{dbname}"
    pg_server.execute(f'CREATE ROLE "{owner}" LOGIN')
    pg_server.execute(f'ALTER DATABASE "{dbname}" OWNER TO "{owner}"')
    url = pg_server.url(dbname, owner)
    assert main(["--db", url, "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--db", url, "db", "init-roles"]) == 1
    err = capsys.readouterr().err
    assert err.strip().splitlines()[0] == (
        f"imgqa: The database owner '{owner}' lacks CREATEROLE: run `ALTER ROLE {owner} "
        "CREATEROLE` as a superuser, or run init-roles as a superuser.")
    assert "Traceback" not in err and "psycopg" not in err
    pg_server.execute(f'ALTER ROLE "{owner}" CREATEROLE')  # = createuser --createrole
    assert main(["--db", url, "db", "init-roles"]) == 0
    pg_server.execute(f'CREATE ROLE "{tech}" LOGIN')
    assert main(["--db", url, "db", "user", tech, "technologist"]) == 0
    with open_store(url) as admin:
        eq = admin.add_equipment("CT 1", serial="SN-1")
    with open_store(pg_server.url(dbname, tech)) as store:
        assert store.current_role() == "technologist"
        s = store.save_session(eq.id, [result_factory()])
        store.add_comment(s.id, "fine")
        assert store.audit_log(1)[0].actor == tech
        head = store.audit_log(1)[0]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _raw(pg_server, dbname, tech,
             "INSERT INTO audit_log (at, actor, action, entity, entity_id, details, prev_hash, "
             f"hash) VALUES (now(), 'someone', 'set_tolerance', 'tolerance', 1, '{{}}', "
             f"'{'0' * 64}', '{'1' * 64}')")
    # the function records only the caller's own login, and only what its role may do
    last = _raw(pg_server, dbname, tech, "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
                ())[0][0]
    call = ("SELECT imgqa_audit_append(now(), %s, %s, 'x', NULL, '{}', %s, %s)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="under your login"):
        _raw(pg_server, dbname, tech, call, ("phys_someone", "comment", last, "a" * 64))
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="imgqa_physicist"):
        _raw(pg_server, dbname, tech, call, (tech, "set_tolerance", last, "a" * 64))
    with pytest.raises(psycopg.errors.SerializationFailure, match="does not follow"):
        _raw(pg_server, dbname, tech, call, (tech, "comment", "b" * 64, "a" * 64))
    with open_store(url) as admin:
        assert admin.audit_log(1)[0].id == head.id  # nothing got in
        assert admin.audit_verify() == (True, [])


def test_permission_message_reads_well(tmp_path):
    from imgqa.errors import StorePermissionError

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        store.set_user_role("someone_else", "admin")  # the local user is now a technologist
        store._role = None
        with pytest.raises(StorePermissionError, match=r"may not add equipment; this needs an "
                                                       r"admin\.$"):
            store.add_equipment("CT 9")
        with pytest.raises(StorePermissionError, match=r"this needs a physicist\.$"):
            store.set_baseline(1, "generic.roi", "mean", 1.0, "x")
