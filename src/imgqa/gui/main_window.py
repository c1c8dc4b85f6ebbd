"""The main window: open images, see them with the analysis ROIs, results, save, review, trend.

The window keeps the layout: it builds the widgets, menus and docks and wires them to its
`QcController` (`gui/controller.py`), which loads, analyses, judges, saves, opens sessions and
exports. Slow work never runs here: loading and analysis go to the controller's thread pool,
database work to `self.db` (one database thread); the window only reacts to their signals.
The inbox (`gui/inbox.py`) is added by the window and knows nothing of it but the widgets and
the ``open_paths`` callback it is given.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
)

from imgqa.gui.controller import QcController, equipment_groups
from imgqa.gui.glance import attach_glance
from imgqa.gui.heap import freeze_long_lived
from imgqa.gui.inbox import InboxController
from imgqa.gui.model import SeriesEntry, rows_for
from imgqa.gui.problems_panel import ProblemsPanel
from imgqa.gui.result_panel import ResultPanel
from imgqa.gui.series_browser import SeriesBrowser
from imgqa.gui.state import add_recent_folder, app_settings, recent_folders
from imgqa.gui.store_bridge import StoreBridge
from imgqa.gui.viewer import ImageViewer

if TYPE_CHECKING:  # the dialogs are imported when first opened (light start-up)
    from imgqa.gui.baseline_dialog import BaselineDialog
    from imgqa.gui.duplicate_dialog import DuplicateDialog
    from imgqa.gui.export_dialog import ExportDialog
    from imgqa.gui.manual_entry_dialog import ManualEntryDialog
    from imgqa.gui.save_dialog import SaveDialog
    from imgqa.gui.settings_dialog import SettingsDialog
    from imgqa.io.series import ImageSeries
    from imgqa.protocols.base import Protocol
    from imgqa.store.records import SessionRecord

__all__ = ["MainWindow"]

log = logging.getLogger(__name__)



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
        self.db = StoreBridge(self)
        self.db.changed.connect(self._update_actions)
        self.controller = QcController(self.db, self)
        self.workspace = self.controller.workspace
        self.runner = self.controller.runner
        self._preview_uid: str | None = None
        self.auto_analyse = True
        self.last_opened_session: int | None = None
        # the dialogs last opened (tests and the screenshot mode look at them)
        self.save_dialog: SaveDialog | None = None
        self.duplicate_dialog: DuplicateDialog | None = None
        self.baseline_dialog: BaselineDialog | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.export_dialog: ExportDialog | None = None
        self.manual_dialog: ManualEntryDialog | None = None

        self._build_widgets()
        self._build_actions()
        # receiver, Inbox tab, File → Open inbox… (Ctrl+I)
        self.inbox = InboxController(self, self.tabs, self.settings, self.open_paths,
                                     after=self.act_open_folder)
        self._connect_controller()
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
        self.result_panel = side = ResultPanel()
        side.protocol_chosen.connect(self._protocol_override_chosen)
        # the panel's widgets, by their names (tests and the screenshot mode use them)
        self.results_table, self.plots = side.results_table, side.plots
        self.header_panel, self.protocol_combo = side.header_panel, side.protocol_combo
        self.result_title, self.warnings_label = side.result_title, side.warnings_label
        self.side_tabs = side.tabs  # Results / Plots / Header

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

    def _connect_controller(self) -> None:
        c = self.controller
        c.status.connect(self._set_status)
        c.problem.connect(self.problems.add_problem)
        c.progress.connect(self._show_progress)
        c.progress_hidden.connect(self._hide_progress)
        c.state_changed.connect(self._update_actions)
        c.preview.connect(self._show_preview)
        c.entries_added.connect(self._entries_added)
        c.entry_changed.connect(self._entry_changed)
        c.duplicates_refused.connect(self._ask_duplicate_reason)
        c.session_images.connect(self._open_session_images)
        c.demo_ready.connect(self._open_demo)
        for theirs, ours in ((c.loaded, self.loaded), (c.analysis_finished, self.analysis_finished),
                             (c.analysis_cancelled, self.analysis_cancelled),
                             (c.saved, self.saved), (c.save_failed, self.save_failed),
                             (c.exported, self.exported), (c.export_failed, self.export_failed)):
            theirs.connect(ours)
        c.saved.connect(lambda _sessions: self.review_pane.refresh())
        self.glance = attach_glance(self)  # failing sessions, overdue tests (issue 12)

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
        self.controller.shutdown()
        self.trend_view.shutdown()
        self.inbox.shutdown()
        self.db.close()
        super().closeEvent(event)

    @property
    def busy(self) -> bool:
        return self.controller.busy

    @property
    def _protocols(self) -> list[Protocol] | None:
        return self.controller.protocols

    def _update_actions(self) -> None:
        running = self.controller.running
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
        if index == self.tabs.indexOf(self.review_pane):
            self.review_pane.refresh()
        elif index == self.tabs.indexOf(self.trend_view):
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
        items = [str(p) for p in paths]
        if not items:
            return
        first = Path(items[0])
        add_recent_folder(str(first if first.is_dir() else first.parent), self.settings)
        self._rebuild_recent_menu()
        self._preview_uid = None
        # The controller empties the workspace first, so nothing below shows an old series.
        self.controller.load(items, analyse=self.auto_analyse if analyse is None else analyse)
        self.browser.clear_entries()
        self.problems.clear_problems()
        self.viewer.set_series(None)
        self.result_panel.clear()

    def _show_preview(self, series: ImageSeries) -> None:
        """Show the first image found while the rest of the headers are still being read."""
        if self.workspace.entries or len(series) == 0:
            return
        self.viewer.set_series(series, 0)
        self._preview_uid = series.frames[0].sop_instance_uid
        self._set_status("Reading the image headers…")

    def _entries_added(self, entries: list[SeriesEntry]) -> None:
        for entry in entries:
            self.browser.add_entry(entry)
        if entries:
            self.browser.select(entries[0].key)

    def _entry_changed(self, entry: SeriesEntry, judged_only: bool) -> None:
        """New results (or, `judged_only`, new statuses after the tolerance evaluation)."""
        self.browser.update_entry(entry)
        if self.browser.current_key() == entry.key:
            if not judged_only:
                self._fill_protocol_combo(entry)
            self._show_results(entry, judged_only=judged_only)

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
        self.result_panel.fill_protocols(entry, self._protocols or [])

    def _show_results(self, entry: SeriesEntry, *, judged_only: bool = False) -> None:
        """Show `entry`'s results beside the image and (unless `judged_only`) its ROIs."""
        self.result_panel.show_entry(entry, self._protocols or [],
                                     db_available=self.db.available, judged_only=judged_only)
        if not (entry.results and not entry.error):
            self.viewer.set_rois([], jump=False)
        elif not judged_only:
            self.viewer.set_rois([roi for r in entry.results for roi in r.rois])

    def _protocol_override_chosen(self, protocol: str | None) -> None:
        entry = self.current_entry()
        if entry is not None:
            self.controller.rerun(entry, protocol)

    # =====================================================================================
    # Analysis and saving (the work is the controller's)
    # =====================================================================================
    def run_analysis(self, keys: Sequence[int] | None = None) -> None:
        """Analyse the given series (all by default) on the worker pool."""
        self.controller.run_analysis(keys)

    def cancel(self) -> None:
        self.controller.cancel()

    def save_results(self) -> None:
        """Open the save dialog (non-blocking); saving happens when it is accepted."""
        if not self.db.available or not self.workspace.results:
            return
        from imgqa.gui.save_dialog import SaveDialog

        groups = equipment_groups(self.workspace.entries)
        self.save_dialog = dlg = SaveDialog(self, groups, default_user=self.db.user)
        dlg.accepted.connect(lambda: self.controller.save(dlg.choices()))
        self.db.run(lambda store: store.list_equipment(active_only=True),
                    name="equipment list", on_done=dlg.set_equipment_list)
        dlg.open()

    def _ask_duplicate_reason(self, choices: dict[str, Any],
                              refused: list[tuple[int, str]]) -> None:
        """Some images were saved before: ask why they are saved again, then retry those."""
        from imgqa.gui.duplicate_dialog import DuplicateDialog

        self.duplicate_dialog = dlg = DuplicateDialog(self, [msg for _, msg in refused])
        dlg.accepted.connect(lambda: self.controller.save(
            choices, duplicate_reason=dlg.reason_text(), only=[n for n, _ in refused]))
        dlg.open()

    # =====================================================================================
    # Sessions, baselines, export, settings, demo
    # =====================================================================================
    def open_session(self, session_id: int) -> None:
        """Open the images of a saved session (from the trend view or the review pane)."""
        self.controller.find_session_images(session_id)

    def _open_session_images(self, session_id: int, paths: list[str]) -> None:
        self.tabs.setCurrentIndex(0)
        self.open_paths(paths)
        self.last_opened_session = session_id

    def enter_results(self) -> None:
        """Database → Enter results…: manual results (`imgqa.gui.manual_entry_dialog`).

        The open series' ``mr.acr`` result, if any, is offered for its visual count.
        """
        from imgqa.gui.manual_entry_dialog import ManualEntryDialog, manual_base

        entry = self.current_entry()
        base = manual_base(entry.results or (), entry.equipment_id) if entry is not None \
            else None
        self.manual_dialog = dlg = ManualEntryDialog(self.db, self, base=base,
                                                     default_user=self.db.user)
        dlg.saved.connect(self._manual_saved)
        dlg.open()

    def _manual_saved(self, session: SessionRecord) -> None:
        self._set_status(f"Saved entered results as QC session {session.id} "
                         f"(worst status {session.worst_status or 'none'}).")
        self.review_pane.refresh()
        self.trend_view.reload()
        self.saved.emit([session])

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
        self.baseline_dialog.changed.connect(lambda: self.controller.evaluate())
        self.baseline_dialog.changed.connect(self.trend_view.reload)
        self.baseline_dialog.open()

    def export_records(self) -> None:
        """Database → Export QA records…: a dialog, then the export on the database thread."""
        from imgqa.gui.export_dialog import ExportDialog

        folder = str(self.settings.value("export/folder", "")) or str(Path.home())
        self.export_dialog = dlg = ExportDialog(self, folder)
        self.db.run(lambda store: store.list_equipment(active_only=False),
                    name="equipment list", on_done=dlg.set_equipment_list)

        def start() -> None:
            choices = dlg.choices()
            self.settings.setValue("export/folder", str(Path(choices["file"]).parent))
            self.controller.export(choices)

        dlg.accepted.connect(start)
        dlg.open()

    def open_settings(self) -> None:
        from imgqa.gui.settings_dialog import SettingsDialog

        self.settings_dialog = dlg = SettingsDialog(self.settings, self.db.url, parent=self,
                                                    receiver=self.inbox.receiver)
        dlg.accepted.connect(lambda: self.db.connect_to(dlg.url()))
        dlg.accepted.connect(self.inbox.apply_settings)
        dlg.open()

    def load_demo(self) -> None:
        """Open the demo phantoms (generating them once if needed) and analyse them."""
        self.controller.prepare_demo()

    def _open_demo(self, folder: str) -> None:
        self.settings.setValue("demo/loaded", True)
        self.open_paths([folder])
