"""The hands-off QC parts of the window (issue 12), added by one object, as the inbox is.

`AutomaticUi` adds to a main window:

* the *Due* tab (`gui/due_view.py`), refreshed after every save; double-click opens the
  equipment's trend of the test;
* the *Automatic QC* tab (`gui/service_status.py`): receiver and automatic analysis status,
  with the switches to run them; it uses the receiver of the window's inbox controller;
* the status-bar badge (*2 overdue · 1 action*), whose counts open the Due tab or the review
  list;
* *Analysis → Always analyse series like this one this way…* (also in the series list's
  context menu): the routing-rule dialog (`gui/rule_dialog.py`) pre-filled from the shown
  series.

The window creates it after its inbox and calls `shutdown` when closing (after the inbox has
stopped the receiver), so the automatic analysis finishes what was acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolButton

from imgqa.gui.due_view import DueView, protocol_label
from imgqa.gui.service_status import GlanceBadge, ServiceStatusPanel

if TYPE_CHECKING:
    from imgqa.gui.rule_dialog import RuleDialog

__all__ = ["AutomaticUi"]


class AutomaticUi(QObject):
    """Due tab, Automatic QC tab, glance badge and the rule-from-series action of a window."""

    def __init__(self, window: Any) -> None:
        # `window` is the MainWindow (typed loosely: only app.py imports the main window)
        super().__init__(window)
        self.window = w = window
        self.rule_dialog: RuleDialog | None = None
        self.due_view = DueView(w.db)
        self.status_panel = ServiceStatusPanel(w.inbox.receiver, w.db, w.settings)
        w.tabs.addTab(self.due_view, "Due")
        w.tabs.addTab(self.status_panel, "Automatic QC")
        w.tabs.currentChanged.connect(self._tab_changed)
        self.due_view.open_trend.connect(self.show_trend)

        self.badge = GlanceBadge(w.db)
        w.statusBar().addPermanentWidget(self.badge)
        self.badge.open_due.connect(self.show_due)
        self.badge.open_review.connect(self.show_review)
        self.badge.counts_changed.connect(self.status_panel.show_counts)
        self.status_panel.open_review.connect(self.show_review)

        # Anything that may change what is due or awaiting review refreshes the counts.
        w.saved.connect(self._something_saved)
        w.review_pane.reviewed.connect(lambda _n: self.badge.refresh())
        self.status_panel.runner.outcome.connect(self._outcome)

        self.act_rule = QAction("Always analyse series like this one this way…", w)
        tip = ("Make a routing rule from the shown series: later series like it are analysed "
               "automatically with this test")
        self.act_rule.setIconText("Always like this…")   # the result panel's button
        self.act_rule.setStatusTip(tip)
        self.act_rule.setToolTip(tip)
        self.act_rule.triggered.connect(self.rule_from_series)
        w.addAction(self.act_rule)
        menus = [a.menu() for a in w.menuBar().actions() if a.text() == "&Analysis"]
        if menus and menus[0] is not None:
            menus[0].addSeparator()
            menus[0].addAction(self.act_rule)
        self.rule_button = QToolButton()
        self.rule_button.setDefaultAction(self.act_rule)
        w.result_panel.test_row.addWidget(self.rule_button)
        w.browser.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        w.browser.customContextMenuRequested.connect(self._browser_menu)
        w.db.changed.connect(self._update_action)
        w.controller.state_changed.connect(self._update_action)
        w.browser.series_selected.connect(lambda _k: self._update_action())
        self._update_action()

    # -- navigation -----------------------------------------------------------------------
    def show_due(self) -> None:
        self.window.tabs.setCurrentWidget(self.due_view)

    def show_review(self) -> None:
        w = self.window
        if w.tabs.isTabEnabled(w.tabs.indexOf(w.review_pane)):
            w.review_pane.unreviewed_only.setChecked(True)
            w.tabs.setCurrentWidget(w.review_pane)

    def show_trend(self, equipment_id: int, protocol: str) -> None:
        """The trend of the test's headline measurement on that equipment."""
        from imgqa.protocols.base import get_protocol, key_measurement

        w = self.window
        measurement = key_measurement(protocol)
        if measurement is None:
            try:
                measurement = get_protocol(protocol).measurements[0].name
            except Exception:  # noqa: BLE001 - unknown or manual protocol: show the equipment
                measurement = ""
        w.tabs.setCurrentWidget(w.trend_view)  # starts reading the equipment list
        # The database thread runs one job at a time, in order: this one ends after the
        # equipment list has been read and shown, so the combo holds the equipment by then.
        w.db.run(lambda _store: None, name="after equipment list",
                 on_done=lambda _v: w.trend_view.select(equipment_id, protocol, measurement))

    def _tab_changed(self, index: int) -> None:
        widget = self.window.tabs.widget(index)
        if widget is self.due_view:
            self.due_view.refresh()
        elif widget is self.status_panel:
            self.badge.refresh()

    def _something_saved(self, *_: Any) -> None:
        self.badge.refresh()
        if self.due_view.isVisible() or self.due_view.items:
            self.due_view.refresh()

    def _outcome(self, outcome: Any) -> None:
        if outcome.state == "saved":
            self._something_saved()
            self.window.review_pane.refresh()

    # -- rule from series -----------------------------------------------------------------
    def _update_action(self) -> None:
        entry = self.window.current_entry()
        ok = entry is not None and bool(entry.results) and not entry.error
        allowed = self.window.db.can("baseline")   # physicists add rules (store checks too)
        self.act_rule.setEnabled(ok and allowed)
        why = self.window.db.why_not("baseline") if not allowed else \
            ("" if ok else "Analyse a series first.")
        self.act_rule.setToolTip(why or self.act_rule.statusTip())

    def _browser_menu(self, pos: QPoint) -> None:
        item = self.window.browser.itemAt(pos)
        if item is None or item.data(0, Qt.ItemDataRole.UserRole) is None:
            return
        self.window.browser.setCurrentItem(item)
        menu = QMenu(self.window.browser)
        menu.addAction(self.act_rule)
        menu.popup(self.window.browser.viewport().mapToGlobal(pos))

    def rule_from_series(self) -> RuleDialog | None:
        """Open the rule dialog pre-filled from the shown series."""
        from imgqa.gui.rule_dialog import RuleDialog, draft_from_entry

        w = self.window
        entry = w.current_entry()
        if entry is None or not entry.results:
            return None
        self.rule_dialog = dlg = RuleDialog(w.db, draft_from_entry(entry),
                                            header=entry.series.header, parent=w)
        dlg.saved.connect(lambda r: w._set_status(
            f"Routing rule {r.rule_id} saved: series like this one are analysed with "
            f"{protocol_label(r.protocol)}."))
        dlg.open()
        return dlg

    def shutdown(self) -> None:
        self.due_view.shutdown()
        self.badge.shutdown()
        self.status_panel.shutdown()
