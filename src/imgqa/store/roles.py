"""Users and roles: technologist < physicist < admin.

* technologist: save sessions, comment, record service events.
* physicist: also set baselines and tolerances, review (approve/reject), assign protocols.
* admin: also manage equipment, sites and users.

On PostgreSQL the server enforces this: `init_roles_sql` creates the group roles
``imgqa_technologist``, ``imgqa_physicist`` (member of technologist) and ``imgqa_admin``
(member of physicist) and grants each only what it may do, table by table (and column by
column for the protocol schedule). A technologist's login therefore cannot change a tolerance
even with psql, nor write to the audit log except through ``imgqa_audit_append`` (revision
0003), which records entries under the caller's own login only. Insert-only tables also have
triggers refusing UPDATE/DELETE for everyone.

`init_roles_sql` needs the database owner (or a superuser) with CREATEROLE: `missing_privilege`
says in one line what is missing before anything runs. `init_roles_for`, `check_init_roles_rights`
and `apply_init_roles` do the same on a live engine (``imgqa db init-roles``), so the SQL stays in
the store and the CLI never imports SQLAlchemy.

On a local SQLite file the OS user is the identity and the roles live in the ``app_user``
table; with no users registered, the local user is admin (a single-user workstation). Anyone
who can write the file can bypass this: use PostgreSQL where the roles must hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from imgqa.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["AUDIT_APPEND_FN", "PG_ROLE_PREFIX", "RANK", "ROLES", "apply_init_roles",
           "check_init_roles_rights", "init_roles_for", "init_roles_sql", "missing_privilege",
           "pg_role", "role_at_least"]

ROLES = ("technologist", "physicist", "admin")
RANK = {r: i for i, r in enumerate(ROLES)}
PG_ROLE_PREFIX = "imgqa_"

# What each role may do, table by table (each role also inherits the one below).
# No role may INSERT into audit_log: entries go through the owner's SECURITY DEFINER function
# imgqa_audit_append (revision 0003), which checks the actor, the role and the chain order.
_TECH_INSERT = ("qc_session", "analysis", "input_image", "result", "comment", "service_event",
                "session_file")
AUDIT_APPEND_FN = ("imgqa_audit_append(timestamptz, text, text, text, integer, text, text, "
                   "text)")
_PHYS_INSERT = ("baseline", "tolerance", "review", "protocol_assignment", "routing_rule")
_PHYS_UPDATE = ("protocol_assignment",)
_ADMIN_INSERT = ("equipment", "site", "app_user")
_ADMIN_UPDATE = ("equipment", "site", "app_user")


def pg_role(role: str, prefix: str = PG_ROLE_PREFIX) -> str:
    if role not in ROLES:
        raise StoreError(f"Unknown role {role!r}.", hint=f"Roles are {', '.join(ROLES)}.")
    return f"{prefix}{role}"


def role_at_least(role: str, needed: str) -> bool:
    return RANK.get(role, -1) >= RANK[needed]


def _ident(name: str) -> str:
    if not name.replace("_", "a").isalnum():
        raise StoreError(f"Unsafe database identifier {name!r}.")
    return '"' + name + '"'


def init_roles_sql(database: str, schema: str = "public", prefix: str = PG_ROLE_PREFIX,
                   tables: Sequence[str] = ()) -> list[str]:
    """SQL statements (idempotent) creating the group roles and their grants.

    Run by the database owner after ``imgqa db upgrade`` (and again after each upgrade that
    adds tables). Logins are then made members, e.g. ``GRANT imgqa_physicist TO alice``.
    """
    tech, phys, admin = (_ident(pg_role(r, prefix)) for r in ROLES)
    sch = _ident(schema)
    sql: list[str] = []
    for r in ROLES:
        name = pg_role(r, prefix)
        sql.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') "
            f"THEN CREATE ROLE {_ident(name)} NOLOGIN; END IF; END $$")
    sql += [f"GRANT {tech} TO {phys}", f"GRANT {phys} TO {admin}",
            f"GRANT CONNECT ON DATABASE {_ident(database)} TO {tech}",
            f"GRANT USAGE ON SCHEMA {sch} TO {tech}",
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM PUBLIC",
            (f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA {sch} "
             f"FROM {tech}, {phys}, {admin}"),
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {sch} TO {tech}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {tech}"]
    known = set(tables)

    def grant(priv: str, names: Sequence[str], role: str) -> None:
        for t in names:
            if not known or t in known:
                sql.append(f"GRANT {priv} ON {sch}.{_ident(t)} TO {role}")

    grant("INSERT", _TECH_INSERT, tech)
    # A saved session moves the protocol's next due date: that column only.
    grant("UPDATE (next_due)", ("protocol_assignment",), tech)
    fn = f"{sch}.{AUDIT_APPEND_FN}"
    sql.append(  # the function exists from revision 0003 on
        f"DO $$ BEGIN IF to_regprocedure('{fn}') IS NOT NULL THEN "
        f"REVOKE ALL ON FUNCTION {fn} FROM PUBLIC; "
        f"GRANT EXECUTE ON FUNCTION {fn} TO {tech}; END IF; END $$")
    grant("INSERT", _PHYS_INSERT, phys)
    grant("UPDATE", _PHYS_UPDATE, phys)
    grant("INSERT", _ADMIN_INSERT, admin)
    grant("UPDATE", _ADMIN_UPDATE, admin)
    return sql


def missing_privilege(user: str, is_super: bool, can_create_role: bool, owner: str | None,
                      owns_tables: bool) -> str | None:
    """Why ``user`` cannot run `init_roles_sql`, in one line; None when it can.

    Parameters
    ----------
    user : str
        The login running init-roles.
    is_super, can_create_role : bool
        Its ``rolsuper`` and ``rolcreaterole`` (PostgreSQL: creating roles and granting
        membership in them needs CREATEROLE).
    owner : str or None
        The owner of the imgqa tables (None: no tables yet).
    owns_tables : bool
        Whether ``user`` is (a member of) that owner: only the owner may grant on them.
    """
    if is_super:
        return None
    if owner is None:
        return ("The database has no imgqa tables yet: run `imgqa db upgrade` as the database "
                "owner first, then init-roles.")
    if not owns_tables:
        return (f"'{user}' does not own the imgqa tables (their owner is '{owner}'): run "
                f"init-roles as '{owner}' or as a superuser.")
    if not can_create_role:
        return (f"The database owner '{user}' lacks CREATEROLE: run `ALTER ROLE {user} "
                f"CREATEROLE` as a superuser, or run init-roles as a superuser.")
    return None


def init_roles_for(engine: Engine, schema: str = "public") -> list[str]:
    """`init_roles_sql` for the database ``engine`` points at, granting on its existing tables.

    Parameters
    ----------
    engine : sqlalchemy.engine.Engine
        A PostgreSQL engine (the caller checks the dialect).
    schema : str
        The schema holding the imgqa tables.

    Returns
    -------
    list of str
        The statements, in order; nothing is executed.
    """
    from sqlalchemy import inspect

    tables = inspect(engine).get_table_names(schema=schema)
    return init_roles_sql(engine.url.database or "", schema, tables=tables)


def check_init_roles_rights(engine: Engine, schema: str = "public") -> None:
    """Raise a one-line `StoreError` when the current login may not run `init_roles_sql`.

    Reads the login's ``rolsuper``/``rolcreaterole`` and the owner of the imgqa tables
    (``audit_log``) from the PostgreSQL catalogue; `missing_privilege` words the answer.
    Done before any statement runs, so a technologist sees what is missing instead of a
    psycopg traceback.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        user, sup, createrole = conn.execute(text(
            "SELECT rolname, rolsuper, rolcreaterole FROM pg_roles "
            "WHERE rolname = current_user")).one()
        owner = conn.execute(text(
            "SELECT tableowner FROM pg_tables WHERE schemaname = :s AND tablename = 'audit_log'"),
            {"s": schema}).scalar_one_or_none()
        owns = bool(owner) and bool(conn.execute(
            text("SELECT pg_has_role(current_user, :o, 'MEMBER')"), {"o": owner}).scalar_one())
    why = missing_privilege(user, bool(sup), bool(createrole), owner, owns)
    if why:
        raise StoreError(why)


def apply_init_roles(engine: Engine, statements: Sequence[str]) -> None:
    """Run the statements of `init_roles_sql` in one transaction: all of them or none.

    Raises
    ------
    StoreError
        A statement the server refused (what `check_init_roles_rights` could not foresee);
        nothing was changed.
    """
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with engine.begin() as conn:
        for stmt in statements:
            try:
                conn.execute(text(stmt))
            except DBAPIError as exc:
                first = str(exc.orig).strip().splitlines()[0]
                raise StoreError(f"init-roles stopped, nothing was changed: {first}.",
                                 hint="Run it as the database owner with CREATEROLE, or "
                                      "as a superuser (docs/store.md).") from exc
