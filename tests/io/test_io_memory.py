"""Holding a 500-slice 512² CT series costs at most ~1.5x its raw pixel bytes (issue 2).

Measured with tracemalloc (numpy registers its buffers with it): the loaded object graph
(headers, frames, geometry), then the peak and the final footprint after every image has been
decoded once through `pixels` (which keeps recent images in the bounded LRU cache).
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

import imgqa
from imgqa.phantoms.writer import write_series

N_SLICES, SIZE = 500, 512


def _write_big_ct(folder: Path) -> None:
    """500 files from one template dataset: only position, UIDs and a few pixels change."""
    (first,) = write_series(np.zeros((SIZE, SIZE)), folder / "tmpl", modality="CT",
                            description="memory", pixel_spacing_mm=0.7, slice_thickness_mm=1.0,
                            rescale_intercept=-1024)
    ds = pydicom.dcmread(first)
    first.unlink()
    base = np.random.default_rng(0).integers(0, 2000, size=(SIZE, SIZE), dtype=np.int16)
    out = folder / "ct"
    out.mkdir()
    for k in range(N_SLICES):
        sop = generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = sop
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [-179.0, -179.0, float(k)]
        ds.SliceLocation = float(k)
        base[0, 0] = k  # each slice differs, so hashes differ
        ds.PixelData = base.tobytes()
        ds.save_as(out / f"{k:04d}.dcm", enforce_file_format=True)


def test_500_slice_ct_costs_at_most_1p5x_raw(tmp_path):
    _write_big_ct(tmp_path)
    raw_bytes = N_SLICES * SIZE * SIZE * 2
    gc.collect()
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        (series,) = imgqa.load(tmp_path / "ct")
        gc.collect()
        loaded, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = 0.0
        for i in range(len(series)):
            total += float(series.pixels(i)[0, 0])
        gc.collect()
        after, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(series) == N_SLICES and series.raw_nbytes == raw_bytes
    graph, held, peak_ratio = (loaded - base), (after - base), (peak - base) / raw_bytes
    print(f"\nloaded graph {graph / 1e6:.1f} MB, after decoding all {held / 1e6:.1f} MB, "
          f"peak {(peak - base) / 1e6:.1f} MB; raw {raw_bytes / 1e6:.1f} MB -> "
          f"held/raw {held / raw_bytes:.3f}, peak/raw {peak_ratio:.3f}")
    assert held <= 1.5 * raw_bytes
    assert peak - base <= 1.5 * raw_bytes
    # The cache is bounded: it did not keep every decoded image.
    assert held < 0.5 * raw_bytes
    assert total == pytest.approx(sum(range(N_SLICES)) - 1024.0 * N_SLICES)
