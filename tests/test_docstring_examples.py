"""The "Examples" sections of the source docstrings are tests too (scikit-image style)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import imgqa


def _modules() -> list[str]:
    names = []
    for mod in pkgutil.walk_packages(imgqa.__path__, "imgqa."):
        if ".migrations" in mod.name or mod.name.startswith("imgqa.gui"):
            continue  # migrations run on import; Qt widgets are tested with pytest-qt
        names.append(mod.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
