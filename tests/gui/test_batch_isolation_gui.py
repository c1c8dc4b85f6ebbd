"""Issue 19, finding 4 in the application: a bad series is listed, the others are analysed."""

from __future__ import annotations

import dataclasses

from conftest import open_and_wait, write_water_day

from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.protocols import base


def _water(folder, spacing, description):
    images, _ = water_phantom(size=128, pixel_mm=1.8, n_slices=1, noise_sd=6.0, seed=5)
    write_series(images, folder, modality="CT", description=description,
                 pixel_spacing_mm=spacing, slice_thickness_mm=5.0, rescale_intercept=-1024.0)
    return folder


def test_absurd_spacing_and_kernel_crash_do_not_stop_the_batch(qtbot, window, tmp_path,
                                                               monkeypatch):
    good = write_water_day(tmp_path / "good", 1)
    bad = _water(tmp_path / "bad", 50.0, "Water wrong header")
    crash = _water(tmp_path / "crash", 1.8, "Water crashing")
    proto = base.get_protocol("ct.water")

    def boom(series, **params):
        if series.header.series_description == "Water crashing":
            raise RuntimeError("index 300 is out of bounds for axis 0 with size 128")
        return proto.function(series, **params)

    monkeypatch.setitem(base._REGISTRY, "ct.water", dataclasses.replace(proto, function=boom))
    open_and_wait(qtbot, window, [bad, crash, good])
    by_name = {e.series.header.series_description: e for e in window.workspace.entries}
    assert set(by_name) == {"Water phantom daily QC", "Water wrong header", "Water crashing"}
    assert by_name["Water phantom daily QC"].results and not by_name["Water phantom daily QC"].error
    assert not by_name["Water wrong header"].results
    assert "outside the plausible range 0.01–5 mm for CT" in by_name["Water wrong header"].error
    crashed = by_name["Water crashing"].error
    assert "ct.water" in crashed and "out of bounds" in crashed
    assert "RuntimeError" not in crashed and "Traceback" not in crashed
    shown = [p[1] for p in window.problems.problems()]
    assert len(shown) == 2
    assert any("plausible range" in text for text in shown)
    assert any("unexpected condition" in text for text in shown)
