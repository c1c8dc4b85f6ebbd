"""Issue 11 item 4: exports carry the measurement label next to the internal name."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import report_fixtures
from test_report_formats import pdf_text

from imgqa.protocols import measurement_label
from imgqa.report import COLUMNS, export, gather

filled_store = report_fixtures.filled_store
store = report_fixtures.store


@pytest.fixture
def records(store):
    return gather(store)


def test_label_column_sits_next_to_the_internal_name_and_keeps_the_others():
    names = [n for n, _ in COLUMNS]
    assert names[names.index("measurement") + 1] == "measurement_label"
    for kept in ("session_uid", "protocol", "label", "measurement", "value", "unit", "status"):
        assert kept in names


def test_csv_xlsx_json_carry_labels(records, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    with open(export(records, tmp_path / "qa.csv"), newline="", encoding="utf-8-sig") as f:
        csv_rows = list(csv.DictReader(f))
    wb = openpyxl.load_workbook(export(records, tmp_path / "qa.xlsx"))
    titles = [c.value for c in wb["Results"][1]]
    xlsx_rows = [dict(zip(titles, (c.value for c in row), strict=True))
                 for row in wb["Results"].iter_rows(min_row=2)]
    doc = json.loads(Path(export(records, tmp_path / "qa.json")).read_text(encoding="utf-8"))
    assert len(csv_rows) == len(xlsx_rows) == len(doc["rows"]) == len(records.rows) > 0
    for c, x, j in zip(csv_rows, xlsx_rows, doc["rows"], strict=True):
        want = measurement_label(c["protocol"], c["measurement"])
        assert c["measurement_label"] == x["Measurement label"] == j["measurement_label"] == want
        assert "_" not in want
    labels = {r["measurement_label"] for r in csv_rows}
    assert {"Mean CT number, centre", "Integral uniformity, UFOV"} <= labels


def test_pdf_shows_labels_with_internal_names(records, tmp_path):
    text = pdf_text(Path(export(records, tmp_path / "qa.pdf")).read_bytes())
    for needle in ("Mean CT number, centre", "mean_hu_centre", "Integral uniformity, UFOV",
                   "integral_uniformity_ufov", "Noise (SD), centre [HU]"):  # a trend chart title
        assert needle in text, needle
