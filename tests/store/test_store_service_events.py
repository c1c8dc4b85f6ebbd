"""Service events (tube change, recalibration, software upgrade...): stored insert-only and
audited, listed, marked on trends, and optionally restarting the control chart's baseline
period. SQLite and a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from imgqa.errors import StoreError
from imgqa.store import SERVICE_KINDS, ServiceEventRecord

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def _eq(store, name="CT room 1"):
    return store.add_equipment(name, modality="CT", manufacturer="Acme", model="Scan 1",
                               serial=f"SN-{name}")


def test_add_and_list_service_events(store):
    eq, other = _eq(store), _eq(store, "CT room 2")
    a = store.add_service_event(eq.id, date(2024, 1, 10), "part replacement",
                                "  X-ray tube replaced ", performed_by="A. Engineer, Acme")
    b = store.add_service_event(eq.id, T0 + timedelta(days=3, hours=2), "calibration",
                                "detector recalibration")
    store.add_service_event(other.id, T0, "software", "VA40 upgrade")
    assert isinstance(a, ServiceEventRecord)
    # a date is 00:00 UTC of that day; text is trimmed; who recorded it is the login
    assert a.when == datetime(2024, 1, 10, tzinfo=UTC)
    assert (a.kind, a.description, a.performed_by) == ("part replacement",
                                                       "X-ray tube replaced", "A. Engineer, Acme")
    assert a.recorded_by == store.current_user() and a.created_at.tzinfo is not None
    assert b.performed_by == ""
    # oldest first, per equipment; since inclusive, until exclusive
    assert [e.id for e in store.service_events(eq.id)] == [b.id, a.id]
    assert store.service_events(eq.id) == [b, a]  # read back exactly as returned
    assert [e.id for e in store.service_events(eq.id, since=a.when)] == [a.id]
    assert [e.id for e in store.service_events(eq.id, until=a.when)] == [b.id]
    assert [e.kind for e in store.service_events(other.id)] == ["software"]
    assert a.label() == "part replacement" and "…" in a.__class__(
        1, 1, T0, "x" * 40, "", "", "", T0).label()
    assert "acceptance" in SERVICE_KINDS
    entries = [e for e in store.audit_log() if e.entity == "service_event"]
    assert [e.entity_id for e in entries] == [a.id, b.id, b.id + 1]
    assert store.audit_verify() == (True, [])


def test_service_event_validation(store):
    eq = _eq(store)
    with pytest.raises(StoreError, match="kind"):
        store.add_service_event(eq.id, T0, "  ", "x")
    with pytest.raises(StoreError, match="description"):
        store.add_service_event(eq.id, T0, "repair", "")
    with pytest.raises(StoreError, match="future"):
        store.add_service_event(eq.id, datetime.now(UTC) + timedelta(days=30), "repair", "x")
    with pytest.raises(StoreError, match="no equipment"):
        store.add_service_event(9999, T0, "repair", "x")
    assert store.service_events(eq.id) == []


def test_service_events_are_append_only_in_the_database(store):
    eq = _eq(store)
    ev = store.add_service_event(eq.id, T0, "repair", "collimator swap")
    for sql in ("UPDATE service_event SET description = 'nothing happened'",
                "DELETE FROM service_event"):
        with pytest.raises(Exception, match="read-only|history"):
            with store.engine.begin() as conn:
                conn.execute(text(sql))
    assert store.service_events(eq.id) == [ev]


def test_audit_detects_an_event_edited_behind_imgqa(tmp_path):
    """Drop the trigger (as another tool could on a file) and edit: the audit check sees it."""
    import sqlite3

    from imgqa.store import open_store

    path = tmp_path / "t.sqlite3"
    with open_store(str(path)) as store:
        eq = _eq(store)
        ev = store.add_service_event(eq.id, T0, "calibration", "detector gain calibration")
    with sqlite3.connect(str(path)) as c:
        c.execute("DROP TRIGGER imgqa_service_event_no_update")
        c.execute("UPDATE service_event SET occurred_at = '2023-12-01 00:00:00.000000'")
    with open_store(str(path)) as store:
        ok, problems = store.audit_verify()
    assert not ok and problems == [f"service_event {ev.id} was changed after it was saved "
                                   "(its content no longer matches the audit log)"]


def _daily(store, result_factory, eq, values, start=T0):
    for i, v in enumerate(values):
        store.save_session(eq.id, [result_factory(mean=v)], performed_at=start + timedelta(i))


def test_trend_carries_events_and_restarts_control_chart_after_one(store, result_factory):
    """A tube change moves the mean from 100 to 110: with the event as a reset, the control
    limits describe the new process; without it, the old period flags every new point."""
    eq = _eq(store)
    rng = np.random.default_rng(3)
    before = list(100.0 + rng.normal(0, 1.0, 20).round(3))
    after = list(110.0 + rng.normal(0, 1.0, 12).round(3))
    _daily(store, result_factory, eq, before + after)
    tube = store.add_service_event(eq.id, T0 + timedelta(days=19, hours=12),
                                   "part replacement", "X-ray tube replaced")
    sw = store.add_service_event(eq.id, T0 + timedelta(days=25, hours=12), "software",
                                 "console software upgrade")
    old = store.add_service_event(eq.id, T0 - timedelta(days=30), "acceptance", "acceptance")

    plain = store.trend(eq.id, "generic.roi", "mean")
    assert plain.service_events == (old, tube, sw)
    assert plain.control.n == 20 and plain.control.centre == pytest.approx(np.mean(before))
    assert plain.spc_period == (T0, T0 + timedelta(days=19))
    flagged = {v.index for v in plain.violations if v.rule == 1}
    assert flagged == set(range(20, 32))  # every point after the step is beyond 3σ

    # restart at the tube change only (by kind): centre from the 12 new values
    tr = store.trend(eq.id, "generic.roi", "mean", spc_restart_on_events={"Part Replacement"})
    assert tr.control.n == 12 and tr.control.centre == pytest.approx(np.mean(after))
    assert store.trend(eq.id, "generic.roi", "mean",
                       spc_restart_on_events="part replacement").control == tr.control
    assert tr.spc_period == (T0 + timedelta(days=20), T0 + timedelta(days=31))
    assert all(v.index >= 20 for v in tr.violations)  # rules apply from the period on
    assert not [v for v in tr.violations if v.rule == 1]
    # every event: the software upgrade is newer, so the period starts after it
    tr_all = store.trend(eq.id, "generic.roi", "mean", spc_restart_on_events=True)
    assert tr_all.control.n == 6 and tr_all.spc_period[0] == T0 + timedelta(days=26)
    assert tr_all.control.centre == pytest.approx(np.mean(after[6:]))
    # `since` narrows the events to the window as well
    assert store.trend(eq.id, "generic.roi", "mean", since=T0).service_events == (tube, sw)


def test_event_with_too_few_points_after_it_keeps_the_previous_period(store, result_factory):
    eq = _eq(store)
    _daily(store, result_factory, eq, [100.0, 101.0, 99.0, 100.0, 110.0])
    store.add_service_event(eq.id, T0 + timedelta(days=3, hours=12), "repair", "repair")
    tr = store.trend(eq.id, "generic.roi", "mean", spc_restart_on_events=True)
    assert tr.control.n == 5 and tr.spc_period[0] == T0  # one point after it: not yet
