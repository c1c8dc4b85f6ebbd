"""Warm ``imgqa serve`` up at start: import what the first series will need, before it comes.

Protocol kernels are imported on first use (`imgqa.protocols._lazy`, so that quick commands
start fast). For a service that is the wrong trade: the first series after a start waited for
SciPy, scikit-image and the kernel modules (≈1.5–3 s on the development machine, more than
the analysis itself). `warm_up` imports, in a background thread right after the service
starts, the loading and saving code and the kernels of the protocols the routing rules name.
Nothing is computed and nothing changes if an import fails (the series then imports it
itself, and reports the error in its own words).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Iterable

__all__ = ["warm_up", "warm_up_in_background"]

log = logging.getLogger(__name__)

# What every series needs whatever its test: loading, analysis dispatch, judging and saving.
_COMMON = ("imgqa.api", "imgqa.store.duplicates", "imgqa.service.routing",
           "pydicom.pixels", "scipy.ndimage")


def _kernel_modules(protocol: str) -> set[str]:
    """The modules a protocol's lazy stand-ins would import (`imgqa.protocols._lazy`)."""
    from imgqa.protocols import get_protocol
    from imgqa.protocols._lazy import _LazyFunction, _LazyModule

    fn = get_protocol(protocol).function
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    names: set[str] = set()
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, _LazyModule):
            names.add(value._name)
        elif isinstance(value, _LazyFunction):
            names.add(value._module)
    return names


def warm_up(protocols: Iterable[str]) -> float:
    """Import the common modules and the kernels of `protocols`; returns the seconds spent.

    Never raises: a protocol that is unknown or a module that fails to import is logged and
    skipped.
    """
    t0 = time.perf_counter()
    wanted: list[str] = list(_COMMON)
    for name in sorted(set(protocols)):
        try:
            wanted += sorted(_kernel_modules(name))
        except Exception as exc:  # an unknown protocol in an old rule: its series will say
            log.debug("warm-up: %s: %s", name, exc)
    for module in wanted:
        try:
            importlib.import_module(module)
        except Exception as exc:
            log.debug("warm-up: cannot import %s: %s", module, exc)
    from imgqa import _lean_imports

    try:   # a compressed first series should not wait for the image codecs either
        _lean_imports.ensure_codecs()
    except Exception as exc:
        log.debug("warm-up: image codecs: %s", exc)
    spent = time.perf_counter() - t0
    log.info("warm-up: %d modules imported in %.2f s", len(wanted), spent)
    return spent


def warm_up_in_background(protocols: Iterable[str]) -> threading.Thread:
    """`warm_up` in a daemon thread (the service listens meanwhile; Python's import lock makes
    a series that arrives during the warm-up wait for the module rather than import it twice).
    """
    t = threading.Thread(target=warm_up, args=(list(protocols),), name="imgqa-warm-up",
                         daemon=True)
    t.start()
    return t
