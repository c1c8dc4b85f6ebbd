"""Issue 11 item 4: `imgqa analyse` and `imgqa history` tables show measurement labels;
JSON keeps the internal names (a contract) and adds ``label``."""

from __future__ import annotations

import json

import jsonschema

from imgqa.cli.main import main
from imgqa.phantoms import make_demo


def _table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Measurement")) + 2
    return [line for line in lines[start:] if line.strip() and not line.startswith(" ")]


def test_analyse_table_shows_labels_key_measurement_first(tmp_path, capsys):
    (folder,) = make_demo(tmp_path, ["mr_acr"])
    assert main(["analyse", str(folder)]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.startswith("Measurement"))
    assert header.split() == ["Measurement", "Value", "Unit", "Status", "Internal", "name"]
    rows = _table_rows(out)
    assert rows[0].startswith("Signal-to-noise ratio") and rows[0].rstrip().endswith("snr")
    # the two geometric-accuracy rows that used to be cut alike read differently
    assert any(r.startswith("Geometric accuracy, slice 1, horizontal") for r in rows)
    assert any(r.startswith("Geometric accuracy, slice 5, horizontal") for r in rows)
    assert any(r.rstrip().endswith("geometric_accuracy_slice1_horizontal") for r in rows)


def test_analyse_json_keeps_names_adds_labels_and_matches_contract(tmp_path, capsys,
                                                                   contracts_dir):
    schema = json.loads((contracts_dir / "analyse-output.schema.json").read_text())
    (folder,) = make_demo(tmp_path, ["ct_water"])
    assert main(["analyse", str(folder), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, schema)
    (res,) = out["results"]
    by_name = {m["name"]: m["label"] for m in res["measurements"]}
    assert by_name["mean_hu_centre"] == "Mean CT number, centre"
    assert by_name["mean_hu_12"] == "Mean CT number, 12 o'clock ROI"


def test_history_table_titles_show_labels_and_json_adds_label(tmp_path, capsys):
    (folder,) = make_demo(tmp_path / "demo", ["ct_water"])
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    assert main([*db, "analyse", str(folder), "--save", "--create-equipment"]) == 0
    capsys.readouterr()
    assert main([*db, "history", "1", "-m", "mean_hu_centre"]) == 0
    out = capsys.readouterr().out
    assert "ct.water · Mean CT number, centre [HU] (mean_hu_centre)" in out
    assert main([*db, "history", "1", "-m", "noise_sd_centre", "--format", "json"]) == 0
    (series,) = json.loads(capsys.readouterr().out)["series"]
    assert series["measurement"] == "noise_sd_centre"
    assert series["label"] == "Noise (SD), centre"


def test_protocols_lists_labels_and_key_measurements(capsys):
    assert main(["protocols", "--format", "json"]) == 0
    protos = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    water = protos["ct.water"]
    assert water["key_measurement"] == "mean_hu_centre"
    assert {m["name"]: m["label"] for m in water["measurements"]}["noise_sd_centre"] \
        == "Noise (SD), centre"
    assert all(p["key_measurement"] for p in protos.values())
