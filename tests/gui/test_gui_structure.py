"""Issue 9: the GUI's structure stays easy to see.

- Only the application entry point imports the main window: the inbox (and every other GUI
  module) is handed what it needs, so there is no import circle through `main_window`.
- No GUI module gets past ~600 lines without saying why at the top of its docstring.
- Store results cross into the GUI as the store's record types: no attribute guessing helper.
"""

from __future__ import annotations

import ast
from pathlib import Path

import imgqa.gui

GUI = Path(imgqa.gui.__file__).resolve().parent
MAX_LINES = 600


def _imports(path: Path) -> set[str]:
    """Every module `path` imports, at top level, in functions or under TYPE_CHECKING."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def test_only_the_app_imports_the_main_window():
    importers = sorted(p.name for p in GUI.glob("*.py")
                       if p.name != "main_window.py"
                       and "imgqa.gui.main_window" in _imports(p))
    assert importers == ["app.py"]


def test_the_window_adds_the_inbox_and_the_inbox_does_not_know_the_window():
    assert "imgqa.gui.inbox" in _imports(GUI / "main_window.py")
    assert not any(m.startswith("imgqa.gui.main_window") for m in _imports(GUI / "inbox.py"))


def test_gui_modules_are_small_or_say_why_not():
    long = []
    for p in sorted(GUI.glob("*.py")):
        n = len(p.read_text(encoding="utf-8").splitlines())
        doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or ""
        if n > MAX_LINES and "kept as one module because" not in doc.lower():
            long.append(f"{p.name}: {n} lines")
    assert not long, long


def test_no_attribute_guessing_on_store_results():
    # `attr(obj, *names)` tried several names on whatever the store returned; the GUI now reads
    # the fields of imgqa.store.records types, which mypy can check.
    import imgqa.gui.store_bridge as bridge

    assert not hasattr(bridge, "attr")
    users = [p.name for p in GUI.glob("*.py")
             if "imgqa.gui.store_bridge.attr" in _imports(p)]
    assert users == []
