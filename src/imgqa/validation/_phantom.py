"""Small helpers for the validation phantom makers (writing, the demo set)."""

from __future__ import annotations

from pathlib import Path

from imgqa.phantoms import demo_sets


def demo(name: str, root: Path) -> Path:
    """Write demo phantom `name` (`imgqa.phantoms.demo_sets`) under `root`; return its folder."""
    return demo_sets()[name](root)

