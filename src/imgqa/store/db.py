"""Where the database is, how to connect, migrations and backups.

* `resolve_url`: ``--db``/argument → ``$IMGQA_DB`` → a SQLite file ``imgqa.sqlite3`` in
  ``$IMGQA_DATA_DIR`` or the platform user data directory (platformdirs).
* `make_engine`: SQLite in WAL mode with foreign keys on, a 30 s busy timeout and
  ``BEGIN IMMEDIATE`` for write transactions (two writers queue instead of failing);
  PostgreSQL through psycopg 3.
* `upgrade`: Alembic to head, after an online backup of an existing SQLite file.
* `backup_sqlite`: SQLite online backup API (consistent copy while others write).
* `read_session` / `write_transaction`: the short transactions every `Store` method runs in
  (a write takes the write lock first and is retried while another writer holds it).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from imgqa.errors import ImgqaError, StoreError
from imgqa.paths import data_dir

__all__ = [
    "DB_FILENAME",
    "WRITE",
    "backup_sqlite",
    "check_sqlite_path",
    "current_revision",
    "default_data_dir",
    "head_revision",
    "is_current",
    "make_engine",
    "pg_dump_hint",
    "read_session",
    "resolve_url",
    "sqlite_path",
    "translate_error",
    "upgrade",
    "write_transaction",
]

log = logging.getLogger(__name__)

DB_FILENAME = "imgqa.sqlite3"
SQLITE_BUSY_TIMEOUT_S = 30.0
# Execution option that marks a connection as a writer: on SQLite its transaction starts with
# BEGIN IMMEDIATE, taking the write lock up front so read-then-write steps (the audit chain)
# are atomic and a second writer waits (busy timeout) instead of failing half-way.
WRITE = {"imgqa_write": True}
# A constant advisory-lock key serialising writers on PostgreSQL (audit chain order, upgrades).
PG_WRITE_LOCK = 0x1A6_0A
# Quick "busy" refusals a write retries (with back-off) within SQLITE_BUSY_TIMEOUT_S.
WRITE_RETRIES = 8
T = TypeVar("T")
# The newest migration (store/migrations/versions/0006_*.py). `is_current` compares a database's
# recorded revision with this, so opening an up-to-date database does not import Alembic (whose
# runtime imports Mako and Pygments: ≈ 0.2 s CPU of every `history`, `due`, `review`).
# tests/store/test_store_migrations.py checks that it is Alembic's head.
SCHEMA_HEAD = "0006"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations" / "versions"
# Alembic's version table (its default name; migrations/env.py does not change it).
_VERSION_TABLE = "alembic_version"


def default_data_dir() -> Path:
    """``$IMGQA_DATA_DIR`` if set, else platformdirs' user data directory (`imgqa.paths`)."""
    return data_dir()


def resolve_url(url: str | None = None) -> tuple[URL, bool]:
    """The SQLAlchemy URL to use and whether it is the default location.

    A value without ``://`` is a SQLite file path. ``postgresql://`` selects psycopg 3.
    """
    is_default = False
    raw = url or os.environ.get("IMGQA_DB") or None
    if not raw:
        raw = str(default_data_dir() / DB_FILENAME)
        is_default = True
    if "://" not in raw:
        path = Path(raw).expanduser().absolute()
        return make_url(f"sqlite:///{path}"), is_default
    try:
        u = make_url(raw)
    except ArgumentError as exc:
        raise StoreError(f"Not a database URL: {raw!r}.",
                         hint="Use a file path or e.g. postgresql://user@host/dbname.") from exc
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u, is_default


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, None for in-memory or other backends."""
    if url.get_backend_name() != "sqlite":
        return None
    db = url.database or ""
    if not db or db == ":memory:" or db.startswith("file::memory:"):
        return None
    db = db.removeprefix("file:")
    return Path(db)


def check_sqlite_path(url: URL, *, create_dir: bool) -> None:
    """Clear messages for a missing folder or an unwritable file before SQLite says less."""
    path = sqlite_path(url)
    if path is None:
        return
    folder = path.parent
    if not folder.exists():
        if create_dir:
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"Cannot create the database folder {folder}: {exc.strerror}.",
                                 hint="Choose another location with --db or IMGQA_DB.") from exc
        else:
            raise StoreError(f"The database folder {folder} does not exist.",
                             hint="Check the path given with --db / IMGQA_DB, or create the "
                                  "folder first.")
    if path.exists() and path.is_dir():
        raise StoreError(f"The database path {path} is a folder, not a file.",
                         hint=f"Give a file name, e.g. {path / DB_FILENAME}.")


def _is_read_only(url: URL) -> bool:
    q = url.query
    return str(q.get("mode", "")) == "ro" or str(url.database or "").endswith("mode=ro")


def make_engine(url: URL, **kwargs: Any) -> Engine:
    """An engine set up for imgqa (see module docstring)."""
    if url.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
        if str(url.database or "").startswith("file:"):
            connect_args["uri"] = True
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        read_only = _is_read_only(url)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: sqlite3.Connection, _rec: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see "begin")
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not read_only and sqlite_path(url) is not None:
                try:
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: no corruption
                except sqlite3.OperationalError:
                    pass  # read-only media: the first write reports it clearly
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            if conn.get_execution_options().get("imgqa_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    if url.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    return create_engine(url, **kwargs)


def translate_error(exc: BaseException, url: URL | str) -> StoreError:
    """A StoreError a technologist understands for a low-level database error."""
    if isinstance(exc, StoreError):
        return exc
    msg = str(getattr(exc, "orig", exc) or exc).strip().splitlines()[0] if str(exc) else ""
    where = _safe_url(url)
    low = msg.lower()
    if "readonly" in low or "read-only" in low or "read only" in low:
        return StoreError(f"The results database {where} is read-only, so nothing can be saved.",
                          hint="Check the file's permissions or the medium, or use another "
                               "database with --db.")
    if "unable to open database" in low:
        return StoreError(f"The results database {where} cannot be opened.",
                          hint="Check that the folder exists and that you may write to it.")
    if "locked" in low or "busy" in low:
        return StoreError(f"The results database {where} stayed locked by another program.",
                          hint="Wait for the other imgqa to finish saving, then try again.")
    if "permission denied" in low or "insufficientprivilege" in type(
            getattr(exc, "orig", exc)).__name__.lower():
        from imgqa.errors import StorePermissionError

        return StorePermissionError(f"The database refused this for your login: {msg}")
    if "connection" in low or "could not connect" in low or "server" in low:
        return StoreError(f"Cannot connect to the results database {where}: {msg}",
                          hint="Check the server address, that it is running, and your login.")
    return StoreError(f"Results database error ({where}): {msg}")


def _safe_url(url: URL | str) -> str:
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return str(url)


# ------------------------------------------------------------------------------------------
# Migrations
# ------------------------------------------------------------------------------------------
def _alembic_config(connection: Any = None) -> Any:
    from alembic.config import Config

    here = Path(__file__).resolve().parent
    cfg = Config(str(here / "alembic.ini"))
    cfg.set_main_option("script_location", str(here / "migrations"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def current_revision(engine: Engine) -> str | None:
    """The schema revision recorded in the database; None for an empty database.

    Reads Alembic's version table as Alembic's own ``get_current_revision`` does (one row; no
    table, or no row: None), with one query instead of importing Alembic.

    Raises
    ------
    StoreError
        The table holds several revisions (branches this imgqa never makes).
    """
    from sqlalchemy import inspect

    with engine.connect() as conn:
        if not inspect(conn).has_table(_VERSION_TABLE):
            return None
        heads = list(conn.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalars())
    if len(heads) > 1:
        raise StoreError(f"The results database {_safe_url(engine.url)} records several schema "
                         f"revisions ({', '.join(sorted(heads))}).",
                         hint="It was changed outside imgqa; restore it from a backup.")
    return heads[0] if heads else None


def is_current(revision: str | None) -> bool:
    """Whether a database at ``revision`` (`current_revision`) needs no upgrade.

    Decided without Alembic when the revision is `SCHEMA_HEAD` and no migration file sorts
    after ``SCHEMA_HEAD_*.py`` (a migration added without updating `SCHEMA_HEAD`, whatever its
    name, sorts after it: the files are numbered); otherwise Alembic's head decides, so a
    forgotten `SCHEMA_HEAD` costs time, never an upgrade.
    """
    if revision is None:
        return False
    if revision == SCHEMA_HEAD:
        try:
            newest = max(p.name for p in _MIGRATIONS.iterdir()
                         if p.suffix == ".py" and not p.name.startswith("_"))
        except (OSError, ValueError):  # no folder (a frozen bundle?): ask Alembic
            newest = ""
        if newest.startswith(f"{SCHEMA_HEAD}_"):
            return True
    return revision == head_revision()


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_alembic_config()).walk_revisions()}


def upgrade(engine: Engine, *, backup: bool = True, target: str = "head") -> Path | None:
    """Bring the schema to the newest revision; returns the backup file made, if any.

    An existing SQLite file is first copied with the online backup API to
    ``<file>.<old revision>.<UTC time>.bak`` next to it. Writers are serialised (SQLite write
    lock, PostgreSQL advisory lock) and Alembic reads the revision again under the lock, so
    two programs starting at once upgrade only once. ``target`` (a revision id) is for tests
    that need an older schema.
    """
    from alembic import command

    url = engine.url
    rev = current_revision(engine)
    head = head_revision() if target == "head" else target
    if rev == head:
        return None
    if rev is not None and rev not in _known_revisions():
        raise StoreError(f"The results database {_safe_url(url)} was made by a newer imgqa "
                         f"(schema {rev}).", hint="Update imgqa on this computer.")
    made: Path | None = None
    path = sqlite_path(url)
    if backup and rev is not None and path is not None and path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        made = path.with_name(f"{path.name}.{rev}.{stamp}.bak")
        backup_sqlite(engine, made)
        log.info("backed up %s to %s before upgrading", path, made)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_WRITE_LOCK})
        command.upgrade(_alembic_config(conn), target)
    return made


# ------------------------------------------------------------------------------------------
# Backups
# ------------------------------------------------------------------------------------------
def backup_sqlite(engine: Engine, target: str | Path) -> Path:
    """Consistent copy of a SQLite database with the online backup API (safe while in use)."""
    target = Path(target).expanduser().absolute()
    if sqlite_path(engine.url) is None:
        raise StoreError("Only a SQLite file database can be backed up by imgqa.",
                         hint=pg_dump_hint(engine.url))
    if not target.parent.is_dir():
        raise StoreError(f"The backup folder {target.parent} does not exist.")
    raw = engine.raw_connection()
    try:
        src = raw.driver_connection
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)  # type: ignore[union-attr]
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise StoreError(f"Backup to {target} failed: {exc}.") from exc
    finally:
        raw.close()
    return target


def pg_dump_hint(url: URL) -> str:
    """How to back up (and restore) a PostgreSQL imgqa database."""
    host = url.host or "localhost"
    port = f" -p {url.port}" if url.port else ""
    user = f" -U {url.username}" if url.username else ""
    db = url.database or "imgqa"
    return (f"Back up a PostgreSQL database with pg_dump, e.g.\n"
            f"  pg_dump -h {host}{port}{user} -Fc -f imgqa-$(date +%F).dump {db}\n"
            f"Restore into an empty database with\n"
            f"  pg_restore -h {host}{port}{user} -d {db} imgqa-YYYY-MM-DD.dump\n"
            f"(run `imgqa db init-roles` again after a restore to re-create the grants).")


def is_operational(exc: BaseException) -> bool:
    return isinstance(exc, (OperationalError, DBAPIError))


# ------------------------------------------------------------------------------------------
# Transactions (used by every `imgqa.store.Store` method)
# ------------------------------------------------------------------------------------------
def is_busy(exc: BaseException) -> bool:
    """A transient conflict worth retrying: SQLite busy/locked, PG serialization/deadlock."""
    orig = getattr(exc, "orig", exc)
    name = type(orig).__name__
    text_ = str(orig).lower()
    return ("locked" in text_ or "busy" in text_ or name in
            ("SerializationFailure", "DeadlockDetected", "LockNotAvailable"))


@contextmanager
def read_session(engine: Engine, url: URL) -> Iterator[Session]:
    """A short read session; database errors become a `StoreError` with a hint."""
    try:
        with Session(engine, expire_on_commit=False) as s:
            yield s
    except ImgqaError:
        raise
    except DBAPIError as exc:
        raise translate_error(exc, url) from exc


def write_transaction(engine: Engine, fn: Callable[[Session], T],
                      after_commit: Callable[[Session], None] | None = None) -> T:
    """Run ``fn`` in one write transaction, retrying while another writer holds the lock.

    The transaction takes the write lock first (SQLite ``BEGIN IMMEDIATE`` through the `WRITE`
    option, a PostgreSQL advisory lock), so the audit chain stays linear. ``after_commit`` runs
    with the session once the transaction is committed (the anchor file is written then).
    """
    delay = 0.05
    started = time.monotonic()
    for attempt in range(WRITE_RETRIES + 1):
        try:
            with engine.connect().execution_options(**WRITE) as conn:
                with Session(bind=conn, expire_on_commit=False) as s:
                    with s.begin():
                        if engine.dialect.name == "postgresql":
                            s.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                      {"k": PG_WRITE_LOCK})
                        out = fn(s)
                    if after_commit is not None:
                        after_commit(s)  # committed: the head is real now
                    return out
        except ImgqaError:
            raise
        except IntegrityError as exc:
            raise StoreError(f"The database refused the change: {exc.orig}") from exc
        except DBAPIError as exc:
            # SQLite already waited up to its busy timeout inside the call; retry only
            # quick refusals (e.g. a snapshot that cannot be upgraded) within that time.
            if is_busy(exc) and attempt < WRITE_RETRIES and \
                    time.monotonic() - started < SQLITE_BUSY_TIMEOUT_S:
                log.info("database busy, retrying (%d)", attempt + 1)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            raise translate_error(exc, engine.url) from exc
    raise StoreError("The results database stayed busy.")  # pragma: no cover
