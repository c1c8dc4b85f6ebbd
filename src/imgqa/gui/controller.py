"""The work behind the main window: load, analyse, judge, save, open sessions, export.

`QcController` owns the workspace (what is open and what was measured), the worker pool and the
running tasks, and talks to the database through the window's `StoreBridge`. It never touches a
widget: it reports through signals (status text, problems, progress, entries changed, saved ...)
and the window (`gui/main_window.py`) wires its widgets to them, after napari's split of the
application state from its Qt views. Slow work runs on the pool (`runner`) or the database
thread (`db`); the slots here run on the GUI thread and only update the workspace.

Store results cross the boundary as the store's record types (`imgqa.store.records`):
`EquipmentRecord`, `SessionRecord`, `ResultRow`, `ToleranceRecord`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from imgqa.gui import session_index
from imgqa.gui.analysis_job import analyse_entries, unit_keys, uses_processes
from imgqa.gui.heap import freeze_long_lived
from imgqa.gui.model import SeriesEntry, Workspace
from imgqa.gui.workers import Progress, Task, TaskRunner
from imgqa.io.image_archive import archive_results, check_files, default_archive_root

if TYPE_CHECKING:
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.io.dicom import SeriesList
    from imgqa.io.series import ImageSeries
    from imgqa.protocols.base import Protocol, Result
    from imgqa.store import Store
    from imgqa.store.records import SessionRecord

__all__ = ["Judged", "QcController", "ToleranceTexts", "equipment_groups", "tolerance_texts"]

log = logging.getLogger(__name__)

# (result label, protocol, measurement) → (reference, tolerance in words), for the results table
ToleranceTexts = dict[tuple[str, str, str], tuple[float | None, str]]


@dataclass(frozen=True)
class Judged:
    """One series' results judged against the database (made on the database thread)."""

    key: int
    equipment_id: int | None
    equipment_name: str
    results: list[Result]
    tolerances: ToleranceTexts


@dataclass(frozen=True)
class _SavePlan:
    """One equipment group of the save dialog, as the database thread needs it."""

    series: ImageSeries
    equipment_id: int | None
    new_name: str | None
    location: str
    results: list[Result]


class QcController(QObject):
    """Loading, analysis, tolerance evaluation, saving, sessions and export for one window.

    Signals
    -------
    status(str): a line for the status bar.
    problem(str, str, str): (path, message, hint) for the Problems panel.
    progress(int, int, str): (done, total, text); total 0 = busy without a count.
    progress_hidden(): nothing is running any more.
    state_changed(): loading/analysis started or stopped (enable the actions again).
    preview(object): the first `ImageSeries` found, while the other headers are read.
    entries_added(list): the `SeriesEntry` objects of a finished load.
    entry_changed(object, bool): a `SeriesEntry` got results (False) or statuses (True).
    loaded(int), analysis_finished(), analysis_cancelled(): as the window's signals.
    saved(object): the list of saved `SessionRecord`.
    save_failed(str), duplicates_refused(object, object): (save choices, [(group index,
    message)]) of groups the store refused as already saved; ask for a reason and call
    `save` again with ``only``.
    exported(object): (n results, n sessions, path); export_failed(str).
    session_images(int, list): a saved session's image paths found on this computer.
    demo_ready(str): the demo phantom folder to open.
    """

    status = Signal(str)
    problem = Signal(str, str, str)
    progress = Signal(int, int, str)
    progress_hidden = Signal()
    state_changed = Signal()
    preview = Signal(object)
    entries_added = Signal(list)
    entry_changed = Signal(object, bool)
    loaded = Signal(int)
    analysis_finished = Signal()
    analysis_cancelled = Signal()
    saved = Signal(object)
    save_failed = Signal(str)
    duplicates_refused = Signal(object, object)
    exported = Signal(object)
    export_failed = Signal(str)
    session_images = Signal(int, list)
    demo_ready = Signal(str)

    def __init__(self, db: StoreBridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.workspace = Workspace()
        self.runner = TaskRunner(parent=self)
        self.protocols: list[Protocol] | None = None
        self.demo_pending = False   # the next evaluation registers the demo devices
        self._analysis_task: Task | None = None
        # Worker processes for a batch of series (None: one per core; gui/analysis_job.py)
        self.jobs: int | None = None
        self._pooled = False  # the running analysis is on worker processes
        self._load_task: Task | None = None
        # This workstation's image archive root ($IMGQA_ARCHIVE, else Settings → Image
        # archive); read at each save and open, so a changed setting applies at once.
        self.archive_root: Callable[[], Path | None] = default_archive_root

    @property
    def busy(self) -> bool:
        return self.runner.busy

    @property
    def running(self) -> bool:
        """Loading or analysing (the window disables Run and Save meanwhile)."""
        return self._analysis_task is not None or self._load_task is not None

    def shutdown(self) -> None:
        self.runner.cancel_all()
        self.runner.wait(5000)

    # -- loading --------------------------------------------------------------------------
    def load(self, paths: Sequence[str], *, analyse: bool) -> None:
        """Replace the workspace by the series in `paths` (files, folders, zips)."""
        if self._analysis_task is not None:
            self._analysis_task.cancel()
        self.workspace.clear()
        self.status.emit(f"Reading {len(paths)} item(s)…")
        self.progress.emit(0, 0, "")
        t0 = time.perf_counter()
        items = list(paths)

        def job(p: Progress) -> tuple[SeriesList, list[Protocol]]:
            from imgqa.io import load

            _emit_preview(items, p)
            series = load(items)
            # Protocol declarations are imported here, off the GUI thread (some pull in SciPy).
            from imgqa.protocols import all_protocols

            return series, all_protocols()

        def done(value: tuple[SeriesList, list[Protocol]]) -> None:
            series, protocols = value
            if self.protocols is None:
                # The protocol modules (SciPy, scikit-image…) are imported now: exempt them
                # from garbage collection before the analysis allocates (see gui/heap.py).
                freeze_long_lived()
            self.protocols = protocols
            self._loaded(series, analyse, time.perf_counter() - t0)

        self._load_task = self.runner.start(job, name="loading images", on_done=done,
                                            on_partial=self.preview.emit,
                                            on_failed=self._load_failed,
                                            on_finished=self._load_finished)
        self.state_changed.emit()

    def _load_failed(self, message: str, hint: str) -> None:
        self.problem.emit("", message, hint)
        self.status.emit(message)

    def _load_finished(self) -> None:
        self._load_task = None
        if self._analysis_task is None:
            self.progress_hidden.emit()
        self.state_changed.emit()

    def _loaded(self, series_list: SeriesList, analyse: bool, seconds: float) -> None:
        entries = [self.workspace.add(s) for s in series_list]
        self.entries_added.emit(entries)
        for prob in series_list.problems:
            self.workspace.problems.append(prob)
            self.problem.emit(prob.path, prob.error, prob.hint)
        n, bad = len(series_list), len(series_list.problems)
        self.status.emit(f"{n} series loaded in {seconds:.1f} s"
                         + (f"; {bad} file(s) could not be used (see Problems)." if bad else "."))
        self._load_task = None
        self.loaded.emit(n)
        self.state_changed.emit()
        if uses_processes([(e.key, e.series, None) for e in entries], self.jobs):
            from imgqa.parallel import warm_up

            warm_up()  # its fork server imports the analysis code meanwhile (a few 0.1 s)
        if analyse and self.workspace.entries:
            self.run_analysis()

    # -- analysis -------------------------------------------------------------------------
    def run_analysis(self, keys: Sequence[int] | None = None) -> None:
        """Analyse the given series (all by default) on the worker pool."""
        if self._analysis_task is not None:
            return
        if keys is not None:
            keys = self._with_group_members(keys)
        entries = [e for e in self.workspace.entries if keys is None or e.key in keys]
        if not entries:
            return
        items = [(e.key, e.series, e.protocol_override) for e in entries]
        n = len(items)
        self.progress.emit(0, n, "")
        self._pooled = uses_processes(items, self.jobs)
        self.status.emit(f"Analysing {n} series" + (" on all cores…" if self._pooled else "…"))

        jobs = self.jobs

        def job(p: Progress) -> int:
            return analyse_entries(items, p, jobs)

        self._analysis_task = self.runner.start(
            job, name="analysis", on_progress=self.progress.emit, on_partial=self._on_partial,
            on_done=lambda _n: self.evaluate(entries), on_failed=self._analysis_failed,
            on_cancelled=self._analysis_cancelled, on_finished=self._analysis_task_finished)
        self.state_changed.emit()

    def _with_group_members(self, keys: Sequence[int]) -> set[int]:
        """`keys` and, with the automatic choice, the other series analysed together with
        any of them (the one-TI series of a T1 plate: one of them alone cannot be fitted)."""
        wanted = set(keys)
        auto = [(e.key, e.series, e.protocol_override) for e in self.workspace.entries
                if e.protocol_override is None]
        for unit in unit_keys(auto):
            if len(unit) > 1 and wanted & set(unit):
                wanted |= set(unit)
        return wanted

    def rerun(self, entry: SeriesEntry, protocol: str | None) -> None:
        """Analyse `entry` again with `protocol` (None: chosen automatically)."""
        entry.protocol_override = protocol
        entry.results = []
        entry.error = None
        self.run_analysis([entry.key])

    def cancel(self) -> None:
        if self._analysis_task is not None:
            self._analysis_task.cancel()
            # worker processes are stopped at once; this thread finishes its current series
            self.status.emit("Cancelling…" if self._pooled else
                             "Cancelling after the current series…")
        if self._load_task is not None:
            self._load_task.cancel()

    def _on_partial(self, item: tuple[Any, ...]) -> None:
        kind, key = item[0], item[1]
        entry = self.workspace.get(key)
        if entry is None:  # the workspace was replaced meanwhile
            return
        entry.analysed_with = None
        if kind == "ok":
            _, _, name, results = item
            entry.auto_protocol = entry.auto_protocol if entry.protocol_override else name
            entry.results = list(results)
            entry.error = None
        elif kind == "joined":   # its images are in another series' results
            _, _, name, lead = item
            entry.auto_protocol = name
            entry.results = []
            entry.error = None
            entry.analysed_with = lead
        else:
            _, _, name, message, hint = item
            entry.auto_protocol = entry.auto_protocol or name
            entry.results = []
            entry.error = f"{message} {hint}".strip()
            src = entry.series.sources[0] if entry.series.sources else ""
            self.problem.emit(src, f"{name or 'analysis'}: {message}", hint)
        self.entry_changed.emit(entry, False)

    def _analysis_failed(self, message: str, hint: str) -> None:
        self.problem.emit("", message, hint)
        self.status.emit(message)
        self.analysis_finished.emit()

    def _analysis_cancelled(self) -> None:
        done = sum(1 for e in self.workspace.entries if e.results or e.error)
        self.status.emit(f"Analysis cancelled ({done} of {len(self.workspace.entries)} "
                         "series analysed).")
        self.analysis_cancelled.emit()

    def _analysis_task_finished(self) -> None:
        self._analysis_task = None
        self.progress_hidden.emit()
        self.state_changed.emit()

    # -- tolerance evaluation -------------------------------------------------------------
    def evaluate(self, entries: Sequence[SeriesEntry] | None = None) -> None:
        """Judge results (all open series by default) against the database's baselines and
        tolerances; ends with `analysis_finished`."""
        todo = [e for e in (self.workspace.entries if entries is None else entries)
                if e.results]
        if not todo or not self.db.available:
            self._analysis_done()
            return
        jobs = [(e.key, e.series, list(e.results)) for e in todo]
        # Demo phantoms: register their (fictitious) devices so statuses show at once.
        create = self.demo_pending and self.db.can("equipment_admin")
        self.demo_pending = False

        def evaluate_all(store: Store) -> list[Judged]:
            created: set[int] = set()   # demo devices registered by this evaluation
            return [_judge(store, key, series, results, create, created)
                    for key, series, results in jobs]

        self.status.emit("Comparing with baselines and tolerances…")
        self.db.run(evaluate_all, name="evaluation", on_done=self._evaluated,
                    on_failed=self._evaluation_failed)

    def _evaluation_failed(self, message: str, hint: str) -> None:
        self.problem.emit("", message, hint)
        self._analysis_done()

    def _evaluated(self, items: list[Judged]) -> None:
        for j in items:
            entry = self.workspace.get(j.key)
            if entry is None:
                continue
            entry.equipment_id, entry.equipment_name = j.equipment_id, j.equipment_name
            entry.results = list(j.results)
            entry.tolerances = j.tolerances
            self.entry_changed.emit(entry, True)
        self._analysis_done()

    def _analysis_done(self) -> None:
        n_ok = sum(1 for e in self.workspace.entries if e.results or e.analysed_with)
        n_with = sum(1 for e in self.workspace.entries if e.analysed_with)
        n_err = sum(1 for e in self.workspace.entries if e.error)
        self.status.emit(f"Analysis finished: {n_ok} series analysed"
                         + (f" ({n_with} together with another)" if n_with else "")
                         + (f", {n_err} could not be analysed (see Problems)." if n_err else "."))
        self.state_changed.emit()
        self.analysis_finished.emit()

    # -- saving ---------------------------------------------------------------------------
    def save(self, choices: dict[str, Any], *, duplicate_reason: str = "",
             only: Sequence[int] | None = None) -> None:
        """Save the save dialog's chosen groups (``only``: their indices, for a retry)."""
        from imgqa.store.duplicates import DuplicateSessionError

        performed_by = choices.get("performed_by") or None
        comment = choices.get("comment", "")
        plan = [_SavePlan(g["entries"][0].series, g.get("equipment_id"), g.get("new_name"),
                          g.get("location", ""), [r for e in g["entries"] for r in e.results])
                for g in choices["groups"] if not g.get("skip")]
        todo = list(range(len(plan))) if only is None else list(only)
        archive = self.archive_root()

        def save_all(store: Store) -> tuple[list[SessionRecord], list[tuple[int, str]]]:
            sessions: list[SessionRecord] = []
            refused: list[tuple[int, str]] = []
            for n in todo:
                p = plan[n]
                eq_id = p.equipment_id
                if eq_id is None:
                    eq_id = store.create_equipment_from_series(
                        p.series, name=p.new_name or None, location=p.location).id
                results = [store.evaluate(eq_id, r) for r in p.results]
                # copied before the rows are saved; a failed save leaves reusable copies
                files = archive_results(archive, store.equipment(eq_id).name, results) \
                    if archive is not None else []
                try:
                    session = store.save_session(eq_id, results, performed_by=performed_by,
                                                 comment=comment,
                                                 duplicate_reason=duplicate_reason,
                                                 files=files)
                except DuplicateSessionError as exc:  # ask for a reason; the others go on
                    refused.append((n, exc.message))
                    continue
                session_index.remember(session.uid, [i.source for r in results
                                                     for i in r.inputs])
                sessions.append(session)
            return sessions, refused

        self.status.emit("Saving…")
        self.db.run(save_all, name="saving",
                    on_done=lambda out: self._save_done(choices, *out),
                    on_failed=self._save_error)

    def _save_done(self, choices: dict[str, Any], sessions: list[SessionRecord],
                   refused: list[tuple[int, str]]) -> None:
        if sessions:
            self._saved(sessions)
        if refused:
            self.status.emit("Not saved: these images were already saved.")
            self.duplicates_refused.emit(choices, refused)

    def _saved(self, sessions: list[SessionRecord]) -> None:
        self.status.emit(f"Saved {len(sessions)} session(s) to the database.")
        self.saved.emit(sessions)
        # Equipment may have been created: judge again so the table shows statuses.
        self.evaluate()
        # Queued after the judging above (one database thread), whose "Analysis finished"
        # would hide it: "Saved session 12 for CT 1: 3 results, 1 ACTION."
        from imgqa.gui.save_dialog import saved_message

        self.db.run(lambda store: [(s, store.session_results(s.id)) for s in sessions],
                    name="saved summary",
                    on_done=lambda saved: self.status.emit(saved_message(saved)))

    def _save_error(self, message: str, hint: str) -> None:
        self.problem.emit("", f"Saving failed: {message}", hint)
        self.status.emit(f"Saving failed: {message}")
        self.save_failed.emit(message)

    # -- sessions, export, demo -----------------------------------------------------------
    def find_session_images(self, session_id: int) -> None:
        """Look up a saved session's images; `session_images` with those found.

        First the image archive (the session's recorded files under this workstation's
        archive root, each checked against its SHA-256, on the database thread), else the
        paths this computer saved from (`session_index`). Missing or altered archived files
        are reported as a problem; the intact ones are opened.
        """
        root = self.archive_root()

        def find_paths(store: Store) -> tuple[list[str], list[str], str]:
            files = store.session_files(session_id)
            if files and root is not None:
                checks = check_files(root, files)
                ok = [str(c.location) for c in checks if c.state == "ok"]
                bad = [f"{c.file.path} is {c.state}" for c in checks if c.state != "ok"]
                return ok, bad, ""
            local = session_index.paths_for(store.session(session_id).uid)
            why = ("Its images are in the image archive, but no archive folder is set on "
                   "this workstation (Settings → Image archive)." if files else "")
            return [p for p in local if Path(p).exists()], [], why

        def found(value: tuple[list[str], list[str], str]) -> None:
            paths, bad, why = value
            if bad:
                self.problem.emit("", f"{len(bad)} archived image file(s) of session "
                                  f"{session_id} are missing or altered: "
                                  + "; ".join(bad[:5]) + ("; …" if len(bad) > 5 else ""),
                                  "Run `imgqa db verify` and restore them from a backup.")
            if not paths:
                self.problem.emit("", f"The images of session {session_id} are not "
                                  "available on this computer.",
                                  why or "They may have been moved or were on another "
                                         "workstation.")
                return
            self.session_images.emit(session_id, paths)

        self.db.run(find_paths, name="session images", on_done=found,
                    on_failed=lambda m, h: self.problem.emit("", m, h))

    def export(self, choices: dict[str, Any]) -> None:
        """Export QA records (the export dialog's choices) on the database thread."""
        from imgqa.gui.export_dialog import run_export

        self.status.emit("Exporting QA records…")
        self.db.run(lambda store: run_export(store, choices), name="export",
                    on_done=self._exported, on_failed=self._export_error)

    def _exported(self, value: tuple[int, int, str]) -> None:
        n_results, n_sessions, path = value
        self.status.emit(f"Exported {n_results} result(s) of {n_sessions} session(s) to "
                         f"{path}.")
        self.exported.emit(value)

    def _export_error(self, message: str, hint: str) -> None:
        self.problem.emit("", f"Export failed: {message}", hint)
        self.status.emit(f"Export failed: {message}")
        self.export_failed.emit(message)

    def prepare_demo(self) -> None:
        """Find (or generate once) the demo phantoms; `demo_ready` with their folder."""
        self.status.emit("Preparing the demo phantoms…")
        self.progress.emit(0, 0, "")

        def job(_p: Progress) -> Path | None:
            from imgqa.gui.demo import demo_folder

            return demo_folder()

        def done(folder: Path | None) -> None:
            self.progress_hidden.emit()
            if folder is None:
                self.problem.emit("", "No demo phantoms are available.",
                                  "Run `imgqa phantoms make DIR` and open DIR.")
                return
            self.demo_pending = True
            self.demo_ready.emit(str(folder))

        def failed(message: str, hint: str) -> None:
            self.progress_hidden.emit()
            self.problem.emit("", message, hint)

        self.runner.start(job, name="demo phantoms", on_done=done, on_failed=failed)


# -- pure helpers (database thread or no Qt at all) ----------------------------------------
def equipment_groups(entries: Sequence[SeriesEntry]) -> list[dict[str, Any]]:
    """The analysed series grouped by the device that made them (the save dialog's groups).

    Each group: ``label`` (device · modality), ``entries``, ``equipment_id`` and
    ``equipment_name`` (matched in the database, or None and ""), ``modality``.
    """
    groups: dict[str, dict[str, Any]] = {}
    for e in entries:
        if not e.results:
            continue
        label = f"{e.series.header.equipment.label()} · {e.series.modality}"
        g = groups.setdefault(label, {"label": label, "entries": [], "equipment_id":
                                      e.equipment_id, "equipment_name": e.equipment_name,
                                      "modality": e.series.modality})
        g["entries"].append(e)
        if e.equipment_id is not None:
            g["equipment_id"], g["equipment_name"] = e.equipment_id, e.equipment_name
    return list(groups.values())


def _judge(store: Store, key: int, series: ImageSeries, results: list[Result],
           create: bool, created: set[int]) -> Judged:
    """Match the series' equipment and judge its results.

    With `create`, an unknown device is registered as a demo device and its id added to
    `created`; every series of a device in `created` registers its demo baselines.
    """
    eq = store.match_equipment(series)
    if eq is None and create:
        eq = store.create_equipment_from_series(
            series, name=f"Demo {series.modality} (digital phantom)", location="imgqa demo")
        created.add(eq.id)
    if eq is None:
        return Judged(key, None, "", results, {})
    if eq.id in created:  # demo devices get their baselines (gui/demo.py)
        from imgqa.gui.demo import register_demo_baselines

        register_demo_baselines(store, eq.id, results)
    evaluated = [store.evaluate(eq.id, r) for r in results]
    return Judged(key, eq.id, eq.name, evaluated, tolerance_texts(store, eq.id, evaluated))


def tolerance_texts(store: Store, equipment_id: int, results: Sequence[Result]
                    ) -> ToleranceTexts:
    """(label, protocol, measurement) → (reference, tolerance in words) in force now.

    A measurement without a tolerance is left out; a failing lookup is logged and left out
    (the results table then shows no reference; the status still comes from the store).
    """
    out: ToleranceTexts = {}
    for r in results:
        for m in r.measurements:
            try:
                info = store.tolerance(equipment_id, r.protocol, m.name)
            except Exception:
                log.debug("tolerance lookup failed", exc_info=True)
                continue
            if info is None:
                continue
            try:
                text = info.tolerance.describe(m.unit)
            except Exception:  # the reference is still worth showing
                log.debug("tolerance text failed", exc_info=True)
                text = ""
            out[(r.label, r.protocol, m.name)] = (info.reference, text)
    return out


def _emit_preview(paths: Sequence[str], progress: Progress, tries: int = 5) -> None:
    """Read one image file's header (of the first few found) and hand it to the GUI, so a
    large series shows an image long before all its headers are read."""
    from imgqa.io.dicom import iter_sources, load

    try:
        for k, src in enumerate(iter_sources(paths, [])):
            if k >= tries or progress.cancelled:
                return
            if src.member is not None:  # zip members: no cheap preview
                return
            found = load([src.path])
            if len(found):
                progress.emit(found[0])
                return
    except Exception:  # a preview is a nicety: the real load reports problems
        log.debug("preview failed", exc_info=True)
