"""The pure routing-rule matcher (`imgqa.service.routing`): which rule a series header meets,
most specific first, ties that disagree refused."""

from __future__ import annotations

import pytest

from imgqa.io.series import Equipment, HeaderSummary
from imgqa.service.routing import match_rule, rule_score, rules_route
from imgqa.store.records import RuleRecord


def _header(**kw) -> HeaderSummary:
    eq = Equipment(manufacturer=kw.pop("manufacturer", "SIEMENS"), model=kw.pop("model", "Aera"),
                   serial=kw.pop("serial", "45112"), station_name=kw.pop("station", "MRC40"))
    base = {"modality": "MR", "series_uid": "1.2.3", "series_description": "ACR T1 axial",
            "protocol_name": "QA_ACR", "rows": 256, "columns": 256}
    base.update(kw)
    return HeaderSummary(equipment=eq, **base)


def _rule(rule_id: int, protocol: str = "mr.acr", *, equipment_id: int | None = 1,
          params: dict | None = None, active: bool = True, **cond) -> RuleRecord:
    return RuleRecord(rule_id=rule_id, version=1, active=active, protocol=protocol,
                      params=params or {}, equipment_id=equipment_id,
                      create_equipment=equipment_id is None, **cond)


@pytest.mark.parametrize(("cond", "hit"), [
    ({"modality": "mr"}, True), ({"modality": "CT"}, False),
    ({"station_name": " mrc40 "}, True), ({"station_name": "MRC41"}, False),
    ({"serial": "45112"}, True), ({"serial": "4511"}, False),
    ({"manufacturer": "Siemens", "model": "AERA"}, True), ({"model": "Skyra"}, False),
    ({"description": r"acr\s+t1"}, True), ({"description": "^QA_"}, True),  # ProtocolName
    ({"description": "sagittal"}, False),
    ({"rows": 256, "columns": 256}, True), ({"rows": 512}, False),
])
def test_each_condition_is_checked(cond, hit):
    assert (rule_score(_rule(1, **cond), _header()) > 0) is hit


def test_a_rule_without_conditions_or_disabled_matches_nothing():
    assert rule_score(_rule(1), _header()) == 0
    assert rule_score(_rule(1, serial="45112", active=False), _header()) == 0
    assert match_rule([], _header()) is None


def test_the_most_specific_rule_wins():
    rules = [_rule(1, "generic.roi", modality="MR"),
             _rule(2, "mr.acr", modality="MR", description="ACR"),
             _rule(3, "mr.acr", station_name="MRC40", description="ACR",
                   params={"slice": "1"}),
             _rule(4, "mr.snr", serial="99999")]
    hit = match_rule(rules, _header())
    assert hit is not None and hit.rule.rule_id == 3 and hit.score == 15
    # another scanner of the same model: the station rule does not apply, the pattern does
    other = _header(station="MRC99", serial="1")
    assert match_rule(rules, other).rule.rule_id == 2
    # a non-ACR MR series falls back to the modality rule
    assert match_rule(rules, _header(series_description="T2 brain",
                                     protocol_name="x")).rule.rule_id == 1


def test_equal_rules_that_disagree_are_ambiguous_and_the_series_waits():
    rules = [_rule(1, "mr.acr", station_name="MRC40"), _rule(2, "mr.snr", station_name="MRC40")]
    assert match_rule(rules, _header()) is None
    d = rules_route(rules)(_header())
    assert not d.analyse and "ambiguous" in d.reason and "1, 2" in d.reason
    # equal rules that agree: the newest wins, the other is named as tied
    same = [_rule(1, station_name="MRC40"), _rule(5, serial="45112")]
    hit = match_rule(same, _header())
    assert hit.rule.rule_id == 5 and hit.tied == (1,)


def test_the_route_carries_the_rule_and_says_why_it_waits():
    route = rules_route([_rule(7, "mr.acr", equipment_id=3, station_name="MRC40",
                               params={"x": "1"})])
    d = route(_header())
    assert (d.analyse, d.protocol, dict(d.params), d.rule_id, d.equipment_id) == \
        (True, "mr.acr", {"x": "1"}, 7, 3)
    d = route(_header(station="CT_ROOM1", modality="CT", serial="7"))
    assert not d.analyse and "no routing rule matches" in d.reason and "CT_ROOM1" in d.reason
    d = rules_route([])(_header())
    assert not d.analyse and "imgqa rule add" in d.reason
