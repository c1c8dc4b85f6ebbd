"""Issue 11 item 7 in the GUI: the baseline dialog offers only tests that fit the equipment's
modality, and a baseline for one that does not (ct.water on a gamma camera) is refused with the
store's message, shown in the dialog."""

from __future__ import annotations

from conftest import TIMEOUT_MS


def test_baseline_dialog_refuses_a_ct_test_on_a_gamma_camera(qtbot, window, tmp_path):
    from imgqa.store import open_store

    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        gamma = store.add_equipment("Gamma 1", modality="NM", serial="NM-1")
    window.open_baseline_editor(gamma.id, "ct.water", "mean_hu_centre")
    dlg = window.baseline_dialog
    qtbot.waitUntil(lambda: dlg.measurement.count() > 0, timeout=TIMEOUT_MS)
    offered = {dlg.measurement.itemData(i)[0] for i in range(dlg.measurement.count())}
    assert not any(p.startswith("ct.") for p in offered), offered
    assert dlg.message.text() == ("ct.water is not a test for NM equipment; choose one of the "
                                  "tests listed.")
    # even when asked for (e.g. from an old trend), the store refuses and the dialog says why
    dlg.selection = lambda: (gamma.id, "ct.water", "mean_hu_centre")
    dlg.baseline_value.setText("0.5")
    dlg.baseline_reason.setText("commissioning")
    dlg.apply_baseline()
    qtbot.waitUntil(lambda: "was set" in dlg.message.text(), timeout=TIMEOUT_MS)
    text = dlg.message.text()
    assert "ct.water" in text and "NM" in text and "no baseline or tolerance was set" in text
    with open_store(str(tmp_path / "qc.sqlite3")) as store:
        assert store.baseline_history(gamma.id, "ct.water", "mean_hu_centre") == []
