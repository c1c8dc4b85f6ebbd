"""The packaged default tolerance sets (``imgqa/resources/tolerances/*.toml``).

Each entry names a protocol and a measurement (a glob pattern, e.g. ``geometric_accuracy_*``),
a reference (a fixed number, or ``"baseline"`` for the equipment's own baseline), a kind and
up to four offsets, and cites its source. Entries may be limited to a field-strength range,
and to the analysis conditions a result was made under (``when = {phantom = "medium"}``: the
parameter values the analysis *resolved*, see `result_conditions`, so ``phantom=auto`` that
found the medium phantom matches). The first entry that matches (file order, files sorted by
name) is used; an entry with ``when`` never matches when the conditions are unknown.

Defaults apply when the equipment has no tolerance of its own; every result stores the
numbers that were in force, so a later change of these files never rewrites history.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources

from imgqa.errors import ToleranceError
from imgqa.evaluate import Tolerance

__all__ = ["DefaultTolerance", "default_tolerances", "defaults_for", "evaluate_with_defaults",
           "find_default", "result_conditions"]

Conditions = Mapping[str, str]


def result_conditions(result) -> dict[str, str]:  # result: imgqa.protocols.Result
    """The analysis conditions of a result that default entries' ``when`` can match.

    The result's parameters (scalars, as text), overridden by the values the analysis
    resolved, ``extra["resolved"]`` (e.g. mr.acr's ``phantom="auto"`` resolved to
    ``"medium"``): what was actually analysed decides the criteria, not what was asked for.
    """
    out: dict[str, str] = {}
    for k, v in dict(getattr(result, "parameters", None) or {}).items():
        if isinstance(v, (str, int, float, bool)):
            out[str(k)] = str(v)
    extra = getattr(result, "extra", None) or {}
    resolved = extra.get("resolved") if isinstance(extra, Mapping) else None
    if isinstance(resolved, Mapping):
        out.update({str(k): str(v) for k, v in resolved.items()})
    return out


@dataclass(frozen=True, slots=True)
class DefaultTolerance:
    """One entry of a default tolerance file."""

    protocol: str
    measurement: str  # glob pattern
    tolerance: Tolerance
    reference: float | None  # None: the equipment's baseline is the reference
    source: str
    verify: bool
    file: str
    field_strength_min_t: float | None = None
    field_strength_max_t: float | None = None
    # Analysis conditions the entry is limited to (parameter → resolved value); empty: any.
    when: tuple[tuple[str, str], ...] = field(default=())

    @property
    def uses_baseline(self) -> bool:
        return self.reference is None

    def matches(self, protocol: str, measurement: str,
                field_strength_t: float | None = None,
                conditions: Conditions | None = None) -> bool:
        if protocol != self.protocol or not fnmatch.fnmatchcase(measurement, self.measurement):
            return False
        if self.when:
            if conditions is None:  # conditional entry, unknown conditions: do not guess
                return False
            if any(conditions.get(k) != v for k, v in self.when):
                return False
        if self.field_strength_min_t is None and self.field_strength_max_t is None:
            return True
        if field_strength_t is None:  # conditional entry, unknown field strength: do not guess
            return False
        lo = self.field_strength_min_t if self.field_strength_min_t is not None else -1e9
        hi = self.field_strength_max_t if self.field_strength_max_t is not None else 1e9
        return lo <= field_strength_t <= hi


def _num(entry: dict, key: str, where: str) -> float | None:
    v = entry.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ToleranceError(f"{where}: {key} must be a number, got {v!r}.")
    return float(v)


def _parse(name: str, text: str) -> list[DefaultTolerance]:
    import tomllib  # here: commands that only import this module (history, due) never parse

    data = tomllib.loads(text)
    out = []
    for i, e in enumerate(data.get("tolerance", []), start=1):
        where = f"{name} entry {i}"
        for key in ("protocol", "measurement", "kind", "reference", "source"):
            if key not in e:
                raise ToleranceError(f"{where} has no {key!r}.")
        tol = Tolerance(e["kind"], _num(e, "act_low", where), _num(e, "tol_low", where),
                        _num(e, "tol_high", where), _num(e, "act_high", where))
        ref = None if e["reference"] == "baseline" else _num(e, "reference", where)
        when = e.get("when", {})
        if not isinstance(when, dict) or not all(
                isinstance(v, (str, int, float)) and not isinstance(v, bool)
                for v in when.values()):
            raise ToleranceError(f"{where}: when must be a table of parameter = value, "
                                 f"got {when!r}.")
        out.append(DefaultTolerance(
            protocol=e["protocol"], measurement=e["measurement"], tolerance=tol, reference=ref,
            source=str(e["source"]), verify=bool(e.get("verify", False)), file=name,
            field_strength_min_t=_num(e, "field_strength_min_t", where),
            field_strength_max_t=_num(e, "field_strength_max_t", where),
            when=tuple(sorted((str(k), str(v)) for k, v in when.items()))))
    return out


@lru_cache(maxsize=1)
def _files() -> tuple[tuple[str, str], ...]:
    """(name, text) of every packaged default tolerance file, sorted by name."""
    folder = resources.files("imgqa").joinpath("resources", "tolerances")
    return tuple((item.name, item.read_text(encoding="utf-8"))
                 for item in sorted(folder.iterdir(), key=lambda p: p.name)
                 if item.name.endswith(".toml"))


@cache
def _parsed(name: str) -> tuple[DefaultTolerance, ...]:
    return tuple(_parse(name, dict(_files())[name]))


@lru_cache(maxsize=1)
def default_tolerances() -> tuple[DefaultTolerance, ...]:
    """Every packaged default tolerance entry, in precedence order."""
    return tuple(d for name, _ in _files() for d in _parsed(name))


@cache
def defaults_for(protocol: str) -> tuple[DefaultTolerance, ...]:
    """The packaged entries of one protocol, in precedence order.

    Only the files whose text names the protocol are parsed: an entry matches a protocol only
    when its ``protocol`` string equals it, so a file without the name has no entry for it
    (tests/store/test_store_defaults.py checks this against `default_tolerances` for every
    protocol). Judging one series then parses one file, not all nine (≈ 15 ms less per
    ``imgqa analyse`` process, docs/validation.md "Whole-process CLI timings").
    """
    return tuple(d for name, text in _files() if protocol in text
                 for d in _parsed(name) if d.protocol == protocol)


def find_default(protocol: str, measurement: str, field_strength_t: float | None = None,
                 conditions: Conditions | None = None) -> DefaultTolerance | None:
    """The first default entry for this measurement, or None.

    ``conditions``: the result's analysis conditions (`result_conditions`); entries limited
    by ``when`` are skipped without them.

    A pass/fail checklist item without an entry (e.g. of a department checklist) gets the
    checklist rule: pass required (`imgqa.protocols.manual.checklist_default`).
    """
    for d in defaults_for(protocol):
        if d.matches(protocol, measurement, field_strength_t, conditions):
            return d
    if protocol.startswith("manual."):
        from imgqa.protocols.manual import checklist_default

        return checklist_default(protocol, measurement)
    return None


def evaluate_with_defaults(result, field_strength_t: float | None = None):  # -> Result
    """Statuses from the packaged defaults alone (fixed references only; no database).

    Used when no equipment is known: criteria such as water 0 ± 5 HU or PIU ≥ 87.5 % can be
    judged without a baseline; baseline-relative criteria give ``NO_TOL``.
    """
    from imgqa.evaluate import evaluate

    statuses = {}
    cond = result_conditions(result)
    for meas in result.measurements:
        d = find_default(result.protocol, meas.name, field_strength_t, cond)
        if d is None or d.reference is None:
            statuses[meas.name] = None if meas.value is None else "NO_TOL"
        else:
            statuses[meas.name] = evaluate(meas.value, d.reference, d.tolerance)
    return result.with_statuses(statuses)
