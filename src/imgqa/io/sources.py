"""Finding the files to load: paths, folders and zip members → `Source`s, or `Problem`s.

Owns `Source` (a file on disk or a zip member, opened once and bounded), `iter_sources`
(folders searched recursively, hidden and sidecar files skipped, zips expanded safely) and
`Problem` (a file that could not be used, with a plain reason). Part of the loader behind
`imgqa.io.dicom`, which re-exports these names.
"""

from __future__ import annotations

import os
import stat
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from imgqa.errors import (
    EmptyInputError,
    ImgqaError,
    UnreadableInputError,
    UnsafeArchiveError,
)
from imgqa.io import archive as _arc


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that could not be used, and why (for the problems list/panel)."""

    path: str
    error: str
    hint: str = ""
    kind: str = "ImgqaError"

    @classmethod
    def from_error(cls, path: str, exc: ImgqaError) -> Problem:
        return cls(path=path, error=exc.message, hint=exc.hint, kind=type(exc).__name__)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error, "hint": self.hint, "kind": self.kind}

# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Source:
    """A file to read: a path on disk, or a member of a zip archive.

    Files are opened without blocking and only when regular (`archive.open_regular`); members
    are read as bounded streams from the archive opened once for the whole load.
    """

    name: str                 # shown to users; "archive.zip::member" for zip members
    path: Path
    member: str | None = None
    info: zipfile.ZipInfo | None = field(default=None, compare=False, repr=False)

    def open(self) -> BinaryIO:
        if self.member is None:
            return _arc.open_regular(self.path)
        arc = _arc.open_archive(self.path)
        info = self.info if self.info is not None else arc.zf.getinfo(self.member)
        return _arc.open_member(arc, info, self.name)  # type: ignore[return-value]


# Documentation and sidecar files found beside images (ground truth, licences, READMEs): skipped
# quietly rather than reported as "not DICOM".
_SIDECAR_SUFFIXES = frozenset({".json", ".txt", ".md", ".csv", ".xml", ".log", ".ini", ".yaml",
                               ".yml", ".toml", ".html", ".htm", ".py", ".db", ".sqlite"})
_SIDECAR_NAMES = ("license", "licence", "readme", "manifest", "copying", "notice")


def _is_sidecar(p: Path) -> bool:
    name = p.name.lower()
    return p.suffix.lower() in _SIDECAR_SUFFIXES or name.startswith(_SIDECAR_NAMES)


def iter_sources(paths: Iterable[str | os.PathLike[str]], problems: list[Problem],
                 skipped: list[str] | None = None) -> Iterator[Source]:
    """Every candidate file under `paths` (files, folders recursively, zip members).

    Nothing here opens a file that is not regular, so a named pipe cannot block the load; a
    folder that cannot be read and an archive that is damaged or unsafe become problems.
    """
    for raw in paths:
        p = Path(raw)
        try:
            mode = os.stat(p).st_mode
        except FileNotFoundError:
            problems.append(Problem(str(p), f"{p} does not exist.",
                                    "Check the path; the drive may be disconnected.",
                                    "EmptyInputError"))
            continue
        except OSError as exc:
            problems.append(_unreadable(p, exc, "file"))
            continue
        if stat.S_ISDIR(mode):
            found = False
            failed: list[Path] = []

            def on_error(exc: OSError, failed=failed, top=p) -> None:
                # os.walk would otherwise skip an unreadable folder without a word
                where = Path(exc.filename) if exc.filename else top
                failed.append(where)
                problems.append(_unreadable(where, exc, "folder"))

            for root, dirs, files in os.walk(p, onerror=on_error):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                folder = Path(root)  # once per folder: a Path costs microseconds
                for fname in sorted(files):
                    if fname.startswith("."):  # hidden
                        continue
                    fp = folder / fname
                    found = True
                    if _is_sidecar(fp):
                        if skipped is not None:
                            skipped.append(f"{fp}: not an image (skipped)")
                        continue
                    yield from _expand_file(fp, problems, skipped, explicit=False)
            if not found and not failed:
                problems.append(Problem(str(p), f"The folder {p} contains no files.",
                                        EmptyInputError.default_hint, "EmptyInputError"))
        else:
            yield from _expand_file(p, problems, skipped, explicit=True)


def _unreadable(p: Path, exc: OSError, what: str) -> Problem:
    """'cannot read folder X: permission denied', with a hint."""
    reason = (exc.strerror or type(exc).__name__).lower()
    return Problem(str(p), f"cannot read {what} {p}: {reason}",
                   UnreadableInputError.default_hint, "UnreadableInputError")


def _expand_file(fp: Path, problems: list[Problem], skipped: list[str] | None = None,
                 explicit: bool = True) -> Iterator[Source]:
    try:
        mode = os.stat(fp).st_mode
    except OSError as exc:
        problems.append(_unreadable(fp, exc, "file"))
        return
    kind = _arc.not_regular_kind(mode)
    if kind is not None:
        # A named pipe would block the load forever, a device may never end: never opened.
        if explicit:
            problems.append(Problem.from_error(str(fp), _arc.not_regular_error(fp, kind)))
        elif skipped is not None:
            skipped.append(f"{fp}: {kind}, not an ordinary file (skipped)")
        return
    if fp.suffix.lower() == ".zip":
        yield from _expand_zip(fp, problems)
    else:
        yield Source(str(fp), fp)


def _expand_zip(fp: Path, problems: list[Problem]) -> Iterator[Source]:
    """The members of an archive, opened once; damaged or unsafe archives become problems."""
    try:
        arc = _arc.open_archive(fp)
        infos = [i for i in arc.zf.infolist()
                 if not i.is_dir() and not Path(i.filename).name.startswith(".")
                 and "__MACOSX" not in i.filename]
        _arc.check_archive(fp, infos)
    except ImgqaError as exc:
        problems.append(Problem.from_error(str(fp), exc))
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        problems.append(Problem.from_error(str(fp), _arc.damaged_archive(fp, exc)))
        return
    except OSError as exc:
        problems.append(_unreadable(fp, exc, "file"))
        return
    if not infos:
        problems.append(Problem(str(fp), f"The zip archive {fp.name} is empty.",
                                EmptyInputError.default_hint, "EmptyInputError"))
    for info in sorted(infos, key=lambda i: i.filename):
        name = f"{fp}::{info.filename}"
        try:
            _arc.check_member(fp, info)
        except UnsafeArchiveError as exc:
            problems.append(Problem.from_error(name, exc))
            continue
        yield Source(name, fp, info.filename, info)


def _short(name: str) -> str:
    """The file name shown in messages (the member name for a zip member)."""
    return os.path.basename(name.split("::")[-1].rstrip("/\\")) or name
