"""mr.relaxometry in the real main window: the vial ROIs are drawn and the signal curves
plotted (the GUI shows protocol results generically)."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.relaxometry import write_t2_series


def test_relaxometry_result_shows_rois_and_curves(qtbot, window, tmp_path):
    write_t2_series(tmp_path / "t2", seed=3, te_ms=[10.0 * k for k in range(1, 9)])
    open_and_wait(qtbot, window, [tmp_path / "t2"])
    results = window.workspace.results
    assert results and results[0].protocol == "mr.relaxometry"
    rois = results[0].rois
    assert sum(r.label.startswith("vial") for r in rois) == 14
    window.viewer.set_index(rois[0].frame)
    assert window.viewer.drawn_overlay_count >= 14
    window.side_tabs.setCurrentWidget(window.plots)
    plot = window.plots.plot_widget(0)
    assert isinstance(plot, pg.PlotWidget)
    assert len(plot.getPlotItem().listDataItems()) == 15   # 14 vials + the bath
