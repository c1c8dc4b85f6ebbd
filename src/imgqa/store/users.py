"""Users and roles: who is working, what role they hold, and the permission checks every
write makes (`UsersMixin`).

On a SQLite file the OS user is the user and the ``app_user`` table holds the roles (no row
at all: a single-user workstation, everyone is admin). On PostgreSQL the database login is
the user and membership of the ``imgqa_<role>`` group roles (`imgqa.store.roles`) is the role;
the server enforces it again through its grants.
"""

from __future__ import annotations

import getpass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from imgqa.errors import StoreError, StorePermissionError
from imgqa.store import models as m
from imgqa.store.core import StoreCore, now
from imgqa.store.roles import PG_ROLE_PREFIX, RANK, ROLES, pg_role, role_at_least

__all__ = ["UsersMixin"]

_A_ROLE = {"technologist": "a technologist", "physicist": "a physicist", "admin": "an admin"}


class UsersMixin(StoreCore):
    """Current user and role, role checks, and user management (admin)."""

    def current_user(self) -> str:
        """Who is working: the OS user on SQLite, the database login on PostgreSQL."""
        if self._user is None:
            if self.dialect == "postgresql":
                with self._read() as s:
                    self._user = str(s.execute(text("SELECT current_user")).scalar_one())
            else:
                try:
                    self._user = getpass.getuser()
                except Exception:  # no user name in the environment (some services)
                    self._user = "unknown"
        return self._user

    def current_role(self, *, refresh: bool = False) -> str:
        """``"technologist"``, ``"physicist"`` or ``"admin"`` for the current user."""
        if self._role is None or refresh:
            self._role = self._lookup_role()
        return self._role

    def _lookup_role(self) -> str:
        user = self.current_user()
        with self._read() as s:
            if self.dialect == "postgresql":
                sup = s.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                                ).scalar_one_or_none()
                owner = s.execute(text(
                    "SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'result' "
                    "AND schemaname = current_schema()")).scalar_one_or_none()
                if sup or owner:
                    return "admin"
                names = [pg_role(r) for r in ROLES]
                held = set(s.execute(text(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(:n) "
                    "AND pg_has_role(current_user, oid, 'MEMBER')"), {"n": names}).scalars())
                for r in reversed(ROLES):
                    if pg_role(r) in held:
                        return r
                return "technologist"
            users = {u: r for u, r in s.execute(select(m.AppUserRow.username,
                                                       m.AppUserRow.role)).all()}
            if not users:
                return "admin"  # a single-user workstation
            return users.get(user, "technologist")

    def _require(self, needed: str, what: str) -> None:
        role = self.current_role()
        if not role_at_least(role, needed):
            raise StorePermissionError(
                f"{self.current_user()} ({role}) may not {what}; this needs {_A_ROLE[needed]}.")

    def _identity(self, who: str | None) -> str:
        """The name to record; on PostgreSQL it must be the login itself."""
        me = self.current_user()
        if not who:
            return me
        if self.dialect == "postgresql" and who != me:
            raise StorePermissionError(
                f"On a shared database changes are recorded under your login ({me}), "
                f"not {who!r}.", hint="Log in as that user instead.")
        return who

    def set_user_role(self, username: str, role: str) -> None:
        """Give a user a role (admin only). PostgreSQL: grant the group role to the login."""
        if role not in ROLES:
            raise StoreError(f"Unknown role {role!r}.", hint=f"Roles are {', '.join(ROLES)}.")
        self._require("admin", "manage users")
        me = self.current_user()

        def work(s: Session) -> None:
            if self.dialect == "postgresql":
                if not username.replace("_", "a").replace(".", "a").isalnum():
                    raise StoreError(f"Unsafe login name {username!r}.")
                for r in ROLES:
                    s.execute(text(f'REVOKE "{pg_role(r)}" FROM "{username}"'))
                s.execute(text(f'GRANT "{pg_role(role)}" TO "{username}"'))
            else:
                row = s.get(m.AppUserRow, username)
                if row is None:
                    s.add(m.AppUserRow(username=username, role=role, added_by=me,
                                       added_at=now()))
                else:
                    row.role = role
            self._append(s, at=now(), actor=me, action="set_role", entity="user",
                         entity_id=None, details={"username": username, "role": role})

        self._write(work)
        self._role = None

    def users(self) -> dict[str, str]:
        """Known users and their roles."""
        with self._read() as s:
            if self.dialect == "postgresql":
                rows = s.execute(text(
                    "SELECT m.rolname, g.rolname FROM pg_auth_members am "
                    "JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
                    "WHERE g.rolname LIKE :p AND m.rolcanlogin"), {"p": PG_ROLE_PREFIX + "%"})
                out: dict[str, str] = {}
                for login, group in rows:
                    r = group[len(PG_ROLE_PREFIX):]
                    if r in RANK and RANK[r] >= RANK.get(out.get(login, ""), -1):
                        out[login] = r
                return out
            return {u: r for u, r in s.execute(select(m.AppUserRow.username,
                                                      m.AppUserRow.role)).all()}
