"""Crash recovery for ``imgqa serve``: which images in the inbox were never handled?

The receiver acknowledges an image only once it is flushed to disk under its final name
(`imgqa.io.receiver`), but the series it belongs to is analysed later, when it has gone quiet.
If the service is killed in between (SIGKILL, power cut, out of memory), those images are safe
on disk yet nobody analyses them: the scanner will not send them again, it saw them as sent.

So each inbox series folder gets a small *handled marker* (``.imgqa-handled.json``) once its
series has been through the handler (saved, duplicate, waiting or failed), listing the file
names handled. At start-up `unhandled_files` walks ``inbox/<day>/<series>/`` and returns every
image file the marker does not list; ``imgqa serve`` hands them to the `SeriesCollector` as if
they had just arrived, so they are analysed once the quiet period has passed (together with
the rest of the series, if the scanner sends it then).

Why this cannot save a session twice: the marker is written *after* the handler returned. A
stop between the database commit and the marker leaves the series unmarked; at the next start
it is analysed again and the store's duplicate check (same SOP Instance UIDs and pixel data for
the same protocol and equipment, `imgqa.store.duplicates`, checked inside the save's own write
transaction) refuses it: "duplicate … nothing added". A stop before the commit leaves nothing
in the database (one transaction per session), so the series is simply analysed and saved at
the next start. The marker is written atomically (temporary file + rename), so a stop while it
is written leaves the old marker or the new one, never half of one.

No patient data: the marker holds file names (UID-derived), a state word and a time.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from imgqa.io.atomic_write import write_atomically
from imgqa.io.receiver import QUARANTINE
from imgqa.service.watcher import DicomFile, is_temporary_name, read_uids

__all__ = ["HANDLED_MARKER", "mark_handled", "handled_names", "unhandled_files",
           "remove_stale_incoming", "STALE_INCOMING_S", "DEFAULT_RECOVER_S", "recover_inbox",
           "marking_handler"]

if TYPE_CHECKING:
    from imgqa.service.completion import CompleteSeries
    from imgqa.service.pipeline import AutomaticQC
    from imgqa.service.saving import SessionSaver

log = logging.getLogger(__name__)

HANDLED_MARKER = ".imgqa-handled.json"
# A receiver's temporary ``.incoming-*`` file older than this was left by a process that died
# while writing it (a live write takes milliseconds); it was never acknowledged.
STALE_INCOMING_S = 3600.0
# Unhandled images older than this are not re-collected at start (a service down over a long
# weekend still recovers; an inbox filled before markers existed is not analysed wholesale).
DEFAULT_RECOVER_S = 7 * 24 * 3600.0


def handled_names(folder: Path) -> set[str]:
    """File names in `folder` already handled (empty when there is no readable marker)."""
    try:
        data = json.loads((folder / HANDLED_MARKER).read_text(encoding="utf-8"))
        return {str(n) for n in data.get("files", [])}
    except (OSError, ValueError, AttributeError):
        return set()


def mark_handled(paths: Iterable[Path | str], state: str = "handled") -> None:
    """Record that these files' series went through the handler (one marker per folder).

    Parameters
    ----------
    paths : iterable of path
        The complete series' files (`CompleteSeries.paths`).
    state : str
        What became of the series (``saved``, ``duplicate``, ``waiting``, ``failed``), kept
        for a person looking at the folder.

    Notes
    -----
    Never raises: a marker that cannot be written means only that the series is analysed
    again at the next start, and the store's duplicate check keeps it from being saved twice.
    """
    by_folder: dict[Path, set[str]] = defaultdict(set)
    for p in paths:
        p = Path(p)
        by_folder[p.parent].add(p.name)
    for folder, names in by_folder.items():
        entry = {"files": sorted(handled_names(folder) | names), "state": state,
                 "at": datetime.now(UTC).isoformat(timespec="seconds")}
        try:
            # no fsync: a lost marker only means one more duplicate check
            write_atomically(folder / HANDLED_MARKER, json.dumps(entry).encode(),
                             prefix=".incoming-marker-")
        except OSError as exc:
            log.warning("cannot mark %s as handled (it will be analysed again at the next "
                        "start, and not saved twice): %s", folder, exc.strerror or exc)


def _series_folders(inbox: Path) -> Iterator[Path]:
    """``inbox/<day>/<series>/`` folders, skipping quarantine and hidden folders."""
    try:
        days = sorted(d for d in inbox.iterdir() if d.is_dir() and not d.is_symlink())
    except OSError as exc:
        log.warning("cannot read the inbox %s: %s", inbox, exc.strerror or exc)
        return
    for day in days:
        if day.name == QUARANTINE or day.name.startswith("."):
            continue
        try:
            yield from sorted(s for s in day.iterdir() if s.is_dir() and not s.is_symlink()
                              and not s.name.startswith("."))
        except OSError as exc:
            log.warning("cannot read %s: %s", day, exc.strerror or exc)


def unhandled_files(inbox: Path | str, max_age_s: float | None = None) -> list[DicomFile]:
    """Image files in the inbox whose series was never handled (not in a handled marker).

    Parameters
    ----------
    inbox : path
    max_age_s : float, optional
        Only files modified less than this many seconds ago (None: all). A bound keeps the
        first start on an inbox filled before markers existed (``imgqa receive``, an older
        ``imgqa serve``) from analysing months of old images.

    Notes
    -----
    Only the files a marker does not list are opened (their header up to the pixel data), so
    a start-up over months of handled series costs one directory listing per series.
    Files that are not DICOM, or lack a Series/SOP Instance UID, are skipped.
    """
    oldest = -math.inf if max_age_s is None else time.time() - max_age_s
    out: list[DicomFile] = []
    for folder in _series_folders(Path(inbox)):
        done = handled_names(folder)
        try:
            names = sorted(e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)
                           and not is_temporary_name(e.name) and e.name not in done
                           and e.stat(follow_symlinks=False).st_mtime >= oldest)
        except OSError as exc:
            log.warning("cannot read %s: %s", folder, exc.strerror or exc)
            continue
        for name in names:
            uids = read_uids(folder / name)
            if uids is not None:
                out.append(DicomFile(folder / name, uids[0], uids[1]))
    return out


def remove_stale_incoming(inbox: Path | str, older_than_s: float = STALE_INCOMING_S) -> int:
    """Delete the receiver's ``.incoming-*`` temporaries older than `older_than_s` (left by a
    process killed while writing them; never acknowledged). Returns how many."""
    now = time.time()
    n = 0
    for folder in _series_folders(Path(inbox)):
        for tmp in folder.glob(".incoming-*"):
            try:
                if now - tmp.stat().st_mtime > older_than_s:
                    tmp.unlink()
                    n += 1
            except OSError:
                continue
    return n


def recover_inbox(inbox: Path | str, qc: AutomaticQC,
                  max_age_s: float | None = DEFAULT_RECOVER_S) -> tuple[int, int]:
    """Hand the inbox's never-handled images (a stop between acknowledgement and analysis) to
    `qc` as new arrivals, after removing stale temporaries; returns (images, series).
    `max_age_s`: only images received in that many seconds (default 7 days; None: all)."""
    remove_stale_incoming(inbox)
    files = unhandled_files(inbox, max_age_s)
    qc.on_files(files)
    n_series = len({f.series_uid for f in files})
    if files:
        log.info("re-collected %d image(s) of %d series from %s", len(files), n_series, inbox)
    return len(files), n_series


def marking_handler(saver: SessionSaver, inbox: Path | str
                    ) -> Callable[[CompleteSeries], None]:
    """`saver` as the pipeline's handler, marking each series' inbox folder handled once it
    returned. Files outside the inbox (``--watch`` folders) are not marked: the service writes
    nothing into an export share."""
    root = Path(inbox).resolve()

    def handle(series: CompleteSeries) -> None:
        n = len(saver.outcomes)
        saver(series)
        states = {o.state for o in saver.outcomes[n:]}
        # after the handler returned (and the session, if any, is committed): a stop before
        # this line means a duplicate check at the next start, never a loss
        mark_handled([p for p in series.paths if p.resolve().is_relative_to(root)],
                     ",".join(sorted(states)) or "handled")

    return handle

