"""imgqa.evaluate: the tolerance rules of qc-methods.md, with property tests."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from imgqa.errors import ToleranceError
from imgqa.evaluate import Tolerance, evaluate, limits, validate_tolerance, worst_status

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
offset = st.one_of(st.none(), st.floats(min_value=-1e3, max_value=1e3, allow_nan=False))


KINDS = st.sampled_from(["absolute", "percent"])


@st.composite
def tolerances(draw, kind=KINDS):
    levels = [draw(offset) for _ in range(4)]
    present = sorted(v for v in levels if v is not None)
    it = iter(present)
    ordered = [None if v is None else next(it) for v in levels]
    return Tolerance(draw(kind), *ordered)


def test_reference_notes_example():
    # ref 50, ±2 %/±3 % → 49–51 OK, 48.5–49 and 51–51.5 TOLERANCE, beyond ACTION
    tol = Tolerance("percent", act_low=-3, tol_low=-2, tol_high=2, act_high=3)
    cases = {48.4: "ACTION", 48.5: "TOLERANCE", 48.9: "TOLERANCE", 49.0: "OK", 50.0: "OK",
             51.0: "OK", 51.2: "TOLERANCE", 51.5: "TOLERANCE", 51.51: "ACTION", 60: "ACTION"}
    assert {v: evaluate(v, 50.0, tol) for v in cases} == cases


def test_absolute_fixed_reference_and_one_sided():
    water = Tolerance("absolute", act_low=-5, act_high=5)
    assert [evaluate(v, 0.0, water) for v in (-5.0, 5.0, 5.01, -7)] == \
        ["OK", "OK", "ACTION", "ACTION"]
    piu = Tolerance("absolute", act_low=0.0)  # PIU ≥ 87.5 %
    assert evaluate(87.5, 87.5, piu) == "OK" and evaluate(87.4, 87.5, piu) == "ACTION"
    assert evaluate(1e9, 87.5, piu) == "OK"


def test_no_tol_and_missing_value():
    tol = Tolerance("absolute", -1, None, None, 1)
    assert evaluate(1.0, None, tol) == "NO_TOL"
    assert evaluate(1.0, 1.0, None) == "NO_TOL"
    assert evaluate(1.0, 1.0, Tolerance("absolute")) == "NO_TOL"
    assert evaluate(None, 1.0, tol) is None
    assert evaluate(math.nan, 1.0, tol) is None


def test_invalid_tolerances():
    with pytest.raises(ToleranceError, match="out of order"):
        Tolerance("absolute", act_low=1, tol_low=0)
    with pytest.raises(ToleranceError, match="out of order"):
        Tolerance("absolute", tol_high=2, act_high=1)
    with pytest.raises(ToleranceError):
        Tolerance("sometimes", 1)  # type: ignore[arg-type]
    with pytest.raises(ToleranceError):
        Tolerance("absolute", act_low=math.nan)
    with pytest.raises(ToleranceError, match="reference of 0"):
        evaluate(1.0, 0.0, Tolerance("percent", -1, None, None, 1))
    validate_tolerance(Tolerance("absolute", -1, None, None, 1), 0.0)  # absolute on 0 is fine


def test_percent_on_negative_reference_keeps_direction():
    lim = limits(-1000.0, Tolerance("percent", act_low=-2, act_high=2))
    assert (lim.act_low, lim.act_high) == (-1020.0, -980.0)


def test_decimal_limits_are_not_spoiled_by_float_rounding():
    assert evaluate(0.3, 0.1, Tolerance("absolute", act_high=0.2)) == "OK"
    assert evaluate(0.2, 0.3, Tolerance("absolute", act_low=-0.1)) == "OK"


@given(finite, st.floats(0, 1e3), st.floats(0, 1e3), st.sampled_from(["absolute", "percent"]))
def test_bounds_are_inclusive(ref, a, b, kind):
    assume(not (kind == "percent" and ref == 0))
    tol_w, act_w = min(a, b), max(a, b)
    tol = Tolerance(kind, -act_w, -tol_w, tol_w, act_w)
    lim = limits(ref, tol)
    # a value exactly on a limit belongs to the better side of it
    assert evaluate(lim.act_low, ref, tol) != "ACTION"
    assert evaluate(lim.act_high, ref, tol) != "ACTION"
    assert evaluate(lim.tol_low, ref, tol) == "OK"
    assert evaluate(lim.tol_high, ref, tol) == "OK"
    assert evaluate(ref, ref, tol) == "OK"  # zero offsets included


@given(tolerances(), finite, finite)
def test_status_matches_the_limits(tol, ref, value):
    assume(not (tol.kind == "percent" and ref == 0))
    lim = limits(ref, tol)
    status = evaluate(value, ref, tol)
    if tol.is_empty:
        assert status == "NO_TOL"
        return

    def inside(lo, hi):
        return (lo is None or value >= lo) and (hi is None or value <= hi)

    if not inside(lim.act_low, lim.act_high):
        assert status == "ACTION"
    elif not inside(lim.tol_low, lim.tol_high):
        assert status == "TOLERANCE"
    else:
        assert status == "OK"


@given(finite, finite)
def test_missing_levels_are_unbounded(ref, value):
    assert evaluate(value, ref, Tolerance("absolute")) == "NO_TOL"
    only_upper = Tolerance("absolute", act_high=0.0)
    assert evaluate(min(value, ref), ref, only_upper) == "OK"  # nothing below can fail


@given(tolerances(kind=st.just("absolute")), finite, st.floats(0, 1e3))
def test_widening_never_worsens(tol, ref, extra):
    value = ref
    wider = Tolerance("absolute", *(None if o is None else o - extra if i < 2 else o + extra
                                    for i, o in enumerate(tol.offsets())))
    rank = {"OK": 0, "TOLERANCE": 1, "ACTION": 2, "NO_TOL": -1}
    for v in (value, value + 1, value - 1):
        assert rank[evaluate(v, ref, wider)] <= rank[evaluate(v, ref, tol)]


def test_worst_status():
    assert worst_status(["OK", "NO_TOL", "TOLERANCE"]) == "TOLERANCE"
    assert worst_status(["OK", "ACTION", None]) == "ACTION"
    assert worst_status([None]) is None
