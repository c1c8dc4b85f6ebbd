"""Decoding pixel data: uncompressed frames by byte range and numpy, compressed ones by
pydicom's decoders.

Owns `_decode_frame` (the `ImageSeries` decoder callback: one frame in stored values, colour
to grey by BT.601 luma) and the byte-range reading of files and zip members. Decoding modifies
nothing shared, so worker threads may decode concurrently. Part of the loader behind
`imgqa.io.dicom`.
"""

from __future__ import annotations

import functools
import io
import logging
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
)

from imgqa import _lean_imports
from imgqa.errors import (
    CorruptDicomError,
    ImgqaError,
    NoPixelDataError,
    PixelDecodeError,
    UnsupportedTransferSyntaxError,
)
from imgqa.io import archive as _arc
from imgqa.io import noise
from imgqa.io.dicom_header import (
    _PIXEL_ATTR,
    PixelLocation,
    _brief,
    _frame_nbytes,
    _number_of_frames,
)
from imgqa.io.header_facts import _int, _text
from imgqa.io.series import Frame, ImageSeries
from imgqa.io.sources import _short

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

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _NativeFormat:
    """How to turn a frame's bytes into an array without pydicom (uncompressed, one sample)."""

    rows: int
    columns: int
    dtype: np.dtype
    frame_nbytes: int
    shift: int  # Bits Allocated - Bits Stored: unused high bits cleared like pydicom does


def _native_format(ds: Dataset, loc: PixelLocation) -> _NativeFormat | None:
    # From the instance dict: a missing attribute would go through Dataset.__getattr__ (its
    # keyword lookup, ≈ 3 µs) on the first decode of every image.
    cached = vars(ds).get("_imgqa_native", False)
    if cached is not False:
        return cast("_NativeFormat | None", cached)
    fmt = None
    try:
        spp = _int(ds, "SamplesPerPixel", 1) or 1
        bits = _int(ds, "BitsAllocated", 0) or 0
        if spp == 1 and bits in (8, 16, 32) and loc.in_stream and _plain_syntax(
                loc.transfer_syntax):
            signed = _int(ds, "PixelRepresentation", 0) == 1
            dtype = _stored_dtype(signed, bits, loc.little_endian)
            stored = _int(ds, "BitsStored", bits) or bits
            rows, cols = _int(ds, "Rows", 0) or 0, _int(ds, "Columns", 0) or 0
            fmt = _NativeFormat(rows, cols, dtype, rows * cols * bits // 8,
                                bits - stored if 0 < stored < bits else 0)
    except (TypeError, ValueError, AttributeError):
        fmt = None
    object.__setattr__(ds, "_imgqa_native", fmt)  # benign race: every thread computes the same
    return fmt


@functools.lru_cache(maxsize=64)
def _plain_syntax(tsyntax: str) -> bool:
    """A known transfer syntax whose pixel data is not encapsulated (pydicom's `UID`
    properties, looked up once per syntax instead of once per file)."""
    uid = UID(tsyntax)
    return uid.is_transfer_syntax and not uid.is_encapsulated


@functools.lru_cache(maxsize=16)
def _stored_dtype(signed: bool, bits: int, little_endian: bool) -> np.dtype:
    """The numpy dtype of stored values (immutable, so shared)."""
    dtype = np.dtype(f"{'i' if signed else 'u'}{bits // 8}")
    return dtype.newbyteorder("<" if little_endian else ">")


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
    if length is None:
        with _arc.open_regular(source, buffering=0) as fh:  # unbuffered: a FileIO
            fh.seek(offset)
            return bytearray(fh.read())
    buf = bytearray(length)
    got = _arc.read_regular_into(source, offset, buf)
    if got != length:
        raise CorruptDicomError(f"{_short(source)} is truncated: the file ends before the end "
                                "of its image.", path=source)
    return buf


def _read_array(source: str, offset: int, length: int) -> np.ndarray:
    """`length` bytes at `offset` of a file or zip member as a writeable uint8 array.

    A file on disk is read straight into the array's memory (no zero-filled buffer first).
    """
    if "::" in source:
        return np.frombuffer(_read_range(source, offset, length), dtype=np.uint8)
    buf = np.empty(length, dtype=np.uint8)
    if _arc.read_regular_into(source, offset, buf.data) != length:
        raise CorruptDicomError(f"{_short(source)} is truncated: the file ends before the end "
                                "of its image.", path=source)
    return buf


def _native_frame(fmt: _NativeFormat, loc: PixelLocation, frame: Frame) -> np.ndarray:
    index = frame.frame_index or 0
    buf = _read_array(frame.source, loc.offset + index * fmt.frame_nbytes, fmt.frame_nbytes)
    arr = buf.view(fmt.dtype).reshape(fmt.rows, fmt.columns)  # writeable
    if not fmt.dtype.isnative:
        arr = arr.astype(fmt.dtype.newbyteorder("="))
    if fmt.shift and arr.dtype.kind == "u":
        # Unused high bits cleared in one pass: what the two shifts below do to unsigned values.
        np.bitwise_and(arr, (1 << (arr.dtype.itemsize * 8 - fmt.shift)) - 1, out=arr)
    elif fmt.shift:
        np.left_shift(arr, fmt.shift, out=arr)  # signed: the sign bit extended from Bits Stored
        np.right_shift(arr, fmt.shift, out=arr)
    return arr


def _pydicom_frame(ds: Dataset, loc: PixelLocation, frame: Frame, colour: bool) -> np.ndarray:
    """Decode with pydicom's decoders (compressed, colour, 1-bit, deflated).

    The decoder reads straight from the file positioned at the pixel data value, so for
    compressed multi-frame files only the wanted frame's fragments are read; the image module
    values come from the header (nothing shared is modified).
    """
    from pydicom.pixels import get_decoder, pixel_array

    _lean_imports.ensure_codecs()
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
    colour = series.header.photometric not in ("MONOCHROME1", "MONOCHROME2", "PALETTE COLOR")
    notes: list[str] = []
    try:
        loc = getattr(ds, _PIXEL_ATTR, None)
        if loc is None:
            raise NoPixelDataError(f"{_short(frame.source)} holds no image: (7FE0,0010) Pixel "
                                   "Data is missing.", path=frame.source)
        fmt = None if colour else _native_format(ds, loc)
        if fmt is not None:
            arr = _native_frame(fmt, loc, frame)
        else:
            # What the decoders log or warn goes into our message, not onto stderr.
            with noise.captured() as notes, noise.native_stderr(notes):
                arr = _pydicom_frame(ds, loc, frame, colour)
            if notes:
                log.debug("decoder notes for %s: %s", _short(frame.source), noise.detail(notes))
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
                f"{_short(frame.source)} could not be decoded: {_brief(exc)}",
                path=frame.source) from None
        why = noise.detail(notes) or _brief(exc)
        raise PixelDecodeError(f"The image in {_short(frame.source)} could not be decoded "
                               f"({why}).", path=frame.source) from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # noqa: BLE001 - decoders raise many types on damaged data,
        # including pyo3's PanicException (a BaseException) from the Rust RLE decoder.
        why = noise.detail(notes) or _brief(exc)
        raise PixelDecodeError(f"The image in {_short(frame.source)} could not be decoded "
                               f"({why}).", path=frame.source) from None
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and colour:
        arr = arr[..., :3].astype(np.float32) @ _LUMA
    if arr.ndim != 2 or arr.shape != (series.header.rows, series.header.columns):
        raise PixelDecodeError(f"The image in {_short(frame.source)} has an unexpected shape "
                               f"{arr.shape}.", path=frame.source)
    return arr, None
