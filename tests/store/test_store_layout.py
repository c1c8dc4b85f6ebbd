"""The shape of `Store` after the split by concern (issue 9): a thin façade over one mixin per
concern, each public method defined exactly once, every module of the store small."""

from __future__ import annotations

import inspect
from pathlib import Path

import imgqa.store
from imgqa.store import Store
from imgqa.store.core import StoreCore

STORE_DIR = Path(imgqa.store.__file__).parent


def _public(cls: type) -> list[str]:
    return [n for n in dir(cls) if not n.startswith("_")]


def test_facade_defines_no_method_of_its_own():
    own = [n for n, v in vars(Store).items()
           if callable(v) or isinstance(v, property | staticmethod | classmethod)]
    assert sorted(own) == ["__enter__", "__exit__"]


def test_each_public_method_is_defined_by_exactly_one_concern():
    """No mixin silently overrides another's method (the MRO would pick one of them)."""
    for name in _public(Store):
        owners = [c.__name__ for c in Store.__mro__ if name in vars(c)]
        assert len(owners) == 1, (name, owners)


def test_every_concern_lives_in_its_own_module():
    modules = {c.__module__ for c in Store.__mro__ if issubclass(c, StoreCore)}
    assert modules >= {"imgqa.store.core", "imgqa.store.users", "imgqa.store.equipment",
                       "imgqa.store.limits", "imgqa.store.sessions", "imgqa.store.reviews",
                       "imgqa.store.service", "imgqa.store.trend_queries",
                       "imgqa.store.audit_queries"}
    for cls in Store.__mro__[1:]:
        if cls is object:
            continue
        mod = inspect.getmodule(cls)
        assert mod is not None and (mod.__doc__ or "").strip(), f"{cls.__module__} has no docstring"


def test_store_modules_are_small():
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in STORE_DIR.glob("*.py")}
    assert {n: k for n, k in sizes.items() if k >= 600} == {}
