"""Watch a folder (typically a network share a scanner exports to) for complete DICOM files.

Polling, not file-system notifications: SMB and NFS shares do not deliver inotify /
ReadDirectoryChanges events reliably (changes made by another computer are often not
reported at all), and a poll every few seconds costs nothing at QC volumes.

A file counts as complete when its size and modification time are the same at two consecutive
looks (a writer still copying changes one of them) and its name is not a temporary name
(``.name``, ``~name``, ``*.tmp``, ``*.part``, ``*.partial``, ``*.crdownload``, ``*.filepart``:
what copy tools and browsers write before renaming). Complete files are read once (header
only, stopping before the pixel data) for their Series and SOP Instance UIDs; a file that is
not DICOM or cannot be read is remembered and not read again until it changes. Hidden folders
and the receiver's ``quarantine`` folder are not entered.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DicomFile", "DirectoryWatcher", "is_temporary_name", "read_uids"]

log = logging.getLogger(__name__)

_TEMP_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".filepart", ".download")
_SKIPPED_DIRS = frozenset({"quarantine"})


def is_temporary_name(name: str) -> bool:
    """True for names that copy tools use while a file is still being written."""
    low = name.lower()
    return low.startswith((".", "~")) or low.endswith(_TEMP_SUFFIXES)


@dataclass(frozen=True, slots=True)
class DicomFile:
    """A complete DICOM file found by the watcher."""

    path: Path
    series_uid: str
    sop_uid: str


def read_uids(path: Path) -> tuple[str, str] | None:
    """(SeriesInstanceUID, SOPInstanceUID) from a file's header, or None if it has neither
    (not DICOM, damaged, not an ordinary file). Reads only up to the pixel data."""
    import pydicom

    from imgqa.io.archive import open_regular

    try:
        with open_regular(path) as fh:
            ds = pydicom.dcmread(fh, stop_before_pixels=True,
                                 specific_tags=["SeriesInstanceUID", "SOPInstanceUID"])
        series, sop = str(ds.get("SeriesInstanceUID", "")), str(ds.get("SOPInstanceUID", ""))
    except Exception as exc:  # any unreadable file is one skipped file, never a stop
        log.debug("not a DICOM file (or unreadable): %s (%s)", path, exc)
        return None
    return (series, sop) if series and sop else None


class DirectoryWatcher:
    """Finds new, complete DICOM files under `root` at each `poll`.

    Parameters
    ----------
    root : Path
        The folder to watch (recursively).

    Notes
    -----
    State is the (size, mtime) of every file seen: a file is reported once, when it is first
    found unchanged between two polls; a file that changes afterwards (rewritten) is reported
    again (the series collector ignores an instance it already has).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._last: dict[Path, tuple[int, int]] = {}     # seen at the previous poll
        self._done: dict[Path, tuple[int, int]] = {}     # reported or found not DICOM
        self.not_dicom: set[Path] = set()

    def poll(self) -> list[DicomFile]:
        """Look at the folder once; the DICOM files that became complete since the last look.

        Raises
        ------
        FileNotFoundError
            When `root` does not exist (any more): a share that went away is reported, not
            mistaken for an empty folder.
        """
        if not self.root.is_dir():
            raise FileNotFoundError(f"the folder {self.root} does not exist or cannot be "
                                    "reached")
        now: dict[Path, tuple[int, int]] = {}
        ready: list[DicomFile] = []
        for path, sig in self._scan():
            now[path] = sig
            if self._done.get(path) == sig or self._last.get(path) != sig:
                continue  # already handled, or new / still changing: look again next time
            self._done[path] = sig
            uids = read_uids(path)
            if uids is None:
                self.not_dicom.add(path)
                continue
            self.not_dicom.discard(path)
            ready.append(DicomFile(path, *uids))
        self._last = now
        # forget files that disappeared (moved away after processing)
        self._done = {p: s for p, s in self._done.items() if p in now}
        self.not_dicom &= set(now)
        return ready

    def _scan(self) -> Iterator[tuple[Path, tuple[int, int]]]:
        def on_error(exc: OSError) -> None:
            log.warning("cannot read folder %s: %s", exc.filename, exc.strerror or exc)

        for top, dirs, files in os.walk(self.root, onerror=on_error):
            dirs[:] = sorted(d for d in dirs
                             if not d.startswith(".") and d.lower() not in _SKIPPED_DIRS)
            for name in sorted(files):
                if is_temporary_name(name):
                    continue
                path = Path(top) / name
                try:
                    st = path.stat()
                except OSError:  # removed between listing and stat
                    continue
                if st.st_size > 0:
                    yield path, (st.st_size, st.st_mtime_ns)
