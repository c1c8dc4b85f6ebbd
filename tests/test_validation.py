"""`imgqa validate`: every demo phantom's measurements agree with their analytic truth."""

from __future__ import annotations

import json

from imgqa.cli.main import main
from imgqa.validation import CHECKS


def test_validate_passes_every_check(tmp_path, capsys):
    code = main(["validate", "--keep", str(tmp_path), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    failures = [c for c in out["checks"] if not c["passed"]]
    assert code == 0, failures
    assert len(out["checks"]) == len(CHECKS)
    # every modality area is covered
    assert {c["protocol"].split(".")[0] for c in out["checks"]} == {"ct", "mr", "nm", "xray"}
    for c in out["checks"]:
        assert abs(c["error"]) <= c["allowed"]
    # the phantoms were kept where asked, with their ground truth
    assert (tmp_path / "ct_water" / "ground_truth.json").is_file()
