"""A faster header parse for the common DICOM file, giving the dataset pydicom would give.

`scan_header` walks the top-level elements of a file with a preamble and an uncompressed-header
transfer syntax (implicit or explicit VR little endian, including every encapsulated one) in
the bytes of one read of its start, and builds the same `FileDataset` that ``pydicom.dcmread(fh,
defer_size=..., stop_before_pixels=True)`` builds: the same `RawDataElement` per element (tag,
VR, length, value bytes, value offset), values converted by pydicom on first access, the same
preamble, file meta and encodings, the file handle's name and timestamp for deferred values.

One difference, invisible in the values: a sequence of undefined length (the vendors' private
sequences, functional groups) is kept as a raw element holding its bytes, which pydicom parses
when the sequence is first accessed, as it does for every sequence of defined length, instead
of being parsed into items while reading (most of the parse time of a Philips header).

Why: pydicom's element generator costs ≈ 10 µs per element in Python; this loop does the same
bookkeeping with one cached lookup of the element header and one `struct.unpack_from` per
element on the bytes read (issue 17: reading one file dominated the time of the single-image
protocols; docs/validation.md has the measurements).

Anything unusual (no preamble, big endian, deflated, private transfer syntaxes, a command set,
an explicit/implicit VR switch, an unknown VR, a value or tag cut off by the end of the file,
an undefined length outside a sequence, a header past 64 MB, a stream that is not a file with a
descriptor) makes
`scan_header` return None, and the caller reads the file with pydicom as before, so damaged
files get exactly pydicom's behaviour and imgqa's messages.
"""

from __future__ import annotations

import io
import os
import struct
from typing import Any, BinaryIO

import pydicom
from pydicom import config
from pydicom.charset import convert_encodings, default_encoding
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import (
    DataElement,
    RawDataElement,
    convert_raw_data_element,
    empty_value_for_VR,
)
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.tag import BaseTag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
    PrivateTransferSyntaxes,
)
from pydicom.valuerep import AMBIGUOUS_VR, EXPLICIT_VR_LENGTH_32, VR

__all__ = ["first_read_size", "scan_file", "scan_header", "tag_key"]

# The raw elements and FileDataset built here mirror pydicom 3's reader; under another major
# version every file goes to pydicom's own reader (tests/io/test_header_scan.py compares them).
_PYDICOM_3 = pydicom.__version__.split(".")[0] == "3"
_UNDEFINED = 0xFFFFFFFF
_ITEM = 0xFFFEE000
_ITEM_END = 0xFFFEE00D
_SEQUENCE_END = 0xFFFEE0DD
_CHARSET = 0x00080005
# First read: the whole header of every file in the shared phantom data (pixel data at 14 KB
# median, 129 KB at most); a longer header is read again, 4 times larger each time, up to
# _MAX_READ, past which pydicom reads the file.
_FIRST_READ = 160 * 1024
_MAX_READ = 64 * 1024 * 1024
_TRANSFER_SYNTAX = 0x00020010
# pydicom's stop_before_pixels stops at any of the three pixel data elements.
_PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00009, 0x7FE00008})
# Encoded VR → the str pydicom stores in a RawDataElement (``vr.decode(default_encoding)``).
_VRS = {str(v).encode("ascii"): str(v) for v in VR}
_LONG_VRS = frozenset(str(v).encode("ascii") for v in EXPLICIT_VR_LENGTH_32)
_EXPLICIT = struct.Struct("<HH2sH").unpack_from
_IMPLICIT = struct.Struct("<HHL").unpack_from
_UL = struct.Struct("<L").unpack_from
_TAG = struct.Struct("<HH").unpack_from


# One BaseTag object per tag number, shared by every dataset read here and by imgqa's element
# readers (`imgqa.io.header_facts`): a dict lookup then matches by identity instead of calling
# BaseTag.__eq__, a Python-level method. Bounded: tags past the limit get a fresh object.
_TAG_KEYS: dict[int, BaseTag] = {}
_TAG_KEYS_MAX = 1 << 16


def tag_key(tag: int) -> BaseTag:
    """The shared `BaseTag` for `tag` (same value as ``BaseTag(tag)``)."""
    key = _TAG_KEYS.get(tag)
    if key is None:
        key = BaseTag(tag)
        if len(_TAG_KEYS) < _TAG_KEYS_MAX:
            _TAG_KEYS[tag] = key
    return key


_Elements = dict[BaseTag, "RawDataElement | DataElement"]


class _Unusual(Exception):
    """Internal: leave this file to pydicom's reader."""


def _empty(vr: str | None) -> bytes | None:
    return empty_value_for_VR(vr, raw=True)  # type: ignore[return-value]


def scan_header(fh: BinaryIO, defer_size: int) -> FileDataset | None:
    """The header of `fh` (at offset 0) up to its pixel data, or None for pydicom's reader.

    Parameters
    ----------
    fh : binary file
        A regular file opened for reading, positioned at its start.
    defer_size : int
        Values longer than this (bytes) stay on disk, as with pydicom's ``defer_size``.

    Returns
    -------
    FileDataset or None
        As ``pydicom.dcmread(fh, defer_size=defer_size, stop_before_pixels=True)`` returns it,
        with `fh` left where pydicom leaves it (at the pixel data element, or the end); None
        (with `fh` back at 0) when the file needs pydicom's reader.
    """
    found = scan_file(fh, defer_size)
    return None if found is None else found[0]


def first_read_size(size: int) -> int:
    """How many bytes `scan_file` reads first from a file of `size` bytes."""
    return min(_FIRST_READ, size)


def scan_file(fh: BinaryIO, defer_size: int, head: bytes = b"",
              stat: os.stat_result | None = None) -> tuple[FileDataset, bytes] | None:
    """`scan_header`, also giving the bytes it read from the start of the file.

    The Pixel Data element's header is usually among those bytes, so the caller need not read
    the file again to find it.

    Parameters
    ----------
    fh, defer_size
        As for `scan_header`.
    head : bytes, optional
        The file's first ``first_read_size(size)`` bytes when the caller already read them
        (its sniffing of the file type); `fh` may then be anywhere.
    stat : os.stat_result, optional
        ``os.fstat`` of `fh`, when the caller has it.

    Returns
    -------
    (FileDataset, bytes) or None
        The dataset and the bytes read from offset 0; None as for `scan_header`.
    """
    if not _PYDICOM_3:
        return None
    try:
        stat = stat or os.fstat(fh.fileno())
        size = stat.st_size
        chunk = _FIRST_READ
        data = head if head and len(head) == first_read_size(size) else b""
        while True:
            if not data:
                # Bytes read, not a memory map: a file cut short by another program while
                # mapped would kill the process (SIGBUS) instead of giving an error.
                fh.seek(0)
                data = fh.read(min(chunk, size))
            try:
                preamble, file_meta, elements, stop, implicit = _parse(
                    data, len(data) >= size, defer_size)
                break
            except _Unusual:
                if len(data) >= size or chunk >= _MAX_READ:
                    raise
                chunk *= 4  # the header goes on past what was read: read more, walk again
                data = b""
        ds = _file_dataset(fh, elements, preamble, file_meta, implicit, stat.st_mtime)
    except Exception:  # noqa: BLE001 - whatever it is, pydicom's reader decides
        fh.seek(0)
        return None
    fh.seek(stop)
    return ds, data


def _file_dataset(fh: BinaryIO, elements: _Elements, preamble: bytes,
                  file_meta: FileMetaDataset, implicit: bool, mtime: float) -> FileDataset:
    """The `FileDataset` pydicom's read_partial finishes with (its intermediate Dataset, whose
    attributes the FileDataset does not keep, left out), the character set converted."""
    name = getattr(fh, "name", None)
    if type(fh) is not io.BufferedReader or not isinstance(name, str):
        ds = FileDataset(fh, elements, preamble, file_meta, implicit, True)
        ds.set_original_encoding(implicit, True, ds._character_set)
        return ds
    # A file opened by name: the attributes FileDataset.__init__ sets for it (filename, open,
    # mtime), without its ~45 Python-level __setattr__ calls and its two stats by path (the
    # mtime is the open file's, from the fstat already made).
    ds = _new_dataset(FileDataset, elements)
    attrs = ds.__dict__
    attrs.update(preamble=preamble, file_meta=file_meta, _is_implicit_VR=implicit,
                 _is_little_endian=True, _read_implicit=implicit, _read_little=True,
                 filename=name, timestamp=mtime)
    charset: str | list[str] = default_encoding
    charset_tag = tag_key(_CHARSET)  # the shared key: found by identity, not BaseTag.__eq__
    if charset_tag in elements:
        charset = convert_encodings(_convert(ds, charset_tag, default_encoding).value)
    attrs["_read_charset"] = charset
    return ds


# One dataset of each class as pydicom's constructor leaves it (for FileDataset: as built for
# a file opened by name), copied by `_new_dataset`; the names of its mutable attributes.
_TEMPLATES: dict[type[Dataset], tuple[dict[str, Any], tuple[str, ...]]] = {}


def _new_dataset(cls: type[Dataset], elements: _Elements) -> Any:
    """A `cls` (FileMetaDataset or FileDataset) holding `elements`, its attributes those of
    ``cls(elements)`` (in the same order; dicts and lists fresh copies), set without Dataset's
    Python-level __setattr__."""
    template = _TEMPLATES.get(cls)
    if template is None:
        made = (cls({}) if cls is FileMetaDataset else
                FileDataset("", {}, b"", FileMetaDataset(), True, True))
        attrs = dict(vars(made))
        template = _TEMPLATES[cls] = attrs, tuple(
            k for k, v in attrs.items() if isinstance(v, (dict, list, set)))
    attrs, mutable = template
    ds = cls.__new__(cls)
    fresh = ds.__dict__
    fresh.update(attrs)
    for key in mutable:
        fresh[key] = attrs[key].copy()
    fresh["_dict"] = elements
    return ds


def _convert(ds: Any, tag: BaseTag, encoding: str) -> DataElement:
    """Convert the raw element `tag` of `ds` in place, as ``ds[tag]`` does on first access (for
    an element read with the dataset: stored in its dict); pydicom's own path for the cases
    that need more (sequences, ambiguous VRs, private or deferred elements)."""
    raw = ds._dict[tag]
    if (type(raw) is not RawDataElement or raw.VR in (None, "SQ") or raw.VR in AMBIGUOUS_VR
            or tag.is_private or raw.value is None):
        return ds[tag]
    elem = convert_raw_data_element(raw, encoding=encoding, ds=ds)
    if elem.VR == "SQ" or elem.VR in AMBIGUOUS_VR:
        return ds[tag]
    ds._dict[tag] = elem
    return elem


def _parse(data: bytes, whole: bool, defer_size: int
           ) -> tuple[bytes, FileMetaDataset, _Elements, int, bool]:
    """(preamble, file meta, elements, stop offset, implicit VR) from the first bytes of a file;
    `whole`: `data` is the whole file (else reaching its end means: read more)."""
    n = len(data)
    if n < 132 + 8 or data[128:132] != b"DICM":
        raise _Unusual
    meta_elements, start = _walk(data, 132, n, False, 1 << 62, meta=True)
    file_meta = _new_dataset(FileMetaDataset, meta_elements)
    file_meta.set_original_encoding(False, True, default_encoding)
    # pydicom converts the first meta element on reading (its implicit-VR meta check)
    _convert(file_meta, next(iter(meta_elements)), default_encoding)
    # read from the raw bytes (as imgqa's checks do), not converted here
    raw_ts = meta_elements.get(tag_key(_TRANSFER_SYNTAX))
    value = getattr(raw_ts, "value", None)
    tsyntax = value.decode("latin-1").strip(" \x00") if isinstance(value, bytes) else ""
    if (not tsyntax or tsyntax in (ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian)
            or tsyntax in PrivateTransferSyntaxes or type(raw_ts) is not RawDataElement):
        raise _Unusual
    implicit = tsyntax == ImplicitVRLittleEndian
    elements, stop = _walk(data, start, n, implicit, defer_size)
    if stop >= n and not whole:
        raise _Unusual  # no pixel data within what was read
    return data[:128], file_meta, elements, stop, implicit


def _walk(data: bytes, pos: int, n: int, implicit: bool, defer_size: int,
          meta: bool = False) -> tuple[_Elements, int]:
    """Top-level elements from `pos` to the pixel data or the end (with `meta`: to the end of
    group 0002): (elements, offset where reading stopped)."""
    _check_start(data, pos, n, implicit, meta)
    elements: _Elements = {}
    defer = defer_size
    new = tuple.__new__  # a RawDataElement without its Python-level __new__ (same tuple)
    raw_element = RawDataElement
    headers_get = _HEADERS[implicit].get
    last = n - 12  # the last offset with a whole element header (of either size) after it
    while pos <= last:
        if meta and data[pos:pos + 2] != b"\x02\x00":
            return elements, pos
        # The element's first 8 bytes: tag, VR and a 16-bit length, or tag and VR of a 32-bit
        # length, or (implicit) tag and 32-bit length, looked up at once.
        key = data[pos:pos + 8]
        btag, vr, length, header = headers_get(key) or _header_info(key, implicit)
        if length < 0:
            if length == _STOP:
                if btag in _PIXEL_TAGS:
                    return elements, pos
                raise _Unusual  # a stray delimiter
            length = _UL(data, pos + 8)[0]
        value_tell = pos + header
        end = value_tell + length
        if end > n:  # past the bytes read, or an undefined length (past any 64 MB read)
            if length != _UNDEFINED or meta:
                raise _Unusual
            elements[btag], pos = _undefined_length(data, btag, vr, value_tell, n, implicit)
            continue
        if length > defer and btag != _CHARSET:
            value = None
        elif length:
            value = data[value_tell:end]
        else:
            value = _empty(vr)
        elements[btag] = new(raw_element, (btag, vr, length, value, value_tell, implicit,
                                           True, True, False))
        pos = end
    if pos < n:
        raise _Unusual  # the end of the file: pydicom's own handling of a cut-off tag
    if meta:
        raise _Unusual  # a file of nothing but meta
    return elements, n


# An element header's first 8 bytes → what the walk needs: the shared tag, the VR, the length
# (_LONG: a 32-bit length follows, at byte 8; _STOP: pixel data or a delimiter, where the walk
# ends) and the header size. The files of one scanner repeat the same few hundred headers. One
# table per VR encoding: the same 8 bytes mean different things in each.
_Header = tuple[BaseTag, "str | None", int, int]
_HEADERS: dict[bool, dict[bytes, _Header]] = {False: {}, True: {}}
_HEADERS_MAX = 1 << 14  # ≈ 3 MB at most
_LONG = -1
_STOP = -2
_US = struct.Struct("<H").unpack_from


def _header_info(key: bytes, implicit: bool) -> _Header:
    group, elem = _TAG(key, 0)
    btag = tag_key(group << 16 | elem)
    if btag in _PIXEL_TAGS or btag == _ITEM_END:
        info: _Header = (btag, None, _STOP, 0)
    elif implicit:
        info = (btag, None, _UL(key, 4)[0], 8)
    else:
        vr = _VRS.get(key[4:6])
        if vr is None:
            raise _Unusual  # an unknown VR: pydicom guesses
        if key[4:6] in _LONG_VRS:
            info = (btag, vr, _LONG, 12)
        else:
            info = (btag, vr, _US(key, 6)[0], 8)
    headers = _HEADERS[implicit]
    if len(headers) >= _HEADERS_MAX:
        headers.clear()  # bounded (lengths are part of the keys); refilled by the next files
    headers[key] = info
    return info


def _check_start(data: bytes, pos: int, n: int, implicit: bool, meta: bool) -> None:
    """The first element is there, not a command set, and encoded as the syntax says."""
    if pos + 12 > n:
        raise _Unusual  # nothing after the meta (pydicom has its own handling)
    group = _TAG(data, pos)[0]
    if group == 0 or (meta and group != 2):
        raise _Unusual  # a command set, or no file meta
    vr0 = data[pos + 4:pos + 6]
    if (not (0x40 < vr0[0] < 0x5B and 0x40 < vr0[1] < 0x5B)) != implicit:
        raise _Unusual  # pydicom switches VR encoding with a warning


def _undefined_length(data: bytes, btag: BaseTag, vr: str | None, value_tell: int, n: int,
                      implicit: bool) -> tuple[RawDataElement, int]:
    """A top-level element of undefined length, and the offset after it.

    Only sequences are taken (pydicom parses them at once; here their bytes are kept, delimiter
    included, and parsed on first access like a sequence of defined length).
    """
    if vr == "UN" and config.settings.infer_sq_for_un_vr:
        vr = "SQ"
    if vr is None:
        try:
            vr = dictionary_VR(btag)
        except KeyError:
            if value_tell + 4 <= n and _tag(data, value_tell) == _ITEM:
                vr = "SQ"
    if vr != "SQ":
        raise _Unusual
    end = _skip_sequence(data, value_tell, n, implicit)
    return RawDataElement(btag, "SQ", _UNDEFINED, data[value_tell:end], value_tell, implicit,
                          True), end


def _tag(data: bytes, pos: int) -> int:
    group, elem = _TAG(data, pos)
    return int(group << 16 | elem)


def _skip_sequence(data: bytes, pos: int, n: int, implicit: bool) -> int:
    """Offset just after the Sequence Delimitation Item of the sequence whose items start at
    `pos` (items of defined length are jumped over, undefined ones walked)."""
    while True:
        if pos + 8 > n:
            raise _Unusual
        group, elem, length = _IMPLICIT(data, pos)
        tag = group << 16 | elem
        pos += 8
        if tag == _SEQUENCE_END:
            return pos
        if tag != _ITEM:
            raise _Unusual
        if length == _UNDEFINED:
            pos = _skip_item(data, pos, n, implicit)
        else:
            pos += length
            if pos > n:
                raise _Unusual


def _skip_item(data: bytes, pos: int, n: int, implicit: bool) -> int:
    """Offset just after the Item Delimitation Item of the item whose elements start at `pos`.

    An item of an explicit-VR file may be encoded implicitly (pydicom checks its first element,
    PS3.5 6.2.2); an element of undefined length in it is a sequence or encapsulated data, both
    a run of items ending with a Sequence Delimitation Item.
    """
    if not implicit and pos + 6 <= n:
        vr0 = data[pos + 4:pos + 6]
        implicit = not (0x40 < vr0[0] < 0x5B and 0x40 < vr0[1] < 0x5B)
    while True:
        if pos + 8 > n:
            raise _Unusual
        if implicit:
            group, elem, length = _IMPLICIT(data, pos)
            header = 8
        else:
            group, elem, vr_bytes, length = _EXPLICIT(data, pos)
            if group == 0xFFFE:  # a delimiter (no VR): only the item's end belongs here
                if elem != 0xE00D:
                    raise _Unusual
                return pos + 8
            if vr_bytes not in _VRS:
                raise _Unusual
            elif vr_bytes in _LONG_VRS:
                if pos + 12 > n:
                    raise _Unusual
                length = _UL(data, pos + 8)[0]
                header = 12
            else:
                header = 8
        if group << 16 | elem == _ITEM_END:
            return pos + 8
        pos += header
        if length == _UNDEFINED:
            if pos + 4 > n or _tag(data, pos) not in (_ITEM, _SEQUENCE_END):
                raise _Unusual
            pos = _skip_sequence(data, pos, n, implicit)
        else:
            pos += length
            if pos > n:
                raise _Unusual
