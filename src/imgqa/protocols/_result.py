"""The immutable outcome of a protocol run: `Result`, its `Measurement`s and input identities.

Owns `Measurement`, `InputIdentity` and `Result` with its JSON form. A measurement's tolerance
verdict is typed with `imgqa.status.StatusName` (re-exported here as `Status`). Import these
names from `imgqa.protocols.base`, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from imgqa.protocols._declarations import Curve, ImageMap, Roi, _jsonable
from imgqa.status import StatusName as Status


# ---------------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------------
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
