"""A series whose last images arrive after its quiet period (issue 12): it is saved twice, first
incomplete, then complete. The complete session names the incomplete one it replaces, and both
get a comment saying which to approve, so a reviewer does not approve half a series. A session
already reviewed is left alone; a repeat of the same images and an unrelated series are not
"incomplete"."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service.pipeline import AutomaticQC
from imgqa.service.saving import SessionSaver
from imgqa.store import open_store


def _series(folder: Path, n: int, seed: int) -> tuple[str, list[tuple[str, str]]]:
    """(SeriesInstanceUID, [(SOPInstanceUID, path)]) of an n-slice CT water series."""
    images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=n, seed=seed)
    paths = write_series(images, folder, modality="CT", description="water",
                         pixel_spacing_mm=3.6, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0)
    heads = [pydicom.dcmread(p, stop_before_pixels=True) for p in sorted(paths)]
    return str(heads[0].SeriesInstanceUID), [(str(h.SOPInstanceUID), str(p))
                                             for h, p in zip(heads, sorted(paths))]


@pytest.fixture
def store(tmp_path):
    st = open_store(str(tmp_path / "qc.sqlite3"))
    st.add_rule("ct.water", reason="daily water phantom", create_equipment=True,
                modality="CT", description="water")
    yield st
    st.close()


def _deliver(qc: AutomaticQC, series: str, images: list[tuple[str, str]]) -> None:
    for sop, path in images:
        qc.collector.add(series, sop, path)
    qc.flush()  # the quiet period has passed


def _comments(store, session_id: int) -> list[str]:
    return [c.text for c in store.comments(session_id)]


def test_the_complete_session_names_the_incomplete_one_and_both_say_so(tmp_path, store):
    saver = SessionSaver(store, tmp_path / "inbox")
    qc = AutomaticQC(saver, quiet_s=0.0)
    uid, images = _series(tmp_path / "ct", 4, seed=1)
    _deliver(qc, uid, images[:2])            # the scanner paused: 2 of 4 images
    _deliver(qc, uid, images[2:])            # the rest, after the quiet period
    first, second = saver.outcomes
    assert (first.state, second.state) == ("saved", "saved")
    assert f"replaces the incomplete session(s) {first.session_id}" in second.message
    assert "Review that one; reject this one" in _comments(store, first.session_id)[0]
    assert f"session {second.session_id} holds this series" in \
        _comments(store, first.session_id)[0]
    assert _comments(store, second.session_id) == [
        f"Complete version of session(s) {first.session_id}, saved before the series' last "
        "images had arrived."]
    assert [e.session_id for e in store.partial_sessions(second.session_id)] == \
        [first.session_id]
    assert store.partial_sessions(first.session_id) == []   # the other way round: no


def test_an_already_reviewed_incomplete_session_is_left_alone(tmp_path, store):
    saver = SessionSaver(store, tmp_path / "inbox")
    qc = AutomaticQC(saver, quiet_s=0.0)
    uid, images = _series(tmp_path / "ct", 3, seed=2)
    _deliver(qc, uid, images[:1])
    store.review([saver.outcomes[0].session_id], "rejected", "only one slice came")
    _deliver(qc, uid, images[1:])
    first, second = saver.outcomes
    assert second.state == "saved" and "incomplete" not in second.message
    assert _comments(store, first.session_id) == []
    assert _comments(store, second.session_id) == []


def test_repeats_and_other_series_are_not_incomplete(tmp_path, store):
    saver = SessionSaver(store, tmp_path / "inbox")
    qc = AutomaticQC(saver, quiet_s=0.0)
    uid, images = _series(tmp_path / "a", 3, seed=3)
    other_uid, other = _series(tmp_path / "b", 3, seed=4)
    _deliver(qc, uid, images)
    _deliver(qc, other_uid, other)
    # sent again whole (after a restart: a new collector): a duplicate, nothing added
    _deliver(AutomaticQC(saver, quiet_s=0.0), uid, images)
    a, b, again = saver.outcomes
    assert (a.state, b.state, again.state) == ("saved", "saved", "duplicate")
    assert store.partial_sessions(a.session_id) == []
    assert store.partial_sessions(b.session_id) == []
    assert "incomplete" not in a.message + b.message
