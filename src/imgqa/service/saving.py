"""Save what arrives as QC sessions *pending review* (issue 12): the ``handle_complete`` of
``imgqa serve``.

For each complete series `SessionSaver`:

1. routes it with the routing rules in force (`imgqa.service.routing.rules_route`, read
   afresh for every series, so a rule added while the service runs applies to the next one);
2. analyses it (`imgqa.service.automatic.analyse_complete`);
3. files it under the rule's equipment, else the equipment matching the header, else — when
   the rule says ``--create-equipment`` — registers the device from the header;
4. with an image archive folder (``imgqa serve --archive DIR``), copies the series' files
   there (`imgqa.io.image_archive.archive_results`) *before* saving, so the session records
   them (a save that then fails leaves harmless copies, reused next time). A share that cannot
   be written does not lose the result: the session is saved without archived files and the
   reason is logged and reported;
5. saves one session (`Store.save_session`) with ``performed_by = "imgqa serve"`` and a
   comment recording the rule (id and version), the protocol and the imgqa version; nobody
   has reviewed it, so it is *pending review* and listed by ``imgqa review`` until reviewed.

Idempotent: the store refuses images already saved for the same protocol on the same
equipment (same SOP Instance UIDs and pixel data, `imgqa.store.duplicates`), so a series sent
twice is saved once; the second time is logged as a duplicate and nothing is added.

A series no rule matches (or that two rules claim equally) is not analysed: it stays in the
inbox, the reason is logged and appended as one JSON line to ``waiting.jsonl`` in the inbox
(series UID, description, modality, image count, first file, reason; no patient data).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from imgqa._version import __version__
from imgqa.errors import ImgqaError
from imgqa.service.automatic import SeriesOutcome, analyse_complete
from imgqa.service.bursts import PARALLEL_MIN_SERIES, Prepared, burst_workers
from imgqa.service.completion import CompleteSeries
from imgqa.service.notify import Notifier, reaches_level
from imgqa.service.routing import analyse_with_rules, rules_route
from imgqa.store.duplicates import DuplicateSessionError

__all__ = ["PARALLEL_MIN_SERIES", "PENDING_REVIEW", "SavedSeries", "SessionSaver"]

log = logging.getLogger(__name__)

PENDING_REVIEW = "pending review"
PERFORMED_BY = "imgqa serve"


@dataclass(frozen=True, slots=True)
class SavedSeries:
    """What became of one series: ``saved`` (session id), ``duplicate`` (earlier session id),
    ``waiting`` (reason), ``failed`` (error)."""

    state: str
    series_uid: str
    description: str
    session_id: int | None = None
    protocol: str | None = None
    rule_id: int | None = None
    message: str = ""
    worst_status: str | None = None


    def line(self) -> str:
        what = f"'{self.description}' ({self.series_uid})"
        if self.state == "saved":
            return (f"saved: {what}: session {self.session_id}, {self.protocol} by rule "
                    f"{self.rule_id}, {PENDING_REVIEW}, worst status "
                    f"{self.worst_status or 'not judged'}"
                    + (f" ({self.message})" if self.message else ""))
        return f"{self.state}: {what}: {self.message}"


class SessionSaver:
    """``handle_complete(series)`` saving each routed series as a session pending review.

    Parameters
    ----------
    store : imgqa.store.Store
        The results database (shared; its methods are thread-safe).
    inbox : path, optional
        Where ``waiting.jsonl`` is appended for series that wait (None: only logged).
    report : callable, optional
        Called with each `SavedSeries` (``imgqa serve`` prints its line).
    archive : path, optional
        Image archive root: each saved session's files are copied there and recorded.
    notifier : imgqa.service.notify.Notifier, optional
        Told about each saved session (it mails those at or above its level).
    """

    def __init__(self, store: Any, inbox: Path | str | None = None,
                 report: Callable[[SavedSeries], None] | None = None,
                 archive: Path | str | None = None,
                 notifier: Notifier | None = None) -> None:
        self.store = store
        self.inbox = Path(inbox) if inbox is not None else None
        self.archive = Path(archive) if archive is not None else None
        self.report = report
        self.notifier = notifier
        self.outcomes: list[SavedSeries] = []
        self._lock = threading.Lock()
        self.jobs: int | None = None  # worker processes for `prepare` (None: one per core)
        # analysed ahead by `prepare`: (the rules used, the outcomes) by series
        self._prepared = Prepared()

    def prepare(self, completes: Sequence[CompleteSeries]) -> int:
        """Analyse several complete series at once on worker processes, ahead of saving.

        `AutomaticQC` calls it with every series that completed at the same moment (a burst
        from several scanners, a folder dropped into a watched share, the inbox re-collected
        at start); `__call__` then saves each one in turn, in the order they came, and only
        analyses those that were not prepared. Below `PARALLEL_MIN_SERIES` series, with one
        core, or where workers must be spawned (Windows: `imgqa.parallel.starts_cheaply`), it
        does nothing. A series whose rules changed in between is analysed again, so
        each is still routed by the rules in force when it is saved. Returns how many series
        were prepared.
        """
        jobs = burst_workers(len(completes), self.jobs)
        if not jobs:
            return 0
        rules = list(self.store.rules())
        return self._prepared.analyse(
            completes, analyse_with_rules,
            [(tuple(c.paths), rules, c.update, c.series_uid) for c in completes], jobs,
            label=rules)

    def _take_prepared(self, complete: CompleteSeries, rules: list
                       ) -> list[SeriesOutcome] | None:
        rules_used, outcomes = self._prepared.take(complete) or (None, None)
        return outcomes if outcomes is not None and rules_used == list(rules) else None

    def __call__(self, complete: CompleteSeries) -> None:
        rules = self.store.rules()
        outcomes = self._take_prepared(complete, rules)
        if outcomes is None:
            outcomes = analyse_complete(complete.paths, rules_route(rules),
                                        update=complete.update, series_uid=complete.series_uid)
        for outcome in outcomes:
            done = self._save(outcome, complete)
            with self._lock:
                self.outcomes.append(done)
            log.log(logging.WARNING if done.state in ("waiting", "failed") else logging.INFO,
                    "%s", done.line())
            if self.report is not None:
                self.report(done)

    def _save(self, o: SeriesOutcome, complete: CompleteSeries) -> SavedSeries:
        base: dict[str, Any] = {"series_uid": o.series_uid, "description": o.description,
                                "protocol": o.route.protocol, "rule_id": o.route.rule_id}
        if o.state == "waiting":
            self._list_waiting(o, complete)
            return SavedSeries("waiting", message=o.route.reason, **base)
        if o.state == "failed":
            first = o.problems[0]["error"] if o.problems else "no result"
            return SavedSeries("failed", message=first, **base)
        try:
            eq_id = self._equipment(o)
        except ImgqaError as exc:
            return SavedSeries("failed", message=exc.message, **base)
        if eq_id is None:
            msg = ("no equipment matches the images' header; register it (`imgqa equipment "
                   "add`) or give the rule --equipment / --create-equipment")
            self._list_waiting(o, complete, msg)
            return SavedSeries("waiting", message=msg, **base)
        r = o.route
        comment = (f"automatic: rule {r.rule_id} (version {r.rule_version}), "
                   f"{', '.join(x.protocol for x in o.results)}, imgqa {__version__}; "
                   f"{PENDING_REVIEW}")
        files, note = self._archive(eq_id, o)
        try:
            sess = self.store.save_session(eq_id, list(o.results), performed_by=PERFORMED_BY,
                                           comment=comment, files=files)
        except DuplicateSessionError as exc:
            earlier = exc.earlier[0].session_id if exc.earlier else None
            return SavedSeries("duplicate", session_id=earlier,
                               message=f"already saved as session {earlier}: nothing added",
                               **base)
        except ImgqaError as exc:
            return SavedSeries("failed", message=exc.message, **base)
        self._notify(sess)
        replaced = self._mark_incomplete(sess.id)
        if replaced:
            note = "; ".join(x for x in (note, "replaces the incomplete session(s) "
                                         + ", ".join(map(str, replaced))) if x)
        return SavedSeries("saved", session_id=sess.id, worst_status=sess.worst_status,
                           message=note, **base)

    def _mark_incomplete(self, session_id: int) -> list[int]:
        """When this session completes a series saved before without its late images, say so
        on both sessions (comments: the reviewer approves the complete one and rejects the
        other); returns the incomplete sessions' ids. Never undoes the save."""
        try:
            partial = [e for e in self.store.partial_sessions(session_id)
                       if not self.store.session(e.session_id).reviewed]
            ids = sorted({e.session_id for e in partial})
            for sid in ids:
                self.store.add_comment(
                    sid, f"Incomplete: session {session_id} holds this series with all its "
                         "images (the last ones arrived after the quiet period). Review that "
                         "one; reject this one.")
            if ids:
                self.store.add_comment(
                    session_id, "Complete version of session(s) "
                                f"{', '.join(map(str, ids))}, saved before the series' last "
                                "images had arrived.")
            return ids
        except ImgqaError as exc:
            log.warning("could not mark the incomplete sessions before %s: %s", session_id,
                        exc.message)
            return []

    def _archive(self, eq_id: int, o: SeriesOutcome) -> tuple[list[Any], str]:
        """Copy the series into the image archive: (files, "" or why they were not kept)."""
        if self.archive is None:
            return [], ""
        from imgqa.io.image_archive import archive_results

        try:
            return archive_results(self.archive, self.store.equipment(eq_id).name,
                                   list(o.results)), ""
        except ImgqaError as exc:
            log.warning("images of %s not archived: %s", o.series_uid, exc.message)
            return [], f"images not archived: {exc.message}"

    def _notify(self, sess: Any) -> None:
        """Hand a saved session to the notifier; nothing it does can undo the save."""
        if self.notifier is None or not self.notifier.active:
            return
        if not reaches_level(sess.worst_status, self.notifier.settings.level):
            return
        try:
            self.notifier.session_saved(sess, self.store.session_results(sess.id))
        except Exception:  # the session is saved; a notification problem is only logged
            log.exception("cannot prepare the notification for session %s", sess.id)

    def _equipment(self, o: SeriesOutcome) -> int | None:
        if o.route.equipment_id is not None:
            return int(o.route.equipment_id)
        summary = o.results[0].series
        found = self.store.match_equipment(summary)
        if found is not None:
            return int(found.id)
        if o.route.create_equipment:
            return int(self.store.create_equipment_from_series(summary).id)
        return None

    def _list_waiting(self, o: SeriesOutcome, complete: CompleteSeries,
                      reason: str | None = None) -> None:
        if self.inbox is None:
            return
        entry = {"at": datetime.now(UTC).isoformat(timespec="seconds"),
                 "series_instance_uid": o.series_uid, "description": o.description,
                 "modality": o.modality, "images": o.n_images,
                 "first_file": str(complete.paths[0]) if complete.paths else "",
                 "reason": reason or o.route.reason}
        try:
            with self._lock, open(self.inbox / "waiting.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False) + "\n")
        except OSError as exc:
            log.warning("cannot list the waiting series in %s: %s", self.inbox, exc)
