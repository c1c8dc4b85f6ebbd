"""The CLI end to end: info, protocols, analyse (JSON validated against the shared contract)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from imgqa.cli.main import main


def test_info_lists_series_and_rejects_bad_files(shared_data, capsys):
    code = main(["info", str(shared_data / "xray"), str(shared_data / "bad"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # the bad files were rejected
    assert {s["modality"] for s in out["series"]} == {"IO"}
    assert len(out["series"]) == 4
    bad = {p["path"].rsplit("/", 1)[-1]: p["error"] for p in out["problems"]}
    assert set(bad) == {"not_dicom.png", "not_dicom.jfif"}
    assert "PNG picture" in bad["not_dicom.png"]
    assert "JPEG picture" in bad["not_dicom.jfif"]


def test_analyse_json_matches_contract(shared_data, contracts_dir, capsys):
    schema = json.loads((contracts_dir / "analyse-output.schema.json").read_text())
    code = main(["analyse", str(shared_data / "ct" / "imageqc_CTP486"), "--protocol",
                 "generic.roi", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, schema)
    assert code == 0
    (res,) = out["results"]
    assert res["protocol"] == "generic.roi"
    values = {m["name"]: m["value"] for m in res["measurements"]}
    # A CTP486 uniformity slice is water-equivalent: the centre mean is near 0 HU.
    assert -20 < values["mean"] < 40
    assert 2 < values["sd"] < 30


def test_analyse_bad_file_exit_1_and_listed(shared_data, contracts_dir, capsys):
    schema = json.loads((contracts_dir / "analyse-output.schema.json").read_text())
    code = main(["analyse", str(shared_data / "bad" / "not_dicom.png"),
                 str(shared_data / "ct" / "imageqc_CTP486"), "--protocol", "generic.roi",
                 "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, schema)
    assert code == 1
    assert len(out["results"]) == 1
    assert out["problems"][0]["path"].endswith("not_dicom.png")


def test_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["analyse"])
    assert exc.value.code == 2


def test_unknown_protocol_is_a_clear_error(shared_data, capsys):
    code = main(["analyse", str(shared_data / "bad"), "--protocol", "nope.nothing"])
    assert code == 2  # a usage error (docs/cli.md), like argparse's own
    assert "no QC test called 'nope.nothing'" in capsys.readouterr().err


def test_protocols_lists_generic(capsys):
    assert main(["protocols", "--format", "json"]) == 0
    names = {p["name"] for p in json.loads(capsys.readouterr().out)}
    assert "generic.roi" in names


def test_missing_spacing_is_refused_then_accepted_with_param(shared_data, capsys):
    f = str(shared_data / "xray" / "intraoral" / "flatfield_no_pixel_spacing.dcm")
    code = main(["analyse", f, "--protocol", "generic.roi", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1 and not out["results"]
    assert "pixel spacing" in out["problems"][0]["error"]
    code = main(["analyse", f, "--protocol", "generic.roi", "--param", "pixel_spacing_mm=0.03",
                 "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["results"][0]["measurements"][0]["value"] > 0


def test_unexpected_error_is_one_sentence_not_a_traceback(monkeypatch, capsys):
    # A bug anywhere in a command (here: the protocol listing) must not show a technologist
    # a Python traceback; the exit status says "not done".
    import imgqa.cli.protocols_cmd as cmd

    def broken(args):
        raise KeyError("boom")

    monkeypatch.setattr(cmd, "run", broken)
    assert main(["protocols"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error" in err and "boom" in err and "-v" in err
    assert "Traceback" not in err

