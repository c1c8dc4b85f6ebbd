"""`make run` promises judged results at once (issue 11, item 10): the demo phantoms, loaded in
the real window on a fresh database, show a status for their series, not "No tolerance"."""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS

from imgqa.evaluate import worst_status
from imgqa.gui.demo import DEMO_BASELINE_REASON


def _wait_demo(qtbot, window):
    with qtbot.waitSignal(window.analysis_finished, timeout=4 * TIMEOUT_MS):
        window.load_demo()
    qtbot.waitUntil(lambda: not window.busy and all(
        e.results or e.error for e in window.workspace.entries), timeout=4 * TIMEOUT_MS)
    qtbot.waitUntil(lambda: all(e.equipment_id for e in window.workspace.entries if e.results),
                    timeout=TIMEOUT_MS)


def test_demo_series_are_judged_on_a_fresh_database(qtbot, window):
    _wait_demo(qtbot, window)
    entries = window.workspace.entries
    assert len(entries) == 14 and not any(e.error for e in entries)
    status = {e.series.header.series_description:
              worst_status([m.status for r in e.results for m in r.measurements])
              for e in entries}
    unjudged = sorted(name for name, s in status.items() if s in (None, "NO_TOL"))
    # Intrinsic (edge) and system (line source) resolution share nm.resolution, hence one
    # baseline per device: no default can judge both, so they stay unjudged (see README).
    assert unjudged == ["Intrinsic resolution edge X (phantom)",
                        "Line sources X resolution (phantom)"], status
    # The digital phantoms are in control: judged means OK, never a false alarm.
    assert {s for s in status.values() if s not in (None, "NO_TOL")} == {"OK"}, status


def test_demo_baselines_are_recorded_with_their_reason(qtbot, window):
    _wait_demo(qtbot, window)
    ct = next(e for e in window.workspace.entries if e.results[0].protocol == "ct.water")
    window.db.runner.wait(10000)
    store = window.db.store
    base = store.baseline(ct.equipment_id, "ct.water", "noise_sd_centre")
    assert base is not None and base.reason == DEMO_BASELINE_REASON
    noise = next(m for m in ct.results[0].measurements if m.name == "noise_sd_centre")
    assert base.value == noise.value and noise.status == "OK"
    # Fixed criteria (water 0 ± 5 HU) need no baseline: none is invented for them.
    assert store.baseline(ct.equipment_id, "ct.water", "mean_hu_centre") is None


def test_demo_never_sets_baselines_on_a_device_it_did_not_register(qtbot, window):
    # A device already in the database (here: one that happens to match the CT demo header)
    # keeps its own references: the demo's values are only baselines for devices it creates.
    from pathlib import Path

    from imgqa.gui.demo import repository_phantoms
    from imgqa.io import load

    folder = repository_phantoms() or pytest.skip("no demo phantoms in phantoms/")
    (ct,) = load(Path(folder) / "ct_water")
    window.db.runner.wait(10000)
    existing = window.db.store.create_equipment_from_series(ct, name="Department CT")
    _wait_demo(qtbot, window)
    window.db.runner.wait(10000)
    store = window.db.store
    for proto, meas in (("ct.water", "noise_sd_centre"), ("ct.mtf_wire", "mtf50")):
        assert store.baseline(existing.id, proto, meas) is None
    water = next(e for e in window.workspace.entries if e.results[0].protocol == "ct.water")
    assert water.equipment_id == existing.id
    noise = next(m for m in water.results[0].measurements if m.name == "noise_sd_centre")
    assert noise.status == "NO_TOL"  # honest: no baseline yet on the real device
