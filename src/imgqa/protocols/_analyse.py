"""Choosing the test for a series and analysing series and batches.

Owns the automatic choice (`Detection`, `detect_protocols`, `candidate_protocols`,
`choose_protocol` and the words of `choice_reason`), `analyse_series` (best claim first, the
next on `AnalysisError`, ``generic.roi`` as the announced fall-back) and the batch functions
(`analyse_batch`, `batch_units`, `analyse_unit`: one bad series never stops the others).
Import these names from `imgqa.protocols.base`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imgqa.io.series import ImageSeries
from imgqa.protocols._declarations import Protocol
from imgqa.protocols._registry import all_protocols, get_protocol
from imgqa.protocols._result import Result
from imgqa.protocols._running import AnalysisProblem, _with_user_spacing, run_protocol
from imgqa.protocols.plausibility import check_geometry

log = logging.getLogger(__name__)


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
    NEMA SNR) gets all the series together as one unit, and that with the automatic choice
    the series a protocol groups (`Protocol.group_key`: e.g. the one-TI series of a T1
    relaxometry acquisition) form one unit, analysed by that protocol (`analyse_unit`).
    `analyse_batch` and the parallel batch (`imgqa.parallel`) share this so that both give
    the same results in the same order.
    """
    if protocol is not None and protocol.multi_series:
        return [list(series)] if series else []
    return [list(unit) for unit in _grouped(series)]


def _grouped(series: Sequence[ImageSeries]) -> list[list[ImageSeries]]:
    """The automatic batch's units: each series alone, except the series that a protocol's
    `Protocol.group_key` gives one key (two or more), which form one unit where the first
    of them stands."""
    groupers = _groupers()
    units: list[list[ImageSeries]] = []
    members: dict[tuple[str, Any], list[ImageSeries]] = {}
    for s in series:
        key = _group_of(s, groupers)
        if key is None:
            units.append([s])
        elif key in members:
            members[key].append(s)
        else:
            members[key] = [s]
            units.append(members[key])
    # a key held by one series only: that series is analysed alone, as it would have been
    return units


def _groupers() -> list[Protocol]:
    """The multi-series protocols that group series of one acquisition (`group_key`)."""
    return [p for p in all_protocols() if p.group_key is not None and p.multi_series]


def _group_of(series: ImageSeries, groupers: Sequence[Protocol]) -> tuple[str, Any] | None:
    """(protocol name, key) of the first protocol that groups this series, or None."""
    for proto in groupers:
        if not proto.accepts(series):
            continue
        try:
            key = proto.group_key(series)  # type: ignore[misc]
        except Exception:  # a grouping hook must never stop a batch: the series stays alone
            log.debug("group_key of %s failed", proto.name, exc_info=True)
            continue
        if key is not None:
            return proto.name, key
    return None


def grouping_protocol(unit: Sequence[ImageSeries]) -> Protocol | None:
    """The protocol that grouped an automatic batch's unit of several series (None for a
    unit of one series)."""
    if len(unit) < 2:
        return None
    found = _group_of(unit[0], _groupers())
    return get_protocol(found[0]) if found is not None else None


def analyse_unit(unit: Sequence[ImageSeries], protocol: Protocol | None, **params: Any
                 ) -> tuple[list[Result], list[AnalysisProblem]]:
    """Analyse one unit of `batch_units`; any failure becomes its one problem (never raised)."""
    from dataclasses import replace

    grouped = grouping_protocol(unit) if protocol is None else None
    if grouped is not None:
        try:
            reason = (f"Automatic: {len(unit)} series of one acquisition analysed together "
                      f"by {grouped.name} ({grouped.inputs}).")
            return [replace(r, choice_reason=reason)
                    for r in run_protocol(grouped, unit, **params)], []
        except Exception:  # not that acquisition after all: each series as it would have been
            log.debug("%s on %d grouped series failed; analysing them one by one",
                      grouped.name, len(unit), exc_info=True)
            outcomes = [analyse_unit([s], None, **params) for s in unit]
            return ([r for rs, _ in outcomes for r in rs],
                    [p for _, ps in outcomes for p in ps])
    try:
        if protocol is not None and protocol.multi_series:
            return [replace(r, choice_reason="Chosen by the user.")
                    for r in run_protocol(protocol, unit, **params)], []
        return list(analyse_series(unit[0], protocol, **params)), []
    except Exception as exc:  # isolation: whatever one series does, the next one runs
        return [], [AnalysisProblem.from_exception(
            exc, protocol.name if protocol is not None else None, unit)]
