"""Crash recovery of ``imgqa serve`` (imgqa.service.recovery): images acknowledged but never
handled are found in the inbox at start-up and analysed once; handled ones are not; a stop
between the database commit and the handled marker gives a duplicate, never a second session.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pydicom
import pytest

from imgqa.io.receiver import QUARANTINE
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service.pipeline import AutomaticQC
from imgqa.service.recovery import (
    HANDLED_MARKER,
    handled_names,
    mark_handled,
    marking_handler,
    recover_inbox,
    remove_stale_incoming,
    unhandled_files,
)
from imgqa.service.saving import SessionSaver
from imgqa.store import open_store


def _filed(inbox: Path, n: int = 3, seed: int = 1) -> tuple[Path, list[Path]]:
    """A CT water series filed as the receiver files it: inbox/<day>/<series>/<sop>.dcm."""
    images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=n, seed=seed)
    tmp = write_series(images, inbox.parent / f"src{seed}", modality="CT",
                       description="water", pixel_spacing_mm=3.6, slice_thickness_mm=5.0,
                       rescale_intercept=-1024.0)
    ds = pydicom.dcmread(tmp[0], stop_before_pixels=True)
    folder = inbox / "20260105" / str(ds.SeriesInstanceUID)
    folder.mkdir(parents=True)
    out = []
    for f in tmp:
        sop = str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
        out.append(f.rename(folder / f"{sop}.dcm"))
    return folder, out


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_unhandled_files_skips_marked_temporary_and_quarantined(tmp_path):
    inbox = tmp_path / "inbox"
    folder, files = _filed(inbox, n=3)
    (folder / ".incoming-abc.dcm").write_bytes(files[0].read_bytes())  # a write cut short
    (inbox / QUARANTINE).mkdir()
    (inbox / QUARANTINE / "x.dcm").write_bytes(files[0].read_bytes())
    (folder / "notes.txt").write_text("not DICOM")
    found = unhandled_files(inbox)
    assert sorted(f.path for f in found) == sorted(files)
    assert {f.sop_uid for f in found} == {p.stem for p in files}
    assert {f.series_uid for f in found} == {folder.name}

    mark_handled(files[:2], "saved")
    assert handled_names(folder) == {files[0].name, files[1].name}
    assert [f.path for f in unhandled_files(inbox)] == [files[2]]
    mark_handled(files[2:], "saved")                       # markers accumulate
    assert unhandled_files(inbox) == []
    marker = json.loads((folder / HANDLED_MARKER).read_text())
    assert marker["state"] == "saved" and len(marker["files"]) == 3

    (folder / HANDLED_MARKER).write_text("{half a mark")   # unreadable: nothing is handled
    assert len(unhandled_files(inbox)) == 3


def test_images_older_than_the_recovery_window_are_left_alone(tmp_path):
    inbox = tmp_path / "inbox"
    _, files = _filed(inbox, n=3)
    eight_days_ago = time.time() - 8 * 86400
    os.utime(files[0], (eight_days_ago, eight_days_ago))
    assert len(unhandled_files(inbox)) == 3
    assert sorted(f.path for f in unhandled_files(inbox, 7 * 86400)) == sorted(files[1:])
    qc = AutomaticQC(lambda series: None, quiet_s=0.0)
    assert recover_inbox(inbox, qc) == (2, 1)             # default window: 7 days


def test_stale_incoming_files_are_removed_fresh_ones_kept(tmp_path):
    inbox = tmp_path / "inbox"
    folder, _ = _filed(inbox, n=1)
    old, fresh = folder / ".incoming-old.dcm", folder / ".incoming-new.dcm"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    assert remove_stale_incoming(inbox) == 1
    assert not old.exists() and fresh.exists()


@pytest.fixture()
def store(tmp_path):
    with open_store(str(tmp_path / "qc.sqlite3")) as st:
        st.add_rule("ct.water", create_equipment=True, modality="CT", description="water",
                    reason="recovery test")
        yield st


def test_recollected_series_is_analysed_once_after_its_quiet_period(tmp_path, store):
    inbox = tmp_path / "inbox"
    folder, files = _filed(inbox, n=3)
    saver = SessionSaver(store, inbox)
    clock = _Clock()
    qc = AutomaticQC(marking_handler(saver, inbox), quiet_s=10.0, clock=clock)
    assert recover_inbox(inbox, qc) == (3, 1)
    clock.t += 9.9
    assert qc.run_due() == 0                                # still inside the quiet period
    clock.t += 0.1
    assert qc.run_due() == 1
    assert [o.state for o in saver.outcomes] == ["saved"]
    [sess] = store.sessions()
    assert {u for u, _ in store.session_inputs(sess.id)} <= {p.stem for p in files}
    assert handled_names(folder) == {p.name for p in files}
    # the next start: nothing to re-collect, nothing analysed
    qc2 = AutomaticQC(marking_handler(saver, inbox), quiet_s=0.0, clock=clock)
    assert recover_inbox(inbox, qc2) == (0, 0) and qc2.flush() == 0


def test_stop_between_commit_and_marker_gives_a_duplicate_not_a_second_session(tmp_path,
                                                                               store):
    inbox = tmp_path / "inbox"
    folder, files = _filed(inbox, n=3)
    first = SessionSaver(store, inbox)
    qc = AutomaticQC(first, quiet_s=0.0)                    # saves, but never marks: "killed"
    qc.on_files(unhandled_files(inbox))
    assert qc.flush() == 1 and [o.state for o in first.outcomes] == ["saved"]
    assert not (folder / HANDLED_MARKER).exists()

    again = SessionSaver(store, inbox)
    qc2 = AutomaticQC(marking_handler(again, inbox), quiet_s=0.0)
    assert recover_inbox(inbox, qc2) == (3, 1)
    assert qc2.flush() == 1
    assert [o.state for o in again.outcomes] == ["duplicate"]
    assert len(store.sessions()) == 1
    assert unhandled_files(inbox) == []                     # handled now: marked


def test_watched_folders_are_not_marked(tmp_path, store):
    """Files of a --watch folder (an export share) are analysed but nothing is written there."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    share = tmp_path / "share"
    folder, files = _filed(share, n=2, seed=5)
    saver = SessionSaver(store, inbox)
    qc = AutomaticQC(marking_handler(saver, inbox), quiet_s=0.0)
    qc.on_files(unhandled_files(share))
    assert qc.flush() == 1 and [o.state for o in saver.outcomes] == ["saved"]
    assert not (folder / HANDLED_MARKER).exists()
