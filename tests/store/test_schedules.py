"""Schedules and the due list (issue 12): `Store.set_schedule`, `Store.due_list`,
``imgqa schedule set`` and ``imgqa due``, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from imgqa.cli.main import main
from imgqa.errors import ImgqaError, StoreError
from imgqa.store import open_store
from imgqa.store.schedules import due_status, parse_every, parse_grace

TODAY = datetime.now(UTC).date()


def _at(days_ago: int) -> datetime:
    d = TODAY - timedelta(days=days_ago)
    return datetime(d.year, d.month, d.day, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "want"), [
    ("daily", ("daily", None)), ("Weekly", ("weekly", None)), ("annual", ("annual", None)),
    ("10d", ("days", 10)), (" 3D ", ("days", 3))])
def test_every_is_read(text, want):
    assert parse_every(text) == want


@pytest.mark.parametrize("text", ["fortnightly", "0d", "-3d", "d", "10"])
def test_a_bad_every_is_refused_with_a_hint(text):
    with pytest.raises(StoreError) as exc:
        parse_every(text)
    assert "10d" in (exc.value.hint or "")


def test_grace_is_read():
    assert (parse_grace(None), parse_grace("2d"), parse_grace("5")) == (0, 2, 5)
    with pytest.raises(StoreError):
        parse_grace("two days")


def test_due_status_boundaries():
    d = date(2026, 1, 10)
    assert due_status(d, date(2026, 1, 9), 2) == ("ok", 0)
    assert due_status(d, d, 2) == ("due", 0)
    assert due_status(d, date(2026, 1, 11), 2) == ("grace", 1)
    assert due_status(d, date(2026, 1, 12), 2) == ("grace", 2)
    assert due_status(d, date(2026, 1, 13), 2) == ("overdue", 3)
    assert due_status(d, date(2026, 1, 11), 0) == ("overdue", 1)


def test_a_test_older_than_its_frequency_is_overdue(store, result_factory):
    """The issue's done-when: last session 10 days ago, weekly → overdue by 3 days; a newer
    session of the test resets it."""
    eq = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    store.save_session(eq.id, [result_factory()], performed_at=_at(10))
    a = store.set_schedule(eq.id, "generic.roi", "weekly", reason="weekly constancy")
    assert a.next_due == TODAY - timedelta(days=3)
    [item] = store.due_list()
    assert (item.status, item.days_overdue, item.last_session, item.every_days) == \
        ("overdue", 3, TODAY - timedelta(days=10), 7)
    assert store.due_list(overdue_only=True) == [item]
    # a grace window of 5 days: overdue within grace
    store.set_schedule(eq.id, "generic.roi", "weekly", grace_days=5, reason="allow 5 days")
    assert store.due_list()[0].status == "grace"
    # a session today resets it: next due in a week
    store.save_session(eq.id, [result_factory()], performed_at=_at(0))
    [item] = store.due_list()
    assert (item.status, item.due_date, item.last_session) == \
        ("ok", TODAY + timedelta(days=7), TODAY)
    assert store.due_list(overdue_only=True) == []


def test_every_n_days_and_urgency_order(store, result_factory):
    ct = store.add_equipment("CT 1", modality="CT", serial="SN-1")
    ct2 = store.add_equipment("CT 2", modality="CT", serial="SN-2")
    store.save_session(ct.id, [result_factory(serial="SN-1")], performed_at=_at(4))
    store.save_session(ct2.id, [result_factory(serial="SN-2")], performed_at=_at(30))
    store.set_schedule(ct.id, "generic.roi", "10d", reason="every ten days")  # due in 6 d
    store.set_schedule(ct2.id, "generic.roi", "monthly", grace_days=3, reason="monthly")
    store.set_schedule(ct2.id, "ct.water", "daily", reason="morning water")  # never done
    items = store.due_list()
    assert [(i.equipment, i.protocol, i.status) for i in items] == [
        ("CT 2", "ct.water", "due"), ("CT 2", "generic.roi", "due"),
        ("CT 1", "generic.roi", "ok")]
    assert items[2].due_date == TODAY + timedelta(days=6) and items[2].every_days == 10
    assert items[2].frequency == "days"
    # days later: CT 2's monthly test is overdue within grace, the daily test overdue
    later = store.due_list(TODAY + timedelta(days=2))
    assert [(i.protocol, i.status, i.days_overdue) for i in later] == [
        ("ct.water", "overdue", 2), ("generic.roi", "grace", 2), ("generic.roi", "ok", 0)]
    # an every-N-days schedule moves on by N days with each session
    store.save_session(ct.id, [result_factory(serial="SN-1")], performed_at=_at(1))
    ct1 = [i for i in store.due_list() if i.equipment == "CT 1"][0]
    assert ct1.due_date == TODAY + timedelta(days=9)


def test_a_schedule_change_needs_a_reason_and_is_audited(store):
    eq = store.add_equipment("MR 1", modality="MR", serial="MR-1")
    with pytest.raises(StoreError, match="reason"):
        store.set_schedule(eq.id, "mr.acr", "weekly", reason=" ")
    with pytest.raises(ImgqaError, match="no QC test"):
        store.set_schedule(eq.id, "no.such.test", "weekly", reason="x")
    store.set_schedule(eq.id, "mr.acr", "weekly", reason="IPEM weekly")
    store.set_schedule(eq.id, "mr.acr", "14d", grace_days=2, reason="fortnightly now")
    entries = [json.loads(e.details) for e in store.audit_log()
               if e.entity == "protocol_assignment"]
    assert [e["reason"] for e in entries] == ["IPEM weekly", "fortnightly now"]
    assert entries[-1]["old"]["frequency"] == "weekly"
    assert entries[-1]["interval_days"] == 14 and entries[-1]["grace_days"] == 2
    assert store.audit_verify() == (True, [])


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_schedule_and_due_from_the_command_line(tmp_path, capsys, result_factory):
    db = str(tmp_path / "qc.sqlite3")
    with open_store(db) as store:
        eq = store.add_equipment("MR 1", modality="MR", serial="MR-1")
        ct = store.add_equipment("CT 1", modality="CT", serial="SN-1")
        store.save_session(ct.id, [result_factory()], performed_at=_at(9))
    code, out, _ = _run(capsys, "--db", db, "schedule", "set", "CT 1", "generic.roi",
                        "--every", "weekly", "--reason", "weekly constancy")
    assert code == 0 and "next due" in out
    code, out, _ = _run(capsys, "--db", db, "schedule", "set", str(eq.id), "mr.acr",
                        "--every", "30d", "--grace", "3d", "--reason", "monthly ACR")
    assert code == 0
    code, _, err = _run(capsys, "--db", db, "schedule", "set", "MR 1", "mr.acr",
                        "--every", "sometimes", "--reason", "x")
    assert code == 1 and "10d" in err
    code, out, _ = _run(capsys, "--db", db, "due")
    assert code == 1  # something is overdue
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["Equipment", "Test"]
    assert "CT 1" in lines[2] and "OVERDUE" in lines[2] and "2" in lines[2]
    assert "MR 1" in lines[3] and "never" in lines[3] and lines[3].rstrip().endswith("due")
    code, out, _ = _run(capsys, "--db", db, "due", "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["overdue"] == 1
    assert [(i["equipment"], i["protocol"], i["status"], i["days_overdue"])
            for i in doc["items"]] == [("CT 1", "generic.roi", "overdue", 2),
                                       ("MR 1", "mr.acr", "due", 0)]
    assert doc["items"][0]["last_session"] == (TODAY - timedelta(days=9)).isoformat()
    assert doc["items"][1]["every_days"] == 30 and doc["items"][1]["grace_days"] == 3
    code, out, _ = _run(capsys, "--db", db, "due", "--overdue", "--format", "json")
    assert [i["protocol"] for i in json.loads(out)["items"]] == ["generic.roi"]
    # the overdue test done today: nothing overdue, exit 0
    with open_store(db) as store:
        store.save_session(ct.id, [result_factory()], performed_at=_at(0))
    code, out, _ = _run(capsys, "--db", db, "due", "--overdue")
    assert code == 0 and "Nothing overdue" in out
