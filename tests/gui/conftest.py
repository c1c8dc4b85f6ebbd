"""Fixtures for the GUI tests: small phantom folders and a main window on a temporary database.

The autouse fixture of tests/conftest.py already points IMGQA_DATA_DIR (QSettings ini file,
default database, session index) at a temporary folder.
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from imgqa.phantoms.writer import write_series  # noqa: E402

TIMEOUT_MS = 30000


def write_water_day(folder: Path, day: int, water_hu: float = 0.0) -> Path:
    """A one-slice CT water phantom acquired on 2026-01-<day>, 128² at 1.8 mm."""
    from imgqa.phantoms.ct import water_phantom

    images, _truth = water_phantom(size=128, pixel_mm=1.8, noise_sd=6.0, n_slices=1,
                                   water_hu=water_hu, seed=day)
    write_series(images, folder, modality="CT", description="Water phantom daily QC",
                 pixel_spacing_mm=1.8, slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                 signed=False, acquired=datetime(2026, 1, day, 8, 0, 0), prefix=f"day{day}",
                 extra_tags={"KVP": 120, "ConvolutionKernel": "STANDARD"})
    return folder


def add_bad_file(folder: Path) -> Path:
    """Copy the shared not-DICOM PNG (or write a PNG signature when it is absent)."""
    src = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bad" / "not_dicom.png"
    target = folder / "not_dicom.png"
    if src.exists():
        shutil.copy(src, target)
    else:
        target.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return target


@pytest.fixture
def day_folders(tmp_path) -> list[Path]:
    return [write_water_day(tmp_path / f"day{d}", d, water_hu=float(d - 2)) for d in (1, 2, 3)]


@pytest.fixture
def window(qtbot, tmp_path):
    from imgqa.gui.main_window import MainWindow

    w = MainWindow(db_url=str(tmp_path / "qc.sqlite3"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.db.connecting, timeout=TIMEOUT_MS)
    assert w.db.available, w.db.reason
    yield w
    w.close()


def open_and_wait(qtbot, window, paths) -> None:
    with qtbot.waitSignal(window.analysis_finished, timeout=TIMEOUT_MS):
        window.open_paths([str(p) for p in paths])
    qtbot.waitUntil(lambda: not window.busy, timeout=TIMEOUT_MS)
