"""Run the validation checks: write each phantom once, analyse it, compare with its truth."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgqa.api import analyse
from imgqa.errors import ImgqaError, ParameterError
from imgqa.phantoms import read_ground_truth
from imgqa.validation.registry import Check, all_checks, phantom_makers

__all__ = ["CheckOutcome", "run_validation"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    """The result of one check: truth, measured value, pass/fail and a note."""

    check: Check
    truth: float | None
    measured: float | None
    passed: bool
    note: str = ""

    @property
    def error(self) -> float | None:
        """measured − truth (units of the measurement), None when either is missing."""
        if self.truth is None or self.measured is None:
            return None
        return self.measured - self.truth

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        return {"phantom": c.phantom, "protocol": c.protocol, "measurement": c.measurement,
                "truth": self.truth, "measured": self.measured, "error": self.error,
                "allowed": c.allowed(self.truth) if self.truth is not None else None,
                "passed": self.passed, "note": self.note,
                "tolerance": c.tolerance_text(), "source": c.source}


def run_validation(workdir: str | Path | None = None, *,
                   phantoms: Iterable[str] | None = None,
                   protocols: Iterable[str] | None = None) -> list[CheckOutcome]:
    """Write the validation phantoms, analyse them and compare with the truth.

    Parameters
    ----------
    workdir : path, optional
        Where to write the phantoms (kept); a temporary folder (deleted) by default.
    phantoms : names, optional
        Only the checks on these phantoms.
    protocols : names, optional
        Only the checks of these protocols.
    """
    wanted_ph = set(phantoms) if phantoms else None
    wanted_pr = set(protocols) if protocols else None
    _refuse_unknown(wanted_ph, {c.phantom for c in all_checks()}, "validation phantom")
    _refuse_unknown(wanted_pr, {c.protocol for c in all_checks()}, "protocol")
    checks = [c for c in all_checks()
              if (wanted_ph is None or c.phantom in wanted_ph)
              and (wanted_pr is None or c.protocol in wanted_pr)]
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="imgqa-validate-") as tmp:
            return _run(Path(tmp), checks)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    return _run(Path(workdir), checks)


def _refuse_unknown(wanted: set[str] | None, known: set[str], what: str) -> None:
    unknown = sorted((wanted or set()) - known)
    if unknown:
        raise ParameterError(f"There is no {what} called {', '.join(unknown)}.",
                             hint="Known: " + ", ".join(sorted(known)))


def _run(root: Path, checks: list[Check]) -> list[CheckOutcome]:
    makers = phantom_makers()
    by_phantom: dict[str, list[Check]] = {}
    for c in checks:
        by_phantom.setdefault(c.phantom, []).append(c)
    outcomes: list[CheckOutcome] = []
    for name, group in by_phantom.items():
        try:
            folder = makers[name](root)
            truth = read_ground_truth(folder)
        except (OSError, ValueError, KeyError) as exc:
            # A phantom that cannot be written fails its checks; the others still run.
            outcomes += [CheckOutcome(c, None, None, False, f"phantom not written: {exc}")
                         for c in group]
            continue
        results: dict[tuple, Any] = {}
        for c in group:
            key = (c.protocol, c.params, c.auto)
            if key not in results:
                results[key] = _analyse(folder, c)
            outcomes.append(_compare(c, truth, results[key]))
    return outcomes


def _analyse(folder: Path, c: Check) -> Any:
    """The Result of `c.protocol` on `folder`, or a message saying why there is none."""
    try:
        results = (analyse(folder, **dict(c.params)) if c.auto
                   else analyse(folder, c.protocol, **dict(c.params)))
    except ImgqaError as exc:
        return exc.full_message()
    chosen = [r for r in results if r.protocol == c.protocol]
    if not chosen:
        names = ", ".join(sorted({r.protocol for r in results})) or "none"
        return f"imgqa chose {names} instead of {c.protocol}"
    return chosen[-1]


def _truth_value(truth: dict[str, Any], key: str) -> Any:
    value: Any = truth
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _compare(check: Check, truth: dict[str, Any], result: Any) -> CheckOutcome:
    expected = _truth_value(truth, check.truth_key)
    if isinstance(result, str):
        return CheckOutcome(check, expected, None, False, result)
    try:
        measured = result.value(check.measurement)
    except KeyError:
        return CheckOutcome(check, expected, None, False, "measurement missing")
    if expected is None or measured is None or not math.isfinite(measured):
        return CheckOutcome(check, expected, measured, False, "no value")
    ok = abs(measured - float(expected)) <= check.allowed(float(expected)) + 1e-12
    return CheckOutcome(check, float(expected), float(measured), ok, check.why)
