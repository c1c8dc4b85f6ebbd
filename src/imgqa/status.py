"""The four QC statuses and how they rank: the one definition every layer uses.

A measurement judged against its reference and tolerance (`imgqa.evaluate.evaluate`) is
``OK``, ``TOLERANCE`` or ``ACTION``; ``NO_TOL`` means there was nothing to judge it against
(no reference or no tolerance). None means not measured. The statuses rank

    NO_TOL < OK < TOLERANCE < ACTION

so the "worst" status of a session or a series is the highest ranked one (a session with one
unjudged value and otherwise OK results is OK; one TOLERANCE makes it TOLERANCE). This is the
ranking of the reference notes ("Tracking results against tolerances", after QATrack+).

Statuses are stored, exported and compared as their plain strings (``"OK"`` …): `Status` is a
`~enum.StrEnum`, so ``Status.OK == "OK"``, and `StatusName` is the type of a status string
field. Pure module, no imports from the rest of imgqa.

Examples
--------
>>> Status("TOLERANCE").rank > Status.OK.rank
True
>>> worst(["OK", None, "NO_TOL", "TOLERANCE"])
'TOLERANCE'
>>> worst([None]) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Literal, cast

__all__ = ["BY_SEVERITY", "FAILING", "STATUSES", "Status", "StatusName", "rank", "worst"]


class Status(StrEnum):
    """A QC status; members are declared from least to most severe (their `rank`)."""

    NO_TOL = "NO_TOL"
    OK = "OK"
    TOLERANCE = "TOLERANCE"
    ACTION = "ACTION"

    @property
    def rank(self) -> int:
        """0 for NO_TOL … 3 for ACTION; higher is worse."""
        return _RANKS[self.value]

    @property
    def failing(self) -> bool:
        """Outside a tolerance or action limit (what a reviewer must look at)."""
        return self in (Status.TOLERANCE, Status.ACTION)


# The string spelling of a status, for typed fields holding the stored value. Kept equal to
# the members of `Status` by tests/test_status.py (a Literal cannot be derived from an enum).
StatusName = Literal["OK", "TOLERANCE", "ACTION", "NO_TOL"]

_RANKS: dict[str, int] = {s.value: i for i, s in enumerate(Status.__members__.values())}
# Every status string, in the order evaluate() documents them (not a ranking).
STATUSES: tuple[str, ...] = ("OK", "TOLERANCE", "ACTION", "NO_TOL")
# Least to most severe, as plain strings (``BY_SEVERITY[::-1]``: worst first).
BY_SEVERITY: tuple[str, ...] = tuple(sorted(_RANKS, key=_RANKS.__getitem__))
FAILING: frozenset[str] = frozenset(s.value for s in Status if s.failing)


def rank(status: str | None) -> int:
    """Rank of a status string (`Status.rank`); -1 for None or an unknown string.

    Parameters
    ----------
    status : str or None
        ``"NO_TOL"``, ``"OK"``, ``"TOLERANCE"``, ``"ACTION"``, or None (not measured).

    Returns
    -------
    int
        0 … 3, higher is worse; -1 when there is no status.
    """
    return -1 if status is None else _RANKS.get(status, -1)


def worst(statuses: Iterable[str | None]) -> StatusName | None:
    """The most severe status (ACTION > TOLERANCE > OK > NO_TOL) as its plain string.

    Parameters
    ----------
    statuses : iterable of str or None
        Status strings; None (not measured) and unknown strings are ignored.

    Returns
    -------
    str or None
        The worst status, None when there is none.
    """
    best: str | None = None
    best_rank = -1
    for s in statuses:
        r = rank(s)
        if r > best_rank:
            best, best_rank = s, r
    return cast("StatusName | None", best)
