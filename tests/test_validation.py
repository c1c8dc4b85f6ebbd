"""`imgqa validate`: every protocol has a check, and every check recovers its analytic truth."""

from __future__ import annotations

import json

import pytest

from imgqa.cli.main import main
from imgqa.protocols import all_protocols
from imgqa.protocols import base as protocol_base
from imgqa.validation import CHECKS, all_checks, missing_protocols, phantom_makers
from imgqa.validation.registry import needs_check


def test_every_registered_protocol_has_a_validation_check():
    # A protocol added later (another issue) must bring its check in imgqa.validation.<area>.
    assert missing_protocols() == [], (
        "these protocols have no @check in imgqa.validation: " + ", ".join(missing_protocols()))
    assert {c.protocol for c in all_checks()} == {p.name for p in all_protocols()
                                                  if needs_check(p)}


def test_only_manual_protocols_are_exempt_from_validation(monkeypatch):
    # The explicit rule: kind "manual" (typed-in values) computes nothing, so needs no check;
    # the same declaration as an analysed protocol is reported as missing its check.
    existing = next(iter(all_protocols()))
    manual = [p.name for p in all_protocols() if not needs_check(p)]
    assert manual and all(n.startswith("manual.") for n in manual)
    for kind, expected in (("manual", []), ("analysis", ["ct.typed_in"])):
        fake = protocol_base.Protocol(name="ct.typed_in", version="1", title="t",
                                      description="d", modalities=("CT",),
                                      measurements=existing.measurements,
                                      function=existing.function, kind=kind)
        monkeypatch.setitem(protocol_base._REGISTRY, fake.name, fake)
        assert missing_protocols() == expected


def test_a_protocol_without_a_check_is_reported(monkeypatch):
    # Reproduces the gap the enforcement test guards against: register a protocol, no check.
    existing = next(iter(all_protocols()))
    fake = protocol_base.Protocol(name="ct.unvalidated", version="1", title="t",
                                  description="d", modalities=("CT",),
                                  measurements=existing.measurements, function=existing.function)
    monkeypatch.setitem(protocol_base._REGISTRY, fake.name, fake)
    assert missing_protocols() == ["ct.unvalidated"]


def test_checks_are_declared_completely():
    makers = phantom_makers()
    protocols = {p.name: p for p in all_protocols()}
    for c in all_checks():
        assert c.phantom in makers
        assert c.source, f"{c.protocol}/{c.measurement}: no source of truth"
        assert c.abs_tol > 0 or c.rel_tol > 0, f"{c.protocol}/{c.measurement}: no tolerance"
        # the measurement is one the protocol declares (names are contracts)
        protocols[c.protocol].measurement(c.measurement)


def test_validate_passes_every_check(tmp_path, capsys):
    code = main(["validate", "--keep", str(tmp_path), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    failures = [c for c in out["checks"] if not c["passed"]]
    assert code == 0, failures
    assert out["passed"] is True and out["imgqa_version"]
    assert len(out["checks"]) == len(CHECKS)
    # every registered protocol is exercised through the real pipeline
    assert {c["protocol"] for c in out["checks"]} == {p.name for p in all_protocols()
                                                      if needs_check(p)}
    for c in out["checks"]:
        # the fields the JSON output always had, then the new ones
        assert {"phantom", "protocol", "measurement", "truth", "measured", "error", "allowed",
                "passed", "note"} <= set(c)
        assert c["tolerance"] and c["source"]
        assert abs(c["error"]) <= c["allowed"]
    # the phantoms were kept where asked, with their ground truth
    assert (tmp_path / "ct_water" / "ground_truth.json").is_file()
    assert (tmp_path / "mr_flood_pair" / "ground_truth.json").is_file()
    assert "real_data" not in out                     # only with --report or --real-data


def test_a_wrong_answer_fails_its_check(tmp_path, monkeypatch):
    # A check must be able to fail: shift the truth the comparison sees by 3 tolerances.
    from imgqa.validation import runner

    real = runner.read_ground_truth

    def shifted(folder):
        truth = real(folder)
        truth["mtf50"] = truth["mtf50"] * 1.15
        return truth

    monkeypatch.setattr(runner, "read_ground_truth", shifted)
    outcomes = runner.run_validation(tmp_path, protocols=["ct.ttf"])
    by_name = {o.check.measurement: o for o in outcomes}
    assert not by_name["mtf50"].passed and by_name["mtf10"].passed


def test_markdown_table_lists_every_check(capsys):
    code = main(["validate", "--protocol", "nm.bar_phantom", "--format", "markdown"])
    text = capsys.readouterr().out
    assert code == 0
    rows = [line for line in text.splitlines() if line.startswith("| `nm.bar_phantom`")]
    assert len(rows) == sum(c.protocol == "nm.bar_phantom" for c in CHECKS)
    assert "Droege" in text


@pytest.mark.parametrize("name", ["--only", "--protocol"])
def test_unknown_selection_is_refused_with_the_known_names(name, capsys):
    # A typo must not give "0 of 0 checks passed" (exit 0): it is refused, naming the choices.
    code = main(["validate", name, "no.such"])
    err = capsys.readouterr().err
    assert code != 0
    assert "no.such" in err and "Known:" in err
