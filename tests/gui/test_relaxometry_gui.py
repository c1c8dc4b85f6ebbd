"""mr.relaxometry in the real main window: the vial ROIs are drawn and the signal curves
plotted (the GUI shows protocol results generically)."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from conftest import open_and_wait

from imgqa.phantoms.relaxometry import write_t1_series, write_t2_series


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


@pytest.mark.parametrize("jobs", [1, 2])
def test_per_ti_series_are_analysed_together_in_the_window(qtbot, window, tmp_path, jobs):
    """A T1 plate written as one series per TI (7 series: the process pool with 2 jobs):
    the first series gets the plate's result, the others say they were analysed with it."""
    write_t1_series(tmp_path / "t1", seed=4)
    window.controller.jobs = jobs
    open_and_wait(qtbot, window, [tmp_path / "t1"])
    entries = window.workspace.entries
    assert len(entries) == 7
    lead, others = entries[0], entries[1:]
    assert [r.protocol for r in lead.results] == ["mr.relaxometry"]
    assert lead.results[0].series["series_count"] == 7 and lead.error is None
    assert all(e.results == [] and e.error is None and e.protocol == "mr.relaxometry"
               and e.analysed_with == lead.series.header.series_description for e in others)
    assert "7 series analysed (6 together with another)" in window.status_label.text()
    item = window.browser._items[others[0].key]
    assert item.text(2).startswith("↳") and "results are shown there" in item.toolTip(2)
    window.browser.select(others[0].key)
    qtbot.waitUntil(lambda: "analysed together with" in window.result_title.text(),
                    timeout=5000)
    window.browser.select(lead.key)
    qtbot.waitUntil(lambda: "T1, vial 1" in " ".join(
        window.result_panel.results_table.item(r, 0).text()
        for r in range(window.result_panel.results_table.rowCount())), timeout=5000)


def test_rerunning_one_series_of_a_group_reruns_the_group(qtbot, window, tmp_path):
    write_t1_series(tmp_path / "t1", seed=6, ti_ms=(100.0, 400.0, 1600.0, 3200.0))
    window.controller.jobs = 1
    open_and_wait(qtbot, window, [tmp_path / "t1"])
    lead, *others = window.workspace.entries
    first = lead.results[0].measurements
    with qtbot.waitSignal(window.analysis_finished, timeout=30000):
        window.controller.rerun(others[1], None)    # "Automatic" on a series of the group
    qtbot.waitUntil(lambda: not window.busy, timeout=30000)
    assert lead.results and lead.results[0].series["series_count"] == 4
    assert lead.results[0].measurements == first
    assert all(e.analysed_with and not e.results and not e.error for e in others)
