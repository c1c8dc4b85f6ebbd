"""Anchors: the audit chain's head written down outside the database.

The hash chain shows that no entry was changed, inserted or removed *between* entries, but
someone who can delete rows can cut the newest entries off the end (with their sessions), and
the rest still chains. An anchor is the head seen at some moment, ``ID:HASH`` with the newest
entry's id and the first 16 hex digits of its hash (e.g. ``1234:3f2a9c1b7d0e4f21``). If the
log later lacks that entry, or the entry's hash differs, the log was truncated or rewritten
since the anchor was taken.

Anchors live where the database owner cannot reach them: printed by ``imgqa db verify`` and on
every PDF report, and — with ``$IMGQA_AUDIT_ANCHOR_FILE`` set — appended to that file after
every change this computer saves (and after each successful verify). A line of the file is
``<UTC time>\t<event>\t<database>\t<ID:HASH>``; ``<database>`` is the SQLite path or the
PostgreSQL URL without login, so one file can serve several databases.

The id is used rather than a count because PostgreSQL sequences skip numbers after a rolled
back transaction; ``verify`` prints the entry count too.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from imgqa.errors import StoreError

__all__ = ["ANCHOR_FILE_ENV", "Anchor", "anchor_file", "check_anchors", "format_anchor",
           "parse_anchor", "read_anchor_file", "write_anchor"]

log = logging.getLogger(__name__)

ANCHOR_FILE_ENV = "IMGQA_AUDIT_ANCHOR_FILE"
SHORT_HEX = 16   # hex digits written: 64 bits, beyond any brute-force match of a rewrite
MIN_HEX = 12     # fewest hex digits accepted when typed by hand
_ANCHOR_RE = re.compile(r"^\s*#?(\d+):([0-9a-fA-F]+)\s*$")


@dataclass(frozen=True)
class Anchor:
    """A recorded chain head: the entry id and a prefix of its hash; ``source`` for messages."""

    entry_id: int
    hash_prefix: str
    source: str = ""

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.hash_prefix}"


def format_anchor(entry_id: int, entry_hash: str) -> str:
    """The short anchor text of an entry, ``ID:HASH16``."""
    return f"{entry_id}:{entry_hash[:SHORT_HEX]}"


def parse_anchor(text: str, source: str = "") -> Anchor:
    """``"1234:3f2a9c1b7d0e4f21"`` → `Anchor`.

    Raises
    ------
    StoreError
        Not of the form ID:HEX with at least 12 hex digits.
    """
    m = _ANCHOR_RE.match(text or "")
    if not m or len(m.group(2)) < MIN_HEX:
        raise StoreError(f"{text!r} is not an audit anchor.",
                         hint="An anchor looks like 1234:3f2a9c1b7d0e4f21 (entry number, colon, "
                              f"at least {MIN_HEX} hex digits of its hash), as printed by "
                              "`imgqa db verify` and on PDF reports.")
    return Anchor(int(m.group(1)), m.group(2).lower(), source or text.strip())


def anchor_file(environ: Mapping[str, str] | None = None) -> Path | None:
    """The anchor file named by ``$IMGQA_AUDIT_ANCHOR_FILE``, if any."""
    env = os.environ if environ is None else environ
    raw = env.get(ANCHOR_FILE_ENV, "").strip()
    return Path(raw).expanduser() if raw else None


def write_anchor(path: Path, database: str, entry_id: int, entry_hash: str, event: str) -> bool:
    """Append one anchor line; False (and a warning) when the file cannot be written.

    A failure never undoes the save it follows: the data are safe in the database, only
    this piece of outside evidence is missing.
    """
    line = "\t".join([datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), event,
                      database.replace("\t", " "), format_anchor(entry_id, entry_hash)])
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return True
    except OSError as exc:
        log.warning("could not write the audit anchor to %s: %s", path, exc.strerror)
        return False


def read_anchor_file(path: Path, database: str) -> list[Anchor]:
    """The anchors recorded in ``path`` for ``database`` (other databases' lines skipped).

    Raises
    ------
    StoreError
        The file cannot be read.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise StoreError(f"Cannot read the audit anchor file {path}: {exc.strerror}.",
                         hint="Check the path given with --anchor-file or "
                              f"{ANCHOR_FILE_ENV}.") from exc
    out = []
    for n, line in enumerate(lines, 1):
        parts = line.rstrip("\n").split("\t")
        if len(parts) != 4 or parts[2] != database:
            continue
        try:
            out.append(parse_anchor(parts[3], f"{path.name} line {n} ({parts[0]}, {parts[1]})"))
        except StoreError:
            log.warning("%s line %d is not an anchor; skipped", path, n)
    return out


def check_anchors(chain: Mapping[int, str], head_id: int | None,
                  anchors: Sequence[Anchor]) -> list[str]:
    """Problems: anchored entries missing from, or different in, the chain.

    ``chain`` maps every entry id to its hash (in chain order); ``head_id`` is the newest id.
    """
    problems = []
    for a in anchors:
        have = chain.get(a.entry_id)
        if have is None and (head_id is None or a.entry_id > head_id):
            problems.append(
                f"the audit log ends at entry {head_id or 0} but the anchor {a} ({a.source}) "
                f"recorded entry {a.entry_id}: the newest entries were removed (truncated) "
                f"since that anchor")
        elif have is None:
            problems.append(f"entry {a.entry_id} recorded by the anchor {a} ({a.source}) is "
                            f"missing from the audit log: it was removed")
        elif not have.startswith(a.hash_prefix):
            problems.append(f"entry {a.entry_id} differs from the anchor {a} ({a.source}): the "
                            f"log was rewritten since that anchor")
    return problems
