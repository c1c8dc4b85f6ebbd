"""Issue 11, item 1: a session approved despite an ACTION result carries the reviewer's comment
into every export (PDF sign-off, CSV, XLSX and JSON), and it cannot be approved without one."""

from __future__ import annotations

import csv
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_report_formats import pdf_text

from imgqa.errors import StoreError
from imgqa.protocols.base import InputIdentity, Measurement, Result
from imgqa.report import export, gather

COMMENT = "Phantom refilled, repeat scan 1.2 HU"


def _water(hu: float, uid: str) -> Result:
    return Result(protocol="ct.water", protocol_version="1", parameters={},
                  series={"modality": "CT", "manufacturer": "Acme", "model": "Scan 1",
                          "serial": "SN-9"},
                  measurements=(Measurement("mean_hu_centre", hu, "HU"),),
                  inputs=(InputIdentity(uid, "ef" * 32),), imgqa_version="test")


@pytest.fixture
def approved_failure(tmp_path):
    from imgqa.store import open_store

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        eq = store.add_equipment("CT room 9", modality="CT", serial="SN-9")
        s = store.save_session(eq.id, [_water(9.9, "1.2.826.0.9.1")],
                               performed_at=datetime(2026, 2, 3, 8, tzinfo=UTC))
        assert s.worst_status == "ACTION"          # packaged default: water 0 ± 5 HU
        with pytest.raises(StoreError, match="needs a review comment"):
            store.review([s.id], "approved")
        store.review([s.id], "approved", COMMENT)
        yield gather(store)


def test_every_export_shows_the_review_comment_of_an_approved_failure(approved_failure,
                                                                      tmp_path):
    text = pdf_text(Path(export(approved_failure, tmp_path / "qa.pdf")).read_bytes())
    assert "ACTION" in text and "approved" in text and f"review: {COMMENT}" in text

    with open(export(approved_failure, tmp_path / "qa.csv"), newline="",
              encoding="utf-8-sig") as f:
        (row,) = list(csv.DictReader(f))
    assert (row["status"], row["review_decision"], row["review_comment"]) == (
        "ACTION", "approved", COMMENT)

    doc = json.loads(Path(export(approved_failure, tmp_path / "qa.json")).read_text("utf-8"))
    assert [r["review_comment"] for r in doc["rows"]] == [COMMENT]

    with zipfile.ZipFile(export(approved_failure, tmp_path / "qa.xlsx")) as z:
        xml = b"".join(z.read(n) for n in z.namelist() if n.startswith("xl/")).decode()
    assert COMMENT in xml
