"""Automatic protocol choice with a fall-back when the best guess does not fit the images."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import imgqa
from imgqa.errors import AnalysisError, PhantomNotFoundError
from imgqa.protocols import analyse_batch, analyse_series, candidate_protocols
from imgqa.protocols.base import detect_protocols


def test_four_bar_image_without_keywords_falls_back_to_resolution(shared_data):
    # FourBar.dcm's description ("POSTERIOR_H2") names no test: nm.uniformity is tried first
    # (any planar NM image may be a flood), finds no flood field, and nm.resolution runs.
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "FourBar.dcm")
    names = [p.name for p in candidate_protocols(series)]
    assert names[0] == "nm.uniformity" and "nm.resolution" in names
    (result,) = analyse_series(series)
    assert result.protocol == "nm.resolution"
    assert result.warnings[0].startswith("Analysed as nm.resolution: nm.uniformity did not fit")
    assert 5.0 < result.value("fwhm_x") < 10.0


def test_explicit_protocol_is_not_second_guessed(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "FourBar.dcm")
    with pytest.raises(AnalysisError):
        analyse_series(series, "nm.uniformity")


def test_a_claimed_series_that_fits_gets_no_fallback_warning(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "UNIFORMIDAD_1.dcm")
    (result,) = analyse_series(series)
    assert result.protocol == "nm.uniformity"
    assert not any(w.startswith("Analysed as") for w in result.warnings)


# ---------------------------------------------------------------------------------------------
# Issue 11, item 3: the wrong test was chosen automatically, and silently
# ---------------------------------------------------------------------------------------------
def _auto(path):
    """Every series under path analysed with the automatic choice: {description: [results]}."""
    return {s.header.series_description: analyse_series(s) for s in imgqa.load(path)}


def _assert_fallback_said_why(result, *words):
    assert result.protocol == "generic.roi"
    assert result.choice_reason.startswith("No specific QC test recognised this series")
    assert result.choice_reason in result.warnings  # never silent: a warning says it too
    for w in words:
        assert w in result.choice_reason


def test_whole_body_scan_speed_sweep_is_not_a_flood(shared_data):
    # Was nm.uniformity with a false ACTION (IU 34 %): counting noise of a sweep is not a
    # flood's non-uniformity. Since issue 13 the sweep goes to nm.scan_speed, saying why;
    # nm.uniformity still declines it.
    (series,) = imgqa.load(shared_data / "nm" / "imageqc" / "WB_scanspeed.dcm")
    assert "nm.uniformity" not in [p.name for p in candidate_protocols(series)]
    results = analyse_series(series)
    assert [r.label for r in results] == ["detector 1", "detector 2"]
    for r in results:
        assert r.protocol == "nm.scan_speed"
        assert r.choice_reason.startswith("Chosen automatically: nm.scan_speed")
        for w in ("whole-body sweep", "WHOLE BODY", "1024 × 256", "HASTIGHET"):
            assert w in r.choice_reason
    from imgqa.store.defaults import evaluate_with_defaults

    judged = [evaluate_with_defaults(r) for r in results]
    # no uniformity numbers are judged on a sweep any more
    assert not any(m.name.startswith("integral_uniformity") for r in judged
                   for m in r.measurements)


@pytest.mark.parametrize("image_type", [("ORIGINAL", "PRIMARY", "WHOLE BODY", "EMISSION"),
                                        ("ORIGINAL", "PRIMARY", "STATIC", "EMISSION")])
def test_a_sweep_named_flood_is_still_refused_for_uniformity(tmp_path, image_type):
    # A NEMA flood is a static image: even a description naming a flood does not make a
    # 4:1 sweep one (marked WHOLE BODY, or only recognisable by its shape).
    import numpy as np

    from imgqa.phantoms.writer import write_series

    counts = np.random.default_rng(1).poisson(1000.0, (1024, 256)).astype(np.float64)
    write_series(counts, tmp_path, modality="NM", description="UNIF flood sweep",
                 pixel_spacing_mm=2.4, extra_tags={"ImageType": list(image_type)})
    (series,) = imgqa.load(tmp_path)
    det = {d.protocol.name: d for d in detect_protocols(series)}
    assert det["nm.uniformity"].score == 0
    assert det["nm.uniformity"].reason.startswith("looks like a whole-body sweep, not a flood")
    assert "1024 × 256 matrix" in det["nm.uniformity"].reason
    assert all(r.protocol != "nm.uniformity" for r in analyse_series(series))


def test_ge_qa_phantom_sections_are_chosen_by_content_with_reasons(shared_data):
    # Series 1-2 are the GE QA phantom's acrylic resolution/contrast section, 3-4 its water
    # section: ct.water fits only the latter, and the choice says so either way.
    by_desc = _auto(shared_data / "ct" / "ge_qa_phantom")
    assert len(by_desc) == 4
    for desc, results in by_desc.items():
        (r,) = results
        if "QA1" in desc:
            _assert_fallback_said_why(r, "ct.water:", "within ±40 HU of water",
                                      "reads > 80 % water", "ct.catphan:", "ct.mtf_wire:")
        else:
            assert "QA3" in desc and r.protocol == "ct.water"
            assert r.choice_reason.startswith("Chosen automatically: ct.water (0.40)")
            assert "(uniform water)" in r.choice_reason
            assert not any("No specific QC test" in w for w in r.warnings)


def test_ge_qa_resolution_section_really_does_not_fit_ct_water(shared_data):
    # The fall-back is right, not a missed detection: ct.water itself refuses these slices
    # (the centre ROI sits on ~113 HU acrylic).
    for s in imgqa.load(shared_data / "ct" / "ge_qa_phantom"):
        if "QA1" in s.header.series_description:
            with pytest.raises(PhantomNotFoundError, match="none of the 4 image"):
                analyse_series(s, "ct.water")


def test_pet_water_phantom_is_recognised_from_its_images(shared_data):
    # Was generic.roi ("no QC test for PET images yet") until issue 14. Its description
    # ("PET WB") names no test: the uniform round disc in the middle slice identifies it.
    (results,) = _auto(shared_data / "pet" / "imageqc_waterphantom").values()
    (r,) = results
    assert r.protocol == "pet.cross_calibration"
    assert "uniform round disc" in r.choice_reason


@pytest.mark.parametrize("rel, protocol", [
    ("nm/imageqc_spect/linesource_tomo_recon.dcm", "spect.resolution"),
    ("nm/nmqc/Jaszack.dcm", "spect.uniformity_contrast")])
def test_spect_series_go_to_the_spect_tests_not_the_planar_ones(shared_data, rel, protocol):
    (series,) = imgqa.load(shared_data / rel)
    (r,) = analyse_series(series)
    assert r.protocol == protocol
    assert "reconstructed SPECT volume" in r.choice_reason
    planar = {d.protocol.name: d for d in detect_protocols(series)}["nm.uniformity"]
    assert planar.score == 0 and "reconstructed SPECT series" in planar.reason


@pytest.mark.parametrize("rel", ["nm/imageqc", "nm/nmqc", "ct/ge_qa_phantom",
                                 "ct/imageqc_Constancy13img", "xray/intraoral"])
def test_every_automatic_choice_records_why(shared_data, rel):
    series = imgqa.load(shared_data / rel)
    results, problems = analyse_batch(list(series))
    assert results
    for r in results:
        assert r.choice_reason.startswith(("Chosen automatically: ", "No specific QC test"))
        if r.protocol == "generic.roi":
            assert r.choice_reason in r.warnings
        else:  # names the protocol that ran and its detector's own reason
            assert r.choice_reason.startswith(f"Chosen automatically: {r.protocol} (")
            assert ":" in r.choice_reason[len("Chosen automatically: "):]


def test_fallback_to_the_next_candidate_names_what_did_not_fit(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "nmqc" / "FourBar.dcm")
    (r,) = analyse_series(series)
    assert r.choice_reason.startswith("Chosen automatically: nm.resolution (0.05)")
    assert "Tried first: nm.uniformity (0.10) did not fit: No usable flood field" \
        in r.choice_reason


def test_explicit_choice_says_the_user_chose(shared_data):
    (series,) = imgqa.load(shared_data / "nm" / "imageqc" / "WB_scanspeed.dcm")
    results = analyse_series(series, "generic.roi")
    assert {r.choice_reason for r in results} == {"Chosen by the user."}
    assert not any("No specific QC test" in w for r in results for w in r.warnings)


def _ultrasound_image(folder: Path) -> Path:
    """A modality imgqa has no test for: the stable generic.roi example.

    (It was the PET water phantom until issue 14, then a SPECT series until issue 13 gave both
    their tests.)
    """
    from imgqa.phantoms.writer import write_series

    (path,) = write_series(np.full((64, 64), 100.0), folder, modality="US",
                           description="Ultrasound", pixel_spacing_mm=0.2, prefix="us")
    return path


def test_a_modality_without_tests_falls_back_saying_so(tmp_path):
    (series,) = imgqa.load(_ultrasound_image(tmp_path / "us"))
    (r,) = analyse_series(series)
    _assert_fallback_said_why(r, "imgqa has no QC test for ultrasound (US) images yet")


def test_cli_shows_the_reason_in_json_and_under_each_table_series(shared_data, contracts_dir,
                                                                  capsys, tmp_path):
    import jsonschema

    from imgqa.cli.main import main

    paths = [str(_ultrasound_image(tmp_path / "us")),
             str(shared_data / "nm" / "nmqc" / "UNIFORMIDAD_1.dcm")]
    main(["analyse", *paths, "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    jsonschema.validate(out, json.loads((contracts_dir / "analyse-output.schema.json")
                                        .read_text()))
    why = {r["protocol"]: r["choice_reason"] for r in out["results"]}
    assert why["generic.roi"].startswith("No specific QC test")
    assert "ultrasound (US)" in why["generic.roi"]
    assert why["nm.uniformity"].startswith("Chosen automatically: nm.uniformity (0.90)")

    main(["analyse", *paths])
    lines = capsys.readouterr().out.splitlines()
    heads = [i for i, line in enumerate(lines) if " v1 " in line and " — " in line]
    assert len(heads) == 2
    for i in heads:  # the line right under each series' heading
        assert lines[i + 1].startswith("  why: ")
    assert "'UNIF_INT_H1_H1' contains 'UNIF'" in "\n".join(lines)
    assert sum("No specific QC test" in line for line in lines) == 1  # not repeated as warning


def test_the_stored_analysis_keeps_the_reason(shared_data, tmp_path):
    import sqlite3

    from imgqa.store import open_store

    (series,) = imgqa.load(_ultrasound_image(tmp_path / "us"))
    (r,) = analyse_series(series)
    assert r.protocol == "generic.roi"  # a fall-back: its reason is also a warning
    db = tmp_path / "qc.sqlite3"
    with open_store(str(db)) as store:
        eq = store.create_equipment_from_series(series)
        sess = store.save_session(eq.id, [r])
        rows = store.session_results(sess.id)
    assert rows and all(r.choice_reason in row.warnings for row in rows)
    con = sqlite3.connect(db)
    try:
        (stored,) = con.execute("SELECT series FROM analysis").fetchone()
    finally:
        con.close()
    assert json.loads(stored)["choice_reason"] == r.choice_reason
