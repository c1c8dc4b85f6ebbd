"""Judge a measurement against its reference and tolerance: OK / TOLERANCE / ACTION / NO_TOL.

Pure logic, no database: the store (`imgqa.store`) finds the reference and tolerance in force
and calls `evaluate`; the GUI and the reports only show the status.

The rules follow QATrack+'s tolerance model, as summarised in the project's reference notes
(``qc-methods.md``, "Tracking results against tolerances"):

* a tolerance has up to four signed offsets ``act_low ≤ tol_low ≤ tol_high ≤ act_high``, each
  either *absolute* (limit = reference + offset) or *percent* (limit = reference ·
  (1 + offset/100));
* a missing level is unbounded on that side; bounds are inclusive;
* outside an action limit → ``ACTION``; else outside a tolerance limit → ``TOLERANCE``; else
  ``OK``; no reference or no tolerance → ``NO_TOL``;
* a percent tolerance on a zero reference is invalid.

Examples
--------
>>> tol = Tolerance("percent", act_low=-3, tol_low=-2, tol_high=2, act_high=3)
>>> [evaluate(v, 50.0, tol) for v in (49.0, 48.8, 48.5, 48.4, 51.5, 51.6)]
['OK', 'TOLERANCE', 'TOLERANCE', 'ACTION', 'TOLERANCE', 'ACTION']
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from imgqa.errors import ToleranceError
from imgqa.status import STATUSES, worst
from imgqa.status import StatusName as Status

__all__ = [
    "STATUSES",
    "Kind",
    "Limits",
    "Status",
    "Tolerance",
    "evaluate",
    "limits",
    "validate_tolerance",
    "worst_status",
]

Kind = Literal["absolute", "percent"]

# Limits snap outwards to this many significant digits so that limits typed as decimals behave
# as people expect (0.1 + 0.2 is a limit of 0.3, not 0.30000000000000004).
_SIGNIFICANT_DIGITS = 12


@dataclass(frozen=True, slots=True)
class Tolerance:
    """Offsets from the reference; None means unbounded on that side.

    Attributes
    ----------
    kind : {"absolute", "percent"}
        Offsets in the measurement's unit, or in percent of the reference.
    act_low, tol_low, tol_high, act_high : float or None
        Signed offsets, ``act_low ≤ tol_low ≤ tol_high ≤ act_high`` where present.
    """

    kind: Kind = "absolute"
    act_low: float | None = None
    tol_low: float | None = None
    tol_high: float | None = None
    act_high: float | None = None

    def __post_init__(self) -> None:
        validate_tolerance(self)

    @property
    def is_empty(self) -> bool:
        return all(v is None for v in self.offsets())

    def offsets(self) -> tuple[float | None, float | None, float | None, float | None]:
        return (self.act_low, self.tol_low, self.tol_high, self.act_high)

    def describe(self, unit: str = "") -> str:
        """Short human text, e.g. ``"tol -2…2 %, act -3…3 %"``."""
        u = "%" if self.kind == "percent" else unit

        def rng(lo: float | None, hi: float | None) -> str:
            a = "−∞" if lo is None else f"{lo:g}"
            b = "+∞" if hi is None else f"{hi:g}"
            return f"{a}…{b}{(' ' + u) if u else ''}"

        parts = []
        if self.tol_low is not None or self.tol_high is not None:
            parts.append("tol " + rng(self.tol_low, self.tol_high))
        if self.act_low is not None or self.act_high is not None:
            parts.append("act " + rng(self.act_low, self.act_high))
        return ", ".join(parts) or "none"


@dataclass(frozen=True, slots=True)
class Limits:
    """Absolute limits in the measurement's unit (None = unbounded), inclusive."""

    act_low: float | None
    tol_low: float | None
    tol_high: float | None
    act_high: float | None


def validate_tolerance(tol: Tolerance, reference: float | None = None) -> None:
    """Raise `ToleranceError` if the offsets are out of order, not finite, or percent on zero.

    Parameters
    ----------
    tol : Tolerance
    reference : float, optional
        The reference the tolerance will be used with; a percent tolerance on 0 is invalid.
    """
    if tol.kind not in ("absolute", "percent"):
        raise ToleranceError(f"Tolerance kind must be 'absolute' or 'percent', not {tol.kind!r}.")
    names = ("act_low", "tol_low", "tol_high", "act_high")
    present = [(n, v) for n, v in zip(names, tol.offsets()) if v is not None]
    for n, v in present:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ToleranceError(f"Tolerance {n} must be a finite number, got {v!r}.")
    for (n1, v1), (n2, v2) in itertools.pairwise(present):
        if v1 > v2:
            raise ToleranceError(
                f"Tolerance levels out of order: {n1} = {v1:g} is above {n2} = {v2:g}.",
                hint="Levels must satisfy act_low ≤ tol_low ≤ tol_high ≤ act_high.")
    if reference is not None:
        if not math.isfinite(reference):
            raise ToleranceError(f"Reference must be a finite number, got {reference!r}.")
        if tol.kind == "percent" and reference == 0 and not tol.is_empty:
            raise ToleranceError(
                "A percent tolerance cannot be used with a reference of 0.",
                hint="Use an absolute tolerance, or set a non-zero baseline.")


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    digits = _SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(x)))
    return round(x, digits)


def limits(reference: float, tol: Tolerance) -> Limits:
    """Absolute limits of ``tol`` around ``reference``.

    Notes
    -----
    Percent offsets scale with ``|reference|`` so that a negative offset always means "below"
    (e.g. for air at −1000 HU, −2 % is −1020 HU). A limit is widened to its value rounded to 12
    significant digits when that is outside the exact result, so that decimal limits behave as
    typed (0.1 + 0.2 gives a limit of 0.3); limits are never tightened.
    """
    validate_tolerance(tol, reference)

    def at(offset: float | None, upper: bool) -> float | None:
        if offset is None:
            return None
        if tol.kind == "absolute":
            raw = reference + offset
        else:
            raw = reference + abs(reference) * offset / 100.0
        # Round outwards only: a limit may snap to the decimal it was meant to be, but never
        # becomes tighter than the exact arithmetic.
        rounded = _round(raw)
        return max(raw, rounded) if upper else min(raw, rounded)

    lo2, lo1, hi1, hi2 = tol.offsets()
    return Limits(at(lo2, False), at(lo1, False), at(hi1, True), at(hi2, True))


def evaluate(value: float | None, reference: float | None, tol: Tolerance | None
             ) -> Status | None:
    """Status of one value.

    Parameters
    ----------
    value : float or None
        The measurement. None (not measured) gives None: there is nothing to judge.
    reference : float or None
        Baseline or fixed reference in force.
    tol : Tolerance or None
        Tolerance in force.

    Returns
    -------
    {"OK", "TOLERANCE", "ACTION", "NO_TOL"} or None
        ``NO_TOL`` when there is no reference or no tolerance level at all.

    Raises
    ------
    ToleranceError
        Percent tolerance on a zero reference, or levels out of order.
    """
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if reference is None or tol is None or tol.is_empty:
        return "NO_TOL"
    lim = limits(reference, tol)
    if (lim.act_low is not None and value < lim.act_low) or \
            (lim.act_high is not None and value > lim.act_high):
        return "ACTION"
    if (lim.tol_low is not None and value < lim.tol_low) or \
            (lim.tol_high is not None and value > lim.tol_high):
        return "TOLERANCE"
    return "OK"


def worst_status(statuses: Iterable[str | None]) -> str | None:
    """The most severe status (ACTION > TOLERANCE > OK > NO_TOL), None if all are None.

    The ranking is `imgqa.status`'s; kept here under its old name for callers.
    """
    return worst(statuses)
