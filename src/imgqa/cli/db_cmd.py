"""``imgqa db``: the results database — upgrade, verify, backup, roles, users, audit log.

Also home of `open_from_args`, which every store subcommand uses to open the database named by
the global ``--db URL`` option (or ``$IMGQA_DB``, or the default SQLite file).
"""

from __future__ import annotations

import argparse
import sys

from imgqa.cli._common import print_json, table
from imgqa.errors import StoreError


def open_from_args(args: argparse.Namespace, *, upgrade: bool = True):  # -> Store
    from imgqa.store import open_store

    return open_store(getattr(args, "db", None), upgrade=upgrade)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("db", help="results database: upgrade, verify, backup, roles")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    s = dsub.add_parser("info", help="where the database is, its version, your login and role")
    s.set_defaults(func=run_info)
    s = dsub.add_parser("upgrade", help="create or upgrade the schema (backs up a SQLite file)")
    s.set_defaults(func=run_upgrade)
    s = dsub.add_parser("verify", help="check the audit chain, stored results and anchors")
    s.add_argument("--anchor", action="append", default=[], metavar="HEAD",
                   help="a chain head recorded earlier (ID:HASH as printed by verify and on "
                        "PDF reports); the log must still hold it (repeatable)")
    s.add_argument("--anchor-file", metavar="FILE",
                   help="a file of recorded heads (as written to $IMGQA_AUDIT_ANCHOR_FILE)")
    s.add_argument("--archive", metavar="DIR", default=None,
                   help="image archive folder on this workstation: also check every "
                        "session's archived files (present, same SHA-256); default "
                        "$IMGQA_ARCHIVE or the GUI setting")
    s.add_argument("--format", choices=("table", "json"), default="table")
    s.set_defaults(func=run_verify)
    s = dsub.add_parser("backup", help="copy a SQLite database safely (PostgreSQL: pg_dump)")
    s.add_argument("file", metavar="FILE")
    s.set_defaults(func=run_backup)
    s = dsub.add_parser("init-roles", help="PostgreSQL: create roles technologist/physicist/"
                                           "admin with their grants (run as the owner)")
    s.add_argument("--schema", default="public")
    s.add_argument("--print", dest="print_only", action="store_true",
                   help="only print the SQL")
    s.set_defaults(func=run_init_roles)
    s = dsub.add_parser("user", help="give a user (OS user on SQLite, login on PostgreSQL) "
                                     "a role")
    s.add_argument("username")
    s.add_argument("role", choices=("technologist", "physicist", "admin"))
    s.set_defaults(func=run_user)
    s = dsub.add_parser("users", help="list users and roles")
    s.set_defaults(func=run_users)
    s = dsub.add_parser("audit", help="show the newest audit log entries")
    s.add_argument("--limit", type=int, default=50)
    s.set_defaults(func=run_audit)


def run_info(args: argparse.Namespace) -> int:
    from imgqa.store import db

    store = open_from_args(args, upgrade=False) if _exists(args) else open_from_args(args)
    with store:
        print(f"database: {store.location} ({store.dialect})")
        print(f"schema:   {db.current_revision(store.engine)} (this imgqa: {db.head_revision()})")
        print(f"user:     {store.current_user()} ({store.current_role()})")
    return 0


def _exists(args: argparse.Namespace) -> bool:
    from imgqa.store import db

    u, _ = db.resolve_url(getattr(args, "db", None))
    p = db.sqlite_path(u)
    return p is None or p.exists()


def run_upgrade(args: argparse.Namespace) -> int:
    from imgqa.store import db

    u, is_default = db.resolve_url(getattr(args, "db", None))
    db.check_sqlite_path(u, create_dir=is_default)
    engine = db.make_engine(u)
    try:
        before = db.current_revision(engine)
        made = db.upgrade(engine)
        after = db.current_revision(engine)
    except StoreError:
        raise
    except Exception as exc:
        raise db.translate_error(exc, u) from exc
    finally:
        engine.dispose()
    if before == after:
        print(f"The database is up to date (schema {after}).")
    else:
        print(f"Upgraded the database from {before or 'empty'} to {after}.")
    if made:
        print(f"Backup of the previous version: {made}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    from imgqa.cli.archive_check import check_archive

    with open_from_args(args) as store:
        report = store.audit_report(args.anchor, args.anchor_file)
        files = check_archive(store, getattr(args, "archive", None))
    head = (f"{report.entries} entries, newest entry {report.head_id}; anchor "
            f"{report.anchor}" if report.anchor else "the audit log is empty")
    if getattr(args, "format", "table") == "json":
        print_json({"ok": report.ok and not files.problems, "audit_ok": report.ok,
                    "audit_problems": report.problems, "notes": report.notes + files.notes,
                    "entries": report.entries, "head_id": report.head_id,
                    "anchor": report.anchor, "archive": files.as_dict()})
        return 0 if report.ok and not files.problems else 1
    if report.ok:
        print("Audit log intact: every entry is chained, every stored session, baseline, "
              "tolerance, review, comment and service event matches its entry, and every "
              "logged one is still there.")
        print(f"Chain head: {head}")
        for n in report.notes:
            print(f"Note: {n}")
    else:
        print(f"The audit check found {len(report.problems)} problem(s):", file=sys.stderr)
        for p in report.problems:
            print(f"  - {p}", file=sys.stderr)
        for n in report.notes:
            print(f"Note: {n}", file=sys.stderr)
        print(f"Chain head now: {head}", file=sys.stderr)
    files.print_text()
    return 0 if report.ok and not files.problems else 1


def run_backup(args: argparse.Namespace) -> int:
    from imgqa.store import db

    with open_from_args(args) as store:
        if store.dialect != "sqlite":
            print(db.pg_dump_hint(store.url))
            return 0
        out = db.backup_sqlite(store.engine, args.file)
    print(f"Backed up {store.location} to {out}")
    return 0


def run_init_roles(args: argparse.Namespace) -> int:
    from imgqa.store import roles

    with open_from_args(args) as store:
        if store.dialect != "postgresql":
            raise StoreError("Database roles exist only on PostgreSQL.",
                             hint="On a local SQLite file use `imgqa db user NAME ROLE`.")
        sql = roles.init_roles_for(store.engine, args.schema)
        if args.print_only:
            print(";\n".join(sql) + ";")
            return 0
        roles.check_init_roles_rights(store.engine, args.schema)
        roles.apply_init_roles(store.engine, sql)
    print("Created roles imgqa_technologist, imgqa_physicist, imgqa_admin and their grants.\n"
          "Give logins a role with e.g. `imgqa --db URL db user alice physicist` or in psql:\n"
          "  CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE imgqa_physicist;")
    return 0


def run_user(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        store.set_user_role(args.username, args.role)
    print(f"{args.username} is now {args.role}.")
    return 0


def run_users(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        users = store.users()
        if not users:
            print(f"No users registered: {store.current_user()} works as "
                  f"{store.current_role()}.")
            return 0
        print(table(sorted(users.items()), ["User", "Role"]))
    return 0


def run_audit(args: argparse.Namespace) -> int:
    with open_from_args(args) as store:
        rows = store.audit_log(args.limit)
    print(table([[e.id, e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.entity,
                  e.entity_id if e.entity_id is not None else ""] for e in rows],
                ["#", "When (UTC)", "Who", "Action", "What", "Id"]))
    return 0


__all__ = ["open_from_args", "print_json", "register"]
