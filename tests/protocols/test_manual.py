"""Manual results (issue 11, item 8): typed-in checklists and meter readings as protocols."""

from __future__ import annotations

import pytest

from imgqa.errors import ParameterError
from imgqa.evaluate import evaluate
from imgqa.protocols import all_protocols, get_protocol, run_protocol
from imgqa.protocols.base import Measurement, Result
from imgqa.protocols.manual import (
    MANUAL_ITEMS,
    display_value,
    items_for,
    manual_result,
    parse_value,
    with_manual_values,
)
from imgqa.store.defaults import evaluate_with_defaults, find_default

CT = "manual.ct_daily_checklist"


def _item(protocol: str, name: str):
    return next(i for i in items_for(protocol) if i.name == name)


def test_manual_protocols_are_declared_with_typed_items():
    manual = {p.name: p for p in all_protocols() if p.kind == "manual"}
    assert {CT, "manual.xray_checklist"} <= set(manual)
    kinds = {i.kind for i in MANUAL_ITEMS[CT]}
    assert kinds == {"number", "passfail", "text"}
    # numbers and pass/fail items are measurements (stored, judged, trended); text is not
    names = {m.name for m in manual[CT].measurements}
    assert {"laser_alignment", "table_movement", "kvp_measured", "dose_measured"} <= names
    assert "notes" not in names
    assert manual[CT].measurement("kvp_measured").unit == "kV"
    assert all(p.detect is None for p in manual.values())  # never chosen for images


@pytest.mark.parametrize("typed,stored", [("pass", 1.0), ("OK", 1.0), (" yes ", 1.0),
                                          ("fail", 0.0), ("No", 0.0), ("0", 0.0), ("", None)])
def test_pass_fail_is_stored_as_one_or_zero(typed, stored):
    assert parse_value(_item(CT, "laser_alignment"), typed) == stored


def test_readings_parse_decimal_comma_and_refuse_slips():
    kv = _item(CT, "kvp_measured")
    assert parse_value(kv, "120,4") == pytest.approx(120.4)
    with pytest.raises(ParameterError, match="1204 kV cannot be right"):
        parse_value(kv, "1204")
    with pytest.raises(ParameterError, match="not a number"):
        parse_value(kv, "12O")
    with pytest.raises(ParameterError, match="type pass or fail"):
        parse_value(_item(CT, "laser_alignment"), "maybe")


def test_manual_result_holds_numbers_flags_and_notes():
    r = manual_result(CT, {"laser_alignment": "pass", "table_movement": "fail",
                           "kvp_measured": "120.4", "dose_measured": "",
                           "notes": "left laser 2 mm high"}, entered_by="J. Tech")
    assert r.as_dict() == {"laser_alignment": 1.0, "table_movement": 0.0,
                           "kvp_measured": pytest.approx(120.4)}
    assert r.inputs == ()
    assert r.parameters["entered_by"] == "J. Tech"
    assert r.parameters["notes"] == {"notes": "left laser 2 mm high"}
    assert "Entered manually by J. Tech." in r.warnings
    assert any("left laser 2 mm high" in w for w in r.warnings)
    assert display_value(CT, "table_movement", 0.0) == "fail"
    assert display_value(CT, "kvp_measured", 120.4) == "120.4"


def test_unknown_item_empty_entry_and_analysed_protocol_are_refused():
    with pytest.raises(ParameterError, match="no item 'laser'") as exc:
        manual_result(CT, {"laser": "pass"}, entered_by="x")
    assert "laser_alignment" in exc.value.hint
    with pytest.raises(ParameterError, match="Nothing to record"):
        manual_result(CT, {"kvp_measured": ""}, entered_by="x")
    with pytest.raises(ParameterError, match="analysed from images"):
        manual_result("ct.water", {"mean_hu_centre": "0"}, entered_by="x")


def test_a_manual_protocol_refuses_images_with_a_plain_message(tmp_path):
    import numpy as np

    from imgqa.io import load
    from imgqa.phantoms.writer import write_series

    write_series(np.zeros((32, 32)), tmp_path, modality="CT", description="water",
                 pixel_spacing_mm=0.5)
    (series,) = load(tmp_path)
    with pytest.raises(ParameterError, match="entered by hand") as exc:
        run_protocol(CT, series)
    assert "imgqa record" in exc.value.hint


def test_default_tolerances_judge_checklists_and_readings():
    r = manual_result(CT, {"laser_alignment": "pass", "table_movement": "fail"},
                      entered_by="x")
    judged = evaluate_with_defaults(r)
    assert judged.measurement("laser_alignment").status == "OK"
    assert judged.measurement("table_movement").status == "ACTION"
    kv = find_default(CT, "kvp_measured")
    assert kv.uses_baseline and kv.tolerance.kind == "percent"
    # kV against a nominal 120 kV baseline: ±5 % action limits
    assert evaluate(125.9, 120.0, kv.tolerance) == "OK"
    assert evaluate(126.1, 120.0, kv.tolerance) == "ACTION"


def _acr_result(spokes: float | None) -> Result:
    proto = get_protocol("mr.acr")
    ms = tuple(Measurement(m.name, 1.0 if m.name != "low_contrast_spokes" else spokes, m.unit)
               for m in proto.measurements)
    return Result(protocol="mr.acr", protocol_version=proto.version,
                  parameters={"count_spokes": True}, series={"modality": "MR"},
                  measurements=ms, warnings=("Low-contrast detectability not scored "
                                             "automatically: ... count visually",))


def test_visual_spokes_count_replaces_the_missing_one_and_is_marked():
    r = with_manual_values(_acr_result(None), {"low_contrast_spokes": "37"},
                           entered_by="Dr P")
    assert r.value("low_contrast_spokes") == 37.0
    assert r.parameters["manual_entries"]["low_contrast_spokes"] == {
        "value": 37.0, "entered_by": "Dr P", "automatic": None}
    assert r.parameters["count_spokes"] is True
    assert any("entered manually by Dr P" in w and "not scored automatically" in w
               for w in r.warnings)
    # an automatic count that was there is kept in the record of what was replaced
    r2 = with_manual_values(_acr_result(33.0), {"low_contrast_spokes": "35"}, entered_by="Dr P")
    assert r2.parameters["manual_entries"]["low_contrast_spokes"]["automatic"] == 33.0
    with pytest.raises(ParameterError, match="no item 'piu'"):
        with_manual_values(_acr_result(None), {"piu": "90"}, entered_by="Dr P")
    with pytest.raises(ParameterError, match="cannot be right"):
        with_manual_values(_acr_result(None), {"low_contrast_spokes": "370"}, entered_by="x")


# -- department checklists (TOML in the user data folder) ------------------------------------
NM_DAILY = """
name = "manual.nm_daily_checklist"
title = "Gamma camera daily checklist"
modalities = ["NM"]
standard = "Department procedure QC-NM-01"

[[item]]
name = "collimator_intact"
kind = "passfail"
label = "Collimator undamaged"

[[item]]
name = "photopeak_kev"
kind = "number"
label = "Tc-99m photopeak"
unit = "keV"
minimum = 100
maximum = 180

[[item]]
name = "remarks"
kind = "text"
"""


@pytest.fixture
def scratch_registry(monkeypatch):
    """Department checklists registered by a test do not outlive it."""
    from imgqa.protocols import base, manual

    # The registry is one dict shared by every framework module: restore its content.
    saved = dict(base._REGISTRY)
    monkeypatch.setattr(manual, "MANUAL_ITEMS", dict(manual.MANUAL_ITEMS))
    yield
    base._REGISTRY.clear()
    base._REGISTRY.update(saved)


def test_department_checklist_is_registered_and_judged(tmp_path, scratch_registry):
    from imgqa.protocols.manual import load_department_checklists
    from imgqa.validation import missing_protocols

    (tmp_path / "nm_daily.toml").write_text(NM_DAILY, encoding="utf-8")
    (tmp_path / "broken.toml").write_text('name = "ct.water"\n', encoding="utf-8")
    problems = load_department_checklists(tmp_path)
    assert len(problems) == 1 and "broken.toml" in problems[0] and "manual." in problems[0]
    proto = get_protocol("manual.nm_daily_checklist")
    assert proto.kind == "manual" and proto.modalities == ("NM",)
    assert get_protocol("ct.water").kind == "analysis"        # never replaced
    assert missing_protocols() == []                          # manual: no check needed
    r = manual_result("manual.nm_daily_checklist",
                      {"collimator_intact": "fail", "photopeak_kev": "141", "remarks": "dent"},
                      entered_by="N. Tech")
    judged = evaluate_with_defaults(r)
    # the checklist rule judges a department's pass/fail item without a tolerance entry
    assert judged.measurement("collimator_intact").status == "ACTION"
    assert judged.measurement("photopeak_kev").status == "NO_TOL"
    with pytest.raises(ParameterError, match="cannot be right"):
        manual_result("manual.nm_daily_checklist", {"photopeak_kev": "14"}, entered_by="x")


@pytest.mark.parametrize("text,message", [
    ('name = "manual.x"\n[[item]]\nname = "a"\nkind = "colour"\n', "needs a snake_case name"),
    ('name = "manual.ct_daily_checklist"\n[[item]]\nname = "a"\nkind = "passfail"\n',
     "packaged test"),
    ('name = "manual.x"\n[[item]]\nname = "a"\nkind = "text"\n', "no pass/fail or number"),
    ('name = "manual.x"\n[[item]]\nname = "a"\nkind = "number"\nminimum = "low"\n',
     "must be numbers"),
    ('name = manual.x', "cannot be read"),
])
def test_a_bad_checklist_file_is_explained(tmp_path, scratch_registry, text, message):
    from imgqa.errors import ProtocolError
    from imgqa.protocols.manual import load_checklist_file

    path = tmp_path / "dept.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ProtocolError, match=message) as exc:
        load_checklist_file(path)
    assert "dept.toml" in exc.value.message
