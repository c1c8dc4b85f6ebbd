"""mr.magnet in the real main window: the ramp bands are drawn and the dip profiles plotted."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.magnet import write_slice_width


def test_magnet_slice_width_shows_rois_and_curves(qtbot, window, tmp_path):
    write_slice_width(tmp_path / "sw", seed=2)
    open_and_wait(qtbot, window, [tmp_path / "sw"])
    results = window.workspace.results
    assert results and results[0].protocol == "mr.magnet"
    assert sum(r.label.endswith("ramp") for r in results[0].rois) == 2
    window.viewer.set_index(results[0].rois[0].frame)
    assert window.viewer.drawn_overlay_count >= 2
    window.side_tabs.setCurrentWidget(window.plots)
    plot = window.plots.plot_widget(0)
    assert isinstance(plot, pg.PlotWidget)
    assert len(plot.getPlotItem().listDataItems()) == 2   # top and bottom ramp dips
