"""Facts read from a DICOM header: text and numbers, pixel spacing, geometry, rescale, the
per-frame metadata record and the series summary.

Owns the tolerant readers of single elements (`_text`, `_int`, `_float`...), pixel spacing
with its source and problems (`_spacing`), orientation and position (functional groups
first), Rescale Slope/Intercept with checks (`_rescale`), the per-frame `FrameInfo` of
multi-frame files (`frame_infos`) and the `HeaderSummary` (`_summary`). Part of the loader
behind `imgqa.io.dicom`.
"""

from __future__ import annotations

import functools
import struct
from collections import defaultdict
from datetime import datetime
from math import isfinite  # on the Python floats read here: np.isfinite's answer, no array
from typing import Any

import numpy as np
import pydicom
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from imgqa.errors import (
    CorruptDicomError,
)
from imgqa.io.header_scan import tag_key
from imgqa.io.series import Equipment, FrameInfo, HeaderSummary
from imgqa.io.sources import _short

# ---------------------------------------------------------------------------------------------
# Header facts
# ---------------------------------------------------------------------------------------------
# Per-file facts are read straight from the raw element bytes when the VR is plain ASCII (UIDs,
# code strings, decimal and integer strings, dates) or a binary unsigned short: the same values
# pydicom would give, without building a DataElement for each (loading speed, issue 2).
_ASCII_VRS = frozenset({"UI", "CS", "DS", "IS", "AS", "DA", "TM", "DT"})
# Text VRs whose value depends on the character set: read raw only when the bytes are plain
# ASCII without value separators or escape sequences (then every character set decodes them
# alike), otherwise through pydicom.
_TEXT_VRS = frozenset({"LO", "SH", "LT", "ST", "UT"})


@functools.cache
def _tag_vr(kw: str) -> tuple[BaseTag, str]:
    tag = tag_for_keyword(kw)
    if tag is None:
        raise KeyError(kw)
    return tag_key(tag), dictionary_VR(tag)  # the shared key: dict lookups match by identity


def _raw_text(ds: Dataset, kw: str) -> str | None:
    """The value of `kw` as text (multiple values joined by a backslash); None when absent."""
    tag, vr = _tag_vr(kw)
    elem = ds._dict.get(tag)
    if elem is None:
        return None
    if type(elem) is RawDataElement:
        raw = elem[3]  # value (by index: the hot path of every header fact)
        if raw is not None and elem[1] in (None, vr):
            if vr in _ASCII_VRS:
                return raw.decode("latin-1").strip(" \x00")
            if vr in _TEXT_VRS and raw.isascii() and b"\\" not in raw and b"\x1b" not in raw:
                return raw.decode("ascii").rstrip("\x00 ").strip()  # as pydicom, then .strip()
    v = ds[tag].value
    if v is None:
        return ""
    if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
        return "\\".join(str(x) for x in v)
    return str(v).strip()


_US_LE = struct.Struct("<H").unpack_from
_US_BE = struct.Struct(">H").unpack_from


def _text(ds: Dataset, kw: str) -> str:
    return _raw_text(ds, kw) or ""


def _meta_text(ds: Dataset, kw: str) -> str:
    """A file meta (group 0002) value as text, "" without file meta: read like `_text`, so the
    transfer syntax and media storage UIDs are not converted by pydicom on every check."""
    meta = getattr(ds, "file_meta", None)
    return _text(meta, kw) if meta is not None else ""


def _int(ds: Dataset, kw: str, default: int | None = None) -> int | None:
    """An integer element (US, IS...), or `default` when absent or unreadable."""
    tag, vr = _tag_vr(kw)
    elem = ds._dict.get(tag)
    if elem is None:
        return default
    try:
        if type(elem) is RawDataElement and vr == "US" and elem[1] in (None, "US") \
                and elem[3] is not None and len(elem[3]) >= 2:
            return (_US_LE if elem[6] else _US_BE)(elem[3])[0]  # 6: is_little_endian
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
        return f if isfinite(f) else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _floats(value: Any, n: int) -> tuple[float, ...] | None:
    try:
        vals = tuple(float(x) for x in value)
    except (TypeError, ValueError, OverflowError):
        return None
    if len(vals) != n or not all(map(isfinite, vals)):
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
    if len(values) == 2 and all(map(isfinite, values)) and min(values) > 0:
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
    if not isfinite(value):
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


# NM frame vectors named by the Frame Increment Pointer → `FrameInfo` field names.
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


def frame_infos(ds: Dataset, n_frames: int) -> list[FrameInfo]:
    """The `FrameInfo` of each frame of a multi-frame file (the one place it is built).

    NM frame vectors (`_NM_VECTORS`) whose length matches the number of frames are read as
    integers; a damaged vector is left out. With the NM Rotation Information Sequence, each
    frame's gantry angle is Start Angle + Angular Step × its index within its (detector,
    rotation).
    """
    values: list[dict[str, Any]] = [{} for _ in range(n_frames)]
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
            for m, v in zip(values, vals):
                m[key] = v
    # Gantry angle per frame for NM tomography: start angle + step * index within rotation.
    rot = _first_item(ds, "RotationInformationSequence")
    if rot is not None and all(k in rot for k in ("StartAngle", "AngularStep")):
        start, step = _float(rot, "StartAngle") or 0.0, _float(rot, "AngularStep") or 0.0
        counts: dict[tuple[Any, Any], int] = defaultdict(int)
        for m in values:
            k = (m.get("detector"), m.get("rotation"))
            m["angle_deg"] = (start + step * counts[k]) % 360.0
            counts[k] += 1
    return [FrameInfo(**m) for m in values]


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
    image_type = _code_strings(ds, "ImageType")
    return HeaderSummary(
        modality=_text(ds, "Modality").upper() or "OT",
        series_uid=_text(ds, "SeriesInstanceUID"),
        study_uid=_text(ds, "StudyInstanceUID"),
        series_number=series_number,
        series_description=_text(ds, "SeriesDescription"),
        protocol_name=_text(ds, "ProtocolName"),
        sop_class_uid=_text(ds, "SOPClassUID"),
        transfer_syntax_uid=_text(ds.file_meta, "TransferSyntaxUID"),
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
        image_type=image_type,
    )


def _code_strings(ds: Dataset, kw: str) -> tuple[str, ...]:
    """The values of a code string (CS) element as str, () when absent or empty.

    Read from the raw bytes as pydicom's `convert_string` reads them (Latin-1, trailing spaces
    and NULs dropped, split at backslashes) without converting the element in the dataset
    (≈ 10 µs per series); through pydicom for anything else (converted, deferred, another
    VR).
    """
    tag, vr = _tag_vr(kw)
    elem = ds._dict.get(tag)
    if type(elem) is RawDataElement and vr == "CS" and elem.VR in (None, "CS") \
            and isinstance(elem.value, bytes):
        text = elem.value.decode("latin-1").rstrip(" \x00")
        return tuple(text.split("\\")) if text else ()
    value = ds.get(kw, None) or ()
    if isinstance(value, str):
        value = (value,)
    return tuple(str(x) for x in value)
