"""docs/safety.md (hazard log) and docs/security.md name the tests that verify each control:
every named test must exist, and every hazard must name at least one."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
QUALIFIED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)")
BARE = re.compile(r"`(test_\w+)`")


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.name for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test_")}


def _all_tests() -> set[str]:
    return set().union(*(_test_functions(p) for p in (ROOT / "tests").rglob("test_*.py")))


@pytest.mark.parametrize("doc", ["safety.md", "security.md"])
def test_every_named_test_exists(doc):
    text = (ROOT / "docs" / doc).read_text()
    qualified = QUALIFIED.findall(text)
    assert qualified, f"{doc} names no test"
    for file, name in qualified:
        assert (ROOT / file).is_file(), f"{doc}: {file} does not exist"
        assert name in _test_functions(ROOT / file), f"{doc}: {file}::{name} does not exist"
    known = _all_tests()
    for name in BARE.findall(text):
        assert name in known, f"{doc}: no test is called {name}"


def test_every_hazard_names_a_verifying_test():
    text = (ROOT / "docs" / "safety.md").read_text()
    hazards = re.split(r"^## (?=H\d+)", text, flags=re.M)[1:]
    assert len(hazards) >= 10
    for h in hazards:
        title = h.splitlines()[0]
        assert "**Verification**" in h and QUALIFIED.search(h), f"{title}: no verifying test"
        assert "**Controls**" in h and "**Residual risk**" in h, title
