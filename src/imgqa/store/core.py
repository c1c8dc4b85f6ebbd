"""The part of `imgqa.store.Store` every concern builds on: the engine, the short read and write
transactions (`imgqa.store.db`), the audit append and anchor, and small value helpers.

Owns no table. The concern modules (`users`, `equipment`, `limits`, `sessions`, `reviews`,
`service`, `trend_queries`, `audit_queries`) add their methods on top of `StoreCore`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy.engine import URL, Engine
from sqlalchemy.orm import Session

from imgqa.evaluate import Kind, Tolerance
from imgqa.store import anchor, audit, db

__all__ = ["StoreCore", "aware", "chunks", "finite", "now", "tolerance_of"]

T = TypeVar("T")


def now() -> datetime:
    """The current time, timezone-aware UTC (everything is stored in UTC)."""
    return datetime.now(UTC)


def aware(t: datetime) -> datetime:
    """A naive datetime is taken as UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def finite(v: Any) -> float | None:
    """``float(v)``, or None for None, NaN and ±inf (a database stores no NaN)."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def tolerance_of(kind: str, act_low: float | None, tol_low: float | None,
                 tol_high: float | None, act_high: float | None) -> Tolerance:
    """An `imgqa.evaluate.Tolerance` from stored columns (``kind`` is checked by the schema's
    CHECK constraint and by `validate_tolerance` when set)."""
    return Tolerance(cast(Kind, kind), act_low, tol_low, tol_high, act_high)


def chunks(seq: Sequence[int], n: int) -> Iterator[list[int]]:
    """``seq`` in lists of at most ``n`` (bound parameters per IN (), below SQLite's limit)."""
    for i in range(0, len(seq), n):
        yield list(seq[i:i + n])


class StoreCore:
    """Engine, transactions and the audit append shared by every concern of `Store`."""

    def __init__(self, engine: Engine, *, is_default: bool = False) -> None:
        self.engine = engine
        self.url: URL = engine.url
        self.is_default = is_default
        self._user: str | None = None
        self._role: str | None = None
        self._key: audit.AuditKey | None = None
        self._key_loaded = False

    # -- basics ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        """The database, for display (password hidden)."""
        p = db.sqlite_path(self.url)
        return str(p) if p is not None else self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"<Store {self.location}>"

    @property
    def anchor_name(self) -> str:
        """This database in anchor files: the SQLite path, or the URL without login."""
        p = db.sqlite_path(self.url)
        if p is not None:
            return str(p)
        return self.url.set(username=None, password=None).render_as_string()

    # -- transactions ---------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[Session]:
        with db.read_session(self.engine, self.url) as s:
            yield s

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one write transaction (`imgqa.store.db.write_transaction`); once
        committed, the new audit chain head goes to the anchor file."""
        return db.write_transaction(self.engine, fn, self._anchor_after_commit)

    # -- audit append ---------------------------------------------------------------------
    @property
    def audit_key(self) -> audit.AuditKey | None:
        """The department key (`imgqa.store.audit.load_key`), read once; None if not set."""
        if not self._key_loaded:
            self._key = audit.load_key()
            self._key_loaded = True
        return self._key

    def _append(self, s: Session, **entry: Any) -> tuple[int, str]:
        """Append an audit entry, signed with the department key when one is set."""
        return audit.append(s, key=self.audit_key, **entry)

    def _anchor_after_commit(self, s: Session) -> None:
        """Write the new chain head to the anchor file, if one is configured."""
        head = s.info.pop(audit.HEAD_INFO, None)
        path = anchor.anchor_file()
        if head is not None and path is not None:
            anchor.write_anchor(path, self.anchor_name, head[0], head[1], "write")
