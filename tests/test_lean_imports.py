"""Issue 17: the lean-import hooks (`imgqa._lean_imports`) change when things are imported,
never what is computed.

Each check runs a fresh interpreter (the hooks act on the first import of pydicom and SciPy),
once as the ``imgqa`` command starts (hooks applied) and once with ``IMGQA_LEAN_IMPORTS=0``,
and compares what pydicom and SciPy then offer. Nothing is timed here (benchmarks/bench_cli.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import imgqa
from imgqa._lean_imports import OPT_OUT_VARIABLE, apply

SRC = Path(imgqa.__file__).resolve().parents[1]

# Prints, as JSON, the state of pydicom's codecs and SciPy's numpy namespace after the imports an
# analysis does; `ensure_codecs` is called only after the "before" snapshot.
PROBE = r"""
import json, sys
from imgqa import _lean_imports
applied = _lean_imports.apply() if sys.argv[1] == "lean" else False
import numpy, pydicom, scipy.ndimage
codec_modules = sorted(m for m in ("gdcm", "PIL", "pylibjpeg", "jpeg_ls") if m in sys.modules)
pending = _lean_imports.codecs_pending()
_lean_imports.ensure_codecs()
from pydicom.pixels.decoders.base import _PIXEL_DATA_DECODERS
from pydicom.pixels.encoders.base import _PIXEL_DATA_ENCODERS
from pydicom.pixel_data_handlers import (gdcm_handler, jpeg_ls_handler, pillow_handler,
                                         pylibjpeg_handler)
from pydicom.pixels import processing
plugins = {}
for kind, table in (("decoder", _PIXEL_DATA_DECODERS), ("encoder", _PIXEL_DATA_ENCODERS)):
    for uid, (coder, _) in table.items():
        plugins[f"{kind} {uid}"] = {
            "available": list(coder.available_plugins),   # in pydicom's order of preference
            "functions": [f"{f.__module__}.{f.__name__}" for f in coder._available.values()],
            "missing": coder.missing_dependencies}
import scipy._lib.array_api_compat.numpy as np_compat
print(json.dumps({
    "applied": applied, "codec_modules_before_use": codec_modules, "pending": pending,
    "plugins": plugins,
    "handlers": [h.is_available() for h in (gdcm_handler, jpeg_ls_handler, pillow_handler,
                                            pylibjpeg_handler)],
    "icc_profiles": processing.HAVE_PIL,
    "numpy_all_has_submodules": {"f2py", "testing", "random"} <= set(numpy.__all__),
    "numpy_dir_has_f2py": "f2py" in dir(numpy),
    "compat_random_is_numpys": np_compat.random is numpy.random,
    "compat_testing_is_numpys": np_compat.testing is numpy.testing,
    "gaussian_filter_doc": scipy.ndimage.gaussian_filter.__doc__.split()[:3],
    "finder_left": [type(f).__name__ for f in sys.meta_path if "Lean" in type(f).__name__],
}))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != OPT_OUT_VARIABLE}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


def _probe(mode: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def plain() -> dict:
    return _probe("plain")


@pytest.fixture(scope="module")
def lean() -> dict:
    return _probe("lean")


def test_pydicom_starts_without_its_image_codecs(plain, lean):
    assert lean["applied"] and lean["pending"]
    assert lean["codec_modules_before_use"] == []
    assert "gdcm" in plain["codec_modules_before_use"]   # what the hook saves: ≈ 40 ms


def test_first_use_registers_every_plugin_pydicom_would_in_its_order(plain, lean):
    assert lean["plugins"] == plain["plugins"]
    assert lean["handlers"] == plain["handlers"]
    assert lean["icc_profiles"] == plain["icc_profiles"]
    # The bundled decoders are really there (not two equal empty tables).
    assert plain["plugins"]["decoder 1.2.840.10008.1.2.4.90"]["available"]


def test_scipys_numpy_namespace_still_has_numpys_submodules(plain, lean):
    for probe in (plain, lean):
        assert probe["compat_random_is_numpys"] and probe["compat_testing_is_numpys"]
        assert probe["numpy_all_has_submodules"] and probe["numpy_dir_has_f2py"]


def test_scipy_functions_keep_their_docstrings_and_the_finder_goes(plain, lean):
    assert lean["gaussian_filter_doc"] == plain["gaussian_filter_doc"]
    assert lean["gaussian_filter_doc"][:2] == ["Multidimensional", "Gaussian"]
    assert lean["finder_left"] == []


def test_opt_out_and_second_apply_change_nothing():
    assert apply({OPT_OUT_VARIABLE: "0"}) is False
    # In this test process the hooks were applied once by conftest (or the libraries are
    # already imported): a second call installs nothing.
    assert apply({}) is False


@pytest.mark.parametrize("name", ["MR_small_jp2klossless.dcm", "MR_small_RLE.dcm"])
def test_the_command_gives_the_same_json_for_a_compressed_image(name, tmp_path,
                                                                 without_timestamps):
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)
    outputs = []
    for lean_imports in ("1", "0"):
        proc = subprocess.run(
            [sys.executable, "-c", "from imgqa.cli.main import entry; entry()", "analyse",
             str(path), "--protocol", "generic.roi", "--format", "json"],
            capture_output=True, text=True, timeout=120,
            env=_env(IMGQA_DATA_DIR=str(tmp_path), **{OPT_OUT_VARIABLE: lean_imports}))
        assert proc.returncode == 0, proc.stderr
        outputs.append(without_timestamps(json.loads(proc.stdout)))
    assert outputs[0] == outputs[1]
    assert outputs[0]["results"] and not outputs[0]["problems"]


def test_workers_of_a_lean_fork_server_decode_compressed_images(tmp_path, without_timestamps):
    # The fork server applies the hooks too (parallel._server_start): its workers must load the
    # codecs on first use as the command does. Against one plain process, hooks off.
    import pydicom
    from pydicom.data import get_testdata_file

    paths = []
    for i, name in enumerate(("MR_small_jp2klossless.dcm", "MR_small_RLE.dcm",
                              "MR_small_jpeg_ls_lossless.dcm", "MR_small.dcm")):
        ds = pydicom.dcmread(get_testdata_file(name))   # the pixel data stay as encoded
        ds.SeriesInstanceUID = f"{ds.SeriesInstanceUID}.{i + 1}"   # four series, not one
        paths.append(tmp_path / name)
        ds.save_as(paths[-1])
    runs = {"lean, fork server": ("1", "forkserver", "2"), "plain": ("0", "fork", "1")}
    outputs = {}
    for label, (lean_imports, start, jobs) in runs.items():
        proc = subprocess.run(
            [sys.executable, "-c", "from imgqa.cli.main import entry; entry()", "analyse",
             *map(str, paths), "--protocol", "generic.roi", "--jobs", jobs, "--format", "json"],
            capture_output=True, text=True, timeout=180,
            env=_env(IMGQA_DATA_DIR=str(tmp_path), IMGQA_START_METHOD=start,
                     **{OPT_OUT_VARIABLE: lean_imports}))
        assert proc.returncode == 0, proc.stderr
        outputs[label] = without_timestamps(json.loads(proc.stdout))
    assert outputs["lean, fork server"] == outputs["plain"]
    assert len(outputs["plain"]["results"]) == 4 and not outputs["plain"]["problems"]
