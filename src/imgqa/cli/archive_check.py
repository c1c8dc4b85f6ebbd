"""The image-archive half of ``imgqa db verify`` and of ``imgqa session images``: every
archived file of every session (``session_file``) looked up under this workstation's archive
root and compared with its recorded SHA-256 and size (`imgqa.io.image_archive.check_file`)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgqa.io.image_archive import FileCheck, check_files, default_archive_root, require_root

__all__ = ["ArchiveCheck", "archive_root_from", "check_archive"]


def archive_root_from(given: str | None) -> Path | None:
    """``--archive DIR`` if given, else ``$IMGQA_ARCHIVE``, else the GUI setting, else None."""
    return Path(given).expanduser() if given else default_archive_root()


@dataclass
class ArchiveCheck:
    """Archived files that are missing, altered or unreadable, per session."""

    root: Path | None
    sessions: int = 0
    files: int = 0
    problems: list[tuple[int, FileCheck]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"root": str(self.root) if self.root else None, "sessions": self.sessions,
                "files": self.files, "checked": self.root is not None and self.files > 0,
                "problems": [{"session_id": sid, "path": c.file.path, "state": c.state,
                              "detail": c.detail, "sha256": c.file.sha256}
                             for sid, c in self.problems]}

    def print_text(self) -> None:
        for n in self.notes:
            print(f"Note: {n}", file=sys.stderr if self.problems else sys.stdout)
        if not self.files or self.root is None:
            return
        if not self.problems:
            print(f"Image archive intact: {self.files} file(s) of {self.sessions} session(s) "
                  f"present with their recorded SHA-256 in {self.root}.")
            return
        print(f"The image archive check found {len(self.problems)} problem(s) in "
              f"{self.root}:", file=sys.stderr)
        for sid, c in self.problems:
            print(f"  - session {sid}: {c.file.path} is {c.state}"
                  + (f" ({c.detail})" if c.detail and c.state != "missing" else ""),
                  file=sys.stderr)


def check_archive(store: Any, given: str | None) -> ArchiveCheck:
    """Check every session's archived files under the archive root (``given`` or default)."""
    by_session = store.archived_files()
    out = ArchiveCheck(archive_root_from(given), sessions=len(by_session),
                       files=sum(len(v) for v in by_session.values()))
    if not out.files:
        return out
    if out.root is None:
        out.notes.append(f"{out.files} archived image file(s) of {out.sessions} session(s) "
                         "were not checked: no image archive folder is set on this "
                         "workstation (give --archive DIR or set $IMGQA_ARCHIVE).")
        return out
    require_root(out.root)   # a share that is not mounted is one clear error, not N missing
    for sid, files in sorted(by_session.items()):
        out.problems += [(sid, c) for c in check_files(out.root, files) if c.state != "ok"]
    return out
