"""Issue 9: the import contracts of pyproject.toml (docs/architecture.md, "Layers") hold, and
breaking one fails the test suite (`make test`, which CI runs).

`lint-imports` (import-linter) runs in a fresh interpreter on this source tree; the second group
of tests copies the package to a temporary folder, adds one module that breaks a rule and checks
that the run fails naming the broken contract and the offending import.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import imgqa

SRC = Path(imgqa.__file__).resolve().parents[1]   # <checkout>/src
ROOT = SRC.parent
# import-linter's own entry point, run with the config file given and no cache.
LINT = ("import sys\nfrom importlinter.cli import lint_imports\n"
        "sys.exit(lint_imports(config_filename=sys.argv[1], no_cache=True, no_logo=True))")

LAYERS = "Layers of docs/architecture.md"
QT = "Only imgqa.gui may touch Qt"
SQL = "SQLAlchemy only in imgqa.store"


def _lint(root: Path, src: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(src))   # this tree's imgqa, not an installed one
    return subprocess.run([sys.executable, "-c", LINT, str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_import_contracts_are_kept():
    proc = _lint(ROOT, SRC)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    for name in (LAYERS, QT, SQL):
        assert f"{name} KEPT" in out, out
    assert " 0 broken" in out


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory) -> Path:
    """A copy of pyproject.toml and src/imgqa (without caches) in a temporary folder."""
    root = tmp_path_factory.mktemp("contracts")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(SRC / "imgqa", root / "src" / "imgqa",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


@pytest.mark.parametrize(("module", "code", "broken", "import_line"), [
    # A kernel drawing with Qt: the layer order and the Qt rule both break.
    ("analysis/_bad.py", "import imgqa.gui\n", (LAYERS, QT), "imgqa.analysis._bad -> imgqa.gui"),
    # A report querying the database itself instead of through the store.
    ("report/_bad.py", "import sqlalchemy\n", (SQL,), "imgqa.report._bad -> sqlalchemy"),
    # The version read from the package root: the root's lazy API reaches up to imgqa.api.
    ("protocols/_bad.py", "from imgqa import __version__\n", (LAYERS,),
     "imgqa.protocols._bad -> imgqa"),
    # A new top-level package nobody placed in the layers (the contract is exhaustive).
    ("_unplaced.py", "", (LAYERS,), "- imgqa._unplaced"),
])
def test_a_broken_rule_fails_the_check(package_copy, module, code, broken, import_line):
    bad = package_copy / "src" / "imgqa" / module
    bad.write_text(code)
    try:
        proc = _lint(package_copy, package_copy / "src")
    finally:
        bad.unlink()
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    for name in broken:
        assert f"{name} BROKEN" in out, out
    assert import_line in out, out
