"""`Store`: the results database as the GUI and the CLI use it — a thin façade.

Every method opens its own short transaction and returns frozen records (`imgqa.store.records`),
so a `Store` can be shared between threads. Writes:

* run in one transaction each (a session and all its results are saved, or nothing is);
* take the write lock first (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so the
  audit chain stays linear, and are retried when another writer holds the database
  (`imgqa.store.db.write_transaction`);
* check the user's role (the app hides what a role may not do; PostgreSQL enforces it again);
* append a hash-chained audit entry (`imgqa.store.audit`; signed with the department key when
  one is set) and, once committed, write the new chain head to ``$IMGQA_AUDIT_ANCHOR_FILE``
  when that is set (`imgqa.store.anchor`).

`Store.audit_report` / ``imgqa db verify`` run the full check of `imgqa.store.integrity`.

The methods live in one module per concern:

==========================  ======================================================
`imgqa.store.core`          engine, transactions, audit append (`StoreCore`)
`imgqa.store.users`         current user and role, role checks, user management
`imgqa.store.equipment`     equipment register, matching, protocol schedule
`imgqa.store.rules`         routing rules (versioned, audited)
`imgqa.store.schedules`     schedules with a reason, the due list
`imgqa.store.limits`        baselines and tolerances in force, history, new versions
`imgqa.store.sessions`      judging, saving and reading sessions and results
`imgqa.store.reviews`       reviews and comments
`imgqa.store.service`       service events
`imgqa.store.trend_queries` trends (bands, baselines, events, SPC) per measurement
`imgqa.store.audit_queries` audit log, chain head, ``db verify``
==========================  ======================================================
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from imgqa.errors import ImgqaError, StoreError
from imgqa.store import db
from imgqa.store.audit_queries import AuditMixin
from imgqa.store.reviews import ReviewsMixin
from imgqa.store.rules import RulesMixin
from imgqa.store.schedules import SchedulesMixin
from imgqa.store.sessions import SessionsMixin
from imgqa.store.trend_queries import TrendsMixin

__all__ = ["Store", "open_store"]


class Store(SessionsMixin, ReviewsMixin, TrendsMixin, AuditMixin, SchedulesMixin,
            RulesMixin):
    """The results database. Make one with `open_store`.

    Built from mixins, one per concern (module list above), rather than from composed helper
    objects: the public API stays exactly the methods callers have always used, with no
    forwarding layer to keep in step, and every concern shares one engine, one cached user
    and role and one audit key through `StoreCore`. A concern that needs another inherits it
    (limits need the equipment, sessions the limits), so mypy checks every cross-concern call;
    the SQL helpers concerns share (`limits.current_rows`, `limits.in_force`,
    `service.events_of`, `equipment.advance_schedule`) are plain functions of a session.
    """

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and create or upgrade) the results database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL or SQLite file path; default ``$IMGQA_DB``, else ``imgqa.sqlite3`` in
        ``$IMGQA_DATA_DIR`` or the platform user data directory.
    upgrade : bool
        Bring the schema to the newest version (a SQLite file is backed up first). With
        False, an out-of-date database raises `StoreError`.

    Raises
    ------
    StoreError
        Missing folder, read-only or unreachable database, or a schema from a newer imgqa.
    """
    u, is_default = db.resolve_url(url)
    db.check_sqlite_path(u, create_dir=is_default)
    path = db.sqlite_path(u)
    if path is not None and not path.exists() and "mode=ro" in str(u):
        raise StoreError(f"The results database {path} does not exist.")
    engine = db.make_engine(u)
    try:
        rev = db.current_revision(engine)
        if not db.is_current(rev):  # (an up-to-date database is told without Alembic)
            if not upgrade:
                raise StoreError(f"The results database {path or u.database} needs "
                                 f"upgrading (schema {rev or 'empty'}, this imgqa "
                                 f"{db.head_revision()}).", hint="Run `imgqa db upgrade`.")
            db.upgrade(engine)
    except ImgqaError:
        engine.dispose()
        raise
    except (DBAPIError, OperationalError) as exc:
        engine.dispose()
        raise db.translate_error(exc, u) from exc
    return Store(engine, is_default=is_default)
