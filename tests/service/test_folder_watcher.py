"""Issue 12: the folder watcher takes complete DICOM files only, each once.

"Complete" is decided by looking twice (size and modification time unchanged); the tests call
`poll` as often as they need, nothing sleeps.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pydicom
import pytest

from imgqa.phantoms.writer import write_series
from imgqa.service.watcher import DirectoryWatcher, is_temporary_name, read_uids


@pytest.fixture
def series_files(tmp_path):
    images = np.stack([np.full((16, 16), v, dtype=float) for v in (0.0, 10.0, 20.0)])
    return write_series(images, tmp_path / "src", modality="CT", description="water",
                        pixel_spacing_mm=0.5, slice_thickness_mm=5.0,
                        rescale_intercept=-1024.0, signed=False)


def _uids(f):
    ds = pydicom.dcmread(f)
    return str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID)


def test_a_file_is_taken_when_unchanged_between_two_looks_and_only_once(tmp_path, series_files):
    share = tmp_path / "share"
    share.mkdir()
    w = DirectoryWatcher(share)
    assert w.poll() == []
    shutil.copy(series_files[0], share / "a.dcm")
    assert w.poll() == []                 # first seen: may still be growing
    (found,) = w.poll()                   # unchanged at the second look
    assert found.path == share / "a.dcm"
    assert (found.series_uid, found.sop_uid) == _uids(series_files[0])
    assert w.poll() == [] and w.poll() == []


def test_a_growing_file_is_not_taken_until_it_stops_changing(tmp_path, series_files):
    share = tmp_path / "share"
    share.mkdir()
    data = series_files[0].read_bytes()
    target = share / "IM0001"              # scanners' exports often have no suffix
    w = DirectoryWatcher(share)
    for end in (100, 300, len(data)):      # a copy in progress, seen at each look
        with open(target, "ab") as fh:
            fh.write(data[target.stat().st_size if target.exists() else 0:end])
        assert w.poll() == []
    (found,) = w.poll()
    assert found.path == target and found.sop_uid == _uids(series_files[0])[1]


def test_temporary_names_hidden_and_quarantine_folders_are_ignored(tmp_path, series_files):
    share = tmp_path / "share"
    for sub in ("", ".hidden", "quarantine", "day1"):
        (share / sub).mkdir(parents=True, exist_ok=True)
    f = series_files[0]
    for name in ("x.dcm.part", "y.tmp", ".incoming-1.dcm", "~copy.dcm", "z.crdownload"):
        shutil.copy(f, share / name)
    shutil.copy(f, share / ".hidden" / "h.dcm")
    shutil.copy(f, share / "quarantine" / "q.dcm")
    shutil.copy(series_files[1], share / "day1" / "ok.dcm")
    w = DirectoryWatcher(share)
    w.poll()
    assert [d.path for d in w.poll()] == [share / "day1" / "ok.dcm"]


@pytest.mark.parametrize("name", ["a.part", "A.TMP", ".x", "~x", "b.filepart", "c.partial"])
def test_temporary_name_patterns(name):
    assert is_temporary_name(name)


@pytest.mark.parametrize("name", ["IM0001", "a.dcm", "1.2.3.dcm", "part.dcm"])
def test_ordinary_names_are_not_temporary(name):
    assert not is_temporary_name(name)


def test_non_dicom_and_damaged_files_are_skipped_once(tmp_path, series_files, monkeypatch):
    share = tmp_path / "share"
    share.mkdir()
    (share / "notes.txt").write_text("not an image")
    (share / "half.dcm").write_bytes(series_files[0].read_bytes()[:64])
    shutil.copy(series_files[1], share / "good.dcm")
    w = DirectoryWatcher(share)
    w.poll()
    assert [d.path.name for d in w.poll()] == ["good.dcm"]
    assert w.not_dicom == {share / "notes.txt", share / "half.dcm"}
    reads = []
    monkeypatch.setattr("imgqa.service.watcher.read_uids",
                        lambda p: reads.append(p) or None)
    w.poll()
    assert reads == []  # not read again while unchanged


def test_a_rewritten_file_is_looked_at_again(tmp_path, series_files):
    share = tmp_path / "share"
    share.mkdir()
    target = share / "a.dcm"
    shutil.copy(series_files[0], target)
    w = DirectoryWatcher(share)
    w.poll()
    assert len(w.poll()) == 1
    shutil.copy(series_files[1], target)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later modification
    assert w.poll() == []
    assert [d.sop_uid for d in w.poll()] == [_uids(series_files[1])[1]]


def test_a_folder_that_went_away_is_reported(tmp_path):
    w = DirectoryWatcher(tmp_path / "share")
    with pytest.raises(FileNotFoundError, match="does not exist or cannot be reached"):
        w.poll()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_never_blocks_the_watcher(tmp_path, series_files):
    share = tmp_path / "share"
    share.mkdir()
    os.mkfifo(share / "pipe.dcm")
    assert read_uids(share / "pipe.dcm") is None
    shutil.copy(series_files[0], share / "a.dcm")
    w = DirectoryWatcher(share)
    w.poll()
    assert [d.path.name for d in w.poll()] == ["a.dcm"]
