"""Read DICOM files, folders and zip archives into `ImageSeries`.

What this module promises (the rest of imgqa relies on it):

* Files, folders (recursive) and zip archives are accepted; files without the 128-byte preamble
  or file meta are read anyway and flagged; DICOMDIR files are skipped.
* Images are grouped into series by (0020,000E) Series Instance UID and split when geometry
  (matrix, orientation, pixel spacing) differs; slices are ordered by their position along the
  slice normal, never by file name or Instance Number (those are fall-backs only).
* Multi-frame files (enhanced MR/CT with functional groups, NM with frame vectors) become one
  series each, one `Frame` per frame, with per-frame rescale and position.
* Pixel values come out in physical units (Rescale Slope/Intercept), decoded lazily.
* Pixel spacing is taken from functional groups, (0028,0030) Pixel Spacing, or (0018,1164)
  Imager Pixel Spacing (divided by the magnification factor when given); without any, the
  series is in the explicit "spacing unknown" state.
* Every file that cannot be used is reported as a `Problem` with a plain-language reason, and
  loading goes on with the rest.
* Speed (docs/loading.md): each file is opened once and parsed up to the pixel data, whose
  offset and length are recorded; uncompressed frames are read by byte range and viewed with
  numpy, compressed ones go through pydicom's decoders; the SHA-256 identity is computed only
  when asked for. Decoding modifies nothing shared, so worker threads may decode concurrently.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import stat
import struct
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
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

from imgqa.errors import (
    CorruptDicomError,
    EmptyInputError,
    ImgqaError,
    NoPixelDataError,
    NotDicomError,
    PixelDecodeError,
    UnreadableInputError,
    UnsafeArchiveError,
    UnsupportedTransferSyntaxError,
)
from imgqa.io import archive as _arc
from imgqa.io import noise
from imgqa.io.series import Equipment, Frame, Geometry, HeaderSummary, ImageSeries

log = logging.getLogger(__name__)

# Scanner files often bend the VR rules (a "60.0 kV" in a UI element...). Read them as they are;
# the checks that matter for QC are ours, below, with messages a technologist can act on.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

# Projection images are independent exposures: each is analysed (and listed) on its own even
# when the modality puts several in one series.
PROJECTION_MODALITIES = frozenset({"DX", "CR", "MG", "IO", "PX", "RG", "RF", "XA"})

__all__ = ["Problem", "SeriesList", "iter_sources", "load", "load_report", "read_header"]

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


@dataclass(frozen=True, slots=True)
class Problem:
    """A file that could not be used, and why (for the problems list/panel)."""

    path: str
    error: str
    hint: str = ""
    kind: str = "ImgqaError"

    @classmethod
    def from_error(cls, path: str, exc: ImgqaError) -> Problem:
        return cls(path=path, error=exc.message, hint=exc.hint, kind=type(exc).__name__)

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "error": self.error, "hint": self.hint, "kind": self.kind}


class SeriesList(list):
    """A list of `ImageSeries` that also carries what could not be loaded.

    Attributes
    ----------
    problems : list of Problem
        Files that were rejected, each with the reason.
    skipped : list of str
        Files deliberately ignored (DICOMDIR, duplicates of an image already loaded).
    """

    def __init__(self, series: Iterable[ImageSeries] = (), problems: Sequence[Problem] = (),
                 skipped: Sequence[str] = ()) -> None:
        super().__init__(series)
        self.problems: list[Problem] = list(problems)
        self.skipped: list[str] = list(skipped)


# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Source:
    """A file to read: a path on disk, or a member of a zip archive.

    Files are opened without blocking and only when regular (`archive.open_regular`); members
    are read as bounded streams from the archive opened once for the whole load.
    """

    name: str                 # shown to users; "archive.zip::member" for zip members
    path: Path
    member: str | None = None
    info: zipfile.ZipInfo | None = field(default=None, compare=False, repr=False)

    def open(self) -> BinaryIO:
        if self.member is None:
            return _arc.open_regular(self.path)
        arc = _arc.open_archive(self.path)
        info = self.info if self.info is not None else arc.zf.getinfo(self.member)
        return _arc.open_member(arc, info, self.name)  # type: ignore[return-value]


def _is_hidden(p: Path) -> bool:
    return p.name.startswith(".")


# Documentation and sidecar files found beside images (ground truth, licences, READMEs): skipped
# quietly rather than reported as "not DICOM".
_SIDECAR_SUFFIXES = frozenset({".json", ".txt", ".md", ".csv", ".xml", ".log", ".ini", ".yaml",
                               ".yml", ".toml", ".html", ".htm", ".py", ".db", ".sqlite"})
_SIDECAR_NAMES = ("license", "licence", "readme", "manifest", "copying", "notice")


def _is_sidecar(p: Path) -> bool:
    name = p.name.lower()
    return p.suffix.lower() in _SIDECAR_SUFFIXES or name.startswith(_SIDECAR_NAMES)


def iter_sources(paths: Iterable[str | os.PathLike[str]], problems: list[Problem],
                 skipped: list[str] | None = None) -> Iterator[Source]:
    """Every candidate file under `paths` (files, folders recursively, zip members).

    Nothing here opens a file that is not regular, so a named pipe cannot block the load; a
    folder that cannot be read and an archive that is damaged or unsafe become problems.
    """
    for raw in paths:
        p = Path(raw)
        try:
            mode = os.stat(p).st_mode
        except FileNotFoundError:
            problems.append(Problem(str(p), f"{p} does not exist.",
                                    "Check the path; the drive may be disconnected.",
                                    "EmptyInputError"))
            continue
        except OSError as exc:
            problems.append(_unreadable(p, exc, "file"))
            continue
        if stat.S_ISDIR(mode):
            found = False
            failed: list[Path] = []

            def on_error(exc: OSError, failed=failed, top=p) -> None:
                # os.walk would otherwise skip an unreadable folder without a word
                where = Path(exc.filename) if exc.filename else top
                failed.append(where)
                problems.append(_unreadable(where, exc, "folder"))

            for root, dirs, files in os.walk(p, onerror=on_error):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for fname in sorted(files):
                    fp = Path(root) / fname
                    if _is_hidden(fp):
                        continue
                    found = True
                    if _is_sidecar(fp):
                        if skipped is not None:
                            skipped.append(f"{fp}: not an image (skipped)")
                        continue
                    yield from _expand_file(fp, problems, skipped, explicit=False)
            if not found and not failed:
                problems.append(Problem(str(p), f"The folder {p} contains no files.",
                                        EmptyInputError.default_hint, "EmptyInputError"))
        else:
            yield from _expand_file(p, problems, skipped, explicit=True)


def _unreadable(p: Path, exc: OSError, what: str) -> Problem:
    """'cannot read folder X: permission denied', with a hint."""
    reason = (exc.strerror or type(exc).__name__).lower()
    return Problem(str(p), f"cannot read {what} {p}: {reason}",
                   UnreadableInputError.default_hint, "UnreadableInputError")


def _expand_file(fp: Path, problems: list[Problem], skipped: list[str] | None = None,
                 explicit: bool = True) -> Iterator[Source]:
    try:
        mode = os.stat(fp).st_mode
    except OSError as exc:
        problems.append(_unreadable(fp, exc, "file"))
        return
    kind = _arc.not_regular_kind(mode)
    if kind is not None:
        # A named pipe would block the load forever, a device may never end: never opened.
        if explicit:
            problems.append(Problem.from_error(str(fp), _arc.not_regular_error(fp, kind)))
        elif skipped is not None:
            skipped.append(f"{fp}: {kind}, not an ordinary file (skipped)")
        return
    if fp.suffix.lower() == ".zip":
        yield from _expand_zip(fp, problems)
    else:
        yield Source(str(fp), fp)


def _expand_zip(fp: Path, problems: list[Problem]) -> Iterator[Source]:
    """The members of an archive, opened once; damaged or unsafe archives become problems."""
    try:
        arc = _arc.open_archive(fp)
        infos = [i for i in arc.zf.infolist()
                 if not i.is_dir() and not Path(i.filename).name.startswith(".")
                 and "__MACOSX" not in i.filename]
        _arc.check_archive(fp, infos)
    except ImgqaError as exc:
        problems.append(Problem.from_error(str(fp), exc))
        return
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        problems.append(Problem.from_error(str(fp), _arc.damaged_archive(fp, exc)))
        return
    except OSError as exc:
        problems.append(_unreadable(fp, exc, "file"))
        return
    if not infos:
        problems.append(Problem(str(fp), f"The zip archive {fp.name} is empty.",
                                EmptyInputError.default_hint, "EmptyInputError"))
    for info in sorted(infos, key=lambda i: i.filename):
        name = f"{fp}::{info.filename}"
        try:
            _arc.check_member(fp, info)
        except UnsafeArchiveError as exc:
            problems.append(Problem.from_error(name, exc))
            continue
        yield Source(name, fp, info.filename, info)


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
    """A dose SR (no image): `load_report` turns it into an input via `imgqa.io.dose_sr`; any
    other caller of `read_header` sees a `NoPixelDataError` naming it (issue 15)."""

    def __init__(self, ds: pydicom.Dataset, short: str, name: str) -> None:
        super().__init__(f"{short} is a dose structured report (SR), not an image.", path=name,
                         hint="Analyse it with the dose.report test (imgqa analyse).")
        self.dataset = ds


def _dose_report_series(src: Source, ds: Dataset) -> ImageSeries:
    """The hook to `imgqa.io.dose_sr`: a dose SR as a `DoseReportSeries` (no images)."""
    from imgqa.io.dose_sr import report_series

    with src.open() as fh:
        data = fh.read()
    return report_series(ds, src.name, _summary(ds), data)


def _concept_name(ds: pydicom.Dataset) -> str:
    """The SR document title, (0040,A043) Concept Name Code Sequence → Code Meaning, or ''."""
    try:
        return str(ds.ConceptNameCodeSequence[0].CodeMeaning)
    except (AttributeError, IndexError, KeyError, TypeError):
        return ""


def _short(name: str) -> str:
    """The file name shown in messages (the member name for a zip member)."""
    return os.path.basename(name.split("::")[-1].rstrip("/\\")) or name


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
            head = fh.read(132)
            has_preamble = _sniff(head, name)
            fh.seek(0)
            size = _stream_size(fh)
            try:
                with noise.captured() as notes:
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
            location = _locate_pixels(fh, ds, size, name)
            if location is None:
                _check_not_truncated(ds, size, name, stop)
            if isinstance(fh, _arc.LimitedReader):
                # Read the rest in bounded chunks: zipfile checks the CRC-32 at the end, and
                # the byte limit holds for the whole member (memory stays at one chunk).
                fh.drain()
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


def _locate_pixels(fh: BinaryIO, ds: Dataset, size: int, name: str) -> PixelLocation | None:
    """Read the Pixel Data element header where pydicom stopped; None when there is none."""
    tsyntax = str(getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", "") or "")
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
        loc = PixelLocation(0, int(elem.length or 0), True, tsyntax, in_stream=False)
        object.__setattr__(ds, _PIXEL_ATTR, loc)
        return loc
    start = fh.tell()
    hdr = fh.read(12)
    if len(hdr) < 8:
        return None
    end = "<" if little else ">"
    group, element = struct.unpack(end + "HH", hdr[:4])
    if (group, element) != (0x7FE0, 0x0010):
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
    last = next(reversed(ds._dict.values()))
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
    if len(ds) == 0:
        raise NotDicomError(f"{short} is not a DICOM file.", path=name)
    meta = getattr(ds, "file_meta", None)
    sop_class = _text(ds, "SOPClassUID")
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds or \
            str(getattr(meta, "MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS:
        raise _DicomDir()
    if not has_preamble or not getattr(meta, "TransferSyntaxUID", None):
        # Read with force: record how it was encoded so the pixel decoder knows.
        if meta is None:
            ds.file_meta = meta = FileMetaDataset()
        if not getattr(meta, "TransferSyntaxUID", None):
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
    tsyntax = UID(str(ds.file_meta.TransferSyntaxUID))
    if not tsyntax.is_transfer_syntax:
        raise UnsupportedTransferSyntaxError(
            f"{short} uses the unknown transfer syntax {tsyntax}, which imgqa cannot decode.",
            path=name)
    if tsyntax.is_compressed:
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
    else:
        _check_native_length(ds, name, short, location, size)


@functools.lru_cache(maxsize=64)
def _decoder_available(tsyntax: str) -> bool:
    """True when a pixel-data decoder plugin for this compressed transfer syntax is installed."""
    from pydicom.pixels import get_decoder

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


# ---------------------------------------------------------------------------------------------
# Header facts
# ---------------------------------------------------------------------------------------------
# Per-file facts are read straight from the raw element bytes when the VR is plain ASCII (UIDs,
# code strings, decimal and integer strings, dates) or a binary unsigned short: the same values
# pydicom would give, without building a DataElement for each (loading speed, issue 2).
_ASCII_VRS = frozenset({"UI", "CS", "DS", "IS", "AS", "DA", "TM", "DT"})


@functools.cache
def _tag_vr(kw: str) -> tuple[int, str]:
    tag = tag_for_keyword(kw)
    if tag is None:
        raise KeyError(kw)
    return tag, dictionary_VR(tag)


def _raw_text(ds: Dataset, kw: str) -> str | None:
    """The value of `kw` as text (multiple values joined by a backslash); None when absent."""
    tag, vr = _tag_vr(kw)
    elem = ds._dict.get(tag)
    if elem is None:
        return None
    if (type(elem) is RawDataElement and vr in _ASCII_VRS and elem.value is not None
            and elem.VR in (None, vr)):
        return elem.value.decode("latin-1").strip(" \x00")
    v = ds[tag].value
    if v is None:
        return ""
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(x) for x in v)
    return str(v).strip()


def _text(ds: Dataset, kw: str) -> str:
    return _raw_text(ds, kw) or ""


def _int(ds: Dataset, kw: str, default: int | None = None) -> int | None:
    """An integer element (US, IS...), or `default` when absent or unreadable."""
    tag, vr = _tag_vr(kw)
    elem = ds._dict.get(tag)
    if elem is None:
        return default
    try:
        if type(elem) is RawDataElement and vr == "US" and elem.VR in (None, "US") \
                and elem.value is not None and len(elem.value) >= 2:
            return struct.unpack("<H" if elem.is_little_endian else ">H", elem.value[:2])[0]
        text = _raw_text(ds, kw)
        if not text:
            return default
        return int(float(text.split("\\")[0]))
    except (TypeError, ValueError, OverflowError, struct.error):
        return default


def _floats_kw(ds: Dataset, kw: str, n: int) -> tuple[float, ...] | None:
    """Exactly `n` finite numbers from a (multi-valued) element, else None."""
    tag, vr = _tag_vr(kw)
    if tag not in ds._dict:
        return None
    try:
        if vr in _ASCII_VRS:
            text = _raw_text(ds, kw)
            if not text:
                return None
            return _floats(text.split("\\"), n)
        return _floats(ds[tag].value or (), n)
    except (TypeError, ValueError):
        return None


def _float(ds: Dataset, kw: str) -> float | None:
    try:
        tag, vr = _tag_vr(kw)
        if tag not in ds._dict:
            return None
        if vr in _ASCII_VRS:
            text = _raw_text(ds, kw)
            if not text:
                return None
            f = float(text.split("\\")[0])
        else:
            v = ds[tag].value
            if v is None or v == "":
                return None
            f = float(v[0] if isinstance(v, (list, pydicom.multival.MultiValue)) else v)
        return f if np.isfinite(f) else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        vals = tuple(float(x) for x in value)
    except (TypeError, ValueError, OverflowError):
        return None
    if len(vals) != n or not all(np.isfinite(vals)):
        return None
    return vals


def _first_item(ds: Dataset, *path: str) -> Dataset | None:
    cur: Any = ds
    for kw in path:
        if cur is None or _tag_vr(kw)[0] not in cur._dict:
            return None
        seq = cur.get(kw)
        if not seq:
            return None
        try:
            cur = seq[0]
        except (TypeError, IndexError):
            return None
        if not isinstance(cur, Dataset):
            return None
    return cur


def _datetime(ds: Dataset) -> datetime | None:
    adt = _text(ds, "AcquisitionDateTime")
    if adt:
        parsed = _parse_dt(adt[:8], adt[8:])
        if parsed:
            return parsed
    for d_kw, t_kw in (("AcquisitionDate", "AcquisitionTime"), ("ContentDate", "ContentTime"),
                       ("SeriesDate", "SeriesTime"), ("StudyDate", "StudyTime")):
        parsed = _parse_dt(_text(ds, d_kw), _text(ds, t_kw))
        if parsed:
            return parsed
    return None


def _parse_dt(d: str, t: str) -> datetime | None:
    d = d.strip()
    if len(d) != 8 or not d.isdigit():
        return None
    t = t.strip().split("+")[0].split("-")[0]
    hh, mm, ss = t[0:2], t[2:4], t[4:6]
    try:
        return datetime(int(d[:4]), int(d[4:6]), int(d[6:8]),
                        int(hh or 0), int(mm or 0), int(float(ss or 0)))
    except ValueError:
        return None


_SPACING_NAMES = {
    "PixelSpacing": "(0028,0030) Pixel Spacing",
    "ImagerPixelSpacing": "(0018,1164) Imager Pixel Spacing",
    "NominalScannedPixelSpacing": "(0018,2010) Nominal Scanned Pixel Spacing",
}


def _spacing_value(ds: Dataset, kw: str) -> tuple[tuple[float, float] | None, str]:
    """(row, column) spacing from `kw`, or None with the reason when present but invalid.

    Absent or empty gives (None, ""). A value that is not two finite positive numbers gives
    (None, "pixel spacing -1 mm is invalid (...)"): reported as such, never as "no spacing".
    """
    tag, vr = _tag_vr(kw)
    if tag not in ds._dict:
        return None, ""
    try:
        text = _raw_text(ds, kw) if vr in _ASCII_VRS else "\\".join(
            str(v) for v in (ds[tag].value or ()))
    except Exception:  # noqa: BLE001 - a damaged value is invalid, reported below
        text = "?"
    text = (text or "").strip()
    if not text:
        return None, ""
    parts = [t.strip() for t in text.split("\\")]
    try:
        values = [float(t) for t in parts]
    except ValueError:
        values = []
    if len(values) == 2 and all(np.isfinite(values)) and min(values) > 0:
        return (values[0], values[1]), ""
    shown_values = list(dict.fromkeys(f"{v:g}" for v in values))  # NaN != NaN: compare text
    shown = " x ".join(shown_values) if values else text
    need = "two positive numbers" if len(values) != 2 else "positive and finite"
    return None, (f"pixel spacing {shown} mm is invalid ({_SPACING_NAMES.get(kw, kw)} must be "
                  f"{need}); spacing treated as unknown")


def _spacing(ds: Dataset, frame_groups: Dataset | None
             ) -> tuple[tuple[float, float] | None, str, tuple[float, float] | None, str]:
    """(pixel spacing, its source, detector spacing, problem) per the module doc's precedence.

    The first spacing element present decides: when its value is invalid (negative, zero, NaN,
    infinite, not two numbers) the spacing is unknown and `problem` says why, rather than
    quietly taking a lower-precedence element or reporting "no pixel spacing".
    """
    imager, imager_problem = _spacing_value(ds, "ImagerPixelSpacing")
    for source, group in (("PerFrameFunctionalGroups", frame_groups),
                          ("SharedFunctionalGroups",
                           _first_item(ds, "SharedFunctionalGroupsSequence"))):
        if group is not None:
            pm = _first_item(group, "PixelMeasuresSequence")
            if pm is not None:
                sp, problem = _spacing_value(pm, "PixelSpacing")
                if sp:
                    return sp, source, imager, ""
                if problem:
                    return None, "none", imager, problem.replace(
                        "(0028,0030) Pixel Spacing", f"{source} (0028,0030) Pixel Spacing")
    sp, problem = _spacing_value(ds, "PixelSpacing")
    if sp:
        return sp, "PixelSpacing", imager, ""
    if problem:
        return None, "none", imager, problem
    if imager:
        mag = _float(ds, "EstimatedRadiographicMagnificationFactor")
        if mag and mag > 0 and abs(mag - 1.0) > 1e-6:
            return ((imager[0] / mag, imager[1] / mag),
                    "ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor", imager, "")
        return imager, "ImagerPixelSpacing", imager, ""
    if imager_problem:
        return None, "none", None, imager_problem
    nominal, problem = _spacing_value(ds, "NominalScannedPixelSpacing")
    if nominal:
        return nominal, "NominalScannedPixelSpacing", imager, ""
    return None, "none", imager, problem


def _orientation(ds: Dataset, frame_groups: Dataset | None) -> tuple[float, ...] | None:
    for group in (frame_groups, _first_item(ds, "SharedFunctionalGroupsSequence")):
        if group is not None:
            po = _first_item(group, "PlaneOrientationSequence")
            if po is not None:
                o = _floats_kw(po, "ImageOrientationPatient", 6)
                if o:
                    return o
    return _floats_kw(ds, "ImageOrientationPatient", 6)


def _position(ds: Dataset, frame_groups: Dataset | None) -> tuple[float, float, float] | None:
    if frame_groups is not None:
        pp = _first_item(frame_groups, "PlanePositionSequence")
        if pp is not None:
            p = _floats_kw(pp, "ImagePositionPatient", 3)
            if p:
                return p  # type: ignore[return-value]
    p = _floats_kw(ds, "ImagePositionPatient", 3)
    return p  # type: ignore[return-value]


_RESCALE_NAMES = {"RescaleSlope": "(0028,1053) Rescale Slope",
                  "RescaleIntercept": "(0028,1052) Rescale Intercept"}
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _rescale_value(ds: Dataset, kw: str, name: str) -> tuple[float | None, str]:
    """A rescale element as a finite number, and its text; None when absent or empty.

    Raises CorruptDicomError when present but not a finite number (NaN, inf, text): such a value
    used to become slope 1.0 silently, giving wrong physical values with no warning.
    """
    tag, _ = _tag_vr(kw)
    if tag not in ds._dict:
        return None, ""
    try:
        text = (_raw_text(ds, kw) or "").strip()
    except Exception:  # noqa: BLE001 - damaged value: reported as invalid below
        text = "?"
    if not text:
        return None, ""
    try:
        value = float(text.split("\\")[0])
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise CorruptDicomError(
            f"{_short(name)} has an invalid {_RESCALE_NAMES[kw]} ({text}): its pixel values "
            "cannot be converted to physical units.", hint=_RESCALE_HINT, path=name)
    return value, text


_RESCALE_HINT = ("The scanner or the export wrote a wrong value: export the image again, or "
                 "report it to the vendor.")


def _rescale(ds: Dataset, frame_groups: Dataset | None, name: str) -> tuple[float, float]:
    """(slope, intercept): functional groups first, then the top-level elements.

    Absent values are 1 and 0. A zero, NaN or infinite slope, or one that takes stored values
    past the float32 range (inf pixels), makes the file unusable: CorruptDicomError.
    """
    (slope, s_text), (intercept, i_text) = (None, ""), (None, "")
    for group in (frame_groups, _first_item(ds, "SharedFunctionalGroupsSequence")):
        if group is not None:
            pvt = _first_item(group, "PixelValueTransformationSequence")
            if pvt is not None:
                slope, s_text = _rescale_value(pvt, "RescaleSlope", name)
                intercept, i_text = _rescale_value(pvt, "RescaleIntercept", name)
                if slope is not None or intercept is not None:
                    break
    else:
        slope, s_text = _rescale_value(ds, "RescaleSlope", name)
        intercept, i_text = _rescale_value(ds, "RescaleIntercept", name)
    s = 1.0 if slope is None else slope
    i = 0.0 if intercept is None else intercept
    if s == 0.0:
        raise CorruptDicomError(
            f"{_short(name)} has an invalid {_RESCALE_NAMES['RescaleSlope']} (0): every pixel "
            "would have the same value.", hint=_RESCALE_HINT, path=name)
    bits = _int(ds, "BitsStored", None) or _int(ds, "BitsAllocated", 16) or 16
    largest = abs(s) * 2.0 ** min(bits, 64) + abs(i)  # the largest |physical value| possible
    if not largest < _FLOAT32_MAX:
        which = "RescaleSlope" if abs(s) * 2.0 ** min(bits, 64) >= abs(i) else "RescaleIntercept"
        shown = s_text if which == "RescaleSlope" else i_text
        raise CorruptDicomError(
            f"{_short(name)} has a {_RESCALE_NAMES[which]} of {shown}, too large: its pixel "
            "values would exceed the range imgqa computes in (float32).",
            hint=_RESCALE_HINT, path=name)
    return s, i


# NM frame vectors named by the Frame Increment Pointer, kept as per-frame metadata.
_NM_VECTORS = {
    "EnergyWindowVector": "energy_window",
    "DetectorVector": "detector",
    "PhaseVector": "phase",
    "RotationVector": "rotation",
    "RRIntervalVector": "rr_interval",
    "TimeSlotVector": "time_slot",
    "SliceVector": "slice",
    "AngularViewVector": "angular_view",
    "TimeSliceVector": "time_slice",
}


def _frame_metadata(ds: Dataset, n_frames: int) -> list[dict[str, Any]]:
    meta: list[dict[str, Any]] = [{} for _ in range(n_frames)]
    for kw, key in _NM_VECTORS.items():
        vec = ds.get(kw, None)
        if vec is None:
            continue
        try:
            vals = [int(v) for v in (vec if isinstance(vec, (list, pydicom.multival.MultiValue))
                                     else [vec])]
        except (TypeError, ValueError):
            continue
        if len(vals) == n_frames:
            for m, v in zip(meta, vals):
                m[key] = v
    # Gantry angle per frame for NM tomography: start angle + step * index within rotation.
    rot = _first_item(ds, "RotationInformationSequence")
    if rot is not None and all(k in rot for k in ("StartAngle", "AngularStep")):
        start, step = _float(rot, "StartAngle") or 0.0, _float(rot, "AngularStep") or 0.0
        counts: dict[tuple[Any, Any], int] = defaultdict(int)
        for m in meta:
            k = (m.get("detector"), m.get("rotation"))
            m["angle_deg"] = (start + step * counts[k]) % 360.0
            counts[k] += 1
    return meta


def _summary(ds: Dataset) -> HeaderSummary:
    eq = Equipment(
        manufacturer=_text(ds, "Manufacturer"),
        model=_text(ds, "ManufacturerModelName"),
        serial=_text(ds, "DeviceSerialNumber"),
        station_name=_text(ds, "StationName"),
        institution=_text(ds, "InstitutionName"),
    )
    series_number = _int(ds, "SeriesNumber", None)
    kernel = _text(ds, "ConvolutionKernel")
    image_type = ds.get("ImageType", None) or ()
    if isinstance(image_type, str):
        image_type = (image_type,)
    return HeaderSummary(
        modality=_text(ds, "Modality").upper() or "OT",
        series_uid=_text(ds, "SeriesInstanceUID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_number=series_number,
        series_description=_text(ds, "SeriesDescription"),
        protocol_name=_text(ds, "ProtocolName"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax_uid=str(getattr(ds.file_meta, "TransferSyntaxUID", "")),
        acquired=_datetime(ds),
        equipment=eq,
        rows=_int(ds, "Rows", 0) or 0,
        columns=_int(ds, "Columns", 0) or 0,
        photometric=_text(ds, "PhotometricInterpretation").upper() or "MONOCHROME2",
        bits_stored=_int(ds, "BitsStored", None) or _int(ds, "BitsAllocated", 0) or 0,
        slice_thickness_mm=_float(ds, "SliceThickness"),
        kvp=_float(ds, "KVP"),
        field_strength_t=_float(ds, "MagneticFieldStrength"),
        convolution_kernel=kernel,
        image_type=tuple(str(x) for x in image_type),
    )


# ---------------------------------------------------------------------------------------------
# Pixel decoding
# ---------------------------------------------------------------------------------------------
# Elements a pixel decoder needs; copied into a small dataset per decode so that the shared
# header is never modified (the GUI decodes from worker threads).
_PIXEL_MODULE = ("SamplesPerPixel", "PhotometricInterpretation", "PlanarConfiguration", "Rows",
                 "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                 "NumberOfFrames", "ExtendedOffsetTable", "ExtendedOffsetTableLengths")
# ITU-R BT.601 luma weights: colour screenshots are analysed as their grey level.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# No QC image frame is larger than this; a bigger Rows x Columns is a damaged header.
_MAX_FRAME_BYTES = 1 << 30


@dataclass(frozen=True, slots=True)
class _NativeFormat:
    """How to turn a frame's bytes into an array without pydicom (uncompressed, one sample)."""

    rows: int
    columns: int
    dtype: np.dtype
    frame_nbytes: int
    shift: int  # Bits Allocated - Bits Stored: unused high bits cleared like pydicom does


def _native_format(ds: Dataset, loc: PixelLocation) -> _NativeFormat | None:
    fmt = getattr(ds, "_imgqa_native", False)
    if fmt is not False:
        return fmt
    fmt = None
    try:
        spp = _int(ds, "SamplesPerPixel", 1) or 1
        bits = _int(ds, "BitsAllocated", 0) or 0
        tsyntax = UID(loc.transfer_syntax)
        if (spp == 1 and bits in (8, 16, 32) and loc.in_stream and tsyntax.is_transfer_syntax
                and not tsyntax.is_encapsulated):
            signed = _int(ds, "PixelRepresentation", 0) == 1
            dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
            dtype = dtype.newbyteorder("<" if loc.little_endian else ">")
            stored = _int(ds, "BitsStored", bits) or bits
            rows, cols = _int(ds, "Rows", 0) or 0, _int(ds, "Columns", 0) or 0
            fmt = _NativeFormat(rows, cols, dtype, rows * cols * bits // 8,
                                bits - stored if 0 < stored < bits else 0)
    except (TypeError, ValueError, AttributeError):
        fmt = None
    object.__setattr__(ds, "_imgqa_native", fmt)  # benign race: every thread computes the same
    return fmt


def _open_source(source: str) -> BinaryIO:
    """Open a file or ``archive.zip::member`` by the name kept in `Frame.source`."""
    if "::" not in source:
        return _arc.open_regular(source)
    archive, member = source.split("::", 1)
    try:
        arc = _arc.open_archive(archive)
        return _arc.open_member(arc, arc.zf.getinfo(member), source)  # type: ignore[return-value]
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise _arc.damaged_archive(archive, exc, member) from None
    except KeyError:
        raise CorruptDicomError(f"{member} is no longer in the zip archive "
                                f"{Path(archive).name}.", hint="Load the archive again.",
                                path=source) from None


def _read_range(source: str, offset: int, length: int | None) -> bytearray:
    """`length` bytes at `offset` of a file or ``archive.zip::member`` (None: to the end)."""
    if "::" in source:
        # Only the wanted range is kept (the stream before it is decompressed and dropped),
        # from the archive the load already opened.
        with _open_source(source) as zfh:
            zfh.seek(offset)
            data = zfh.read() if length is None else zfh.read(length)
        if length is not None and len(data) != length:
            raise CorruptDicomError(f"{_short(source)} is truncated: the file ends before the "
                                    "end of its image.", path=source)
        return bytearray(data)
    with _arc.open_regular(source, buffering=0) as fh:
        fh.seek(offset)
        if length is None:
            return bytearray(fh.read())
        buf = bytearray(length)
        got = fh.readinto(buf)
    if got != length:
        raise CorruptDicomError(f"{_short(source)} is truncated: the file ends before the end "
                                "of its image.", path=source)
    return buf


def _native_frame(fmt: _NativeFormat, loc: PixelLocation, frame: Frame) -> np.ndarray:
    index = frame.frame_index or 0
    buf = _read_range(frame.source, loc.offset + index * fmt.frame_nbytes, fmt.frame_nbytes)
    arr = np.frombuffer(buf, dtype=fmt.dtype).reshape(fmt.rows, fmt.columns)  # writeable
    if not fmt.dtype.isnative:
        arr = arr.astype(fmt.dtype.newbyteorder("="))
    if fmt.shift:
        np.left_shift(arr, fmt.shift, out=arr)
        np.right_shift(arr, fmt.shift, out=arr)
    return arr


def _pydicom_frame(ds: Dataset, loc: PixelLocation, frame: Frame, colour: bool) -> np.ndarray:
    """Decode with pydicom's decoders (compressed, colour, 1-bit, deflated).

    The decoder reads straight from the file positioned at the pixel data value, so for
    compressed multi-frame files only the wanted frame's fragments are read; the image module
    values come from the header (nothing shared is modified).
    """
    from pydicom.pixels import get_decoder, pixel_array

    if _frame_nbytes(ds) > _MAX_FRAME_BYTES:
        raise PixelDecodeError(f"{_short(frame.source)} claims an image of {_int(ds, 'Rows')} x "
                               f"{_int(ds, 'Columns')} pixels, too large to be real: the header is "
                               "damaged.", path=frame.source)
    if not loc.in_stream:  # deflated: pydicom inflates the whole file
        full = pydicom.dcmread(io.BytesIO(bytes(_read_range(frame.source, 0, None))), force=True)
        full.file_meta = ds.file_meta
        return pixel_array(full, index=frame.frame_index, raw=not colour)
    bits = _int(ds, "BitsAllocated", 16) or 16
    opts: dict[str, Any] = {
        "rows": _int(ds, "Rows", 0),
        "columns": _int(ds, "Columns", 0),
        "samples_per_pixel": _int(ds, "SamplesPerPixel", 1) or 1,
        "bits_allocated": bits,
        "bits_stored": _int(ds, "BitsStored", bits) or bits,
        "pixel_representation": _int(ds, "PixelRepresentation", 0) or 0,
        "photometric_interpretation": _text(ds, "PhotometricInterpretation").upper()
        or "MONOCHROME2",
        "number_of_frames": _number_of_frames(ds),
        "planar_configuration": _int(ds, "PlanarConfiguration", 0) or 0,
        "pixel_keyword": "PixelData",
    }
    decoder = get_decoder(UID(loc.transfer_syntax))
    if "::" in frame.source:
        # Decoders seek back and forth: a member is held in memory (bounded by the zip limits).
        fh: BinaryIO = io.BytesIO(bytes(_read_range(frame.source, 0, None)))
    else:
        fh = _arc.open_regular(frame.source)
    with fh:
        fh.seek(loc.offset)
        arr, _ = decoder.as_array(fh, index=frame.frame_index or 0, raw=not colour, **opts)
    return arr


def _decode_frame(series: ImageSeries, frame: Frame) -> tuple[np.ndarray, str | None]:
    """Decode one frame to stored values (native dtype; grey float32 for colour images).

    Uncompressed single-sample images are read directly: only the frame's byte range, viewed
    with numpy. Everything else goes through pydicom's decoders (python-gdcm, pylibjpeg,
    pyjpegls, Pillow). The SHA-256 is left to `ImageSeries.pixel_sha256` (computed on demand).
    Thread-safe: nothing shared is modified.
    """
    ds = series.datasets[frame.dataset_index]
    short = _short(frame.source)
    colour = series.header.photometric not in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR")
    notes: list[str] = []
    try:
        loc = getattr(ds, _PIXEL_ATTR, None)
        if loc is None:
            raise NoPixelDataError(f"{short} holds no image: (7FE0,0010) Pixel Data is missing.",
                                   path=frame.source)
        fmt = None if colour else _native_format(ds, loc)
        if fmt is not None:
            arr = _native_frame(fmt, loc, frame)
        else:
            # What the decoders log or warn goes into our message, not onto stderr.
            with noise.captured() as notes, noise.native_stderr(notes):
                arr = _pydicom_frame(ds, loc, frame, colour)
            if notes:
                log.debug("decoder notes for %s: %s", short, noise.detail(notes))
    except ImgqaError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        archive, _, member = frame.source.partition("::")
        raise _arc.damaged_archive(archive, exc, member or None) from None
    except (NotImplementedError, RuntimeError) as exc:
        text = str(exc)
        # pydicom's summary when every installed decoder failed: the data is damaged (a decoder
        # for the transfer syntax was checked to be there when the file was loaded).
        damaged = text.startswith("Unable to decode as exceptions were raised")
        if not damaged and ("plugin" in text.lower() or "decoder" in text.lower()):
            raise UnsupportedTransferSyntaxError(
                f"{short} could not be decoded: {_brief(exc)}", path=frame.source) from None
        why = noise.detail(notes) or _brief(exc)
        raise PixelDecodeError(f"The image in {short} could not be decoded ({why}).",
                               path=frame.source) from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - decoders raise many types on damaged data,
        # including pyo3's PanicException (a BaseException) from the Rust RLE decoder.
        why = noise.detail(notes) or _brief(exc)
        raise PixelDecodeError(f"The image in {short} could not be decoded ({why}).",
                               path=frame.source) from None
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and colour:
        arr = arr[..., :3].astype(np.float32) @ _LUMA
    if arr.ndim != 2 or arr.shape != (series.header.rows, series.header.columns):
        raise PixelDecodeError(f"The image in {short} has an unexpected shape {arr.shape}.",
                               path=frame.source)
    return arr, None


# ---------------------------------------------------------------------------------------------
# Grouping into series
# ---------------------------------------------------------------------------------------------
@dataclass
class _FileInfo:
    src: Source
    ds: Dataset
    flags: list[str]
    n_frames: int
    orientation: tuple[float, ...] | None
    spacing: tuple[float, float] | None
    spacing_source: str
    detector_spacing: tuple[float, float] | None
    frames: list[Frame] = field(default_factory=list)
    spacing_problem: str = ""
    series_uid: str = ""
    modality: str = ""
    geometry_key: tuple = ()


def _file_info(src: Source, ds: Dataset, flags: list[str]) -> _FileInfo:
    n = _number_of_frames(ds)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", None) \
        if 0x52009230 in ds._dict else None
    first_group = per_frame[0] if per_frame else None
    sp, sp_src, det, sp_problem = _spacing(ds, first_group)
    ori = _orientation(ds, first_group)
    sop = _text(ds, "SOPInstanceUID") or f"file:{src.name}"
    meta = _frame_metadata(ds, n) if n > 1 else [{}]
    frames: list[Frame] = []
    for i in range(n):
        group = per_frame[i] if per_frame is not None and i < len(per_frame) else None
        slope, intercept = _rescale(ds, group, src.name)
        frames.append(Frame(
            source=src.name,
            dataset_index=-1,  # set when the series is built
            frame_index=i if n > 1 else None,
            sop_instance_uid=sop,
            slope=slope,
            intercept=intercept,
            position=_position(ds, group),
            metadata=meta[i] if i < len(meta) else {},
        ))
    return _FileInfo(src, ds, flags, n, ori, sp, sp_src, det, frames,
                     spacing_problem=sp_problem)


def _geometry_key(fi: _FileInfo) -> tuple:
    ori = tuple(round(v, 3) for v in fi.orientation) if fi.orientation else None
    sp = tuple(round(v, 4) for v in fi.spacing) if fi.spacing else None
    return (_int(fi.ds, "Rows", 0), _int(fi.ds, "Columns", 0), ori, sp)


def _sort_frames(frames: list[tuple[int, Frame]], orientation: tuple[float, ...] | None,
                 instance_numbers: list[int | None], names: list[str]
                 ) -> tuple[list[int], np.ndarray | None]:
    """Order of frames: by position along the slice normal when every frame has one."""
    positions = [f.position for _, f in frames]
    if orientation is not None and all(p is not None for p in positions):
        o = np.asarray(orientation, dtype=float)
        normal = np.cross(o[:3], o[3:])
        pos = np.asarray(positions, dtype=float)
        dist = pos @ normal
        if np.ptp(dist) > 1e-6:
            order = np.lexsort((np.arange(len(frames)), dist))  # stable for equal positions
            return [int(i) for i in order], pos[order]
        return list(range(len(frames))), pos
    keys = [(n if n is not None else 1 << 30, name, i)
            for i, (n, name) in enumerate(zip(instance_numbers, names))]
    order = [k[2] for k in sorted(keys)]
    return order, None


def _build_series(infos: list[_FileInfo]) -> ImageSeries:
    datasets = [fi.ds for fi in infos]
    first = infos[0]
    flags: list[str] = list(dict.fromkeys(f for fi in infos for f in fi.flags))
    all_frames: list[tuple[int, Frame]] = []
    inst: list[int | None] = []
    names: list[str] = []
    for di, fi in enumerate(infos):
        number = _int(fi.ds, "InstanceNumber", None)
        for f in fi.frames:
            from dataclasses import replace

            all_frames.append((di, replace(f, dataset_index=di)))
            inst.append(number)
            names.append(fi.src.name)
    is_nm_multiframe = first.n_frames > 1 and _text(first.ds, "Modality").upper() in ("NM", "PT")
    if is_nm_multiframe:
        order, positions = list(range(len(all_frames))), None
    else:
        order, positions = _sort_frames(all_frames, first.orientation, inst, names)
    frames = [all_frames[i][1] for i in order]
    slice_spacing = None
    if positions is not None and len(positions) > 1 and first.orientation is not None:
        o = np.asarray(first.orientation)
        d = np.diff(positions @ np.cross(o[:3], o[3:]))
        nz = np.abs(d[np.abs(d) > 1e-6])
        if nz.size:
            slice_spacing = float(np.median(nz))
    geometry = Geometry(
        pixel_spacing_mm=first.spacing,
        spacing_source=first.spacing_source,
        detector_spacing_mm=first.detector_spacing,
        orientation=first.orientation,
        positions=positions,
        slice_spacing_mm=slice_spacing,
        spacing_problem=first.spacing_problem if first.spacing is None else "",
    )
    if first.spacing is None:
        if first.spacing_problem:
            flags.append(first.spacing_problem)
        flags.append("pixel spacing unknown")
    return ImageSeries(_summary(first.ds), geometry, frames, datasets, _decode_frame, flags)


def _split_repeats(group: list[_FileInfo]) -> list[list[_FileInfo]]:
    """Split a series whose slices repeat positions across folders (copies of one acquisition
    kept as separate repeats, e.g. for two-image SNR) into one series per folder."""
    positions = [fi.frames[0].position for fi in group if fi.n_frames == 1]
    if len(group) < 2 or None in positions or len(set(positions)) == len(positions):
        return [group]
    by_dir: dict[str, list[_FileInfo]] = defaultdict(list)
    for fi in group:
        outer, _, member = fi.src.name.partition("::")
        by_dir[str(Path(outer).parent) + member.rpartition("/")[0]].append(fi)
    return list(by_dir.values()) if len(by_dir) > 1 else [group]


def _build_series_or_report(infos: list[_FileInfo], problems: list[Problem]
                            ) -> list[ImageSeries]:
    """Build one series; if a damaged header value stops that, keep the good files of the group
    and report the others (a bad file must never stop a batch)."""
    try:
        return [_build_series(infos)]
    except Exception:  # noqa: BLE001 - any damaged value: report, never stop the batch
        if len(infos) == 1:
            fi = infos[0]
            problems.append(Problem(fi.src.name, f"{_short(fi.src.name)} has damaged header "
                                    "values and cannot be used.", CorruptDicomError.default_hint,
                                    "CorruptDicomError"))
            return []
    out: list[ImageSeries] = []
    good: list[_FileInfo] = []
    for fi in infos:
        if _build_series_or_report([fi], problems):
            good.append(fi)
    if good:
        out.extend(_build_series_or_report(good, problems))
    return out


def load_report(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> SeriesList:
    """Load everything under `paths`; see `load`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    problems: list[Problem] = []
    skipped: list[str] = []
    infos: list[_FileInfo] = []
    reports: list[ImageSeries] = []
    seen_sops: set[tuple[str, str]] = set()
    for src in iter_sources(paths, problems, skipped):
        try:
            ds, flags = read_header(src)
            fi = _file_info(src, ds, flags)
            # Everything grouping needs is read here, where a damaged value is caught.
            fi.series_uid = _text(ds, "SeriesInstanceUID")
            fi.modality = _text(ds, "Modality").upper()
            fi.geometry_key = _geometry_key(fi)
        except _DicomDir:
            skipped.append(f"{src.name}: DICOMDIR index (skipped)")
            continue
        except DoseReportFound as found:  # an input without images (issue 15)
            try:
                reports.append(_dose_report_series(src, found.dataset))
            except Exception:  # noqa: BLE001 - a damaged report is that file's problem only
                log.debug("unreadable dose report %s", src.name, exc_info=True)
                problems.append(Problem(src.name, f"{_short(src.name)} is a dose structured "
                                        "report (SR) whose content cannot be read.",
                                        CorruptDicomError.default_hint, "CorruptDicomError"))
            continue
        except ImgqaError as exc:
            problems.append(Problem.from_error(src.name, exc))
            continue
        except Exception as exc:  # last line of defence: a bad file must never stop a batch
            log.debug("unexpected error reading %s", src.name, exc_info=True)
            problems.append(Problem(src.name, f"{Path(src.name).name} could not be read "
                                    f"({_brief(exc)}).", CorruptDicomError.default_hint,
                                    "CorruptDicomError"))
            continue
        key = (fi.series_uid, fi.frames[0].sop_instance_uid)
        if key in seen_sops:
            skipped.append(f"{src.name}: same image as one already loaded (skipped)")
            continue
        seen_sops.add(key)
        infos.append(fi)

    groups: dict[tuple, list[_FileInfo]] = defaultdict(list)
    for fi in infos:
        series_uid = fi.series_uid or f"nouid:{Path(fi.src.name).parent}"
        if fi.n_frames > 1 or fi.modality in PROJECTION_MODALITIES:
            # a multi-frame file or a projection image is an acquisition of its own
            key = (series_uid, fi.frames[0].sop_instance_uid) + fi.geometry_key
        else:
            key = (series_uid, "") + fi.geometry_key
        groups[key].append(fi)

    series: list[ImageSeries] = []
    for grp in groups.values():
        for g in _split_repeats(grp):
            series.extend(_build_series_or_report(g, problems))
    series.extend(reports)
    series.sort(key=lambda s: (s.header.acquired or datetime.min, s.header.series_number or 0,
                               s.sources[0]))
    if not series and not problems:
        problems.append(Problem(", ".join(map(str, paths)), "No DICOM images were found.",
                                EmptyInputError.default_hint, "EmptyInputError"))
    return SeriesList(series, problems, skipped)


def load(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> SeriesList:
    """Load DICOM images from files, folders and zip archives.

    Parameters
    ----------
    paths : path or iterable of paths
        Files, folders (searched recursively) and ``.zip`` archives, in any mix.

    Returns
    -------
    SeriesList
        A list of `ImageSeries`, ordered by acquisition time; its ``problems`` attribute lists
        every file that could not be used with the reason, and ``skipped`` the files ignored on
        purpose. Loading never stops at a bad file.
    """
    return load_report(paths)
