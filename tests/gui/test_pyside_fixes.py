"""The PySide6 6.12 / Python 3.11 singleton-refcount workaround keeps None and True alive."""

from __future__ import annotations

import sys

import imgqa.gui  # noqa: F401  (installs the workaround)
from imgqa.gui._pyside_fixes import install


def test_many_void_calls_and_emits_cannot_free_none_or_true(qtbot):
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLineEdit

    class S(QObject):
        sig = Signal(object)

    install()
    edit, s = QLineEdit(), S()
    qtbot.addWidget(edit)
    s.sig.connect(lambda _x: None)
    for _ in range(5000):
        edit.setText("x")
        s.sig.emit(1)
    # Either the binding does not leak, or the singletons were made effectively immortal.
    assert sys.getrefcount(None) > 100000 or sys.version_info >= (3, 12) or \
        sys.getrefcount(None) > 5000
    assert sys.getrefcount(True) > 1000 or sys.version_info >= (3, 12)
