"""The registry of validation checks: which phantom proves which protocol, against what truth.

A *check* compares one measurement of one protocol, run through the real pipeline (DICOM written
by `imgqa.phantoms` → `imgqa.analyse` → `Result`), with the analytic ground truth the phantom
maker wrote beside the images. Checks are declared with the `check` decorator on the function
that writes the phantom, next to each other per area (`imgqa.validation.ct`, ``.mr``, ``.nm``,
``.xray``, ``.generic``)::

    @check("ct.ttf", source="Gaussian PSF: MTF(f) = exp(−2π²σ²f²)",
           measure=[Measure("mtf50", rel_tol=0.05), Measure("contrast_hu", abs_tol=5.0)])
    def ct_rod(root: Path) -> Path:
        ...  # write DICOM + ground_truth.json into root / "ct_rod", return that folder

Decorators stack: one phantom may validate several protocols. Every registered protocol must
have at least one check (`missing_protocols`, enforced by ``tests/test_validation.py``), with
one explicit exception (`needs_check`): a protocol of kind ``"manual"`` (checklists and meter
readings typed in, `imgqa.protocols.manual`) computes nothing, so there is no method to
validate; its typed values are judged by the same tolerance logic as every other result.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Check", "Measure", "check", "all_checks", "phantom_makers", "missing_protocols",
           "needs_check"]

PhantomMaker = Callable[[Path], Path]

_AREAS = ("ct", "mr", "nm", "xray", "generic", "dose", "mammo")


@dataclass(frozen=True, slots=True)
class Check:
    """Compare measurement `measurement` of `protocol` on phantom `phantom` with truth `truth_key`.

    ``truth_key`` may be a dotted path into nested ground truth (``"ctp528.mtf50_lp_per_cm"``).
    ``abs_tol`` and ``rel_tol`` (fraction) are alternatives: the larger allowed error applies.
    ``source`` says in one line where the truth comes from (analytic formula or reference);
    ``why`` justifies the tolerance. ``params`` are the protocol parameters used; with
    ``auto`` imgqa chooses the protocol itself (so the check also covers protocol detection).
    """

    phantom: str
    protocol: str
    measurement: str
    truth_key: str
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    why: str = ""
    source: str = ""
    params: tuple[tuple[str, Any], ...] = ()
    auto: bool = False

    def allowed(self, truth: float) -> float:
        """Allowed |measured − truth| for this truth value (units of the measurement)."""
        return max(self.abs_tol, self.rel_tol * abs(truth))

    def tolerance_text(self) -> str:
        """The tolerance as declared, e.g. ``±0.5``, ``±3 %`` or ``±0.5 or ±3 %``."""
        parts = []
        if self.abs_tol:
            parts.append(f"±{self.abs_tol:g}")
        if self.rel_tol:
            parts.append(f"±{100 * self.rel_tol:g} %")
        return " or ".join(parts) or "exact"


@dataclass(frozen=True, slots=True)
class Measure:
    """One measurement compared by a `check` declaration (truth key defaults to its name)."""

    measurement: str
    truth_key: str | None = None
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    why: str = ""


_CHECKS: list[Check] = []
_MAKERS: dict[str, PhantomMaker] = {}
_loaded = False


def check(protocol: str, *, source: str, measure: Iterable[Measure],
          params: Mapping[str, Any] | None = None, auto: bool = False,
          phantom: str | None = None) -> Callable[[PhantomMaker], PhantomMaker]:
    """Register checks of `protocol` on the phantom written by the decorated function.

    Parameters
    ----------
    protocol : str
        Registered protocol name (contract, e.g. ``"ct.nps"``).
    source : str
        One line: the analytic formula or reference the truth comes from.
    measure : iterable of Measure
        The measurements compared, each with its tolerance.
    params : mapping, optional
        Protocol parameters to run with.
    auto : bool
        Let imgqa choose the protocol (the check then also fails if it chooses another).
    phantom : str, optional
        Phantom name; the function's name by default.
    """
    frozen_params = tuple(sorted((params or {}).items()))

    def register(maker: PhantomMaker) -> PhantomMaker:
        name = phantom or maker.__name__
        if _MAKERS.get(name, maker) is not maker:
            raise ValueError(f"two validation phantoms are called {name!r}")
        _MAKERS[name] = maker
        for m in measure:
            _CHECKS.append(Check(name, protocol, m.measurement, m.truth_key or m.measurement,
                                 m.abs_tol, m.rel_tol, m.why, source, frozen_params, auto))
        return maker

    return register


def _load_areas() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    package = __name__.rsplit(".", 1)[0]
    for area in _AREAS:
        importlib.import_module(f"{package}.{area}")


def all_checks() -> tuple[Check, ...]:
    """Every declared check, area by area in declaration order."""
    _load_areas()
    return tuple(_CHECKS)


def phantom_makers() -> dict[str, PhantomMaker]:
    """Phantom name → function writing it (DICOM + ground_truth.json) under a root folder."""
    _load_areas()
    return dict(_MAKERS)


def needs_check(protocol: Any) -> bool:
    """Whether a registered protocol must have a validation check.

    The one exception is a protocol of kind ``"manual"``: its values are typed in by a person
    (a checklist item, a meter reading), nothing is computed from images, so there is no
    computation a digital phantom could validate.
    """
    return getattr(protocol, "kind", "analysis") != "manual"


def missing_protocols() -> list[str]:
    """Registered protocols that need a validation check and have none (should be empty)."""
    from imgqa.protocols import all_protocols

    covered = {c.protocol for c in all_checks()}
    return sorted(p.name for p in all_protocols() if needs_check(p) and p.name not in covered)

