"""`imgqa.io.header_scan.scan_header` (issue 17, load speed) must give the dataset pydicom's
``dcmread(fh, defer_size=..., stop_before_pixels=True)`` gives: every element (private ones and
sequences included) with the same value, the same file meta, encoding and file position, and
leave every file it does not handle to pydicom (None, file back at 0)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

import imgqa
from imgqa.io.dicom_header import _DEFER_SIZE
from imgqa.io.header_scan import scan_header, tag_key


def _elements(ds: Dataset) -> list:
    """Every element as (tag, VR, value text), sequences as their items, pixel data skipped."""
    out: list = []
    for tag in list(ds.keys()):
        if tag in (0x7FE00010, 0x7FE00008, 0x7FE00009):
            out.append((int(tag), "<pixels>"))
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            out.append((int(tag), "SQ", [_elements(item) for item in elem.value]))
        else:
            out.append((int(tag), elem.VR, repr(elem.value)))
    return out


def _both(path: Path) -> tuple[Dataset | None, int, Dataset, int]:
    """(scan_header's dataset, position after) and (pydicom's, position after)."""
    with open(path, "rb") as fh:
        ours = scan_header(fh, _DEFER_SIZE)
        our_pos = fh.tell()
    with open(path, "rb") as fh:
        ref = pydicom.dcmread(fh, defer_size=_DEFER_SIZE, stop_before_pixels=True)
        ref_pos = fh.tell()
    return ours, our_pos, ref, ref_pos


def _assert_same(path: Path, both: tuple | None = None) -> Dataset:
    ours, our_pos, ref, ref_pos = both or _both(path)
    assert ours is not None, f"{path.name}: the fast scan left a common file to pydicom"
    assert our_pos == ref_pos
    assert ours.preamble == ref.preamble
    assert ours.original_encoding == ref.original_encoding
    assert ours.original_character_set == ref.original_character_set
    assert ours.filename == ref.filename and ours.timestamp == ref.timestamp
    assert list(ours.keys()) == list(ref.keys())
    for a, b in zip(ours._dict.values(), ref._dict.values()):
        if isinstance(b, RawDataElement):  # the raw bytes and where they are in the file
            assert (a.tag, a.VR, a.length, a.value, a.value_tell) == \
                (b.tag, b.VR, b.length, b.value, b.value_tell)
    assert _elements(ours.file_meta) == _elements(ref.file_meta)
    assert _elements(ours) == _elements(ref)
    return ours


def _private_sequence_file(tmp_path: Path, syntax: str, name: str = "f.dcm",
                           pixels: bool = True, blob: int = 0) -> Path:
    """A small MR image with undefined-length sequences: a private one (items of undefined
    length, a nested private sequence), a standard one, and a defined-length one."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "MR"
    ds.Manufacturer = "Caf\xe9 Scanner"
    ds.PixelSpacing = [0.9765625, 0.9765625]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.ImagePositionPatient = [-125.0, -125.0, 12.5]
    ds.add_new(0x20011000, "LO", "imgqa test")                 # private creator
    inner = Dataset()
    inner.add_new(0x20011001, "DS", "3.5")
    inner.add_new(0x20011002, "LO", "nested")
    item = Dataset()
    item.add_new(0x20011003, "IS", "42")
    item.add_new(0x20011004, "SQ", Sequence([inner]))
    item.SeriesDescription = "inside a private item"
    ds.add_new(0x20011010, "SQ", Sequence([item, Dataset()]))
    ref = Dataset()
    ref.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ref.ReferencedSOPInstanceUID = generate_uid()
    ds.ReferencedImageSequence = Sequence([ref])
    ds.ProcedureCodeSequence = Sequence([])                   # empty, defined length
    for tag in (0x20011010, 0x00081140):
        ds[tag].is_undefined_length = True
        for it in ds[tag].value:
            it.is_undefined_length_sequence_item = True
    ds[0x20011010].value[0][0x20011004].is_undefined_length = True
    if blob:  # a private blob before the pixels: a header longer than the first read
        ds.add_new(0x20011020, "OB", bytes(range(256)) * (blob // 256))
    ds.Rows, ds.Columns = 8, 6
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if pixels:
        ds.PixelData = np.arange(48, dtype="<u2").reshape(8, 6).tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
def test_undefined_length_private_sequences_read_as_pydicom(tmp_path, syntax):
    path = _private_sequence_file(tmp_path, syntax)
    with open(path, "rb") as fh:
        fresh = scan_header(fh, _DEFER_SIZE)
    # kept raw until asked for, then the same items as pydicom's eager parse
    assert fresh is not None and isinstance(fresh._dict[tag_key(0x20011010)], RawDataElement)
    ds = _assert_same(path)
    seq = ds[0x20011010].value
    # implicit VR: a private element without a dictionary entry stays bytes (pydicom's UN)
    nested = "nested" if syntax == ExplicitVRLittleEndian else b"nested"
    assert seq[0][0x20011004].value[0][0x20011002].value == nested
    assert seq[0].SeriesDescription == "inside a private item"
    assert ds[0x20011010].is_undefined_length


@pytest.mark.parametrize("blob", [200 * 1024, 300 * 1024, 2 * 1024 * 1024])
def test_headers_longer_than_the_first_read(tmp_path, blob):
    """Read again, larger; an element over the defer size stays on disk, as with pydicom."""
    ds = _assert_same(_private_sequence_file(tmp_path, ExplicitVRLittleEndian, blob=blob))
    assert ds[0x20011020].value == bytes(range(256)) * (blob // 256)


def test_a_file_without_pixel_data_stops_at_its_end(tmp_path):
    _assert_same(_private_sequence_file(tmp_path, ExplicitVRLittleEndian, pixels=False))


def test_shared_real_headers_read_as_pydicom(shared_data):
    """Siemens CSA headers, Philips private sequences, GE, NM multi-frame, CT, X-ray, PET."""
    files = [p for p in sorted(shared_data.rglob("*")) if p.is_file()
             and p.suffix.lower() in (".dcm", ".ima", "")
             and not p.name.upper().startswith(("LICENSE", "MANIFEST", "README"))]
    checked = 0
    for path in files:
        both = _both(path) if _has_preamble(path) else None
        if both is None or both[0] is None:
            continue
        _assert_same(path, both)
        checked += 1
    assert checked >= 100


def _has_preamble(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(132)[128:132] == b"DICM"


@pytest.mark.parametrize("syntax", [ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian])
def test_other_encodings_are_left_to_pydicom(tmp_path, syntax):
    path = _private_sequence_file(tmp_path, syntax)
    with open(path, "rb") as fh:
        assert scan_header(fh, _DEFER_SIZE) is None
        assert fh.tell() == 0


def test_cut_off_and_odd_files_are_left_to_pydicom(tmp_path):
    good = _private_sequence_file(tmp_path, ExplicitVRLittleEndian, pixels=False).read_bytes()
    cases = {
        "cut_in_sequence": good[: good.index(b"inside a private item")],
        "cut_in_tag": good + b"\x08\x00\x70",
        "no_preamble": good[128:],
        "unknown_vr": good[:-8] + b"\x09\x00\x10\x00zz\x02\x00AB",
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.dcm"
        path.write_bytes(data)
        with open(path, "rb") as fh:
            assert scan_header(fh, _DEFER_SIZE) is None, name
            assert fh.tell() == 0


def test_a_stream_without_a_file_is_left_to_pydicom(tmp_path):
    data = _private_sequence_file(tmp_path, ExplicitVRLittleEndian).read_bytes()
    assert scan_header(io.BytesIO(data), _DEFER_SIZE) is None


def test_encapsulated_file_reads_as_pydicom(tmp_path):
    """A compressed image: explicit VR little endian header, pixel data left on disk."""
    path = _private_sequence_file(tmp_path, ExplicitVRLittleEndian)
    ds = pydicom.dcmread(path)
    ds.compress(RLELossless)
    out = tmp_path / "rle.dcm"
    ds.save_as(out)
    _assert_same(out)


def test_series_dataset_gives_the_full_header(tmp_path):
    """Through imgqa.load: `ImageSeries.dataset()` still has every element, private tags and
    private sequences included, and the pixels decode as before."""
    path = _private_sequence_file(tmp_path, ExplicitVRLittleEndian)
    (series,) = imgqa.load(path)
    ds = series.dataset(0)
    assert ds[0x20011000].value == "imgqa test"
    assert ds[0x20011010].value[0][0x20011003].value == 42
    assert ds.Manufacturer == "Caf\xe9 Scanner"
    assert series.header.equipment.manufacturer == "Caf\xe9 Scanner"
    assert series.pixel_spacing_mm == (0.9765625, 0.9765625)
    np.testing.assert_array_equal(series.raw(0), np.arange(48).reshape(8, 6))
    np.testing.assert_array_equal(ds.pixel_array, np.arange(48).reshape(8, 6))


def test_tag_key_is_one_shared_tag():
    assert tag_key(0x00080060) is tag_key(0x00080060)
    assert tag_key(0x00080060) == pydicom.tag.BaseTag(0x00080060)
