"""The writers: CSV, XLSX and JSON read back to the stored values and statuses; the PDF is a
valid multi-page document naming the equipment and measurements; no export carries the
patient name that was put in the DICOM headers."""

from __future__ import annotations

import base64
import csv
import json
import math
import re
import zlib
from pathlib import Path

import pytest
import report_fixtures

from imgqa.errors import ExportError
from imgqa.report import COLUMNS, export, format_for, gather

# Fixtures shared by the export tests (see report_fixtures.py for why not a conftest).
filled_store = report_fixtures.filled_store
store = report_fixtures.store


@pytest.fixture
def records(store):
    return gather(store)


def _truth(store) -> dict[tuple[str, str], tuple[float | None, str | None, str]]:
    """(session uid, measurement) → (value, status, unit), read straight from the store."""
    out = {}
    for s in store.sessions():
        for r in store.session_results(s.id):
            out[(s.uid, r.measurement)] = (r.value, r.status, r.unit)
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


# -- PDF helpers (no PDF library in the test environment: read the streams ourselves) -------
def pdf_text(data: bytes) -> str:
    """Text shown by the page content streams (reportlab: literal strings with Tj).

    Streams are decoded as their /Filter says (reportlab uses ASCII85 then Flate).
    """
    out = []
    for m in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\n?endstream", data, re.DOTALL):
        head, raw = m.group(1), m.group(2)
        if b"ASCII85Decode" in head:
            raw = base64.a85decode(raw.strip().removesuffix(b"~>"), ignorechars=b" \n\r\t")
        if b"FlateDecode" in head:
            raw = zlib.decompress(raw)
        for s in re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", raw, re.DOTALL):
            s = re.sub(rb"\\([()\\])", rb"\1", s)
            out.append(s.decode("cp1252", errors="replace"))
    return "\n".join(out)


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", data))


# -------------------------------------------------------------------------------------------
def test_csv_round_trips_values_statuses_and_units(store, records, tmp_path):
    path = export(records, tmp_path / "qa.csv")
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [n for n, _ in COLUMNS]
    assert len(rows) == len(records.rows)
    truth = _truth(store)
    for r in rows:
        value, status, unit = truth[(r["session_uid"], r["measurement"])]
        assert _same(float(r["value"]) if r["value"] else None, value)
        assert (r["status"] or None) == status and r["unit"] == unit
    statuses = {r["status"] for r in rows}
    assert {"OK", "TOLERANCE", "ACTION", "NO_TOL"} <= statuses
    # a comment that looks like a formula is kept as inert text
    bait = [r["comments"] for r in rows if "HYPERLINK" in r["comments"]]
    assert bait and all(not c.startswith("=") for c in bait)


def test_xlsx_has_coloured_status_text_frozen_header_and_round_trips(store, records,
                                                                      tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    path = export(records, tmp_path / "qa.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Results"]
    ws = wb["Results"]
    assert ws.freeze_panes == "A2"
    titles = [c.value for c in ws[1]]
    assert titles == [t for _, t in COLUMNS]
    col = {name: titles.index(t) for name, t in COLUMNS}
    truth = _truth(store)
    fills = {}
    n = 0
    for row in ws.iter_rows(min_row=2):
        n += 1
        v = {name: row[i].value for name, i in col.items()}
        value, status, unit = truth[(v["session_uid"], v["measurement"])]
        assert _same(v["value"], value)
        assert v["status"] == status and (v["unit"] or "") == unit
        cell = row[col["status"]]
        if status:
            fills.setdefault(status, set()).add(cell.fill.fgColor.rgb)
        assert v["performed_at"].year == 2026          # a real date-time, not text
    assert n == len(records.rows)
    # each status has one colour, and the four are different
    assert all(len(c) == 1 for c in fills.values())
    assert len({next(iter(c)) for c in fills.values()}) == len(fills) == 4
    assert ws.column_dimensions["P"].width > 10        # widths were set (P: Measurement)
    # formula bait stays text
    bait = [r[col["comments"]] for r in ws.iter_rows(min_row=2)
            if r[col["comments"]].value and "HYPERLINK" in r[col["comments"]].value]
    assert bait and all(c.data_type == "s" for c in bait)
    # the summary counts statuses per equipment
    sm = wb["Summary"]
    texts = [c.value for row in sm.iter_rows() for c in row if c.value is not None]
    assert "CT room 1" in texts and "Gamma camera A" in texts and "ACTION" in texts


def test_json_holds_the_same_rows_and_the_review_sign_offs(store, records, tmp_path):
    path = export(records, tmp_path / "qa.json")
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    assert doc["format"] == "imgqa-qa-records" and doc["imgqa_version"]
    assert len(doc["rows"]) == len(records.rows)
    truth = _truth(store)
    for r in doc["rows"]:
        value, status, unit = truth[(r["session_uid"], r["measurement"])]
        assert _same(r["value"], value) and r["status"] == status and r["unit"] == unit
    reviewed = [s for s in doc["sessions"] if s["reviews"]]
    assert {rv["decision"] for s in reviewed for rv in s["reviews"]} == {"approved",
                                                                         "rejected"}
    # the CSV and the JSON carry the same rows
    export(records, tmp_path / "qa.csv")
    with open(tmp_path / "qa.csv", newline="", encoding="utf-8-sig") as f:
        csv_rows = list(csv.DictReader(f))
    assert [(r["session_uid"], r["measurement"], r["status"]) for r in csv_rows] == [
        (r["session_uid"], r["measurement"], r["status"] or "") for r in doc["rows"]]


def test_pdf_is_a_valid_report_naming_equipment_measurements_and_pages(records, tmp_path):
    path = export(records, tmp_path / "qa.pdf", department="Radiology, St Elsewhere")
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    pages = pdf_pages(data)
    assert pages >= 2                                  # one section per equipment
    text = pdf_text(data)
    for needle in ("CT room 1", "Gamma camera A", "mean_hu_centre", "noise_sd_centre",
                   "integral_uniformity_ufov", "TOLERANCE", "ACTION", "Radiology, St Elsewhere",
                   "Review sign-off", "approved", "rejected", "monthly check",
                   f"page 1 of {pages}", f"page {pages} of {pages}",
                   f"imgqa {records.imgqa_version}", "Trends"):
        assert needle in text, needle


def test_no_patient_data_in_any_export(filled_store, records, tmp_path):
    for fmt in ("csv", "xlsx", "pdf", "json"):
        path = export(records, tmp_path / f"qa.{fmt}")
        data = Path(path).read_bytes()
        if fmt == "xlsx":                      # a zip: look inside every part
            import zipfile

            with zipfile.ZipFile(path) as z:
                data = b"".join(z.read(n) for n in z.namelist())
        elif fmt == "pdf":
            data += pdf_text(data).encode("utf-8")
        for marker in filled_store.patient_markers:
            assert marker.encode() not in data, (fmt, marker)


def test_format_from_suffix_and_clear_errors(records, tmp_path):
    assert format_for("a/b/QA.XLSX") == "xlsx"
    assert format_for("report.dat", "json") == "json"
    with pytest.raises(ExportError, match="no suffix"):
        format_for("report")
    with pytest.raises(ExportError, match=r"\.xls"):
        format_for("report.xls")
    with pytest.raises(ExportError, match="Unknown export format"):
        format_for("report.docx")
    with pytest.raises(ExportError, match="does not exist"):
        export(records, tmp_path / "missing" / "qa.csv")
    # a failed write leaves no half file behind, and an old file is replaced whole
    target = tmp_path / "qa.json"
    target.write_text("old")
    export(records, target)
    assert json.loads(target.read_text())["rows"]
    assert [p.name for p in tmp_path.iterdir()] == ["qa.json"]
