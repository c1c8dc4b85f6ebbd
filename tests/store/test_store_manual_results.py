"""Manual results (issue 11, item 8) through the store on SQLite and a real PostgreSQL server:
typed-in values without images are saved, judged, trended and pass the integrity check."""

from __future__ import annotations

from imgqa.protocols.manual import manual_result

CT = "manual.ct_daily_checklist"


def test_manual_session_round_trips_and_is_judged(store):
    eq = store.add_equipment("CT room 1", modality="CT")
    store.set_baseline(eq.id, CT, "kvp_measured", 120.0, "nominal kV")
    first = store.save_session(eq.id, [manual_result(
        CT, {"laser_alignment": "pass", "kvp_measured": "121", "notes": "all fine"},
        entered_by="J. Tech")], performed_by="J. Tech")
    second = store.save_session(eq.id, [manual_result(
        CT, {"laser_alignment": "fail", "kvp_measured": "127"}, entered_by="J. Tech")])
    assert (first.worst_status, second.worst_status) == ("OK", "ACTION")
    rows = {r.measurement: r for r in store.session_results(first.id)}
    assert rows["laser_alignment"].value == 1.0 and rows["laser_alignment"].reference == 1.0
    assert rows["kvp_measured"].reference == 120.0 and rows["kvp_measured"].unit == "kV"
    assert rows["kvp_measured"].parameters["notes"] == {"notes": "all fine"}
    assert store.session_inputs(first.id) == []
    trend = store.trend(eq.id, CT, "laser_alignment")
    assert [p.value for p in trend.points] == [1.0, 0.0]
    assert [p.status for p in trend.points] == ["OK", "ACTION"]
    ok, problems = store.audit_verify()
    assert ok, problems

