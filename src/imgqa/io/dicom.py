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
"""

from __future__ import annotations

import io
import logging
import os
import threading
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator, Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.tag import Tag
from pydicom.uid import (
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    UID,
)

from imgqa.errors import (
    CorruptDicomError,
    EmptyInputError,
    ImgqaError,
    NoPixelDataError,
    NotDicomError,
    PixelDecodeError,
    UnsupportedTransferSyntaxError,
)
from imgqa.io.series import Equipment, Frame, Geometry, HeaderSummary, ImageSeries, sha256_of

log = logging.getLogger(__name__)

# Scanner files often bend the VR rules (a "60.0 kV" in a UI element...). Read them as they are;
# the checks that matter for QC are ours, below, with messages a technologist can act on.
pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE

# Projection images are independent exposures: each is analysed (and listed) on its own even
# when the modality puts several in one series.
PROJECTION_MODALITIES = frozenset({"DX", "CR", "MG", "IO", "PX", "RG", "RF", "XA"})

__all__ = ["Problem", "SeriesList", "load", "load_report", "read_header", "iter_sources"]

PIXEL_DATA = Tag(0x7FE0, 0x0010)
DICOMDIR_SOP_CLASS = "1.2.840.10008.1.3.10"
# Elements larger than this stay on disk until needed (pixel data, big private blobs).
_DEFER_SIZE = 4096

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
    def from_error(cls, path: str, exc: ImgqaError) -> "Problem":
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
    """A file to read: a path on disk, or a member of a zip archive."""

    name: str                 # shown to users; "archive.zip::member" for zip members
    path: Path
    member: str | None = None

    def open(self) -> BinaryIO:
        if self.member is None:
            return open(self.path, "rb")
        with zipfile.ZipFile(self.path) as zf:
            return io.BytesIO(zf.read(self.member))


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
    """Every candidate file under `paths` (files, folders recursively, zip members)."""
    for raw in paths:
        p = Path(raw)
        if not p.exists():
            problems.append(Problem(str(p), f"{p} does not exist.",
                                    "Check the path; the drive may be disconnected.",
                                    "EmptyInputError"))
            continue
        if p.is_dir():
            found = False
            for root, dirs, files in os.walk(p):
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
                    yield from _expand_file(fp, problems)
            if not found:
                problems.append(Problem(str(p), f"The folder {p} contains no files.",
                                        EmptyInputError.default_hint, "EmptyInputError"))
        else:
            yield from _expand_file(p, problems)


def _expand_file(fp: Path, problems: list[Problem]) -> Iterator[Source]:
    if fp.suffix.lower() == ".zip" and zipfile.is_zipfile(fp):
        try:
            with zipfile.ZipFile(fp) as zf:
                members = [i.filename for i in zf.infolist()
                           if not i.is_dir() and not Path(i.filename).name.startswith(".")
                           and "__MACOSX" not in i.filename]
        except (zipfile.BadZipFile, OSError) as exc:
            problems.append(Problem(str(fp), f"{fp.name} is a damaged zip archive ({exc}).",
                                    "Make the archive again.", "CorruptDicomError"))
            return
        if not members:
            problems.append(Problem(str(fp), f"The zip archive {fp.name} is empty.",
                                    EmptyInputError.default_hint, "EmptyInputError"))
        for m in sorted(members):
            yield Source(f"{fp}::{m}", fp, m)
    else:
        yield Source(str(fp), fp)


# ---------------------------------------------------------------------------------------------
# Reading one header
# ---------------------------------------------------------------------------------------------
def _sniff(head: bytes, name: str) -> bool:
    """True when the file has a DICOM preamble; raise NotDicomError when it clearly is not DICOM.

    Returns False for a plausible DICOM stream without preamble (read with force).
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return True
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotDicomError(f"{name} is {what}, not a DICOM image.", path=name)
    if len(head) < 8:
        raise NotDicomError(f"{name} is too short to be a DICOM image ({len(head)} bytes).",
                            path=name)
    # Without a preamble a DICOM stream starts with a group 0002 or 0008 tag, little or big endian.
    if head[:2] in (b"\x02\x00", b"\x08\x00", b"\x00\x02", b"\x00\x08"):
        return False
    raise NotDicomError(f"{Path(name.split('::')[-1]).name} is not a DICOM file.", path=name)


def read_header(src: Source) -> tuple[Dataset, list[str]]:
    """Parse a file's header (pixel data left on disk) and check it holds a decodable image.

    Returns
    -------
    dataset, flags
        ``flags`` notes non-conformance that was worked around.

    Raises
    ------
    NotDicomError, CorruptDicomError, NoPixelDataError, UnsupportedTransferSyntaxError
    """
    name = src.name
    short = Path(name.split("::")[-1]).name
    flags: list[str] = []
    try:
        fh = src.open()
    except OSError as exc:
        raise CorruptDicomError(f"{short} cannot be opened: {exc.strerror or exc}.",
                                hint="Check that the file is readable.", path=name) from None
    with fh:
        head = fh.read(132)
        has_preamble = _sniff(head, name)
        fh.seek(0)
        try:
            ds = pydicom.dcmread(fh, force=not has_preamble, defer_size=_DEFER_SIZE)
        except InvalidDicomError:
            raise NotDicomError(f"{short} is not a DICOM file.", path=name) from None
        except Exception as exc:  # pydicom raises many types on damaged bytes
            raise CorruptDicomError(f"{short} is damaged and cannot be read ({_brief(exc)}).",
                                    path=name) from None
    try:
        _validate_header(ds, name, short, has_preamble, flags)
    except ImgqaError:
        raise
    except Exception as exc:  # malformed values surface lazily when elements are accessed
        raise CorruptDicomError(f"{short} has damaged header values ({_brief(exc)}).",
                                path=name) from None
    return ds, flags


def _brief(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _validate_header(ds: Dataset, name: str, short: str, has_preamble: bool,
                     flags: list[str]) -> None:
    if len(ds) == 0:
        raise NotDicomError(f"{short} is not a DICOM file.", path=name)
    sop_class = str(ds.get("SOPClassUID", ""))
    if sop_class == DICOMDIR_SOP_CLASS or "DirectoryRecordSequence" in ds or \
            str(getattr(ds.file_meta, "MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS:
        raise _DicomDir()
    if not has_preamble or not getattr(ds.file_meta, "TransferSyntaxUID", None):
        # Read with force: record how it was encoded so the pixel decoder knows.
        if not hasattr(ds, "file_meta") or ds.file_meta is None:
            ds.file_meta = FileMetaDataset()
        if not getattr(ds.file_meta, "TransferSyntaxUID", None):
            implicit, little = ds.original_encoding
            if implicit is None:
                implicit, little = True, True
            ds.file_meta.TransferSyntaxUID = (
                ImplicitVRLittleEndian if implicit else
                (ExplicitVRLittleEndian if little else ExplicitVRBigEndian))
        flags.append("read without DICOM file meta (no preamble); transfer syntax guessed")
        # A stream without the group 0008 basics is not an image we can trust.
        if "SOPClassUID" not in ds and "Modality" not in ds and PIXEL_DATA not in ds:
            raise NotDicomError(f"{short} is not a DICOM file.", path=name)
    if PIXEL_DATA not in ds:
        kind = "FloatPixelData" in ds or "DoubleFloatPixelData" in ds
        raise NoPixelDataError(
            f"{short} holds no image: (7FE0,0010) Pixel Data is missing"
            + (" (it has float pixel data, which imgqa does not read)." if kind else "."),
            path=name)
    for kw in ("Rows", "Columns", "BitsAllocated"):
        if kw not in ds or ds[kw].value in (None, 0, ""):
            raise CorruptDicomError(f"{short} has no valid {kw} element, so its image cannot be "
                                    "read.", path=name)
    tsyntax = UID(str(ds.file_meta.TransferSyntaxUID))
    if tsyntax.is_compressed:
        from pydicom.pixels import get_decoder

        try:
            decoder = get_decoder(tsyntax)
        except NotImplementedError:
            decoder = None
        if decoder is None or not decoder.is_available:
            raise UnsupportedTransferSyntaxError(
                f"{short} is compressed as '{tsyntax.name}' ({tsyntax}), which imgqa cannot "
                "decode.", path=name)
    else:
        _check_native_length(ds, name, short)


def _check_native_length(ds: Dataset, name: str, short: str) -> None:
    """Reject uncompressed pixel data shorter than the image size says (truncated copies)."""
    elem = ds.get_item(PIXEL_DATA)
    length = getattr(elem, "length", None)
    if length is None or length == 0xFFFFFFFF:
        return
    n_frames = _number_of_frames(ds)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    bits = int(ds.BitsAllocated)
    expected_bits = int(ds.Rows) * int(ds.Columns) * n_frames * spp * bits
    expected = (expected_bits + 7) // 8
    if length < expected:
        raise CorruptDicomError(
            f"{short} is truncated: its image needs {expected} bytes of pixel data but the file "
            f"holds {length}.", path=name)
    if isinstance(ds.filename, str) and os.path.exists(ds.filename):
        tell = getattr(elem, "value_tell", None)
        if tell is not None and tell + expected > os.path.getsize(ds.filename):
            raise CorruptDicomError(
                f"{short} is truncated: the file ends before the end of its image.", path=name)


class _DicomDir(Exception):
    """Internal: the file is a DICOMDIR index, to be skipped quietly."""


def _number_of_frames(ds: Dataset) -> int:
    try:
        n = int(ds.get("NumberOfFrames", 1) or 1)
    except (TypeError, ValueError):
        n = 1
    return max(n, 1)


# ---------------------------------------------------------------------------------------------
# Header facts
# ---------------------------------------------------------------------------------------------
def _text(ds: Dataset, kw: str) -> str:
    v = ds.get(kw, "")
    if v is None:
        return ""
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(x) for x in v)
    return str(v).strip()


def _float(ds: Dataset, kw: str) -> float | None:
    try:
        v = ds.get(kw, None)
        if v is None or v == "":
            return None
        f = float(v[0] if isinstance(v, (list, pydicom.multival.MultiValue)) else v)
        return f if np.isfinite(f) else None
    except (TypeError, ValueError, IndexError):
        return None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        vals = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        return None
    if len(vals) != n or not all(np.isfinite(vals)):
        return None
    return vals


def _first_item(ds: Dataset, *path: str) -> Dataset | None:
    cur: Any = ds
    for kw in path:
        seq = cur.get(kw) if cur is not None else None
        if not seq:
            return None
        try:
            cur = seq[0]
        except (TypeError, IndexError):
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


def _spacing(ds: Dataset, frame_groups: Dataset | None) -> tuple[tuple[float, float] | None, str,
                                                                 tuple[float, float] | None]:
    """(pixel spacing, its source, detector spacing) per the precedence in the module doc."""
    imager = _floats(ds.get("ImagerPixelSpacing", None) or (), 2)
    for source, group in (("PerFrameFunctionalGroups", frame_groups),
                          ("SharedFunctionalGroups",
                           _first_item(ds, "SharedFunctionalGroupsSequence"))):
        if group is not None:
            pm = _first_item(group, "PixelMeasuresSequence")
            if pm is not None:
                sp = _floats(pm.get("PixelSpacing", None) or (), 2)
                if sp and min(sp) > 0:
                    return sp, source, imager  # type: ignore[return-value]
    sp = _floats(ds.get("PixelSpacing", None) or (), 2)
    if sp and min(sp) > 0:
        return sp, "PixelSpacing", imager  # type: ignore[return-value]
    if imager and min(imager) > 0:
        mag = _float(ds, "EstimatedRadiographicMagnificationFactor")
        if mag and mag > 0 and abs(mag - 1.0) > 1e-6:
            return ((imager[0] / mag, imager[1] / mag),
                    "ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor", imager)
        return imager, "ImagerPixelSpacing", imager  # type: ignore[return-value]
    nominal = _floats(ds.get("NominalScannedPixelSpacing", None) or (), 2)
    if nominal and min(nominal) > 0:
        return nominal, "NominalScannedPixelSpacing", imager  # type: ignore[return-value]
    return None, "none", imager


def _orientation(ds: Dataset, frame_groups: Dataset | None) -> tuple[float, ...] | None:
    for group in (frame_groups, _first_item(ds, "SharedFunctionalGroupsSequence")):
        if group is not None:
            po = _first_item(group, "PlaneOrientationSequence")
            if po is not None:
                o = _floats(po.get("ImageOrientationPatient", None) or (), 6)
                if o:
                    return o
    return _floats(ds.get("ImageOrientationPatient", None) or (), 6)


def _position(ds: Dataset, frame_groups: Dataset | None) -> tuple[float, float, float] | None:
    if frame_groups is not None:
        pp = _first_item(frame_groups, "PlanePositionSequence")
        if pp is not None:
            p = _floats(pp.get("ImagePositionPatient", None) or (), 3)
            if p:
                return p  # type: ignore[return-value]
    p = _floats(ds.get("ImagePositionPatient", None) or (), 3)
    return p  # type: ignore[return-value]


def _rescale(ds: Dataset, frame_groups: Dataset | None) -> tuple[float, float]:
    for group in (frame_groups, _first_item(ds, "SharedFunctionalGroupsSequence")):
        if group is not None:
            pvt = _first_item(group, "PixelValueTransformationSequence")
            if pvt is not None:
                s, i = _float(pvt, "RescaleSlope"), _float(pvt, "RescaleIntercept")
                if s is not None or i is not None:
                    return (s if s not in (None, 0.0) else 1.0), (i or 0.0)
    s, i = _float(ds, "RescaleSlope"), _float(ds, "RescaleIntercept")
    return (s if s not in (None, 0.0) else 1.0), (i or 0.0)


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
    try:
        series_number = int(ds.get("SeriesNumber")) if ds.get("SeriesNumber") not in (None, "") \
            else None
    except (TypeError, ValueError):
        series_number = None
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
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        photometric=_text(ds, "PhotometricInterpretation").upper() or "MONOCHROME2",
        bits_stored=int(ds.get("BitsStored", ds.BitsAllocated) or ds.BitsAllocated),
        slice_thickness_mm=_float(ds, "SliceThickness"),
        kvp=_float(ds, "KVP"),
        field_strength_t=_float(ds, "MagneticFieldStrength"),
        convolution_kernel=kernel,
        image_type=tuple(str(x) for x in image_type),
    )


# ---------------------------------------------------------------------------------------------
# Pixel decoding
# ---------------------------------------------------------------------------------------------
_decode_locks: dict[int, threading.Lock] = {}
_decode_locks_guard = threading.Lock()


def _lock_for(ds: Dataset) -> threading.Lock:
    with _decode_locks_guard:
        lock = _decode_locks.get(id(ds))
        if lock is None:
            lock = _decode_locks[id(ds)] = threading.Lock()
        return lock


def _decode_frame(series: ImageSeries, frame: Frame) -> tuple[np.ndarray, str]:
    """Decode one frame to stored values and hash them (SHA-256 of the decoded array bytes)."""
    from pydicom.pixels import pixel_array

    ds = series.datasets[frame.dataset_index]
    short = Path(frame.source.split("::")[-1]).name
    try:
        if "::" in frame.source:
            archive, member = frame.source.split("::", 1)
            with zipfile.ZipFile(archive) as zf:
                full = pydicom.dcmread(io.BytesIO(zf.read(member)), force=True)
            full.file_meta = ds.file_meta
            arr = pixel_array(full, index=frame.frame_index, raw=True)
        else:
            with _lock_for(ds):
                deferred = ds._dict.get(PIXEL_DATA)
                try:
                    arr = pixel_array(ds, index=frame.frame_index, raw=True)
                finally:
                    # Put the on-disk reference back so the series does not keep the bytes.
                    if deferred is not None:
                        ds._dict[PIXEL_DATA] = deferred
    except ImgqaError:
        raise
    except (NotImplementedError, RuntimeError) as exc:
        if "plugin" in str(exc).lower() or "decoder" in str(exc).lower():
            raise UnsupportedTransferSyntaxError(
                f"{short} could not be decoded: {_brief(exc)}", path=frame.source) from None
        raise PixelDecodeError(f"The image in {short} could not be decoded ({_brief(exc)}).",
                               path=frame.source) from None
    except Exception as exc:
        raise PixelDecodeError(f"The image in {short} could not be decoded ({_brief(exc)}).",
                               path=frame.source) from None
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and series.header.photometric not in (
            "MONOCHROME1", "MONOCHROME2"):
        arr = arr[..., :3].mean(axis=-1)  # colour screenshots: analyse the grey level
    if arr.ndim != 2:
        raise PixelDecodeError(f"The image in {short} has an unexpected shape {arr.shape}.",
                               path=frame.source)
    return arr, sha256_of(arr)


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


def _file_info(src: Source, ds: Dataset, flags: list[str]) -> _FileInfo:
    n = _number_of_frames(ds)
    per_frame = ds.get("PerFrameFunctionalGroupsSequence", None)
    first_group = per_frame[0] if per_frame else None
    sp, sp_src, det = _spacing(ds, first_group)
    ori = _orientation(ds, first_group)
    sop = _text(ds, "SOPInstanceUID") or f"file:{src.name}"
    meta = _frame_metadata(ds, n) if n > 1 else [{}]
    frames: list[Frame] = []
    for i in range(n):
        group = per_frame[i] if per_frame is not None and i < len(per_frame) else None
        slope, intercept = _rescale(ds, group)
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
    return _FileInfo(src, ds, flags, n, ori, sp, sp_src, det, frames)


def _geometry_key(fi: _FileInfo) -> tuple:
    ori = tuple(round(v, 3) for v in fi.orientation) if fi.orientation else None
    sp = tuple(round(v, 4) for v in fi.spacing) if fi.spacing else None
    return (int(fi.ds.Rows), int(fi.ds.Columns), ori, sp)


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
        try:
            number = int(fi.ds.get("InstanceNumber")) if fi.ds.get("InstanceNumber") not in (
                None, "") else None
        except (TypeError, ValueError):
            number = None
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
    )
    if first.spacing is None:
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
        by_dir[str(Path(fi.src.name.split("::")[0]).parent) + fi.src.name.split("::")[-1].rpartition("/")[0]].append(fi)
    return list(by_dir.values()) if len(by_dir) > 1 else [group]


def load_report(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> SeriesList:
    """Load everything under `paths`; see `load`."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    problems: list[Problem] = []
    skipped: list[str] = []
    infos: list[_FileInfo] = []
    seen_sops: set[tuple[str, str]] = set()
    for src in iter_sources(paths, problems, skipped):
        try:
            ds, flags = read_header(src)
            fi = _file_info(src, ds, flags)
        except _DicomDir:
            skipped.append(f"{src.name}: DICOMDIR index (skipped)")
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
        key = (_text(ds, "SeriesInstanceUID"), fi.frames[0].sop_instance_uid)
        if key in seen_sops:
            skipped.append(f"{src.name}: same image as one already loaded (skipped)")
            continue
        seen_sops.add(key)
        infos.append(fi)

    groups: dict[tuple, list[_FileInfo]] = defaultdict(list)
    for fi in infos:
        series_uid = _text(fi.ds, "SeriesInstanceUID") or f"nouid:{Path(fi.src.name).parent}"
        modality = _text(fi.ds, "Modality").upper()
        if fi.n_frames > 1 or modality in PROJECTION_MODALITIES:
            # a multi-frame file or a projection image is an acquisition of its own
            key = (series_uid, fi.frames[0].sop_instance_uid) + _geometry_key(fi)
        else:
            key = (series_uid, "") + _geometry_key(fi)
        groups[key].append(fi)

    series = [_build_series(g) for grp in groups.values() for g in _split_repeats(grp)]
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
