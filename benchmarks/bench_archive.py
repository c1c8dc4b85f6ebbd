"""Image archive benchmark (issue 12, images kept with the record): what archiving adds to a
save, and what checking costs in ``imgqa db verify``.

The real 11-slice ACR MRI series (../shared/data/mr/acr/hazen_Siemens, 2.6 MB; a generated
CT water series when it is absent) is archived with `archive_results` into an empty folder
(first copy: read, SHA-256, write, fsync, link), then again (every file already there: hashed
and reused), then checked with `check_files`. The reference is a plain ``shutil.copy2`` of the
same files without fsync (the cheapest copy possible, not crash-safe), so the ratio is the cost
of hashing and durability. No reference QC tool archives images, so there is no peer value.

Run: ``PYTHONPATH=src .venv/bin/python benchmarks/bench_archive.py``.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from imgqa.io.image_archive import archive_results, check_files

ROOT = Path(__file__).resolve().parents[1]
ACR = ROOT.parent / "shared" / "data" / "mr" / "acr" / "hazen_Siemens"
REPEATS = 5


def _series(tmp: Path) -> list[Path]:
    if ACR.is_dir():
        return sorted(ACR.glob("*.dcm"))
    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series

    images, _ = water_phantom(size=256, pixel_mm=0.9, noise_sd=5.0, n_slices=11, seed=1)
    return sorted(write_series(images, tmp / "ct", modality="CT", description="water",
                               pixel_spacing_mm=0.9, slice_thickness_mm=5.0,
                               rescale_intercept=-1024.0))


def _result(files: list[Path]) -> SimpleNamespace:
    return SimpleNamespace(series={"series_uid": "1.2.826.0.1.3680043.9.7", "acquired":
                                   "2026-12-04T08:00:00"},
                           inputs=[SimpleNamespace(sop_instance_uid=f"1.2.826.0.1.9.{i}",
                                                   source=str(f))
                                   for i, f in enumerate(files)])


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        files = _series(tmp)
        mb = sum(f.stat().st_size for f in files) / 1e6
        first, again, check, plain = [], [], [], []
        for k in range(REPEATS):
            root = tmp / f"share{k}"
            root.mkdir()
            t0 = time.perf_counter()
            kept = archive_results(root, "MR 1", [_result(files)])
            first.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert archive_results(root, "MR 1", [_result(files)]) == kept
            again.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert all(c.state == "ok" for c in check_files(root, kept))
            check.append(time.perf_counter() - t0)
            dst = tmp / f"plain{k}"
            dst.mkdir()
            t0 = time.perf_counter()
            for f in files:
                shutil.copy2(f, dst / f.name)
            plain.append(time.perf_counter() - t0)
    med = statistics.median
    note = f"{len(files)} files, {mb:.1f} MB, median of {REPEATS}"
    return [
        {"name": "archive a series (first copy, fsync)", "imgqa_s": med(first),
         "reference_s": med(plain), "ratio": med(first) / med(plain),
         "notes": f"{note}; reference: shutil.copy2 without fsync"},
        {"name": "archive the same series again (reused)", "imgqa_s": med(again),
         "reference_s": None, "ratio": None, "notes": note},
        {"name": "check archived files (db verify)", "imgqa_s": med(check),
         "reference_s": None, "ratio": None, "notes": note},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
    sys.exit(0)
