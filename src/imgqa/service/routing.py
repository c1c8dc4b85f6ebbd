"""Routing rules → what to do with a series that arrived without a person (pure).

`match_rule(rules, header)` picks the rule for a series header among the active routing rules
(`imgqa.store.rules`); `rules_route(rules)` turns them into the ``route(header) ->
RouteDecision`` seam of `imgqa.service.automatic`.

A rule matches when every condition it sets holds (unset conditions match anything):

* modality, station name, device serial number, manufacturer, model: equal to the header's
  value, case and surrounding/multiple spaces ignored;
* description: the regular expression is *searched* (case-insensitive) in SeriesDescription
  and in ProtocolName — either may match;
* rows / columns: equal to the image size.

**Most specific wins.** A matching rule scores 10 for each identifying condition (serial,
station name), 5 for a description pattern and 1 for each of rows, columns, modality,
manufacturer and model. The highest score wins; between equal scores that lead to
the same protocol, parameters and equipment the newest rule wins (they agree anyway); equal
scores that disagree are **ambiguous** and match nothing, so a series is never analysed the
wrong way — it waits in the inbox with the reason naming the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from imgqa.io.series import HeaderSummary
from imgqa.service.automatic import Route, RouteDecision, SeriesOutcome, analyse_complete
from imgqa.store.records import RuleRecord

__all__ = ["RuleMatch", "analyse_automatically", "analyse_with_rules", "match_rule",
           "rule_score", "rules_route", "valid_pattern"]

_TEXT = ("modality", "station_name", "serial", "manufacturer", "model")
_WEIGHT = {"serial": 10, "station_name": 10, "description": 5, "rows": 1, "columns": 1,
           "modality": 1, "manufacturer": 1, "model": 1}


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """The winning rule and its score; ``tied`` lists other rules of equal score that agree."""

    rule: RuleRecord
    score: int
    tied: tuple[int, ...] = ()


def _norm(v: object) -> str:
    return " ".join(str(v or "").split()).casefold()


def valid_pattern(pattern: str) -> str | None:
    """None when ``pattern`` compiles as a regular expression, else the error in words."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return str(exc)
    return None


def _facts(h: HeaderSummary) -> dict[str, str]:
    e = h.equipment
    return {"modality": h.modality, "station_name": e.station_name, "serial": e.serial,
            "manufacturer": e.manufacturer, "model": e.model}


def rule_score(rule: RuleRecord, header: HeaderSummary) -> int:
    """The rule's specificity if it matches the header, else 0 (also for a rule with no
    condition, or an inactive one)."""
    if not rule.active:
        return 0
    facts = _facts(header)
    score = 0
    for k in _TEXT:
        want = _norm(getattr(rule, k))
        if want:
            if _norm(facts[k]) != want:
                return 0
            score += _WEIGHT[k]
    if rule.description:
        try:
            rx = re.compile(rule.description, re.IGNORECASE)
        except re.error:
            return 0
        if not (rx.search(header.series_description or "")
                or rx.search(header.protocol_name or "")):
            return 0
        score += _WEIGHT["description"]
    for k, have in (("rows", header.rows), ("columns", header.columns)):
        want_n = getattr(rule, k)
        if want_n is not None:
            if int(want_n) != int(have or 0):
                return 0
            score += _WEIGHT[k]
    return score


def _outcome(r: RuleRecord) -> tuple[object, ...]:
    return (r.protocol, tuple(sorted((k, str(v)) for k, v in r.params.items())),
            r.equipment_id, r.create_equipment)


def _ranked(rules: Sequence[RuleRecord], header: HeaderSummary
            ) -> tuple[int, list[RuleRecord]]:
    scored = [(rule_score(r, header), r) for r in rules]
    scored = [(s, r) for s, r in scored if s > 0]
    if not scored:
        return 0, []
    top = max(s for s, _ in scored)
    best = sorted((r for s, r in scored if s == top), key=lambda r: r.rule_id, reverse=True)
    return top, best


def match_rule(rules: Sequence[RuleRecord], header: HeaderSummary) -> RuleMatch | None:
    """The most specific active rule matching ``header``; None when none matches or the
    best ones disagree (ambiguous; see the module docstring)."""
    top, best = _ranked(rules, header)
    if not best or len({_outcome(r) for r in best}) > 1:
        return None
    return RuleMatch(best[0], top, tuple(r.rule_id for r in best[1:]))


def rules_route(rules: Sequence[RuleRecord]) -> Route:
    """A ``route(header)`` for `imgqa.service.automatic.analyse_complete` using ``rules``:
    the matching rule's protocol and parameters, or wait in the inbox with the reason."""
    active = [r for r in rules if r.active]

    def route(header: HeaderSummary) -> RouteDecision:
        hit = match_rule(active, header)
        if hit is not None:
            r = hit.rule
            return RouteDecision(True, r.protocol, dict(r.params),
                                 f"rule {r.rule_id} (version {r.version})", rule_id=r.rule_id,
                                 rule_version=r.version, equipment_id=r.equipment_id,
                                 create_equipment=r.create_equipment)
        _, best = _ranked(active, header)
        what = (f"{header.modality or '?'} station '{header.equipment.station_name}' serial "
                f"'{header.equipment.serial}' series '{header.series_description}'")
        if best:
            ids = ", ".join(str(i) for i in sorted(r.rule_id for r in best))
            return RouteDecision(False, None, {}, f"ambiguous: rules {ids} match {what} "
                                 "equally well but disagree; make one more specific or "
                                 "disable one")
        if not active:
            return RouteDecision(False, None, {}, "no routing rules yet: add one with "
                                 "`imgqa rule add`")
        return RouteDecision(False, None, {}, f"no routing rule matches {what}")

    return route


def analyse_automatically(job: tuple) -> list[SeriesOutcome]:
    """`analyse_complete` of ``(paths, update, series_uid)`` with the test chosen from each
    series (no rules): what a worker process runs for ``imgqa watch`` and ``imgqa receive
    --analyse`` bursts (`imgqa.cli._auto.SummaryPrinter.prepare`)."""
    paths, update, series_uid = job
    return analyse_complete(paths, update=update, series_uid=series_uid)


def analyse_with_rules(job: tuple) -> list[SeriesOutcome]:
    """`analyse_complete` of ``(paths, rules, update, series_uid)`` routed by
    `rules_route(rules)`: what a worker process runs for `SessionSaver.prepare`. It lives
    here, not beside the saver, so that a worker imports the routing and analysis code only,
    not the store (SQLAlchemy: 0.2 s per worker per burst, measured)."""
    paths, rules, update, series_uid = job
    return analyse_complete(paths, rules_route(rules), update=update, series_uid=series_uid)
