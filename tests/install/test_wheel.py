"""Issue 18: the wheel installs into a clean venv and passes ``imgqa validate`` (slow, CI_SLOW=1).

Built with pip's PEP 517 front end and the project's own backend (the same wheel
``python -m build --wheel`` makes), installed into a fresh venv from the package index, and run
from a folder outside the checkout with a bare environment, so nothing of ``src/`` can leak in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from install_helpers import ROOT, clean_env, needs_ci_slow, run, snapshot, source_package_files

import imgqa
from imgqa.validation import CHECKS

pytestmark = [pytest.mark.install, pytest.mark.slow, needs_ci_slow]

BIN = "Scripts" if os.name == "nt" else "bin"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out),
                    str(ROOT)], check=True, cwd=out)
    (whl,) = out.glob("imgqa-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv (no system site-packages) with the wheel and its dependencies."""
    folder = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
    py = folder / BIN / "python"
    subprocess.run([str(py), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   cwd=folder)
    return folder


def test_wheel_holds_every_file_of_the_package(wheel):
    """Package data complete: tolerance TOMLs, alembic.ini, every migration, py.typed."""
    with zipfile.ZipFile(wheel) as z:
        in_wheel = {n for n in z.namelist() if n.startswith("imgqa/")}
    missing = sorted(source_package_files() - in_wheel)
    assert not missing, f"not in the wheel: {missing}"
    for needed in ("imgqa/store/alembic.ini", "imgqa/store/migrations/env.py",
                   "imgqa/resources/tolerances/ct.toml"):
        assert needed in in_wheel


def test_installed_imgqa_comes_from_the_venv(venv, tmp_path):
    out = run([venv / BIN / "python", "-c", "import imgqa; print(imgqa.__file__)"],
              env=clean_env(), cwd=tmp_path).stdout.strip()
    assert Path(out).resolve().is_relative_to(venv.resolve())


def test_version(venv, tmp_path):
    out = run([venv / BIN / "imgqa", "--version"], env=clean_env(), cwd=tmp_path).stdout
    assert out.strip() == f"imgqa {imgqa.__version__}"


def test_validate_passes_every_check(venv, tmp_path):
    out = run([venv / BIN / "imgqa", "validate", "--format", "json"], env=clean_env(),
              cwd=tmp_path).stdout
    report = json.loads(out)
    assert report["passed"] is True
    assert len(report["checks"]) == len(CHECKS)
    assert all(c["passed"] for c in report["checks"])


def test_store_and_tolerances_work_from_the_user_data_folder(venv, tmp_path):
    """Migrations and default tolerances load from the wheel; the database goes to HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home)
    imgqa_exe = venv / BIN / "imgqa"
    site = Path(run([venv / BIN / "python", "-c", "import imgqa,os;"
                     "print(os.path.dirname(imgqa.__file__))"], env=env, cwd=tmp_path).stdout
                .strip())
    before = snapshot(site, skip_pycache=True)
    run([imgqa_exe, "phantoms", "make", tmp_path / "ph", "--only", "nm_flood"], env=env,
        cwd=tmp_path)
    out = run([imgqa_exe, "analyse", tmp_path / "ph" / "nm_flood", "--save",
               "--create-equipment", "--format", "json"], env=env, cwd=tmp_path).stdout
    statuses = {m["status"] for r in json.loads(out)["results"] for m in r["measurements"]}
    assert statuses & {"OK", "TOLERANCE", "ACTION"}, statuses  # judged by packaged tolerances
    defaults = run([imgqa_exe, "tolerance", "defaults"], env=env, cwd=tmp_path).stdout
    for toml in ("ct", "mr", "nm", "pet", "xray"):  # one packaged TOML per area
        assert f"\n{toml}." in defaults
    info = run([imgqa_exe, "db", "info"], env=env, cwd=tmp_path).stdout
    dbs = list(home.rglob("imgqa.sqlite3"))
    assert len(dbs) == 1 and str(dbs[0]) in info
    assert snapshot(site, skip_pycache=True) == before  # nothing written into the install
