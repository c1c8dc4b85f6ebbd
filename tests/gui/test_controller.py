"""The GUI's controller on its own (no main window): load → analyse → judge against the store,
and the pure helpers it gives the window (issue 9: the window keeps layout only)."""

from __future__ import annotations

import pytest
from conftest import TIMEOUT_MS

from imgqa.gui.controller import QcController, equipment_groups, tolerance_texts
from imgqa.gui.model import SeriesEntry
from imgqa.gui.store_bridge import StoreBridge


@pytest.fixture
def bridge(qtbot, tmp_path):
    db = StoreBridge()
    db.connect_to(str(tmp_path / "qc.sqlite3"))
    qtbot.waitUntil(lambda: not db.connecting, timeout=TIMEOUT_MS)
    assert db.store is not None, db.reason
    yield db
    db.close()


def _series(folder):
    from imgqa import load

    (series,) = load([str(folder)])
    return series


def test_controller_loads_analyses_and_judges_against_the_store(qtbot, bridge, day_folders):
    store = bridge.store
    eq = store.create_equipment_from_series(_series(day_folders[0]), name="CT 1")
    # ground truth: the noise reference is the baseline set here; the centre CT number's
    # reference is the packaged ACR default (0 ± 5 HU, resources/tolerances/ct.toml)
    store.set_baseline(eq.id, "ct.water", "noise_sd_centre", 6.0, reason="commissioning")

    ctl = QcController(bridge)
    added, changed, hidden = [], [], []
    ctl.entries_added.connect(added.append)
    ctl.entry_changed.connect(lambda e, judged: changed.append((e.key, judged)))
    ctl.progress_hidden.connect(lambda: hidden.append(True))
    with qtbot.waitSignal(ctl.analysis_finished, timeout=TIMEOUT_MS):
        ctl.load([str(day_folders[0])], analyse=True)
    qtbot.waitUntil(lambda: not ctl.busy and not ctl.running, timeout=TIMEOUT_MS)

    (entry,) = ctl.workspace.entries
    assert [[e.key for e in batch] for batch in added] == [[entry.key]]
    assert changed == [(entry.key, False), (entry.key, True)]  # results, then statuses
    assert hidden  # the window's progress bar is told to go
    assert (entry.equipment_id, entry.equipment_name) == (eq.id, "CT 1")
    (result,) = entry.results
    assert result.protocol == "ct.water"
    assert all(m.status is not None for m in result.measurements)  # every value judged
    ref, text = entry.tolerances[(result.label, "ct.water", "mean_hu_centre")]
    assert ref == 0.0 and text == "act -5…5 HU"
    ref, text = entry.tolerances[(result.label, "ct.water", "noise_sd_centre")]
    assert ref == 6.0 and text == "act -20…20 %"
    # judged against the ACR default: act limits only, so OK within ±5 HU, else ACTION
    centre = next(m for m in result.measurements if m.name == "mean_hu_centre")
    assert centre.status == ("OK" if abs(centre.value) <= 5 else "ACTION")


def test_controller_without_equipment_leaves_results_unjudged(qtbot, bridge, day_folders):
    ctl = QcController(bridge)
    with qtbot.waitSignal(ctl.analysis_finished, timeout=TIMEOUT_MS):
        ctl.load([str(day_folders[1])], analyse=True)
    (entry,) = ctl.workspace.entries
    assert entry.results and entry.equipment_id is None and entry.tolerances == {}
    assert all(m.status is None for r in entry.results for m in r.measurements)


def test_tolerance_texts_leaves_out_measurements_without_tolerance(bridge, day_folders):
    from imgqa.protocols import analyse_series

    store = bridge.store
    series = _series(day_folders[0])
    eq = store.create_equipment_from_series(series, name="CT 1")
    results = [store.evaluate(eq.id, r) for r in analyse_series(series)]
    texts = tolerance_texts(store, eq.id, results)
    names = {m.name for r in results for m in r.measurements}
    # exactly the measurements with a tolerance in force get a reference and a text
    assert {k[2] for k in texts} == {n for n in names
                                     if store.tolerance(eq.id, "ct.water", n) is not None}
    assert "mean_hu_centre" in {k[2] for k in texts}


def test_equipment_groups_group_analysed_series_by_device(day_folders):
    from imgqa.protocols import analyse_series

    entries = [SeriesEntry(_series(f)) for f in day_folders]
    for e in entries[:2]:
        e.results = list(analyse_series(e.series))
    entries[1].equipment_id, entries[1].equipment_name = 7, "CT 1"
    (group,) = equipment_groups(entries)  # the third series has no results: not offered
    assert [e.key for e in group["entries"]] == [entries[0].key, entries[1].key]
    assert (group["equipment_id"], group["equipment_name"]) == (7, "CT 1")  # matched wins
    assert group["modality"] == "CT"
    assert group["label"] == f"{entries[0].series.header.equipment.label()} · CT"
