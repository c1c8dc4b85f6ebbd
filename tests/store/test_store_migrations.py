"""Schema upgrades for real: a database made at revision 0001 with data (sessions, results,
baselines, tolerances, reviews, comments, audit entries) is opened with
``open_store(upgrade=True)``. On SQLite a timestamped backup is made first; on both SQLite and
a real PostgreSQL server the schema ends at the head, every earlier row is unchanged and the
audit chain still verifies and goes on."""

from __future__ import annotations

import re
import sqlite3
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy import inspect, select, text

from imgqa.errors import StoreError
from imgqa.store import Store, db, open_store
from imgqa.store import models as m

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
# The tables of revision 0001 (frozen here, like the migration itself).
TABLES_0001 = ("app_user", "site", "equipment", "protocol_assignment", "qc_session", "analysis",
               "input_image", "result", "baseline", "tolerance", "review", "comment",
               "audit_log")
# Columns added to those tables by later revisions (0004: schedules every N days, grace).
ADDED_LATER = {"protocol_assignment": ("interval_days", "grace_days")}


def _engine(url: str):
    return db.make_engine(db.resolve_url(url)[0])


def _make_0001_database(url: str, result_factory) -> dict:
    """A database at revision 0001 with a little of everything, written by imgqa itself."""
    engine = _engine(url)
    assert db.upgrade(engine, target="0001", backup=False) is None
    assert db.current_revision(engine) == "0001"
    assert "service_event" not in inspect(engine).get_table_names()
    # Today's ORM reads the schedule columns of 0004 (every save moves the schedule on), so
    # they exist while imgqa fills the database and are dropped again before the upgrade.
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE protocol_assignment ADD COLUMN interval_days INTEGER"))
        conn.execute(text("ALTER TABLE protocol_assignment ADD COLUMN grace_days INTEGER "
                          "NOT NULL DEFAULT 0"))
    store = Store(engine)
    eq = store.add_equipment("CT room 1", modality="CT", manufacturer="Acme", model="Scan 1",
                             serial="SN-1", site="Main hospital")
    store.assign_protocol(eq.id, "generic.roi", "daily")
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="percent", tol_low=-2, tol_high=2,
                        act_low=-3, act_high=3, reason="local policy")
    ids = [store.save_session(eq.id, [result_factory(mean=v)], performed_at=T0 + timedelta(i),
                              performed_by="Tech A").id
           for i, v in enumerate((100.0, 101.0, 97.5, 96.0))]
    store.review(ids[:2], "approved", "fine")
    store.add_comment(ids[2], "phantom was cold")
    with engine.begin() as conn:
        for col in ADDED_LATER["protocol_assignment"]:
            conn.execute(text(f"ALTER TABLE protocol_assignment DROP COLUMN {col}"))
    assert {c["name"] for c in inspect(engine).get_columns("protocol_assignment")}.isdisjoint(
        ADDED_LATER["protocol_assignment"])
    snapshot = _dump(engine)
    engine.dispose()
    return {"eq": eq, "sessions": ids, "rows": snapshot}


def _dump(engine) -> dict[str, list[tuple]]:
    """Every row of every revision-0001 table, in primary-key order."""
    out = {}
    with engine.connect() as conn:
        for name in TABLES_0001:
            table = m.Base.metadata.tables[name]
            cols = [c for c in table.columns if c.name not in ADDED_LATER.get(name, ())]
            out[name] = [tuple(r) for r in conn.execute(
                select(*cols).order_by(*table.primary_key.columns))]
    return out


def _upgrade_and_check(url: str, made: dict) -> Store:
    store = open_store(url, upgrade=True)
    assert db.current_revision(store.engine) == db.head_revision() == "0006"
    assert "service_event" in inspect(store.engine).get_table_names()
    assert _dump(store.engine) == made["rows"]  # nothing earlier changed
    # 0004: the existing schedule keeps its frequency, with no interval and no grace
    [a] = store.assignments(made["eq"].id)
    assert (a.frequency, a.interval_days, a.grace_days) == ("daily", None, 0)
    assert store.audit_verify() == (True, [])
    # the upgraded database works as a new one: reads, writes, the chain goes on
    last = store.audit_log(1)[0]
    assert [s.worst_status for s in store.sessions(made["eq"].id)] == \
        ["ACTION", "TOLERANCE", "OK", "OK"]
    ev = store.add_service_event(made["eq"].id, T0 + timedelta(days=2, hours=4),
                                 "part replacement", "X-ray tube replaced")
    entry = store.audit_log(1)[0]
    assert entry.entity == "service_event" and entry.id == last.id + 1
    tr = store.trend(made["eq"].id, "generic.roi", "mean")
    assert tr.service_events == (ev,) and len(tr.points) == 4
    assert store.audit_verify() == (True, [])
    with pytest.raises(Exception, match="read-only|history"):
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM service_event"))
    return store


def test_sqlite_upgrade_on_start_makes_a_backup_first(tmp_path, result_factory):
    path = tmp_path / "qc.sqlite3"
    made = _make_0001_database(str(path), result_factory)
    before = datetime.now(UTC).replace(microsecond=0)
    store = _upgrade_and_check(str(path), made)
    store.close()
    backups = sorted(tmp_path.glob("qc.sqlite3.*.bak"))
    assert len(backups) == 1, backups
    stamp = re.fullmatch(r"qc\.sqlite3\.0001\.(\d{8}T\d{6}Z)\.bak", backups[0].name)
    assert stamp, backups[0].name
    when = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert before <= when <= datetime.now(UTC)
    # the backup is the database as it was: revision 0001, same rows, no new table
    old = _engine(str(backups[0]))
    assert db.current_revision(old) == "0001"
    assert "service_event" not in inspect(old).get_table_names()
    assert _dump(old) == made["rows"]
    old.dispose()
    # opening again does nothing more: no second backup
    open_store(str(path)).close()
    assert len(list(tmp_path.glob("qc.sqlite3.*.bak"))) == 1


@pytest.mark.postgres
def test_postgresql_upgrade_keeps_data_and_chain(pg_server, result_factory):
    url = pg_server.url(pg_server.new_database())
    made = _make_0001_database(url, result_factory)
    _upgrade_and_check(url, made).close()


def test_downgrade_and_upgrade_again(store_url, result_factory):
    """0002 can be undone (the table and its triggers go) and redone."""
    from alembic import command

    open_store(store_url).close()
    engine = _engine(store_url)
    with engine.begin() as conn:
        command.downgrade(db._alembic_config(conn), "0001")
    assert db.current_revision(engine) == "0001"
    assert "service_event" not in inspect(engine).get_table_names()
    db.upgrade(engine, backup=False)
    assert db.current_revision(engine) == "0006"
    engine.dispose()
    with open_store(store_url) as store:
        eq = store.add_equipment("MR 1")
        store.add_service_event(eq.id, T0, "software", "upgrade")
        with pytest.raises(Exception, match="read-only|history"):
            with store.engine.begin() as conn:
                conn.execute(text("UPDATE service_event SET kind = 'x'"))


@pytest.mark.postgres
def test_upgrade_grants_the_new_table_to_existing_roles(pg_server, result_factory):
    """A department upgraded by the owner: technologists can record service events (and read
    trends) at once, but never change or delete them."""
    from imgqa.store.roles import init_roles_sql

    dbname = pg_server.new_database()
    url = pg_server.url(dbname)
    made = _make_0001_database(url, result_factory)
    engine = _engine(url)
    with engine.begin() as conn:
        for stmt in init_roles_sql(dbname, tables=TABLES_0001):
            conn.execute(text(stmt))
    engine.dispose()
    tech = f"tech_{dbname}"  # logins are cluster-wide; database names are unique
    pg_server.execute(f'CREATE ROLE "{tech}" LOGIN IN ROLE imgqa_technologist')
    open_store(url).close()  # the owner upgrades
    with open_store(pg_server.url(dbname, tech)) as store:
        assert store.current_role() == "technologist"
        ev = store.add_service_event(made["eq"].id, T0, "calibration", "detector calibration",
                                     performed_by="Vendor engineer")
        assert ev.recorded_by == tech
        assert store.trend(made["eq"].id, "generic.roi", "mean").service_events == (ev,)
        # 0006: a technologist saves a session with its archived image files
        from imgqa.io.image_archive import ArchivedFile

        f = ArchivedFile("CT-room-1/2025-06-10/1.2.3/1.2.3.9.dcm", "c" * 64, 123, "1.2.3.9")
        sess = store.save_session(made["eq"].id, [result_factory(mean=99.0)], files=[f])
        assert store.session_files(sess.id) == [f]
    for sql in ("UPDATE service_event SET kind = 'x'", "DELETE FROM service_event",
                "UPDATE session_file SET size = 0", "DELETE FROM session_file"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with psycopg.connect(host=pg_server.host, port=pg_server.port, user=tech,
                                 dbname=dbname, autocommit=True) as conn:
                conn.execute(sql)
    # 0005: a physicist login may add and disable routing rules (the audit function knows
    # set_rule as a physicist's action); a technologist reads them but may not add one
    phys = f"phys_{dbname}"
    pg_server.execute(f'CREATE ROLE "{phys}" LOGIN IN ROLE imgqa_physicist')
    with open_store(pg_server.url(dbname, phys)) as store:
        r = store.add_rule("generic.roi", equipment_id=made["eq"].id, serial="SN-1",
                           reason="CT constancy")
        assert store.disable_rule(r.rule_id, "moved").created_by == phys
        assert store.audit_verify() == (True, [])
    with open_store(pg_server.url(dbname, tech)) as store:
        assert [x.version for x in store.rule_history(r.rule_id)] == [1, 2]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with psycopg.connect(host=pg_server.host, port=pg_server.port, user=tech,
                             dbname=dbname, autocommit=True) as conn:
            conn.execute("SELECT imgqa_audit_append(now(), %s, 'set_rule', 'routing_rule', "
                         "1, '{}', NULL, repeat('a', 64))", (tech,))


def test_backup_copy_is_a_working_database(tmp_path, result_factory):
    """The backup can be opened (and upgraded) like the original, e.g. to roll back."""
    path = tmp_path / "qc.sqlite3"
    made = _make_0001_database(str(path), result_factory)
    open_store(str(path)).close()
    (backup,) = tmp_path.glob("qc.sqlite3.0001.*.bak")
    restored = tmp_path / "restored.sqlite3"
    with sqlite3.connect(str(backup)) as src, sqlite3.connect(str(restored)) as dst:
        src.backup(dst)
    with open_store(str(restored)) as store:
        assert store.audit_verify() == (True, [])
        assert len(store.sessions(made["eq"].id)) == 4


def test_an_up_to_date_database_is_told_without_alembic(monkeypatch):
    # Issue 17: opening a database at the newest schema compares its revision with
    # db.SCHEMA_HEAD (no Alembic import); it must be Alembic's head, and anything else is
    # decided by Alembic, so a SCHEMA_HEAD left behind by a new migration costs time only.
    assert db.SCHEMA_HEAD == db.head_revision()
    assert db.is_current(db.SCHEMA_HEAD)
    assert not db.is_current("0001") and not db.is_current(None)
    monkeypatch.setattr(db, "SCHEMA_HEAD", "0005")  # as if 0006 were added and this forgotten
    assert not db.is_current("0005") and db.is_current("0006")


def test_current_revision_reads_the_version_table(tmp_path):
    engine = _engine(str(tmp_path / "rev.sqlite3"))
    assert db.current_revision(engine) is None  # empty database
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    assert db.current_revision(engine) is None  # table, no row
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version VALUES ('0003'), ('0004')"))
    with pytest.raises(StoreError, match="several schema revisions"):
        db.current_revision(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version WHERE version_num = '0004'"))
    assert db.current_revision(engine) == "0003"
