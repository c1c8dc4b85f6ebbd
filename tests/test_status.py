"""One definition of the QC statuses and their ranking (`imgqa.status`, issue 9)."""

from __future__ import annotations

import re
from itertools import permutations
from pathlib import Path
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from imgqa import evaluate, status
from imgqa.status import BY_SEVERITY, FAILING, STATUSES, Status, StatusName, rank, worst

SRC = Path(__file__).resolve().parents[1] / "src" / "imgqa"


def test_names_are_declared_once_and_agree():
    assert set(get_args(StatusName)) == {s.value for s in Status} == set(STATUSES)
    assert evaluate.Status is StatusName
    assert all(Status(s) == s for s in STATUSES)  # stored as the plain strings


def test_ranking_is_the_documented_order():
    assert BY_SEVERITY == ("NO_TOL", "OK", "TOLERANCE", "ACTION")
    assert [Status(s).rank for s in BY_SEVERITY] == [0, 1, 2, 3]
    assert [rank(s) for s in BY_SEVERITY] == [0, 1, 2, 3]
    assert rank(None) == rank("bogus") == -1
    assert FAILING == {"TOLERANCE", "ACTION"}
    assert {s for s in Status if s.failing} == FAILING


@given(st.lists(st.sampled_from([*STATUSES, None]), max_size=12))
def test_worst_is_the_highest_ranked(statuses):
    known = [s for s in statuses if s is not None]
    got = worst(statuses)
    if not known:
        assert got is None
    else:
        assert got in known
        assert all(rank(got) >= rank(s) for s in known)
        assert type(got) is str  # the stored spelling, not an enum member
    assert evaluate.worst_status(statuses) == got


def test_worst_does_not_depend_on_order():
    for perm in permutations(["OK", "NO_TOL", "TOLERANCE", None]):
        assert worst(perm) == "TOLERANCE"


def test_no_other_module_ranks_statuses():
    """A status → number table anywhere else would be a second ranking to keep in step."""
    pattern = re.compile(r"""["'](?:NO_TOL|OK|TOLERANCE|ACTION)["']\s*:\s*-?\d""")
    offenders = [str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                 if p != Path(status.__file__).resolve() and pattern.search(p.read_text())]
    assert offenders == []
