"""Reading and checking one DICOM header: is this a decodable image, and where are its pixels?

Owns `read_header` (the file opened once, parsed up to (7FE0,0010) Pixel Data, the pixel
data's byte range recorded as a `PixelLocation`), the sniffing of non-DICOM files, and the
header validation (`_validate_header`: DICOMDIR, no file meta, no image, structured reports,
transfer syntax, truncation) whose messages a technologist can act on. Part of the loader
behind `imgqa.io.dicom`, which re-exports the public names.
"""

from __future__ import annotations

import functools
import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import BinaryIO

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGExtended12Bit,
)

from imgqa import _lean_imports
from imgqa.errors import (
    CorruptDicomError,
    ImgqaError,
    NoPixelDataError,
    NotDicomError,
    UnsupportedTransferSyntaxError,
)
from imgqa.io import archive as _arc
from imgqa.io import noise
from imgqa.io.header_facts import _int, _meta_text, _tag_vr, _text
from imgqa.io.header_scan import first_read_size, scan_file
from imgqa.io.sources import Source, _short

# Scanner files often bend the VR rules (a "60.0 kV" in a UI element...). Read them as they are;
# the checks that matter for QC are ours, below, with messages a technologist can act on.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE


PIXEL_DATA = Tag(0x7FE0, 0x0010)
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
# Structured Report storage SOP classes all sit under this root (DICOM PS3.4 annex B.5);
# these are the radiation dose reports among them (X-Ray, Radiopharmaceutical, Patient,
# Enhanced X-Ray Radiation Dose SR). They are loaded as dose reports (`imgqa.io.dose_sr`);
# other SRs get their own message instead of "holds no image", which confused users.
SR_SOP_CLASS_ROOT = "1.2.840.10008.5.1.4.1.1.88."
DOSE_SR_SOP_CLASSES = frozenset(SR_SOP_CLASS_ROOT + n for n in ("67", "68", "73", "76"))

# Magic numbers of files people drop by mistake, to name them in the message.
_MAGIC = [
    (b"\x89PNG", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"GIF8", "a GIF picture"),
    (b"II*\x00", "a TIFF picture"),
    (b"MM\x00*", "a TIFF picture"),
    (b"BM", "a bitmap picture"),
]


# ---------------------------------------------------------------------------------------------
# Reading one header
# ---------------------------------------------------------------------------------------------
def _sniff(head: bytes, name: str) -> bool:
    """True when the file has a DICOM preamble; raise NotDicomError when it clearly is not DICOM.

    Returns False for a plausible DICOM stream without preamble (read with force).
    """
    short = _short(name)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotDicomError(f"{short} is {what}, not a DICOM image.", path=name)
    if len(head) < 8:
        raise NotDicomError(f"{short} is too short to be a DICOM image ({len(head)} bytes).",
                            path=name)
    # Without a preamble a DICOM stream starts with a group 0002 or 0008 tag, little or big endian.
    if head[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"):
        return False
    raise NotDicomError(f"{short} is not a DICOM file.", path=name)


def _refuse_structured_report(ds: pydicom.Dataset, short: str, name: str) -> None:
    """Raise `NoPixelDataError` with a message of its own when ``ds`` is a Structured Report
    (Modality SR or an SR SOP Class UID); return for any other dataset."""
    sop = str(ds.get("SOPClassUID", "") or "")
    modality = str(ds.get("Modality", "") or "").upper()
    if modality != "SR" and not sop.startswith(SR_SOP_CLASS_ROOT):
        return
    if sop in DOSE_SR_SOP_CLASSES or "dose" in _concept_name(ds).lower():
        raise DoseReportFound(ds, short, name)
    raise NoPixelDataError(f"{short} is a structured report (SR), not an image.", path=name)


class DoseReportFound(NoPixelDataError):
    """A dose SR (no image): `imgqa.io.dicom.load_report` turns it into an input via
    `imgqa.io.dose_sr`; any other caller of `read_header` sees a `NoPixelDataError` naming it
    (issue 15)."""

    def __init__(self, ds: pydicom.Dataset, short: str, name: str) -> None:
        super().__init__(f"{short} is a dose structured report (SR), not an image.", path=name,
                         hint="Analyse it with the dose.report test (imgqa analyse).")
        self.dataset = ds


def _concept_name(ds: pydicom.Dataset) -> str:
    """The SR document title, (0040,A043) Concept Name Code Sequence → Code Meaning, or ''."""
    try:
        return str(ds.ConceptNameCodeSequence[0].CodeMeaning)
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""


@dataclass(frozen=True, slots=True)
class PixelLocation:
    """Where a file's (7FE0,0010) Pixel Data value lies, so it can be read without the header.

    Attributes
    ----------
    offset : int
        Byte offset of the value (after tag, VR and length) in the file or zip member.
    length : int
        Value length in bytes; ``UNDEFINED_LENGTH`` for encapsulated (compressed) data.
    little_endian : bool
    transfer_syntax : str
    in_stream : bool
        False when the offset cannot be used directly (deflated files): decode then re-reads
        the whole file with pydicom.
    """

    offset: int
    length: int
    little_endian: bool
    transfer_syntax: str
    in_stream: bool = True


UNDEFINED_LENGTH = 0xFFFFFFFF
_PIXEL_TAG_LE = struct.pack("<HH", 0x7FE0, 0x0010)  # (7FE0,0010) as the file encodes it
_PIXEL_TAG_BE = struct.pack(">HH", 0x7FE0, 0x0010)
_EXPLICIT_LONG_VRS = frozenset({b"OB", b"OW", b"OD", b"OF", b"OL", b"OV", b"SQ", b"UC", b"UN",
                                b"UR", b"UT", b"SV", b"UV"})
# Elements this large stay on disk until asked for (overlays, private blobs before the image).
_DEFER_SIZE = 256 * 1024
_PIXEL_ATTR = "_imgqa_pixels"  # where a header dataset keeps its PixelLocation


def _stream_size(fh: BinaryIO) -> int:
    if isinstance(fh, io.BytesIO):
        return len(fh.getbuffer())
    if isinstance(fh, _arc.LimitedReader):
        return fh.size  # declared; a lie is caught by the byte limit and the CRC check
    return os.fstat(fh.fileno()).st_size


def read_header(src: Source) -> tuple[Dataset, list[str]]:
    """Parse a file's header (pixel data left on disk) and check it holds a decodable image.

    The file is opened once; pydicom parses up to (7FE0,0010) Pixel Data and stops, and the
    position and length of the pixel data are recorded (`PixelLocation`, also kept on the
    dataset) so that decoding later reads only that byte range. The dataset gets a deferred
    Pixel Data element, so ``ds.pixel_array`` still works for files on disk.

    Returns
    -------
    dataset, flags
        ``flags`` notes non-conformance that was worked around.

    Raises
    ------
    NotDicomError, CorruptDicomError, NoPixelDataError, UnsupportedTransferSyntaxError
    """
    name = src.name
    short = _short(name)
    flags: list[str] = []
    try:
        fh = src.open()
    except ImgqaError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _arc.damaged_archive(src.path, exc, src.member) from None
    except (OSError, KeyError, RuntimeError) as exc:
        raise CorruptDicomError(f"{short} cannot be opened: "
                                f"{getattr(exc, 'strerror', None) or _brief(exc)}.",
                                hint="Check that the file is readable.", path=name) from None
    try:
        with fh:
            # A file on disk: the scan's first read serves the sniffing too (one read, one stat).
            stat = os.fstat(fh.fileno()) if type(fh) is io.BufferedReader else None
            size = stat.st_size if stat is not None else _stream_size(fh)
            head = fh.read(first_read_size(size) if stat is not None else 132)
            has_preamble = _sniff(head, name)
            fh.seek(0)
            data = b""
            try:
                with noise.captured() as notes:
                    # The common file by the fast scan (same dataset); the rest by pydicom.
                    scanned = scan_file(fh, _DEFER_SIZE, head, stat) if has_preamble else None
                    if scanned is not None:
                        ds, data = scanned
                    else:
                        ds = pydicom.dcmread(fh, force=not has_preamble, defer_size=_DEFER_SIZE,
                                             stop_before_pixels=True)
            except InvalidDicomError:
                raise NotDicomError(f"{short} is not a DICOM file.", path=name) from None
            except ImgqaError:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise _arc.damaged_archive(src.path, exc, src.member) from None
            except Exception as exc:  # noqa: BLE001 - pydicom raises many types on damaged bytes
                why = noise.detail(notes) or _brief(exc)
                raise CorruptDicomError(f"{short} is damaged and cannot be read "
                                        f"({why}).", path=name) from None
            stop = fh.tell()
            location = _locate_pixels(fh, ds, size, name, data)
            if location is None:
                _check_not_truncated(ds, size, name, stop)
            if isinstance(fh, _arc.LimitedReader):
                # Read the rest in bounded chunks: zipfile checks the CRC-32 at the end, and
                # the byte limit holds for the whole member (memory stays at one chunk).
                fh.drain()
                # pydicom keeps the stream it read as `buffer`; once closed it serves nothing
                # and, holding the archive's file, it stops the dataset from being pickled
                # (a zip's series sent to the desktop window's worker processes).
                ds.buffer = None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _arc.damaged_archive(src.path, exc, src.member) from None
    except OSError as exc:
        raise CorruptDicomError(f"{short} cannot be read: {exc.strerror or _brief(exc)}.",
                                path=name) from None
    try:
        _validate_header(ds, name, short, has_preamble, flags, location, size)
    except (ImgqaError, _DicomDir):
        raise
    except Exception as exc:  # noqa: BLE001 - damaged values surface when accessed
        raise CorruptDicomError(f"{short} has damaged header values ({_brief(exc)}).",
                                path=name) from None
    return ds, flags


def _locate_pixels(fh: BinaryIO, ds: Dataset, size: int, name: str, data: bytes = b""
                   ) -> PixelLocation | None:
    """Read the Pixel Data element header where pydicom stopped; None when there is none.

    `data`: the file's first bytes as the scan read them, where that header usually is.
    """
    tsyntax = _meta_text(ds, "TransferSyntaxUID")
    implicit, little = ds.original_encoding
    if implicit is None:
        implicit, little = True, True
    if tsyntax == str(DeflatedExplicitVRLittleEndian):
        # pydicom parsed an inflated copy: positions in the file mean nothing. Rare; check
        # for pixel data by a full read and let decoding re-read the file.
        fh.seek(0)
        full = pydicom.dcmread(fh, force=True)
        if PIXEL_DATA not in full:
            return None
        elem = full.get_item(PIXEL_DATA)
        loc = PixelLocation(0, int(getattr(elem, "length", 0) or 0), True, tsyntax,
                            in_stream=False)
        object.__setattr__(ds, _PIXEL_ATTR, loc)
        return loc
    start = fh.tell()
    hdr = data[start:start + 12] if start + 12 <= len(data) else fh.read(12)
    if len(hdr) < 8:
        return None
    end = "<" if little else ">"
    if hdr[:4] != (_PIXEL_TAG_LE if little else _PIXEL_TAG_BE):
        return None  # float/double pixel data or trailing junk: reported by the validation
    if implicit:
        (length,) = struct.unpack(end + "L", hdr[4:8])
        value_offset, vr = start + 8, "OB" if (_int(ds, "BitsAllocated", 16) or 16) <= 8 \
            else "OW"
    else:
        vr_bytes = hdr[4:6]
        if vr_bytes in _EXPLICIT_LONG_VRS:
            if len(hdr) < 12:
                return None
            (length,) = struct.unpack(end + "L", hdr[8:12])
            value_offset = start + 12
        else:
            (length,) = struct.unpack(end + "H", hdr[6:8])
            value_offset = start + 8
        vr = vr_bytes.decode("latin-1") if vr_bytes.isalpha() else "OB"
    loc = PixelLocation(value_offset, int(length), bool(little), tsyntax or
                        str(ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian))
    # A deferred element: pydicom (ds.pixel_array, ds.PixelData) reads it from disk on demand.
    ds._dict[PIXEL_DATA] = RawDataElement(PIXEL_DATA, vr, int(length), None, value_offset,
                                          bool(implicit), bool(little))
    object.__setattr__(ds, _PIXEL_ATTR, loc)
    return loc


def _check_not_truncated(ds: Dataset, size: int, name: str, stop: int | None = None) -> None:
    """A header that ends inside an element is a truncated file, not a file without image."""
    if stop is not None and 0 < size - stop < 8:  # pydicom ends quietly on a partial tag
        raise CorruptDicomError(f"{_short(name)} is truncated: the file ends in the middle of "
                                "its header.", path=name)
    if not ds._dict:
        return
    last = next(reversed(list(ds._dict.values())))
    length = getattr(last, "length", 0)
    value = getattr(last, "value", None)
    tell = getattr(last, "value_tell", None)
    if length in (None, UNDEFINED_LENGTH) or tell is None:
        return
    short_value = isinstance(value, (bytes, bytearray)) and len(value) < length
    # Bytes after the last whole element that pydicom did not parse: a cut-off tag.
    partial_tag = 0 < size - (tell + length) < 8
    if short_value or partial_tag or tell + length > size:
        raise CorruptDicomError(f"{_short(name)} is truncated: the file ends in the middle of "
                                "its header.", path=name)


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _validate_header(ds: Dataset, name: str, short: str, has_preamble: bool,
                     flags: list[str], location: PixelLocation | None = None,
                     size: int | None = None) -> None:
    """Check that a parsed header is an image imgqa can decode; raise the reason otherwise.

    In order: not empty and not a DICOMDIR (`_DicomDir`: skipped quietly); without file meta,
    the transfer syntax is guessed from the encoding and flagged; it holds pixel data (a
    structured report gets its own message); Rows, Columns and Bits Allocated are valid; the
    transfer syntax is known and decodable, and the pixel data's length fits it.
    """
    if len(ds) == 0:
        raise NotDicomError(f"{short} is not a DICOM file.", path=name)
    sop_class = _text(ds, "SOPClassUID")
    if sop_class == DICOMDIR_SOP_CLASS or _tag_vr("DirectoryRecordSequence")[0] in ds._dict or \
            _meta_text(ds, "MediaStorageSOPClassUID") == DICOMDIR_SOP_CLASS:
        raise _DicomDir()
    if not has_preamble or not _meta_text(ds, "TransferSyntaxUID"):
        _guess_file_meta(ds, location)
        flags.append("read without DICOM file meta (no preamble); transfer syntax guessed")
        # A stream without the group 0008 basics is not an image we can trust.
        if "SOPClassUID" not in ds and "Modality" not in ds and location is None:
            raise NotDicomError(f"{short} is not a DICOM file.", path=name)
    if location is None:
        _refuse_structured_report(ds, short, name)
        kind = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
        raise NoPixelDataError(
            f"{short} holds no image: (7FE0,0010) Pixel Data is missing"
            + (" (it has float pixel data, which imgqa does not read)." if kind else "."),
            path=name)
    for kw in ("Rows", "Columns", "BitsAllocated"):
        try:
            value = _int(ds, kw, 0) or 0
        except (TypeError, ValueError):
            value = 0
        if value <= 0:
            raise CorruptDicomError(f"{short} has no valid {kw} element, so its image cannot be "
                                    "read.", path=name)
    _check_transfer_syntax(ds, name, short, location, size)


def _guess_file_meta(ds: Dataset, location: PixelLocation | None) -> None:
    """Read with force: record how the stream was encoded so the pixel decoder knows."""
    meta = getattr(ds, "file_meta", None)
    if meta is None:
        ds.file_meta = meta = FileMetaDataset()
    if getattr(meta, "TransferSyntaxUID", None):
        return
    implicit, little = ds.original_encoding
    if implicit is None:
        implicit, little = True, True
    meta.TransferSyntaxUID = (
        ImplicitVRLittleEndian if implicit else
        (ExplicitVRLittleEndian if little else ExplicitVRBigEndian))
    if location is not None:
        object.__setattr__(ds, _PIXEL_ATTR, PixelLocation(
            location.offset, location.length, location.little_endian,
            str(meta.TransferSyntaxUID), location.in_stream))


def _check_transfer_syntax(ds: Dataset, name: str, short: str, location: PixelLocation,
                           size: int | None) -> None:
    """A known transfer syntax with a decoder here, and pixel data encoded as it says."""
    text = _text(ds.file_meta, "TransferSyntaxUID")
    known, compressed = _syntax_kind(text)
    if not known:
        raise UnsupportedTransferSyntaxError(
            f"{short} uses the unknown transfer syntax {UID(text)}, which imgqa cannot decode.",
            path=name)
    if not compressed:
        _check_native_length(ds, name, short, location, size)
        return
    tsyntax = UID(text)
    if tsyntax == JPEGExtended12Bit and (_int(ds, "BitsStored", 8) or 8) > 8:
        # Only libjpeg (GPL-3.0, not bundled: docs/licences.md) decodes 12-bit JPEG.
        raise UnsupportedTransferSyntaxError(
            f"{short} is compressed as 12-bit 'JPEG Extended' ({tsyntax}), which imgqa "
            "cannot decode.", path=name)
    if not _decoder_available(tsyntax):
        raise UnsupportedTransferSyntaxError(
            f"{short} is compressed as '{tsyntax.name}' ({tsyntax}), which imgqa cannot "
            "decode.", path=name)
    if location.length != UNDEFINED_LENGTH and location.in_stream:
        raise CorruptDicomError(f"{short} says its image is compressed ('{tsyntax.name}') "
                                "but the pixel data is not encapsulated.", path=name)


@functools.lru_cache(maxsize=64)
def _syntax_kind(tsyntax: str) -> tuple[bool, bool]:
    """(a known transfer syntax, a compressed one): pydicom's `UID` properties, looked up
    once per syntax instead of once per file."""
    uid = UID(tsyntax)
    return uid.is_transfer_syntax, uid.is_transfer_syntax and uid.is_compressed


@functools.lru_cache(maxsize=64)
def _decoder_available(tsyntax: str) -> bool:
    """True when a pixel-data decoder plugin for this compressed transfer syntax is installed."""
    from pydicom.pixels import get_decoder

    _lean_imports.ensure_codecs()
    try:
        return bool(get_decoder(UID(tsyntax)).is_available)
    except (NotImplementedError, ValueError):
        return False


def _check_native_length(ds: Dataset, name: str, short: str,
                         location: PixelLocation | None = None, size: int | None = None) -> None:
    """Reject uncompressed pixel data shorter than the image size says (truncated copies)."""
    loc = location or getattr(ds, _PIXEL_ATTR, None)
    if loc is None:
        return
    if loc.length == UNDEFINED_LENGTH:
        raise CorruptDicomError(f"{short} has encapsulated pixel data but an uncompressed "
                                "transfer syntax.", path=name)
    expected = _frame_nbytes(ds) * _number_of_frames(ds)
    if loc.length < expected:
        raise CorruptDicomError(
            f"{short} is truncated: its image needs {expected} bytes of pixel data but the file "
            f"holds {loc.length}.", path=name)
    if size is not None and loc.in_stream and loc.offset + expected > size:
        raise CorruptDicomError(
            f"{short} is truncated: the file ends before the end of its image "
            f"({size} bytes, {loc.offset + expected} needed).", path=name)


def _frame_nbytes(ds: Dataset) -> int:
    """Bytes of one uncompressed frame (bit-packed 1-bit images rounded up)."""
    spp = _int(ds, "SamplesPerPixel", 1) or 1
    bits = _int(ds, "BitsAllocated", 16) or 16
    return ((_int(ds, "Rows", 0) or 0) * (_int(ds, "Columns", 0) or 0) * spp * bits + 7) // 8


class _DicomDir(Exception):
    """Internal: the file is a DICOMDIR index, to be skipped quietly."""


def _number_of_frames(ds: Dataset) -> int:
    """(0028,0008) Number of Frames; 0, empty or unreadable is read as 1 (as pydicom does)."""
    return max(_int(ds, "NumberOfFrames", 1) or 1, 1)
