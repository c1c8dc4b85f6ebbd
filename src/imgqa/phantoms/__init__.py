"""Digital phantoms with analytic ground truth, written as DICOM.

One module per modality (`nm`, `xray`, `ct`, `mr`) holds pure generators (numpy images plus
the known answer) and a ``demo_sets()`` function returning ``{name: maker}``, where
``maker(out_dir) -> Path`` writes one small demo series and its ``ground_truth.json`` into
``out_dir/name``. `make_demo` writes them all; ``imgqa phantoms make DIR`` and ``make phantoms``
call it, and the demo set in the top-level ``phantoms/`` folder is what it writes.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path

from imgqa.phantoms.writer import read_ground_truth, write_ground_truth, write_series

__all__ = ["demo_sets", "make_demo", "write_series", "write_ground_truth", "read_ground_truth"]

_SKIP = {"writer"}


def demo_sets() -> dict[str, Callable[[Path], Path]]:
    """Every demo phantom maker of every modality module, by name."""
    out: dict[str, Callable[[Path], Path]] = {}
    for mod in pkgutil.iter_modules(__path__):
        if mod.name.startswith("_") or mod.name in _SKIP:
            continue
        module = importlib.import_module(f"{__name__}.{mod.name}")
        maker = getattr(module, "demo_sets", None)
        if maker is not None:
            out.update(maker())
    return dict(sorted(out.items()))


def make_demo(out_dir: str | Path, names: list[str] | None = None) -> list[Path]:
    """Write the demo phantoms (all, or the named ones) under `out_dir`; return their folders."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sets = demo_sets()
    unknown = sorted(set(names or ()) - set(sets))
    if unknown:
        from imgqa.errors import ParameterError

        raise ParameterError(f"No demo phantom called {', '.join(unknown)}.",
                             hint="Known: " + ", ".join(sets))
    return [sets[name](out) for name in (names or list(sets))]
