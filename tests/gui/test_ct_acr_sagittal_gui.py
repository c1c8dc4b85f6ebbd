"""ct.acr and mr.acr_sagittal in the real main window: ROIs drawn, curves plotted."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.acr_sagittal import write_sagittal
from imgqa.phantoms.ct_acr import write_acr_ct


def test_ct_acr_result_shows_rois_and_curves(qtbot, window, tmp_path):
    write_acr_ct(tmp_path / "acr", n=256, pixel_mm=250.0 / 256, seed=1)
    open_and_wait(qtbot, window, [tmp_path / "acr"])
    res = window.workspace.results
    assert res and res[0].protocol == "ct.acr"
    water = next(r for r in res[0].rois if r.label == "water")
    window.viewer.set_index(water.frame)
    assert window.viewer.drawn_overlay_count >= 5          # the five module-1 inserts
    window.side_tabs.setCurrentWidget(window.plots)
    assert isinstance(window.plots.plot_widget(0), pg.PlotWidget)


def test_sagittal_length_result_shows_its_ends(qtbot, window, tmp_path):
    write_sagittal(tmp_path / "sag", seed=2)
    open_and_wait(qtbot, window, [tmp_path / "sag"])
    res = window.workspace.results
    assert res and res[0].protocol == "mr.acr_sagittal"
    window.viewer.set_index(res[0].rois[0].frame)
    assert window.viewer.drawn_overlay_count >= 2
