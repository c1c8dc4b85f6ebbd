"""Trend statistics for QC results: relative-to-baseline values, Shewhart individuals chart
and the Western Electric run rules. Pure numpy; the store supplies the series, the GUI draws it.

The control limits come from a *baseline period*: the first values after the newest reset.
A reset is a baseline change and, optionally, a service event (tube change, recalibration,
software upgrade...), after which the process is expected to have moved; `spc_period_start`
finds where the period begins.

References
----------
.. [1] Pawlicki T, Whitaker M, Boyer AL. Statistical process control for radiotherapy quality
       assurance. Med Phys 32(9):2777–2786, 2005. doi:10.1118/1.2001209
.. [2] Montgomery DC. Introduction to Statistical Quality Control, 7th ed., Wiley 2013,
       §6.4 (individuals and moving-range chart; d2 = 1.128 for moving ranges of 2).
.. [3] Western Electric Company. Statistical Quality Control Handbook, 1956 (run rules 1–4).

Which rules raise a signal
--------------------------
Limits estimated from few points are wide of the truth, so in-control data alarm often (from
2 points about 30 % of points are flagged). Limits are therefore only used to flag once they
come from at least `MIN_SPC_POINTS` (20) values (`ControlLimits.reliable`); before that the
chart shows them as "not yet reliable". Of the four Western Electric rules only rule 1 (a point
beyond 3σ) and rule 4 (8 in a row on one side of the centre line) raise signals
(`SPC_RULES`): with limits from 20 points, rules 2 and 3 would add about 2.4 % false alarms
per point for little extra sensitivity to the slow shifts rule 4 already catches. The expected
false-alarm rate per in-control point is `FALSE_ALARM_RATE` (simulated, 20 baseline points);
``tests/test_trends.py`` checks it on 1 000 simulated in-control months.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "D2_MOVING_RANGE_2",
    "FALSE_ALARM_RATE",
    "MIN_SPC_POINTS",
    "RULE_TEXT",
    "SPC_RULES",
    "ControlLimits",
    "RuleViolation",
    "control_limits",
    "relative_to_baseline",
    "spc_period_start",
    "spc_signals",
    "western_electric",
]

# Expected range of two independent normal samples in units of sigma (Montgomery, table VI).
D2_MOVING_RANGE_2 = 1.128

# Fewer baseline values than this give limits too uncertain to flag anything: with 20 the
# false-alarm rate of rule 1 is about 1.1 % per point (0.27 % with known limits), with 2 it is
# about 20 % (simulation, see FALSE_ALARM_RATE).
MIN_SPC_POINTS = 20

# The rules that raise signals (see the module docstring for why not 2 and 3).
SPC_RULES: tuple[int, ...] = (1, 4)

# Plain words for each rule, as shown in the legend and tooltips.
RULE_TEXT = {
    1: "a point beyond the control limits, more than 3σ from the centre line "
       "(Western Electric rule 1)",
    2: "2 of 3 points in a row more than 2σ from the centre line on the same side "
       "(Western Electric rule 2)",
    3: "4 of 5 points in a row more than 1σ from the centre line on the same side "
       "(Western Electric rule 3)",
    4: "8 points in a row on one side of the centre line (Western Electric rule 4)",
}

# Upper bound of the false-alarm rate per in-control point with limits from MIN_SPC_POINTS
# values (normal noise, 20 baseline + 30 monitored points, 200 000 simulated months):
# rule 1 ≈ 1.1 %, rule 4 ≈ 1.4 %, both ≈ 2.5 % (standard deviation over runs of 1 000
# months 0.16 %). The bound is what docs/gui.md states and the test checks.
FALSE_ALARM_RATE = 0.03


@dataclass(frozen=True, slots=True)
class ControlLimits:
    """Individuals-chart centre and limits from a baseline period.

    Attributes
    ----------
    centre : float
        Mean of the baseline values.
    sigma : float
        Process sigma estimated from the mean moving range, MR̄ / 1.128.
    lcl, ucl : float
        centre ∓ 3·sigma.
    n : int
        Number of baseline values used.
    """

    centre: float
    sigma: float
    lcl: float
    ucl: float
    n: int

    def zone(self, k: float) -> tuple[float, float]:
        """centre ∓ k·sigma."""
        return (self.centre - k * self.sigma, self.centre + k * self.sigma)

    @property
    def reliable(self) -> bool:
        """Whether the limits come from enough values (`MIN_SPC_POINTS`) to flag points."""
        return self.n >= MIN_SPC_POINTS

    def describe(self) -> str:
        """One line for the chart: "limits from 12 points: not yet reliable" when too few."""
        if self.reliable:
            return f"limits from {self.n} points"
        return (f"limits from {self.n} points: not yet reliable (no signals until "
                f"{MIN_SPC_POINTS} points)")


@dataclass(frozen=True, slots=True)
class RuleViolation:
    """A Western Electric rule broken at point ``index`` (the last point of the run)."""

    index: int
    rule: int
    description: str


def relative_to_baseline(values: Sequence[float | None], baselines: Sequence[float | None]
                         ) -> np.ndarray:
    """Percent difference from the baseline in force at each point: 100·(v − b)/|b|.

    NaN where the value or baseline is missing or the baseline is 0.
    """
    v = np.asarray([np.nan if x is None else x for x in values], dtype=float)
    b = np.asarray([np.nan if x is None else x for x in baselines], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 100.0 * (v - b) / np.abs(b)
    out[~np.isfinite(out)] = np.nan
    return out


def control_limits(baseline_values: Sequence[float | None]) -> ControlLimits | None:
    """Shewhart individuals chart from a baseline period (Pawlicki 2005, Montgomery §6.4).

    sigma = mean moving range / d2 (d2 = 1.128); limits centre ± 3 sigma. Needs at least two
    finite values; returns None otherwise.
    """
    x = np.asarray([np.nan if v is None else v for v in baseline_values], dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    centre = float(x.mean())
    sigma = float(np.abs(np.diff(x)).mean() / D2_MOVING_RANGE_2)
    return ControlLimits(centre, sigma, centre - 3 * sigma, centre + 3 * sigma, int(x.size))


def spc_period_start(times: Sequence[Any], resets: Iterable[Any], *, min_points: int = 2
                     ) -> int:
    """Index of the first point of the current baseline period.

    The period starts at the first point at or after the newest reset (baseline change or
    service event) that has at least ``min_points`` points at or after it; a newer reset
    with fewer points after it is not used yet (too few values to estimate sigma), so the
    previous period stays in force until enough new values exist. With no usable reset the
    period starts at 0.

    Parameters
    ----------
    times : sequence of comparable (datetime, float)
        Point times in ascending order.
    resets : iterable of comparable
        Times of baseline changes and of the service events chosen to restart the chart.
    min_points : int
        Points needed after a reset before it is used.

    Returns
    -------
    int
        Index into ``times`` (0 when no reset applies).

    Notes
    -----
    Pawlicki et al. (2005) compute the limits from a baseline period of a stable process;
    after a change to the equipment the old period no longer describes it.

    Examples
    --------
    >>> spc_period_start([1, 2, 3, 4, 5, 6], [3.5])
    3
    >>> spc_period_start([1, 2, 3, 4, 5, 6], [3.5, 5.5])   # one point after 5.5: not yet
    3
    >>> spc_period_start([1, 2, 3], [])
    0
    """
    ordered = sorted(resets, reverse=True)
    n = len(times)
    for r in ordered:
        first = bisect_left(times, r)
        if n - first >= max(min_points, 1):
            return first
    return 0


def _runs(flags: np.ndarray, window: int, need: int) -> np.ndarray:
    """Indices i (window end) where at least ``need`` of flags[i-window+1 .. i] are true."""
    if flags.size < window:
        return np.empty(0, dtype=int)
    counts = np.convolve(flags.astype(int), np.ones(window, dtype=int), mode="valid")
    return np.nonzero(counts >= need)[0] + window - 1


def western_electric(values: Sequence[float | None], limits: ControlLimits,
                     rules: Iterable[int] = (1, 2, 3, 4)) -> list[RuleViolation]:
    """The Western Electric run rules on an individuals chart.

    1. one point beyond 3σ; 2. two of three consecutive points beyond 2σ on the same side;
    3. four of five consecutive points beyond 1σ on the same side; 4. eight consecutive points on
    the same side of the centre line. Missing values (None/NaN) are dropped before the runs are
    counted; indices refer to the input sequence. A zero sigma only checks rule 4. ``rules``
    chooses which are checked; descriptions are `RULE_TEXT`.
    """
    wanted = set(rules)
    x_all = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    keep = np.nonzero(np.isfinite(x_all))[0]
    x = x_all[keep]
    out: list[RuleViolation] = []
    if x.size == 0:
        return out
    d = x - limits.centre
    s = limits.sigma
    found: list[tuple[int, np.ndarray]] = []
    if s > 0:
        z = d / s
        found.append((1, np.nonzero(np.abs(z) > 3)[0]))
        for sign in (1, -1):
            found.append((2, _runs(sign * z > 2, 3, 2)))
            found.append((3, _runs(sign * z > 1, 5, 4)))
    for sign in (1, -1):
        found.append((4, _runs(sign * d > 0, 8, 8)))
    seen: set[tuple[int, int]] = set()
    for rule, idx in found:
        if rule not in wanted:
            continue
        text = RULE_TEXT[rule]
        for i in idx.tolist():
            key = (int(keep[i]), rule)
            if key not in seen:
                seen.add(key)
                out.append(RuleViolation(int(keep[i]), rule, text))
    out.sort(key=lambda r: (r.index, r.rule))
    return out


def spc_signals(values: Sequence[float | None], limits: ControlLimits | None
                ) -> list[RuleViolation]:
    """The signals a trend chart shows: `SPC_RULES` on reliable limits, nothing otherwise.

    Parameters
    ----------
    values : sequence of float or None
        The values from the start of the baseline period on.
    limits : ControlLimits or None
        From `control_limits`; with fewer than `MIN_SPC_POINTS` values nothing is flagged,
        because such limits make in-control data alarm often (see the module docstring).

    Returns
    -------
    list of RuleViolation
        Expected rate on in-control data: below `FALSE_ALARM_RATE` per point.
    """
    if limits is None or not limits.reliable:
        return []
    return western_electric(values, limits, rules=SPC_RULES)
