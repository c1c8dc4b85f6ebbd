"""Lean start-up: skip work that pydicom and SciPy do on import and imgqa never needs (issue 17).

Importing numpy, pydicom and scipy.ndimage is most of the time an ``imgqa analyse`` of one
series takes (≈ 0.34 s of 0.39 s on the development machine). About a third of that is work
done at import for things imgqa does not use, or uses later:

* **pydicom probes every image codec** (GDCM, Pillow, pylibjpeg with OpenJPEG and RLE,
  pyjpegls) when it is imported, to register its decoders: ≈ 40 ms, although imgqa decodes
  uncompressed pixel data itself (`imgqa.io.decode`) and most QC series are uncompressed.
  While pydicom is imported, imports of those codec packages *by pydicom's modules* fail as
  if they were not installed; the first compressed frame (or `ensure_codecs`) then imports
  them and registers every decoder and encoder pydicom would have registered, in pydicom's
  order of preference (tests/test_lean_imports.py compares the result with a plain import).
* **SciPy parses the docstrings of ≈ 200 functions** (``xp_capabilities`` adds an "Array API
  support" table to each, with a numpydoc parser): ≈ 35 ms. Here the functions keep their
  docstrings without that table.
* **SciPy's array-API namespace for numpy copies every attribute of numpy**, which imports
  numpy's lazily loaded submodules ``f2py``, ``testing``, ``ma``, ``random``,
  ``polynomial``, …: ≈ 40 ms. Here the copy skips the submodules not yet imported; asking
  that namespace for one of them still gives numpy's (imported then).

What is computed never changes: only when codecs are imported, and SciPy's docstrings. The
hooks act once, on the first import of the module concerned, through an import finder that
wraps those modules' loaders; anything unexpected (another pydicom or SciPy layout) leaves the
import as it would have been. `apply` is called by the ``imgqa`` entry point (CLI, GUI,
service) before anything imports numpy; importing imgqa as a library changes nothing.
``IMGQA_LEAN_IMPORTS=0`` turns it off. Measured in docs/validation.md ("Whole-process CLI
timings"). This module imports only the standard library.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import logging
import os
import sys
import threading
from collections.abc import Callable
from types import FrameType, ModuleType
from typing import Any, cast

__all__ = ["OPT_OUT_VARIABLE", "apply", "codecs_pending", "ensure_codecs"]

log = logging.getLogger(__name__)

OPT_OUT_VARIABLE = "IMGQA_LEAN_IMPORTS"
# The image codec packages pydicom's plugins probe (pylibjpeg brings openjpeg, libjpeg, rle).
CODEC_PACKAGES = frozenset({"gdcm", "PIL", "pylibjpeg", "openjpeg", "libjpeg", "rle", "jpeg_ls"})
# numpy submodules loaded on first attribute access that SciPy's copy of numpy would load.
_NUMPY_LAZY_SUBMODULES = frozenset({"f2py", "testing", "ma", "random", "polynomial",
                                    "ctypeslib", "rec", "char"})

_lock = threading.RLock()
_blocking_thread: int | None = None      # the thread importing pydicom, while it does
_blocked_importers: set[str] = set()     # pydicom modules that found no codec at start-up
_plugins: list[tuple[Any, str, tuple[str, str]]] = []  # (coder, label, import path) as added
_codecs_pending = False


# ---------------------------------------------------------------------------------------------
# The import finder: wraps a few modules' loaders with code run before and after them
# ---------------------------------------------------------------------------------------------
Before = Callable[[ModuleType], Any]
After = Callable[[ModuleType, Any], None]


class _HookedLoader:
    """A module's own loader, with `before` and `after` run around its execution.

    (Loader and finder are duck-typed: importing ``importlib.abc`` costs ≈ 8 ms at start.)"""

    def __init__(self, loader: Any, before: Before | None,
                 after: After | None) -> None:
        self._loader, self._before, self._after = loader, before, after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module keeps its own loader, so that reloading and pickling work as usual.
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        module.__loader__ = self._loader
        token = _guarded(self._before, module)
        try:
            self._loader.exec_module(module)
        finally:
            if self._after is not None:
                _guarded(self._after, module, token)
            _remove_finder_when_done()


def _guarded(hook: Callable[..., Any] | None, *args: Any) -> Any:
    """Run a hook; if it fails (another library version), log it and let the import go on."""
    if hook is None:
        return None
    try:
        return hook(*args)
    except Exception:
        log.debug("lean imports: %s skipped", getattr(hook, "__name__", hook), exc_info=True)
        return None


class _LeanFinder:
    """Refuses codec packages to pydicom while it is imported; wraps the hooked modules."""

    def __init__(self, hooks: dict[str, tuple[Before | None, After | None]]) -> None:
        self.hooks = hooks

    def find_spec(self, fullname: str, path: Any = None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if _blocking_thread is not None and _refused(fullname):
            raise ModuleNotFoundError(f"No module named {fullname!r} (imgqa imports image "
                                      "codecs on first use)", name=fullname)
        hook = self.hooks.pop(fullname, None)
        if hook is None:
            return None
        try:
            spec = _spec_from_other_finders(self, fullname, path, target)
        except Exception:   # an import system we do not know (a frozen app): left to it
            log.debug("lean imports: %s not hooked", fullname, exc_info=True)
            return None
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = cast(Any, _HookedLoader(spec.loader, *hook))   # a Loader by duck typing
        return spec


def _spec_from_other_finders(finder: _LeanFinder, fullname: str, path: Any,
                             target: ModuleType | None) -> importlib.machinery.ModuleSpec | None:
    for other in list(sys.meta_path):
        if other is finder or not hasattr(other, "find_spec"):
            continue
        spec = other.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _remove_finder_when_done() -> None:
    """Leave the import system as it was once every hook has run and pydicom is imported."""
    if _blocking_thread is None and not any(isinstance(f, _LeanFinder) and f.hooks
                                            for f in sys.meta_path):
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _LeanFinder)]


def _refused(fullname: str) -> bool:
    """Whether this import is of a codec package, by a pydicom module, on the importing thread."""
    if fullname.partition(".")[0] not in CODEC_PACKAGES:
        return False
    if threading.get_ident() != _blocking_thread:
        return False
    importer, at_top_level = _importer()
    if not importer.startswith("pydicom."):
        return False
    if at_top_level:   # it set a "codec installed" flag on import: re-imported in ensure_codecs
        _blocked_importers.add(importer)
    return True


def _importer() -> tuple[str, bool]:
    """The module whose code runs the import being looked up, and whether that code is the
    module's own top level (rather than a function, which imports again when called)."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name.startswith(("importlib", "_frozen_importlib")) or name == __name__):
            return name, frame.f_code.co_name == "<module>"
        frame = frame.f_back
    return "", False


# ---------------------------------------------------------------------------------------------
# pydicom: codecs on first use
# ---------------------------------------------------------------------------------------------
def _before_pydicom(module: ModuleType) -> None:
    global _blocking_thread
    _blocking_thread = threading.get_ident()


def _after_pydicom(module: ModuleType, token: Any) -> None:
    global _blocking_thread, _codecs_pending
    _blocking_thread = None
    common = sys.modules.get("pydicom.pixels.common")
    original = getattr(common, "_imgqa_original_add_plugin", None)
    if common is not None and original is not None:
        common.CoderBase.add_plugin = original
        del common._imgqa_original_add_plugin
    _codecs_pending = bool(_blocked_importers)


def _after_pydicom_common(module: ModuleType, token: Any) -> None:
    """Record each plugin pydicom registers (coder, label, import path), in its order."""
    original = module.CoderBase.add_plugin

    def add_plugin(self: Any, label: str, import_path: tuple[str, str]) -> None:
        original(self, label, import_path)
        _plugins.append((self, label, (import_path[0], import_path[1])))

    module._imgqa_original_add_plugin = original  # type: ignore[attr-defined]
    module.CoderBase.add_plugin = add_plugin


def codecs_pending() -> bool:
    """True while pydicom's image codecs are still to be imported (see `ensure_codecs`)."""
    return _codecs_pending


def ensure_codecs() -> None:
    """Import the image codecs pydicom was started without, and register their plugins.

    Call before asking pydicom about, or decoding, compressed pixel data. Cheap once done;
    thread-safe (the GUI decodes in worker threads). Afterwards every decoder and encoder has
    the plugins, in the order of preference, that a plain ``import pydicom`` gives it.
    """
    global _codecs_pending
    if not _codecs_pending:
        return
    with _lock:
        if not _codecs_pending:
            return
        try:
            _register_codecs()
        finally:
            _codecs_pending = False


def _register_codecs() -> None:
    for name in sorted(_blocked_importers):   # their "is the codec installed?" flags
        module = sys.modules.get(name)
        if module is not None:
            importlib.reload(module)
    coders: dict[int, tuple[Any, list[tuple[str, tuple[str, str]]]]] = {}
    for coder, label, import_path in _plugins:
        coders.setdefault(id(coder), (coder, []))[1].append((label, import_path))
    for coder, plugins in coders.values():
        if not any(label in coder._unavailable for label, _ in plugins):
            continue
        ordered: dict[str, Callable[..., Any]] = {}
        for label, (module_name, function) in plugins:
            if label in coder._available:
                ordered[label] = coder._available[label]
                continue
            plugin = importlib.import_module(module_name)
            if plugin.is_available(coder.UID):
                ordered[label] = getattr(plugin, function)
                coder._unavailable.pop(label, None)
        for label, fn in coder._available.items():   # any added since, after pydicom's own
            ordered.setdefault(label, fn)
        coder._available.clear()
        coder._available.update(ordered)
    _plugins.clear()


# ---------------------------------------------------------------------------------------------
# SciPy: no docstring parsing, no copy of numpy's lazily loaded submodules
# ---------------------------------------------------------------------------------------------
class _DocWithoutTable:
    """Stands in for numpydoc's FunctionDoc in SciPy's ``xp_capabilities`` decorator, which
    parses a function's docstring to append a support table to its Notes: here the function
    keeps its docstring as written (the decorator drops the first line of ``str``)."""

    def __init__(self, func: Any, *args: Any, **kwargs: Any) -> None:
        self._doc = getattr(func, "__doc__", None) or ""

    def __getitem__(self, section: str) -> list[str]:
        return []

    def __str__(self) -> str:
        return "\n" + self._doc


def _after_scipy_array_api(module: ModuleType, token: Any) -> None:
    if hasattr(module, "FunctionDoc") and hasattr(module, "xp_capabilities"):
        module.FunctionDoc = _DocWithoutTable  # type: ignore[attr-defined]


def _before_numpy_compat(module: ModuleType) -> tuple[Any, Any, set[str]] | None:
    """Hide numpy's submodules not yet imported from its ``__all__`` and ``dir()``, which the
    namespace copies with ``from numpy import *`` and ``getattr`` on each name."""
    import numpy

    listed, star = numpy.__dict__.get("__dir__"), numpy.__dict__.get("__all__")
    hidden = {n for n in _NUMPY_LAZY_SUBMODULES if f"numpy.{n}" not in sys.modules}
    if listed is None or star is None or not hidden:
        return None
    numpy.__dir__ = lambda: [n for n in listed() if n not in hidden]  # type: ignore[method-assign]
    numpy.__all__ = [n for n in star if n not in hidden]
    return listed, star, hidden


def _after_numpy_compat(module: ModuleType, token: Any) -> None:
    if token is None:
        return
    import numpy

    listed, star, hidden = token
    numpy.__dir__, numpy.__all__ = listed, star  # type: ignore[method-assign]
    own = module.__dict__.get("__getattr__")

    def __getattr__(name: str) -> Any:   # the skipped submodules, imported when asked for
        if name in hidden:
            value = getattr(numpy, name)
            setattr(module, name, value)
            return value
        if own is not None:
            return own(name)
        raise AttributeError(f"module {module.__name__!r} has no attribute {name!r}")

    module.__getattr__ = __getattr__  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------
def apply(environ: dict[str, str] | None = None) -> bool:
    """Install the import hooks (before numpy, pydicom and SciPy are imported).

    Parameters
    ----------
    environ
        The environment to read ``IMGQA_LEAN_IMPORTS`` from (default ``os.environ``).

    Returns
    -------
    bool
        True if any hook was installed: not when turned off with ``IMGQA_LEAN_IMPORTS=0``,
        nor for a library already imported.
    """
    env = os.environ if environ is None else environ
    if env.get(OPT_OUT_VARIABLE, "").strip().lower() in ("0", "no", "off", "false"):
        return False
    hooks: dict[str, tuple[Before | None, After | None]] = {}
    if "pydicom" not in sys.modules:
        hooks["pydicom"] = (_before_pydicom, _after_pydicom)
        hooks["pydicom.pixels.common"] = (None, _after_pydicom_common)
    if "scipy._lib._array_api" not in sys.modules:
        hooks["scipy._lib._array_api"] = (None, _after_scipy_array_api)
        hooks["scipy._lib.array_api_compat.numpy"] = (_before_numpy_compat, _after_numpy_compat)
    if not hooks or any(isinstance(f, _LeanFinder) for f in sys.meta_path):
        return False
    sys.meta_path.insert(0, _LeanFinder(hooks))
    return True
