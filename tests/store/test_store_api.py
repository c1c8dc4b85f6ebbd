"""The Store façade end to end, on SQLite and on a real PostgreSQL server (no mocks)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from imgqa.errors import StoreError, StorePermissionError, ToleranceError
from imgqa.evaluate import Tolerance
from imgqa.store import defaults as defaults_mod
from imgqa.store.defaults import DefaultTolerance

T0 = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def _eq(store):
    return store.add_equipment("CT room 1", modality="CT", manufacturer="Acme", model="Scan 1",
                               serial="SN-1", station_name="CT_ROOM_1", location="B2")


def test_equipment_match_and_create(store, result_factory):
    assert store.current_role() == "admin"
    r = result_factory()
    assert store.match_equipment(r.series) is None
    eq = store.create_equipment_from_series(r.series, location="B2")
    assert eq.name == "Acme Scan 1 CT_ROOM_1"
    assert eq.match_rules["serial"] == "SN-1"
    # header facts are compared without case or surrounding spaces
    again = store.match_equipment({**r.series, "manufacturer": " ACME "})
    assert again is not None and again.id == eq.id
    assert store.match_equipment({**r.series, "serial": "SN-2"}) is None
    # two devices with identical rules: ambiguous, neither is chosen
    store.add_equipment("copy", match_rules=dict(eq.match_rules))
    assert store.match_equipment(r.series) is None
    assert [e.name for e in store.list_equipment()] == ["Acme Scan 1 CT_ROOM_1", "copy"]
    store.set_equipment_active(eq.id, False)
    assert [e.name for e in store.list_equipment()] == ["copy"]
    assert len(store.list_equipment(active_only=False)) == 2


def test_save_session_stores_reference_tolerance_and_status(store, result_factory):
    eq = _eq(store)
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="percent", act_low=-3, tol_low=-2,
                        tol_high=2, act_high=3, reason="local policy")
    rows = {}
    for i, v in enumerate((100.0, 97.5, 96.0, None)):
        s = store.save_session(eq.id, [result_factory(mean=v)], performed_at=T0 + timedelta(i),
                               comment=f"day {i}", performed_by="Tech A")
        rows[v] = {r.measurement: r for r in store.session_results(s.id)}
        assert s.performed_by == "Tech A" and s.saved_by == store.current_user()
        assert s.n_results == 3 and s.protocols == ("generic.roi",)
    assert rows[100.0]["mean"].status == "OK"
    assert rows[97.5]["mean"].status == "TOLERANCE"
    assert rows[96.0]["mean"].status == "ACTION"
    assert rows[None]["mean"].status is None and rows[None]["mean"].value is None
    r = rows[97.5]["mean"]
    assert r.reference == 100.0 and r.tolerance == Tolerance("percent", -3, -2, 2, 3)
    assert (r.limits.act_low, r.limits.tol_low, r.limits.tol_high, r.limits.act_high) == \
        (97.0, 98.0, 102.0, 103.0)
    assert r.tolerance_source == "equipment" and r.protocol_version == "1"
    assert rows[100.0]["sd"].status == "NO_TOL"  # no tolerance for sd
    sessions = store.sessions(eq.id)
    # newest first; the session without a mean has only NO_TOL results
    assert [s.worst_status for s in sessions] == ["NO_TOL", "ACTION", "TOLERANCE", "OK"]
    ((uid, sha),) = store.session_inputs(sessions[0].id)
    assert uid.startswith("1.2.3.4.") and sha == "ab" * 32


def test_changing_tolerance_never_changes_stored_status(store, result_factory):
    eq = _eq(store)
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_low=-10,
                        act_high=10, reason="start")
    first = store.save_session(eq.id, [result_factory(mean=105.0)], performed_at=T0)
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_low=-2, act_high=2,
                        reason="tighter after service")
    store.set_baseline(eq.id, "generic.roi", "mean", 90.0, "new tube")
    (old,) = [r for r in store.session_results(first.id) if r.measurement == "mean"]
    assert old.status == "OK" and old.reference == 100.0 and old.tolerance.act_high == 10
    second = store.save_session(eq.id, [result_factory(mean=105.0)], performed_at=T0 + timedelta(1))
    (new,) = [r for r in store.session_results(second.id) if r.measurement == "mean"]
    assert new.status == "ACTION" and new.reference == 90.0
    # the in-memory evaluation uses what is in force now
    judged = store.evaluate(eq.id, result_factory(mean=91.0))
    assert judged.measurement("mean").status == "OK"
    hist = store.baseline_history(eq.id, "generic.roi", "mean")
    assert [(b.old_value, b.value, b.reason) for b in hist] == [
        (None, 100.0, "commissioning"), (100.0, 90.0, "new tube")]
    tols = store.tolerance_history(eq.id, "generic.roi", "mean")
    assert [t.tolerance.act_high for t in tols] == [10, 2]
    assert store.audit_verify() == (True, [])


def test_validation_of_baselines_and_tolerances(store):
    eq = _eq(store)
    with pytest.raises(ToleranceError):
        store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_low=1,
                            tol_low=-1, reason="bad order")
    with pytest.raises(StoreError, match="reason"):
        store.set_baseline(eq.id, "generic.roi", "mean", 1.0, "  ")
    with pytest.raises(StoreError, match="no measurement"):
        store.set_baseline(eq.id, "generic.roi", "nonsense", 1.0, "x")
    store.set_baseline(eq.id, "generic.roi", "sd", 0.0, "zero noise")
    with pytest.raises(ToleranceError, match="zero|0"):
        store.set_tolerance(eq.id, "generic.roi", "sd", kind="percent", act_high=10,
                            reason="percent on zero")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="percent", act_high=10, reason="ok")
    with pytest.raises(ToleranceError):
        store.set_baseline(eq.id, "generic.roi", "mean", 0.0, "percent tolerance on 0")
    assert store.audit_verify()[0]


def test_default_tolerances_fixed_and_baseline_reference(store, result_factory, monkeypatch):
    fixed = DefaultTolerance("generic.roi", "mean", Tolerance("absolute", -5, None, None, 5),
                             0.0, "test standard", False, "test.toml")
    relative = DefaultTolerance("generic.roi", "s*", Tolerance("percent", -20, None, None, 20),
                                None, "test standard", True, "test.toml")
    monkeypatch.setattr(defaults_mod, "defaults_for",
                        lambda p: tuple(d for d in (fixed, relative) if d.protocol == p))
    eq = _eq(store)
    t = store.tolerance(eq.id, "generic.roi", "mean")
    assert t.reference == 0.0 and t.reference_source == "fixed" and t.source == "default:test.toml"
    t = store.tolerance(eq.id, "generic.roi", "sd")
    assert t.reference is None and t.verify  # needs a baseline
    s1 = store.save_session(eq.id, [result_factory(mean=3.0, sd=5.0)], performed_at=T0)
    st = {r.measurement: r.status for r in store.session_results(s1.id)}
    assert st == {"mean": "OK", "sd": "NO_TOL", "snr": "NO_TOL"}
    for i in range(1, 4):
        store.save_session(eq.id, [result_factory(mean=1.0, sd=4.0 + i, snr=10.0 * i)],
                           performed_at=T0 + timedelta(i))
    made = store.baselines_from_sessions(eq.id, "generic.roi", 4, reason="first sessions")
    # mean has a fixed reference in the defaults, so it is left alone
    assert {b.measurement: b.value for b in made} == {"sd": pytest.approx(5.75),
                                                      "snr": pytest.approx(20.0)}
    s5 = store.save_session(eq.id, [result_factory(mean=6.0, sd=6.0)],
                            performed_at=T0 + timedelta(5))
    st = {r.measurement: r.status for r in store.session_results(s5.id)}
    assert st == {"mean": "ACTION", "sd": "OK", "snr": "OK"}


def test_review_and_comments(store, result_factory):
    eq = _eq(store)
    ids = [store.save_session(eq.id, [result_factory()], performed_at=T0 + timedelta(i)).id
           for i in range(3)]
    assert len(store.sessions(unreviewed_only=True)) == 3
    store.review(ids[:2], "approved", "fine")
    pending = store.sessions(unreviewed_only=True)
    assert [s.id for s in pending] == [ids[2]]
    assert store.session(ids[0]).review_decision == "approved"
    assert store.sessions(since=T0 + timedelta(days=1, hours=1))[0].id == ids[2]
    with pytest.raises(StoreError):
        store.review([ids[2]], "maybe")
    with pytest.raises(StoreError):
        store.review([99999], "approved")
    c = store.add_comment(ids[2], "phantom was cold")
    assert store.comments(ids[2]) == [c]
    assert store.audit_verify() == (True, [])


def test_trend_with_bands_and_spc(store, result_factory):
    eq = _eq(store)
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
    store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", tol_low=-2, tol_high=2,
                        act_low=-4, act_high=4, reason="x")
    values = [100.0, 101.0, 99.0, 100.5, 99.5] * 4 + [100.0] * 5 + [106.0]
    for i, v in enumerate(values):
        store.save_session(eq.id, [result_factory(mean=v)], performed_at=T0 + timedelta(i))
    tr = store.trend(eq.id, "generic.roi", "mean")
    assert len(tr.points) == len(values)
    assert [p.value for p in tr.points] == values
    assert tr.points[-1].status == "ACTION"
    assert tr.band("act_high")[0] == 104.0 and tr.points[1].relative_percent == pytest.approx(1)
    assert tr.control is not None and tr.control.n == 20
    assert tr.control.centre == pytest.approx(100.0)
    assert any(v.rule == 1 and v.index == len(values) - 1 for v in tr.violations)
    assert tr.tolerance_now.reference == 100.0
    assert tr.times().dtype.kind == "M"


def test_sqlite_role_map(tmp_path, result_factory):
    import getpass

    from imgqa.store import open_store

    store = open_store(str(tmp_path / "r.sqlite3"))
    eq = _eq(store)
    me = getpass.getuser()
    store.set_user_role("someone_else", "admin")
    assert store.current_role(refresh=True) == "technologist"  # users registered, not me
    with pytest.raises(StorePermissionError):
        store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", act_high=1,
                            reason="x")
    store.save_session(eq.id, [result_factory()])  # a technologist may save
    with pytest.raises(StorePermissionError):
        store.set_user_role(me, "admin")
    assert store.users() == {"someone_else": "admin"}
