"""Synthetic radiation dose structured reports with known values (validation of dose.report).

`write_dose_sr` writes a conformant-enough X-Ray Radiation Dose SR (SOP class 1.2.840.10008.5.1.
4.1.1.88.67) holding CT acquisitions (TID 10011) or projection irradiation events (TID 10001)
whose numbers are given in chosen UCUM units (e.g. DAP in Gy·m², exposure in µAs), so the
reader's unit conversion is checked against values known here. No patient data: the patient
module holds a phantom name only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

from imgqa.phantoms.writer import DEMO_DEVICE, PhantomDevice

__all__ = ["write_dose_sr", "CT_EVENTS", "PROJECTION_EVENTS"]

XRAY_DOSE_SR = "1.2.840.10008.5.1.4.1.1.88.67"

# (protocol name, {code: (value, unit)}) — values in the units written into the file.
CT_EVENTS: tuple[tuple[str, Mapping[str, tuple[float, str]]], ...] = (
    ("Localizer", {"113830": (0.0004, "Gy"), "113838": (0.005, "Gy.cm"), "113733": (120, "kV")}),
    ("Head constancy", {"113830": (55.3, "mGy"), "113838": (77.42, "mGy.cm"),
                        "113733": (120, "kV")}),
    ("Body constancy", {"113830": (14.8, "mGy"), "113838": (284.0, "mGy.mm"),
                        "113733": (100, "kV")}),
)
PROJECTION_EVENTS: tuple[tuple[str, Mapping[str, tuple[float, str]]], ...] = (
    ("Chest PA constancy", {"122130": (1.85e-6, "Gy.m2"), "113738": (0.000021, "Gy"),
                            "113733": (81.0, "kV"), "113736": (1600.0, "uAs"),
                            "113845": (402.0, "1"), "113846": (400.0, "1"),
                            "113847": (0.02, "1")}),
    ("Abdomen constancy", {"122130": (0.137, "dGy.cm2"), "113738": (0.045, "mGy"),
                           "113733": (73.0, "kV"), "113734": (320.0, "mA"),
                           "113735": (12.5, "ms")}),
)


def _code(value: str, meaning: str, scheme: str = "DCM") -> Dataset:
    c = Dataset()
    c.CodeValue, c.CodingSchemeDesignator, c.CodeMeaning = value, scheme, meaning
    return c


def _item(vt: str, code: str, meaning: str, *, rel: str = "CONTAINS") -> Dataset:
    it = Dataset()
    it.RelationshipType = rel
    it.ValueType = vt
    it.ConceptNameCodeSequence = DicomSequence([_code(code, meaning)])
    return it


def _num(code: str, value: float, unit: str) -> Dataset:
    it = _item("NUM", code, f"concept {code}")
    mv = Dataset()
    mv.NumericValue = f"{value:.10g}"
    mv.MeasurementUnitsCodeSequence = DicomSequence([_code(unit, unit, "UCUM")])
    it.MeasuredValueSequence = DicomSequence([mv])
    return it


def _text(code: str, text: str) -> Dataset:
    it = _item("TEXT", code, f"concept {code}")
    it.TextValue = text
    return it


def _container(code: str, children: Sequence[Dataset]) -> Dataset:
    it = _item("CONTAINER", code, f"concept {code}")
    it.ContinuityOfContent = "SEPARATE"
    it.ContentSequence = DicomSequence(list(children))
    return it


def _ct_event(name: str, nums: Mapping[str, tuple[float, str]], index: int) -> Dataset:
    dose = [_num(c, *nums[c]) for c in ("113830", "113838") if c in nums]
    phantom = _item("CODE", "113835", "CTDIw Phantom Type")
    phantom.ConceptCodeSequence = DicomSequence([_code("113690", "IEC Head Dosimetry Phantom")])
    source = [_num(c, *nums[c]) for c in ("113733",) if c in nums]
    return _container("113819", [
        _text("125203", name),
        _container("113822", [_container("113831", source)]),
        _container("113829", [*dose, phantom]),
    ])


def _projection_event(name: str, nums: Mapping[str, tuple[float, str]], index: int) -> Dataset:
    return _container("113706", [_text("125203", name)]
                      + [_num(c, v, u) for c, (v, u) in nums.items()])


def write_dose_sr(out_dir: str | Path, kind: str = "CT", *,
                  events: Sequence[tuple[str, Mapping[str, tuple[float, str]]]] | None = None,
                  device: PhantomDevice = DEMO_DEVICE, acquired: datetime | None = None,
                  name: str = "dose_report.dcm") -> Path:
    """Write one dose SR (``kind`` ``"CT"``: TID 10011, ``"projection"``: TID 10001).

    Parameters
    ----------
    out_dir : path
        Created if missing.
    kind : {"CT", "projection"}
    events : sequence of (protocol name, {concept code: (value, UCUM unit)}), optional
        Defaults to `CT_EVENTS` or `PROJECTION_EVENTS`.

    Returns
    -------
    Path of the file written.
    """
    if kind not in ("CT", "projection"):
        raise ValueError(f"kind must be 'CT' or 'projection', not {kind!r}")
    events = events if events is not None else (CT_EVENTS if kind == "CT" else PROJECTION_EVENTS)
    make = _ct_event if kind == "CT" else _projection_event
    when = acquired or datetime(2026, 1, 5, 9, 0)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(XRAY_DOSE_SR)
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = XRAY_DOSE_SR, meta.MediaStorageSOPInstanceUID
    ds.Modality = "SR"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SeriesNumber, ds.InstanceNumber = 999, 1
    ds.SeriesDescription = "Dose Report"
    ds.PatientName, ds.PatientID = "PHANTOM^DOSE", "PHANTOM"
    ds.ContentDate = ds.StudyDate = ds.SeriesDate = when.strftime("%Y%m%d")
    ds.ContentTime = ds.StudyTime = ds.SeriesTime = when.strftime("%H%M%S")
    ds.Manufacturer, ds.ManufacturerModelName = device.manufacturer, device.model
    ds.DeviceSerialNumber, ds.StationName = device.serial, device.station_name
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = DicomSequence([_code("113701", "X-Ray Radiation Dose Report")])
    tmpl = Dataset()
    tmpl.MappingResource, tmpl.TemplateIdentifier = "DCMR", "10011" if kind == "CT" else "10001"
    ds.ContentTemplateSequence = DicomSequence([tmpl])
    ds.ContentSequence = DicomSequence([make(n, v, i + 1) for i, (n, v) in enumerate(events)])
    path = out / name
    ds.save_as(path, enforce_file_format=True)
    return path


def expected_values(kind: str = "CT") -> list[dict[str, Any]]:
    """The events' values in imgqa's units, computed here by hand (the validation truth)."""
    if kind == "CT":
        return [{"label": "Localizer", "ctdivol_mgy": 0.4, "dlp_mgy_cm": 5.0, "kvp": 120.0},
                {"label": "Head constancy", "ctdivol_mgy": 55.3, "dlp_mgy_cm": 77.42,
                 "kvp": 120.0},
                {"label": "Body constancy", "ctdivol_mgy": 14.8, "dlp_mgy_cm": 28.4,
                 "kvp": 100.0}]
    return [{"label": "Chest PA constancy", "dap_gy_cm2": 0.0185, "dose_rp_mgy": 0.021,
             "kvp": 81.0, "exposure_mas": 1.6, "exposure_index": 402.0,
             "target_exposure_index": 400.0, "deviation_index": 0.02},
            {"label": "Abdomen constancy", "dap_gy_cm2": 0.0137, "dose_rp_mgy": 0.045,
             "kvp": 73.0, "exposure_mas": 4.0}]
