"""Issue 17, lazy loading: light commands start without the analysis kernels' libraries.

Every check runs the command in a fresh interpreter (modules imported by other tests would hide
a leak) and lists which heavy libraries ended up in ``sys.modules``. Nothing here is timed: the
start-up times are measured separately and reported in docs/validation.md.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

import imgqa
from imgqa.cli.main import SUBCOMMANDS, build_parser, main, subcommands_for
from imgqa.phantoms.writer import PhantomDevice, write_series

SRC = Path(imgqa.__file__).resolve().parents[1]   # run the children on this same source tree
HEAVY = ("scipy", "scipy.signal", "scipy.stats", "scipy.ndimage", "skimage", "PySide6",
         "pyqtgraph", "sqlalchemy", "pydicom", "reportlab", "openpyxl", "multiprocessing",
         "alembic")
# Libraries only the analysis kernels (SciPy, scikit-image) or the GUI (Qt) need.
NEVER_FOR_LIGHT_COMMANDS = {"scipy.signal", "scipy.stats", "skimage", "PySide6", "pyqtgraph"}

PROBE = r"""
import contextlib, io, json, sys
from imgqa.cli.main import main
out, err = io.StringIO(), io.StringIO()
with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:   # --version and --help end through argparse's exit
        code = exc.code
print(json.dumps({"code": code, "out": out.getvalue(), "err": err.getvalue(),
                  "loaded": [m for m in HEAVY if m in sys.modules]}))
"""


def _run_fresh(*argv: str, code: str = PROBE) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])]))
    proc = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{code}", *argv],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def saved_session(tmp_path_factory) -> tuple[list[str], str]:
    """A results database holding one saved session, and the folder of its images."""
    tmp = tmp_path_factory.mktemp("lazy")
    folder = tmp / "water"
    write_series(np.full((64, 64), 1024.0), folder, modality="CT", description="water",
                 pixel_spacing_mm=0.5, rescale_intercept=-1024, signed=True,
                 acquired=datetime(2025, 3, 1, 8),
                 device=PhantomDevice(serial="LAZY-17", station_name="CT_LAZY"))
    db = ["--db", str(tmp / "qc.sqlite3")]
    assert main([*db, "analyse", str(folder), "--protocol", "generic.roi", "--save",
                 "--create-equipment"]) == 0
    assert main([*db, "schedule", "set", "1", "generic.roi", "--every", "annual",
                 "--reason", "lazy-import test"]) == 0
    return db, str(folder)


def test_version_loads_no_scipy_dicom_or_database():
    res = _run_fresh("--version")
    assert res["code"] == 0 and res["out"].strip() == f"imgqa {imgqa.__version__}"
    assert res["loaded"] == []


@pytest.mark.parametrize("command", ["protocols", "info", "history", "review", "due"])
def test_light_commands_load_no_kernel_or_qt_library(command, saved_session):
    db, folder = saved_session
    argv = {"protocols": ["protocols"],
            "info": ["info", folder],
            "history": [*db, "history", "LAZY-17"],
            "review": [*db, "review"],
            "due": [*db, "due"]}[command]
    res = _run_fresh(*argv)
    # `due` exits 1 when a test is overdue: the session is from 2025-03-01, its test annual.
    assert res["code"] == (1 if command == "due" else 0), res["err"]
    # The command did its work (not an early exit that would import nothing) ...
    expected = {"protocols": "ct.catphan", "info": "LAZY-17", "history": "generic.roi",
                "review": "CT_LAZY", "due": "overdue"}[command]
    assert expected in res["out"]
    # ... without SciPy's signal/stats, scikit-image or Qt.
    assert not NEVER_FOR_LIGHT_COMMANDS & set(res["loaded"]), res["loaded"]
    # An up-to-date results database is opened without Alembic (db.SCHEMA_HEAD).
    assert "alembic" not in res["loaded"]


def test_protocol_declarations_load_without_scipy_or_pydicom():
    code = r"""
import json, sys
from imgqa.protocols import all_protocols
names = [p.name for p in all_protocols()]
measurements = sum(len(p.measurements) for p in all_protocols())
print(json.dumps({"names": names, "measurements": measurements,
                  "loaded": [m for m in HEAVY if m in sys.modules]}))
"""
    res = _run_fresh(code=code)
    assert {"ct.catphan", "mr.acr", "nm.uniformity", "xray.mtf_edge"} <= set(res["names"])
    assert res["measurements"] > 100
    assert res["loaded"] == []


def test_analyse_still_loads_and_runs_its_kernel(saved_session):
    # The lazy stand-ins must reach the real kernels: ct.water imports scipy.ndimage to find
    # the phantom, and says so clearly on this square "phantom" filling the whole image.
    _, folder = saved_session
    res = _run_fresh("analyse", folder, "--protocol", "ct.water", "--format", "json")
    assert "scipy.ndimage" in res["loaded"]
    assert res["code"] == 1 and "water phantom" in res["out"] + res["err"]


@pytest.mark.parametrize(("argv", "expected"), [
    (["--version"], []),
    (["-v", "--version"], []),
    (["--db", "x.sqlite3", "history", "1"], ["history"]),
    (["--db=x.sqlite3", "-v", "review"], ["review"]),
    (["--db", "history", "review"], ["review"]),          # a database file named "history"
    (["analyze", "x.dcm"], ["analyse"]),
    (["info", "--help"], ["info"]),
])
def test_a_command_loads_only_its_own_module(argv, expected):
    assert subcommands_for(argv) == expected


@pytest.mark.parametrize("argv", [[], ["-h"], ["--verb", "info"], ["--db", "x.sqlite3"],
                                  ["no-such-command"], ["-vh"]])
def test_unclear_command_lines_load_every_module(argv):
    assert subcommands_for(argv) == SUBCOMMANDS


def test_help_and_unknown_command_still_list_every_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert all(name in text for name in SUBCOMMANDS)
    assert main_exit_code(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'no-such-command'" in err and "history" in err and "analyse" in err


def main_exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_single_command_parser_parses_like_the_full_one():
    argv = ["--db", "qc.sqlite3", "history", "CT 1", "-m", "noise", "--format", "json"]
    one = vars(build_parser(subcommands_for(argv)).parse_args(argv))
    full = vars(build_parser().parse_args(argv))
    assert {k: v for k, v in one.items() if k != "func"} == \
        {k: v for k, v in full.items() if k != "func"}
    assert one["func"] is full["func"]


def test_ctp515_declared_measurements_match_the_kernel_layout():
    # ct.py declares the CTP515 measurements from the numpy-free ctp515_layout module: they must
    # name exactly the targets the kernel measures.
    from imgqa.analysis.catphan_ctp515 import ctp515_layout, ctp515_target_name
    from imgqa.protocols import get_protocol

    declared = [(m.name, m.label) for m in get_protocol("ct.catphan").measurements
                if m.name.startswith("ctp515_cnr_")]
    kernel = [(ctp515_target_name(t["token"], t["diameter_mm"]),
               f"CTP515 CNR, {t['contrast_percent']:g} % contrast, {t['diameter_mm']} mm")
              for t in ctp515_layout()]
    assert declared == kernel and len(declared) == 27


def test_lazy_stand_ins_forward_to_the_real_objects():
    from imgqa.protocols._lazy import lazy_functions, lazy_module

    dumps, loads = lazy_functions("json", "dumps", "loads")
    assert loads(dumps({"a": [1, 2]}, sort_keys=True)) == {"a": [1, 2]}
    # A worker process receives the real function, not the stand-in.
    assert pickle.loads(pickle.dumps(dumps)) is json.dumps
    (missing,) = lazy_functions("json", "no_such_function")
    with pytest.raises(AttributeError):
        missing()
    assert lazy_module("json").dumps is json.dumps


def test_analysing_an_acr_series_without_a_database_loads_no_signal_stats_or_sql(
        tmp_path, monkeypatch):
    # Issue 17, whole-process `imgqa analyse`: the MR kernels convolve without scipy.signal
    # (and so without scipy.stats), and judging against the packaged defaults, with no results
    # database, does not import SQLAlchemy; one series is analysed in this process, without
    # importing the worker-pool machinery (multiprocessing; concurrent.futures comes with
    # SciPy, through numpy.testing).
    from imgqa.phantoms import make_demo

    (folder,) = make_demo(tmp_path / "demo", names=["mr_acr"])
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "no-database-here"))
    monkeypatch.delenv("IMGQA_DB", raising=False)
    res = _run_fresh("analyse", str(folder), "--format", "json")
    out = json.loads(res["out"])
    assert [r["protocol"] for r in out["results"]] == ["mr.acr"], res["err"]
    assert {"scipy.ndimage", "pydicom"} <= set(res["loaded"])
    assert not {"scipy.signal", "scipy.stats", "sqlalchemy", "skimage", "PySide6",
                "multiprocessing"} & set(res["loaded"]), res["loaded"]


def test_analysing_an_acr_series_loads_only_the_acr_kernels_and_tolerances(tmp_path,
                                                                          monkeypatch):
    # Issue 17: the ACR battery reads the Rayleigh factor without importing the mr.snr kernels
    # (imgqa.analysis.mr_snr), and judging its results parses only the packaged tolerance file
    # that names mr.acr (mr.toml), not all nine.
    from imgqa.phantoms import make_demo
    from imgqa.store.defaults import _files

    (folder,) = make_demo(tmp_path / "demo", names=["mr_acr"])
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "no-database-here"))
    monkeypatch.delenv("IMGQA_DB", raising=False)
    code = ('HEAVY = HEAVY + ("imgqa.analysis.mr_snr",)\n'
            + PROBE.replace('"loaded": [', '"parsed": _parsed(), "loaded": [')
            .replace("from imgqa.cli.main import main",
                     "from imgqa.cli.main import main\n"
                     "def _parsed():\n"
                     "    from imgqa.store import defaults\n"
                     "    return defaults._parsed.cache_info().currsize\n"))
    res = _run_fresh("analyse", str(folder), "--format", "json", code=code)
    assert [r["protocol"] for r in json.loads(res["out"])["results"]] == ["mr.acr"], res["err"]
    assert "imgqa.analysis.mr_snr" not in res["loaded"], res["loaded"]
    assert res["parsed"] == sum("mr.acr" in text for _, text in _files()) == 1
    assert len(_files()) > 1


def test_analyse_looks_for_the_same_default_database_file_as_the_store():
    from imgqa.cli.analyse_cmd import DEFAULT_DB_FILENAME
    from imgqa.store.db import DB_FILENAME

    assert DEFAULT_DB_FILENAME == DB_FILENAME
