"""The loader's fast paths for small series (load speed) give exactly what the plain paths give.

* `header_scan` builds its `FileDataset` and `FileMetaDataset` from a template of pydicom's own
  constructor: same attributes, in the same order, with the same values, and no mutable
  attribute shared between two datasets;
* the whole load (series, frames, geometry, flags, problems, every dataset) of the shared
  phantom folders equals what the loader gives with those fast paths turned off.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, generate_uid

import imgqa
from imgqa.io import header_scan
from imgqa.io.dicom_header import _DEFER_SIZE, _locate_pixels
from imgqa.io.header_facts import _code_strings
from imgqa.io.header_scan import scan_file, scan_header, tag_key


def _constructor_dataset(fh, elements, preamble, file_meta, implicit, mtime):
    """`header_scan._file_dataset` as it was: pydicom's constructors."""
    ds = FileDataset(fh, elements, preamble, file_meta, implicit, True)
    ds.set_original_encoding(implicit, True, ds._character_set)
    return ds


def _plain_meta(cls, elements):
    return cls(elements)


def _scan(path: Path):
    with open(str(path), "rb") as fh:  # named by a str, as imgqa opens files
        return scan_header(fh, _DEFER_SIZE)


def _attrs(ds) -> list:
    """Every instance attribute, in order; datasets (file meta) by their own attributes."""
    out = []
    for key, value in vars(ds).items():
        if key == "_dict":
            value = [(int(t), type(e).__name__, repr(e.value) if type(e).__name__ == "DataElement"
                      else tuple(e)) for t, e in value.items()]
        elif isinstance(value, FileMetaDataset):
            value = _attrs(value)
        out.append((key, value))
    return out


def _some_files(shared_data: Path) -> list[Path]:
    files = []
    for folder in ("mr/relaxometry_hazen/T1/site1_20200218/plate5", "mr/acr/hazen_Siemens",
                   "mr/acr/hazen_PhilipsAchieva", "ct/ge_qa_phantom/serie1", "nm/nmqc",
                   "mr/imageqc"):
        root = shared_data / folder
        if root.exists():
            files += sorted(p for p in root.rglob("*") if p.is_file()
                            and not p.name.startswith(".") and p.suffix.lower() != ".txt"
                            and not p.name.upper().startswith("LICENSE"))[:3]
    return files


def test_template_datasets_equal_pydicoms_constructor(shared_data, monkeypatch):
    files = _some_files(shared_data)
    assert files
    fast = [_scan(p) for p in files]
    with monkeypatch.context() as m:
        m.setattr(header_scan, "_file_dataset", _constructor_dataset)
        m.setattr(header_scan, "_new_dataset", _plain_meta)
        plain = [_scan(p) for p in files]
    for path, a, b in zip(files, fast, plain):
        if b is None:
            assert a is None
            continue
        assert type(a) is type(b) and type(a.file_meta) is type(b.file_meta)
        assert _attrs(a) == _attrs(b), path.name
        assert a.original_character_set == b.original_character_set


def test_template_datasets_share_no_mutable_attribute(shared_data):
    files = _some_files(shared_data)[:2]
    one, two = (_scan(p) for p in (files[0], files[0] if len(files) < 2 else files[1]))
    for a, b in ((one, two), (one.file_meta, two.file_meta)):
        for key, value in vars(a).items():
            if isinstance(value, (dict, list, set)):
                assert value is not vars(b)[key], key


class _Reader(io.BufferedReader):
    """A file object of another type: read through pydicom's constructor."""


def test_another_file_object_gets_the_constructors_dataset(shared_data):
    path = _some_files(shared_data)[0]
    with _Reader(io.FileIO(str(path))) as fh:
        ours = scan_header(fh, _DEFER_SIZE)
    fast = _scan(path)
    assert ours is not None and fast is not None
    assert ours.filename == fast.filename == str(path)
    assert _attrs(ours) == _attrs(fast)



@pytest.mark.parametrize("raw", [b"ORIGINAL\\PRIMARY\\M\\ND ", b"DERIVED", b"", b"  ", b"\\",
                                 b"A\\\\B\x00", b" A \\ B ", b"ORIGINAL\\PRIMARY\x00\x00"])
def test_code_strings_read_raw_as_pydicom_converts_them(raw):
    ds = Dataset()
    ds._dict[tag_key(0x00080008)] = RawDataElement(tag_key(0x00080008), "CS", len(raw), raw, 0,
                                                   False, True)
    ours = _code_strings(ds, "ImageType")
    assert type(ds._dict[tag_key(0x00080008)]) is RawDataElement  # left as read
    value = ds.get("ImageType", None) or ()  # pydicom's conversion, as _summary read it before
    assert ours == tuple(str(x) for x in ((value,) if isinstance(value, str) else value))


def test_pixel_header_found_in_the_bytes_read_as_in_the_file(shared_data):
    """`_locate_pixels` reads the Pixel Data element header from the scan's bytes when they
    hold it: the same location (and deferred element) as reading it from the file."""
    files = _some_files(shared_data)
    assert files
    for path in files:
        with open(str(path), "rb") as fh:
            found = scan_file(fh, _DEFER_SIZE)
            if found is None:
                continue
            ds, data = found
            size = len(path.read_bytes())
            stop = fh.tell()
            from_data = _locate_pixels(fh, ds, size, str(path), data)
            fh.seek(stop)
            from_file = _locate_pixels(fh, ds, size, str(path))
        assert from_data == from_file, path.name


def _image_file(tmp_path: Path, name: str, signed: bool, stored: int, little: bool = True
                ) -> tuple[Path, np.ndarray]:
    """A 16-bit image whose unused high bits are set (junk), as some scanners write them."""
    rng = np.random.default_rng(7)
    values = rng.integers(0, 1 << 16, size=(6, 5), dtype=np.uint16)
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.4"
    ds.SOPInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "MR"
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, stored, stored - 1
    ds.PixelRepresentation = int(signed)
    stored_values = values.view(np.int16) if signed else values
    ds.PixelData = stored_values.astype("<i2" if signed else "<u2").tobytes() if little else \
        stored_values.astype(">i2" if signed else ">u2").tobytes()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian if little else ExplicitVRBigEndian
    path = tmp_path / name
    ds.save_as(path, enforce_file_format=True)
    return path, values


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("stored", [16, 12, 10, 1])
@pytest.mark.parametrize("little", [True, False])
def test_unused_high_bits_cleared_as_pydicom_does(tmp_path, signed, stored, little):
    path, _ = _image_file(tmp_path, "im.dcm", signed, stored, little)
    series = imgqa.load(path)
    assert not series.problems
    ours = series[0].raw(0)
    ref = pydicom.dcmread(path).pixel_array
    assert ours.dtype == ref.dtype.newbyteorder("=") and ours.flags.writeable
    np.testing.assert_array_equal(ours, ref)


def test_header_table_stays_bounded_and_scans_alike(shared_data, monkeypatch):
    """The element-header table (keys hold lengths) is emptied when full, not grown."""
    files = _some_files(shared_data)[:2]
    expected = [_attrs(_scan(p)) for p in files]
    monkeypatch.setattr(header_scan, "_HEADERS_MAX", 8)
    monkeypatch.setattr(header_scan, "_HEADERS", {False: {}, True: {}})
    assert [_attrs(_scan(p)) for p in files] == expected
    assert all(len(table) <= 8 for table in header_scan._HEADERS.values())


@pytest.mark.parametrize("enabled", [True, False])
def test_load_leaves_the_garbage_collector_as_it_found_it(tmp_path, enabled):
    import gc

    path, _ = _image_file(tmp_path, "im.dcm", False, 12)
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert len(imgqa.load(path)) == 1
        assert len(imgqa.load(tmp_path / "missing")) == 0  # a load with problems only
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
