"""Writing a file so that a reader never sees it half-written, and (when asked) so that it
survives a crash once the call returns.

One place for the pattern the receiver, the image archive, the service's handled markers and
the notification files all need: write beside the target under a hidden temporary name, then
``os.replace`` it into place (atomic on POSIX and on NTFS within one folder). ``durable=True``
also fsyncs the data before the rename and the folder after it, so the new name itself is on
disk — what the receiver needs before it acknowledges an image.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO

__all__ = ["flush_to_disk", "fsync_folder", "write_atomically"]


def flush_to_disk(fh: BinaryIO) -> None:
    """Flush Python's buffer and the OS cache of an open file to the disk."""
    fh.flush()
    os.fsync(fh.fileno())


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a new or renamed entry of ``folder`` durable (POSIX: fsync the directory).

    Windows cannot open a directory for fsync (NTFS journals the name): skipped there, as is
    any folder that cannot be opened; never raises.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(target: str | os.PathLike[str], data: bytes, *, prefix: str = ".tmp-",
                     durable: bool = False) -> Path:
    """Write ``data`` to ``target`` through a temporary file in the same folder.

    Parameters
    ----------
    target : path
        The file to create or replace; its folder must exist.
    data : bytes
        The whole new content.
    prefix : str
        Name prefix of the temporary file (a start-up clean-up may look for it).
    durable : bool
        Also fsync the file before the rename and the folder after it.

    Returns
    -------
    Path
        ``target``. The temporary file is removed whatever happens.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=prefix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                flush_to_disk(fh)
        os.replace(tmp, target)
        if durable:
            fsync_folder(target.parent)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
