"""Service events on the PDF report's trend charts: dashed vertical lines at the events'
times, labelled with their kind, and a list of the period's events under the charts."""

from __future__ import annotations

import base64
import re
import zlib
from datetime import UTC, datetime, timedelta

import pytest

pytest.importorskip("reportlab")

from imgqa.report import gather  # noqa: E402
from imgqa.report.pdf_export import _EVENT, _Point, trend_chart, write_pdf  # noqa: E402
from imgqa.store import ServiceEventRecord, open_store  # noqa: E402

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)


def _event(day: float, kind: str) -> ServiceEventRecord:
    when = T0 + timedelta(days=day)
    return ServiceEventRecord(1, 1, when, kind, f"{kind} done", "Vendor", "tech", when)


def _event_lines(drawing):
    from reportlab.lib.colors import HexColor

    return [c for c in drawing.contents if type(c).__name__ == "Line"
            and c.strokeColor == HexColor(_EVENT) and c.strokeDashArray == (3, 2)]


def test_event_lines_sit_at_the_event_times():
    pts = [_Point(T0 + timedelta(days=i), 100.0 + i, "OK", 100.0, -3.0 + 100, None, None,
                  103.0) for i in range(11)]
    events = [_event(2.5, "software"), _event(7.5, "part replacement"),
              _event(-5, "acceptance"), _event(30, "repair")]  # last two outside the chart
    d = trend_chart(pts, "ct.water · mean", "HU", events=events)
    lines = _event_lines(d)
    assert len(lines) == 2
    # the chart maps the first and last point to 3 % and 97 % of the plot width
    left, pw = 44.0, d.width - 44.0 - 8.0
    for line, frac in zip(lines, (0.25, 0.75)):
        assert line.x1 == line.x2 == pytest.approx(left + pw * (0.03 + 0.94 * frac))
        assert line.y1 == pytest.approx(26.0) and line.y2 == pytest.approx(d.height - 16.0)
    labels = [c.text for c in d.contents if type(c).__name__ == "String"
              and c.fillColor is not None and c.fillColor.hexval() == "0x6a1b9a"]
    assert labels == ["software", "part replacement"]
    assert _event_lines(trend_chart(pts, "no events")) == []


def _pdf_text(data: bytes) -> str:
    out = []
    for m in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", data, re.DOTALL):
        head, raw = m.group(1), m.group(2)
        if b"ASCII85Decode" in head:
            raw = base64.a85decode(raw.strip().removesuffix(b"~>"), ignorechars=b" \n\r\t")
        if b"FlateDecode" in head:
            raw = zlib.decompress(raw)
        out += [s.decode("cp1252", errors="replace")
                for s in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", raw, re.DOTALL)]
    return "\n".join(out)


def test_pdf_report_marks_and_lists_the_periods_events(tmp_path):
    from imgqa.protocols.base import InputIdentity, Measurement, Result

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        eq = store.add_equipment("CT room 1", modality="CT", serial="SN-1")
        other = store.add_equipment("CT room 2", modality="CT", serial="SN-2")
        for i in range(6):
            r = Result(protocol="generic.roi", protocol_version="1", parameters={},
                       series={}, measurements=(Measurement("mean", 100.0 + (i > 2) * 5, ""),),
                       inputs=(InputIdentity(f"1.2.{i}", "ab" * 32),), imgqa_version="test")
            store.save_session(eq.id, [r], performed_at=T0 + timedelta(days=i))
        store.add_service_event(eq.id, T0 + timedelta(days=2, hours=12), "part replacement",
                                "X-ray tube replaced", performed_by="A. Engineer")
        store.add_service_event(eq.id, T0 - timedelta(days=40), "acceptance", "before period")
        store.add_service_event(other.id, T0 + timedelta(days=1), "repair", "other room")
        records = gather(store, since=T0 - timedelta(days=1), until=T0 + timedelta(days=10))
    assert [e.description for e in records.service_events] == ["X-ray tube replaced"]
    path = tmp_path / "qa.pdf"
    write_pdf(records, path)
    text = _pdf_text(path.read_bytes())
    assert "Service events in the period" in text and "X-ray tube replaced" in text
    assert "A. Engineer" in text and "part replacement" in text
    assert "before period" not in text and "other room" not in text
