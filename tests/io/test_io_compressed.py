"""Compressed pixel data decodes with the bundled (Apache-compatible) decoders.

pydicom's own test files are used, compared with their uncompressed original where pydicom ships
one; the lossy cases we make here from a known image so the error can be bounded.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.encaps import encapsulate
from pydicom.uid import (
    JPEG2000,
    DeflatedExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
    JPEGExtended12Bit,
    JPEGLosslessSV1,
    JPEGLSLossless,
    JPEGLSNearLossless,
    RLELossless,
)

import imgqa

LUMA = np.array([0.299, 0.587, 0.114])


def _load_one(path) -> imgqa.ImageSeries:
    loaded = imgqa.load(path)
    assert not loaded.problems, loaded.problems
    assert len(loaded) == 1
    return loaded[0]


def _ts(path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID)


@pytest.mark.parametrize("name, tsyntax", [
    ("MR_small_RLE.dcm", RLELossless),
    ("MR_small_jpeg_ls_lossless.dcm", JPEGLSLossless),
    ("MR_small_jp2klossless.dcm", JPEG2000Lossless),
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
])
def test_lossless_variants_equal_the_uncompressed_reference(name, tsyntax):
    path = get_testdata_file(name)
    assert _ts(path) == tsyntax
    ref = pydicom.dcmread(get_testdata_file("MR_small.dcm")).pixel_array
    s = _load_one(path)
    np.testing.assert_array_equal(s.raw(0), ref)
    assert s.raw(0).dtype == ref.dtype


def test_jpeg_lossless_sv1_equals_rle_of_the_same_rgb_image():
    jpeg = get_testdata_file("SC_rgb_jpeg_gdcm.dcm")
    assert _ts(jpeg) == JPEGLosslessSV1
    rgb = pydicom.dcmread(get_testdata_file("SC_rgb_rle.dcm")).pixel_array
    s = _load_one(jpeg)
    np.testing.assert_allclose(s.pixels(0), rgb @ LUMA, rtol=1e-5, atol=1e-3)


def test_jpeg_baseline_colour_close_to_lossless_original():
    jpeg = get_testdata_file("SC_rgb_jpeg_dcmtk.dcm")
    assert _ts(jpeg) == JPEGBaseline8Bit
    rgb = pydicom.dcmread(get_testdata_file("SC_rgb_rle.dcm")).pixel_array
    grey = _load_one(jpeg).pixels(0)
    assert np.abs(grey - rgb @ LUMA).mean() < 3.0  # lossy, 8-bit grey levels


def _smooth_8bit() -> np.ndarray:
    yy, xx = np.mgrid[:64, :64]
    return (120 + 80 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.uint8)


def _wrap_jpeg(tmp_path: Path, tsyntax: str) -> tuple[Path, np.ndarray]:
    """An 8-bit grey image JPEG-encoded by Pillow, in a DICOM file with `tsyntax`."""
    from PIL import Image

    img = _smooth_8bit()
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ds.Rows, ds.Columns = img.shape
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation = 7, 0
    ds.file_meta.TransferSyntaxUID = tsyntax
    ds.PixelData = encapsulate([buf.getvalue()])
    ds["PixelData"].VR = "OB"
    path = tmp_path / f"jpeg_{tsyntax}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, img


@pytest.mark.parametrize("tsyntax", [JPEGBaseline8Bit, JPEGExtended12Bit])
def test_jpeg_baseline_and_8bit_extended_grey(tmp_path, tsyntax):
    path, img = _wrap_jpeg(tmp_path, tsyntax)
    got = _load_one(path).raw(0)
    assert got.shape == img.shape
    assert np.abs(got.astype(float) - img).mean() < 2.0


def _mr_small_compressed(tmp_path: Path, tsyntax: str, **kwargs) -> tuple[Path, np.ndarray]:
    ds = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    ref = ds.pixel_array.copy()
    ds.compress(tsyntax, **kwargs)
    path = tmp_path / f"mr_{tsyntax}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, ref


def test_jpeg_ls_near_lossless_within_its_error_bound(tmp_path):
    path, ref = _mr_small_compressed(tmp_path, JPEGLSNearLossless, jls_error=3)
    got = _load_one(path).raw(0).astype(int)
    err = np.abs(got - ref.astype(int))
    assert err.max() <= 3 and err.max() > 0


def test_jpeg_ls_near_lossless_pydicom_file_matches_pydicom():
    path = get_testdata_file("JPEGLSNearLossless_16.dcm")
    assert _ts(path) == JPEGLSNearLossless
    np.testing.assert_array_equal(_load_one(path).raw(0), pydicom.dcmread(path).pixel_array)


def test_jpeg2000_lossy_close_to_original(tmp_path):
    path, ref = _mr_small_compressed(tmp_path, JPEG2000, j2k_cr=[5])
    got = _load_one(path).raw(0).astype(float)
    rel = np.abs(got - ref).mean() / ref.astype(float).mean()
    assert 0 < rel < 0.05


def test_jpeg2000_lossy_pydicom_file_matches_pydicom():
    path = get_testdata_file("JPEG2000.dcm")
    assert _ts(path) == JPEG2000
    np.testing.assert_array_equal(_load_one(path).raw(0), pydicom.dcmread(path).pixel_array)


def test_deflated_file():
    path = get_testdata_file("image_dfl.dcm")
    assert _ts(path) == DeflatedExplicitVRLittleEndian
    np.testing.assert_array_equal(_load_one(path).raw(0), pydicom.dcmread(path).pixel_array)


def test_compressed_multiframe_each_frame(tmp_path):
    """A 2-frame RLE file: each frame decodes on its own and equals pydicom's."""
    path = get_testdata_file("SC_rgb_rle_16bit_2frame.dcm")
    s = _load_one(path)
    ref = pydicom.dcmread(path).pixel_array
    assert len(s) == 2
    for i in range(2):
        np.testing.assert_allclose(s.pixels(i), ref[i] @ LUMA, rtol=1e-5, atol=1e-2)


def test_hash_is_of_decoded_values_so_compression_does_not_change_it():
    plain = _load_one(get_testdata_file("MR_small.dcm"))
    rle = _load_one(get_testdata_file("MR_small_RLE.dcm"))
    assert plain.pixel_sha256(0) == rle.pixel_sha256(0)
    assert len(plain.pixel_sha256(0)) == 64
