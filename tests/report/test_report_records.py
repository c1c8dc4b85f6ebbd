"""`imgqa.report.gather`: which rows an export holds, and what each row says."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
import report_fixtures

from imgqa.errors import ExportError, StoreError
from imgqa.report import COLUMNS, gather, parse_date

# Fixtures shared by the export tests (see report_fixtures.py for why not a conftest).
filled_store = report_fixtures.filled_store
store = report_fixtures.store


def _measured(results) -> dict[str, float | None]:
    return {m.name: m.value for r in results for m in r.measurements}


def test_every_stored_measurement_is_a_row_with_its_analysed_value(filled_store, store):
    n_days = filled_store.n_days
    rec = gather(store)
    ct = _measured(filled_store.ct_results)
    nm = _measured(filled_store.nm_results)
    assert len(rec.rows) == n_days * (len(ct) + len(nm))
    assert [e.name for e in rec.equipment] == ["CT room 1", "Gamma camera A"]
    assert len(rec.sessions) == 2 * n_days
    for r in rec.rows:
        truth = (ct if r.equipment == "CT room 1" else nm)[r.measurement]
        if truth is None or not math.isfinite(truth):
            assert r.value is None
        else:
            assert r.value == pytest.approx(truth, rel=1e-12)
    # equipment identity and protocol version travel with every row
    first = rec.rows[0]
    assert (first.equipment, first.modality, first.manufacturer, first.model, first.serial,
            first.station_name) == ("CT room 1", "CT", "GE", "Revolution", "CT-0042", "CTR1")
    assert first.protocol == "ct.water" and first.protocol_version
    assert first.performed_by == "A. Tech" and first.unit == "HU"
    # rows are grouped by equipment, then in time order
    ct_rows = [r for r in rec.rows if r.equipment == "CT room 1"]
    assert rec.rows[:len(ct_rows)] == tuple(ct_rows)
    assert [r.performed_at for r in ct_rows] == sorted(r.performed_at for r in ct_rows)


def test_status_reference_and_limits_are_those_in_force_when_saved(filled_store, store):
    noise = filled_store.ct_results[0].value("noise_sd_centre")
    assert 7.35 < noise < 8.05          # the set-up relies on +5 % < noise/7.0 − 1 < +15 %
    iu = filled_store.nm_results[0].value("integral_uniformity_ufov")
    assert iu > 2.0
    rows = gather(store).rows
    day0 = filled_store.day0
    by_day = {}
    for r in rows:
        by_day[(r.equipment, r.measurement, (r.performed_at - day0).days)] = r
    # before the baseline: no reference → NO_TOL; after: 7.0 HU ±5 % / ±15 % → TOLERANCE
    before = by_day[("CT room 1", "noise_sd_centre", 0)]
    after = by_day[("CT room 1", "noise_sd_centre", 3)]
    assert before.status == "NO_TOL" and before.reference is None and before.tolerance == ""
    assert after.status == "TOLERANCE" and after.reference == 7.0
    assert (after.act_low, after.tol_low, after.tol_high, after.act_high) == pytest.approx(
        (7.0 * 0.85, 7.0 * 0.95, 7.0 * 1.05, 7.0 * 1.15))
    assert after.tolerance_kind == "percent" and "5" in after.tolerance
    assert after.tolerance_source == "equipment"
    # the packaged default for water: 0 ± 5 HU
    water = by_day[("CT room 1", "mean_hu_centre", 0)]
    assert water.reference == 0 and (water.act_low, water.act_high) == (-5, 5)
    assert water.status == ("OK" if abs(water.value) <= 5 else "ACTION")
    # NM: a stricter limit set before day 3 turns the same value into ACTION from then on
    assert by_day[("Gamma camera A", "integral_uniformity_ufov", 2)].status != "ACTION"
    assert by_day[("Gamma camera A", "integral_uniformity_ufov", 3)].status == "ACTION"
    assert by_day[("Gamma camera A", "integral_uniformity_ufov", 3)].act_high == 2.0


def test_reviews_and_comments_are_in_the_rows(filled_store, store):
    rec = gather(store)
    by_session = {r.session_id: r for r in rec.rows}
    s0 = by_session[filled_store.ct_sessions[0].id]
    assert s0.review_decision == "approved" and s0.reviewed_by and s0.reviewed_at
    assert s0.review_comment == "monthly check"
    assert "after tube change" in s0.comments
    assert by_session[filled_store.ct_sessions[3].id].review_decision is None
    nm4 = by_session[filled_store.nm_sessions[4].id]
    assert nm4.review_decision == "rejected" and nm4.review_comment == "repeat the flood"
    assert "HYPERLINK" in by_session[filled_store.ct_sessions[2].id].comments
    info = {s.id: s for s in rec.sessions}[filled_store.ct_sessions[0].id]
    assert [rv.decision for rv in info.reviews] == ["approved"]


def test_filters_equipment_protocol_period_and_unreviewed(filled_store, store):
    rec = gather(store, equipment=["CT-0042"], since=parse_date("2026-01-06"),
                 until=parse_date("2026-01-07", end=True))
    assert {r.equipment for r in rec.rows} == {"CT room 1"}
    assert sorted({r.performed_at.date().isoformat() for r in rec.rows}) == [
        "2026-01-06", "2026-01-07"]               # --until is inclusive of its day
    assert gather(store, protocol="nm.uniformity").equipment[0].name == "Gamma camera A"
    assert {r.protocol for r in gather(store, protocol="nm.uniformity").rows} == {
        "nm.uniformity"}
    pending = gather(store, unreviewed_only=True)
    n_days = filled_store.n_days
    reviewed = {filled_store.ct_sessions[0].id, filled_store.ct_sessions[1].id,
                filled_store.nm_sessions[4].id}
    assert len(pending.sessions) == 2 * n_days - 3
    assert not reviewed & {r.session_id for r in pending.rows}
    assert "2026-01-06 to 2026-01-07" == rec.period_text()


def test_an_empty_period_says_so_clearly(filled_store, store):
    day0 = filled_store.day0
    with pytest.raises(ExportError) as exc:
        gather(store, equipment=["CT room 1"], since=datetime(2030, 1, 1, tzinfo=UTC))
    assert "No QA records match" in exc.value.message
    assert "CT room 1" in exc.value.message and "2030-01-01" in exc.value.message
    assert "--since" in exc.value.hint
    with pytest.raises(ExportError, match="period is empty"):
        gather(store, since=day0, until=day0 - timedelta(days=1))
    with pytest.raises(StoreError):
        gather(store, equipment=["no such scanner"])


def test_dates_parse_with_an_inclusive_end_and_bad_dates_are_refused():
    assert parse_date("2026-01-31") == datetime(2026, 1, 31, tzinfo=UTC)
    assert parse_date("2026-01-31", end=True) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_date("2026-01-31T12:30") == datetime(2026, 1, 31, 12, 30, tzinfo=UTC)
    with pytest.raises(ExportError, match="not a date"):
        parse_date("31/01/2026")


def test_columns_name_every_row_field():
    from dataclasses import fields

    from imgqa.report import RecordRow

    names = [n for n, _ in COLUMNS]
    assert len(names) == len(set(names)) and set(names) == {f.name for f in fields(RecordRow)}
