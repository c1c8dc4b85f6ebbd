"""The layering rule of docs/architecture.md: only imgqa.gui may import Qt.

Checked in a fresh interpreter so modules imported by other tests do not hide a leak.
"""

from __future__ import annotations

import subprocess
import sys

CHECK = r"""
import importlib, pkgutil, sys
import imgqa
bad = []
def walk(path, prefix):
    # pkgutil.walk_packages would import imgqa.gui to look inside it: walk by hand instead.
    for mod in pkgutil.iter_modules(path, prefix):
        if mod.name == "imgqa.gui" or mod.name.endswith("gui_cmd") or ".migrations" in mod.name:
            continue
        yield mod.name
        if mod.ispkg:
            yield from walk([path[0] + "/" + mod.name.rsplit(".", 1)[-1]], mod.name + ".")

for name in walk(imgqa.__path__, "imgqa."):
    importlib.import_module(name)
    leaked = [m for m in ("PySide6", "pyqtgraph") if m in sys.modules]
    if leaked:
        bad.append((name, leaked))
        break
print(bad)
sys.exit(1 if bad else 0)
"""


def test_no_qt_outside_gui():
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
