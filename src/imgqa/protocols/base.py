"""The protocol framework: declarations, the registry and the immutable `Result`.

A *protocol* is one QC test (e.g. ``nm.uniformity``). It declares what it needs and what it
measures; the GUI, the database and the reports are driven by that declaration, so adding a test
means writing one function and one `Protocol` declaration and calling `register`.

The protocol function receives the loaded images and keyword parameters and returns one
`Analysis` (or a list of them, e.g. one per NM detector). `run_protocol` turns each into a frozen
`Result` that also records the protocol version, the parameters and the input images' identities.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np

from imgqa.errors import (
    ImgqaError,
    InternalAnalysisError,
    ParameterError,
    UnknownProtocolError,
    WrongModalityError,
)
from imgqa.io.series import ImageSeries
from imgqa.protocols.plausibility import check_geometry

log = logging.getLogger(__name__)

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
    "run_protocol",
    "with_pixel_size",
]


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MeasurementSpec:
    """One number a protocol measures.

    ``name`` is a stable snake_case contract (JSON, database, tolerance files) and never changes
    for display reasons; ``label`` is what people read in tables, plots, reports and the CLI,
    e.g. ``"Mean CT number, centre"`` (the unit is shown next to it, not inside it). Every
    registered protocol declares a label for every measurement (``tests/protocols/
    test_labels.py``); `measurement_label` is the one place that turns a name into a label.
    """

    name: str
    unit: str
    description: str
    higher_is_better: bool | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One user-settable parameter of a protocol.

    ``type`` is one of ``float``, ``int``, ``str``, ``bool``; ``choices`` limits str values.
    """

    name: str
    type: type
    default: Any
    unit: str = ""
    description: str = ""
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, value: Any) -> Any:
        """Convert a value (possibly a CLI string) to this parameter's type, checking range."""
        if value is None:
            return None
        try:
            if self.type is bool:
                if isinstance(value, str):
                    low = value.strip().lower()
                    if low in ("1", "true", "yes", "on"):
                        out: Any = True
                    elif low in ("0", "false", "no", "off"):
                        out = False
                    else:
                        raise ValueError(value)
                else:
                    out = bool(value)
            elif self.type is int:
                out = int(float(value)) if isinstance(value, str) else int(value)
            elif self.type is float:
                out = float(value)
                if not math.isfinite(out):
                    raise ValueError(value)
            else:
                out = self.type(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"Parameter {self.name!r} must be a {self.type.__name__}, got {value!r}.",
                hint=self.description) from None
        if self.choices is not None and out not in self.choices:
            raise ParameterError(
                f"Parameter {self.name!r} must be one of {', '.join(map(str, self.choices))}; "
                f"got {value!r}.")
        if self.minimum is not None and out < self.minimum:
            raise ParameterError(f"Parameter {self.name!r} must be ≥ {self.minimum}; got {out}.")
        if self.maximum is not None and out > self.maximum:
            raise ParameterError(f"Parameter {self.name!r} must be ≤ {self.maximum}; got {out}.")
        return out


# A detector scores how likely a series is to be this protocol's phantom: 0 means "not this",
# higher wins. It must be cheap (header only, or one small image). It may return
# ``(score, reason)``: the reason, in words a technologist reads, is shown with the automatic
# choice ("the series description 'UNIF_INT_H1_H1' contains 'UNIF'", "looks like a whole-body
# sweep, not a flood: ...").
Detector = Callable[[ImageSeries], "float | tuple[float, str]"]


@dataclass(frozen=True)
class Protocol:
    """Declaration of a QC test.

    Attributes
    ----------
    name : str
        ``<area>.<test>``, e.g. ``nm.uniformity``; stable, used in JSON and the database.
    version : str
        Bump when the method changes in a way that changes numbers.
    title, description : str
        For people: the GUI and ``imgqa protocols`` show them.
    modalities : tuple of str
        Accepted DICOM modalities (``"*"`` for any).
    measurements : tuple of MeasurementSpec
    parameters : tuple of ParameterSpec
    function : callable
        ``function(series, **params) -> Analysis | list[Analysis]``; for ``multi_series``
        protocols the first argument is the list of series.
    inputs : str
        Human description of the images needed, e.g. "one flood image".
    multi_series : bool
        The protocol takes several series at once (e.g. two-image SNR, signal transfer).
    min_images, max_images : int or None
        Images per series accepted.
    detect : callable or None
        Scores a series for automatic protocol choice.
    standard : str
        The standard or paper the method follows.
    kind : {"analysis", "manual"}
        ``"manual"``: the measurements are typed in (checklists, meter readings; see
        `imgqa.protocols.manual`), nothing is computed from images.
    key_measurement : str or None
        The test's headline number (one of ``measurements``): listed first in result tables
        and the trend shown by default.
    """

    name: str
    version: str
    title: str
    description: str
    modalities: tuple[str, ...]
    measurements: tuple[MeasurementSpec, ...]
    function: Callable[..., Any]
    parameters: tuple[ParameterSpec, ...] = ()
    inputs: str = "one series"
    multi_series: bool = False
    min_images: int = 1
    max_images: int | None = None
    detect: Detector | None = None
    standard: str = ""
    kind: str = "analysis"
    key_measurement: str | None = None

    def measurement(self, name: str) -> MeasurementSpec:
        for m in self.measurements:
            if m.name == name:
                return m
        raise KeyError(name)

    def accepts(self, series: ImageSeries) -> bool:
        return "*" in self.modalities or series.modality in self.modalities

    def resolve_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with the given parameters, coerced and checked."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ParameterError(
                f"{self.name} has no parameter {', '.join(map(repr, unknown))}.",
                hint=("Its parameters are: " + ", ".join(known)) if known
                else f"{self.name} takes no parameters.")
        out = {name: p.default for name, p in known.items()}
        for name, value in params.items():
            out[name] = known[name].coerce(value)
        return out


# ---------------------------------------------------------------------------------------------
# What an analysis returns, for display
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Roi:
    """A region the analysis used, in pixel coordinates (row, column) of image ``frame``.

    ``shape``: ``"rect"`` (points = two opposite corners), ``"circle"`` (points = centre,
    ``radius`` in pixels), ``"ellipse"`` (centre; ``radius`` = (row, col) semi-axes as
    ``radii``), ``"polygon"``, ``"line"`` (polyline), ``"point"``.
    ``role`` tells the GUI how to draw it: ``"measure"``, ``"phantom"``, ``"background"``,
    ``"field"`` (UFOV/CFOV outlines), ``"edge"``, ``"profile"``.
    """

    shape: Literal["rect", "circle", "ellipse", "polygon", "line", "point"]
    points: tuple[tuple[float, float], ...]
    label: str = ""
    frame: int = 0
    radius: float | None = None
    radii: tuple[float, float] | None = None
    role: str = "measure"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"shape": self.shape, "points": [list(p) for p in self.points],
                             "label": self.label, "frame": self.frame, "role": self.role}
        if self.radius is not None:
            d["radius"] = self.radius
        if self.radii is not None:
            d["radii"] = list(self.radii)
        return d


@dataclass(frozen=True, slots=True)
class Curve:
    """A plotted curve (MTF, NPS, profile...). x and y are 1-D float arrays."""

    name: str
    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    x_label: str = ""
    x_unit: str = ""
    y_label: str = ""
    y_unit: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "x": _jsonable(self.x), "y": _jsonable(self.y),
                "x_label": self.x_label, "x_unit": self.x_unit,
                "y_label": self.y_label, "y_unit": self.y_unit}


@dataclass(frozen=True, slots=True)
class ImageMap:
    """A 2-D map to show (e.g. TG-150 ROI means, rebinned NEMA flood). Pixel size in mm."""

    name: str
    data: np.ndarray = field(repr=False)
    description: str = ""
    unit: str = ""
    pixel_mm: float | None = None


@dataclass(frozen=True)
class Analysis:
    """What a protocol function returns: numbers plus what to draw.

    ``measurements`` maps declared measurement names to values (None when it could not be
    measured, with a warning saying why). ``label`` distinguishes several analyses of one input,
    e.g. ``"detector 1"``. ``extra`` is free JSON-able detail (per-slice tables, slices used).
    ``frames`` restricts the input identities to these image indices when the analysis used
    only some of the series (e.g. one NM detector).
    """

    measurements: Mapping[str, float | None]
    rois: Sequence[Roi] = ()
    curves: Sequence[Curve] = ()
    maps: Sequence[ImageMap] = ()
    warnings: Sequence[str] = ()
    label: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    frames: Sequence[int] | None = None


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
Status = Literal["OK", "TOLERANCE", "ACTION", "NO_TOL"]


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str
    value: float | None
    unit: str
    description: str = ""
    status: Status | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "value": _jsonable(self.value), "unit": self.unit,
                "status": self.status, "description": self.description}


@dataclass(frozen=True, slots=True)
class InputIdentity:
    sop_instance_uid: str
    pixel_sha256: str
    source: str = ""


@dataclass(frozen=True)
class Result:
    """The immutable outcome of one protocol run on one input.

    Re-analysis makes a new Result; nothing here is ever changed in place. `with_statuses`
    returns a copy with each measurement's tolerance status filled in.
    """

    protocol: str
    protocol_version: str
    parameters: Mapping[str, Any]
    series: Mapping[str, Any]
    measurements: tuple[Measurement, ...]
    rois: tuple[Roi, ...] = ()
    curves: tuple[Curve, ...] = ()
    maps: tuple[ImageMap, ...] = ()
    warnings: tuple[str, ...] = ()
    inputs: tuple[InputIdentity, ...] = ()
    label: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    imgqa_version: str = ""
    # Why this protocol ran: the detector's score and reason, what was tried first, or the
    # fall-back reason for generic.roi; "Chosen by the user." for an explicit protocol.
    choice_reason: str = ""

    def measurement(self, name: str) -> Measurement:
        for m in self.measurements:
            if m.name == name:
                return m
        raise KeyError(f"{self.protocol} result has no measurement {name!r}")

    def value(self, name: str) -> float | None:
        return self.measurement(name).value

    def as_dict(self) -> dict[str, float | None]:
        """Measurement name → value."""
        return {m.name: m.value for m in self.measurements}

    def with_statuses(self, statuses: Mapping[str, Status | None]) -> "Result":
        from dataclasses import replace

        ms = tuple(replace(m, status=statuses.get(m.name, m.status)) for m in self.measurements)
        return replace(self, measurements=ms)

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        """JSON-ready form, as documented for ``imgqa analyse --format json``."""
        d: dict[str, Any] = {
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "label": self.label,
            "series": dict(self.series),
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "measurements": [m.to_dict() for m in self.measurements],
            "warnings": list(self.warnings),
            "choice_reason": self.choice_reason,
            "inputs": [{"sop_instance_uid": i.sop_instance_uid, "pixel_sha256": i.pixel_sha256}
                       for i in self.inputs],
            "created": self.created.isoformat(),
        }
        if detail:
            d["rois"] = [r.to_dict() for r in self.rois]
            d["curves"] = [c.to_dict() for c in self.curves]
            d["extra"] = _jsonable(dict(self.extra))
        return d


def _jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats to plain JSON values."""
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def with_pixel_size(series: ImageSeries, pixel_spacing_mm: float | None, what: str
                    ) -> tuple[ImageSeries, float]:
    """The series (with the user's spacing when given) and its square pixel size in mm.

    The shared first step of mm-based protocols: a ``pixel_spacing_mm`` parameter overrides the
    header; without either, `MissingSpacingError`; non-square pixels are refused because the
    kernels take one pixel size.
    """
    from imgqa.errors import AnalysisError

    if pixel_spacing_mm:
        series = series.with_spacing(pixel_spacing_mm)
    sp = series.require_spacing(what)
    if abs(sp[0] - sp[1]) > 0.01 * max(sp):
        raise AnalysisError(f"{what} needs square pixels; this series has {sp[0]:.4g} × "
                            f"{sp[1]:.4g} mm.", hint="Re-acquire with a square matrix.")
    return series, float(sp[0])


# ---------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Protocol] = {}


def register(protocol: Protocol) -> Protocol:
    """Add a protocol to the registry (idempotent for the same name and version)."""
    for m in protocol.measurements:
        if not m.name.replace("_", "a").isalnum() or not m.name[0].isalpha() or m.name.lower() != m.name:
            raise ValueError(f"measurement name {m.name!r} must be snake_case")
    if protocol.key_measurement is not None and protocol.key_measurement not in {
            m.name for m in protocol.measurements}:
        raise ValueError(f"{protocol.name}: key measurement {protocol.key_measurement!r} is not "
                         "one of its measurements")
    _REGISTRY[protocol.name] = protocol
    return protocol


def _ensure_loaded() -> None:
    # Importing the package registers the built-in protocols.
    import imgqa.protocols  # noqa: F401


def all_protocols() -> list[Protocol]:
    _ensure_loaded()
    return sorted(_REGISTRY.values(), key=lambda p: p.name)


def get_protocol(name: str) -> Protocol:
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownProtocolError(f"There is no QC test called {name!r}.") from None


def measurement_label(protocol_name: str, measurement_name: str) -> str:
    """The human label of a measurement, e.g. ``("ct.water", "mean_hu_12")`` →
    ``"Mean CT number, 12 o'clock"``.

    Pure (reads only the registry). The declared `MeasurementSpec.label` wins; a name the
    protocol does not declare (a stored result of an older protocol version, an unknown
    protocol) gets a readable form of the name itself, so nothing is ever shown blank.
    """
    _ensure_loaded()
    proto = _REGISTRY.get(protocol_name)
    if proto is not None:
        for m in proto.measurements:
            if m.name == measurement_name:
                if m.label:
                    return m.label
                break
    return humanise_name(measurement_name)


def key_measurement(protocol_name: str) -> str | None:
    """The headline measurement of a protocol (None for an unknown protocol or none declared)."""
    _ensure_loaded()
    proto = _REGISTRY.get(protocol_name)
    return proto.key_measurement if proto is not None else None


def humanise_name(name: str) -> str:
    """Fallback label from a snake_case name: ``geometric_accuracy_slice1_horizontal`` →
    ``"Geometric accuracy, slice 1, horizontal"``; ``mean_hu_12`` → ``"Mean HU, 12"``.

    Qualifier words (slice/quadrant/ROI numbers, directions, fields of view) become
    comma-separated parts so two related names never read the same.
    """
    parts: list[list[str]] = [[]]
    for tok in name.split("_"):
        if not tok:
            continue
        m = re.fullmatch(r"(slice|q|roi|detector)(\d+)", tok)
        word = _WORDS.get(tok, tok)
        if m:
            word = f"{_WORDS.get(m.group(1), m.group(1))} {m.group(2)}"
        if (m or tok.isdigit() or tok in _QUALIFIERS) and parts[-1]:
            parts.append([word])
        else:
            parts[-1].append(word)
    text = ", ".join(" ".join(p) for p in parts if p) or name
    return text[:1].upper() + text[1:]


_WORDS = {"hu": "HU", "sd": "SD", "snr": "SNR", "mtf": "MTF", "nps": "NPS", "nnps": "NNPS",
          "ufov": "UFOV", "cfov": "CFOV", "fwhm": "FWHM", "fwtm": "FWTM", "piu": "PIU",
          "q": "quadrant", "roi": "ROI", "mm": "(mm)", "pct": "%", "deg": "(°)"}
_QUALIFIERS = {"centre", "center", "horizontal", "vertical", "x", "y", "ufov", "cfov"}


@dataclass(frozen=True, slots=True)
class Detection:
    """One detector's verdict on a series: its score (0 = "not this protocol") and why."""

    protocol: Protocol
    score: float
    reason: str = ""

    def describe(self) -> str:
        """``"nm.uniformity (0.90): the series description 'UNIF_INT_H1_H1' contains 'UNIF'"``."""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.protocol.name} ({self.score:.2f}){why}"


def detect_protocols(series: ImageSeries) -> list[Detection]:
    """Every detector's score and reason for a series, best first.

    Only protocols that accept the series' modality and declare a detector are asked;
    ``generic.roi`` has none. A detector that fails scores 0 (it must never stop loading).
    """
    out: list[Detection] = []
    for proto in all_protocols():
        if proto.detect is None or not proto.accepts(series):
            continue
        try:
            raw = proto.detect(series)
            score, reason = raw if isinstance(raw, tuple) else (raw, "")
            score = float(score)
        except Exception:  # a detector must never stop loading; it just does not claim
            log.debug("detector of %s failed", proto.name, exc_info=True)
            score, reason = 0.0, "its detector could not read the images"
        if not math.isfinite(score) or score < 0:
            score = 0.0
        out.append(Detection(proto, score, str(reason)))
    return sorted(out, key=lambda d: (-d.score, d.protocol.name))


def candidate_protocols(series: ImageSeries) -> list[Protocol]:
    """Protocols that claim a series, best score first (``generic.roi`` is never a candidate)."""
    return [d.protocol for d in detect_protocols(series) if d.score > 0]


def choose_protocol(series: ImageSeries) -> Protocol:
    """The best-scoring protocol for a series; ``generic.roi`` when nothing else claims it."""
    candidates = candidate_protocols(series)
    return candidates[0] if candidates else get_protocol("generic.roi")


# Modalities in words, for "imgqa has no QC test for PET (PT) images yet".
_MODALITY_WORDS = {"PT": "PET (PT)", "NM": "nuclear medicine (NM)", "CT": "CT", "MR": "MR",
                   "US": "ultrasound (US)", "MG": "mammography (MG)"}


def _claimed_reason(chosen: Detection, detections: Sequence[Detection],
                    tried: Sequence[tuple[Detection, str]] = ()) -> str:
    """Why a claiming protocol runs: its score and reason, the others, what did not fit."""
    text = f"Chosen automatically: {chosen.describe()}."
    others = [d for d in detections if d.score > 0 and d is not chosen
              and all(d is not t for t, _ in tried)]
    if tried:
        text += " Tried first: " + "; ".join(
            f"{d.protocol.name} ({d.score:.2f}) did not fit: {msg.rstrip('.')}"
            for d, msg in tried) + "."
    if others:
        text += " Other candidates: " + ", ".join(
            f"{d.protocol.name} ({d.score:.2f})" for d in others) + "."
    return text


def _fallback_reason(series: ImageSeries, detections: Sequence[Detection]) -> str:
    """Why ``generic.roi`` runs: each detector's reason for not claiming, or no test exists."""
    if detections:
        # One clause per distinct reason (the planar NM tests often decline for the same one).
        by_reason: dict[str, list[str]] = {}
        for d in sorted(detections, key=lambda det: det.protocol.name):
            by_reason.setdefault(d.reason or "did not recognise the images", []).append(
                d.protocol.name)
        why = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
    else:
        mod = series.modality or ""
        words = _MODALITY_WORDS.get(mod, mod) if mod else "this modality"
        why = f"imgqa has no QC test for {words} images yet"
    return (f"No specific QC test recognised this series, so generic.roi (mean, SD and SNR of "
            f"a central ROI) was used: {why}. Choose the test by hand if one applies.")


def analyse_series(series: ImageSeries, protocol: Protocol | str | None = None,
                   **params: Any) -> list[Result]:
    """Run the given protocol, or the automatic choice with a fall-back.

    With no protocol, the candidates are tried best first: when one finds that the images are
    not its phantom (`AnalysisError`, e.g. "no flood field"), the next candidate runs and its
    results carry a warning saying what was tried. If every candidate fails, the first error is
    raised; ``generic.roi`` runs only when no protocol claims the series at all, and then with
    a warning saying why. An explicit protocol (or parameters, which belong to one protocol)
    is never second-guessed.

    Every result's ``choice_reason`` says why its protocol ran: the detector's score and
    reason (and what was tried first), the fall-back reason, or "Chosen by the user.".
    """
    from dataclasses import replace

    from imgqa.errors import AnalysisError

    if protocol is not None:
        proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
        return [replace(r, choice_reason="Chosen by the user.")
                for r in run_protocol(proto, series, **params)]
    # Detectors measure too (in mm): absurd geometry is refused before they run.
    if not params:
        check_geometry(series, None, None)
    detections = detect_protocols(_with_user_spacing(series, params))
    claims = [d for d in detections if d.score > 0]
    if not claims:
        reason = _fallback_reason(series, detections)
        return [replace(r, choice_reason=reason, warnings=(reason,) + r.warnings)
                for r in run_protocol(get_protocol("generic.roi"), series, **params)]
    if params:  # parameters belong to one protocol: the best claim, no second guess
        return [replace(r, choice_reason=_claimed_reason(claims[0], detections))
                for r in run_protocol(claims[0].protocol, series, **params)]
    tried: list[tuple[Detection, AnalysisError]] = []
    for det in claims:
        try:
            results = run_protocol(det.protocol, series)
        except AnalysisError as exc:
            tried.append((det, exc))
            continue
        reason = _claimed_reason(det, detections, [(d, e.message) for d, e in tried])
        warn: tuple[str, ...] = ()
        if tried:
            note = "; ".join(f"{d.protocol.name} did not fit ({e.message})" for d, e in tried)
            warn = (f"Analysed as {det.protocol.name}: {note}",)
        return [replace(r, choice_reason=reason, warnings=warn + r.warnings) for r in results]
    raise tried[0][1]


def _checked_call(proto: Protocol, series_list: list[ImageSeries], params: Mapping[str, Any]
                  ) -> tuple[dict[str, Any], Any]:
    """Check the inputs and parameters, then call the protocol function."""
    for s in series_list:
        if not proto.accepts(s):
            raise WrongModalityError(
                f"{proto.name} ({proto.title}) needs {' or '.join(proto.modalities)} images, "
                f"but this series is {s.modality or 'of unknown modality'}.")
        if len(s) < proto.min_images or (proto.max_images and len(s) > proto.max_images):
            rng = (f"{proto.min_images}–{proto.max_images}" if proto.max_images
                   else f"at least {proto.min_images}")
            raise ParameterError(
                f"{proto.name} needs {rng} images per series; this series has {len(s)}.",
                hint=f"It expects {proto.inputs}.")
    resolved = proto.resolve_params(params)
    # Absurd geometry is refused before any kernel sees it (issue 19, finding 4).
    takes_spacing = any(p.name == "pixel_spacing_mm" for p in proto.parameters)
    for s in series_list:
        check_geometry(s, resolved.get("pixel_spacing_mm"), proto.name,
                       can_override=takes_spacing)
    arg = series_list if proto.multi_series else series_list[0]
    return resolved, proto.function(arg, **resolved)


def _with_user_spacing(series: ImageSeries, params: Mapping[str, Any]) -> ImageSeries:
    """The series as the detectors should see it: with the user's pixel size when given (a
    header that is wrong would otherwise steer the automatic choice)."""
    try:
        user = float(params.get("pixel_spacing_mm") or 0)
    except (TypeError, ValueError):
        return series  # the protocol's parameter check will say what is wrong
    return series.with_spacing(user) if math.isfinite(user) and user > 0 else series


def run_protocol(protocol: Protocol | str, inputs: ImageSeries | Sequence[ImageSeries],
                 **params: Any) -> list[Result]:
    """Run one protocol and wrap what it returns into `Result` objects.

    Before the protocol function runs, the modality, image count, parameters and the pixel
    spacing's plausibility (`check_geometry`) are checked. Every failure is an `ImgqaError`
    carrying the protocol name (``exc.protocol``): an unforeseen exception from a kernel is
    re-raised as `InternalAnalysisError` with a plain message (traceback logged at DEBUG).
    """
    from imgqa import __version__

    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    series_list = [inputs] if isinstance(inputs, ImageSeries) else list(inputs)
    try:
        resolved, out = _checked_call(proto, series_list, params)
    except ImgqaError as exc:
        exc.protocol = exc.protocol or proto.name  # for problem lists
        raise
    except Exception as exc:  # a kernel's unforeseen failure: plain words, traceback in the log
        raise internal_error(exc, proto.name, series_list) from exc
    analyses = out if isinstance(out, (list, tuple)) else [out]
    declared = {m.name: m for m in proto.measurements}
    results = []
    for a in analyses:
        unknown = set(a.measurements) - set(declared)
        if unknown:
            raise RuntimeError(f"{proto.name} returned undeclared measurements {sorted(unknown)}")
        ms = tuple(
            Measurement(name=spec.name, value=_jsonable(a.measurements[spec.name]),
                        unit=spec.unit, description=spec.description)
            for spec in proto.measurements if spec.name in a.measurements)
        idents: list[InputIdentity] = []
        for s in series_list:
            if not len(s) and hasattr(s, "input_identity"):  # a dose report (no images)
                idents.append(InputIdentity(*s.input_identity()))
            idx = range(len(s)) if a.frames is None or proto.multi_series else a.frames
            for i in idx:
                idents.append(InputIdentity(s.frames[i].sop_instance_uid, s.pixel_sha256(i),
                                            s.frames[i].source))
        summary = series_list[0].summary()
        if len(series_list) > 1:
            summary["series_count"] = len(series_list)
            summary["images"] = sum(len(s) for s in series_list)
        results.append(Result(
            protocol=proto.name,
            protocol_version=proto.version,
            parameters=resolved,
            series=summary,
            measurements=ms,
            rois=tuple(a.rois),
            curves=tuple(a.curves),
            maps=tuple(a.maps),
            warnings=tuple(dict.fromkeys(a.warnings)),
            inputs=tuple(idents),
            label=a.label,
            extra=dict(a.extra),
            imgqa_version=__version__,
        ))
    return results


# ---------------------------------------------------------------------------------------------
# Batches: one bad series must not stop the others (issue 19, finding 4)
# ---------------------------------------------------------------------------------------------
def _series_name(series_list: Sequence[ImageSeries]) -> str:
    names = [f"'{s.header.series_description or '(no description)'}' ({s.modality or '?'})"
             for s in series_list]
    return names[0] if len(names) == 1 else f"{len(names)} series ({', '.join(names)})"


def _where(series_list: Sequence[ImageSeries]) -> str:
    """The file(s) of a series as problem lists show them: the first, and how many more."""
    sources = [src for s in series_list for src in s.sources]
    if not sources:
        return ""
    return sources[0] if len(sources) == 1 else f"{sources[0]} (+{len(sources) - 1})"


def internal_error(exc: BaseException, protocol: str | None,
                   series_list: Sequence[ImageSeries]) -> InternalAnalysisError:
    """Turn an unforeseen exception into a message a technologist can act on.

    The Python traceback goes to the log at DEBUG level only (``imgqa -v`` shows it); the
    message names the test and the series and keeps the exception's own words, which often
    say what was wrong (e.g. an index out of bounds), but not its Python class name.
    """
    log.debug("%s failed on %s", protocol or "analysis", _series_name(series_list),
              exc_info=(type(exc), exc, exc.__traceback__))
    detail = " ".join(str(exc).split())[:300] or "no further detail"
    what = f"The {protocol} analysis" if protocol else "The analysis"
    err = InternalAnalysisError(
        f"{what} of series {_series_name(series_list)} stopped on an unexpected condition: "
        f"{detail}.")
    err.protocol = protocol
    return err


@dataclass(frozen=True)
class AnalysisProblem:
    """A series (or, for a multi-series protocol, a set of series) that was not analysed.

    ``path``, ``error``, ``hint`` and ``kind`` mean what they mean for a loading
    `imgqa.io.dicom.Problem`, so both kinds can share one list; ``exception`` is the
    `ImgqaError` itself (to raise it when nothing at all could be analysed).
    """

    path: str
    error: str
    hint: str
    kind: str
    protocol: str | None
    series_uids: tuple[str, ...]
    exception: ImgqaError = field(repr=False, compare=False)

    @classmethod
    def from_exception(cls, exc: BaseException, protocol: str | None,
                       series_list: Sequence[ImageSeries]) -> AnalysisProblem:
        err = exc if isinstance(exc, ImgqaError) else internal_error(exc, protocol, series_list)
        return cls(path=_where(series_list), error=err.message, hint=err.hint,
                   kind=type(err).__name__,
                   protocol=err.protocol or protocol,
                   series_uids=tuple(s.header.series_uid for s in series_list), exception=err)

    def full_message(self) -> str:
        return self.exception.full_message()

    def to_dict(self) -> dict[str, Any]:
        """The ``problems`` entry of ``imgqa analyse --format json`` (path + error, and more)."""
        return {"path": self.path, "error": self.full_message(), "kind": self.kind,
                "protocol": self.protocol}


def analyse_batch(series: Sequence[ImageSeries], protocol: Protocol | str | None = None,
                  **params: Any) -> tuple[list[Result], list[AnalysisProblem]]:
    """Analyse each series on its own; a failure becomes that series' problem, not the batch's.

    Parameters
    ----------
    series : sequence of ImageSeries
    protocol : Protocol or str, optional
        As for `analyse_series` (automatic choice when omitted). A ``multi_series`` protocol
        gets all the series at once and fails or succeeds as a whole.
    **params
        Protocol parameters.

    Returns
    -------
    results : list of Result
        From every series that could be analysed, in input order.
    problems : list of AnalysisProblem
        One per series that could not: any `ImgqaError` as it is, any other exception from a
        kernel as an `InternalAnalysisError` (plain message; traceback logged at DEBUG).
    """
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    results: list[Result] = []
    problems: list[AnalysisProblem] = []
    for unit in batch_units(series, proto):
        rs, ps = analyse_unit(unit, proto, **params)
        results.extend(rs)
        problems.extend(ps)
    return results, problems


def batch_units(series: Sequence[ImageSeries], protocol: Protocol | None
                ) -> list[list[ImageSeries]]:
    """The independent pieces of work of a batch, in input order.

    One series per unit, except that a ``multi_series`` protocol (e.g. the two-acquisition
    NEMA SNR) gets all the series together as one unit. `analyse_batch` and the parallel batch
    (`imgqa.parallel`) share this so that both give the same results in the same order.
    """
    if protocol is not None and protocol.multi_series:
        return [list(series)] if series else []
    return [[s] for s in series]


def analyse_unit(unit: Sequence[ImageSeries], protocol: Protocol | None, **params: Any
                 ) -> tuple[list[Result], list[AnalysisProblem]]:
    """Analyse one unit of `batch_units`; any failure becomes its one problem (never raised)."""
    from dataclasses import replace

    try:
        if protocol is not None and protocol.multi_series:
            return [replace(r, choice_reason="Chosen by the user.")
                    for r in run_protocol(protocol, unit, **params)], []
        return list(analyse_series(unit[0], protocol, **params)), []
    except Exception as exc:  # isolation: whatever one series does, the next one runs
        return [], [AnalysisProblem.from_exception(
            exc, protocol.name if protocol is not None else None, unit)]
