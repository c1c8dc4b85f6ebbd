"""Recognise equipment from DICOM header facts (pure).

Each piece of equipment has match rules: header fields and the values that identify it, by
default device serial number, manufacturer, model and modality, or station name when the
device has no serial. A series matches when every rule field equals the series' value
(case and surrounding spaces ignored). The most specific match wins; a tie between two
pieces of equipment is ambiguous and matches neither, so nothing is filed in the wrong place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

__all__ = ["MATCH_FIELDS", "best_match", "default_rules", "header_facts", "rule_score"]

# (0008,0060) Modality, (0008,0070) Manufacturer, (0008,1090) Manufacturer's Model Name,
# (0018,1000) Device Serial Number, (0008,1010) Station Name, (0008,0080) Institution Name.
MATCH_FIELDS = ("modality", "manufacturer", "model", "serial", "station_name", "institution")

T = TypeVar("T")


def _norm(v: Any) -> str:
    return " ".join(str(v or "").split()).casefold()


def header_facts(series: Any) -> dict[str, str]:
    """Header facts of an `ImageSeries`, or of a `Result.series` summary dict."""
    if isinstance(series, Mapping):
        return {f: str(series.get(f) or "") for f in MATCH_FIELDS}
    h = series.header
    e = h.equipment
    return {"modality": h.modality or "", "manufacturer": e.manufacturer, "model": e.model,
            "serial": e.serial, "station_name": e.station_name, "institution": e.institution}


def default_rules(facts: Mapping[str, str]) -> dict[str, str]:
    """Identifying rules for new equipment: serial if known, else station name."""
    rules = {k: facts[k] for k in ("modality", "manufacturer", "model") if facts.get(k)}
    if facts.get("serial"):
        rules["serial"] = facts["serial"]
    elif facts.get("station_name"):
        rules["station_name"] = facts["station_name"]
    return rules


def rule_score(rules: Mapping[str, str], facts: Mapping[str, str]) -> int:
    """Number of rule fields matched, 0 if any differs or the rules are empty.

    Rules without a serial or station name identify a model, not a device: they match only if
    nothing more specific does (their score is lower).
    """
    used = {k: v for k, v in rules.items() if k in MATCH_FIELDS and _norm(v)}
    if not used:
        return 0
    for k, v in used.items():
        if _norm(facts.get(k)) != _norm(v):
            return 0
    identifying = sum(1 for k in ("serial", "station_name") if k in used)
    return len(used) + 10 * identifying


def best_match(candidates: Iterable[tuple[T, Mapping[str, str]]], facts: Mapping[str, str]
               ) -> tuple[T | None, Sequence[T]]:
    """(winner or None, all tied best candidates) for the header facts."""
    scored = [(rule_score(rules, facts), item) for item, rules in candidates]
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None, []
    top = max(s for s, _ in scored)
    best = [item for s, item in scored if s == top]
    return (best[0] if len(best) == 1 else None), best
