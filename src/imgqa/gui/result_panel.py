"""The right-hand side of the Analysis tab: the test chosen, why, its results, plots, header.

A view of one `SeriesEntry` (`gui/model.py`): the main window calls `show_entry` when the
selected series or its results change; choosing another test in the combo emits
`protocol_chosen` (the window asks the controller to analyse again).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from imgqa.gui.model import SeriesEntry, rows_for
from imgqa.gui.plots import PlotsPanel
from imgqa.gui.results_table import ResultsTable
from imgqa.gui.series_browser import HeaderPanel

if TYPE_CHECKING:
    from imgqa.protocols.base import Protocol

__all__ = ["AUTO_PROTOCOL", "ResultPanel"]

AUTO_PROTOCOL = "Automatic"


class ResultPanel(QWidget):
    """Test chooser, result title with the reason for the test, Results/Plots/Header tabs and
    the analysis warnings."""

    protocol_chosen = Signal(object)   # a protocol name, or None for the automatic choice

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results_table = ResultsTable()
        self.plots = PlotsPanel()
        self.header_panel = HeaderPanel()
        self.protocol_combo = QComboBox()
        self.protocol_combo.setToolTip("The QC test for this series: chosen automatically from "
                                       "the modality and the phantom; pick another to re-run.")
        self.protocol_combo.setMinimumWidth(220)
        self.protocol_combo.activated.connect(
            lambda i: self.protocol_chosen.emit(self.protocol_combo.itemData(i)))
        self.result_title = QLabel("")
        self.result_title.setWordWrap(True)
        self.warnings_label = QLabel("")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #b26a00;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Test:"))
        row.addWidget(self.protocol_combo, 1)
        self.test_row = row  # more buttons about the test go here (`gui/automatic_ui.py`)
        layout.addLayout(row)
        layout.addWidget(self.result_title)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.results_table, "Results")
        self.tabs.addTab(self.plots, "Plots")
        self.tabs.addTab(self.header_panel, "Header")
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.warnings_label)

    def clear(self) -> None:
        self.results_table.show_rows([])
        self.plots.clear()
        self.protocol_combo.clear()
        self.result_title.setText("")
        self.warnings_label.setText("")

    def fill_protocols(self, entry: SeriesEntry, protocols: Sequence[Protocol]) -> None:
        """The tests that accept `entry`'s series, the automatic choice first."""
        combo = self.protocol_combo
        combo.blockSignals(True)
        combo.clear()
        auto = f"{AUTO_PROTOCOL}" + (f" ({entry.auto_protocol})" if entry.auto_protocol else "")
        combo.addItem(auto, None)
        for proto in protocols:
            if proto.accepts(entry.series) and proto.kind != "manual":  # typed in, not analysed
                combo.addItem(f"{proto.name} — {proto.title}", proto.name)
        idx = combo.findData(entry.protocol_override) if entry.protocol_override else 0
        combo.setCurrentIndex(max(idx, 0))
        combo.blockSignals(False)

    def show_entry(self, entry: SeriesEntry, protocols: Sequence[Protocol], *,
                   db_available: bool, judged_only: bool = False) -> None:
        """Show `entry`'s results: title, table and (unless `judged_only`) plots and warnings.

        With `judged_only` (after the tolerance evaluation, which changes statuses, references
        and the equipment, never the curves or warnings) only the title and the table are
        refreshed: redrawing the rest took the GUI thread ~100 ms per Catphan result.
        """
        self.result_title.setToolTip("")
        if entry.error or not entry.results:
            self.result_title.setText(
                f"<b>{entry.protocol or ''}</b>: could not analyse" if entry.error
                else f"<b>{entry.protocol or ''}</b>: analysed together with "
                     f"'{html.escape(entry.analysed_with)}' (its results are shown there)."
                if entry.analysed_with else "Not analysed yet (F5 runs the analysis).")
            self.warnings_label.setText(entry.error or "")
            self.results_table.show_rows([])
            self.plots.clear()
            return
        proto = entry.protocol or entry.results[0].protocol
        title = next((p.title for p in protocols if p.name == proto), "")
        eq = f" · equipment: {entry.equipment_name}" if entry.equipment_name else \
            (" · equipment not in the database" if db_available else "")
        # Why this test ran (issue 11): a short line under the title, the whole reason on hover.
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
