"""Issue 12: a series is complete after a quiet period; idempotent by SOP Instance UID.

The collector's clock is injected: no test sleeps or measures time.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from imgqa.service.completion import SeriesCollector
from imgqa.service.pipeline import AutomaticQC


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, s: float) -> None:
        self.t += s


@pytest.fixture
def clock():
    return FakeClock()


def _send(c: SeriesCollector, series: str, sops, clock=None, step=0.0):
    for sop in sops:
        c.add(series, sop, Path(f"/inbox/{series}/{sop}.dcm"))
        if clock is not None:
            clock.advance(step)


def test_series_completes_exactly_at_the_quiet_period(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    _send(c, "1.2.3", [f"1.2.3.{i}" for i in range(11)], clock, step=0.5)
    last = clock.t - 0.5
    clock.t = last + 9.999
    assert c.due() == [] and c.pending() == {"1.2.3": 11}
    clock.t = last + 10.0
    (done,) = c.due()
    assert done.series_uid == "1.2.3" and len(done.paths) == 11 and not done.update
    assert done.sop_uids == tuple(f"1.2.3.{i}" for i in range(11))  # arrival order
    assert done.paths[0] == Path("/inbox/1.2.3/1.2.3.0.dcm")
    assert (done.first_arrival, done.last_arrival) == (1000.0, last)
    assert c.due() == [] and c.pending() == {}  # reported once


def test_each_new_image_restarts_the_quiet_period(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    for i in range(5):
        c.add("S", f"S.{i}", f"/x/{i}")
        clock.advance(9.0)  # never 10 s of silence
        assert c.due() == []
    clock.advance(1.0)
    assert [d.series_uid for d in c.due()] == ["S"]


def test_series_are_independent(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    c.add("A", "A.1", "/a1")
    clock.advance(6.0)
    c.add("B", "B.1", "/b1")
    clock.advance(4.0)
    assert [d.series_uid for d in c.due()] == ["A"]
    clock.advance(6.0)
    assert [d.series_uid for d in c.due()] == ["B"]


def test_resent_series_does_not_trigger_again(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    sops = [f"9.{i}" for i in range(4)]
    _send(c, "9", sops)
    clock.advance(10.0)
    assert len(c.due()) == 1
    # the scanner sends the whole series again (same instances, maybe other file names)
    for sop in sops:
        assert c.add("9", sop, f"/elsewhere/{sop}.dcm") is False
    clock.advance(100.0)
    assert c.due() == [] and c.flush() == []


def test_a_duplicate_within_a_pending_series_changes_nothing(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    assert c.add("S", "S.1", "/first") is True
    clock.advance(8.0)
    assert c.add("S", "S.1", "/second") is False  # neither the path nor the timer
    clock.advance(2.0)
    (done,) = c.due()
    assert done.paths == (Path("/first"),)


def test_new_instances_after_completion_reopen_the_series_with_all_instances(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    _send(c, "S", ["S.1", "S.2"])
    clock.advance(10.0)
    assert len(c.due()) == 1
    clock.advance(60.0)
    c.add("S", "S.3", "/late")            # a late slice
    c.add("S", "S.1", "/again")           # and a re-send
    clock.advance(10.0)
    (again,) = c.due()
    assert again.update and again.sop_uids == ("S.1", "S.2", "S.3")
    assert again.first_arrival == clock.t - 10.0


def test_flush_completes_pending_series_now(clock):
    c = SeriesCollector(quiet_s=3600.0, clock=clock)
    _send(c, "A", ["A.1"])
    _send(c, "B", ["B.1", "B.2"])
    assert sorted((d.series_uid, len(d.paths)) for d in c.flush()) == [("A", 1), ("B", 2)]
    assert c.flush() == [] and c.due(now=clock.t + 1e6) == []


def test_completed_series_are_forgotten_after_a_day(clock):
    c = SeriesCollector(quiet_s=10.0, clock=clock, forget_after_s=3600.0)
    c.add("S", "S.1", "/a")
    clock.advance(10.0)
    assert len(c.due()) == 1
    clock.advance(3600.0)
    assert c.due() == []
    assert c.add("S", "S.1", "/a") is True  # forgotten: a re-send now is a new arrival


@pytest.mark.parametrize(("quiet", "forget"), [(-1.0, 10.0), (float("nan"), 10.0),
                                                (10.0, 5.0)])
def test_bad_periods_are_refused_in_words(quiet, forget):
    with pytest.raises(ValueError, match="quiet period"):
        SeriesCollector(quiet_s=quiet, forget_after_s=forget)


def test_concurrent_arrivals_are_all_counted_once(clock):
    """Two associations deliver the same 500 instances at once: 500 instances, one series."""
    c = SeriesCollector(quiet_s=10.0, clock=clock)
    new = []

    def deliver():
        new.append(sum(c.add("S", f"S.{i}", f"/p{i}") for i in range(500)))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(new) == 500
    clock.advance(10.0)
    (done,) = c.due()
    assert len(done.sop_uids) == len(set(done.sop_uids)) == 500


def test_automatic_qc_hands_each_complete_series_once_and_survives_a_failing_handler(clock):
    seen = []

    def handler(series):
        seen.append(series.series_uid)
        if series.series_uid == "BAD":
            raise RuntimeError("handler bug")

    qc = AutomaticQC(handler, quiet_s=5.0, clock=clock)
    qc.collector.add("BAD", "B.1", "/b")
    qc.collector.add("GOOD", "G.1", "/g")
    assert qc.run_due() == 0
    clock.advance(5.0)
    assert qc.run_due() == 2 and sorted(seen) == ["BAD", "GOOD"]
    assert (qc.handled, qc.failed) == (1, 1)
    assert qc.run_due() == 0 and qc.flush() == 0


def _events():
    from hypothesis import strategies as st

    return st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 15),
                              st.floats(0.0, 15.0, allow_nan=False)), max_size=80)


def test_any_arrival_order_reports_every_instance_and_never_an_unchanged_series():
    from hypothesis import given, settings

    @settings(max_examples=200, deadline=None)
    @given(_events())
    def check(events):
        clock = FakeClock()
        c = SeriesCollector(quiet_s=10.0, clock=clock)
        reported: dict[str, list[tuple[str, ...]]] = {}
        sent: dict[str, set[str]] = {}
        for series, sop, dt in events:
            clock.advance(dt)
            c.add(series, f"{series}.{sop}", f"/{series}/{sop}")
            sent.setdefault(series, set()).add(f"{series}.{sop}")
            for done in c.due():
                reported.setdefault(done.series_uid, []).append(done.sop_uids)
        for done in c.flush():
            reported.setdefault(done.series_uid, []).append(done.sop_uids)
        assert set(reported) == set(sent)
        for series, completions in reported.items():
            for earlier, later in zip(completions, completions[1:]):
                assert set(earlier) < set(later)  # reported again only with new instances
            assert len(completions[-1]) == len(set(completions[-1]))
            assert set(completions[-1]) == sent[series]  # nothing lost

    check()


def test_next_due_in_says_how_long_until_the_next_completion():
    from imgqa.service.completion import SeriesCollector

    c = SeriesCollector(quiet_s=10.0, clock=lambda: 0.0)
    assert c.next_due_in(0.0) is None                      # nothing pending
    c.add("1.2", "1.2.1", "a.dcm", at=0.0)
    c.add("1.3", "1.3.1", "b.dcm", at=4.0)
    assert c.next_due_in(3.0) == 7.0                       # the older series first
    assert c.next_due_in(12.0) == 0.0                      # overdue: now
    assert [s.series_uid for s in c.due(10.0)] == ["1.2"]
    assert c.next_due_in(10.0) == 4.0
    c.due(14.0)
    assert c.next_due_in(14.0) is None
