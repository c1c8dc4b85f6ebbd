"""The inbox: series received from scanners, grouped by date, ready to analyse.

The receiver files images as ``inbox/<YYYYMMDD>/<SeriesInstanceUID>/<SOP>.dcm``.
`scan_inbox` lists those series folders (one header read per folder, cached) without Qt;
`InboxView` shows them (today first) with modality, equipment, image count, time received and a
"new" mark for series that arrived while the window was open and were not opened since.
Double-click or *Analyse* hands the folders to the window's ordinary open-and-analyse path.
`InboxController` adds the view, the receiver and its status-bar text to a window; the window
creates it and passes what it needs (its tabs, settings and ``open_paths``), so this module does
not import the main window.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.date_axis import MONTHS
from imgqa.gui.receiver_control import ReceiverControl
from imgqa.gui.state import receiver_settings
from imgqa.gui.workers import TaskRunner

__all__ = ["InboxController", "InboxSeries", "InboxView", "scan_inbox"]

log = logging.getLogger(__name__)

_FOLDER = Qt.ItemDataRole.UserRole
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TAGS = ["Modality", "Manufacturer", "ManufacturerModelName", "StationName",
         "SeriesDescription", "SeriesInstanceUID"]


@dataclass(frozen=True)
class InboxSeries:
    """One series folder of the inbox (no patient data)."""

    folder: Path
    day: str                 # the date folder, YYYYMMDD (or "undated")
    modality: str
    equipment: str
    description: str
    n_images: int
    received: datetime       # when its newest file was written

    @property
    def date(self) -> date | None:
        try:
            return datetime.strptime(self.day, "%Y%m%d").date()
        except ValueError:
            return None


def _header_facts(path: Path) -> tuple[str, str, str]:
    """(modality, equipment, description) from one file's header, pixels not read."""
    import pydicom

    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=_TAGS)
    except Exception:  # noqa: BLE001 - damaged file: the analysis reports it properly
        return "", "", ""
    eq = " ".join(str(ds.get(t, "") or "") for t in ("Manufacturer", "ManufacturerModelName"))
    station = str(ds.get("StationName", "") or "")
    equipment = " ".join(eq.split()) + (f" ({station})" if station else "")
    return (str(ds.get("Modality", "") or ""), equipment.strip(),
            str(ds.get("SeriesDescription", "") or ""))


def scan_inbox(root: Path, cache: dict | None = None) -> list[InboxSeries]:
    """Every series folder under `root`, newest date first, then newest received first.

    `cache` (folder → header facts) avoids reading a header again on each refresh.
    """
    cache = {} if cache is None else cache
    root = Path(root)
    out: list[InboxSeries] = []
    if not root.is_dir():
        return out
    for day_dir in (d for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")):
        for folder in (f for f in day_dir.iterdir() if f.is_dir()):
            files = [p for p in folder.glob("*.dcm") if not p.name.startswith(".")]
            if not files:
                continue
            try:
                newest = max(p.stat().st_mtime for p in files)
            except OSError:  # a file renamed away meanwhile: next refresh sees it
                continue
            facts = cache.get(folder)
            if facts is None:
                facts = cache[folder] = _header_facts(files[0])
            out.append(InboxSeries(folder, day_dir.name, *facts, n_images=len(files),
                                   received=datetime.fromtimestamp(newest)))
    out.sort(key=lambda s: s.received, reverse=True)
    out.sort(key=lambda s: s.day if s.date is not None else "", reverse=True)
    return out


def day_label(day: date | None, today: date | None = None) -> str:
    if day is None:
        return "Undated"
    today = today or date.today()
    # English names, as on the trend axis: the same on every workstation locale.
    text = f"{_WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"
    delta = (today - day).days
    return {0: f"Today — {text}", 1: f"Yesterday — {text}"}.get(delta, text)


class InboxView(QWidget):
    """The received series, grouped by date; emits the folders to analyse.

    Signals
    -------
    analyse_requested(list): series folders (str) to open and analyse.
    refreshed(int): the list was rebuilt with this many series.
    """

    analyse_requested = Signal(list)
    refreshed = Signal(int)

    COLUMNS = ("Date / series", "Modality", "Equipment", "Images", "Received", "New")

    def __init__(self, receiver: ReceiverControl, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.receiver = receiver
        self.runner = TaskRunner(max_threads=1, parent=self)
        self._cache: dict = {}
        self._scanning = False
        self._again = False
        self.series: list[InboxSeries] = []

        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(list(self.COLUMNS))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        h = self.tree.header()
        h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(self.COLUMNS)):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        h.setStretchLastSection(False)
        self.tree.itemDoubleClicked.connect(self._double_clicked)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setToolTip("Open the selected series and analyse them")
        self.analyse_button.clicked.connect(self.analyse_selected)
        self.analyse_button.setEnabled(False)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)

        buttons = QHBoxLayout()
        buttons.addWidget(self.analyse_button)
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)

        # New images arrive one by one: rebuild once they pause, not per image.
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.refresh)
        receiver.received.connect(lambda _item: self._debounce.start())
        receiver.state_changed.connect(self._receiver_changed)
        self._receiver_changed()

    # -- reading the inbox ----------------------------------------------------------------
    def refresh(self) -> None:
        if self._scanning:  # a scan is running: run once more when it ends
            self._again = True
            return
        self._scanning = True
        root, cache = self.receiver.inbox, self._cache
        self.runner.start(lambda _p: scan_inbox(root, cache), name="inbox scan",
                          on_done=self._show, on_failed=self._failed,
                          on_finished=self._scan_finished)

    def _scan_finished(self) -> None:
        self._scanning = False
        if self._again:
            self._again = False
            self.refresh()

    def _failed(self, message: str, hint: str) -> None:
        self.status.setText(f"Cannot read the inbox: {message} {hint}".strip())

    def _show(self, series: list[InboxSeries]) -> None:
        selected = set(self.selected_folders())
        self.series = series
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        today = date.today()
        for s in series:
            group = groups.get(s.day)
            if group is None:
                group = groups[s.day] = QTreeWidgetItem([day_label(s.date, today)])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                self.tree.addTopLevelItem(group)
            new = s.folder in self.receiver.new_series
            when = s.received.strftime("%H:%M" if s.received.date() == today
                                       else "%Y-%m-%d %H:%M")
            item = QTreeWidgetItem([s.description or s.folder.name, s.modality,
                                    s.equipment, str(s.n_images), when,
                                    "● new" if new else ""])
            item.setData(0, _FOLDER, str(s.folder))
            item.setToolTip(0, str(s.folder))
            item.setTextAlignment(3, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if new:
                font = item.font(0)
                font.setBold(True)
                for c in range(len(self.COLUMNS)):
                    item.setFont(c, font)
            group.addChild(item)
            if str(s.folder) in selected:
                item.setSelected(True)
        self.tree.expandAll()
        self._receiver_changed()
        self.refreshed.emit(len(series))

    # -- actions --------------------------------------------------------------------------
    def selected_folders(self) -> list[str]:
        return [f for it in self.tree.selectedItems()
                if (f := it.data(0, _FOLDER))]

    def analyse_selected(self) -> None:
        folders = self.selected_folders()
        if folders:
            self.analyse_requested.emit(folders)

    def _double_clicked(self, item: QTreeWidgetItem, _column: int) -> None:
        folder = item.data(0, _FOLDER)
        if folder:
            self.analyse_requested.emit([folder])

    def _selection_changed(self) -> None:
        self.analyse_button.setEnabled(bool(self.selected_folders()))

    def item_for(self, folder: str | Path) -> QTreeWidgetItem | None:
        """The row of one series folder (for tests and tours)."""
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                if group.child(j).data(0, _FOLDER) == str(folder):
                    return group.child(j)
        return None

    def _receiver_changed(self) -> None:
        rx = self.receiver
        n = len(self.series)
        listed = f"{n} series in {rx.inbox}." if n else f"The inbox ({rx.inbox}) is empty."
        if rx.running:
            head = (f"Receiving as AE title <b>{html.escape(rx.settings.ae_title)}</b> on port "
                    f"<b>{rx.port}</b>.")
            if rx.refused_count:  # why a scanner's send failed, where the technologist looks
                head += (f" <span style='color:#c62828'>{rx.refused_count} refused. "
                         f"{html.escape(rx.refused_detail())}</span>")
        elif rx.error:
            head = f"<span style='color:#c62828'>The receiver is stopped: {rx.error}</span>"
        else:
            head = "The receiver is off (File → Settings… → Receive images from scanners)."
        self.status.setText(f"{head} {listed}")

    def shutdown(self) -> None:
        self._debounce.stop()
        self.runner.wait(5000)


class InboxController(QObject):
    """The receiver, the inbox tab, *File → Open inbox…* and the status-bar text of a window.

    Parameters
    ----------
    window : the main window (status bar, shortcut, parent).
    tabs : the window's central tabs; the Inbox tab is added, the first tab is the analysis.
    settings : the application settings (receiver AE title, port, folder).
    open_paths : the window's open-and-analyse path, given the chosen series folders.
    after : the *File* menu action after which *Open inbox…* is inserted.
    """

    def __init__(self, window: QMainWindow, tabs: QTabWidget, settings: QSettings,
                 open_paths: Callable[[Sequence[str]], None], *,
                 after: QAction | None = None) -> None:
        super().__init__(window)
        self.tabs = tabs
        self.settings = settings
        self._open_paths = open_paths
        self.receiver = ReceiverControl(self)
        self.view = InboxView(self.receiver)
        self.view.analyse_requested.connect(self.analyse)
        tabs.addTab(self.view, "Inbox")
        tabs.currentChanged.connect(self._tab_changed)

        self.status_label = QLabel("")
        window.statusBar().addPermanentWidget(self.status_label)
        self.receiver.state_changed.connect(self._update_status)

        self.action = QAction("Open inbox…", window)
        self.action.setShortcut(QKeySequence("Ctrl+I"))
        tip = "Images received from scanners, ready to analyse (Ctrl+I)"
        self.action.setStatusTip(tip)
        self.action.setToolTip(tip)
        self.action.triggered.connect(self.show_inbox)
        window.addAction(self.action)
        self._add_to_file_menu(after)
        self.apply_settings()

    def _add_to_file_menu(self, anchor: QAction | None) -> None:
        menus = [m for m in (anchor.associatedObjects() if anchor is not None else [])
                 if hasattr(m, "insertAction") and hasattr(m, "menuAction")]
        if not menus:
            return
        menu = menus[0]
        acts = menu.actions()
        i = acts.index(anchor) if anchor in acts else -1
        before = acts[i + 1] if 0 <= i < len(acts) - 1 else None
        if before is not None:
            menu.insertAction(before, self.action)
        else:
            menu.addAction(self.action)

    def apply_settings(self) -> bool:
        """Start, restart or stop the receiver from the saved settings."""
        ok = self.receiver.apply(receiver_settings(self.settings))
        if self.view.isVisible() or self.receiver.running:
            self.view.refresh()
        return ok

    def show_inbox(self) -> None:
        self.tabs.setCurrentWidget(self.view)
        self.view.refresh()

    def analyse(self, folders: list[str]) -> None:
        """Open the chosen series through the window's ordinary open-and-analyse path."""
        self.receiver.mark_seen(folders)
        self.tabs.setCurrentIndex(0)
        self._open_paths(folders)
        self.view.refresh()

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.view:
            self.view.refresh()

    def _update_status(self) -> None:
        rx = self.receiver
        self.status_label.setText(rx.status_text() if (rx.running or rx.error) else "")
        tip = f"Inbox: {rx.inbox}" if rx.running else rx.error
        if rx.running and rx.refused_count:
            tip += "\n" + rx.refused_detail()
        self.status_label.setToolTip(tip)
        self.status_label.setStyleSheet("color: #c62828;" if rx.error else "")

    def shutdown(self) -> None:
        self.receiver.stop(notify=False)
        self.view.shutdown()

