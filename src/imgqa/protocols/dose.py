"""``dose.report``: the doses of a radiation dose structured report, one result per event.

A QC exam's dose report is a constancy test of the modality's dose display: the CTDIvol and DLP
of a fixed phantom protocol (CT, TID 10011), or the DAP, kVp and mAs of a fixed projection
exposure (TID 10001), are judged against a baseline and trended like any other measurement.
The report is read by `imgqa.io.dose_sr`; this module turns each irradiation event into an
`Analysis` whose label is the acquisition protocol name from the report.
"""

from __future__ import annotations

from imgqa.errors import AnalysisError
from imgqa.io.series import ImageSeries
from imgqa.protocols.base import Analysis, MeasurementSpec, Protocol, register

__all__ = ["dose_report"]

_MEASUREMENTS = (
    MeasurementSpec("ctdivol_mgy", "mGy", "Mean CTDIvol of the CT acquisition (113830).",
                    label="CTDIvol"),
    MeasurementSpec("dlp_mgy_cm", "mGy·cm", "Dose-length product of the acquisition (113838).",
                    label="DLP"),
    MeasurementSpec("dap_gy_cm2", "Gy·cm²", "Dose-area product of the irradiation event "
                    "(122130), converted from the report's unit.", label="Dose-area product"),
    MeasurementSpec("dose_rp_mgy", "mGy", "Dose at the reference point (113738).",
                    label="Dose at reference point"),
    MeasurementSpec("entrance_dose_mgy", "mGy", "Entrance exposure at the reference point "
                    "(111636).", label="Entrance dose"),
    MeasurementSpec("kvp", "kV", "Tube voltage (113733).", label="Tube voltage"),
    MeasurementSpec("exposure_mas", "mAs", "Exposure (113736), or tube current × exposure "
                    "time.", label="Exposure (mAs)"),
    MeasurementSpec("exposure_index", "", "IEC 62494-1 exposure index the modality reported "
                    "(113845).", label="Exposure index"),
    MeasurementSpec("target_exposure_index", "", "Target exposure index the modality reported "
                    "(113846).", label="Target exposure index"),
    MeasurementSpec("deviation_index", "", "IEC 62494-1 deviation index the modality reported "
                    "(113847).", label="Deviation index"),
)


def _report(series: ImageSeries):  # -> DoseReport, typed loosely to keep the import lazy
    report = getattr(series, "report", None)
    if report is None:
        raise AnalysisError(
            f"Series '{series.header.series_description or '(no description)'}' is not a "
            "radiation dose structured report, so dose.report cannot read it.",
            hint="Load the dose SR (X-Ray Radiation Dose Report) the modality sends with the "
                 "QC exam.")
    return report


def dose_report(series: ImageSeries) -> list[Analysis]:
    """One `Analysis` per irradiation event of a dose SR, labelled with its protocol name.

    Parameters
    ----------
    series : DoseReportSeries
        A dose SR loaded by `imgqa.load` (no images; the report is attached).

    Returns
    -------
    list of Analysis
        Measurements ``ctdivol_mgy``, ``dlp_mgy_cm`` (CT), ``dap_gy_cm2``, ``kvp``,
        ``exposure_mas`` (projection X-ray) and the others of `_MEASUREMENTS`, only those the
        report holds; ``extra`` keeps the phantom type, target region, event UID and start.
    """
    report = _report(series)
    if not report.events:
        name = series.sources[0].split("::")[-1].replace("\\", "/").rsplit("/", 1)[-1] \
            if series.sources else "The report"
        raise AnalysisError(
            f"{name} is a dose structured report without any irradiation event (no CT "
            "Acquisition or Irradiation Event X-Ray Data), so there is no dose to read.",
            hint="Export the complete dose report from the modality.")
    out = []
    for ev in report.events:
        warnings = [w for w in report.warnings if w.startswith(f"event {ev.details['index']}:")]
        if not ev.values:
            warnings.append(f"The event {ev.label!r} holds no dose value imgqa reads.")
        out.append(Analysis(measurements=dict(ev.values), label=ev.label, warnings=warnings,
                            extra={"kind": ev.kind, "template": report.template,
                                   **ev.details}))
    return out


def _detect(series: ImageSeries) -> tuple[float, str]:
    report = getattr(series, "report", None)
    if report is None:
        return 0.0, "not a dose structured report"
    tid = f"TID {report.template}" if report.template else "dose report"
    return 1.0, f"a radiation dose structured report ({tid}, {len(report.events)} events)"


register(Protocol(
    name="dose.report",
    key_measurement="ctdivol_mgy",
    version="1",
    title="Dose report (RDSR)",
    description="Reads a radiation dose structured report: per CT acquisition CTDIvol and DLP "
                "(TID 10011), per projection X-ray event DAP, reference-point dose, kVp, mAs "
                "and exposure index (TID 10001); one result per irradiation event, labelled "
                "with the report's protocol name, for constancy against a baseline.",
    modalities=("SR",),
    measurements=_MEASUREMENTS,
    function=dose_report,
    inputs="one radiation dose structured report (DICOM SR)",
    min_images=0,
    detect=_detect,
    standard="DICOM PS3.16 TID 10011 (CT Radiation Dose) and TID 10001 (Projection X-Ray "
             "Radiation Dose); IEC 62494-1 exposure index",
))
