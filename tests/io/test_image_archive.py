"""`imgqa.io.image_archive`: copying a session's files into the image archive (issue 12).

Atomic copies under equipment/date/series, content-addressed reuse, never overwriting another
file of the same name, paths relative to the root (the same share mounted elsewhere opens the
same files), unsafe stored paths refused, and the missing/altered check behind `db verify`.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from datetime import date
from pathlib import Path, PurePosixPath
from types import SimpleNamespace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from imgqa.io import image_archive as ia


def _src(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / "src" / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def test_copy_records_relative_path_hash_and_size(tmp_path):
    root = tmp_path / "share"
    root.mkdir()
    data = os.urandom(3000)
    src = _src(tmp_path, "DOE^JOHN_001.dcm", data)   # a patient-named export
    folder = ia.series_folder("CT room 1 (Acme)", date(2026, 12, 4), "1.2.840.10008.9.1", 3)
    f = ia.archive_file(root, src, folder, "1.2.840.10008.9.1.7")
    assert f.path == "CT-room-1-Acme/2026-12-04/1.2.840.10008.9.1/1.2.840.10008.9.1.7.dcm"
    assert f.sha256 == hashlib.sha256(data).hexdigest() and f.size == 3000
    assert (root / f.path).read_bytes() == data
    assert "DOE" not in f.path          # the original (patient-named) file name is not kept
    # no temporary file is left behind
    assert [p.name for p in (root / f.path).parent.iterdir()] == [Path(f.path).name]


def test_same_content_is_reused_and_other_content_never_overwrites(tmp_path):
    root = tmp_path / "share"
    root.mkdir()
    a, b = b"A" * 100, b"B" * 100
    f1 = ia.archive_file(root, _src(tmp_path, "one", a), "eq/2026-01-01/s", "1.2.3")
    mtime = (root / f1.path).stat().st_mtime_ns
    again = ia.archive_file(root, _src(tmp_path, "two", a), "eq/2026-01-01/s", "1.2.3")
    assert again == f1 and (root / f1.path).stat().st_mtime_ns == mtime   # reused, untouched
    other = ia.archive_file(root, _src(tmp_path, "three", b), "eq/2026-01-01/s", "1.2.3")
    assert other.path != f1.path and other.path.endswith(f"-{other.sha256[:12]}.dcm")
    assert (root / f1.path).read_bytes() == a and (root / other.path).read_bytes() == b
    # and the same other content again reuses its hashed name
    assert ia.archive_file(root, _src(tmp_path, "four", b), "eq/2026-01-01/s", "1.2.3") == other


def test_files_without_uid_are_named_by_content_and_zip_members_are_copied(tmp_path):
    root = tmp_path / "share"
    root.mkdir()
    f = ia.archive_file(root, _src(tmp_path, "Smith_flood.IMA", b"xyz"), "eq/undated/series")
    assert f.path == f"eq/undated/series/{hashlib.sha256(b'xyz').hexdigest()[:16]}.ima"
    z = tmp_path / "src" / "exp.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("dir/img1.dcm", b"member bytes")
    g = ia.archive_file(root, f"{z}::dir/img1.dcm", "eq/undated/series", "1.9.9")
    assert (root / g.path).read_bytes() == b"member bytes" and g.path.endswith("1.9.9.dcm")


def test_same_share_mounted_elsewhere_resolves_the_same_files(tmp_path):
    x = tmp_path / "mnt" / "qa"
    x.mkdir(parents=True)
    f = ia.archive_file(x, _src(tmp_path, "a", b"data"), "eq/2026-01-01/s", "1.2")
    y = tmp_path / "elsewhere"
    y.symlink_to(x)                      # workstation B mounts the share at another place
    assert ia.check_file(y, f).state == "ok"
    assert ia.resolve(y, f.path) == y / "eq" / "2026-01-01" / "s" / "1.2.dcm"


def test_check_reports_missing_and_altered(tmp_path):
    root = tmp_path / "share"
    root.mkdir()
    f1 = ia.archive_file(root, _src(tmp_path, "a", b"one"), "e/d/s", "1.1")
    f2 = ia.archive_file(root, _src(tmp_path, "b", b"two"), "e/d/s", "1.2")
    (root / f1.path).unlink()
    (root / f2.path).write_bytes(b"tw0")        # same size, other content
    states = [c.state for c in ia.check_files(root, [f1, f2])]
    assert states == ["missing", "altered"]


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside.dcm", "a/../../b", "C:/x.dcm",
                                 "\\\\server\\share\\x"])
def test_unsafe_stored_paths_are_refused(tmp_path, bad):
    with pytest.raises(ia.ImageArchiveError, match="Unsafe archive path"):
        ia.resolve(tmp_path, bad)
    assert ia.check_file(tmp_path, ia.ArchivedFile(bad, "0" * 64, 1)).state == "unreadable"


def test_root_problems_are_clear(tmp_path):
    with pytest.raises(ia.ImageArchiveError, match="No image archive folder is set"):
        ia.require_root(None)
    with pytest.raises(ia.ImageArchiveError, match="is the share mounted"):
        ia.require_root(tmp_path / "not" / "mounted", create=True)
    made = ia.require_root(tmp_path / "new", create=True)   # parent exists: created
    assert made.is_dir()


def test_a_crash_before_publishing_leaves_no_visible_file(tmp_path, monkeypatch):
    root = tmp_path / "share"
    root.mkdir()

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ia, "_publish", boom)
    with pytest.raises(ia.ImageArchiveError, match="No space left"):
        ia.archive_file(root, _src(tmp_path, "a", b"data"), "e/d/s", "1.1")
    assert [p for p in root.rglob("*") if p.is_file()] == []   # the .part file is removed


def test_archive_results_groups_by_series_and_lists_each_file_once(tmp_path):
    root = tmp_path / "share"
    root.mkdir()
    a, b = _src(tmp_path, "a", b"aa"), _src(tmp_path, "b", b"bb")
    ident = SimpleNamespace
    series = {"series_uid": "1.2.3", "acquired": "2026-11-30T08:15:00", "series_number": 4}
    r1 = SimpleNamespace(series=series, inputs=[ident(sop_instance_uid="1.2.3.1", source=str(a)),
                                                ident(sop_instance_uid="1.2.3.2", source=str(b))])
    r2 = SimpleNamespace(series=series, inputs=[ident(sop_instance_uid="1.2.3.1", source=str(a))])
    files = ia.archive_results(root, "MR 1", [r1, r2])
    assert [f.path for f in files] == ["MR-1/2026-11-30/1.2.3/1.2.3.1.dcm",
                                       "MR-1/2026-11-30/1.2.3/1.2.3.2.dcm"]


def test_default_root_from_env_and_gui_setting(tmp_path, monkeypatch):
    monkeypatch.delenv(ia.ARCHIVE_ENV, raising=False)
    assert ia.default_archive_root() is None
    ini = Path(os.environ["IMGQA_DATA_DIR"]) / "imgqa-imgqa-gui.ini"
    ini.write_text('[archive]\nroot="/mnt/qa share"\n')
    assert ia.default_archive_root() == Path("/mnt/qa share")
    monkeypatch.setenv(ia.ARCHIVE_ENV, str(tmp_path))
    assert ia.default_archive_root() == tmp_path


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=60), st.text(max_size=70))
@example("", ".")        # found by CI: "." passed the old UID check and vanished from the path
@example("..", "..")     # a hostile sender's traversal attempt
@example("x", "1..2")
def test_folder_names_stay_inside_and_portable(equipment, series_uid):
    folder = ia.series_folder(equipment, None, series_uid)
    assert len(folder.parts) == 3 and folder.parts[1] == "undated"
    for part in folder.parts:
        assert part not in ("", ".", "..") and all(c.isascii() and (c.isalnum() or c in "._-")
                                                   for c in part)
    assert ia.resolve(Path("/r"), str(folder)) == Path("/r", *PurePosixPath(folder).parts)
