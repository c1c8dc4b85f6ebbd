"""Work around PySide6 ≥ 6.12 dropping references to ``None``, ``True`` and ``False`` on
CPython 3.11.

Python 3.12 made these singletons immortal (their reference count is never used), and PySide6
6.12.0 relies on that: every void Qt call (``setText``…) returns ``None`` and every
``Signal.emit()`` returns ``True`` without taking a reference. On Python 3.11 each such call
lowers the singleton's reference count by one, and CPython aborts with "none_dealloc" /
"bool_dealloc" once it reaches zero — at exit after a short session, or in the middle of a long
one. Measured here: 200 ``QLineEdit.setText`` calls → ``None`` refcount −200.

`install` probes once for the leak and, only when present on CPython < 3.12, gives the three
singletons a reference count so large that it cannot reach zero — i.e. makes them immortal as
Python 3.12 does. Nothing else changes; on fixed versions or Python ≥ 3.12 it does nothing.
"""

from __future__ import annotations

import ctypes
import platform
import sys

__all__ = ["install", "leaks_singletons"]

_installed = False
# Far more than any session can leak, far from overflowing a 64-bit Py_ssize_t.
_EXTRA_REFS = 1 << 40


def leaks_singletons() -> bool:
    """True when void Qt calls or signal emissions lower the refcount of None/True."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(4):
        probe.setObjectName("probe")
        probe.sig.emit()
    return sys.getrefcount(None) < none_before or sys.getrefcount(True) < true_before


def install() -> bool:
    """Apply the workaround if needed; return True when it is active."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    if not leaks_singletons():
        return False
    for obj in (None, True, False):
        # CPython ≤ 3.11 object layout: ob_refcnt is the first Py_ssize_t of the object.
        refcnt = ctypes.c_ssize_t.from_address(id(obj))
        refcnt.value += _EXTRA_REFS
    _installed = True
    return True
