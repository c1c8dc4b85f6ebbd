"""PET activity arithmetic: half-lives, decay, expected concentration, entered times."""

from __future__ import annotations

import math
from datetime import datetime

import pytest

from imgqa.analysis.pet_activity import (
    HALF_LIFE_S,
    decay_factor,
    expected_concentration,
    half_life_s,
    parse_time,
)


@pytest.mark.parametrize("text", ["F-18", "18F", "F18", "^18^Fluorine", "Fluorine-18", "f-18"])
def test_half_life_names(text):
    assert half_life_s(text) == pytest.approx(109.77 * 60)


def test_half_life_table_covers_the_issue_isotopes():
    for name in ("F-18", "Ga-68", "Ge-68", "C-11", "N-13", "O-15", "Rb-82", "Cu-64", "Zr-89",
                 "I-124"):
        assert half_life_s(name) == HALF_LIFE_S[name] > 0
    with pytest.raises(KeyError, match="Tc-99|known"):
        half_life_s("Tc-99m")


def test_decay_is_halved_after_one_half_life_and_inverts():
    t = HALF_LIFE_S["Ga-68"]
    assert decay_factor(t, t) == pytest.approx(0.5)
    assert decay_factor(-t, t) == pytest.approx(2.0)
    assert decay_factor(0.3 * t, t) * decay_factor(-0.3 * t, t) == pytest.approx(1.0)


def test_expected_concentration_of_the_real_water_phantom_header():
    # The header of pet/imageqc_waterphantom: 89.19 MBq at 15:33:00, scan 16:04:59, 6.28 kg.
    c, d = expected_concentration(89.19e6, datetime(2017, 3, 30, 15, 33), datetime(
        2017, 3, 30, 16, 4, 59), 6586.2, 6280.0)
    assert d.elapsed_s == 1919
    assert d.activity_bq == pytest.approx(89.19e6 * 2 ** (-1919 / 6586.2))
    assert c == pytest.approx(d.activity_bq / 6280.0)
    assert 72.8e6 < d.activity_bq < 73.0e6  # imageQCpy: "activity at scan 73 MBq"


def test_residual_is_subtracted_before_decay():
    c, _ = expected_concentration(100e6, datetime(2026, 1, 1, 8), datetime(2026, 1, 1, 9),
                                  3600.0, 1000.0, residual_bq=10e6)
    assert c == pytest.approx(90e6 * 0.5 / 1000.0)


def test_parse_time_forms():
    day = datetime(2026, 12, 4, 9, 30)
    assert parse_time("08:15", day) == datetime(2026, 12, 4, 8, 15)
    assert parse_time("081530", day) == datetime(2026, 12, 4, 8, 15, 30)
    assert parse_time("2026-12-03T22:00", day) == datetime(2026, 12, 3, 22, 0)
    with pytest.raises(ValueError, match="not a time"):
        parse_time("quarter past eight", day)
    with pytest.raises(ValueError, match="no date"):
        parse_time("08:15", None)
    assert math.isfinite(parse_time("8:05:07.5", day).timestamp())
