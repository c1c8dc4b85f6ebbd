"""Issue 12: a complete series is routed and analysed without a person.

The digital water phantom has an analytic answer (mean 0 HU, noise SD 5 HU), so the automatic
path is checked against truth, not against itself. The receiver test sends the series with a
real pynetdicom SCU and drives completion with a fake clock.
"""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.io.receiver import StorageReceiver
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service.automatic import RouteDecision, analyse_complete, automatic_route
from imgqa.service.pipeline import AutomaticQC

NOISE_SD = 5.0


@pytest.fixture(scope="module")
def water_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("water")
    images, truth = water_phantom(size=128, pixel_mm=1.8, noise_sd=NOISE_SD, n_slices=2,
                                  seed=1, offset_mm=(6.0, -9.0))
    assert truth["mean_hu_centre"] == 0.0
    return write_series(images, out, modality="CT", description="Water phantom daily QC",
                        pixel_spacing_mm=1.8, slice_thickness_mm=5.0,
                        rescale_intercept=-1024.0)


def _values(outcome):
    (result,) = outcome.results
    return result.protocol, {m.name: m.value for m in result.measurements}


def test_automatic_route_analyses_and_recovers_the_truth(water_files):
    (outcome,) = analyse_complete(water_files)
    assert outcome.state == "analysed" and outcome.n_images == 2 and outcome.problems == ()
    protocol, values = _values(outcome)
    assert protocol == "ct.water"
    # 2 slices x ~400 mm2 ROI of 3.24 mm2 pixels: the mean's standard error is ~0.3 HU
    assert abs(values["mean_hu_centre"]) < 1.5
    assert values["noise_sd_centre"] == pytest.approx(NOISE_SD, rel=0.15)
    line = outcome.summary_line()
    assert line.startswith("analysed: CT 'Water phantom daily QC' (2 images): ct.water ")
    assert "Mean CT number, centre" in line
    d = outcome.to_dict()
    assert d["state"] == "analysed" and d["route"]["protocol"] is None
    assert d["results"][0]["protocol"] == "ct.water"
    labels = {m["name"]: m["label"] for m in d["results"][0]["measurements"]}
    assert labels["mean_hu_centre"] == "Mean CT number, centre"


def test_a_route_can_choose_the_protocol_and_parameters(water_files):
    seen = []

    def route(header):
        seen.append((header.modality, header.series_description))
        return RouteDecision(True, "generic.roi", {}, "rule 1: water phantom on CT_ROOM1")

    (outcome,) = analyse_complete(water_files, route)
    assert seen == [("CT", "Water phantom daily QC")]
    assert _values(outcome)[0] == "generic.roi"
    assert outcome.to_dict()["route"]["reason"] == "rule 1: water phantom on CT_ROOM1"


def test_an_unrouted_series_waits_with_its_reason(water_files):
    (outcome,) = analyse_complete(
        water_files, lambda h: RouteDecision(False, reason="no rule matches station CT9"))
    assert outcome.state == "waiting" and outcome.results == ()
    assert outcome.summary_line().endswith("no rule matches station CT9")


def test_a_failing_route_or_analysis_is_that_series_problem(water_files):
    def broken(header):
        raise KeyError("rule table")

    (outcome,) = analyse_complete(water_files, broken)
    assert outcome.state == "waiting" and "routing failed" in outcome.route.reason
    (outcome,) = analyse_complete(water_files,
                                  lambda h: RouteDecision(True, "mr.acr", {}, "wrong rule"))
    assert outcome.state == "failed" and outcome.problems
    assert outcome.summary_line().startswith("failed: CT 'Water phantom daily QC'")


def test_files_that_do_not_load_are_reported_not_raised(tmp_path):
    junk = tmp_path / "junk.dcm"
    junk.write_bytes(b"not dicom at all")
    (outcome,) = analyse_complete([junk])
    assert outcome.state == "failed" and outcome.problems[0]["path"].endswith("junk.dcm")


def test_automatic_route_lets_imgqa_choose():
    decision = automatic_route(None)  # type: ignore[arg-type] - the header is not consulted
    assert decision.analyse and decision.protocol is None and decision.reason


def test_received_series_is_analysed_once_after_the_quiet_period(tmp_path, water_files, dicom_send):
    clock = [0.0]
    outcomes = []
    qc = AutomaticQC(lambda s: outcomes.extend(analyse_complete(s.paths, update=s.update)),
                     quiet_s=10.0, clock=lambda: clock[0])
    with StorageReceiver(inbox=tmp_path / "inbox", port=0, allowed_ae_titles=["CTSCANNER"],
                         on_received=qc.on_received) as rx:
        assert dicom_send(rx.port, water_files, "CTSCANNER") == [0, 0]
        clock[0] = 9.0
        assert qc.run_due() == 0 and qc.collector.pending() != {}
        clock[0] = 10.0
        assert qc.run_due() == 1
        # the scanner sends the same series again: nothing new, nothing analysed again
        assert dicom_send(rx.port, water_files, "CTSCANNER") == [0, 0]
        clock[0] = 100.0
        assert qc.run_due() == 0
    (outcome,) = outcomes
    assert outcome.state == "analysed" and outcome.n_images == 2
    assert _values(outcome)[0] == "ct.water"
    assert all(p.is_relative_to(tmp_path / "inbox") for p in
               {r.path for r in rx.received})
    assert np.isclose(_values(outcome)[1]["noise_sd_centre"], NOISE_SD, rtol=0.15)


@pytest.mark.slow  # 500 C-STOREs, each fsynced: ~40 s on a loaded 2-core machine
def test_500_images_in_a_burst_from_two_associations_are_stored_and_handed_on_once(
        tmp_path, dicom_send):
    """Two series of 250 images, each association delivering half of each, at the same time."""
    import threading

    clock = [0.0]
    handed = []
    qc = AutomaticQC(handed.append, quiet_s=10.0, clock=lambda: clock[0])
    series = [write_series(np.zeros((250, 4, 4)), tmp_path / f"src{i}", modality="CT",
                           description=f"burst {i}", pixel_spacing_mm=1.0,
                           rescale_intercept=-1024.0) for i in range(2)]
    files = [f for pair in zip(*series) for f in pair]  # interleaved: A0 B0 A1 B1 ...
    statuses: list[list[int] | None] = [None, None]

    def deliver(k):
        statuses[k] = dicom_send(rx.port, files[k::2], "CTSCANNER")

    with StorageReceiver(inbox=tmp_path / "inbox", port=0, allowed_ae_titles=["CTSCANNER"],
                         on_received=qc.on_received) as rx:
        threads = [threading.Thread(target=deliver, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock[0] = 10.0
        assert qc.run_due() == 2
        clock[0] = 1000.0
        assert qc.run_due() == 0
    assert statuses[0] == [0] * 250 and statuses[1] == [0] * 250
    stored = [p for p in (tmp_path / "inbox").rglob("*.dcm")]
    assert len(stored) == 500 and len(rx.received) == 500
    assert sorted(len(s.sop_uids) for s in handed) == [250, 250]
    assert {p for s in handed for p in s.paths} == set(stored)
