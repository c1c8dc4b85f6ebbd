"""Deferred imports of analysis kernels, so protocol declarations load without SciPy.

Importing `imgqa.protocols` registers every test (names, parameters, measurements); the kernels
behind them pull in scipy.signal, scipy.stats, scikit-image… (about 2 s of a 2.5 s start-up).
Commands such as ``imgqa protocols`` or ``imgqa history`` only read the declarations, so the
protocol modules bind their kernels through these stand-ins, which import the kernel module the
first time they are used. The call sites read exactly as with ``from … import …``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["kernel_modules", "lazy_functions", "lazy_module"]


class _LazyModule:
    """Stand-in for ``import module as alias``: the module is imported on first attribute use."""

    __slots__ = ("_name", "_module")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: Any = None

    def __getattr__(self, attr: str) -> Any:
        # Only reached for attributes other than the two slots: those of the wrapped module.
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> Any:
    """A stand-in for ``import name``, importing the module when an attribute is first read."""
    return _LazyModule(name)


def _resolve(module: str, name: str) -> Any:
    return getattr(importlib.import_module(module), name)


class _LazyFunction:
    """Stand-in for ``from module import name``: imports ``module`` on the first call."""

    __slots__ = ("_module", "_name", "_target")

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name
        self._target: Callable[..., Any] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._target is None:
            self._target = _resolve(self._module, self._name)
        return self._target(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # Pickled (e.g. sent to a worker process) as the real function it stands for.
        return _resolve, (self._module, self._name)

    def __repr__(self) -> str:
        return f"<lazy function {self._module}.{self._name}>"


def lazy_functions(module: str, *names: str) -> tuple[Callable[..., Any], ...]:
    """Stand-ins for ``from module import name, …`` (functions and classes that are only called).

    Parameters
    ----------
    module
        Dotted module name, e.g. ``"imgqa.analysis.mr_snr"``.
    *names
        Callables of that module. Constants and classes used with ``isinstance`` need the real
        object: read them from a `lazy_module` or import them where they are used.

    Returns
    -------
    tuple of callables
        One per name, in order; each imports ``module`` on its first call and then forwards to
        the real function.
    """
    return tuple(_LazyFunction(module, n) for n in names)


def kernel_modules(function: Callable[..., Any]) -> list[str]:
    """The kernel modules bound lazily in the module that defines ``function``.

    Used to import a test's kernels ahead of time where that pays (`imgqa.parallel` imports
    them once in the main process, so the worker processes forked from it start with them).
    """
    import sys

    module = sys.modules.get(getattr(function, "__module__", "") or "")
    names: list[str] = []
    for value in vars(module).values() if module is not None else ():
        if isinstance(value, _LazyModule):
            names.append(value._name)
        elif isinstance(value, _LazyFunction):
            names.append(value._module)
    return list(dict.fromkeys(names))
