"""SPECT results in the real main window: the COR sinusoid and the LSF fits as plots, the ROIs
drawn on the projection/slice they belong to."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.spect import demo_sets


def _plot_titles_and_items(window):
    panel = window.plots
    window.side_tabs.setCurrentWidget(panel)
    out = {}
    for i, title in enumerate(panel.tab_titles):
        panel.tabs.setCurrentIndex(i)
        w = panel.plot_widget(i)
        if isinstance(w, pg.PlotWidget):
            out[title] = len(w.getPlotItem().listDataItems())
    return out


def test_cor_sinusoid_plot_and_centroids(qtbot, window, tmp_path):
    folder = demo_sets()["spect_cor"](tmp_path)
    open_and_wait(qtbot, window, [folder])
    (res,) = window.workspace.results
    assert res.protocol == "spect.cor"
    plots = _plot_titles_and_items(window)
    # Two heads: measured column and fitted sinusoid each → 4 lines on one plot.
    assert plots.get("centroid column") == 4
    assert plots.get("centroid row") == 2
    v = window.viewer
    frame = res.rois[5].frame
    v.set_index(frame)
    assert v.drawn_overlay_count > 0


def test_resolution_lsf_fits_and_uniformity_rois(qtbot, window, tmp_path):
    lines = demo_sets()["spect_line_sources"](tmp_path)
    open_and_wait(qtbot, window, [lines])
    (res,) = window.workspace.results
    assert res.protocol == "spect.resolution"
    plots = _plot_titles_and_items(window)
    # Two lines (x, y) and a point (x, y, z): LSF + Gaussian fit each.
    assert plots.get("normalised LSF") == 2 * (2 + 2 + 3)
    v = window.viewer
    v.set_index(res.rois[0].frame)
    assert v.drawn_overlay_count > 0

    jas = demo_sets()["spect_jaszczak"](tmp_path)
    open_and_wait(qtbot, window, [jas])
    res = [r for r in window.workspace.results if r.protocol == "spect.uniformity_contrast"]
    assert res
    sphere = next(r for r in res[0].rois if r.label.startswith("Sphere 1"))
    v.set_index(sphere.frame)
    assert v.drawn_overlay_count > 0
    assert "smoothed uniform section" in window.plots.tab_titles
    rod = next(r for r in res[0].rois if r.label == "R1")  # rod centres of sector 1
    v.set_index(rod.frame)
    assert v.drawn_overlay_count > 0
