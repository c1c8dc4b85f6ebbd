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
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

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
    if pixel_spacing_mm is not None and np.isscalar(pixel_spacing_mm):
        pixel_spacing_mm = (float(pixel_spacing_mm), float(pixel_spacing_mm))  # type: ignore
    when = acquired or datetime(2026, 1, 5, 8, 0, 0)
    study_uid, series_uid, frame_of_ref = generate_uid(), generate_uid(), generate_uid()
    sop_class = SOP_CLASSES[modality]
    n = stack.shape[0]
    thickness = slice_thickness_mm
    step = slice_spacing_mm or thickness or 1.0

    def base_dataset(sop_uid: str, index: int) -> Dataset:
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = sop_uid
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = sop_uid
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = series_uid
        ds.FrameOfReferenceUID = frame_of_ref
        ds.Modality = modality
        ds.PatientName = "PHANTOM^QC"  # a phantom, never a person
        ds.PatientID = "PHANTOM"
        ds.PatientBirthDate = ""
        ds.PatientSex = "O"
        ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = \
            when.strftime("%Y%m%d")
        ds.StudyTime = ds.SeriesTime = ds.AcquisitionTime = ds.ContentTime = \
            when.strftime("%H%M%S")
        ds.StudyID = "QC"
        ds.AccessionNumber = ""
        ds.ReferringPhysicianName = ""
        ds.SeriesNumber = 1
        ds.InstanceNumber = index + 1
        ds.SeriesDescription = description
        ds.Manufacturer = device.manufacturer
        ds.ManufacturerModelName = device.model
        ds.DeviceSerialNumber = device.serial
        ds.StationName = device.station_name
        ds.InstitutionName = device.institution
        ds.SoftwareVersions = "imgqa phantoms"
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if signed else 0
        ds.Rows, ds.Columns = int(stack.shape[1]), int(stack.shape[2])
        if pixel_spacing_mm is not None:
            setattr(ds, spacing_tag, [f"{pixel_spacing_mm[0]:.6g}", f"{pixel_spacing_mm[1]:.6g}"])
        if rescale_slope != 1.0 or rescale_intercept != 0.0 or modality in ("CT",):
            ds.RescaleSlope = f"{rescale_slope:.6g}"
            ds.RescaleIntercept = f"{rescale_intercept:.6g}"
            if modality == "CT":
                ds.RescaleType = "HU"
        if modality in ("CT", "MR"):
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.ImagePositionPatient = [
                -(stack.shape[2] - 1) / 2 * (pixel_spacing_mm or (1, 1))[1],
                -(stack.shape[1] - 1) / 2 * (pixel_spacing_mm or (1, 1))[0],
                index * step,
            ]
            ds.SliceLocation = index * step
            if thickness:
                ds.SliceThickness = f"{thickness:.6g}"
            ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        if modality in ("DX", "CR", "MG", "IO"):
            ds.ImageType = ["ORIGINAL", "PRIMARY"]
            ds.PresentationIntentType = "FOR PRESENTATION"
        if modality == "NM":
            ds.ImageType = ["ORIGINAL", "PRIMARY", "STATIC", "EMISSION"]
        for kw, value in (extra_tags or {}).items():
            setattr(ds, kw, value)
        return ds

    paths: list[Path] = []
    if multiframe:
        if modality != "NM":
            raise ValueError("multiframe writing is implemented for NM only")
        sop = generate_uid()
        ds = base_dataset(sop, 0)
        ds.NumberOfFrames = n
        ds.FrameIncrementPointer = [0x00540020]  # DetectorVector
        ds.DetectorVector = list(range(1, n + 1))
        ds.NumberOfDetectors = n
        ds.PixelData = _to_stored(stack, rescale_slope, rescale_intercept, signed).tobytes()
        path = out / f"{prefix}.dcm"
        ds.save_as(path, enforce_file_format=True)
        return [path]
    for i in range(n):
        sop = generate_uid()
        ds = base_dataset(sop, i)
        if modality == "NM":
            ds.NumberOfFrames = 1
            ds.FrameIncrementPointer = 0x00540010  # EnergyWindowVector
            ds.EnergyWindowVector = [1]
        ds.PixelData = _to_stored(stack[i], rescale_slope, rescale_intercept, signed).tobytes()
        path = out / f"{prefix}_{i + 1:03d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


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
