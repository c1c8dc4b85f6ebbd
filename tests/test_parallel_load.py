"""Issue 17, parallel batch: headers read in worker processes (`imgqa.parallel.load_parallel`)
give exactly what `imgqa.io.load` gives (series, their order, problems, skipped files), the
units are dispatched longest first with results back in input order, and the main process
imports the kernels of the modalities it has seen so the analysis workers inherit them.

No timed assertions: the speed-up is measured in benchmarks/bench_batch.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from imgqa import parallel
from imgqa.io import load
from imgqa.parallel import analyse_parallel, load_parallel
from imgqa.phantoms import make_demo
from imgqa.phantoms.dose import write_dose_sr
from imgqa.protocols._lazy import kernel_modules
from imgqa.protocols.base import analyse_batch, get_protocol

SRC = Path(__file__).resolve().parents[1] / "src"


def _facts(series_list) -> tuple:
    """Everything a `SeriesList` tells: per series its header, geometry, frames (source, frame,
    rescale, position), flags; then the problems and skipped files, all in order."""
    per_series = [(s.header, s.geometry.pixel_spacing_mm, s.geometry.orientation,
                   s.geometry.slice_spacing_mm, s.sources, s.flags,
                   [(f.source, f.frame_index, f.slope, f.intercept, f.position, f.dataset_index)
                    for f in s.frames]) for s in series_list]
    return per_series, list(series_list.problems), list(series_list.skipped)


@pytest.fixture(scope="module")
def mixed_dir(tmp_path_factory) -> Path:
    """The demo phantoms plus what a real folder holds: a zip of some of them, a copy of a
    file (duplicate image), a file that is not DICOM, a truncated image and a dose report."""
    out = tmp_path_factory.mktemp("mixed")
    make_demo(out / "demo")
    files = sorted((out / "demo").rglob("*.dcm"))
    with zipfile.ZipFile(out / "some.zip", "w") as zf:
        for p in files[:3]:
            zf.write(p, f"in_zip/{p.name}")
    shutil.copy(files[0], out / "copy_of_first.dcm")
    (out / "notes.dcm").write_text("not an image")
    data = files[-1].read_bytes()
    (out / "cut_short.dcm").write_bytes(data[:400])
    write_dose_sr(out, "CT")
    return out


@pytest.fixture
def readers_on_fork(monkeypatch) -> None:
    """Headers read in forked worker processes, even for this small folder."""
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_FILES", 1)
    monkeypatch.setattr(parallel, "START_METHOD", "fork")


def test_headers_read_in_workers_give_the_series_and_problems_of_load(mixed_dir, readers_on_fork):
    serial = load(mixed_dir)
    assert len(serial) >= 10 and serial.problems and serial.skipped  # the test has teeth
    assert any(s.modality == "SR" for s in serial)  # the dose report (read by this process)
    for jobs in (2, 3):
        assert _facts(load_parallel(mixed_dir, jobs)) == _facts(serial)


def test_a_reading_worker_that_dies_costs_nothing(mixed_dir, monkeypatch, readers_on_fork):
    # The chunks a dead worker took with it are read by the main process: same outcome.
    from imgqa.io import dicom

    expected = _facts(load(mixed_dir))
    real, main_pid = dicom.read_source, os.getpid()
    died: list[str] = []

    def dying(src):  # inherited by the forked readers (which import read_source at call time)
        if os.getpid() != main_pid and "nm_flood" in src.name:
            os._exit(70)
        if os.getpid() == main_pid:
            died.append(src.name)  # read again here
        return real(src)

    monkeypatch.setattr(dicom, "read_source", dying)
    assert _facts(load_parallel(mixed_dir, 2)) == expected
    assert any("nm_flood" in name for name in died)  # a worker did die, its files were re-read


def test_this_process_reads_files_too_once_it_is_idle(mixed_dir, monkeypatch, readers_on_fork):
    # With slow readers, this process reads the files of the last chunks itself once it has
    # imported the kernels; the result is still exactly that of `load`.
    import time

    from imgqa.io import dicom

    expected = _facts(load(mixed_dir))
    real, main_pid = dicom.read_source, os.getpid()
    here: list[str] = []

    def slow_in_readers(src):  # inherited by the forked readers
        if os.getpid() != main_pid:
            time.sleep(0.05)
        elif src.member is None:  # zip members are always read here
            here.append(src.name)
        return real(src)

    monkeypatch.setattr(dicom, "read_source", slow_in_readers)
    assert _facts(load_parallel(mixed_dir, 2)) == expected
    assert here and len(here) == len(set(here))  # some files read here, none twice


def test_one_job_or_few_files_read_in_this_process(mixed_dir, monkeypatch):
    def no_pool(*a, **k):
        raise AssertionError("no worker should start")

    monkeypatch.setattr(parallel, "_read_in_workers", no_pool)
    serial = _facts(load(mixed_dir))
    assert _facts(load_parallel(mixed_dir, 1)) == serial
    monkeypatch.setattr(parallel, "_MIN_PARALLEL_FILES", 10_000)
    assert _facts(load_parallel([mixed_dir], 2)) == serial


def test_headers_read_in_workers_give_the_series_of_load_on_the_shared_data(shared_data,
                                                                            monkeypatch):
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    serial = load(shared_data)
    assert len(serial) > 50
    assert _facts(load_parallel(shared_data, 2)) == _facts(serial)


def test_units_are_dispatched_longest_first_and_results_come_back_in_input_order(
        mixed_dir, monkeypatch):
    monkeypatch.setattr(parallel, "START_METHOD", "fork")
    series = [s for s in load(mixed_dir) if s.modality != "SR"]
    costs = [parallel._cost([s]) for s in series]
    assert len(set(costs)) > 2  # different sizes, so the dispatch order differs from input order
    submitted: list[int] = []
    from concurrent.futures import ProcessPoolExecutor
    real_submit = ProcessPoolExecutor.submit

    def submit(self, fn, *args, **kwargs):
        if fn is parallel._worker_forked:
            submitted.append(args[0])
        return real_submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    results, problems = analyse_parallel(series, jobs=2)
    assert [costs[i] for i in submitted] == sorted(costs, reverse=True)
    one_results, one_problems = analyse_batch(series)
    assert [r.to_dict() | {"created": None} for r in results] == \
        [r.to_dict() | {"created": None} for r in one_results]
    assert [p.to_dict() for p in problems] == [p.to_dict() for p in one_problems]


def test_kernel_modules_names_the_lazily_bound_kernels_of_a_test():
    names = kernel_modules(get_protocol("mr.acr").function)
    assert "imgqa.analysis.acr_mri.geometry" in names  # a lazy_module
    assert "imgqa.analysis.acr_mri.piu" in names  # a lazy function
    assert len(names) == len(set(names))
    assert "imgqa.analysis.nema_uniformity" in kernel_modules(get_protocol("nm.uniformity")
                                                              .function)


def _loaded_after_parallel_read(folder: Path) -> set[str]:
    code = ("import json, sys\n"
            "from imgqa import parallel\n"
            "parallel._MIN_PARALLEL_FILES = 1\n"
            f"parallel.load_parallel({str(folder)!r}, 2)\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.startswith('imgqa.analysis'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(SRC)}, check=True, timeout=300)
    return set(json.loads(out.stdout))


def test_the_main_process_imports_the_kernels_of_the_modalities_it_reads(mixed_dir, tmp_path):
    nm_and_ct = tmp_path / "nm_ct"
    for name in ("nm_flood", "ct_water"):
        shutil.copytree(mixed_dir / "demo" / name, nm_and_ct / name)
    loaded = _loaded_after_parallel_read(nm_and_ct)
    assert "imgqa.analysis.nema_uniformity" in loaded  # an NM test's kernel
    assert "imgqa.analysis.ct_phantom" in loaded  # a CT test's kernel
    assert "imgqa.analysis.mr_snr" not in loaded  # no MR image: no MR kernel
    # one series only: it will be analysed in this process, which imports just what it runs
    loaded_one = _loaded_after_parallel_read(mixed_dir / "demo" / "nm_flood")
    assert "imgqa.analysis.nema_uniformity" not in loaded_one


def test_ctrl_c_while_workers_read_headers_stops_them_and_raises(
        mixed_dir, monkeypatch, readers_on_fork):
    # Ctrl-C (SIGINT, here sent by an alarm: no thread, so the pool may still fork) while the
    # readers are busy: KeyboardInterrupt in the caller (the CLI turns it into exit 130) and
    # no reader left running.
    import multiprocessing
    import signal
    import time

    from imgqa.io import dicom

    real, main_pid = dicom.read_source, os.getpid()

    def slow(src):  # inherited by the forked readers
        if os.getpid() != main_pid:
            time.sleep(60)
        return real(src)

    monkeypatch.setattr(dicom, "read_source", slow)
    old = signal.signal(signal.SIGALRM, lambda *a: os.kill(os.getpid(), signal.SIGINT))
    try:
        signal.alarm(2)
        with pytest.raises(KeyboardInterrupt):
            load_parallel(mixed_dir, 2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    assert multiprocessing.active_children() == []


def test_the_start_method_can_be_chosen_from_the_environment(monkeypatch):
    # IMGQA_START_METHOD (to check the fork server from the command line, e.g. in the bundle);
    # anything else leaves the automatic choice
    monkeypatch.setattr(parallel, "START_METHOD", None)
    for method in ("forkserver", "spawn", "fork"):
        monkeypatch.setenv(parallel.START_METHOD_ENV, method)
        assert parallel._start_method() == method
    monkeypatch.delenv(parallel.START_METHOD_ENV)
    automatic = parallel._start_method()
    monkeypatch.setenv(parallel.START_METHOD_ENV, "bogus")
    assert parallel._start_method() == automatic
