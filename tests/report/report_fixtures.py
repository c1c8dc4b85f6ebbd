"""A real SQLite results database for the export tests, filled through `Store.save_session`.

Demo phantoms (CT water, NM flood) are written with `imgqa.phantoms.make_demo`, their DICOM
headers are given a made-up patient name and ID (so a test can show they never reach an
export), analysed with `imgqa.analyse`, and saved as daily sessions on two pieces of
equipment over six days, with a baseline and tolerances that give OK, TOLERANCE, ACTION and
NO_TOL results, two approved sessions and a few comments. Built once per test process and
only read by the tests.

Test modules import the fixtures from here (``from report_fixtures import filled_store,
store``) rather than from a conftest.py: conftest modules of different test folders share the
module name ``conftest``, which breaks collection when folders are given in some orders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pydicom
import pytest

import imgqa
from imgqa.phantoms import make_demo

# Made up, not a person; if any of these turns up in an export, patient data leaked.
PATIENT_NAME = "Zyxwood^Quillane"
PATIENT_ID = "PID-4711-QX"
PATIENT_MARKERS = ("Zyxwood", "Quillane", "PID-4711-QX", "19570312")

DAY0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
N_DAYS = 6


@dataclass
class FilledStore:
    db: str
    ct_id: int
    nm_id: int
    ct_results: list      # what imgqa.analyse measured (the truth the exports must carry)
    nm_results: list
    ct_sessions: list     # SessionRecord, oldest first
    nm_sessions: list
    day0: datetime = DAY0
    n_days: int = N_DAYS
    patient_markers: tuple[str, ...] = PATIENT_MARKERS


def _add_patient(folder: Path) -> int:
    n = 0
    for f in folder.rglob("*.dcm"):
        ds = pydicom.dcmread(f)
        ds.PatientName = PATIENT_NAME
        ds.PatientID = PATIENT_ID
        ds.PatientBirthDate = "19570312"
        ds.save_as(f)
        n += 1
    return n


def as_new_images(results: list, day: int) -> list:
    """The results as if measured on new images of day ``day`` (fresh SOP Instance UIDs): one
    demo acquisition stands for every day, and the store refuses the same images twice."""
    return [replace(r, inputs=tuple(replace(i, sop_instance_uid=f"{i.sop_instance_uid}.{day}")
                                    for i in r.inputs)) for r in results]


def _build(root: Path) -> FilledStore:
    from imgqa.store import open_store

    ct_dir, nm_dir = make_demo(root / "phantoms", ["ct_water", "nm_flood"])
    assert _add_patient(ct_dir) > 0 and _add_patient(nm_dir) > 0
    ct_results = imgqa.analyse(ct_dir)
    nm_results = imgqa.analyse(nm_dir)
    db = str(root / "qc.sqlite3")
    with open_store(db) as store:
        ct = store.add_equipment("CT room 1", modality="CT", manufacturer="GE",
                                 model="Revolution", serial="CT-0042", station_name="CTR1")
        nm = store.add_equipment("Gamma camera A", modality="NM", manufacturer="Siemens",
                                 model="Intevo", serial="NM-0007")
        # noise 7.70 HU vs baseline 7.0 HU, ±5 % / ±15 % → TOLERANCE (from day 3 on)
        # NM integral uniformity UFOV ~2.8 % with act_high 2.0 % → ACTION (from day 4 on)
        ct_sessions, nm_sessions = [], []
        for d in range(N_DAYS):
            if d == 2:
                store.set_baseline(ct.id, "ct.water", "noise_sd_centre", 7.0,
                                   reason="commissioning")
                store.set_tolerance(ct.id, "ct.water", "noise_sd_centre", kind="percent",
                                    act_low=-15, tol_low=-5, tol_high=5, act_high=15,
                                    reason="local policy")
            if d == 3:
                store.set_tolerance(nm.id, "nm.uniformity", "integral_uniformity_ufov",
                                    kind="absolute", act_low=None, tol_low=None,
                                    tol_high=1.5, act_high=2.0, reason="test: strict limit")
            ct_sessions.append(store.save_session(
                ct.id, as_new_images(ct_results, d), performed_at=DAY0 + timedelta(days=d),
                performed_by="A. Tech", comment="after tube change" if d == 0 else ""))
            nm_sessions.append(store.save_session(
                nm.id, as_new_images(nm_results, d), performed_at=DAY0 + timedelta(days=d, hours=1),
                performed_by="B. Tech"))
        store.review([ct_sessions[0].id, ct_sessions[1].id], "approved",
                     comment="monthly check")
        store.review([nm_sessions[4].id], "rejected", comment="repeat the flood")
        store.add_comment(ct_sessions[2].id, "=HYPERLINK(\"http://x\")")  # formula bait
    return FilledStore(db, ct.id, nm.id, ct_results, nm_results, ct_sessions, nm_sessions)


_BUILT: list[FilledStore] = []  # one database per test process, shared by the modules


@pytest.fixture(scope="session")
def filled_store(tmp_path_factory) -> FilledStore:
    if not _BUILT:
        _BUILT.append(_build(tmp_path_factory.mktemp("report")))
    return _BUILT[0]


@pytest.fixture
def store(filled_store):
    from imgqa.store import open_store

    with open_store(filled_store.db) as s:
        yield s
