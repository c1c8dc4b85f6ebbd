"""What a protocol declares and what its function returns (the protocol author's API).

Owns the declarations (`MeasurementSpec`, `ParameterSpec`, `Protocol`, the `Detector` type),
what an analysis returns for display (`Roi`, `Curve`, `ImageMap`, `Analysis`), the shared
first step of mm-based protocols (`with_pixel_size`) and the JSON conversion of numbers
(`_jsonable`). Pure data: no registry, no running. Import these names from
`imgqa.protocols.base`, which re-exports them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from imgqa.errors import (
    ParameterError,
)
from imgqa.io.series import ImageSeries


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
    group_key : callable or None
        For a ``multi_series`` protocol whose acquisition is written as several series (one
        per inversion time, say): ``group_key(series)`` gives the same hashable key to the
        series of one acquisition, None to a series it does not group. In an automatic
        batch, two or more series with one key are analysed together by this protocol
        (`imgqa.protocols.base.batch_units`).
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
    group_key: Callable[[ImageSeries], Hashable | None] | None = None

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
