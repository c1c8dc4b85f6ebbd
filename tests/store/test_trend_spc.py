"""Issue 11 item 6: the store's trend flags points only with limits from enough values and
only with the documented rules (`imgqa.trends.SPC_RULES`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from imgqa.trends import MIN_SPC_POINTS

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def _save(store, eq, values, start, result_factory, step=timedelta(days=1)):
    for i, v in enumerate(values):
        store.save_session(eq.id, [result_factory(mean=float(v))],
                           performed_at=start + i * step)


def test_limits_from_few_points_after_a_baseline_change_flag_nothing(store, result_factory):
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    rng = np.random.default_rng(3)
    now = datetime.now(UTC)
    _save(store, eq, rng.normal(100, 1, 30), now - timedelta(days=40), result_factory)
    # a new baseline (e.g. after a tube change): the next values start a new SPC period
    store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "tube replaced")
    after = [100.2, 99.9, 100.1, 100.0, 100.05, 100.15, 99.95, 100.1, 100.2, 130.0]
    _save(store, eq, after, now + timedelta(minutes=1), result_factory,
          step=timedelta(seconds=1))
    tr = store.trend(eq.id, "generic.roi", "mean")
    assert tr.control is not None and tr.control.n == len(after)
    assert not tr.control.reliable
    assert "not yet reliable" in tr.control.describe()
    # 130 is far beyond these limits, but limits from 10 points may not flag it
    assert tr.violations == ()


def test_only_rules_1_and_4_flag_with_reliable_limits(store, result_factory):
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    base = [100.0, 101.0, 99.0, 100.5, 99.5] * 4             # 20 values, sigma ≈ 1.2
    zone = [102.6, 100.0, 102.7]                               # rule 2 only (2 of 3 > 2σ)
    _save(store, eq, base + zone + [110.0], T0, result_factory)
    tr = store.trend(eq.id, "generic.roi", "mean")
    assert tr.control.n == MIN_SPC_POINTS and tr.control.reliable
    assert [(v.index, v.rule) for v in tr.violations] == [(23, 1)]
    assert "Western Electric rule 1" in tr.violations[0].description
