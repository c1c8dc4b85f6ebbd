"""Issue 13 planar NM results in the real main window: ROIs on the image, curves and maps in
the Plots tab (drawn generically from the Result)."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.nm_planar import write_linearity, write_sni, write_sweep


def _show_plots(window):
    window.side_tabs.setCurrentWidget(window.plots)
    return window.plots


def test_linearity_lines_and_deviation_curves_are_shown(qtbot, window, tmp_path):
    folder = write_linearity(tmp_path / "lin", matrix=160, pixel_mm=2.5, n_lines=9,
                             length_mm=300.0)
    open_and_wait(qtbot, window, [folder])
    entry = window.workspace.entries[0]
    assert entry.protocol == "nm.linearity"
    (result,) = entry.results
    assert sum(r.role == "profile" for r in result.rois) == 9
    window.viewer.set_index(0)
    assert window.viewer.drawn_overlay_count >= 9
    assert "absolute_linearity_ufov_mm" in {r.measurement for r in window.results_table.rows}
    plots = _show_plots(window)
    assert plots.tab_titles == ["deviation"]
    plot = plots.plot_widget(0)
    assert isinstance(plot, pg.PlotWidget)
    assert len(plot.getPlotItem().listDataItems()) == 9


def test_sni_rois_curves_and_map_are_shown(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_sni(tmp_path / "sni", matrix=128, amplitude=0.05)])
    (result,) = window.workspace.entries[0].results
    assert result.protocol == "nm.sni" and len(result.rois) == 5
    window.viewer.set_index(0)
    assert window.viewer.drawn_overlay_count >= 5
    plots = _show_plots(window)
    assert "visually filtered flood" in plots.tab_titles
    assert len(plots.tab_titles) == 3  # two curve groups (NPS, VRF) and the map


def test_scan_speed_profile_is_shown_per_detector(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, [write_sweep(tmp_path / "wb", rows=512, cols=128,
                                              pixel_mm=4.8, counts_per_pixel=500.0)])
    results = window.workspace.entries[0].results
    assert [r.protocol for r in results] == ["nm.scan_speed"] * 2
    plots = _show_plots(window)
    assert "speed deviation" in plots.tab_titles
    plot = plots.plot_widget(plots.tab_titles.index("speed deviation"))
    assert len(plot.getPlotItem().listDataItems()) == 2  # one curve per detector
