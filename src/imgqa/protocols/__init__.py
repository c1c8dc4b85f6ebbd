"""QC protocols: each module here declares and registers its tests on import.

Modules are discovered automatically (every public module of this package except ``base`` and
``plausibility``, which hold the framework), so adding a test is adding a module; nothing else
needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil

from imgqa.protocols.base import (
    Analysis,
    AnalysisProblem,
    Curve,
    ImageMap,
    Measurement,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Result,
    Roi,
    all_protocols,
    analyse_batch,
    analyse_series,
    candidate_protocols,
    choose_protocol,
    get_protocol,
    measurement_label,
    register,
    run_protocol,
)

__all__ = [
    "Analysis", "AnalysisProblem", "Curve", "ImageMap", "Measurement", "MeasurementSpec",
    "ParameterSpec", "Protocol", "Result", "Roi", "all_protocols", "analyse_batch",
    "analyse_series", "candidate_protocols", "choose_protocol", "get_protocol", "measurement_label", "register",
    "run_protocol",
]

for _mod in pkgutil.iter_modules(__path__):
    if not _mod.name.startswith("_") and _mod.name not in ("base", "plausibility"):
        importlib.import_module(f"{__name__}.{_mod.name}")
