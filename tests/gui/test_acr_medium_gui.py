"""mr.acr on the ACR medium phantom in the real main window: ROIs drawn, ramp curves plotted."""

from __future__ import annotations

import pyqtgraph as pg
from conftest import open_and_wait

from imgqa.phantoms.mr import acr_phantom
from imgqa.phantoms.writer import write_series


def test_acr_medium_result_shows_rois_and_curves(qtbot, window, tmp_path):
    images, _ = acr_phantom(variant="medium", diameter_mm=165.0, noise_sd=4.0, seed=1)
    write_series(images, tmp_path / "med", modality="MR", description="ACR axial medium",
                 pixel_spacing_mm=250.0 / 256, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 extra_tags={"MagneticFieldStrength": 1.5})
    open_and_wait(qtbot, window, [tmp_path / "med"])
    res = window.workspace.results
    assert res and res[0].protocol == "mr.acr"
    assert any("ACR medium phantom" in w for w in res[0].warnings)
    big = next(r for r in res[0].rois if r.label == "large ROI 160 cm²")
    window.viewer.set_index(big.frame)
    assert window.viewer.drawn_overlay_count >= 3          # large ROI, min and max 1 cm²
    window.side_tabs.setCurrentWidget(window.plots)
    assert isinstance(window.plots.plot_widget(0), pg.PlotWidget)
