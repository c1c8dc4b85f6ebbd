"""The imgqa version, in one place.

Modules below the package root (``protocols``, ``report``, ``validation``, ``cli`` ...) import it
from here, not from ``imgqa``: the root package's lazy ``load``/``analyse`` reach up to
``imgqa.api``, so importing the root from a lower layer would break the layer contract
(docs/architecture.md). ``pyproject.toml`` reads the version from this file as well.
"""

__version__ = "0.1.0"
