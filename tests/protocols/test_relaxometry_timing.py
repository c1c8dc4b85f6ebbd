"""mr.relaxometry reads TI/TE/TR from the raw header text (`_header_value`): the same numbers
as pydicom's converted values, also for missing, empty and multi-valued elements."""

from __future__ import annotations

import pydicom
import pytest
from pydicom.dataset import Dataset

import imgqa
from imgqa.protocols.relaxometry import _header_value, _timing

KEYS = (("ti", "InversionTime", 0x00180082), ("te", "EchoTime", 0x00180081),
        ("tr", "RepetitionTime", 0x00180080))


def _reference(ds) -> dict:
    out = {}
    for key, kw, _ in KEYS:
        v = ds.get(kw)
        try:
            out[key] = float(v) if v not in (None, "") else None
        except (TypeError, ValueError):
            out[key] = None
    return out


def _raw_dataset(tmp_path, **values) -> Dataset:
    """A file written and read back, so that its elements are still raw (unconverted)."""
    ds = Dataset()
    for kw, v in values.items():
        setattr(ds, kw, v)
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    path = tmp_path / "t.dcm"
    ds.save_as(path, enforce_file_format=False)
    return pydicom.dcmread(path, force=True)


@pytest.mark.parametrize("values", [
    dict(InversionTime="150", EchoTime="12.7", RepetitionTime="2000"),
    dict(EchoTime=" 7.5 ", RepetitionTime=""),                      # missing TI, empty TR
    dict(InversionTime=["100", "200"], EchoTime="1e1"),             # multi-valued TI
])
def test_raw_header_text_gives_pydicoms_values(tmp_path, values):
    raw = _raw_dataset(tmp_path, **values)
    got = {}
    for key, kw, tag in KEYS:
        v = _header_value(raw, tag, kw)
        try:
            got[key] = float(v) if v not in (None, "") else None
        except (TypeError, ValueError):
            got[key] = None
    assert got == _reference(_raw_dataset(tmp_path, **values))


def test_real_series_timing_equals_pydicoms(shared_data):
    root = shared_data / "mr" / "relaxometry_hazen"
    folders = sorted(p for p in root.glob("T*/site*/plate*") if p.is_dir())
    if not folders:
        pytest.skip("no relaxometry series in the shared data")
    for folder in folders:
        for s in imgqa.load(folder):
            got = [_timing(s, i) for i in range(len(s))]
            assert got == [_reference(s.dataset(i)) for i in range(len(s))], folder
