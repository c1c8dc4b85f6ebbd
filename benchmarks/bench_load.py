"""Load throughput: `imgqa.load` + decoding every image vs plain ``pydicom.dcmread().pixel_array``.

Both sides read the same files from disk and decode every image once; times are the median of
repeats (files are in the OS page cache after the first warm-up round, so this measures parsing
and decoding, not the disk). imgqa does more per file (validation, grouping into series,
geometry, rescale facts), so the target is >= 90 % of pydicom's throughput (issue 2).

Sets:
* ``ct_revolution`` — /work/shared/data/ct/wire_mtf_revolution, 32 CT slices 512², uncompressed.
* ``nm_flood_1024`` — a synthetic 1024² NM flood (4 files), uncompressed.
* ``ct_rle`` / ``ct_jpegls`` — 32 synthetic CT slices 512² compressed with RLE / JPEG-LS, to time
  the compressed path (pydicom's decoders on both sides).

Run: ``.venv/bin/python benchmarks/bench_load.py`` (or ``make bench``).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REPEATS = 9


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _time_pydicom(files: list[Path], rescale: bool = False) -> float:
    """Plain pydicom: read each file and decode its pixels (optionally + Rescale to physical)."""
    import pydicom
    from pydicom.pixels import apply_rescale

    t0 = time.perf_counter()
    for f in files:
        ds = pydicom.dcmread(f)
        arr = ds.pixel_array
        if rescale:
            arr = apply_rescale(arr, ds)
        assert arr.size
    return time.perf_counter() - t0


def _time_imgqa(folder: Path, use_pixels: bool = False) -> tuple[float, int]:
    import imgqa

    t0 = time.perf_counter()
    series = imgqa.load(folder)
    n = 0
    for s in series:
        for i in range(len(s)):
            arr = s.pixels(i) if use_pixels else s.raw(i)
            assert arr.size
            n += 1
    return time.perf_counter() - t0, n


def _bench_folder(name: str, folder: Path, repeats: int = REPEATS) -> list[dict]:
    """Median times of both sides; the runs alternate so that load from other processes on a
    shared machine hits both sides alike."""
    files = _files(folder)
    mb = sum(f.stat().st_size for f in files) / 1e6
    rows = []
    for label, use_pixels in (("raw", False), ("pixels", True)):
        # raw: imgqa series.raw(i) vs pydicom pixel_array (stored values, both native dtype).
        # pixels: imgqa series.pixels(i) (float32 in physical units, kept in the LRU cache) vs
        # pydicom pixel_array + apply_rescale (float64 when a rescale applies, dropped at once).
        _time_pydicom(files, rescale=use_pixels)  # warm-up: imports, page cache
        _time_imgqa(folder, use_pixels)
        ref_t, our_t, n = [], [], 0
        for _ in range(repeats):
            ref_t.append(_time_pydicom(files, rescale=use_pixels))
            t, n = _time_imgqa(folder, use_pixels)
            our_t.append(t)
        ref, ours = statistics.median(ref_t), statistics.median(our_t)
        rows.append({
            "name": f"{name} ({label})",
            "imgqa_s": ours,
            "reference_s": ref,
            "ratio": ref / ours,  # throughput ratio: imgqa / pydicom (>= 0.9 is the target)
            "images": n,
            "imgqa_mb_s": mb / ours,
            "pydicom_mb_s": mb / ref,
            "imgqa_images_s": n / ours,
            "pydicom_images_s": len(files) / ref,
            "notes": f"{len(files)} files, {mb:.1f} MB; ratio = imgqa throughput / pydicom's",
        })
    return rows


def _make_synthetic(tmp: Path) -> dict[str, Path]:
    from pydicom import dcmread
    from pydicom.uid import JPEGLSLossless, RLELossless

    from imgqa.phantoms.writer import write_series

    rng = np.random.default_rng(0)
    out: dict[str, Path] = {}
    flood = rng.poisson(200.0, size=(4, 1024, 1024)).astype(np.float64)
    write_series(flood, tmp / "nm_flood_1024", modality="NM", description="flood",
                 pixel_spacing_mm=0.6)
    out["nm_flood_1024"] = tmp / "nm_flood_1024"
    yy, xx = np.mgrid[:512, :512]
    body = np.where((yy - 256) ** 2 + (xx - 256) ** 2 < 200 ** 2, 0.0, -1000.0)
    ct = body[None] + rng.normal(0, 10, size=(32, 512, 512))
    src = tmp / "ct_src"
    paths = write_series(ct, src, modality="CT", description="water", pixel_spacing_mm=0.5,
                         slice_thickness_mm=2.5, rescale_intercept=-1024.0)
    for name, uid in (("ct_rle", RLELossless), ("ct_jpegls", JPEGLSLossless)):
        dest = tmp / name
        dest.mkdir()
        for p in paths:
            ds = dcmread(p)
            try:
                ds.compress(uid)
            except Exception as exc:  # noqa: BLE001 - encoder missing: skip this set
                print(f"skipping {name}: {exc}", file=sys.stderr)
                break
            ds.save_as(dest / p.name, enforce_file_format=True)
        else:
            out[name] = dest
    return out


def run() -> list[dict]:
    rows: list[dict] = []
    revolution = SHARED / "ct" / "wire_mtf_revolution"
    if revolution.is_dir():
        rows += _bench_folder("ct_revolution", revolution)
    with tempfile.TemporaryDirectory() as tmp:
        for name, folder in _make_synthetic(Path(tmp)).items():
            rows += _bench_folder(name, folder)
    return rows


def main() -> None:
    rows = run()
    head = (f"{'set':28s} {'imgqa s':>8s} {'pydicom s':>9s} {'ratio':>6s} "
            f"{'imgqa MB/s':>10s} {'pyd MB/s':>9s} {'imgqa img/s':>11s} {'pyd img/s':>9s}")
    print(head)
    for r in rows:
        print(f"{r['name']:28s} {r['imgqa_s']:8.3f} {r['reference_s']:9.3f} {r['ratio']:6.2f} "
              f"{r['imgqa_mb_s']:10.1f} {r['pydicom_mb_s']:9.1f} {r['imgqa_images_s']:11.1f} "
              f"{r['pydicom_images_s']:9.1f}")


if __name__ == "__main__":
    main()
