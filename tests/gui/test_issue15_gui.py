"""Issue 15 results in the real main window: dose reports (no image) load and list one result
per event; the X-ray/mammography tests draw their ROIs and show their maps."""

from __future__ import annotations

from conftest import open_and_wait

from imgqa.phantoms.dose import write_dose_sr
from imgqa.phantoms.mammo import al_square, artefact_flat, write_mammo
from imgqa.phantoms.xray import write_defect_flat_field


def test_dose_report_opens_with_one_result_per_event(qtbot, window, tmp_path):
    write_dose_sr(tmp_path / "sr", "CT")
    open_and_wait(qtbot, window, [tmp_path / "sr"])
    results = window.workspace.results
    assert [r.protocol for r in results] == ["dose.report"] * 3
    assert [r.label for r in results] == ["Localizer", "Head constancy", "Body constancy"]


def test_defects_and_mammo_results_draw_rois_and_maps(qtbot, window, tmp_path):
    write_defect_flat_field(tmp_path / "defects", shape=(160, 160), n_isolated=3, seed=1)
    img, truth = al_square((300, 250), 0.4, seed=2)
    write_mammo(img, truth, tmp_path / "sdnr", "QC SDNR 0.2 mm Al on PMMA", pixel_mm=0.4)
    img, truth = artefact_flat((300, 250), 0.4, seed=3)
    write_mammo(img, truth, tmp_path / "art", "QC artefacts", pixel_mm=0.4)
    open_and_wait(qtbot, window, [tmp_path / "defects", tmp_path / "sdnr", tmp_path / "art"])
    by_protocol = {r.protocol: r for r in window.workspace.results}
    assert set(by_protocol) == {"xray.defects", "mg.sdnr", "mg.artefacts"}
    v = window.viewer
    assert v.drawn_overlay_count > 0
    window.plots.show_results([by_protocol["xray.defects"]])
    assert "defect classes" in " ".join(window.plots.tab_titles)
    window.plots.show_results([by_protocol["mg.artefacts"]])
    titles = " ".join(window.plots.tab_titles)
    assert "local deviation" in titles and "artefacts" in titles


def test_leeds_tor_and_exposure_index_show_curves_and_rois(qtbot, window, tmp_path):
    from imgqa.phantoms.xray import write_ei_flat_field, write_leeds_tor

    write_leeds_tor(tmp_path / "tor", size=600, pixel_mm=0.3, supersample=2)
    write_ei_flat_field(tmp_path / "ei", shape=(128, 128),
                        header={"ExposureIndex": 250.0, "TargetExposureIndex": 200.0})
    open_and_wait(qtbot, window, [tmp_path / "tor", tmp_path / "ei"])
    by_protocol = {r.protocol: r for r in window.workspace.results}
    assert set(by_protocol) == {"xray.leeds_tor", "xray.exposure_index"}
    window.plots.show_results([by_protocol["xray.leeds_tor"]])
    titles = " ".join(window.plots.tab_titles)
    assert "Relative modulation" in titles and "CNR" in titles  # tabs named by the y axis
    (tor,) = [e for e in window.workspace.entries
              if any(r.protocol == "xray.leeds_tor" for r in e.results)]
    window.show_entry(tor.key)
    assert window.viewer.drawn_overlay_count > 0
