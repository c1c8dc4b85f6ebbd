"""A PET NEMA IQ result in the real main window: sphere and background ROIs drawn on their
slices, recovery-vs-diameter plots with the EARL bands shaded."""

from __future__ import annotations

from datetime import datetime

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.pet import nema_iq, pet_tags, write_pet_series


def test_nema_iq_result_draws_rois_and_earl_bands(qtbot, window, tmp_path):
    vol, _ = nema_iq(shift_mm=(10.0, -5.0, 0.0), tilt_deg=2.0, noise_fraction=0.02, seed=1)
    scan = datetime(2026, 3, 2, 10, 0)
    write_pet_series(vol, tmp_path / "iq", pixel_mm=2.5, slice_mm=3.0, description="NEMA IQ",
                     scan_start=scan, tags=pet_tags(injected_bq=None, injected_at=None,
                                                    scan_start=scan, weight_kg=None))
    open_and_wait(qtbot, window, [tmp_path / "iq"])
    (res,) = window.workspace.results
    assert res.protocol == "pet.nema_iq"
    # The 37 mm sphere's ROI is drawn on its slice; the background ROIs on theirs.
    sphere = next(r for r in res.rois if r.label.startswith("37 mm"))
    v = window.viewer
    v.set_index(sphere.frame)
    assert v.drawn_overlay_count > 0
    bg_frames = sorted({r.frame for r in res.rois if r.role == "background"})
    assert len(bg_frames) == 5
    v.set_index(bg_frames[0])
    assert v.drawn_overlay_count >= 13  # 12 background ROIs + the lung insert
    # One plot per RC type, each with the measured curve and the EARL bands shaded.
    panel = window.plots
    assert panel.tab_titles == ["RC mean (A50)", "RC max", "RC peak (1 cm³)"]
    window.side_tabs.setCurrentWidget(panel)
    for i in range(3):
        plot = panel.plot_widget(i)
        items = plot.getPlotItem().items
        fills = [it for it in items if isinstance(it, pg.FillBetweenItem)]
        curves = plot.getPlotItem().listDataItems()
        assert len(fills) == (1 if i == 2 else 2)  # EARL1 defines no peak band
        assert len(curves) == 1 + 2 * len(fills)
