"""`imgqa validate --report`: the commissioning report opens, its hash verifies, tampering fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from imgqa.cli.main import main
from imgqa.validation.real_data import REFERENCES, run_agreement
from imgqa.validation.report import REPORT_KIND, content_hash, verify_report

_FAST = ["--protocol", "ct.ttf", "--protocol", "mr.ghosting"]     # two small phantoms


def _report(tmp_path, name, *extra):
    path = tmp_path / name
    code = main(["validate", *_FAST, "--report", str(path),
                 "--real-data", str(tmp_path / "no-data"), *extra])
    assert code == 0
    return path


def test_json_report_content_and_hash(tmp_path, capsys):
    path = _report(tmp_path, "commissioning.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["report"] == REPORT_KIND
    sw = report["software"]
    assert sw["version"] and re.fullmatch(r"[0-9a-f]{40}( \(modified\))?|unknown",
                                          sw["git_commit"])
    assert {"numpy", "scipy", "pydicom", "scikit-image", "SQLAlchemy", "PySide6"} <= set(
        report["libraries"])
    assert report["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert report["created_utc"].endswith("+00:00")
    assert report["summary"] == {**report["summary"], "checks": len(report["checks"]),
                                 "all_passed": True, "protocols": 2}
    for c in report["checks"]:
        assert {"truth", "measured", "error", "tolerance", "passed", "source"} <= set(c)
    assert "skipped" in report["real_data"]["note"]
    # the stored hash is the SHA-256 of the canonical content
    assert report["sha256"] == content_hash(report)
    ok, message = verify_report(path)
    assert ok, message
    assert main(["validate", "--verify-report", str(path)]) == 0
    assert "OK:" in capsys.readouterr().out


def test_tampered_json_report_fails_verification(tmp_path, capsys):
    path = _report(tmp_path, "r.json")
    report = json.loads(path.read_text(encoding="utf-8"))
    report["checks"][0]["measured"] += 0.001           # an edited number, hash kept
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    ok, message = verify_report(path)
    assert not ok and "changed after it was written" in message
    assert main(["validate", "--verify-report", str(path)]) == 1
    assert "FAILED:" in capsys.readouterr().out
    path.write_text("{not json", encoding="utf-8")
    assert not verify_report(path)[0]


def test_pdf_report_opens_and_its_sidecar_hash_verifies(tmp_path):
    path = _report(tmp_path, "commissioning.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    sidecar = tmp_path / "commissioning.pdf.sha256"
    digest, name = sidecar.read_text(encoding="ascii").split()
    assert name == "commissioning.pdf" and len(digest) == 64
    ok, message = verify_report(path)
    assert ok, message
    # the content hash is printed in the (uncompressed) page text and the PDF subject
    content = re.search(rb"content SHA-256 ([0-9a-f]{64})", data)
    assert content and data.count(content.group(1)) >= 2
    # `sha256sum -c` (the documented one-line check) agrees where it exists
    if subprocess.run(["which", "sha256sum"], capture_output=True).returncode == 0:
        assert subprocess.run(["sha256sum", "-c", sidecar.name], cwd=tmp_path,
                              capture_output=True).returncode == 0


def test_tampered_or_unsigned_pdf_fails_verification(tmp_path):
    path = _report(tmp_path, "r.pdf")
    data = bytearray(path.read_bytes())
    i = data.index(b"PASS")
    data[i:i + 4] = b"FAIL"                             # same length, different content
    path.write_bytes(bytes(data))
    ok, message = verify_report(path)
    assert not ok and "changed after it was written" in message
    (tmp_path / "r.pdf.sha256").unlink()
    ok, message = verify_report(path)
    assert not ok and "r.pdf.sha256" in message


def test_report_needs_a_known_extension(tmp_path, capsys):
    code = main(["validate", "--protocol", "ct.ttf", "--report", str(tmp_path / "r.docx")])
    assert code != 0 and ".pdf or .json" in capsys.readouterr().err


def test_environment_does_not_import_qt():
    code = ("import sys; from imgqa.validation.report import environment; e = environment(); "
            "assert e['libraries']['numpy'] != 'not installed'; "
            "assert not [m for m in sys.modules if m.startswith('PySide6')], 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_agreement_table_on_real_images(shared_data):
    rows = run_agreement(shared_data)
    assert len(rows) == len(REFERENCES)
    for r, ref in zip(rows, REFERENCES):
        assert r["imgqa"] is not None, r               # every referenced series analysed
        assert r["difference"] == pytest.approx(r["imgqa"] - ref.value)
    tools = {r["tool"] for r in rows}
    assert {"hazen 2.0.0", "pylinac 3.49", "imageQCpy 3.2.8"} <= tools


def test_agreement_missing_file_is_a_row_not_a_crash(tmp_path):
    rows = run_agreement(tmp_path, REFERENCES[:2])
    assert [r["imgqa"] for r in rows] == [None, None]
    assert all("not in the data folder" in r["note"] for r in rows)
