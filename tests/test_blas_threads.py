"""Issue 17: imgqa's processes use single-threaded BLAS unless the user chose otherwise.

The default is set by the ``imgqa`` entry point before numpy is imported (`imgqa._blas`), so the
checks run a fresh interpreter through `imgqa.cli.main.entry` and read, from inside it, the
environment it left and the number of threads numpy's BLAS then started. Nothing is timed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import imgqa
from imgqa._blas import OPT_OUT_VARIABLE, THREAD_VARIABLES, apply, blas_threads

SRC = Path(imgqa.__file__).resolve().parents[1]

# Runs the real console-script entry (`imgqa --version`), then reports the thread variables and,
# on Linux, how many threads the process has once numpy (and its OpenBLAS) is loaded.
PROBE = r"""
import json, os, sys
sys.argv = ["imgqa", "--version"]
from imgqa.cli.main import entry
numpy_before = "numpy" in sys.modules
try:
    entry()
except SystemExit:
    pass
import numpy
numpy.ones((64, 64)) @ numpy.ones((64, 64))   # a BLAS call: its thread pool exists now
tasks = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else None
print(json.dumps({"env": {k: os.environ.get(k) for k in VARIABLES},
                  "numpy_before_entry": numpy_before, "threads": tasks}))
"""


def _run_imgqa(**env_vars: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in THREAD_VARIABLES and k != OPT_OUT_VARIABLE}
    env.update(env_vars)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    code = f"VARIABLES = {(*THREAD_VARIABLES, OPT_OUT_VARIABLE)!r}\n{PROBE}"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_a_fresh_imgqa_process_gets_single_threaded_blas():
    res = _run_imgqa()
    assert not res["numpy_before_entry"]   # else the setting would come too late
    assert all(res["env"][k] == "1" for k in THREAD_VARIABLES), res["env"]
    if res["threads"] is not None:          # Linux: OpenBLAS started no worker thread
        assert res["threads"] == 1


def test_the_users_own_thread_count_is_kept():
    res = _run_imgqa(OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="3")
    assert res["env"]["OPENBLAS_NUM_THREADS"] == "2" and res["env"]["OMP_NUM_THREADS"] == "3"
    assert res["env"]["MKL_NUM_THREADS"] == "1"          # the ones they did not set: imgqa's
    if res["threads"] is not None:
        assert res["threads"] == 2                       # main thread + one OpenBLAS worker


@pytest.mark.parametrize(("value", "expected"), [("4", "4"), ("auto", None), ("0", None)])
def test_imgqa_blas_threads_opts_out(value, expected):
    res = _run_imgqa(IMGQA_BLAS_THREADS=value)
    assert all(res["env"][k] == expected for k in THREAD_VARIABLES), res["env"]


def test_importing_the_entry_module_does_not_import_numpy():
    code = "import sys, imgqa, imgqa.cli.main; print('numpy' in sys.modules)"
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120, check=True)
    assert proc.stdout.strip() == "False"


@pytest.mark.parametrize(("value", "expected"), [
    (None, "1"), ("", "1"), (" 1 ", "1"), ("2", "2"), ("08", "8"), ("AUTO", None), ("0", None)])
def test_blas_threads_reads_the_setting(value, expected):
    assert blas_threads(value) == expected


def test_an_unreadable_setting_is_explained_and_the_default_used(capsys):
    env = {OPT_OUT_VARIABLE: "many", "OMP_NUM_THREADS": "6"}
    assert apply(env) == "1"
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["OMP_NUM_THREADS"] == "6"
    err = capsys.readouterr().err
    assert "IMGQA_BLAS_THREADS='many' is not a number of threads" in err and "auto" in err
    with pytest.raises(ValueError, match="whole number"):
        blas_threads("-1")
