"""PET: imgqa ``pet.nema_iq`` on a clinical-size volume and ``pet.cross_calibration`` on the
real water phantom, each including reading the DICOM files.

No peer exists: pylinac and hazen have no PET tests, and imageQCpy (the only open tool with
PET tests) is a GUI program that does not run headless here. The issue's target is absolute:
pet.nema_iq on a 400×400×36 volume, with reading, under 1 s on this machine. ``ratio`` is
therefore imgqa's time over that 1 s target (< 1 meets it); ``reference_s`` is empty.

Timings are the median of repeats; each repeat reads the files afresh (``imgqa.analyse`` on the
folder: load + decode + analysis + Result with input hashes).

Run: ``.venv/bin/python benchmarks/bench_pet.py``.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REPEATS = 7
TARGET_S = 1.0


def _median(fn, repeats: int = REPEATS, clock=time.perf_counter) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return statistics.median(times)


def _write_iq(folder: Path) -> Path:
    from imgqa.phantoms.pet import nema_iq, pet_tags, write_pet_series

    vol, _ = nema_iq((36, 400, 400), 2.04, 3.27, shift_mm=(-20.0, 15.0, 0.0), tilt_deg=2.0,
                     rotation_deg=8.0, noise_fraction=0.1, seed=1)
    scan = datetime(2026, 1, 5, 9, 0)
    write_pet_series(vol, folder, pixel_mm=2.04, slice_mm=3.27, description="NEMA IQ",
                     scan_start=scan, tags=pet_tags(injected_bq=None, injected_at=None,
                                                    scan_start=scan, weight_kg=None))
    return folder


def run() -> list[dict]:
    import imgqa

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = _write_iq(Path(tmp) / "iq")
        t_all = _median(lambda: imgqa.analyse(folder, "pet.nema_iq"))
        t_load = _median(lambda: imgqa.load(folder)[0].stack())
        # CPU time of this process: what the wall time would be on an idle machine (the
        # kernels are single-threaded); the wall time suffers when other jobs share the cores.
        t_cpu = _median(lambda: imgqa.analyse(folder, "pet.nema_iq"), clock=time.process_time)
        rows.append({"name": "pet.nema_iq 400x400x36 (digital phantom)", "imgqa_s": t_all,
                     "reference_s": None, "ratio": t_all / TARGET_S, "cpu_s": t_cpu,
                     "notes": f"incl. reading 36 files ({t_load:.3f} s of it); CPU "
                              f"{t_cpu:.3f} s; ratio = wall time / {TARGET_S:g} s target; no "
                              "peer tool has PET"})
    water = SHARED / "pet" / "imageqc_waterphantom"
    if water.is_dir():
        t = _median(lambda: imgqa.analyse(water, "pet.cross_calibration"))
        rows.append({"name": "pet.cross_calibration imageqc_waterphantom (5 x 200²)",
                     "imgqa_s": t, "reference_s": None, "ratio": None,
                     "notes": "incl. reading; imageQCpy is GUI-only here, not timed"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
