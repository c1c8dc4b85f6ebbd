"""`header_facts._raw_text` reads plain-ASCII text values (LO, SH, LT, ST, UT) straight from
the raw bytes (issue 17, load speed): it must give what pydicom's decoding gives, and leave
everything else (other character sets, multi-values, escape sequences) to pydicom."""

from __future__ import annotations

import io
import struct

import pydicom
import pytest
from pydicom.filereader import read_dataset

from imgqa.io.header_facts import _raw_text


def _elem(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b" "
    return struct.pack("<HH", group, element) + vr + struct.pack("<H", len(value)) + value


def _dataset(charset: bytes | None, value: bytes) -> pydicom.Dataset:
    """Explicit VR little endian bytes parsed by pydicom: raw (unconverted) elements."""
    body = (_elem(0x0008, 0x0005, b"CS", charset) if charset else b"") + \
        _elem(0x0008, 0x0070, b"LO", value) + _elem(0x0008, 0x103E, b"LO", value)
    return read_dataset(io.BytesIO(body), is_implicit_VR=False, is_little_endian=True)


CASES = [b"SIEMENS", b"  leading and trailing  ", b"with NUL\x00", b"", b"SNR_UNI_COR",
         b"A\\B", b"caf\xe9", b"\x1b$B", b"tab\tinside ", b"Philips Medical Systems"]


@pytest.mark.parametrize("charset", [None, b"ISO_IR 100", b"ISO_IR 192"])
@pytest.mark.parametrize("value", CASES)
def test_raw_text_equals_pydicom(charset, value):
    ds = _dataset(charset, value)
    v = _dataset(charset, value)["Manufacturer"].value           # pydicom's conversion
    expected = ("\\".join(str(x) for x in v) if isinstance(v, pydicom.multival.MultiValue)
                else ("" if v is None else str(v).strip()))
    assert (_raw_text(ds, "Manufacturer") or "") == expected
    assert (_raw_text(ds, "SeriesDescription") or "") == expected
