"""imgqa.io.atomic_write: the one write-then-rename helper of the receiver, the archive, the
service's markers and the notification files."""

from __future__ import annotations

import os

import pytest

from imgqa.io.atomic_write import fsync_folder, write_atomically


@pytest.mark.parametrize("durable", [False, True])
def test_replaces_the_content_and_leaves_no_temporary_file(tmp_path, durable):
    target = tmp_path / "state.json"
    target.write_bytes(b"old")
    assert write_atomically(target, b"new", prefix=".x-", durable=durable) == target
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_failed_rename_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    target = tmp_path / "settings.toml"
    target.write_bytes(b"old")

    def refuse(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, b"new", prefix=".x-")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["settings.toml"]


def test_fsync_folder_never_raises(tmp_path):
    fsync_folder(tmp_path)
    fsync_folder(tmp_path / "gone")  # a folder that cannot be opened is skipped
