"""Write synthetic phantom images as valid DICOM files, with their ground truth beside them.

Every generator in `imgqa.phantoms` produces numpy images with a known answer and hands them
to `write_series`, which makes standards-conforming files: the right SOP class for the
modality, fresh UIDs, pixel spacing, equipment identity (a fictitious "imgqa Digital Phantom"
device, never a patient) and, for volumes, positions along the slice normal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

__all__ = ["SOP_CLASSES", "PhantomDevice", "write_series", "write_ground_truth", "DEMO_DEVICE"]

# Storage SOP classes per modality (DICOM PS3.4 B.5).
SOP_CLASSES = {
    "CT": "1.2.840.10008.5.1.4.1.1.2",           # CT Image Storage
    "MR": "1.2.840.10008.5.1.4.1.1.4",           # MR Image Storage
    "NM": "1.2.840.10008.5.1.4.1.1.20",          # Nuclear Medicine Image Storage
    "DX": "1.2.840.10008.5.1.4.1.1.1.1",         # Digital X-Ray Image Storage - For Presentation
    "CR": "1.2.840.10008.5.1.4.1.1.1",           # Computed Radiography Image Storage
    "MG": "1.2.840.10008.5.1.4.1.1.1.2",         # Digital Mammography X-Ray - For Presentation
    "IO": "1.2.840.10008.5.1.4.1.1.1.3",         # Digital Intra-Oral X-Ray - For Presentation
    "PT": "1.2.840.10008.5.1.4.1.1.128",         # Positron Emission Tomography Image Storage
    # No QC test exists for ultrasound yet: tests use a US image as the generic.roi example.
    "US": "1.2.840.10008.5.1.4.1.1.6.1",         # Ultrasound Image Storage
}

# Our UID root for generated data: pydicom's generate_uid() without a prefix gives a 2.25 UUID
# UID, unique without registering a root.


@dataclass(frozen=True)
class PhantomDevice:
    """The fictitious equipment identity written into phantom files."""

    manufacturer: str = "imgqa"
    model: str = "Digital Phantom"
    serial: str = "PHANTOM-001"
    station_name: str = "IMGQA-DEMO"
    institution: str = "imgqa demo department"


DEMO_DEVICE = PhantomDevice()


@dataclass
class SeriesSpec:
    modality: str
    description: str
    pixel_spacing_mm: tuple[float, float] | None
    slice_thickness_mm: float | None = None
    slice_spacing_mm: float | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def _to_stored(image: np.ndarray, slope: float, intercept: float, signed: bool
               ) -> np.ndarray:
    stored = np.rint((np.asarray(image, dtype=np.float64) - intercept) / slope)
    if signed:
        return np.clip(stored, -32768, 32767).astype(np.int16)
    return np.clip(stored, 0, 65535).astype(np.uint16)


def write_series(
    images: np.ndarray | Sequence[np.ndarray],
    out_dir: str | Path,
    *,
    modality: str,
    description: str,
    pixel_spacing_mm: float | tuple[float, float] | None,
    slice_thickness_mm: float | None = None,
    slice_spacing_mm: float | None = None,
    rescale_slope: float = 1.0,
    rescale_intercept: float = 0.0,
    signed: bool = False,
    device: PhantomDevice = DEMO_DEVICE,
    acquired: datetime | None = None,
    spacing_tag: str = "PixelSpacing",
    prefix: str = "img",
    extra_tags: Mapping[str, Any] | None = None,
    multiframe: bool = False,
) -> list[Path]:
    """Write a stack of images as one DICOM series; return the file paths.

    Parameters
    ----------
    images : (n, rows, cols) or (rows, cols) array or list of 2-D arrays
        Pixel values in physical units (HU for CT, counts for NM...).
    out_dir : path
        Created if missing.
    modality : str
        ``CT``, ``MR``, ``NM``, ``DX``, ``CR``, ``MG`` or ``IO``.
    pixel_spacing_mm : float or (row, col) or None
        None writes no spacing at all (to test the "spacing unknown" state).
    rescale_slope, rescale_intercept : float
        Stored = (value − intercept) / slope, rounded; CT uses intercept −1024.
    spacing_tag : str
        ``PixelSpacing`` or ``ImagerPixelSpacing`` (projection radiography).
    multiframe : bool
        NM only: write one multi-frame file (frames along the first axis) instead of one file
        per image.
    extra_tags : mapping
        Additional DICOM keywords and values (e.g. ``{"KVP": 120}``).
    """
    stack = np.asarray(images) if not isinstance(images, (list, tuple)) else np.stack(images)
    if stack.ndim == 2:
        stack = stack[None]
    modality = modality.upper()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = slice_spacing_mm or slice_thickness_mm or 1.0
    ctx = _SeriesContext(
        modality=modality, sop_class=UID(SOP_CLASSES[modality]), description=description,
        when=acquired or datetime(2026, 1, 5, 8, 0, 0), device=device,
        study_uid=generate_uid(), series_uid=generate_uid(), frame_of_ref=generate_uid(),
        rows=int(stack.shape[1]), cols=int(stack.shape[2]),
        spacing=_spacing_pair(pixel_spacing_mm), spacing_tag=spacing_tag,
        thickness=slice_thickness_mm, step=step, slope=rescale_slope,
        intercept=rescale_intercept, signed=signed, extra_tags=dict(extra_tags or {}))
    if multiframe:
        return [_write_multiframe(ctx, stack, out / f"{prefix}.dcm")]
    return [_write_frame(ctx, stack[i], i, out / f"{prefix}_{i + 1:03d}.dcm")
            for i in range(stack.shape[0])]


@dataclass(frozen=True)
class _SeriesContext:
    """What every file of one written series shares (UIDs, geometry, scaling, identity)."""

    modality: str
    sop_class: UID
    description: str
    when: datetime
    device: PhantomDevice
    study_uid: UID
    series_uid: UID
    frame_of_ref: UID
    rows: int
    cols: int
    spacing: tuple[float, float] | None   # (row, col) mm; None writes no spacing
    spacing_tag: str
    thickness: float | None
    step: float                           # mm between slice positions
    slope: float
    intercept: float
    signed: bool
    extra_tags: Mapping[str, Any]


def _spacing_pair(pixel_spacing_mm: float | tuple[float, float] | None
                  ) -> tuple[float, float] | None:
    """``None``, one number for square pixels, or (row, col) → (row, col) floats in mm."""
    if pixel_spacing_mm is None:
        return None
    if isinstance(pixel_spacing_mm, (int, float, np.number)):
        return (float(pixel_spacing_mm), float(pixel_spacing_mm))
    return (float(pixel_spacing_mm[0]), float(pixel_spacing_mm[1]))


def _write_multiframe(ctx: _SeriesContext, stack: np.ndarray, path: Path) -> Path:
    """NM only: all images as the frames of one file (one frame per detector vector entry)."""
    if ctx.modality != "NM":
        raise ValueError("multiframe writing is implemented for NM only")
    n = stack.shape[0]
    ds = _base_dataset(ctx, generate_uid(), 0)
    ds.NumberOfFrames = n
    ds.FrameIncrementPointer = [0x00540020]  # DetectorVector
    ds.DetectorVector = list(range(1, n + 1))
    ds.NumberOfDetectors = n
    ds.PixelData = _to_stored(stack, ctx.slope, ctx.intercept, ctx.signed).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _write_frame(ctx: _SeriesContext, image: np.ndarray, index: int, path: Path) -> Path:
    """One image of the series as one file."""
    ds = _base_dataset(ctx, generate_uid(), index)
    if ctx.modality == "NM":
        ds.NumberOfFrames = 1
        ds.FrameIncrementPointer = 0x00540010  # EnergyWindowVector
        ds.EnergyWindowVector = [1]
    ds.PixelData = _to_stored(image, ctx.slope, ctx.intercept, ctx.signed).tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def _base_dataset(ctx: _SeriesContext, sop_uid: UID, index: int) -> Dataset:
    """The dataset of image ``index`` without its pixel data."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ctx.sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = ctx.sop_class
    ds.SOPInstanceUID = sop_uid
    _set_identity(ds, ctx, index)
    _set_image_pixel(ds, ctx)
    _set_modality_tags(ds, ctx, index)
    for kw, value in ctx.extra_tags.items():
        setattr(ds, kw, value)
    return ds


def _set_identity(ds: Dataset, ctx: _SeriesContext, index: int) -> None:
    """Patient (a phantom, never a person), study, series and equipment modules."""
    ds.StudyInstanceUID = ctx.study_uid
    ds.SeriesInstanceUID = ctx.series_uid
    ds.FrameOfReferenceUID = ctx.frame_of_ref
    ds.Modality = ctx.modality
    ds.PatientName = "PHANTOM^QC"  # a phantom, never a person
    ds.PatientID = "PHANTOM"
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = \
        ctx.when.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = \
        ctx.when.strftime("%H%M%S")
    ds.StudyID = "QC"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = index + 1
    ds.SeriesDescription = ctx.description
    ds.Manufacturer = ctx.device.manufacturer
    ds.ManufacturerModelName = ctx.device.model
    ds.DeviceSerialNumber = ctx.device.serial
    ds.StationName = ctx.device.station_name
    ds.InstitutionName = ctx.device.institution
    ds.SoftwareVersions = "imgqa phantoms"


def _set_image_pixel(ds: Dataset, ctx: _SeriesContext) -> None:
    """Image pixel module (16-bit monochrome), pixel spacing and the rescale to real units."""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1 if ctx.signed else 0
    ds.Rows, ds.Columns = ctx.rows, ctx.cols
    if ctx.spacing is not None:
        setattr(ds, ctx.spacing_tag, [f"{ctx.spacing[0]:.6g}", f"{ctx.spacing[1]:.6g}"])
    if ctx.slope != 1.0 or ctx.intercept != 0.0 or ctx.modality == "CT":
        ds.RescaleSlope = f"{ctx.slope:.6g}"
        ds.RescaleIntercept = f"{ctx.intercept:.6g}"
        if ctx.modality == "CT":
            ds.RescaleType = "HU"


def _set_modality_tags(ds: Dataset, ctx: _SeriesContext, index: int) -> None:
    """Image type per modality; slice geometry (centred plane, position along z) for CT/MR."""
    if ctx.modality in ("CT", "MR"):
        row_mm, col_mm = ctx.spacing or (1.0, 1.0)
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [-(ctx.cols - 1) / 2 * col_mm, -(ctx.rows - 1) / 2 * row_mm,
                                   index * ctx.step]
        ds.SliceLocation = index * ctx.step
        if ctx.thickness:
            ds.SliceThickness = f"{ctx.thickness:.6g}"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    if ctx.modality in ("DX", "CR", "MG", "IO"):
        ds.ImageType = ["ORIGINAL", "PRIMARY"]
        ds.PresentationIntentType = "FOR PRESENTATION"
    if ctx.modality == "NM":
        ds.ImageType = ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]


def write_ground_truth(out_dir: str | Path, truth: Mapping[str, Any],
                       name: str = "ground_truth.json") -> Path:
    """Write the phantom's known answer as JSON beside its images."""
    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)

    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(type(o))

    path.write_text(json.dumps(dict(truth), indent=2, default=default) + "\n")
    return path


def read_ground_truth(folder: str | Path, name: str = "ground_truth.json") -> dict[str, Any]:
    return json.loads((Path(folder) / name).read_text())
