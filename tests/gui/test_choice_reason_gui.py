"""The results panel says why a test was chosen (issue 11, item 3), driving the real window."""

from __future__ import annotations

import numpy as np
from conftest import TIMEOUT_MS, open_and_wait, write_water_day

from imgqa.phantoms.writer import write_series


def _shown(window, entry):
    window.browser.select(entry.key)
    return window.result_title.text(), window.result_title.toolTip(), window.warnings_label.text()


def test_results_header_shows_why_each_series_got_its_test(qtbot, window, shared_data, tmp_path):
    write_water_day(tmp_path / "water", 5)
    # An ultrasound image is the fall-back example (imgqa has no US test): it was the PET water
    # phantom, then a SPECT series, until issues 14 and 13 gave those their tests.
    write_series(np.full((64, 64), 100.0), tmp_path / "us", modality="US",
                 description="Ultrasound", pixel_spacing_mm=0.2, prefix="us")
    open_and_wait(qtbot, window, [tmp_path / "us",
                                  shared_data / "nm" / "imageqc" / "WB_scanspeed.dcm",
                                  tmp_path / "water"])
    by_protocol = {}
    for entry in window.workspace.entries:
        assert entry.results, entry.error
        by_protocol.setdefault(entry.protocol, []).append(entry)
    # the sweep is not nm.uniformity; since issue 13 it is nm.scan_speed's
    assert set(by_protocol) == {"generic.roi", "ct.water", "nm.scan_speed"}
    for entry in by_protocol["generic.roi"]:
        text, tip, warnings = _shown(window, entry)
        reason = entry.results[0].choice_reason
        assert "Why this test: No specific QC test recognised this series" in text
        assert tip == f"Why this test: {reason}"  # the whole reason on hover
        assert reason in warnings  # and never silent: the warning list says it too
    assert any("ultrasound (US)" in e.results[0].choice_reason
               for e in by_protocol["generic.roi"])
    (sweep,) = by_protocol["nm.scan_speed"]
    text, tip, _ = _shown(window, sweep)
    assert "Why this test: Chosen automatically: nm.scan_speed" in text
    assert "whole-body sweep" in tip
    (water,) = by_protocol["ct.water"]
    text, tip, _ = _shown(window, water)
    assert "Why this test: Chosen automatically: ct.water" in text
    assert "uniform water" in tip


def test_a_test_chosen_by_hand_says_so(qtbot, window, tmp_path):
    write_water_day(tmp_path / "d", 4)
    open_and_wait(qtbot, window, [tmp_path / "d"])
    combo = window.protocol_combo
    idx = combo.findData("generic.roi")
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        combo.setCurrentIndex(idx)
        combo.activated.emit(idx)
    (entry,) = window.workspace.entries
    _, tip, warnings = _shown(window, entry)
    assert tip == "Why this test: Chosen by the user."
    assert "No specific QC test" not in warnings
