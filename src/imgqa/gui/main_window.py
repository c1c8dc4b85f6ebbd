"""The main window: open images, see them with the analysis ROIs, results, save, review, trend.

Slow work never runs here: loading and analysis go to `self.runner` (a thread pool), database
work to `self.db` (one database thread). The window only reacts to their signals.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui import session_index
from imgqa.gui.heap import freeze_long_lived
from imgqa.gui.model import SeriesEntry, Workspace, rows_for
from imgqa.gui.plots import PlotsPanel
from imgqa.gui.problems_panel import ProblemsPanel
from imgqa.gui.results_table import ResultsTable
from imgqa.gui.series_browser import HeaderPanel, SeriesBrowser
from imgqa.gui.state import add_recent_folder, app_settings, recent_folders
from imgqa.gui.store_bridge import StoreBridge, attr
from imgqa.gui.viewer import ImageViewer
from imgqa.gui.workers import Progress, Task, TaskRunner

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)

AUTO_PROTOCOL = "Automatic"


class MainWindow(QMainWindow):
    """The imgqa desktop window.

    Signals (mostly for tests and the screenshot mode)
    -------
    loaded(int): a load finished with this many series.
    analysis_finished(): analysis (and tolerance evaluation, when a database is open) is done.
    analysis_cancelled(): the user cancelled an analysis.
    saved(object): sessions saved (list of session records).
    """

    loaded = Signal(int)
    analysis_finished = Signal()
    analysis_cancelled = Signal()
    saved = Signal(object)
    save_failed = Signal(str)
    exported = Signal(object)       # (results, sessions, path)
    export_failed = Signal(str)

    def __init__(self, db_url: str | None = None, *, connect: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("imgqa — imaging QC")
        self.setAcceptDrops(True)
        self.settings = app_settings()
        self.workspace = Workspace()
        self.runner = TaskRunner(parent=self)
        self.db = StoreBridge(self)
        self.db.changed.connect(self._update_actions)
        self._analysis_task: Task | None = None
        self._preview_uid: str | None = None
        self._load_task: Task | None = None
        self.auto_analyse = True
        self._demo_pending = False
        self._protocols: list[Any] | None = None
        self.save_dialog = None
        self.duplicate_dialog = None
        self.baseline_dialog = None
        self.settings_dialog = None
        self.export_dialog = None

        self._build_widgets()
        self._build_actions()
        from imgqa.gui.inbox import install_inbox

        self.inbox = install_inbox(self)  # receiver, Inbox tab, File → Open inbox… (Ctrl+I)
        self._restore_state()
        self._update_actions()
        if connect:
            url = db_url or (str(self.settings.value("db/url", "")) or None)
            self.db.connect_to(url)
        freeze_long_lived()  # Qt, pyqtgraph and the widgets: never scanned by the GC again

    # =====================================================================================
    # Layout
    # =====================================================================================
    def _build_widgets(self) -> None:
        self.viewer = ImageViewer()
        self.results_table = ResultsTable()
        self.plots = PlotsPanel()
        self.header_panel = HeaderPanel()
        self.protocol_combo = QComboBox()
        self.protocol_combo.setToolTip("The QC test for this series: chosen automatically from "
                                       "the modality and the phantom; pick another to re-run.")
        self.protocol_combo.setMinimumWidth(220)
        self.protocol_combo.activated.connect(self._protocol_override_chosen)
        self.result_title = QLabel("")
        self.result_title.setWordWrap(True)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #b26a00;")

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(4, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Test:"))
        row.addWidget(self.protocol_combo, 1)
        side_layout.addLayout(row)
        side_layout.addWidget(self.result_title)
        self.side_tabs = QTabWidget()
        self.side_tabs.addTab(self.results_table, "Results")
        self.side_tabs.addTab(self.plots, "Plots")
        self.side_tabs.addTab(self.header_panel, "Header")
        side_layout.addWidget(self.side_tabs, 1)
        side_layout.addWidget(self.warnings_label)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.viewer)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        side.setMinimumWidth(480)
        self.splitter.setSizes([600, 560])

        from imgqa.gui.review_pane import ReviewPane
        from imgqa.gui.trends import TrendView

        self.review_pane = ReviewPane(self.db)
        self.review_pane.open_session.connect(self.open_session)
        self.trend_view = TrendView(self.db)
        self.trend_view.session_clicked.connect(self.open_session)
        self.trend_view.edit_baseline.connect(self.open_baseline_editor)

        self.tabs = QTabWidget()
        self.tabs.addTab(self.splitter, "Analysis")
        self.tabs.addTab(self.review_pane, "Review")
        self.tabs.addTab(self.trend_view, "Trends")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setCentralWidget(self.tabs)

        self.browser = SeriesBrowser()
        self.browser.series_selected.connect(self.show_entry)
        self.browser_dock = QDockWidget("Series", self)
        self.browser_dock.setObjectName("series_dock")
        self.browser_dock.setWidget(self.browser)
        self.browser.setMinimumWidth(340)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.browser_dock)

        self.problems = ProblemsPanel()
        self.problems_dock = QDockWidget("Problems", self)
        self.problems_dock.setObjectName("problems_dock")
        self.problems_dock.setWidget(self.problems)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.problems_dock)
        self.problems.count_changed.connect(self._problems_count)
        self.problems_dock.hide()
        self.resizeDocks([self.problems_dock], [140], Qt.Orientation.Vertical)

        self.status_label = QLabel("Ready.")
        self.db_label = QLabel("")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(240)
        self.progress.setTextVisible(True)
        self.progress.hide()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running analysis (Esc)")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.hide()
        sb = self.statusBar()
        sb.addWidget(self.status_label, 1)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.cancel_button)
        sb.addPermanentWidget(self.db_label)

    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None, tip: str = "") -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(QKeySequence(shortcut))
            if tip:
                a.setStatusTip(tip)
                a.setToolTip(tip)
            self.addAction(a)  # shortcuts work even when the menu bar is hidden
            return a

        self.act_open_files = action("Open files or zip…", self.open_files_dialog,
                                     QKeySequence.StandardKey.Open, "Open DICOM files or a zip")
        self.act_open_folder = action("Open folder…", self.open_folder_dialog, "Ctrl+Shift+O",
                                      "Open a folder of DICOM images")
        self.act_demo = action("Load demo data", self.load_demo,
                               tip="Open the demo phantom images and analyse them")
        self.act_run = action("Run analysis", self.run_analysis, "F5",
                              "Analyse the open series (F5)")
        self.act_cancel = action("Cancel", self.cancel, "Esc", "Stop the running analysis")
        self.act_save = action("Save to database…", self.save_results,
                               QKeySequence.StandardKey.Save, "Save the results as a QC record")
        self.act_next = action("Next image", lambda: self.viewer.step(1),
                               QKeySequence(Qt.Key.Key_PageDown), "Next image (Page Down)")
        self.act_prev = action("Previous image", lambda: self.viewer.step(-1),
                               QKeySequence(Qt.Key.Key_PageUp), "Previous image (Page Up)")
        self.act_review = action("Review", lambda: self.tabs.setCurrentWidget(self.review_pane),
                                 "Ctrl+R", "Review saved sessions")
        self.act_trends = action("Trends", lambda: self.tabs.setCurrentWidget(self.trend_view),
                                 "Ctrl+T", "Trend plots")
        self.act_export = action("Export QA records…", self.export_records,
                                 tip="Export QA records (CSV, Excel, PDF, JSON) for audits")
        self.act_enter = action("Enter results…", self.enter_results,
                                tip="Type in checklist items, meter readings, visual counts")
        self.act_baseline = action("Baselines and tolerances…", self.open_baseline_editor,
                                   tip="Edit baselines and tolerances (physicists)")
        self.act_settings = action("Settings…", self.open_settings, QKeySequence.StandardKey.Preferences,
                                   "Database and other settings")
        self.act_quit = action("Quit", self.close, QKeySequence.StandardKey.Quit)

        mb = self.menuBar()
        m_file = mb.addMenu("&File")
        m_file.addActions([self.act_open_files, self.act_open_folder])
        self.recent_menu = m_file.addMenu("Recent folders")
        m_file.addAction(self.act_demo)
        m_file.addSeparator()
        m_file.addAction(self.act_save)
        m_file.addSeparator()
        m_file.addAction(self.act_settings)
        m_file.addAction(self.act_quit)
        m_an = mb.addMenu("&Analysis")
        m_an.addActions([self.act_run, self.act_cancel, self.act_prev, self.act_next])
        m_db = mb.addMenu("&Database")
        m_db.addActions([self.act_review, self.act_trends, self.act_enter, self.act_baseline])
        m_db.addSeparator()
        m_db.addAction(self.act_export)
        m_view = mb.addMenu("&View")
        m_view.addAction(self.browser_dock.toggleViewAction())
        m_view.addAction(self.problems_dock.toggleViewAction())
        self._rebuild_recent_menu()

        tb = self.addToolBar("Main")
        tb.setObjectName("main_toolbar")
        tb.addActions([self.act_open_files, self.act_open_folder])
        tb.addSeparator()
        tb.addActions([self.act_run, self.act_save])
        tb.addSeparator()
        tb.addActions([self.act_prev, self.act_next])

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        folders = recent_folders(self.settings)
        for folder in folders:
            a = self.recent_menu.addAction(folder)
            a.triggered.connect(lambda _=False, f=folder: self.open_paths([f]))
        self.recent_menu.setEnabled(bool(folders))

    # =====================================================================================
    # State
    # =====================================================================================
    def _restore_state(self) -> None:
        geo = self.settings.value("window/geometry")
        if isinstance(geo, QByteArray) and not geo.isEmpty():
            self.restoreGeometry(geo)
        else:
            self.resize(1400, 860)
        st = self.settings.value("window/state")
        if isinstance(st, QByteArray) and not st.isEmpty():
            self.restoreState(st)
        self.problems_dock.hide()

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt name)
        self.save_state()
        self.runner.cancel_all()
        self.runner.wait(5000)
        self.trend_view.shutdown()
        self.inbox.shutdown()
        self.db.close()
        super().closeEvent(event)

    @property
    def busy(self) -> bool:
        return self.runner.busy

    def _update_actions(self) -> None:
        running = self._analysis_task is not None or self._load_task is not None
        has_series = bool(self.workspace.entries)
        has_results = bool(self.workspace.results)
        self.act_run.setEnabled(has_series and not running)
        self.act_cancel.setEnabled(running)
        can_save = self.db.can("save") and has_results and not running
        self.act_save.setEnabled(can_save)
        self.act_save.setToolTip("Save the results as a QC record" if self.db.available
                                 else f"Saving needs the database: {self.db.why_not('save')}")
        self.act_baseline.setEnabled(self.db.can("baseline"))
        self.act_baseline.setToolTip(self.db.why_not("baseline") or
                                     "Edit baselines and tolerances")
        review_ok = self.db.can("review")
        self.tabs.setTabEnabled(self.tabs.indexOf(self.review_pane), review_ok)
        self.tabs.setTabToolTip(self.tabs.indexOf(self.review_pane),
                                self.db.why_not("review") or "Review saved sessions")
        self.act_review.setEnabled(review_ok)
        trends_ok = self.db.available
        self.tabs.setTabEnabled(self.tabs.indexOf(self.trend_view), trends_ok)
        self.tabs.setTabToolTip(self.tabs.indexOf(self.trend_view),
                                self.db.why_not("trends") or "Trend plots")
        self.act_trends.setEnabled(trends_ok)
        self.act_export.setEnabled(self.db.available)
        self.act_export.setToolTip(self.db.why_not("export") or "Export QA records")
        if self.db.available:
            self.db_label.setText(f"DB: {self.db.user} ({self.db.role or 'local'})")
            self.db_label.setToolTip(str(self.db.url or "default SQLite database"))
        else:
            self.db_label.setText("DB: not connected" if not self.db.connecting else "DB: …")
            self.db_label.setToolTip(self.db.reason)
        self.review_pane.set_enabled_by_role(review_ok)
        self.trend_view.set_can_edit(self.db.can("baseline"))

    def _tab_changed(self, index: int) -> None:
        w = self.tabs.widget(index)
        if w is self.review_pane:
            self.review_pane.refresh()
        elif w is self.trend_view:
            self.trend_view.refresh_equipment()

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def _problems_count(self, n: int) -> None:
        self.problems_dock.setWindowTitle(f"Problems ({n})" if n else "Problems")
        if n and not self.problems_dock.isVisible():
            self.problems_dock.show()
            self.resizeDocks([self.problems_dock], [140], Qt.Orientation.Vertical)

    # =====================================================================================
    # Opening
    # =====================================================================================
    def open_files_dialog(self) -> None:
        start = str(self.settings.value("last_folder", "") or "")
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open phantom images", start,
            "DICOM or zip (*.dcm *.DCM *.ima *.IMA *.zip *);;All files (*)")
        if files:
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        start = str(self.settings.value("last_folder", "") or "")
        folder = QFileDialog.getExistingDirectory(self, "Open a folder of phantom images", start)
        if folder:
            self.open_paths([folder])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_paths(paths)

    def open_paths(self, paths: Sequence[str | Path], *, analyse: bool | None = None) -> None:
        """Load files, folders or zips in the background, then (by default) analyse them."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        first = Path(paths[0])
        add_recent_folder(str(first if first.is_dir() else first.parent), self.settings)
        self._rebuild_recent_menu()
        if self._analysis_task is not None:
            self._analysis_task.cancel()
        self.workspace.clear()
        self.browser.clear_entries()
        self.problems.clear_problems()
        self.viewer.set_series(None)
        self.results_table.show_rows([])
        self.plots.clear()
        self.protocol_combo.clear()
        self.result_title.setText("")
        self.warnings_label.setText("")
        do_analyse = self.auto_analyse if analyse is None else analyse
        self._set_status(f"Reading {len(paths)} item(s)…")
        self._show_progress(0, 0)
        t0 = time.perf_counter()

        def job(p: Progress):
            from imgqa.io import load

            _emit_preview(paths, p)
            series = load(paths)
            # Protocol declarations are imported here, off the GUI thread (some pull in SciPy).
            from imgqa.protocols import all_protocols

            return series, all_protocols()

        def done(value) -> None:
            series, protocols = value
            if self._protocols is None:
                # The protocol modules (SciPy, scikit-image…) are imported now: exempt them
                # from garbage collection before the analysis allocates (see gui/heap.py).
                freeze_long_lived()
            self._protocols = protocols
            self._loaded(series, do_analyse, time.perf_counter() - t0)

        self._preview_uid: str | None = None
        self._load_task = self.runner.start(job, name="loading images", on_done=done,
                                            on_partial=self._show_preview,
                                            on_failed=self._load_failed,
                                            on_finished=self._load_finished)
        self._update_actions()

    def _show_preview(self, series) -> None:
        """Show the first image found while the rest of the headers are still being read."""
        if self.workspace.entries or len(series) == 0:
            return
        self.viewer.set_series(series, 0)
        self._preview_uid = series.frames[0].sop_instance_uid
        self._set_status("Reading the image headers…")

    def _load_failed(self, message: str, hint: str) -> None:
        self.problems.add_problem("", message, hint)
        self._set_status(message)

    def _load_finished(self) -> None:
        self._load_task = None
        if self._analysis_task is None:
            self._hide_progress()
        self._update_actions()

    def _loaded(self, series_list, analyse: bool, seconds: float) -> None:
        for s in series_list:
            entry = self.workspace.add(s)
            self.browser.add_entry(entry)
        for prob in series_list.problems:
            self.workspace.problems.append(prob)
            self.problems.add_problem(prob.path, prob.error, prob.hint)
        n = len(series_list)
        bad = len(series_list.problems)
        self._set_status(f"{n} series loaded in {seconds:.1f} s"
                         + (f"; {bad} file(s) could not be used (see Problems)." if bad else "."))
        if self.workspace.entries:
            self.browser.select(self.workspace.entries[0].key)
        self._load_task = None
        self.loaded.emit(n)
        self._update_actions()
        if analyse and self.workspace.entries:
            self.run_analysis()

    # =====================================================================================
    # Showing one series
    # =====================================================================================
    def current_entry(self) -> SeriesEntry | None:
        key = self.browser.current_key()
        return self.workspace.get(key) if key is not None else None

    def show_entry(self, key: int) -> None:
        entry = self.workspace.get(key)
        if entry is None:
            return
        if self.viewer.series is not entry.series:
            start = None
            if self._preview_uid is not None:  # stay on the image already on screen
                start = next((i for i, f in enumerate(entry.series.frames)
                              if f.sop_instance_uid == self._preview_uid), None)
                self._preview_uid = None
            self.viewer.set_series(entry.series, start)
        self.header_panel.show_summary(entry.series.summary())
        self._fill_protocol_combo(entry)
        self._show_results(entry)

    def _fill_protocol_combo(self, entry: SeriesEntry) -> None:
        self.protocol_combo.blockSignals(True)
        self.protocol_combo.clear()
        auto = f"{AUTO_PROTOCOL}" + (f" ({entry.auto_protocol})" if entry.auto_protocol else "")
        self.protocol_combo.addItem(auto, None)
        for proto in self._protocols or []:
            if proto.accepts(entry.series) and proto.kind != "manual":  # typed in, not analysed
                self.protocol_combo.addItem(f"{proto.name} — {proto.title}", proto.name)
        idx = self.protocol_combo.findData(entry.protocol_override) \
            if entry.protocol_override else 0
        self.protocol_combo.setCurrentIndex(max(idx, 0))
        self.protocol_combo.blockSignals(False)

    def _show_results(self, entry: SeriesEntry, *, judged_only: bool = False) -> None:
        """Show `entry`'s results: title, table, plots (built when seen), warnings, ROIs.

        With `judged_only` (after the tolerance evaluation, which changes statuses, references
        and the equipment, never the ROIs, curves or warnings) only the title and the table
        are refreshed: redrawing the rest took the GUI thread ~100 ms per Catphan result.
        """
        self.result_title.setToolTip("")
        if entry.error:
            self.result_title.setText(f"<b>{entry.protocol or ''}</b>: could not analyse")
            self.warnings_label.setText(entry.error)
            self.results_table.show_rows([])
            self.plots.clear()
            self.viewer.set_rois([], jump=False)
            return
        if not entry.results:
            self.result_title.setText("Not analysed yet (F5 runs the analysis).")
            self.warnings_label.setText("")
            self.results_table.show_rows([])
            self.plots.clear()
            self.viewer.set_rois([], jump=False)
            return
        proto = entry.protocol or entry.results[0].protocol
        title = next((p.title for p in self._protocols or [] if p.name == proto), "")
        eq = f" · equipment: {entry.equipment_name}" if entry.equipment_name else \
            (" · equipment not in the database" if self.db.available else "")
        # Why this test ran (issue 11): a short line under the title, the whole reason on hover.
        import html

        why = entry.results[0].choice_reason
        short = why if len(why) <= 300 else why[:299].rsplit(" ", 1)[0] + " …"
        self.result_title.setText(f"<b>{proto}</b> {title}{eq}" + (
            f"<br><small><i>Why this test: {html.escape(short)}</i></small>" if why else ""))
        self.result_title.setToolTip(f"Why this test: {why}" if why else "")
        self.results_table.show_rows(rows_for(entry))
        if judged_only:
            return
        self.plots.show_results(entry.results)
        warnings = [w for r in entry.results for w in r.warnings]
        self.warnings_label.setText("\n".join(f"⚠ {w}" for w in dict.fromkeys(warnings)))
        self.viewer.set_rois([roi for r in entry.results for roi in r.rois])

    def _protocol_override_chosen(self, index: int) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        entry.protocol_override = self.protocol_combo.itemData(index)
        entry.results = []
        entry.error = None
        self.run_analysis([entry.key])

    # =====================================================================================
    # Analysis
    # =====================================================================================
    def run_analysis(self, keys: Sequence[int] | None = None) -> None:
        """Analyse the given series (all by default) on the worker pool."""
        if self._analysis_task is not None:
            return
        entries = [e for e in self.workspace.entries if keys is None or e.key in keys]
        if not entries:
            return
        items = [(e.key, e.series, e.protocol_override) for e in entries]
        n = len(items)
        self._show_progress(0, n)
        self._set_status(f"Analysing {n} series…")

        def job(p: Progress) -> int:
            from imgqa.protocols import AnalysisProblem, analyse_series

            for i, (key, series, override) in enumerate(items):
                p.check()
                p.report(i, n, f"{i + 1}/{n}")
                name = override
                try:
                    results = analyse_series(series, override)
                    name = results[0].protocol if results else override
                    p.emit(("ok", key, name, results))
                except Exception as exc:  # one series' problem; the next one runs
                    # Plain message and hint; a traceback goes to the log at DEBUG only.
                    prob = AnalysisProblem.from_exception(exc, override, [series])
                    p.emit(("error", key, name, prob.error, prob.hint))
            p.report(n, n, "done")
            return n

        self._analysis_task = self.runner.start(
            job, name="analysis", on_progress=self._on_progress, on_partial=self._on_partial,
            on_done=lambda _n: self._evaluate(entries), on_failed=self._analysis_failed,
            on_cancelled=self._analysis_cancelled, on_finished=self._analysis_task_finished)
        self._update_actions()

    def cancel(self) -> None:
        if self._analysis_task is not None:
            self._analysis_task.cancel()
            self._set_status("Cancelling after the current series…")
        if self._load_task is not None:
            self._load_task.cancel()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        self._show_progress(done, total, text)

    def _on_partial(self, item) -> None:
        kind, key = item[0], item[1]
        entry = self.workspace.get(key)
        if entry is None:  # the workspace was replaced meanwhile
            return
        if kind == "ok":
            _, _, name, results = item
            entry.auto_protocol = entry.auto_protocol if entry.protocol_override else name
            entry.results = list(results)
            entry.error = None
        else:
            _, _, name, message, hint = item
            entry.auto_protocol = entry.auto_protocol or name
            entry.results = []
            entry.error = f"{message} {hint}".strip()
            src = entry.series.sources[0] if entry.series.sources else ""
            self.problems.add_problem(src, f"{name or 'analysis'}: {message}", hint)
        self.browser.update_entry(entry)
        if self.browser.current_key() == key:
            self._fill_protocol_combo(entry)
            self._show_results(entry)

    def _analysis_failed(self, message: str, hint: str) -> None:
        self.problems.add_problem("", message, hint)
        self._set_status(message)
        self.analysis_finished.emit()

    def _analysis_cancelled(self) -> None:
        done = sum(1 for e in self.workspace.entries if e.results or e.error)
        self._set_status(f"Analysis cancelled ({done} of {len(self.workspace.entries)} "
                         "series analysed).")
        self.analysis_cancelled.emit()

    def _analysis_task_finished(self) -> None:
        self._analysis_task = None
        self._hide_progress()
        self._update_actions()

    def _evaluate(self, entries: list[SeriesEntry]) -> None:
        """Judge the new results against the database's baselines and tolerances."""
        todo = [e for e in entries if e.results]
        if not todo or not self.db.available:
            self._analysis_done()
            return
        jobs = [(e.key, e.series, list(e.results)) for e in todo]
        # Demo phantoms: register their (fictitious) devices so statuses show at once.
        create = self._demo_pending and self.db.can("equipment_admin")
        self._demo_pending = False

        def evaluate_all(store) -> list:
            out = []
            created: set[int] = set()
            for key, series, results in jobs:
                eq = store.match_equipment(series)
                if eq is None and create:
                    eq = store.create_equipment_from_series(
                        series, name=f"Demo {series.modality} (digital phantom)",
                        location="imgqa demo")
                    created.add(attr(eq, "id"))
                if eq is None:
                    out.append((key, None, "", results, {}))
                    continue
                eq_id = attr(eq, "id")
                if eq_id in created:  # demo devices get their baselines (gui/demo.py)
                    from imgqa.gui.demo import register_demo_baselines

                    register_demo_baselines(store, eq_id, results)
                evaluated = [store.evaluate(eq_id, r) for r in results]
                out.append((key, eq_id, str(attr(eq, "name", default="")), evaluated,
                            _tolerance_texts(store, eq_id, evaluated)))
            return out

        self._set_status("Comparing with baselines and tolerances…")
        self.db.run(evaluate_all, name="evaluation", on_done=self._evaluated,
                    on_failed=lambda m, h: (self.problems.add_problem("", m, h),
                                            self._analysis_done()))

    def _evaluated(self, items: list) -> None:
        for key, eq_id, eq_name, results, tols in items:
            entry = self.workspace.get(key)
            if entry is None:
                continue
            entry.equipment_id, entry.equipment_name = eq_id, eq_name
            entry.results = list(results)
            entry.tolerances = tols
            self.browser.update_entry(entry)
            if self.browser.current_key() == key:
                self._show_results(entry, judged_only=True)
        self._analysis_done()

    def _analysis_done(self) -> None:
        n_ok = sum(1 for e in self.workspace.entries if e.results)
        n_err = sum(1 for e in self.workspace.entries if e.error)
        self._set_status(f"Analysis finished: {n_ok} series analysed"
                         + (f", {n_err} could not be analysed (see Problems)." if n_err else "."))
        self._update_actions()
        self.analysis_finished.emit()

    def _show_progress(self, done: int, total: int, text: str = "") -> None:
        self.progress.setMaximum(total)
        self.progress.setValue(done)
        self.progress.setFormat(f"%v / %m {text}".strip() if total else "working…")
        self.progress.show()
        self.cancel_button.show()

    def _hide_progress(self) -> None:
        self.progress.hide()
        self.cancel_button.hide()

    # =====================================================================================
    # Saving
    # =====================================================================================
    def save_results(self) -> None:
        """Open the save dialog (non-blocking); saving happens when it is accepted."""
        if not self.db.available or not self.workspace.results:
            return
        from imgqa.gui.save_dialog import SaveDialog

        groups = self._equipment_groups()
        self.save_dialog = SaveDialog(self, groups, default_user=self.db.user)
        self.save_dialog.accepted.connect(lambda: self._save(self.save_dialog.choices()))
        self.db.run(lambda store: store.list_equipment(active_only=True),
                    name="equipment list", on_done=self.save_dialog.set_equipment_list)
        self.save_dialog.open()

    def _equipment_groups(self) -> list[dict]:
        """The analysed series, grouped by the device that made them."""
        groups: dict[str, dict] = {}
        for e in self.workspace.entries:
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

    def _save(self, choices: dict, *, duplicate_reason: str = "",
              only: Sequence[int] | None = None) -> None:
        """Save the chosen groups (``only``: their indices, for a retry with a reason)."""
        from imgqa.store.duplicates import DuplicateSessionError

        performed_by = choices.get("performed_by") or None
        comment = choices.get("comment", "")
        plan = []
        for g in choices["groups"]:
            if g.get("skip"):
                continue
            plan.append((g["entries"][0].series, g.get("equipment_id"), g.get("new_name"),
                         g.get("location", ""), [(e.key, list(e.results)) for e in g["entries"]]))
        todo = list(range(len(plan))) if only is None else list(only)

        def save_all(store) -> tuple[list, list]:
            sessions, refused = [], []
            for n in todo:
                series, eq_id, new_name, location, entry_results = plan[n]
                if eq_id is None:
                    eq = store.create_equipment_from_series(series, name=new_name or None,
                                                            location=location)
                    eq_id = attr(eq, "id")
                results = []
                for _key, rs in entry_results:
                    results.extend(store.evaluate(eq_id, r) for r in rs)
                try:
                    session = store.save_session(eq_id, results, performed_by=performed_by,
                                                 comment=comment,
                                                 duplicate_reason=duplicate_reason)
                except DuplicateSessionError as exc:  # ask for a reason; the others go on
                    refused.append((n, exc.message))
                    continue
                session_index.remember(attr(session, "uid", "id"),
                                       [i.source for r in results for i in r.inputs])
                sessions.append(session)
            return sessions, refused

        self._set_status("Saving…")
        self.db.run(save_all, name="saving",
                    on_done=lambda out: self._save_done(choices, *out),
                    on_failed=self._save_error)

    def _save_done(self, choices: dict, sessions: list, refused: list) -> None:
        if sessions:
            self._saved(sessions)
        if not refused:
            return
        from imgqa.gui.duplicate_dialog import DuplicateDialog

        self._set_status("Not saved: these images were already saved.")
        self.duplicate_dialog = DuplicateDialog(self, [msg for _, msg in refused])
        self.duplicate_dialog.accepted.connect(lambda: self._save(
            choices, duplicate_reason=self.duplicate_dialog.reason_text(),
            only=[n for n, _ in refused]))
        self.duplicate_dialog.open()

    def _saved(self, sessions: list) -> None:
        self._set_status(f"Saved {len(sessions)} session(s) to the database.")
        self.saved.emit(sessions)
        # Equipment may have been created: judge again so the table shows statuses.
        self._evaluate(list(self.workspace.entries))
        self.review_pane.refresh()
        # Queued after the judging above (one database thread), whose "Analysis finished"
        # would hide it: "Saved session 12 for CT 1: 3 results, 1 ACTION."
        from imgqa.gui.save_dialog import saved_message

        self.db.run(lambda store: [(s, store.session_results(attr(s, "id"))) for s in sessions],
                    name="saved summary",
                    on_done=lambda saved: self._set_status(saved_message(saved)))

    def _save_error(self, message: str, hint: str) -> None:
        self.problems.add_problem("", f"Saving failed: {message}", hint)
        self._set_status(f"Saving failed: {message}")
        self.save_failed.emit(message)

    # =====================================================================================
    # Sessions, baselines, settings, demo
    # =====================================================================================
    def open_session(self, session_id: Any) -> None:
        """Open the images of a saved session (from the trend view or the review pane)."""

        def find_paths(store) -> list[str]:
            session = store.session(session_id)
            return session_index.paths_for(attr(session, "uid", "id"))

        def opened(paths: list[str]) -> None:
            existing = [p for p in paths if Path(p).exists()]
            if not existing:
                self.problems.add_problem("", f"The images of session {session_id} are not "
                                          "available on this computer.",
                                          "They may have been moved or were on another "
                                          "workstation.")
                return
            self.tabs.setCurrentIndex(0)
            self.open_paths(existing)
            self.last_opened_session = session_id

        self.db.run(find_paths, name="session images", on_done=opened,
                    on_failed=lambda m, h: self.problems.add_problem("", m, h))

    def enter_results(self) -> None:
        """Database → Enter results…: manual results (`imgqa.gui.manual_entry_dialog`)."""
        from imgqa.gui.manual_entry_dialog import open_manual_entry

        self.manual_dialog = open_manual_entry(self)

    def open_baseline_editor(self, *context: Any) -> None:
        from imgqa.gui.baseline_dialog import BaselineDialog

        ctx = context if len(context) == 3 else None
        entry = self.current_entry()
        if ctx is None and entry is not None and entry.results and entry.equipment_id is not None:
            row = self.results_table.currentRow()
            rows = rows_for(entry)
            m = rows[row] if 0 <= row < len(rows) else (rows[0] if rows else None)
            if m is not None:
                ctx = (entry.equipment_id, m.protocol, m.measurement)
        self.baseline_dialog = BaselineDialog(self.db, self._protocols, context=ctx, parent=self)
        self.baseline_dialog.changed.connect(lambda: self._evaluate(list(self.workspace.entries)))
        self.baseline_dialog.changed.connect(self.trend_view.reload)
        self.baseline_dialog.open()

    def export_records(self) -> None:
        """Database → Export QA records…: a dialog, then the export on the database thread."""
        from imgqa.gui.export_dialog import ExportDialog, run_export

        folder = str(self.settings.value("export/folder", "")) or str(Path.home())
        self.export_dialog = dlg = ExportDialog(self, folder)
        self.db.run(lambda store: store.list_equipment(active_only=False),
                    name="equipment list", on_done=dlg.set_equipment_list)

        def start() -> None:
            choices = dlg.choices()
            self.settings.setValue("export/folder", str(Path(choices["file"]).parent))
            self._set_status("Exporting QA records…")
            self.db.run(lambda store: run_export(store, choices), name="export",
                        on_done=self._exported, on_failed=self._export_error)

        dlg.accepted.connect(start)
        dlg.open()

    def _exported(self, value: tuple) -> None:
        n_results, n_sessions, path = value
        self._set_status(f"Exported {n_results} result(s) of {n_sessions} session(s) to "
                         f"{path}.")
        self.exported.emit(value)

    def _export_error(self, message: str, hint: str) -> None:
        self.problems.add_problem("", f"Export failed: {message}", hint)
        self._set_status(f"Export failed: {message}")
        self.export_failed.emit(message)

    def open_settings(self) -> None:
        from imgqa.gui.settings_dialog import SettingsDialog

        self.settings_dialog = SettingsDialog(self.settings, self.db.url, parent=self,
                                              receiver=self.inbox.receiver)
        self.settings_dialog.accepted.connect(
            lambda: self.db.connect_to(self.settings_dialog.url()))
        self.settings_dialog.accepted.connect(self.inbox.apply_settings)
        self.settings_dialog.open()

    def load_demo(self) -> None:
        """Open the demo phantoms (generating them once if needed) and analyse them."""
        self._set_status("Preparing the demo phantoms…")
        self._show_progress(0, 0)

        def job(_p: Progress):
            from imgqa.gui.demo import demo_folder

            return demo_folder()

        def done(folder) -> None:
            self._hide_progress()
            if folder is None:
                self.problems.add_problem("", "No demo phantoms are available.",
                                          "Run `imgqa phantoms make DIR` and open DIR.")
                return
            self.settings.setValue("demo/loaded", True)
            self._demo_pending = True
            self.open_paths([str(folder)])

        self.runner.start(job, name="demo phantoms", on_done=done,
                          on_failed=lambda m, h: (self._hide_progress(),
                                                  self.problems.add_problem("", m, h)))


def _tolerance_texts(store, eq_id, results) -> dict:
    """(label, protocol, measurement) → (reference, tolerance text) from the store."""
    out: dict = {}
    fn = getattr(store, "tolerance", None)
    if fn is None:
        return out
    for r in results:
        for m in r.measurements:
            try:
                info = fn(eq_id, r.protocol, m.name)
            except Exception:
                log.debug("tolerance lookup failed", exc_info=True)
                continue
            if info is None:
                continue
            ref = attr(info, "reference", "baseline", "value")
            tol = attr(info, "tolerance", default=info)
            text = ""
            describe = getattr(tol, "describe", None)
            if callable(describe):
                try:
                    text = describe(m.unit)
                except Exception:
                    text = ""
            out[(r.label, r.protocol, m.name)] = (ref if isinstance(ref, (int, float)) else None,
                                                  text)
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
