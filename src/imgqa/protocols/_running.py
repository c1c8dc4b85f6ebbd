"""Running one protocol: checks before the call, `Result`s after it, plain-words failures.

Owns `run_protocol` (modality, image count, parameters and geometry checked before the
protocol function runs; its `Analysis` objects wrapped into frozen `Result`s),
`internal_error` (an unforeseen kernel exception in words a technologist reads) and
`AnalysisProblem` (a series that could not be analysed). Import these names from
`imgqa.protocols.base`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from imgqa.errors import (
    ImgqaError,
    InternalAnalysisError,
    ParameterError,
    WrongModalityError,
)
from imgqa.io.series import ImageSeries
from imgqa.protocols._declarations import Protocol, _jsonable
from imgqa.protocols._registry import get_protocol
from imgqa.protocols._result import InputIdentity, Measurement, Result
from imgqa.protocols.plausibility import check_geometry

log = logging.getLogger(__name__)


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
    from imgqa._version import __version__

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
