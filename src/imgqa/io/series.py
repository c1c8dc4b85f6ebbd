"""The in-memory model of loaded images: `ImageSeries` and its parts.

An `ImageSeries` is what every analysis receives. It holds the parsed DICOM headers (without
pixel data), the geometry, a small typed header summary and, per image, where its pixels live.
Pixels are decoded lazily, one image at a time, and returned in physical units (Rescale
Slope/Intercept applied, e.g. HU for CT), so holding a large series costs little memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from imgqa.errors import MissingSpacingError

if TYPE_CHECKING:  # pragma: no cover
    from pydicom import Dataset

__all__ = ["Equipment", "Frame", "Geometry", "HeaderSummary", "ImageSeries"]


@dataclass(frozen=True, slots=True)
class Equipment:
    """Identity of the device that made the images (no patient data)."""

    manufacturer: str = ""
    model: str = ""
    serial: str = ""
    station_name: str = ""
    institution: str = ""

    def label(self) -> str:
        parts = [self.manufacturer, self.model]
        if self.serial:
            parts.append(f"SN {self.serial}")
        if self.station_name:
            parts.append(f"({self.station_name})")
        return " ".join(p for p in parts if p) or "unknown device"


@dataclass(frozen=True, slots=True)
class HeaderSummary:
    """The few header values imgqa uses everywhere, typed. Never holds patient identity."""

    modality: str
    series_uid: str
    study_uid: str = ""
    series_number: int | None = None
    series_description: str = ""
    protocol_name: str = ""
    sop_class_uid: str = ""
    transfer_syntax_uid: str = ""
    acquired: datetime | None = None
    equipment: Equipment = field(default_factory=Equipment)
    rows: int = 0
    columns: int = 0
    photometric: str = "MONOCHROME2"
    bits_stored: int = 0
    slice_thickness_mm: float | None = None
    kvp: float | None = None
    field_strength_t: float | None = None
    convolution_kernel: str = ""
    image_type: tuple[str, ...] = ()

    @property
    def description_text(self) -> str:
        """Series description and protocol name, the words protocol detectors look for."""
        return f"{self.series_description} {self.protocol_name}"

    @property
    def invert_for_display(self) -> bool:
        """MONOCHROME1: the lowest value is shown white. Values stay as stored (physical)."""
        return self.photometric == "MONOCHROME1"


@dataclass(frozen=True, slots=True)
class Geometry:
    """Where the pixels are in space.

    Attributes
    ----------
    pixel_spacing_mm : (row_spacing, column_spacing) or None
        Physical size of a pixel in mm, i.e. the distance between rows and between columns.
        ``None`` is the explicit "spacing unknown" state: analyses that give sizes in mm refuse it
        (`require_spacing`) unless the user supplies a spacing.
    spacing_source : str
        Which element the spacing came from, e.g. ``"PixelSpacing"``,
        ``"ImagerPixelSpacing/EstimatedRadiographicMagnificationFactor"``,
        ``"SharedFunctionalGroups"``, ``"user"`` or ``"none"``.
    detector_spacing_mm : (row, column) or None
        (0018,1164) Imager Pixel Spacing when present: the spacing at the detector plane, which
        detector QC (MTF, NPS) uses.
    orientation : 6 floats or None
        (0020,0037) Image Orientation (Patient): row and column direction cosines.
    positions : (n, 3) ndarray or None
        Image Position (Patient) of each image, in stack order.
    slice_spacing_mm : float or None
        Median distance between adjacent images along the slice normal.
    spacing_problem : str
        Why the spacing is unknown although the file has a spacing element, e.g. "pixel spacing
        -1 mm is invalid (...)"; empty when the spacing is known or simply absent.
    """

    pixel_spacing_mm: tuple[float, float] | None
    spacing_source: str = "none"
    detector_spacing_mm: tuple[float, float] | None = None
    orientation: tuple[float, ...] | None = None
    positions: np.ndarray | None = field(default=None, compare=False, repr=False)
    slice_spacing_mm: float | None = None
    spacing_problem: str = ""

    @property
    def has_spacing(self) -> bool:
        return self.pixel_spacing_mm is not None

    @property
    def normal(self) -> np.ndarray | None:
        """Unit slice normal (row × column direction), or None without orientation."""
        if self.orientation is None:
            return None
        o = np.asarray(self.orientation, dtype=float)
        n = np.cross(o[:3], o[3:])
        norm = np.linalg.norm(n)
        return n / norm if norm > 0 else None


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """Per-frame facts of a multi-frame image, typed; None where the file does not say.

    Built in one place, `imgqa.io.header_facts.frame_infos`, from the NM frame vectors that
    (0028,0009) Frame Increment Pointer names (DICOM PS3.3 C.8.4.8) and the NM Rotation
    Information. Indices are as stored (1-based in DICOM).

    Attributes
    ----------
    detector : int or None
        (0054,0020) Detector Vector: which detector (head) acquired the frame.
    energy_window : int or None
        (0054,0010) Energy Window Vector.
    phase : int or None
        (0054,0030) Phase Vector (dynamic acquisitions).
    rotation : int or None
        (0054,0050) Rotation Vector (tomographic acquisitions).
    rr_interval : int or None
        (0054,0060) R-R Interval Vector (gated acquisitions).
    time_slot : int or None
        (0054,0070) Time Slot Vector (gated acquisitions).
    slice : int or None
        (0054,0080) Slice Vector (reconstructed tomograms).
    angular_view : int or None
        (0054,0090) Angular View Vector.
    time_slice : int or None
        (0054,0100) Time Slice Vector.
    angle_deg : float or None
        Gantry angle of the frame in degrees: Start Angle + Angular Step × the frame's index
        within its detector and rotation (NM Rotation Information Sequence).
    """

    detector: int | None = None
    energy_window: int | None = None
    phase: int | None = None
    rotation: int | None = None
    rr_interval: int | None = None
    time_slot: int | None = None
    slice: int | None = None
    angular_view: int | None = None
    time_slice: int | None = None
    angle_deg: float | None = None

    def get(self, name: str, default: Any = None) -> Any:
        """``info.get("detector")``: the field's value, or `default` when it is None or unknown.

        Transitional: `Frame.metadata` used to be a dict, and code written against it reads
        ``frame.metadata.get("key")``. New code reads the attribute (``info.detector``).
        """
        value = getattr(self, name, None) if name in _FRAME_INFO_FIELDS else None
        return default if value is None else value

    def as_dict(self) -> dict[str, int | float]:
        """The fields the file gave (not None), e.g. for JSON."""
        return {k: v for k in _FRAME_INFO_FIELDS if (v := getattr(self, k)) is not None}


_FRAME_INFO_FIELDS = tuple(FrameInfo.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Frame:
    """One 2-D image of a series and where its pixels are.

    Attributes
    ----------
    source : str
        File path, or ``"archive.zip::member"`` for an image inside a zip.
    dataset_index : int
        Index into `ImageSeries.datasets` of the file's parsed header.
    frame_index : int or None
        Frame number (0-based) inside a multi-frame file, None for a single-frame file.
    sop_instance_uid : str
    slope, intercept : float
        Rescale to physical units: value = stored · slope + intercept.
    position : 3-tuple or None
        Image Position (Patient) of this image.
    metadata : FrameInfo
        Per-frame facts of a multi-frame file (NM detector, energy window, rotation, gantry
        angle...); every field None for a single-frame file.
    """

    source: str
    dataset_index: int
    frame_index: int | None
    sop_instance_uid: str
    slope: float = 1.0
    intercept: float = 0.0
    position: tuple[float, float, float] | None = None
    metadata: FrameInfo = field(default_factory=lambda: FrameInfo())


class _LRU:
    """A tiny thread-safe LRU cache for decoded images, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: int) -> np.ndarray | None:
        with self._lock:
            arr = self._items.get(key)
            if arr is not None:
                self._items.move_to_end(key)
            return arr

    def put(self, key: int, arr: np.ndarray) -> None:
        if arr.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = arr
            self._bytes += arr.nbytes
            while self._bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


# Decoded images kept per series; small enough that a 500-slice CT stays well under 1.5x its raw
# size, large enough that scrolling back and forth in the viewer does not decode again.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024

# A function that decodes one frame of a series to its stored values. It returns the array, or
# (array, SHA-256 hex or None); None (or a bare array) leaves the hash to `pixel_sha256`, which
# computes it only when asked (result provenance), so plain viewing never pays for hashing.
Decoder = Callable[["ImageSeries", Frame], "tuple[np.ndarray, str | None] | np.ndarray"]


class ImageSeries:
    """A stack of 2-D images from one series with one geometry, decoded lazily.

    Use `imgqa.load` to make one. Index it like a sequence: ``series[i]`` is image *i* as a
    float32 array in physical units; ``series.stack()`` returns the whole (n, rows, cols) array.

    Parameters
    ----------
    header : HeaderSummary
    geometry : Geometry
    frames : sequence of Frame
        In spatial order (by position along the slice normal) for volumes; in acquisition order
        for multi-frame NM.
    datasets : sequence of pydicom Dataset
        Parsed headers of the files, without pixel data in memory.
    decoder : callable
        Decodes one frame (supplied by `imgqa.io.dicom`).
    flags : sequence of str
        Non-fatal findings about how the files were read, e.g. "read without DICOM file meta".
    """

    def __init__(
        self,
        header: HeaderSummary,
        geometry: Geometry,
        frames: Sequence[Frame],
        datasets: Sequence[Dataset],
        decoder: Decoder,
        flags: Sequence[str] = (),
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.header = header
        self.geometry = geometry
        self.frames = tuple(frames)
        self.datasets = tuple(datasets)
        self.flags = tuple(flags)
        self._decoder = decoder
        self._cache = _LRU(cache_bytes)
        self._hashes: dict[int, str] = {}
        self._lock = threading.Lock()

    # -- sequence protocol ---------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, index: int) -> np.ndarray:
        return self.pixels(index)

    def __iter__(self):
        for i in range(len(self)):
            yield self.pixels(i)

    def __repr__(self) -> str:
        h = self.header
        sp = self.geometry.pixel_spacing_mm
        sp_txt = f"{sp[0]:.4g}x{sp[1]:.4g} mm" if sp else "spacing unknown"
        return (f"<ImageSeries {h.modality} {h.equipment.label()!r} "
                f"{len(self)}x{h.rows}x{h.columns} {sp_txt} {h.series_description!r}>")

    # -- convenient header facts ---------------------------------------------------------
    @property
    def modality(self) -> str:
        return self.header.modality

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.frames), self.header.rows, self.header.columns)

    @property
    def pixel_spacing_mm(self) -> tuple[float, float] | None:
        return self.geometry.pixel_spacing_mm

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct files this series was read from, in order."""
        return tuple(dict.fromkeys(f.source for f in self.frames))

    @property
    def raw_nbytes(self) -> int:
        """Bytes of the stored (undecoded, uncompressed) pixels of the whole series."""
        bits = 16 if self.header.bits_stored > 8 or self.header.bits_stored == 0 else 8
        if self.header.bits_stored > 16:
            bits = 32
        return len(self) * self.header.rows * self.header.columns * bits // 8

    def require_spacing(self, what: str = "This analysis") -> tuple[float, float]:
        """Return the pixel spacing in mm or raise `MissingSpacingError`."""
        sp = self.geometry.pixel_spacing_mm
        if sp is None:
            name = Path(self.frames[0].source.split("::")[-1]).name if self.frames else "series"
            doing = what.lower() if what != "This analysis" else "this analysis"
            if self.geometry.spacing_problem:
                # An invalid value is not the same as no value: say which and why.
                raise MissingSpacingError(
                    f"{name}: {self.geometry.spacing_problem}, so {doing} cannot give sizes "
                    "in mm.", path=self.frames[0].source if self.frames else None)
            raise MissingSpacingError(
                f"{name} has no pixel spacing ((0028,0030) Pixel Spacing or (0018,1164) Imager "
                f"Pixel Spacing), so {what.lower() if what != 'This analysis' else 'this analysis'}"
                " cannot give sizes in mm.",
                path=self.frames[0].source if self.frames else None,
            )
        return sp

    def with_spacing(self, spacing_mm: float | tuple[float, float]) -> ImageSeries:
        """A copy of this series with a user-supplied pixel spacing (source ``"user"``)."""
        if np.isscalar(spacing_mm):
            sp = (float(spacing_mm), float(spacing_mm))  # type: ignore[arg-type]
        else:
            sp = (float(spacing_mm[0]), float(spacing_mm[1]))  # type: ignore[index]
        geo = Geometry(
            pixel_spacing_mm=sp,
            spacing_source="user",
            detector_spacing_mm=self.geometry.detector_spacing_mm,
            orientation=self.geometry.orientation,
            positions=self.geometry.positions,
            slice_spacing_mm=self.geometry.slice_spacing_mm,
            spacing_problem="",
        )
        return self.subset(range(len(self)), geometry=geo)

    def subset(self, indices: Sequence[int] | range, *, geometry: Geometry | None = None
               ) -> ImageSeries:
        """A new series made of some of this series' images (e.g. one NM detector)."""
        idx = list(indices)
        frames = [self.frames[i] for i in idx]
        geo = geometry or self.geometry
        if geometry is None and self.geometry.positions is not None:
            geo = Geometry(
                pixel_spacing_mm=self.geometry.pixel_spacing_mm,
                spacing_source=self.geometry.spacing_source,
                detector_spacing_mm=self.geometry.detector_spacing_mm,
                orientation=self.geometry.orientation,
                positions=self.geometry.positions[idx] if idx else self.geometry.positions[:0],
                slice_spacing_mm=self.geometry.slice_spacing_mm,
                spacing_problem=self.geometry.spacing_problem,
            )
        out = ImageSeries(self.header, geo, frames, self.datasets, self._decoder, self.flags,
                          self._cache.max_bytes)
        return out

    # -- pixels --------------------------------------------------------------------------
    def _decode(self, index: int) -> np.ndarray:
        frame = self.frames[index]
        out = self._decoder(self, frame)
        stored, digest = out if isinstance(out, tuple) else (out, None)
        with self._lock:
            known = index in self._hashes
        if not known:
            # Every analysis records the image's hash (provenance): hashing the array just
            # decoded (≈ 0.4 ms for 512 KB) spares `pixel_sha256` reading the file again.
            digest = digest or sha256_of(stored)
            with self._lock:
                self._hashes[index] = digest
        return stored

    def raw(self, index: int) -> np.ndarray:
        """Image *index* as stored in the file (native dtype, no rescale).

        Colour images come back as their grey level (float32). Not cached: every call decodes.
        """
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"image {index} out of range for a series of {len(self)}")
        return self._decode(index)

    def pixels(self, index: int) -> np.ndarray:
        """Image *index* in physical units as a read-only float32 (rows, cols) array."""
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"image {index} out of range for a series of {len(self)}")
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        frame = self.frames[index]
        stored = self._decode(index)
        # One pass per operation, straight into a new float32 array (no intermediate copy).
        if frame.slope != 1.0:
            arr = np.multiply(stored, np.float32(frame.slope), dtype=np.float32)
            if frame.intercept != 0.0:
                arr += np.float32(frame.intercept)
        elif frame.intercept != 0.0:
            arr = np.add(stored, np.float32(frame.intercept), dtype=np.float32)
        else:
            arr = stored.astype(np.float32, copy=stored.dtype == np.float32)
        arr.setflags(write=False)
        self._cache.put(index, arr)
        return arr

    def stack(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """All (or the chosen) images as one float32 (n, rows, cols) array in physical units."""
        idx = range(len(self)) if indices is None else list(indices)
        out = np.empty((len(idx), self.header.rows, self.header.columns), dtype=np.float32)
        for k, i in enumerate(idx):
            out[k] = self.pixels(i)
        return out

    def dataset(self, index: int) -> Dataset:
        """The full pydicom header of the file image *index* comes from (pixel data deferred)."""
        return self.datasets[self.frames[index].dataset_index]

    def pixel_sha256(self, index: int) -> str:
        """SHA-256 (hex) of image *index*'s decoded stored pixel values.

        The hash covers the bytes of the array `raw` returns (C order, native byte order): the
        stored values after decompression and before rescale, so the same image gives the same
        hash whether it was sent compressed or not, and the frames of a multi-frame file differ.
        Computed when the image is first decoded (or on first request) and then remembered.
        """
        if index < 0:
            index += len(self)
        with self._lock:
            digest = self._hashes.get(index)
        if digest is None:
            frame = self.frames[index]
            out = self._decoder(self, frame)
            stored, digest = out if isinstance(out, tuple) else (out, None)
            if digest is None:
                digest = sha256_of(stored)
            with self._lock:
                self._hashes[index] = digest
        return digest

    def identities(self) -> list[tuple[str, str]]:
        """(SOPInstanceUID, SHA-256 of pixel data) for every image, for result provenance.

        For a multi-frame file the hash covers that frame's stored bytes, so frames of one
        file are told apart.
        """
        return [(f.sop_instance_uid, self.pixel_sha256(i)) for i, f in enumerate(self.frames)]

    def summary(self) -> dict[str, Any]:
        """A JSON-ready description of the series (no patient data)."""
        h = self.header
        g = self.geometry
        return {
            "modality": h.modality,
            "series_uid": h.series_uid,
            "series_number": h.series_number,
            "series_description": h.series_description,
            "manufacturer": h.equipment.manufacturer,
            "model": h.equipment.model,
            "serial": h.equipment.serial,
            "station_name": h.equipment.station_name,
            "acquired": h.acquired.isoformat() if h.acquired else None,
            "images": len(self),
            "rows": h.rows,
            "columns": h.columns,
            "pixel_spacing_mm": list(g.pixel_spacing_mm) if g.pixel_spacing_mm else None,
            "spacing_source": g.spacing_source,
            "slice_spacing_mm": g.slice_spacing_mm,
            "files": len(self.sources),
            "flags": list(self.flags),
        }


def sha256_of(data: bytes | memoryview | np.ndarray) -> str:
    """Hex SHA-256 of a bytes-like object or array buffer."""
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).data
    return hashlib.sha256(data).hexdigest()
