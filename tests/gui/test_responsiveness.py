"""What keeps the GUI thread short when results arrive: lazy plots, one-batch table fills,
no unused overlay labels, a frozen long-lived heap. (Speed itself is measured in
benchmarks/bench_gui.py, never asserted here.)"""

from __future__ import annotations

import gc
from types import SimpleNamespace

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QTabWidget, QWidget

from imgqa.gui.heap import freeze_long_lived
from imgqa.gui.model import MeasurementRow
from imgqa.gui.plots import PlotsPanel
from imgqa.gui.results_table import ResultsTable
from imgqa.protocols.base import Curve, ImageMap


def _result(n_curves: int = 2, with_map: bool = True):
    x = np.linspace(0.0, 1.0, 11)
    curves = tuple(Curve(f"c{i}", x, x ** (i + 1), "frequency", "lp/mm", "MTF", "")
                   for i in range(n_curves))
    maps = (ImageMap("uniformity", np.arange(16.0).reshape(4, 4), unit="HU", pixel_mm=2.0),) \
        if with_map else ()
    return SimpleNamespace(label="", curves=curves, maps=maps)


def test_plots_are_built_only_when_their_tab_is_seen(qtbot):
    host = QTabWidget()
    qtbot.addWidget(host)
    host.addTab(QWidget(), "Results")
    panel = PlotsPanel()
    host.addTab(panel, "Plots")
    host.show()
    qtbot.waitExposed(host)

    panel.show_results([_result()])
    # Two curves share axes → one plot tab, plus one map tab; nothing drawn while hidden.
    assert panel.tab_titles == ["MTF", "uniformity"]
    assert not panel.findChildren(pg.GraphicsView)

    host.setCurrentWidget(panel)  # the user looks at the plots: the current tab is built
    plot = panel.plot_widget(0)
    assert isinstance(plot, pg.PlotWidget)
    assert len(plot.getPlotItem().listDataItems()) == 2
    assert panel.tabs.widget(1).layout().count() == 0  # the map tab not yet
    panel.tabs.setCurrentIndex(1)
    assert panel.tabs.widget(1).layout().count() == 1

    panel.show_results([_result(n_curves=0, with_map=False)])
    assert panel.tab_titles == [] and panel.empty.isVisibleTo(panel)


def test_results_table_refill_replaces_every_cell_and_sizes_columns(qtbot):
    table = ResultsTable()
    qtbot.addWidget(table)
    table.show()
    long_rows = [MeasurementRow(f"measurement_{i}", float(i), "HU", 0.0, "± 4 HU", "OK")
                 for i in range(30)]
    table.show_rows(long_rows)
    table.show_rows([MeasurementRow("mean", 1234567.5, "a very long unit name", None, "",
                                    "ACTION")])
    assert table.rowCount() == 1
    assert table.item(0, 0).text() == "Mean"  # its label; the internal name is in the tooltip
    assert "mean" in table.item(0, 0).toolTip().splitlines()[1]
    assert table.item(0, 2).text() == "a very long unit name"
    assert table.statuses() == ["ACTION"]
    # Columns still follow their contents once the batch is in (sized once, at the end).
    assert table.columnWidth(2) >= table.fontMetrics().horizontalAdvance("a very long unit name")


def test_overlay_labels_not_created_when_left_out(qtbot):
    from imgqa.gui.overlays import roi_items
    from imgqa.protocols.base import Roi

    roi = Roi("circle", ((5.0, 5.0),), label="insert", radius=2.0)
    assert any(isinstance(i, pg.TextItem) for i in roi_items(roi))
    items = roi_items(roi, label=False)
    assert len(items) == 1 and items[0].toolTip().startswith("insert")


def test_freeze_moves_live_objects_out_of_the_collectors_reach():
    keep = [{"i": i} for i in range(1000)]
    n = freeze_long_lived()
    assert n >= len(keep) and gc.get_freeze_count() == n
    # Frozen objects are still freed by reference counting.
    import weakref

    class Box:
        pass

    b = Box()
    freeze_long_lived()
    ref = weakref.ref(b)
    del b
    assert ref() is None
