"""Damaged DICOM bytes never escape as anything but an `ImgqaError` (issue 2, "Done when").

Hypothesis truncates files and flips bits (mostly in the header, where a flip changes the
structure) of a small synthetic CT, a real MR slice, an RLE-compressed MR and a JPEG 2000
NM file; each result is loaded and every image decoded.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imgqa
from imgqa.errors import ImgqaError
from imgqa.phantoms.writer import write_series

_counter = itertools.count()


# Filled once per module; kept out of the test arguments so Hypothesis does not print 500 kB.
_ORIGINALS: dict[str, bytes] = {}


@pytest.fixture(scope="module", autouse=True)
def _originals(tmp_path_factory, shared_data) -> None:
    from pydicom.data import get_testdata_file

    tmp = tmp_path_factory.mktemp("fuzz_src")
    (ct,) = write_series(np.arange(12 * 10, dtype=float).reshape(12, 10), tmp, modality="CT",
                         description="fuzz", pixel_spacing_mm=0.5, rescale_intercept=-1024)
    real = shared_data / "mr" / "snr_pairs" / "hazen_GE" / "IM-0003-0001.dcm"
    _ORIGINALS.update({
        "synthetic_ct": ct.read_bytes(),
        "real_mr": real.read_bytes(),
        "rle": Path(get_testdata_file("MR_small_RLE.dcm")).read_bytes(),
        "j2k_nm": Path(get_testdata_file("JPEG2000.dcm")).read_bytes(),
    })


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _load_and_decode(data: bytes, workdir: Path) -> None:
    path = workdir / f"case_{next(_counter)}.dcm"
    path.write_bytes(data)
    try:
        loaded = imgqa.load(path)  # never raises: problems are collected
        for p in loaded.problems:
            assert p.error and p.kind.endswith("Error")
        for s in loaded:
            for i in range(len(s)):
                try:
                    s.pixels(i)
                    s.pixel_sha256(i)
                except ImgqaError as exc:
                    assert str(exc)
    finally:
        path.unlink(missing_ok=True)


_NAMES = ["synthetic_ct", "real_mr", "rle", "j2k_nm"]
_FUZZ = settings(max_examples=75, deadline=None, database=None, derandomize=True,
                 suppress_health_check=[HealthCheck.too_slow])


@_FUZZ
@given(which=st.sampled_from(_NAMES), fraction=st.floats(0.0, 1.0))
def test_truncated_bytes_only_raise_imgqa_errors(workdir, which, fraction):
    data = _ORIGINALS[which]
    _load_and_decode(data[: int(len(data) * fraction)], workdir)


@_FUZZ
@given(which=st.sampled_from(_NAMES),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 7), st.booleans()),
                      min_size=1, max_size=6))
def test_bit_flipped_bytes_only_raise_imgqa_errors(workdir, which, flips):
    data = bytearray(_ORIGINALS[which])
    header_end = data.rfind(b"\xe0\x7f\x10\x00")  # (7FE0,0010): most flips land before it
    header_end = header_end if header_end > 0 else len(data)
    for where, bit, in_header in flips:
        span = header_end if in_header else len(data)
        data[int(where * (span - 1))] ^= 1 << bit
    _load_and_decode(bytes(data), workdir)
