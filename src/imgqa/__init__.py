"""imgqa: imaging quality control for X-ray, CT, MRI and gamma cameras.

The Python API in two calls::

    import imgqa
    series = imgqa.load("phantoms/nm_flood")          # list of ImageSeries (+ .problems)
    results = imgqa.analyse(series)                    # list of Result, protocol auto-chosen
"""

from __future__ import annotations

from imgqa._version import __version__

__all__ = ["__version__", "analyse", "load"]


def __getattr__(name: str):  # PEP 562: import the API (SciPy, pydicom...) on first use only,
    # so `imgqa gui` and light CLI commands start fast.
    if name in ("analyse", "load"):
        from imgqa import api

        return getattr(api, name)
    raise AttributeError(f"module 'imgqa' has no attribute {name!r}")
