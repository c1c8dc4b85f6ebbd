"""QC protocols: each module here declares and registers its tests on import.

Modules are discovered automatically (every public module of this package), so adding a test
is adding a module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil

from imgqa.protocols.base import (
    Analysis,
    Curve,
    ImageMap,
    Measurement,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Result,
    Roi,
    all_protocols,
    analyse_series,
    candidate_protocols,
    choose_protocol,
    get_protocol,
    register,
    run_protocol,
)

__all__ = [
    "Analysis", "Curve", "ImageMap", "Measurement", "MeasurementSpec", "ParameterSpec",
    "Protocol", "Result", "Roi", "all_protocols", "analyse_series", "candidate_protocols",
    "choose_protocol", "get_protocol", "register",
    "run_protocol",
]

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name != "base":
        importlib.import_module(f"{__name__}.{_mod.name}")
