"""imgqa.trends: relative-to-baseline, Shewhart individuals chart, Western Electric rules."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.trends import ControlLimits, control_limits, relative_to_baseline, western_electric


def test_relative_to_baseline():
    rel = relative_to_baseline([110.0, 90.0, None, 5.0, -990.0], [100.0, 100.0, 100.0, 0.0,
                                                                  -1000.0])
    assert rel[:2].tolist() == [10.0, -10.0]
    assert np.isnan(rel[2]) and np.isnan(rel[3])
    assert rel[4] == pytest.approx(1.0)  # above a negative reference is positive


def test_control_limits_from_moving_range():
    # alternating ±1 around 10: moving range 2 → sigma = 2/1.128
    x = [9.0, 11.0] * 10
    c = control_limits(x)
    assert c.centre == pytest.approx(10.0)
    assert c.sigma == pytest.approx(2 / 1.128)
    assert (c.lcl, c.ucl) == pytest.approx((10 - 3 * 2 / 1.128, 10 + 3 * 2 / 1.128))
    assert c.n == 20
    assert control_limits([1.0, None]) is None


def test_sigma_estimate_recovers_normal_noise():
    rng = np.random.default_rng(1)
    c = control_limits(rng.normal(50.0, 2.0, 5000).tolist())
    assert c.sigma == pytest.approx(2.0, rel=0.05)
    assert c.centre == pytest.approx(50.0, abs=0.1)


LIM = ControlLimits(centre=0.0, sigma=1.0, lcl=-3.0, ucl=3.0, n=20)


def rules(values):
    return {(v.index, v.rule) for v in western_electric(values, LIM)}


def test_rule_1_point_beyond_3_sigma():
    assert rules([0.5, -0.5, 3.5, 0.2]) == {(2, 1)}
    assert rules([0.5, -3.01]) == {(1, 1)}


def test_rule_2_two_of_three_beyond_2_sigma():
    assert (2, 2) in rules([2.5, 0.0, 2.2])
    assert not any(r == 2 for _, r in rules([2.5, 0.0, -2.2]))  # opposite sides


def test_rule_3_four_of_five_beyond_1_sigma():
    assert (4, 3) in rules([1.5, 1.2, 0.0, 1.1, 1.9])
    assert not any(r == 3 for _, r in rules([1.5, 1.2, 0.0, 0.0, 1.9]))


def test_rule_4_eight_on_one_side():
    found = rules([0.1] * 8)
    assert (7, 4) in found and len(found) == 1
    assert not rules([0.1] * 7 + [-0.1])


def test_missing_values_are_skipped_and_indices_kept():
    assert rules([None, 0.0, float("nan"), 4.0]) == {(3, 1)}


def test_in_control_noise_rarely_flags():
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 200)
    c = control_limits(x[:30].tolist())
    r1 = [v for v in western_electric(x.tolist(), c) if v.rule == 1]
    assert len(r1) <= 3  # ~0.27 % false alarms expected
