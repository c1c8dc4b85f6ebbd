"""Makes ``audit_v1.sqlite3``: a results database written by imgqa before audit digest
version 2 (commit 3be60b2, schema 0002), so tests can check that old entries are still
verified with the rule of their time.

Run it with *that* imgqa on the path, e.g.::

    git archive 3be60b2 src | tar -x -C /tmp/imgqa-old
    PYTHONPATH=/tmp/imgqa-old/src python tests/store/data/make_v1_database.py OUT.sqlite3

Content is synthetic (no images, no patient data): one CT, a baseline and a tolerance, three
sessions of `generic.roi`, a review, a comment and a service event.
"""

from __future__ import annotations

import sqlite3
import sys
from datetime import UTC, datetime, timedelta

from imgqa.protocols.base import InputIdentity, Measurement, Result
from imgqa.store import open_store

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def result(mean: float, i: int) -> Result:
    return Result(
        protocol="generic.roi", protocol_version="1", parameters={"roi_diameter_mm": 20.0},
        series={"modality": "CT", "manufacturer": "Acme", "model": "Scan 1", "serial": "SN-1",
                "station_name": "CT_ROOM_1", "series_uid": f"1.2.3.{i}"},
        measurements=(Measurement("mean", mean, "HU"), Measurement("sd", 5.0, "HU")),
        inputs=(InputIdentity(f"1.2.3.4.{i}", f"{i:02x}" * 32),), imgqa_version="old")


def main(out: str) -> None:
    with open_store(out) as store:
        eq = store.add_equipment("CT room 1", modality="CT", manufacturer="Acme",
                                 model="Scan 1", serial="SN-1")
        ids = [store.save_session(eq.id, [result(100.0 + i, i)], performed_at=T0 + timedelta(i),
                                  performed_by="Tech A").id for i in range(3)]
        store.set_baseline(eq.id, "generic.roi", "mean", 100.0, "commissioning")
        store.set_tolerance(eq.id, "generic.roi", "mean", kind="absolute", tol_low=-2,
                            tol_high=2, act_low=-4, act_high=4, reason="local policy")
        store.review(ids[:2], "approved", "fine")
        store.add_comment(ids[2], "phantom was cold")
        store.add_service_event(eq.id, T0 + timedelta(days=1, hours=4), "calibration",
                                "detector calibration")
        assert store.audit_verify() == (True, [])
    with sqlite3.connect(out) as c:  # one file, no WAL side files, no free pages
        c.execute("PRAGMA journal_mode=DELETE")
    c = sqlite3.connect(out)
    c.execute("VACUUM")
    c.close()


if __name__ == "__main__":
    main(sys.argv[1])
