"""Roles on a real PostgreSQL server: the server itself refuses what a role may not do."""

from __future__ import annotations

import os

import psycopg
import pytest

from imgqa.cli.main import main
from imgqa.errors import StorePermissionError
from imgqa.store import open_store

pytestmark = pytest.mark.postgres


@pytest.fixture
def department(pg_server, result_factory):
    """A department database with roles, an equipment and a technologist and physicist login."""
    dbname = pg_server.new_database()
    admin_url = pg_server.url(dbname)
    admin = open_store(admin_url)
    eq = admin.add_equipment("CT 1", modality="CT", manufacturer="Acme", model="Scan 1",
                             serial="SN-1")
    admin.assign_protocol(eq.id, "generic.roi", "daily")
    assert main(["--db", admin_url, "db", "init-roles"]) == 0
    assert main(["--db", admin_url, "db", "init-roles"]) == 0  # idempotent
    tag = f"{os.getpid()}_{dbname.rsplit('_', 1)[-1]}"
    tech, phys = f"tech_{tag}", f"phys_{tag}"
    pg_server.execute(f'CREATE ROLE "{tech}" LOGIN')
    pg_server.execute(f'CREATE ROLE "{phys}" LOGIN')
    admin.set_user_role(tech, "technologist")  # GRANT imgqa_technologist TO tech
    admin.set_user_role(phys, "physicist")
    users = admin.users()  # logins are cluster-wide: other tests' logins may be listed too
    assert (users[tech], users[phys]) == ("technologist", "physicist")
    yield {"server": pg_server, "db": dbname, "eq": eq, "admin": admin,
           "tech": tech, "phys": phys}
    admin.close()


def _raw(server, dbname, user, sql):
    with psycopg.connect(host=server.host, port=server.port, user=user, dbname=dbname,
                         autocommit=True) as conn:
        conn.execute(sql)


def test_technologist_saves_but_postgresql_refuses_tolerance_changes(department,
                                                                     result_factory):
    d = department
    server, dbname, eq = d["server"], d["db"], d["eq"]
    tech = open_store(server.url(dbname, d["tech"]))
    assert tech.current_user() == d["tech"] and tech.current_role() == "technologist"
    s = tech.save_session(eq.id, [result_factory()], comment="daily")
    assert s.saved_by == d["tech"] and s.n_results == 3
    assert tech.assignments(eq.id)[0].next_due is not None  # column grant on next_due
    tech.add_comment(s.id, "all fine")
    ev = tech.add_service_event(eq.id, s.performed_at, "repair", "collimator swapped",
                                performed_by="Acme service")
    assert ev.recorded_by == d["tech"]
    # the app refuses ...
    with pytest.raises(StorePermissionError):
        tech.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_high=1,
                           reason="x")
    with pytest.raises(StorePermissionError):
        tech.review([s.id], "approved")
    # ... and so does PostgreSQL itself, for any client
    for sql in (
        ("INSERT INTO tolerance (equipment_id, protocol, measurement, kind, act_high, reason, "
         f"set_by, set_at) VALUES ({eq.id}, 'generic.roi', 'mean', 'absolute', 99, 'sneaky', "
         "'x', now())"),
        ("INSERT INTO baseline (equipment_id, protocol, measurement, value, unit, reason, "
         f"set_by, set_at) VALUES ({eq.id}, 'generic.roi', 'mean', 1, '', 'x', 'x', now())"),
        "UPDATE tolerance SET act_high = 99",
        "UPDATE result SET status = 'OK'",
        "DELETE FROM audit_log",
        "UPDATE service_event SET description = 'x'",
        "DELETE FROM service_event",
        "UPDATE equipment SET name = 'renamed'",
        "UPDATE protocol_assignment SET frequency = 'annual'",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _raw(server, dbname, d["tech"], sql)
    tech.close()


def test_physicist_sets_tolerances_and_reviews_but_cannot_manage_equipment(department,
                                                                           result_factory):
    d = department
    server, dbname, eq = d["server"], d["db"], d["eq"]
    phys = open_store(server.url(dbname, d["phys"]))
    assert phys.current_role() == "physicist"
    phys.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    phys.set_tolerance(eq.id, "generic.roi", "mean", kind="percent", act_low=-5, act_high=5,
                       reason="policy")
    s = phys.save_session(eq.id, [result_factory(mean=110.0)])
    assert s.worst_status == "ACTION"
    phys.review([s.id], "rejected", "repeat after warm-up")
    assert phys.session(s.id).reviewed_by == d["phys"]
    with pytest.raises(StorePermissionError):
        phys.review([s.id], "approved", reviewer="someone else")  # identity is the login
    with pytest.raises(StorePermissionError):
        phys.add_equipment("MR 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _raw(server, dbname, d["phys"], "INSERT INTO equipment (name, modality, manufacturer, "
             "model, serial, station_name, institution, location, active, match_rules, "
             "created_at, created_by) VALUES ('x','','','','','','','',true,'{}',now(),'x')")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _raw(server, dbname, d["phys"], "UPDATE tolerance SET act_high = 50")  # history
    assert phys.audit_verify() == (True, [])
    phys.close()
