"""Opening input files safely: regular files only, and zip archives with zip-bomb limits.

Why this exists (issue 19, finding 5): opening a named pipe blocks forever; reading a zip member
whole lets a 4 MB archive of zeros take gigabytes of memory; reopening an archive for every
member parses its whole central directory each time (quadratic in the number of members).

* `open_regular` opens without ever blocking (``O_NONBLOCK``) and refuses anything that is not a
  regular file (named pipe, device, socket), checked on the opened descriptor so that a file
  swapped after a directory listing is caught too.
* `open_archive` keeps a few archives open (keyed by path, size, mtime and inode) so that a load,
  and later decoding, parse each central directory once.
* `check_member` refuses a member by its declared sizes: larger than `ZIP_MAX_MEMBER_BYTES`, or
  compressed more than `ZIP_MAX_RATIO` times when over `ZIP_RATIO_MIN_BYTES`; `check_archive`
  refuses an archive whose members add up to more than `ZIP_MAX_TOTAL_BYTES`.
* `open_member` returns a `LimitedReader`: headers can lie, so the stream itself is cut off past
  the declared size (never more than `ZIP_MAX_MEMBER_BYTES`), whatever zipfile does.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from imgqa.errors import CorruptArchiveError, UnreadableInputError, UnsafeArchiveError

__all__ = [
    "ZIP_MAX_MEMBER_BYTES", "ZIP_MAX_RATIO", "ZIP_MAX_TOTAL_BYTES", "ZIP_RATIO_MIN_BYTES",
    "Archive", "LimitedReader", "check_archive", "check_member", "close_archives",
    "damaged_archive", "not_regular_kind", "open_archive", "open_member", "open_regular",
    "read_regular_into", "size_text",
]

# No QC image file comes near 2 GiB (the largest, breast tomosynthesis, are a few hundred MB;
# a DICOM value cannot exceed 4 GiB at all).
ZIP_MAX_MEMBER_BYTES = 2 << 30
# A whole exam (a few thousand CT slices) is a few GB; 32 GiB leaves room for PET/CT studies.
ZIP_MAX_TOTAL_BYTES = 32 << 30
# Image data compresses 2-10x (a mostly empty low-count NM image maybe 50x); deflating zeros
# reaches ~1000x. Small members are exempt: they cannot hurt and tiny blank test images exist.
ZIP_MAX_RATIO = 100
ZIP_RATIO_MIN_BYTES = 8 << 20

_MAX_OPEN_ARCHIVES = 4
_O_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def size_text(n: float) -> str:
    """A byte count for people: '512 bytes', '3.2 MB', '1.0 GB' (decimal units)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} bytes"


def not_regular_kind(mode: int) -> str | None:
    """What a non-regular file is, in words ('a named pipe (FIFO)'...); None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not an ordinary file"


def not_regular_error(path: str | os.PathLike[str], kind: str) -> UnreadableInputError:
    name = Path(path).name or str(path)
    return UnreadableInputError(f"{name} is {kind}, not an ordinary file, so it is not read.",
                                hint="Copy the images into a folder as ordinary files.",
                                path=str(path))


def open_regular(path: str | os.PathLike[str], buffering: int = -1) -> BinaryIO:
    """Open a regular file for binary reading without ever blocking.

    Raises
    ------
    UnreadableInputError
        When `path` is a named pipe, device, socket or folder.
    OSError
        When the file cannot be opened (missing, permission denied...).
    """
    fd = os.open(path, _O_FLAGS)  # O_NONBLOCK: opening a FIFO with no writer returns at once
    try:
        kind = not_regular_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise not_regular_error(path, kind)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)  # no effect on regular files; restores normal reads
        fh = os.fdopen(fd, "rb", buffering=buffering)
        # Named like open(path) would: pydicom keeps the name to re-read deferred elements.
        raw: Any = fh.raw if hasattr(fh, "raw") else fh
        raw.name = os.fspath(path)
        return fh
    except BaseException:
        os.close(fd)
        raise


def read_regular_into(path: str | os.PathLike[str], offset: int,
                      buf: bytearray | memoryview) -> int:
    """Read into `buf` from `offset` of the regular file at `path`; the number of bytes read.

    What ``open_regular(path, buffering=0)``, ``seek(offset)`` and one ``readinto(buf)`` do
    (same checks, same errors, one read call), without building a file object: the read of
    one image's pixels on decoding (≈ 3 µs less per image). Where ``os.preadv`` is missing
    (Windows), through that file object.
    """
    if not hasattr(os, "preadv"):
        with open_regular(path, buffering=0) as fh:
            fh.seek(offset)
            return cast(io.RawIOBase, fh).readinto(buf) or 0
    fd = os.open(path, _O_FLAGS)
    try:
        kind = not_regular_kind(os.fstat(fd).st_mode)
        if kind is not None:
            raise not_regular_error(path, kind)
        os.set_blocking(fd, True)
        return os.preadv(fd, [buf], offset)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------
# Archives
# ---------------------------------------------------------------------------------------------
@dataclass
class Archive:
    """An open zip archive, shared by loading and decoding (zipfile reads members thread-safely
    through its shared file; each member stream keeps its own position)."""

    path: str
    key: tuple[int, int, int]
    fh: BinaryIO
    zf: zipfile.ZipFile

    def close(self) -> None:
        self.zf.close()
        self.fh.close()


_archives: OrderedDict[str, Archive] = OrderedDict()
_archives_lock = threading.Lock()


def _forget_inherited_archives() -> None:
    """In a forked child: drop the parent's open archives (and a lock another thread may have
    held at the fork). A child reading members through them would move the file position
    the parent and its other children share (one open file description across a fork): a
    parallel batch of a zip read "damaged" members. The child opens its own on first use;
    the inherited objects are not closed (their descriptors are only this child's copies)."""
    global _archives_lock
    _archives_lock = threading.Lock()
    _archives.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_inherited_archives)


def open_archive(path: str | os.PathLike[str]) -> Archive:
    """The open archive at `path`, opened (and its central directory parsed) once.

    Kept open for later decoding; reopened when the file changed. At most a few are kept; the
    least recently used is dropped (and closed once no member stream uses it any more).

    Raises
    ------
    UnreadableInputError, OSError, zipfile.BadZipFile
    """
    st = os.stat(path)
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    name = str(path)
    with _archives_lock:
        arc = _archives.get(name)
        if arc is not None and arc.key == key:
            _archives.move_to_end(name)
            return arc
    fh = open_regular(path)
    try:
        zf = zipfile.ZipFile(fh)
    except BaseException:
        fh.close()
        raise
    arc = Archive(name, key, fh, zf)
    with _archives_lock:
        _archives[name] = arc  # a stale entry is dropped; open member streams keep it alive
        _archives.move_to_end(name)
        while len(_archives) > _MAX_OPEN_ARCHIVES:
            _archives.popitem(last=False)
    return arc


def close_archives() -> None:
    """Close every archive kept open (e.g. before deleting or replacing one)."""
    with _archives_lock:
        arcs = list(_archives.values())
        _archives.clear()
    for arc in arcs:
        arc.close()


def damaged_archive(archive: str | os.PathLike[str], exc: BaseException,
                    member: str | None = None) -> CorruptArchiveError:
    """The error for a damaged archive, with the reason in plain words."""
    text = str(exc)
    if "Bad CRC-32" in text:
        why = f"{member or 'a member'} fails its CRC check: its bytes were altered"
    elif "not a zip file" in text.lower() or "End-of-central-directory" in text \
            or "Truncated central directory" in text:
        why = "its table of contents is missing or cut short"
    elif isinstance(exc, EOFError) or "ended before" in text:
        why = f"{member or 'a member'} is cut short"
    elif isinstance(exc, zlib.error):
        why = f"{member or 'a member'} cannot be decompressed"
    else:
        why = (f"{member}: " if member else "") + (text.splitlines()[0][:160] if text else
                                                   type(exc).__name__)
    return CorruptArchiveError(f"the zip archive {Path(archive).name} is damaged ({why}).",
                               path=f"{archive}::{member}" if member else str(archive))


def check_archive(archive: str | os.PathLike[str], infos: list[zipfile.ZipInfo]) -> None:
    """Refuse an archive whose members would unpack to more than `ZIP_MAX_TOTAL_BYTES`."""
    total = sum(i.file_size for i in infos)
    if total > ZIP_MAX_TOTAL_BYTES:
        raise UnsafeArchiveError(
            f"the zip archive {Path(archive).name} would unpack to {size_text(total)}, more "
            f"than the limit of {size_text(ZIP_MAX_TOTAL_BYTES)}: refused as a possible zip "
            "bomb.", path=str(archive))


def check_member(archive: str | os.PathLike[str], info: zipfile.ZipInfo) -> None:
    """Refuse a member by its declared sizes (too large, or compressed suspiciously well)."""
    if info.file_size <= min(ZIP_RATIO_MIN_BYTES, ZIP_MAX_MEMBER_BYTES):
        return  # the common case, kept cheap: archives may hold tens of thousands of members
    where = f"{info.filename} in the zip archive {Path(archive).name}"
    if info.file_size > ZIP_MAX_MEMBER_BYTES:
        raise UnsafeArchiveError(
            f"{where} would unpack to {size_text(info.file_size)}, larger than any QC image "
            f"(limit {size_text(ZIP_MAX_MEMBER_BYTES)}): refused as a possible zip bomb.",
            path=f"{archive}::{info.filename}")
    if info.file_size > ZIP_RATIO_MIN_BYTES and \
            info.file_size > ZIP_MAX_RATIO * max(info.compress_size, 1):
        ratio = info.file_size / max(info.compress_size, 1)
        raise UnsafeArchiveError(
            f"{where} would unpack to {size_text(info.file_size)} from "
            f"{size_text(info.compress_size)} ({ratio:.0f} times smaller; images compress at "
            f"most about {ZIP_MAX_RATIO} times): refused as a possible zip bomb.",
            path=f"{archive}::{info.filename}")


class LimitedReader(io.RawIOBase):
    """A read-only stream that refuses to go past `limit` bytes of its underlying stream.

    Parameters
    ----------
    raw : binary stream
        The member stream (seekable).
    limit : int
        Bytes the stream may yield; one more is a refusal (`UnsafeArchiveError`).
    size : int
        The declared size, reported as the stream size (`stream_size`).
    what : str
        ``archive.zip::member``, named in the refusal.
    """

    def __init__(self, raw: BinaryIO, limit: int, size: int, what: str) -> None:
        super().__init__()
        self._raw = raw
        self.limit = limit
        self.size = size
        self.what = what

    def _check(self) -> None:
        if self._raw.tell() > self.limit:
            archive, _, member = self.what.rpartition("::")
            raise UnsafeArchiveError(
                f"{member or self.what} in the zip archive {Path(archive).name} unpacks to more "
                f"than the {size_text(self.limit)} its header declares: refused as a possible "
                "zip bomb.", path=self.what)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        room = self.limit - self._raw.tell() + 1  # one byte more than allowed shows a lie
        data = self._raw.read(room if n is None or n < 0 else min(n, max(room, 0)) or 0)
        self._check()
        return data

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        pos = self._raw.seek(offset, whence)
        self._check()
        return pos

    def tell(self) -> int:
        return self._raw.tell()

    def drain(self, chunk: int = 1 << 20) -> None:
        """Read to the end in bounded chunks: zipfile checks the member's CRC-32 at its end."""
        while self.read(chunk):
            pass

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def open_member(arc: Archive, info: zipfile.ZipInfo, name: str) -> LimitedReader:
    """A bounded stream of one member (refused first by its declared sizes)."""
    check_member(arc.path, info)
    try:
        raw = arc.zf.open(info)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise damaged_archive(arc.path, exc, info.filename) from None
    return LimitedReader(cast(BinaryIO, raw), min(info.file_size, ZIP_MAX_MEMBER_BYTES),
                         info.file_size, name)
