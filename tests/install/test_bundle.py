"""Issue 18: ``make installer`` → ``dist/imgqa/imgqa`` runs with ``env -i`` (slow, CI_SLOW=1).

The bundle prints its version, passes ``imgqa validate``, renders ``imgqa gui --screenshot``
offscreen with the demo phantoms, decodes compressed pixel data like the source tree does, and
never writes into its own folder (it may sit read-only in ``C:\\Program Files``).

``IMGQA_BUNDLE=path/to/imgqa`` tests a bundle built elsewhere; otherwise the fixture runs
``make installer`` (a few minutes).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from install_helpers import ROOT, clean_env, needs_ci_slow, run, snapshot

import imgqa
from imgqa.phantoms import demo_sets
from imgqa.validation import CHECKS

pytestmark = [pytest.mark.install, pytest.mark.slow, needs_ci_slow]

# pydicom's own (anonymised, public) test files, one per decoder the bundle must carry.
COMPRESSED = {
    "MR_small_RLE.dcm": "RLE Lossless (pylibjpeg-rle)",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS (pyjpegls)",
    "MR_small_jp2klossless.dcm": "JPEG 2000 (pylibjpeg-openjpeg)",
    "SC_rgb_jpeg_gdcm.dcm": "JPEG Lossless SV1 (GDCM)",
    "SC_rgb_jpeg_dcmtk.dcm": "JPEG Baseline (GDCM / Pillow)",
}


@pytest.fixture(scope="module")
def bundle() -> Path:
    given = os.environ.get("IMGQA_BUNDLE")
    if given:
        exe = Path(given)
    else:
        if shutil.which("make") is None:
            pytest.skip("make is not available to build the bundle (set IMGQA_BUNDLE)")
        subprocess.run(["make", "installer"], cwd=ROOT, check=True)
        exe = ROOT / "dist" / "imgqa" / ("imgqa.exe" if os.name == "nt" else "imgqa")
    assert exe.is_file(), f"no bundle at {exe}"
    return exe


def test_version_with_an_empty_environment(bundle, tmp_path):
    out = run([bundle, "--version"], env={}, cwd=tmp_path).stdout
    assert out.strip() == f"imgqa {imgqa.__version__}"


def test_validate_passes_with_an_empty_environment(bundle, tmp_path):
    report = json.loads(run([bundle, "validate", "--format", "json"], env={},
                            cwd=tmp_path).stdout)
    assert report["passed"] is True
    assert len(report["checks"]) == len(CHECKS)


def _measurements(result: dict) -> dict[str, float]:
    return {m["name"]: m["value"] for m in result["measurements"]}


@pytest.mark.parametrize("name", sorted(COMPRESSED))
def test_compressed_pixel_data_decodes_as_in_the_source_tree(bundle, tmp_path, name):
    from pydicom.data import get_testdata_file

    path = Path(get_testdata_file(name))
    out = run([bundle, "analyse", path, "--protocol", "generic.roi", "--format", "json"],
              env={}, cwd=tmp_path).stdout
    (frozen,) = json.loads(out)["results"]
    (here,) = imgqa.analyse(imgqa.load(path), protocol="generic.roi")
    expected = {m.name: m.value for m in here.measurements}
    assert _measurements(frozen) == pytest.approx(expected, rel=1e-9), COMPRESSED[name]


@pytest.fixture(scope="module")
def gui_run(bundle, tmp_path_factory):
    """Start the bundled GUI on the demo set and save the database from the CLI, recording
    what changed in the bundle folder meanwhile."""
    work = tmp_path_factory.mktemp("gui")
    home = work / "home"
    home.mkdir()
    folder = bundle.parent
    before = snapshot(folder)
    png = work / "window.png"
    gui = run([bundle, "gui", "--demo", "--screenshot", png], env=clean_env(home), cwd=work)
    demo = next(home.rglob("demo-phantoms"))
    saved = run([bundle, "analyse", demo / "nm_flood", "--save", "--create-equipment",
                 "--format", "json"], env=clean_env(home), cwd=work)
    exports = []
    for suffix in ("pdf", "xlsx"):  # reportlab's fonts and openpyxl made it into the bundle
        exports.append(work / f"qa.{suffix}")
        run([bundle, "export", exports[-1]], env=clean_env(home), cwd=work)
    return {"bundle": bundle, "home": home, "png": png, "gui": gui, "saved": saved, "demo": demo,
            "exports": exports, "before": before, "after": snapshot(folder)}


def test_worker_processes_start_in_the_bundle(gui_run, tmp_path, without_timestamps):
    # The window's workers start from a fork server, which re-runs the bundle's program with
    # multiprocessing's arguments (installer/imgqa_entry.py calls freeze_support for them);
    # IMGQA_START_METHOD makes the command line take that path too.
    demo, home = gui_run["demo"], gui_run["home"]
    args = [gui_run["bundle"], "analyse", demo, "--format", "json"]
    one = run([*args, "--jobs", "1"], env=clean_env(home), cwd=tmp_path)
    two = run([*args, "--jobs", "2"], env=clean_env(home, IMGQA_START_METHOD="forkserver"),
              cwd=tmp_path, timeout=300)
    assert len(json.loads(one.stdout)["results"]) >= 10
    assert without_timestamps(json.loads(two.stdout)) == without_timestamps(
        json.loads(one.stdout))
    # not the fall-back of a pool that could not start (the same JSON, in one process)
    assert "could not start worker processes" not in two.stderr


def test_gui_screenshot_renders_offscreen(gui_run):
    from PIL import Image

    with Image.open(gui_run["png"]) as im:
        assert im.width >= 800 and im.height >= 500
        colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
    # A blank or unpainted window has a handful of colours; the demo images and plots many.
    assert colours is None or len(colours) > 1000


def test_demo_set_is_generated_into_the_user_data_folder(gui_run):
    demo = gui_run["demo"]
    assert demo.is_relative_to(gui_run["home"])
    assert sorted(p.name for p in demo.iterdir() if p.is_dir()) == sorted(demo_sets())


def test_database_and_settings_live_in_the_user_data_folder(gui_run):
    home = gui_run["home"]
    (db,) = home.rglob("imgqa.sqlite3")
    assert db.parent == gui_run["demo"].parent
    statuses = {m["status"] for r in json.loads(gui_run["saved"].stdout)["results"]
                for m in r["measurements"]}
    assert statuses & {"OK", "TOLERANCE", "ACTION"}  # packaged tolerances and migrations


def test_qa_records_export_to_pdf_and_excel(gui_run):
    pdf, xlsx = gui_run["exports"]
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert xlsx.read_bytes()[:2] == b"PK"  # an Office Open XML zip
    assert pdf.stat().st_size > 2000 and xlsx.stat().st_size > 2000


def test_bundle_never_writes_into_its_own_folder(gui_run):
    before, after = gui_run["before"], gui_run["after"]
    added = sorted(set(after) - set(before))
    changed = sorted(k for k in before if k in after and before[k] != after[k])
    assert not added and not changed, f"written into the bundle: {added + changed}"
