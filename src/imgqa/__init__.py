"""imgqa: imaging quality control for X-ray, CT, MRI and gamma cameras.

The Python API in two calls::

    import imgqa
    series = imgqa.load("phantoms/nm_flood")          # list of ImageSeries (+ .problems)
    results = imgqa.analyse(series)                    # list of Result, protocol auto-chosen
"""

from __future__ import annotations

__version__ = "0.1.0"

from imgqa.api import analyse, load  # noqa: E402

__all__ = ["__version__", "analyse", "load"]
