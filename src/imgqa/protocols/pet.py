"""PET QC protocols: uniform-cylinder cross-calibration (SUV ≈ 1) and the NEMA NU 2-2018 §7
image-quality phantom with EARL recovery coefficients.

Units are taken from the header: (0054,1001) Units must be BQML for absolute values (imgqa.io
already applies each slice's own Rescale Slope), the reference time of the values follows
(0054,1102) Decay Correction, and the injected activity, its time and the half-life come from
the Radiopharmaceutical Information Sequence unless the user enters them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions, lazy_module
from imgqa.protocols.base import (
    Analysis,
    Curve,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
    with_pixel_size,
)

if TYPE_CHECKING:
    from imgqa.analysis.pet_calibration import CylinderResult

(uniform_cylinder,) = lazy_functions("imgqa.analysis.pet_calibration", "uniform_cylinder")
(nema_iq_analysis,) = lazy_functions("imgqa.analysis.pet_nema_iq", "nema_iq_analysis")
_iq = lazy_module("imgqa.analysis.pet_nema_iq")
_act = lazy_module("imgqa.analysis.pet_activity")

__all__ = ["PetHeader", "pet_cross_calibration", "pet_header", "pet_nema_iq"]

_DIAMETERS = (10, 13, 17, 22, 28, 37)


# ---------------------------------------------------------------------------------------------
# Header facts (one place that reads PET elements)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PetHeader:
    """The PET facts a test needs, from the first image of the series (PS3.3 C.8.9)."""

    units: str
    decay_correction: str
    weight_kg: float | None
    injected_bq: float | None
    injected_at: datetime | None
    half_life_s: float | None
    nuclide: str
    series_start: datetime | None
    acquisition_start: datetime | None


def _dt(date: Any, time: Any) -> datetime | None:
    d, t = str(date or "").strip(), str(time or "").strip()
    if len(d) < 8 or len(t) < 4:
        return None
    try:
        base = datetime.strptime(d[:8] + t[:6].ljust(6, "0"), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    frac = t[6:].lstrip(".")
    return base.replace(microsecond=int(frac[:6].ljust(6, "0"))) if frac.isdigit() else base


def _float(value: Any) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) and out > 0 else None


def pet_header(series: ImageSeries) -> PetHeader:
    """Read units, decay correction, weight and radiopharmaceutical data of a PT series."""
    ds = series.dataset(0)
    series_start = _dt(ds.get("SeriesDate") or ds.get("AcquisitionDate"), ds.get("SeriesTime"))
    acq = _dt(ds.get("AcquisitionDate") or ds.get("SeriesDate"), ds.get("AcquisitionTime"))
    injected = when = half = None
    nuclide = ""
    seq = ds.get("RadiopharmaceuticalInformationSequence")
    if seq:
        item = seq[0]
        injected = _float(item.get("RadionuclideTotalDose"))
        half = _float(item.get("RadionuclideHalfLife"))
        stamp = str(item.get("RadiopharmaceuticalStartDateTime") or "")
        when = _dt(stamp[:8], stamp[8:]) if len(stamp) >= 12 else None
        if when is None:
            when = _dt(ds.get("SeriesDate") or ds.get("AcquisitionDate"),
                       item.get("RadiopharmaceuticalStartTime"))
        codes = item.get("RadionuclideCodeSequence")
        if codes:
            nuclide = str(codes[0].get("CodeMeaning") or "")
    return PetHeader(units=str(ds.get("Units") or "").upper(),
                     decay_correction=str(ds.get("DecayCorrection") or "").upper(),
                     weight_kg=_float(ds.get("PatientWeight")), injected_bq=injected,
                     injected_at=when, half_life_s=half, nuclide=nuclide,
                     series_start=series_start, acquisition_start=acq)


def _volume(series: ImageSeries, what: str, pixel_spacing_mm: float | None
            ) -> tuple[np.ndarray, float, np.ndarray, ImageSeries]:
    """The slices as a volume, the pixel size and each slice's position along the normal."""
    if series.modality != "PT":
        raise AnalysisError(f"{what} needs PET (PT) images; this series is "
                            f"{series.modality or 'of unknown modality'}.",
                            hint="Open the PET reconstruction of the phantom, not the CT.")
    series, px = with_pixel_size(series, pixel_spacing_mm, what)
    geo = series.geometry
    if geo.positions is not None and geo.normal is not None and len(geo.positions) == len(series):
        z = np.asarray(geo.positions, float) @ geo.normal
    else:
        z = np.arange(len(series)) * float(geo.slice_spacing_mm or
                                           series.header.slice_thickness_mm or 1.0)
    return series.stack(), px, z, series


def _reference_time(h: PetHeader, warnings: list[str]) -> datetime:
    """When the image values are valid (DICOM Decay Correction START/ADMIN/NONE)."""
    if h.decay_correction == "ADMIN" and h.injected_at is not None:
        return h.injected_at
    if h.decay_correction == "NONE":
        warnings.append("The images are not decay corrected (Decay Correction NONE): the "
                        "expected concentration is decayed to the acquisition start, ignoring "
                        "the decay during the frame.")
        if h.acquisition_start is not None:
            return h.acquisition_start
    if h.series_start is None:
        raise AnalysisError("The series has no Series Date/Time, so the expected concentration "
                            "cannot be decayed to the scan start.")
    return h.series_start


# ---------------------------------------------------------------------------------------------
# pet.cross_calibration
# ---------------------------------------------------------------------------------------------
def _check_units(h: PetHeader, warnings: list[str]) -> None:
    """Refuse images not in Bq/ml; warn when the Units are not stated (taken as Bq/ml)."""
    if h.units not in ("BQML", ""):
        raise AnalysisError(f"The image values are in {h.units}, not Bq/ml: the cross-"
                            "calibration needs activity-concentration images (Units BQML).",
                            hint="Reconstruct or export the series in Bq/ml.")
    if not h.units:
        warnings.append("The series does not state its Units; values are taken as Bq/ml.")


def _injected_bq(h: PetHeader, activity_mbq: float | None, activity_time: str | None) -> float:
    """The activity put in the phantom (Bq): as entered (which then needs its time), else from
    the header.

    Raises
    ------
    ParameterError
        `activity_mbq` without `activity_time`.
    AnalysisError
        Nothing entered and no Radionuclide Total Dose in the header.
    """
    if activity_mbq is not None:
        if activity_time is None:
            raise ParameterError("activity_mbq needs activity_time (when the dose calibrator "
                                 "read it), e.g. --param activity_time=08:15.")
        return activity_mbq * 1e6
    if h.injected_bq is not None:
        return h.injected_bq
    raise AnalysisError("This series has no injected activity: enter it with --param "
                        "activity_mbq=… --param activity_time=HH:MM.",
                        hint="Radionuclide Total Dose is missing from the header.")


def _activity_time(h: PetHeader, activity_time: str | None, ref: datetime) -> datetime:
    """When the activity was measured: as entered (a time on the day of `ref`, or a full date
    and time), else the header's radiopharmaceutical start.

    Raises
    ------
    ParameterError
        `activity_time` is not a time.
    AnalysisError
        Nothing entered and no start time in the header.
    """
    try:
        when = _act.parse_time(activity_time, ref) if activity_time else h.injected_at
    except ValueError as exc:
        raise ParameterError(f"activity_time: {exc}.") from None
    if when is None:
        raise AnalysisError("This series has no time for the injected activity: enter it with "
                            "--param activity_time=HH:MM.")
    return when


def _half_life_s(h: PetHeader, isotope: str | None) -> float:
    """Half-life (s) of the entered isotope, else the header's half-life, else that of the
    header's radionuclide name.

    Raises
    ------
    ParameterError
        Unknown entered isotope.
    AnalysisError
        Nothing entered and no usable half-life or radionuclide in the header.
    """
    if isotope:
        try:
            return _act.half_life_s(isotope)
        except KeyError as exc:
            raise ParameterError(str(exc.args[0])) from None
    if h.half_life_s:
        return h.half_life_s
    try:
        return _act.half_life_s(h.nuclide)
    except KeyError:
        raise AnalysisError("The series names no radionuclide half-life: enter the isotope "
                            "with --param isotope=F-18.") from None


def _volume_and_mass(h: PetHeader, phantom_volume_ml: float | None, warnings: list[str]
                     ) -> tuple[float, float]:
    """Phantom volume (ml) and the mass used for SUV (g).

    The volume is the entered one, else the Patient Weight as water (1 kg ↔ 1000 ml, as entered
    at the console); the mass is the Patient Weight, else the volume as water (with a warning).

    Raises
    ------
    AnalysisError
        No volume entered and no Patient Weight.
    """
    volume_ml = phantom_volume_ml
    if volume_ml is None:
        if h.weight_kg is None:
            raise AnalysisError("The phantom volume is unknown (no Patient Weight in the "
                                "header): enter it with --param phantom_volume_ml=….")
        volume_ml = 1000.0 * h.weight_kg  # water: 1 kg ↔ 1000 ml, as entered at the console
    weight_g = 1000.0 * h.weight_kg if h.weight_kg is not None else volume_ml
    if h.weight_kg is None:
        warnings.append("No Patient Weight: SUV uses the phantom volume as its mass (water).")
    return volume_ml, weight_g


def _calibration_rois(r: CylinderResult, px: float) -> list[Roi]:
    """The central VOI and the ring of background ROIs of every slice used."""
    rois = []
    for s in r.slices:
        rois.append(Roi("circle", (s.centre_rc,), label=f"VOI {s.voi_mean:.0f} Bq/ml",
                        frame=s.index, radius=r.voi_radius_mm / px))
        rois += [Roi("circle", (c,), frame=s.index, radius=r.ring_roi_radius_mm / px,
                     role="background", label="")
                 for c in s.ring_rc]
    return rois


def pet_cross_calibration(series: ImageSeries, *, activity_mbq: float | None = None,
                          activity_time: str | None = None, residual_activity_mbq: float = 0.0,
                          phantom_volume_ml: float | None = None, isotope: str | None = None,
                          voi_radius_mm: float | None = None, end_margin_mm: float = 10.0,
                          pixel_spacing_mm: float | None = None) -> Analysis:
    """Measured vs expected activity concentration of a uniform cylinder, SUV, calibration
    factor and axial/in-slice uniformity."""
    vol, px, z, series = _volume(series, "PET cross-calibration", pixel_spacing_mm)
    h = pet_header(series)
    warnings: list[str] = []
    _check_units(h, warnings)
    try:
        r = uniform_cylinder(vol, px, z, voi_radius_mm=voi_radius_mm,
                             end_margin_mm=end_margin_mm)
    except ValueError as exc:
        raise PhantomNotFoundError(f"No uniform cylinder found: {exc}.",
                                   hint="Use a scan of a uniformly filled cylinder.") from None
    warnings += list(r.warnings)
    ref = _reference_time(h, warnings)
    injected = _injected_bq(h, activity_mbq, activity_time)
    when = _activity_time(h, activity_time, ref)
    half = _half_life_s(h, isotope)
    volume_ml, weight_g = _volume_and_mass(h, phantom_volume_ml, warnings)
    expected, decayed = _act.expected_concentration(
        injected, when, ref, half, volume_ml, residual_activity_mbq * 1e6)
    if decayed.elapsed_s < 0:
        warnings.append("The activity was measured after the scan started; check the times.")
    suv = r.mean / (decayed.activity_bq / weight_g)
    rois = _calibration_rois(r, px)
    used = [s.index for s in r.slices]
    means = np.array([s.voi_mean for s in r.slices])
    curves = (Curve("slice mean", z[used] - z[used][0], means, "axial position", "mm",
                    "activity concentration", "Bq/ml"),
              Curve("expected", z[used] - z[used][0], np.full(len(used), expected),
                    "axial position", "mm", "activity concentration", "Bq/ml"))
    return Analysis(
        measurements={
            "activity_concentration_bq_ml": r.mean,
            "expected_concentration_bq_ml": expected,
            "suv_mean": suv,
            "calibration_factor": expected / r.mean,
            "axial_uniformity_max_deviation_percent": r.axial_max_deviation_percent,
            "axial_uniformity_cov_percent": r.axial_cov_percent,
            "inslice_uniformity_max_deviation_percent": r.inslice_max_deviation_percent,
            "concentration_deviation_percent": 100.0 * (r.mean / expected - 1.0),
        },
        rois=tuple(rois), curves=curves, warnings=tuple(warnings),
        extra={"slices_used": used, "phantom_slices": list(r.phantom_slices),
               "voi_radius_mm": r.voi_radius_mm, "phantom_radius_mm": float(np.median(
                   [s.phantom_radius_mm for s in r.slices])),
               "slice_means_bq_ml": means.tolist(),
               "voi_cov_percent": [s.voi_cov_percent for s in r.slices],
               "reference_time": ref.isoformat(), "activity_time": when.isoformat(),
               "activity_bq": injected, "residual_bq": residual_activity_mbq * 1e6,
               "activity_at_reference_bq": decayed.activity_bq,
               "decay_factor": decayed.factor, "half_life_s": half,
               "phantom_volume_ml": volume_ml, "weight_g": weight_g,
               "decay_correction": h.decay_correction or "(not stated)",
               "half_life_source": _act.HALF_LIFE_SOURCE if isotope else "DICOM header"},
        frames=used,
    )


# ---------------------------------------------------------------------------------------------
# pet.nema_iq
# ---------------------------------------------------------------------------------------------
# Sphere-to-background ratios at which the EARL bands are taken to apply: 10:1 ± 10 %.
EARL_RATIO_RANGE = (9.0, 11.0)


def pet_nema_iq(series: ImageSeries, *, ratio: float = 4.0, background_bq_ml: float | None = None,
                pixel_spacing_mm: float | None = None) -> Analysis:
    """NEMA NU 2-2018 §7 contrast, background variability and lung residual; EARL RCs."""
    vol, px, z, series = _volume(series, "NEMA image quality", pixel_spacing_mm)
    warnings: list[str] = []
    h = pet_header(series)
    if h.units and h.units != "BQML":
        warnings.append(f"The image values are in {h.units}, not Bq/ml: the *_bq_ml values are "
                        "in that unit; ratios (contrast, RC) are unaffected.")
    steps = np.diff(z)
    if len(steps) and (np.any(steps <= 0) or np.ptp(steps) > 0.05 * abs(np.median(steps))):
        raise AnalysisError("The slices are not evenly spaced; the 3-D analysis needs a "
                            "contiguous reconstruction.", hint="Load the whole series.")
    dz = float(np.median(steps)) if len(steps) else 1.0
    try:
        r = nema_iq_analysis(vol, px, dz, ratio=ratio, background_true=background_bq_ml)
    except ValueError as exc:
        raise PhantomNotFoundError(f"No NEMA image-quality phantom found: {exc}.",
                                   hint="Use a reconstruction of the NEMA/IEC body phantom "
                                        "with hot spheres covering ≥ 36 slices.") from None
    warnings += list(r.warnings)
    # EARL's recovery bands are specified at a 10:1 sphere-to-background ratio (Boellaard et
    # al. 2015, §"EARL accreditation"); at NEMA's 4:1 the background spills more into the
    # spheres and the RCs read higher, so the default EARL tolerances apply only near 10:1.
    earl_ratio = EARL_RATIO_RANGE[0] <= ratio <= EARL_RATIO_RANGE[1]
    if not earl_ratio:
        warnings.append(f"The EARL recovery bands are specified for a 10:1 sphere-to-background "
                        f"ratio; at {ratio:g}:1 the recovery coefficients are reported but not "
                        "judged against them.")
    meas: dict[str, float | None] = {}
    rois: list[Roi] = []
    for n, s in enumerate(r.spheres, start=1):
        meas.update({f"sphere_{n}_mean_bq_ml": s.mean, f"sphere_{n}_max_bq_ml": s.max,
                     f"sphere_{n}_peak_bq_ml": s.peak,
                     f"sphere_{n}_contrast_percent": s.contrast_percent,
                     f"sphere_{n}_background_variability_percent":
                         s.background_variability_percent,
                     f"sphere_{n}_rc_mean": s.rc_mean, f"sphere_{n}_rc_max": s.rc_max,
                     f"sphere_{n}_rc_peak": s.rc_peak})
        rois.append(Roi("circle", ((s.centre_vox[1], s.centre_vox[2]),), frame=s.slice_index,
                        radius=s.diameter_mm / 2 / px,
                        label=f"{s.diameter_mm:g} mm: Q {s.contrast_percent:.0f} %, "
                              f"RCmax {s.rc_max:.2f}"))
    meas["background_mean_bq_ml"] = r.background_mean
    meas["lung_residual_percent"] = r.lung_residual_percent
    for k, lung in zip(r.background_slices, r.lung_rc):
        rois += [Roi("circle", (c,), frame=k, radius=18.5 / px, role="background")
                 for c in r.background_rc]
        rois.append(Roi("circle", (lung,), frame=k, radius=15.0 / px, label="lung insert",
                        role="background"))
    d = np.array(_DIAMETERS, float)
    curves: list[Curve] = []
    verdict: dict[str, dict[str, bool | None]] = {}
    for kind, label in (("rc_mean", "RC mean (A50)"), ("rc_max", "RC max"),
                        ("rc_peak", "RC peak (1 cm³)")):
        values = np.array([getattr(s, kind) for s in r.spheres])
        curves.append(Curve(f"measured {label}", d, values, "sphere diameter", "mm", label, ""))
        for band, table in _iq.EARL_BANDS.items():
            limits = table[kind]
            if limits is None:
                continue
            lo, hi = np.array(limits).T
            curves.append(Curve(f"{band} low", d, lo, "sphere diameter", "mm", label, ""))
            curves.append(Curve(f"{band} high", d, hi, "sphere diameter", "mm", label, ""))
            verdict.setdefault(band, {})[kind] = bool(np.all((values >= lo) & (values <= hi)))
    return Analysis(
        measurements=meas, rois=tuple(rois), curves=tuple(curves), warnings=tuple(warnings),
        extra={"earl_bands": {b: {k: (None if v is None else [list(x) for x in v])
                                  for k, v in t.items()} for b, t in _iq.EARL_BANDS.items()},
               "earl_sources": dict(_iq.EARL_SOURCES), "earl_within_bands": verdict,
               "sphere_diameters_mm": list(_DIAMETERS),
               "sphere_centres_voxel": [list(s.centre_vox) for s in r.spheres],
               "sphere_true_bq_ml": r.sphere_true, "ratio": ratio,
               # the default EARL tolerances follow this (`when = {earl_ratio = "yes"}`)
               "resolved": {"earl_ratio": "yes" if earl_ratio else "no"},
               "background_slices": list(r.background_slices),
               "background_rois_per_slice": len(r.background_rc),
               "lung_residual_per_slice_percent": list(r.lung_residual_per_slice),
               "tilt_deg": r.tilt_deg, "ring_radius_mm": r.ring_radius_mm,
               "a50_voxels": [s.a50_voxels for s in r.spheres]},
    )


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------
_IQ_WORDS = ("NEMA", "IEC", " IQ", "IQ ", "SPHERE", "KUGEL", "KULE", "BODY PHANTOM", "EARL")
_CYL_WORDS = ("CYL", "UNIF", "CALIB", "XCAL", "CROSS", "WATER", "VANN", "GE68", "GE-68",
              "DAILY", "HOMOG", "SUV")


def _content(series: ImageSeries) -> tuple[str, str]:
    """("iq" | "cylinder" | "", why) from the middle slice: hot spots or a cold centre mean the
    IQ phantom; a uniform round disc a cylinder."""
    img = np.asarray(series.pixels(len(series) // 2), float)
    hi = float(np.percentile(img, 99.5))
    if hi <= 0:
        return "", "the middle slice is empty"
    level = float(np.median(img[img > 0.25 * hi]))
    mask = img > 0.5 * level
    if mask.sum() < 20:
        return "", "no phantom in the middle slice"
    rows, cols = np.nonzero(mask)
    cy, cx = rows.mean(), cols.mean()
    rmax = float(np.percentile(np.hypot(rows - cy, cols - cx), 99.5))
    fill = mask.sum() / (np.pi * rmax ** 2)
    yy, xx = np.indices(img.shape)
    sp = series.pixel_spacing_mm
    centre = np.hypot(yy - cy, xx - cx) <= (15.0 / sp[0] if sp else 0.1 * rmax)
    inner = mask & (np.hypot(yy - cy, xx - cx) <= 0.8 * rmax)
    top = float(np.percentile(img[inner], 99.9)) if inner.any() else 0.0
    if centre.any() and img[centre].mean() < 0.5 * level:
        return "iq", "the middle slice has a cold centre (lung insert)"
    if top > 2.0 * level:
        return "iq", "the middle slice has hot spots (spheres)"
    if fill > 0.85:
        return "cylinder", "the middle slice is a uniform round disc"
    return "", "the middle slice is neither a uniform disc nor shows spheres"


def _detector(kind: str, words: tuple[str, ...], hit: float, content_score: float):
    def detect(series: ImageSeries) -> tuple[float, str]:
        if series.modality != "PT":
            return 0.0, "not a PET (PT) image"
        if len(series) < 3:
            return 0.0, f"{len(series)} slice(s): a PET volume is needed"
        desc = series.header.series_description or "(none)"
        text = f" {series.header.description_text.upper()} "
        found = next((w for w in words if w in text), None)
        if found is not None:
            return hit, f"the series description {desc!r} contains {found.strip()!r}"
        what, why = _content(series)
        # Nothing recognised (e.g. a patient study): no claim, so generic.roi runs with the
        # reason instead of a calibration computed on the wrong images.
        return (content_score, why) if what == kind else (0.0, why)
    return detect


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
_SPACING = ParameterSpec("pixel_spacing_mm", float, None, "mm",
                         "Pixel size to use when the images have none.", minimum=1e-3)

register(Protocol(
    name="pet.cross_calibration",
    key_measurement="calibration_factor",
    version="1",
    title="PET cross-calibration (uniform cylinder, SUV)",
    description="Mean activity concentration in a central VOI of a uniform cylinder vs the "
                "concentration expected from the activity, its time and the phantom volume "
                "(decay-corrected to the image reference time); SUV (should be 1), the new "
                "calibration factor, axial and in-slice uniformity.",
    modalities=("PT",),
    measurements=(
        MeasurementSpec("activity_concentration_bq_ml", "Bq/ml", "Mean in the central VOI on "
                        "every slice away from the cylinder's ends.",
                        label="Activity concentration, measured"),
        MeasurementSpec("expected_concentration_bq_ml", "Bq/ml", "Activity (minus residual) "
                        "decayed to the image reference time, divided by the phantom volume.",
                        label="Activity concentration, expected"),
        MeasurementSpec("suv_mean", "", "Mean SUV (body weight) of the cylinder; 1.0 when the "
                        "scanner and dose calibrator agree.", label="SUV mean"),
        MeasurementSpec("calibration_factor", "", "Expected / measured concentration: the "
                        "factor to apply to the scanner calibration.",
                        label="Calibration factor"),
        MeasurementSpec("axial_uniformity_max_deviation_percent", "%", "Largest deviation of a "
                        "slice's VOI mean from the mean of all.", False,
                        label="Axial uniformity, max deviation"),
        MeasurementSpec("axial_uniformity_cov_percent", "%", "SD / mean of the slice VOI "
                        "means.", False, label="Axial uniformity, CoV"),
        MeasurementSpec("inslice_uniformity_max_deviation_percent", "%", "Largest deviation of "
                        "one of nine small ROIs (centre + 8 at 60 % radius) from its slice "
                        "mean.", False, label="In-slice uniformity, max deviation"),
        MeasurementSpec("concentration_deviation_percent", "%", "Measured / expected − 1.",
                        label="Concentration deviation"),
    ),
    parameters=(
        ParameterSpec("activity_mbq", float, None, "MBq", "Activity put in the phantom "
                      "(default: Radionuclide Total Dose from the header).", minimum=0.0),
        ParameterSpec("activity_time", str, None, "", "When that activity was measured: HH:MM, "
                      "HH:MM:SS or YYYY-MM-DDTHH:MM (default: Radiopharmaceutical Start "
                      "Date/Time)."),
        ParameterSpec("residual_activity_mbq", float, 0.0, "MBq", "Activity left in the "
                      "syringe, measured at the same time.", minimum=0.0),
        ParameterSpec("phantom_volume_ml", float, None, "ml", "Volume of the filled cylinder "
                      "(default: Patient Weight as kg of water).", minimum=1.0),
        ParameterSpec("isotope", str, None, "", "Radionuclide, e.g. F-18, Ge-68 (default: the "
                      "header's half-life). Known: F-18, Ga-68, Ge-68, C-11, N-13, O-15, "
                      "Rb-82, Cu-64, Zr-89, I-124."),
        ParameterSpec("voi_radius_mm", float, None, "mm", "Radius of the VOI on each slice "
                      "(default: half the cylinder radius).", minimum=2.0),
        ParameterSpec("end_margin_mm", float, 10.0, "mm", "Leave out slices this close to a "
                      "cylinder end inside the field.", minimum=0.0),
        _SPACING,
    ),
    function=pet_cross_calibration,
    inputs="a PET reconstruction (Bq/ml) of a uniformly filled cylinder, several slices",
    min_images=1,
    detect=_detector("cylinder", _CYL_WORDS, 0.85, 0.6),
    standard="EANM/EARL FDG-PET/CT guideline 2.0 (Boellaard 2015) calibration QC; "
             "IAEA HHS 1 (2009) §6.2",
))

_SPHERE_MEAS = tuple(
    spec for n, dmm in enumerate(_DIAMETERS, start=1) for spec in (
        MeasurementSpec(f"sphere_{n}_mean_bq_ml", "Bq/ml", f"Mean in the A50 isocontour VOI "
                        f"of the {dmm} mm sphere.", label=f"Sphere {dmm} mm, mean"),
        MeasurementSpec(f"sphere_{n}_max_bq_ml", "Bq/ml", f"Maximum voxel in the {dmm} mm "
                        "sphere.", label=f"Sphere {dmm} mm, max"),
        MeasurementSpec(f"sphere_{n}_peak_bq_ml", "Bq/ml", f"Highest 1 cm³ sphere mean inside "
                        f"the {dmm} mm sphere.", label=f"Sphere {dmm} mm, peak"),
        MeasurementSpec(f"sphere_{n}_contrast_percent", "%", f"NEMA percent contrast of the "
                        f"{dmm} mm sphere.", True, label=f"Sphere {dmm} mm, contrast"),
        MeasurementSpec(f"sphere_{n}_background_variability_percent", "%", f"SD / mean of the "
                        f"60 background ROIs of {dmm} mm.", False,
                        label=f"Sphere {dmm} mm, background variability"),
        MeasurementSpec(f"sphere_{n}_rc_mean", "", f"EARL RCmean (A50) of the {dmm} mm sphere.",
                        label=f"Sphere {dmm} mm, RC mean"),
        MeasurementSpec(f"sphere_{n}_rc_max", "", f"EARL RCmax of the {dmm} mm sphere.",
                        label=f"Sphere {dmm} mm, RC max"),
        MeasurementSpec(f"sphere_{n}_rc_peak", "", f"EARL RCpeak (1 cm³) of the {dmm} mm "
                        "sphere.", label=f"Sphere {dmm} mm, RC peak"),
    ))

register(Protocol(
    name="pet.nema_iq",
    key_measurement="sphere_6_rc_mean",
    version="1",
    title="PET image quality (NEMA NU 2 body phantom, EARL recovery)",
    description="Automatic 3-D localisation of the body phantom and its six spheres; NEMA "
                "percent contrast, background variability (12 ROIs on 5 slices) and lung "
                "residual; EARL recovery coefficients (mean A50, max, 1 cm³ peak) against the "
                "EARL1/EARL2 bands.",
    modalities=("PT",),
    measurements=(*_SPHERE_MEAS,
                  MeasurementSpec("background_mean_bq_ml", "Bq/ml", "Mean of the 60 background "
                                  "ROIs of 37 mm.", label="Background mean"),
                  MeasurementSpec("lung_residual_percent", "%", "Lung-insert ROI mean / "
                                  "background, mean of the five slices.", False,
                                  label="Lung residual")),
    parameters=(
        ParameterSpec("ratio", float, 4.0, "", "Sphere : background activity concentration "
                      "ratio of the filling (NEMA NU 2-2018: 4).", minimum=1.01, maximum=50.0),
        ParameterSpec("background_bq_ml", float, None, "Bq/ml", "True background concentration "
                      "at the image reference time, from the preparation (default: the measured "
                      "background).", minimum=0.0),
        _SPACING,
    ),
    function=pet_nema_iq,
    inputs="a PET reconstruction of the NEMA/IEC body phantom (≥ 36 contiguous slices)",
    min_images=5,
    detect=_detector("iq", _IQ_WORDS, 0.9, 0.7),
    standard="NEMA NU 2-2018 §7; EARL: Boellaard et al. EJNMMI 42:328 (2015), Kaalep et al. "
             "EJNMMI 45:1344 (2018)",
))
