"""Default tolerances limited by analysis conditions (``when``): the ACR medium phantom
(issue 16). A medium result is judged with 165 ± 2 mm and PIU ≥ 90/85 %, a large one exactly
as before, both through the packaged defaults alone and through the store (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest

from imgqa.errors import ToleranceError
from imgqa.protocols.base import InputIdentity, Measurement, Result
from imgqa.store.defaults import _parse, evaluate_with_defaults, find_default, result_conditions

_IDS = iter(range(1, 10_000))


def _acr(variant: str | None, *, requested: str = "auto", diameter: float = 166.0,
         piu: float = 88.0) -> Result:
    """An mr.acr result as the battery makes it (values only; no images)."""
    extra = {"resolved": {"phantom": variant}} if variant else {}
    meas = [Measurement(f"geometric_accuracy_slice{s}_{d}", diameter, "mm")
            for s, d in ((1, "horizontal"), (5, "diagonal_45"))]
    meas += [Measurement("piu", piu, "%"), Measurement("slice_thickness_mm", 5.2, "mm")]
    return Result(protocol="mr.acr", protocol_version="1", parameters={"phantom": requested},
                  series={"modality": "MR", "manufacturer": "Acme", "model": "MR 1",
                          "serial": "MR-1", "station_name": "MR1", "series_uid": "1.2.9"},
                  measurements=tuple(meas), extra=extra,
                  inputs=(InputIdentity(f"1.2.9.{next(_IDS)}", "cd" * 32),),
                  imgqa_version="test")


def test_conditions_are_the_resolved_parameters():
    assert result_conditions(_acr("medium"))["phantom"] == "medium"   # auto → medium
    assert result_conditions(_acr(None, requested="medium")) == {"phantom": "medium"}
    assert result_conditions(_acr("large", requested="medium"))["phantom"] == "large"


@pytest.mark.parametrize("fs, large_piu, medium_piu", [(1.5, 87.5, 90.0), (3.0, 82.0, 85.0)])
def test_medium_entries_match_only_medium_results(fs, large_piu, medium_piu):
    med = {"phantom": "medium"}
    assert find_default("mr.acr", "geometric_accuracy_slice1_vertical", fs, med).reference \
        == 165.0
    assert find_default("mr.acr", "piu", fs, med).reference == medium_piu
    for cond in (None, {}, {"phantom": "large"}):   # no conditions: the large phantom's
        assert find_default("mr.acr", "geometric_accuracy_slice1_vertical", fs,
                            cond).reference == 190.0
        assert find_default("mr.acr", "piu", fs, cond).reference == large_piu
    # criteria without a medium entry apply to both phantoms
    assert find_default("mr.acr", "slice_thickness_mm", fs, med) is \
        find_default("mr.acr", "slice_thickness_mm", fs)


def test_medium_result_judged_with_medium_defaults_large_unchanged():
    # 166 mm: inside 165 ± 2 (medium), far outside 190 ± 2 (large); PIU 88 %: fails the
    # medium's 90 % but passes the large's 87.5 % at 1.5 T
    med = evaluate_with_defaults(_acr("medium"), 1.5)
    assert med.measurement("geometric_accuracy_slice1_horizontal").status == "OK"
    assert med.measurement("piu").status == "ACTION"
    large = evaluate_with_defaults(_acr("large", diameter=190.5), 1.5)
    assert large.measurement("geometric_accuracy_slice5_diagonal_45").status == "OK"
    assert large.measurement("piu").status == "OK"
    wrong = evaluate_with_defaults(_acr("large"), 1.5)   # a 166 mm "large" phantom fails
    assert wrong.measurement("geometric_accuracy_slice1_horizontal").status == "ACTION"
    assert med.measurement("slice_thickness_mm").status == \
        wrong.measurement("slice_thickness_mm").status == "OK"


def test_store_judges_a_medium_session_with_medium_defaults(store):
    eq = store.add_equipment("MR 1", modality="MR", manufacturer="Acme", model="MR 1",
                             serial="MR-1", station_name="MR1", field_strength_t=1.5)
    s_med = store.save_session(eq.id, [_acr("medium")])
    s_large = store.save_session(eq.id, [_acr("large", diameter=190.5)])
    med = {r.measurement: r for r in store.session_results(s_med.id)}
    large = {r.measurement: r for r in store.session_results(s_large.id)}
    g = "geometric_accuracy_slice1_horizontal"
    assert (med[g].reference, med[g].status) == (165.0, "OK")
    assert (med["piu"].reference, med["piu"].status) == (90.0, "ACTION")
    assert med[g].tolerance_source == "default:mr.toml"
    assert (large[g].reference, large[g].status) == (190.0, "OK")
    assert (large["piu"].reference, large["piu"].status) == (87.5, "OK")


def test_bad_when_is_refused():
    text = ('[[tolerance]]\nprotocol = "mr.acr"\nmeasurement = "piu"\nkind = "absolute"\n'
            'reference = 1.0\nsource = "x"\nwhen = "medium"\n')
    with pytest.raises(ToleranceError, match="when must be a table"):
        _parse("bad.toml", text)
