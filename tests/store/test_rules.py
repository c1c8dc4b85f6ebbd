"""Routing rules in the results database (`imgqa.store.rules`, ``imgqa rule``): versioned,
audited with a reason, disabled by a new version, never deleted; SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from imgqa.cli.main import main
from imgqa.errors import ImgqaError, StoreError


def test_rules_are_versioned_and_audited(store):
    eq = store.add_equipment("MR 3T", modality="MR", serial="45112")
    r = store.add_rule("mr.acr", equipment_id=eq.id, station_name="MRC40",
                       description="ACR", params={}, reason="weekly ACR on the 3T")
    r2 = store.add_rule("generic.roi", create_equipment=True, modality="CT",
                        params={"roi_diameter_mm": "30"}, reason="any CT: central ROI")
    assert (r.rule_id, r.version, r2.rule_id) == (1, 1, 2)
    assert [x.rule_id for x in store.rules()] == [1, 2]
    d = store.disable_rule(1, "replaced by the sagittal test")
    assert (d.rule_id, d.version, d.active, d.station_name) == (1, 2, False, "MRC40")
    assert [x.rule_id for x in store.rules()] == [2]
    assert [(x.version, x.active) for x in store.rule_history(1)] == [(1, True), (2, False)]
    assert store.rule(1).reason == "replaced by the sagittal test"
    assert [x.rule_id for x in store.rules(active_only=False)] == [1, 2]
    entries = [json.loads(e.details) for e in store.audit_log() if e.entity == "routing_rule"]
    assert [(e["rule_id"], e["version"], e["reason"]) for e in entries] == [
        (1, 1, "weekly ACR on the 3T"), (2, 1, "any CT: central ROI"),
        (1, 2, "replaced by the sagittal test")]
    assert store.audit_verify() == (True, [])
    with pytest.raises(StoreError, match="already disabled"):
        store.disable_rule(1, "again")
    # insert-only: the database itself refuses to rewrite a rule
    with pytest.raises(Exception, match="read-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE routing_rule SET protocol = 'x'"))


@pytest.mark.parametrize(("kw", "message"), [
    ({"reason": " "}, "reason"),
    ({}, "at least one condition"),
    ({"serial": "1", "create_equipment": False}, "equipment"),
    ({"serial": "1", "description": "ACR("}, "regular expression"),
    ({"serial": "1", "params": {"no_such": "1"}}, "no parameter"),
    ({"serial": "1", "rows": 0}, "positive"),
])
def test_bad_rules_are_refused_with_a_reason(store, kw, message):
    args = {"reason": "r", "create_equipment": True, **kw}
    with pytest.raises(ImgqaError, match=message):
        store.add_rule("generic.roi", **args)
    assert store.rules(active_only=False) == []


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_rule_commands(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    code, out, _ = _run(capsys, *db, "equipment", "add", "MR 3T", "--modality", "MR",
                        "--serial", "45112")
    assert code == 0
    code, out, _ = _run(capsys, *db, "rule", "add", "--protocol", "mr.acr", "--equipment",
                        "MR 3T", "--station", "MRC40", "--description", "ACR|phantom",
                        "--reason", "weekly ACR")
    assert code == 0 and out.startswith("rule 1:")
    code, out, _ = _run(capsys, *db, "rule", "add", "--protocol", "generic.roi",
                        "--create-equipment", "--modality", "CT", "--param",
                        "roi_diameter_mm=30", "--reason", "CT", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["params"] == {"roi_diameter_mm": "30"}
    assert doc["conditions"] == {"modality": "CT"} and doc["create_equipment"] is True
    code, _, err = _run(capsys, *db, "rule", "add", "--protocol", "mr.acr",
                        "--create-equipment", "--reason", "x")
    assert code == 1 and "condition" in err
    code, out, _ = _run(capsys, *db, "rule", "list", "--format", "json")
    assert [r["rule_id"] for r in json.loads(out)["rules"]] == [1, 2]
    code, out, _ = _run(capsys, *db, "rule", "disable", "1", "--reason", "moved")
    assert code == 0 and "version 2" in out
    code, out, _ = _run(capsys, *db, "rule", "list")
    assert "mr.acr" not in out and "generic.roi" in out
    code, out, _ = _run(capsys, *db, "rule", "show", "1")
    assert "disabled" in out and "moved" in out and "weekly ACR" in out
    code, _, err = _run(capsys, *db, "rule", "show", "9")
    assert code == 1 and "no routing rule 9" in err
