"""Analyse a complete series without a person: route it, run the test, summarise the outcome.

`analyse_complete(paths, route)` is the default `handle_complete` of the watcher (and, later,
of the receiver): it loads the series' files, asks the routing function what to do with each
series, runs the chosen test through `imgqa.api` and returns `SeriesOutcome`s, one per series,
never raising for a bad series (a batch goes on).

Seams for the next parts of issue 12:

* **Routing.** ``route(header) -> RouteDecision`` receives the series' `HeaderSummary`
  (StationName, DeviceSerialNumber, manufacturer and model, description, modality, size) and
  decides: analyse with this protocol and these parameters, or wait in the inbox with a reason.
  `automatic_route` (the default of ``imgqa watch``/``receive --analyse``) lets imgqa choose
  the test from the images, as ``imgqa analyse`` does; `imgqa.service.routing.rules_route`
  routes by the routing rules stored in the database (``imgqa serve``).
* **Saving.** Whoever calls `analyse_complete` receives the `Result`s; `imgqa.service.saving`
  saves them as a session *pending review* (no database in this module).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imgqa._version import __version__
from imgqa.errors import ImgqaError
from imgqa.formatting import format_value
from imgqa.io.series import HeaderSummary
from imgqa.protocols.base import Result, key_measurement, measurement_label

__all__ = ["RouteDecision", "Route", "SeriesOutcome", "analyse_complete", "automatic_route"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """What to do with a complete series.

    Attributes
    ----------
    analyse : bool
        False: leave the series in the inbox; `reason` says why (shown to the user).
    protocol : str or None
        The test to run; None lets imgqa choose from the images (`imgqa.api.analyse`).
    params : mapping
        Protocol parameters (as ``--param`` gives them).
    reason : str
        Why this decision, in words (e.g. "rule 4: CT_ROOM1 water phantom").
    rule_id, rule_version : int or None
        The routing rule that decided (`imgqa.service.routing`), recorded with the session.
    equipment_id : int or None
        The equipment the rule files the series under; None: matched from the header.
    create_equipment : bool
        Register the device from the header when no equipment matches it.
    """

    analyse: bool = True
    protocol: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    rule_id: int | None = None
    rule_version: int | None = None
    equipment_id: int | None = None
    create_equipment: bool = False


Route = Callable[[HeaderSummary], RouteDecision]


def automatic_route(header: HeaderSummary) -> RouteDecision:
    """The default route: every series is analysed, the test chosen from its images."""
    return RouteDecision(True, None, {}, "no routing rules yet: test chosen from the images")


@dataclass(frozen=True)
class SeriesOutcome:
    """What became of one complete series (no patient data: UIDs, descriptions, numbers)."""

    series_uid: str
    description: str
    modality: str
    n_images: int
    route: RouteDecision
    results: tuple[Result, ...] = ()
    problems: tuple[Mapping[str, str], ...] = ()
    update: bool = False

    @property
    def state(self) -> str:
        """``analysed``, ``waiting`` (not routed to a test) or ``failed``."""
        if not self.route.analyse:
            return "waiting"
        return "analysed" if self.results else "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"imgqa_version": __version__, "state": self.state,
                "series_instance_uid": self.series_uid, "description": self.description,
                "modality": self.modality, "images": self.n_images, "update": self.update,
                "route": {"protocol": self.route.protocol, "params": dict(self.route.params),
                          "reason": self.route.reason, "rule_id": self.route.rule_id},
                "results": [_with_labels(r) for r in self.results],
                "problems": [dict(p) for p in self.problems]}

    def summary_line(self) -> str:
        """One line for a log or a terminal."""
        what = (f"{self.modality} '{self.description}' ({self.n_images} images)"
                if self.n_images else f"series {self.series_uid or '?'} (no image loads)")
        if self.state == "waiting":
            return f"waiting: {what}: {self.route.reason}"
        if self.state == "failed":
            first = self.problems[0]["error"] if self.problems else "no result"
            return f"failed: {what}: {first}"
        parts = [_headline(r) for r in self.results]
        tail = f"; {len(self.problems)} problem(s)" if self.problems else ""
        return f"analysed: {what}: " + "; ".join(parts) + tail


def _with_labels(r: Result) -> dict[str, Any]:
    """The result's JSON as ``imgqa analyse --format json`` gives it, with each measurement's
    human ``label`` beside its ``name``."""
    d = r.to_dict()
    for m in d["measurements"]:
        m["label"] = measurement_label(r.protocol, m["name"])
    return d


def _headline(r: Result) -> str:
    key = key_measurement(r.protocol)
    m = next((m for m in r.measurements if m.name == key), None)
    if m is None and r.measurements:
        m = r.measurements[0]
    if m is None:
        return r.protocol
    warn = f" ({len(r.warnings)} warning(s))" if r.warnings else ""
    return (f"{r.protocol} {measurement_label(r.protocol, m.name)} = "
            f"{format_value(m.value)} {m.unit}".rstrip() + warn)


def _problem(p: Any) -> dict[str, str]:
    """A load or analysis problem as a plain dict (path, error, hint, kind)."""
    if hasattr(p, "to_dict"):
        return {k: str(v) for k, v in p.to_dict().items()}
    return {"path": str(getattr(p, "path", "")), "error": str(getattr(p, "error", p)),
            "hint": str(getattr(p, "hint", "")), "kind": str(getattr(p, "kind", ""))}


def analyse_complete(paths: Iterable[Path | str], route: Route = automatic_route,
                     update: bool = False, series_uid: str = "") -> list[SeriesOutcome]:
    """Load the files of a complete series, route and analyse each series found in them.

    Parameters
    ----------
    paths : iterable of path
        The series' files (usually one series; a folder export may hold several).
    route : callable
        ``route(header) -> RouteDecision`` (default `automatic_route`).
    update : bool
        The series had completed before and new images arrived (passed through to outcomes).
    series_uid : str
        The Series Instance UID the files were collected under, named in the outcome when
        none of them loads.

    Returns
    -------
    list of SeriesOutcome
        One per series; files that could not be loaded are listed as problems of an outcome
        (an outcome with no series is returned for a set of files none of which loads).
    """
    from imgqa import api

    files = [Path(p) for p in paths]
    loaded = api.load(files)
    load_problems = tuple(_problem(p) for p in loaded.problems)
    if not loaded:
        return [SeriesOutcome(series_uid, "", "", 0, RouteDecision(True, None, {}, ""), (),
                              load_problems or ({"path": "", "error": "no images",
                                                 "kind": "EmptyInputError"},), update)]
    outcomes = []
    for i, series in enumerate(loaded):
        h = series.header
        problems = load_problems if i == 0 else ()
        try:
            decision = route(h)
        except Exception as exc:  # a broken rule must not stop the other series
            log.warning("routing failed for series %s: %s", h.series_uid, exc)
            decision = RouteDecision(False, None, {}, f"routing failed: {exc}")
        results: tuple[Result, ...] = ()
        if decision.analyse:
            try:
                done = api.analyse(series, decision.protocol, **dict(decision.params))
                results = tuple(done)
                problems += tuple(_problem(p) for p in done.problems)
            except ImgqaError as exc:
                problems += ({"path": h.series_uid, "error": exc.message,
                              "kind": type(exc).__name__},)
            except Exception as exc:  # an unforeseen failure is this series' problem only
                log.warning("analysis of series %s failed", h.series_uid, exc_info=True)
                problems += ({"path": h.series_uid, "error": f"unexpected error: {exc}",
                              "kind": type(exc).__name__},)
        outcomes.append(SeriesOutcome(h.series_uid, h.series_description or h.protocol_name,
                                      h.modality, len(series), decision, results, problems,
                                      update))
    return outcomes
