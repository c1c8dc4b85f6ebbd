"""The one-TI series of a T1 relaxometry acquisition are analysed together by the automatic
choice (`Protocol.group_key`, `batch_units`), as if mr.relaxometry had been chosen for all of
them; series grouped by mistake are analysed one by one, as they would have been."""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.uid import generate_uid

import imgqa
from imgqa.parallel import analyse_parallel
from imgqa.phantoms.relaxometry import write_t1_series, write_t2_series
from imgqa.phantoms.writer import write_series
from imgqa.protocols.base import analyse_batch, analyse_series, batch_units


def _measured(results) -> list[tuple]:
    return [(r.protocol, r.label, [(m.name, m.value) for m in r.measurements]) for r in results]


def test_per_ti_series_are_analysed_together_automatically(tmp_path):
    write_t1_series(tmp_path / "t1", seed=7, rotation_deg=-12.0)
    series = imgqa.load(tmp_path / "t1")
    assert len(series) == 7
    assert [len(u) for u in batch_units(series, None)] == [7]
    (auto,) = imgqa.analyse(series)
    (chosen,) = imgqa.analyse(series, "mr.relaxometry")
    assert auto.protocol == "mr.relaxometry" and auto.series["series_count"] == 7
    assert "7 series of one acquisition analysed together" in auto.choice_reason
    assert _measured([auto]) == _measured([chosen])
    assert len(auto.inputs) == 7          # every TI's image is in the provenance


def test_other_series_of_the_batch_keep_their_own_units(tmp_path):
    write_t1_series(tmp_path / "t1", seed=8, ti_ms=(100.0, 400.0, 1600.0))
    write_t2_series(tmp_path / "t2", seed=8, te_ms=[10.0 * k for k in range(1, 9)])
    series = imgqa.load(tmp_path)
    units = batch_units(series, None)
    assert sorted(len(u) for u in units) == [1, 3]
    results, problems = analyse_batch(series)
    assert not problems
    assert sorted((r.extra["kind"], r.series.get("series_count")) for r in results) == \
        [("T1", 3), ("T2", None)]


def test_series_grouped_by_mistake_are_analysed_one_by_one(tmp_path):
    """Two inversion-recovery repeats of one slice (same study, position, TI) are grouped,
    hold no vial plate, and so each gets what it gets alone."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:128, :128]
    disc = ((yy - 64) ** 2 + (xx - 64) ** 2 < 40 ** 2) * 800.0
    session = {"StudyInstanceUID": generate_uid(), "FrameOfReferenceUID": generate_uid(),
               "InversionTime": "2200", "RepetitionTime": "9000", "EchoTime": "90"}
    for k in range(2):
        write_series(disc + rng.normal(0, 5, disc.shape), tmp_path / f"flair{k}", modality="MR",
                     description="FLAIR repeat", pixel_spacing_mm=1.0, prefix=f"f{k}",
                     extra_tags={**session, "SeriesNumber": k + 1})
    series = imgqa.load(tmp_path)
    assert [len(u) for u in batch_units(series, None)] == [2]
    results, problems = analyse_batch(series)
    alone = [r for s in series for r in analyse_series(s)]
    assert not problems
    assert _measured(results) == _measured(alone)
    assert {r.protocol for r in results} != {"mr.relaxometry"}


def test_the_process_pool_gives_the_same_results(tmp_path):
    write_t1_series(tmp_path / "t1", seed=9, ti_ms=(50.0, 200.0, 800.0, 3200.0))
    write_t2_series(tmp_path / "t2", seed=9, te_ms=[12.0 * k for k in range(1, 9)])
    series = imgqa.load(tmp_path)
    serial = analyse_batch(series)
    pooled = analyse_parallel(series, None, jobs=2)
    assert _measured(pooled[0]) == _measured(serial[0]) and not pooled[1] and not serial[1]


def test_real_t1_plates_are_grouped(shared_data):
    root = shared_data / "mr" / "relaxometry_hazen" / "T1"
    folders = sorted(p for p in root.glob("site*/plate*") if p.is_dir())
    if not folders:
        pytest.skip("no T1 relaxometry series in the shared data")
    for folder in folders:
        series = imgqa.load(folder)
        (auto,) = imgqa.analyse(series)
        (chosen,) = imgqa.analyse(series, "mr.relaxometry")
        assert auto.series["series_count"] == len(series) == 6, folder
        assert _measured([auto]) == _measured([chosen]), folder
