"""Small CLI defects of issue 11 (item 9), each reproduced first: a closed output pipe, usage
errors' exit code, dose structured reports' message, and the columns of `imgqa history`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from imgqa.cli.main import EXIT_BROKEN_PIPE, main
from imgqa.io import load
from imgqa.phantoms.writer import PhantomDevice, write_series

SRC = Path(__file__).resolve().parents[2] / "src"


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# -- `imgqa … | head`: the reader leaves before imgqa has written ---------------------------

def _closed_pipe_run(*argv: str) -> subprocess.CompletedProcess:
    """Run the real entry point with stdout on a pipe whose read end is already closed, as
    after `head` has exited: every write then fails with EPIPE (deterministic, no race)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    try:
        return subprocess.run([sys.executable, "-m", "imgqa.cli.main", *argv], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    finally:
        os.close(write_end)


def test_closed_output_pipe_ends_quietly_with_the_sigpipe_code():
    proc = _closed_pipe_run("protocols", "--format", "json")
    assert "Traceback" not in proc.stderr and "BrokenPipeError" not in proc.stderr, proc.stderr
    assert "unexpected error" not in proc.stderr  # not reported as a fault of imgqa
    assert proc.returncode == EXIT_BROKEN_PIPE == 141


def test_closed_output_pipe_during_analyse_json(shared_data):
    proc = _closed_pipe_run("analyse", str(shared_data / "ct" / "imageqc_CTP486"), "--protocol",
                            "generic.roi", "--format", "json")
    assert proc.stderr == "" and proc.returncode == 141


# -- usage errors exit 2 (docs/cli.md) --------------------------------------------------------

@pytest.mark.parametrize("extra, words", [
    (["--protocol", "nope.nothing"], "no QC test called 'nope.nothing'"),
    (["--protocol", "generic.roi", "--param", "no_such_param=3"], "no parameter 'no_such_param'"),
    (["--protocol", "generic.roi", "--param", "roi_fraction"], "--param expects KEY=VALUE"),
    (["--protocol", "generic.roi", "--param", "slice_index=abc"], "must be a int"),
    (["--param", "no_such_param=3"], "No QC test has a parameter 'no_such_param'"),
])
def test_unknown_test_or_bad_param_is_a_usage_error(shared_data, capsys, extra, words):
    code, out, err = _run(capsys, "analyse", str(shared_data / "ct" / "imageqc_CTP486"), *extra)
    assert code == 2, err
    assert words in err and "Traceback" not in err
    assert out == ""  # refused before anything was analysed


def test_a_problem_with_the_images_still_exits_1(shared_data, capsys):
    # Only the way the command was written is a usage error; a bad file stays exit 1.
    code, _, _ = _run(capsys, "analyse", str(shared_data / "bad" / "not_dicom.png"),
                      "--protocol", "generic.roi")
    assert code == 1


# -- structured reports are named as such -----------------------------------------------------

def _sr_file(path: Path, sop_class: str, title: str) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, meta.MediaStorageSOPInstanceUID
    ds.Modality = "SR"
    code = pydicom.Dataset()
    code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = "1", "99TEST", title
    ds.ConceptNameCodeSequence = [code]
    ds.save_as(path, enforce_file_format=True)
    return path


def test_dose_report_is_an_input_and_an_empty_one_says_so(tmp_path):
    # Issue 15: a dose SR is loaded as a dose report (no image), not refused as a file without
    # pixel data; one without any irradiation event is refused by dose.report in plain words.
    from imgqa.errors import AnalysisError
    from imgqa.protocols.base import analyse_series

    f = _sr_file(tmp_path / "dose.dcm", "1.2.840.10008.5.1.4.1.1.88.67",
                 "X-Ray Radiation Dose Report")
    loaded = load([f])
    assert not loaded.problems
    (series,) = loaded
    assert series.modality == "SR" and len(series) == 0 and series.sources == (str(f),)
    with pytest.raises(AnalysisError) as err:
        analyse_series(series)
    assert "dose.dcm is a dose structured report without any irradiation event" in str(err.value)


def test_other_structured_report_is_not_called_a_dose_report(tmp_path):
    f = _sr_file(tmp_path / "cad.dcm", "1.2.840.10008.5.1.4.1.1.88.33", "Imaging report")
    (problem,) = load([f]).problems
    assert problem.kind == "NoPixelDataError"
    assert "is a structured report (SR), not an image" in problem.error
    assert "dose" not in problem.error


# -- `imgqa history` columns ------------------------------------------------------------------

def _water(folder: Path, level: float, day: int) -> str:
    write_series(np.full((64, 64), level, dtype=float), folder, modality="CT",
                 description="water", pixel_spacing_mm=0.5, rescale_intercept=-1024,
                 signed=True, acquired=datetime(2025, 3, day, 8),
                 device=PhantomDevice(serial="HIST-1", station_name="CT_HIST"))
    return str(folder)


def _header_and_rows(out: str) -> tuple[list[str], list[str]]:
    lines = out.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("When (UTC)"))
    rule = lines[i + 1]
    # Column starts from the dashes under the header: every column has a title over it.
    starts = [k for k, c in enumerate(rule) if c == "-" and (k == 0 or rule[k - 1] == " ")]
    headers = [lines[i][a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
    rows = []
    for line in lines[i + 2:]:
        if not line.strip() or line.startswith(" "):  # blank, or the control-limits note
            break
        rows.append([line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])])
    return headers, rows


def test_history_has_no_empty_or_untitled_column(tmp_path, capsys):
    db = ["--db", str(tmp_path / "qc.sqlite3")]
    for day, level in ((1, 100), (2, 102), (3, 98)):
        code, _, err = _run(capsys, *db, "analyse", _water(tmp_path / f"s{day}", level, day),
                            "--protocol", "generic.roi", "--save", "--create-equipment")
        assert code == 0, err
    # Without a reference: no Reference / vs ref columns at all, and every column titled.
    code, out, _ = _run(capsys, *db, "history", "1", "-m", "mean")
    headers, rows = _header_and_rows(out)
    assert code == 0 and len(rows) == 3
    assert all(headers) and "vs ref" not in headers and "Reference" not in headers
    for col, h in enumerate(headers):
        assert any(r[col] for r in rows), f"column {h!r} is empty"
    # With a baseline, the next point shows its reference and the change from it.
    _run(capsys, *db, "baseline", "set", "1", "generic.roi", "mean", "100", "--reason", "test")
    _run(capsys, *db, "tolerance", "set", "1", "generic.roi", "mean", "--kind", "percent",
         "--tol-low", "-2", "--tol-high", "2", "--act-low", "-10", "--act-high", "10",
         "--reason", "test")
    code, _, err = _run(capsys, *db, "analyse", _water(tmp_path / "s4", 105, 4), "--protocol",
                        "generic.roi", "--save", "--equipment", "1")
    assert code == 0, err
    code, out, _ = _run(capsys, *db, "history", "1", "-m", "mean")
    headers, rows = _header_and_rows(out)
    assert all(headers) and "vs ref" in headers
    last = dict(zip(headers, rows[-1]))
    value, ref = float(last["Value"]), float(last["Reference"])
    assert ref == 100
    assert last["vs ref"] == f"{100 * (value - ref) / ref:+.1f} %"
    for col, h in enumerate(headers):
        assert any(r[col] for r in rows), f"column {h!r} is empty"
    doc_code, doc, _ = _run(capsys, *db, "history", "1", "-m", "mean", "--format", "json")
    assert json.loads(doc)["series"][0]["points"][-1]["reference"] == 100
