"""The image archive: a session's source files kept with its record (issue 12).

A saved session's images are copied into a folder every workstation can reach (a department
share), and the database stores, per file, its path *relative to the archive root*, its SHA-256
and its size. The root is a per-workstation setting (``--archive DIR``, ``$IMGQA_ARCHIVE`` or
the GUI's Settings), because the same share is mounted at ``/mnt/qa`` on one computer and
``Q:\\`` on another; the relative paths are the same everywhere.

Layout::

    <root>/<equipment-slug>/<YYYY-MM-DD>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm

* **No patient data in names.** The equipment name is the department's own label; the date is
  the acquisition date of a phantom; SeriesInstanceUID and SOPInstanceUID are random or
  device-made identifiers, not identifying (DICOM PS3.15 E.1 lists them as UIDs to *replace*
  only because they can link records, never as carriers of identity). The original file names
  are *not* kept: exports are sometimes named after the patient field (``DOE^JOHN_001.dcm``).
  A file without a SOP Instance UID is named by its content hash.
* **Atomic.** Each file is written to a hidden temporary file in its target folder, flushed
  to disk (``fsync``) and then linked to its final name, which fails if the name exists: a
  reader never sees half a file and a crash leaves at most a ``.*.part`` file.
* **Never overwrites.** A name that exists with the same content is reused (a retried save
  copies nothing); with other content (a reused UID on different pixels) the new file gets the
  first 12 hex digits of its SHA-256 appended to its name instead.
* **Paths are checked on the way back.** `resolve` refuses an absolute path or one with
  ``..`` in it, so a tampered database row cannot point outside the archive.

Pure file operations, no SQL and no Qt (docs/architecture.md layers: ``io``).
"""

from __future__ import annotations

import configparser
import hashlib
import os
import re
import secrets
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal, Protocol, cast

from imgqa.errors import ImgqaError
from imgqa.io.atomic_write import flush_to_disk, fsync_folder

__all__ = ["ARCHIVE_ENV", "ArchivedFile", "FileCheck", "ImageArchiveError", "archive_file",
           "archive_results", "archive_sources", "check_file", "check_files", "default_archive_root", "file_sha256",
           "require_root", "resolve", "series_folder", "slug"]

ARCHIVE_ENV = "IMGQA_ARCHIVE"
_CHUNK = 1 << 20
_SLUG_BAD = re.compile(r"[^A-Za-z0-9._-]+")
# Dot-separated digit groups: no empty group, so "." and ".." (a hostile sender's path
# traversal) never pass as a UID. Leading zeros are tolerated: some scanners write them.
_UID_OK = re.compile(r"\A(?=[0-9.]{1,64}\Z)[0-9]+(?:\.[0-9]+)*\Z")

FileState = Literal["ok", "missing", "altered", "unreadable"]


class ImageArchiveError(ImgqaError, OSError):
    """The image archive folder cannot be used (missing, not a folder, not writable), or a
    stored archive path is unsafe."""

    default_hint = ("Check that the archive folder (the department share) is mounted and "
                    "writable, or give another one with --archive DIR / $IMGQA_ARCHIVE.")


@dataclass(frozen=True, slots=True)
class ArchivedFile:
    """One file kept in the archive.

    Attributes
    ----------
    path : str
        Relative to the archive root, ``/``-separated (the same on every workstation).
    sha256 : str
        Hex SHA-256 of the whole file (not only the pixel data).
    size : int
        Bytes.
    sop_instance_uid : str
        The file's SOP Instance UID ("" when unknown).
    """

    path: str
    sha256: str
    size: int
    sop_instance_uid: str = ""


@dataclass(frozen=True, slots=True)
class FileCheck:
    """State of one archived file on this workstation: ``ok``, ``missing``, ``altered``
    (SHA-256 or size differs) or ``unreadable``; ``location`` is the resolved path."""

    file: ArchivedFile
    location: Path | None
    state: FileState
    detail: str = ""


# -- names --------------------------------------------------------------------------------------
def slug(text: str, fallback: str = "unnamed") -> str:
    """A folder name safe on Windows, macOS and Linux shares: ASCII letters, digits, ``.-_``.

    >>> slug("CT room 1 (Siemens)")
    'CT-room-1-Siemens'
    """
    s = _SLUG_BAD.sub("-", str(text or "")).strip("-.")[:80].strip("-.")
    return s or fallback


def series_folder(equipment: str, when: date | datetime | None, series_uid: str = "",
                  series_number: int | str | None = None) -> PurePosixPath:
    """``<equipment-slug>/<YYYY-MM-DD>/<series>``: SeriesInstanceUID when it is a valid UID,
    else ``series-<number>``, else ``series``; the date is ``undated`` when unknown."""
    day = when.date() if isinstance(when, datetime) else when
    uid = str(series_uid or "").strip()
    if _UID_OK.match(uid):
        part = uid
    elif series_number not in (None, ""):
        part = f"series-{slug(str(series_number))}"
    else:
        part = "series"
    return PurePosixPath(slug(equipment, "equipment"), day.isoformat() if day else "undated",
                         part)


# -- the archive root ---------------------------------------------------------------------------
def default_archive_root() -> Path | None:
    """This workstation's archive root when none is given: ``$IMGQA_ARCHIVE``, else the GUI
    setting ``archive/root`` (Settings dialog, ini file in the user data folder), else None."""
    env = os.environ.get(ARCHIVE_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    from imgqa.paths import data_dir

    org = os.environ.get("IMGQA_QT_ORG", "imgqa")
    app = os.environ.get("IMGQA_QT_APP", "imgqa")
    ini = data_dir() / f"{org}-{app}-gui.ini"   # the GUI's QSettings file (gui/state.py)
    if not ini.is_file():
        return None
    cp = configparser.RawConfigParser(strict=False)
    try:
        cp.read(ini, encoding="utf-8")
        raw = cp.get("archive", "root", fallback="").strip()
    except (configparser.Error, OSError, UnicodeDecodeError):
        return None
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':   # QSettings quotes some strings
        raw = raw[1:-1]
    raw = raw.replace("\\\\", "\\")                  # and doubles backslashes
    return Path(raw).expanduser() if raw else None


def require_root(root: str | os.PathLike[str] | None, *, create: bool = False) -> Path:
    """The archive root as a usable folder, else `ImageArchiveError` saying what is wrong.

    With ``create`` (saving) a missing folder is made when its parent exists; a share that is
    not mounted (parent missing too) is an error rather than a new local folder.
    """
    if root is None or not str(root).strip():
        raise ImageArchiveError(
            "No image archive folder is set on this workstation.",
            hint=f"Give --archive DIR, set ${ARCHIVE_ENV}, or choose the folder in the GUI "
                 "under Settings → Image archive.")
    p = Path(root).expanduser()
    if not p.exists() and create and p.parent.is_dir():
        try:
            p.mkdir()
        except OSError as exc:
            raise ImageArchiveError(f"Cannot create the image archive folder {p}: "
                                    f"{exc.strerror or exc}.") from exc
    if not p.is_dir():
        raise ImageArchiveError(f"The image archive folder {p} does not exist or is not a "
                                "folder (is the share mounted?).")
    return p


def resolve(root: str | os.PathLike[str], rel: str) -> Path:
    """The file of archive path ``rel`` under ``root``; refuses absolute paths and ``..``."""
    parts = PurePosixPath(rel.replace("\\", "/")).parts
    if not parts or rel.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
        raise ImageArchiveError(f"Unsafe archive path {rel!r} in the database.",
                                hint="The record may have been tampered with; run "
                                     "`imgqa db verify`.")
    return Path(root).joinpath(*parts)


# -- copying ------------------------------------------------------------------------------------
def file_sha256(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(hex SHA-256, size in bytes) of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            n += len(chunk)
    return h.hexdigest(), n


def _open_source(source: str) -> tuple[BinaryIO, zipfile.ZipFile | None]:
    """A readable stream of a file, or of a zip member written ``archive.zip::member``."""
    if "::" in source:
        arc, member = source.split("::", 1)
        zf = zipfile.ZipFile(arc)
        try:
            return cast(BinaryIO, zf.open(member)), zf
        except BaseException:
            zf.close()
            raise
    return open(source, "rb"), None


def _copy_to_temp(source: str, folder: Path) -> tuple[Path, str, int]:
    """Copy ``source`` into a hidden temporary file in ``folder`` (fsync'd); (temp, sha, size)."""
    tmp = folder / f".{secrets.token_hex(8)}.part"
    h = hashlib.sha256()
    n = 0
    src, zf = _open_source(source)
    try:
        with src, open(tmp, "xb") as out:
            while chunk := src.read(_CHUNK):
                h.update(chunk)
                out.write(chunk)
                n += len(chunk)
            flush_to_disk(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        if zf is not None:
            zf.close()
    return tmp, h.hexdigest(), n


def _publish(tmp: Path, final: Path) -> bool:
    """Give ``tmp`` the name ``final`` unless that name exists; True when it was published.

    ``os.link`` fails when the target exists, so two workstations archiving at once can never
    replace each other's file. Shares without hard links (some SMB/FAT) fall back to a rename
    after an existence check (a narrow race, then resolved by the content comparison).
    """
    try:
        os.link(tmp, final)
    except FileExistsError:
        return False
    except OSError:
        if final.exists():
            return False
        os.replace(tmp, final)
        return True
    tmp.unlink(missing_ok=True)
    return True


def _target_name(source: str, sop_uid: str, sha: str) -> str:
    if _UID_OK.match(sop_uid or ""):
        return f"{sop_uid}.dcm"
    suffix = PurePosixPath(source.split("::")[-1].replace("\\", "/")).suffix.lower()
    suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
    return f"{sha[:16]}{suffix}"


def archive_file(root: str | os.PathLike[str], source: str | os.PathLike[str],
                 folder: PurePosixPath | str, sop_instance_uid: str = "") -> ArchivedFile:
    """Copy one file (or zip member ``a.zip::m``) into ``root/folder`` atomically.

    Returns its `ArchivedFile` (relative path, SHA-256, size). Same name and content already
    there → reused; same name, other content → a name with the hash appended.

    Raises
    ------
    ImageArchiveError
        The source cannot be read or the archive cannot be written.
    """
    base = require_root(root)
    rel_folder = PurePosixPath(str(folder).replace("\\", "/"))
    target_dir = resolve(base, str(rel_folder))
    src = os.fspath(source)
    what = Path(src.split("::")[0]).name
    try:
        target_dir.mkdir(parents=True, exist_ok=True)
        # Already archived (a retried save, a series sent twice)? Then nothing is written:
        # hash the source and compare with the file(s) it would be named as.
        reused = _already_there(src, sop_instance_uid, target_dir)
        if reused is not None:
            cand, sha, size = reused
            return ArchivedFile(str(rel_folder / cand), sha, size, sop_instance_uid)
        tmp, sha, size = _copy_to_temp(src, target_dir)
    except (OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ImageArchiveError(f"Cannot copy {what} into the image archive {base}: "
                                f"{getattr(exc, 'strerror', None) or exc}.") from exc
    candidates = _candidates(src, sop_instance_uid, sha)
    try:
        for cand in candidates:
            final = target_dir / cand
            if _publish(tmp, final):
                fsync_folder(target_dir)
                return ArchivedFile(str(rel_folder / cand), sha, size, sop_instance_uid)
            if file_sha256(final) == (sha, size):   # the same file is there already
                return ArchivedFile(str(rel_folder / cand), sha, size, sop_instance_uid)
        raise ImageArchiveError(f"The image archive already holds other files named "
                                f"{candidates[0]} and {candidates[1]} in {target_dir}.")
    except OSError as exc:
        raise ImageArchiveError(f"Cannot write into the image archive {base}: "
                                f"{exc.strerror or exc}.") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _candidates(src: str, sop_uid: str, sha: str) -> list[str]:
    """The name a file gets, then the name with its hash appended (if the first is taken)."""
    name = _target_name(src, sop_uid, sha)
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    return [name, f"{stem}-{sha[:12]}{dot}{ext}"]


def _already_there(src: str, sop_uid: str, target_dir: Path) -> tuple[str, str, int] | None:
    """(name, SHA-256, size) when a file with the source's content is already archived."""
    first = _target_name(src, sop_uid, "0" * 64)   # is anything of this name there at all?
    if _UID_OK.match(sop_uid or "") and not (target_dir / first).exists():
        return None
    h = hashlib.sha256()
    n = 0
    stream, zf = _open_source(src)
    try:
        with stream:
            while chunk := stream.read(_CHUNK):
                h.update(chunk)
                n += len(chunk)
    finally:
        if zf is not None:
            zf.close()
    sha = h.hexdigest()
    for cand in _candidates(src, sop_uid, sha):
        final = target_dir / cand
        if final.is_file() and final.stat().st_size == n and file_sha256(final) == (sha, n):
            return cand, sha, n
    return None


def archive_sources(root: str | os.PathLike[str], sources: Iterable[tuple[str, str]],
                    folder: PurePosixPath | str) -> list[ArchivedFile]:
    """Archive ``(source, SOPInstanceUID)`` pairs into one folder; each file once, in order."""
    done: dict[str, ArchivedFile] = {}
    for src, uid in sources:
        if src and src not in done:
            done[src] = archive_file(root, src, folder, uid)
    return list(done.values())


class _Input(Protocol):
    @property
    def sop_instance_uid(self) -> str: ...

    @property
    def source(self) -> str: ...


class _Result(Protocol):  # `imgqa.protocols.base.Result` (io sits below protocols)
    @property
    def series(self) -> Any: ...

    @property
    def inputs(self) -> Sequence[_Input]: ...


def archive_results(root: str | os.PathLike[str], equipment: str,
                    results: Sequence[_Result]) -> list[ArchivedFile]:
    """Archive the source files of a session's results, one folder per series.

    The folder is `series_folder` of the equipment name and each result's series summary
    (``acquired`` date, ``series_uid``, ``series_number``); a file used by several results
    (two tests on one series) is archived and listed once.
    """
    require_root(root, create=True)
    out: dict[str, ArchivedFile] = {}
    for r in results:
        s = r.series if isinstance(r.series, dict) else dict(r.series or {})
        when: date | None = None
        if s.get("acquired"):
            try:
                when = datetime.fromisoformat(str(s["acquired"])).date()
            except ValueError:
                when = None
        folder = series_folder(equipment, when, str(s.get("series_uid") or ""),
                               s.get("series_number"))
        for i in r.inputs:
            if i.source and i.source not in out:
                out[i.source] = archive_file(root, i.source, folder, i.sop_instance_uid)
    return list(dict.fromkeys(out.values()))


# -- checking -----------------------------------------------------------------------------------
def check_file(root: str | os.PathLike[str], f: ArchivedFile) -> FileCheck:
    """Is the archived file present under ``root`` with its recorded SHA-256 and size?"""
    try:
        where = resolve(root, f.path)
    except ImageArchiveError as exc:
        return FileCheck(f, None, "unreadable", exc.message)
    if not where.is_file():
        return FileCheck(f, where, "missing", "not found")
    try:
        sha, size = file_sha256(where)
    except OSError as exc:
        return FileCheck(f, where, "unreadable", str(exc.strerror or exc))
    if (sha, size) != (f.sha256, f.size):
        return FileCheck(f, where, "altered",
                         f"SHA-256 {sha[:12]}…, {size} bytes; recorded {f.sha256[:12]}…, "
                         f"{f.size} bytes")
    return FileCheck(f, where, "ok")


def check_files(root: str | os.PathLike[str], files: Sequence[ArchivedFile]) -> list[FileCheck]:
    return [check_file(root, f) for f in files]
