"""The protocol framework's public face: import every framework name from here.

A *protocol* is one QC test (e.g. ``nm.uniformity``). It declares what it needs and what it
measures; the GUI, the database and the reports are driven by that declaration, so adding a test
means writing one function and one `Protocol` declaration and calling `register`
(docs/architecture.md, "Adding a QC test"; `imgqa.protocols._template` is a skeleton).

The protocol function receives the loaded images and keyword parameters and returns one
`Analysis` (or a list of them, e.g. one per NM detector). `run_protocol` turns each into a frozen
`Result` that also records the protocol version, the parameters and the input images' identities.

This module owns nothing itself; it re-exports the framework's parts so that
``from imgqa.protocols.base import X`` is the one import protocol modules, tests and the other
layers use:

* `imgqa.protocols._declarations`: `MeasurementSpec`, `ParameterSpec`, `Protocol`, `Detector`,
  `Roi`, `Curve`, `ImageMap`, `Analysis`, `with_pixel_size`;
* `imgqa.protocols._result`: `Status`, `Measurement`, `InputIdentity`, `Result`;
* `imgqa.protocols._registry`: `register` (and `check_parameters`), `get_protocol`,
  `all_protocols`, `measurement_label`, `protocol_title`, `key_measurement`, `humanise_name`;
* `imgqa.protocols._running`: `run_protocol`, `internal_error`, `AnalysisProblem`;
* `imgqa.protocols._analyse`: the automatic choice (`detect_protocols`, `choose_protocol`, ...)
  and `analyse_series`, `analyse_batch`, `batch_units`, `analyse_unit`, `grouping_protocol`.
"""

from __future__ import annotations

from imgqa.protocols._analyse import (
    Detection,
    analyse_batch,
    analyse_series,
    analyse_unit,
    batch_units,
    candidate_protocols,
    choose_protocol,
    detect_protocols,
    grouping_protocol,
)
from imgqa.protocols._declarations import (
    Analysis,
    Curve,
    Detector,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    _jsonable,
    with_pixel_size,
)
from imgqa.protocols._registry import (
    _REGISTRY,
    all_protocols,
    check_parameters,
    get_protocol,
    humanise_name,
    key_measurement,
    measurement_label,
    protocol_title,
    register,
)
from imgqa.protocols._result import InputIdentity, Measurement, Result, Status
from imgqa.protocols._running import AnalysisProblem, internal_error, run_protocol
from imgqa.protocols.plausibility import check_geometry

__all__ = [
    "MeasurementSpec",
    "ParameterSpec",
    "Protocol",
    "Roi",
    "Curve",
    "ImageMap",
    "Analysis",
    "Measurement",
    "InputIdentity",
    "Result",
    "register",
    "get_protocol",
    "all_protocols",
    "analyse_series",
    "analyse_batch",
    "AnalysisProblem",
    "candidate_protocols",
    "check_geometry",
    "choose_protocol",
    "Detection",
    "detect_protocols",
    "humanise_name",
    "key_measurement",
    "measurement_label",
    "protocol_title",
    "run_protocol",
    "with_pixel_size",
    # also re-exported for the other layers and tests (not part of the author's API)
    "Detector",
    "Status",
    "analyse_unit",
    "batch_units",
    "grouping_protocol",
    "check_parameters",
    "internal_error",
    "_REGISTRY",
    "_jsonable",
]
