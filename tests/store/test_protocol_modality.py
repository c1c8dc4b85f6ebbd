"""Issue 11 item 7: a baseline or tolerance for a protocol that does not fit the equipment's
modality (ct.water on a gamma camera) is refused by the store, so the CLI and the GUI both
get the refusal with a message that says which modalities the test is for."""

from __future__ import annotations

import pytest

from imgqa.cli.main import main
from imgqa.errors import StoreError


def test_baseline_for_a_ct_test_on_a_gamma_camera_is_refused(store):
    gamma = store.add_equipment("Gamma 1", modality="NM")
    with pytest.raises(StoreError) as err:
        store.set_baseline(gamma.id, "ct.water", "mean_hu_centre", 0.5, "commissioning")
    msg = str(err.value)
    assert "ct.water" in msg and "Gamma 1" in msg and "NM" in msg and "CT" in msg
    assert err.value.hint  # says what to do
    assert store.baseline_history(gamma.id, "ct.water", "mean_hu_centre") == []  # nothing stored


def test_tolerance_for_a_ct_test_on_a_gamma_camera_is_refused(store):
    gamma = store.add_equipment("Gamma 1", modality="NM")
    with pytest.raises(StoreError, match="ct.water"):
        store.set_tolerance(gamma.id, "ct.water", "mean_hu_centre", kind="absolute", tol_low=-4,
                            tol_high=4, reason="local policy")
    assert store.tolerance_history(gamma.id, "ct.water", "mean_hu_centre") == []


def test_baselines_from_sessions_checks_the_modality_too(store):
    gamma = store.add_equipment("Gamma 1", modality="NM")
    with pytest.raises(StoreError, match="ct.water"):
        store.baselines_from_sessions(gamma.id, "ct.water", 3, reason="commissioning")


def test_fitting_any_or_unknown_modality_is_accepted(store):
    ct = store.add_equipment("CT 1", modality="CT")
    unknown = store.add_equipment("Old unit")  # no modality recorded: nothing to check
    base = store.set_baseline(ct.id, "ct.water", "mean_hu_centre", 0.5, "commissioning")
    assert base.value == 0.5
    assert store.set_baseline(unknown.id, "ct.water", "mean_hu_centre", 0.4, "commissioning")
    # generic.roi accepts any modality
    gamma = store.add_equipment("Gamma 1", modality="NM")
    assert store.set_baseline(gamma.id, "generic.roi", "mean", 100.0, "commissioning")


def test_cli_baseline_and_tolerance_set_refuse_with_a_sentence(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    assert main([*db, "equipment", "add", "Gamma 1", "--modality", "NM"]) == 0
    capsys.readouterr()
    code = main([*db, "baseline", "set", "Gamma 1", "ct.water", "mean_hu_centre", "0.5",
                 "--reason", "commissioning"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert "ct.water" in err and "NM" in err
    code = main([*db, "tolerance", "set", "Gamma 1", "ct.water", "mean_hu_centre", "--kind",
                 "absolute", "--tol-low", "-4", "--tol-high", "4", "--reason", "policy"])
    err = capsys.readouterr().err
    assert code == 1 and "ct.water" in err and "Traceback" not in err
