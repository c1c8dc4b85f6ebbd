"""The GUI's handle on the results database (`imgqa.store`).

All database calls run on one dedicated worker thread (so a slow network database never
freezes the window, and the store's connections are used by one thread at a time); results
come back as signals. When the store cannot be used (not installed, wrong URL, server down)
the bridge says why, and the window disables saving, review and trends with that reason as
tooltip instead of failing.
"""

from __future__ import annotations

import getpass
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox

from imgqa.gui.workers import Progress, Task, TaskRunner

if TYPE_CHECKING:  # imported when connecting, on the database thread (SQLAlchemy is heavy)
    from imgqa.store import Store

__all__ = ["StoreBridge", "PHYSICIST_ACTIONS"]

T = TypeVar("T")

log = logging.getLogger(__name__)

# What each role may do in the GUI (the store/database enforces it too).
PHYSICIST_ACTIONS = frozenset({"review", "baseline", "tolerance"})
ADMIN_ACTIONS = frozenset({"equipment_admin"})


class StoreBridge(QObject):
    """Owns the `Store` and the database thread."""

    changed = Signal()          # connected / disconnected / role known

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner(max_threads=1, parent=self)
        self.store: Store | None = None
        self.url: str | None = None
        self.user: str = getpass.getuser()
        self.role: str | None = None
        self.reason = "Connecting to the results database…"
        self.connecting = False

    # -- connection -----------------------------------------------------------------------
    @property
    def available(self) -> bool:
        return self.store is not None

    def connect_to(self, url: str | None) -> Task:
        """Open the database at `url` (None: the default) on the database thread."""
        self.url = url
        self.connecting = True
        self.reason = "Connecting to the results database…"
        self.changed.emit()

        def job(_p: Progress) -> tuple[Store, str, str | None]:
            store = open_store_or_explain(url)
            return store, _current_user(store), _current_role(store)

        return self.runner.start(job, name="open database", on_done=self._connected,
                                 on_failed=self._failed)

    def _connected(self, value: tuple[Store, str, str | None]) -> None:
        old = self.store
        self.store, self.user, self.role = value
        self.connecting = False
        self.reason = ""
        if old is not None and old is not self.store:
            self.runner.start(lambda _p: _close(old), name="close database")
        self.changed.emit()

    def _failed(self, message: str, hint: str) -> None:
        self.connecting = False
        self.store = None
        self.reason = f"{message} {hint}".strip()
        self.changed.emit()

    # -- permissions ----------------------------------------------------------------------
    def can(self, action: str) -> bool:
        if not self.available:
            return False
        if action in PHYSICIST_ACTIONS:
            return self.role in (None, "physicist", "admin")
        if action in ADMIN_ACTIONS:
            return self.role in (None, "admin")
        return True

    def why_not(self, action: str) -> str:
        if not self.available:
            return self.reason or "The results database is not available."
        if not self.can(action):
            return f"Your role ({self.role}) may not do this; ask a physicist."
        return ""

    # -- work -----------------------------------------------------------------------------
    def run(self, fn: Callable[[Store], T], *, name: str = "database",
            on_done: Callable[[T], None] | None = None,
            on_failed: Callable[[str, str], None] | None = None,
            on_finished: Callable[[], None] | None = None) -> Task | None:
        """Run ``fn(store)`` on the database thread."""
        if self.store is None:
            if on_failed is not None:
                on_failed(self.reason or "The results database is not available.", "")
            if on_finished is not None:
                on_finished()
            return None
        store = self.store
        return self.runner.start(lambda _p: fn(store), name=name, on_done=on_done,
                                 on_failed=on_failed, on_finished=on_finished)

    def close(self) -> None:
        self.runner.wait(10000)
        if self.store is not None:
            _close(self.store)
            self.store = None


def _current_user(store: Store) -> str:
    try:
        return store.current_user() or getpass.getuser()
    except Exception:  # an optional nicety: never block the connection on it
        log.debug("store.current_user failed", exc_info=True)
        return getpass.getuser()


def _current_role(store: Store) -> str | None:
    try:
        return store.current_role()
    except Exception:  # as above: the database enforces roles anyway
        log.debug("store.current_role failed", exc_info=True)
        return None


def _close(store: Store) -> None:
    try:
        store.close()
    except Exception:  # closing at exit or on reconnect: nothing left to do about it
        log.debug("store.close failed", exc_info=True)


def open_store_or_explain(url: str | None) -> Store:
    """`imgqa.store.open_store(url)`, or an `ImgqaError` saying why it is not possible."""
    from imgqa.errors import StoreError

    try:
        from imgqa.store import open_store
    except ImportError as exc:  # e.g. SQLAlchemy missing from a broken installation
        raise StoreError("The results database module could not be loaded "
                         f"({exc}).", hint="Reinstall imgqa.") from None
    return open_store(url)


def check_connection(url: str | None) -> str:
    """Open and close the database at `url`; return a short description (raises on failure)."""
    store = open_store_or_explain(url)
    try:
        n = len(store.list_equipment(active_only=False))
        user = _current_user(store)
        role = _current_role(store) or "unknown role"
        return f"Connected as {user} ({role}); {n} equipment record(s)."
    finally:
        _close(store)


def find_data(combo: QComboBox, value: object) -> int:
    """Index of the combo item whose data equals `value` (QComboBox.findData does not compare
    Python tuples), or -1."""
    for i in range(combo.count()):
        if combo.itemData(i) == value:
            return i
    return -1
