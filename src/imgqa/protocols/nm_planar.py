"""Planar gamma-camera tests of issue 13: spatial linearity, structured noise index (SNI),
planar sensitivity and whole-body scan speed. One result per planar frame (detector)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols.base import (
    Analysis,
    Curve,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
    with_pixel_size,
)
from imgqa.protocols.nm import (
    _MAX_PLANAR_FRAMES,
    _check_counts,
    _frames,
    _label,
    _not_planar_reason,
    _sweep_reason,
)

# Kernels import SciPy: bound lazily so that the declarations load without it.
(lines_linearity,) = lazy_functions("imgqa.analysis.nm_linearity", "lines_linearity")
(structured_noise_index,) = lazy_functions("imgqa.analysis.sni", "structured_noise_index")
(scan_speed_profile,) = lazy_functions("imgqa.analysis.scan_speed", "scan_speed_profile")
(planar_sensitivity, nuclide_from_text, half_life_hours) = lazy_functions(
    "imgqa.analysis.nm_sensitivity", "planar_sensitivity", "nuclide_from_text",
    "half_life_hours")

__all__ = ["nm_linearity", "nm_scan_speed", "nm_sensitivity", "nm_sni"]

# The nuclides of the half-life table (imgqa.analysis.nm_sensitivity.HALF_LIVES_H), repeated
# here so the declaration loads without the kernel; a test keeps the two equal.
NUCLIDES = ("Tc-99m", "I-123", "I-131", "In-111", "Ga-67", "Tl-201", "Lu-177", "Co-57")


# ---------------------------------------------------------------------------------------------
# Header facts (kept in one place)
# ---------------------------------------------------------------------------------------------
def _frame_facts(series: ImageSeries, i: int) -> dict[str, Any]:
    """Duration (s), nuclide text and scan velocity (mm/s) of frame `i`, from the header.

    The duration is (0018,1242) Actual Frame Duration of the file, else that of the frame's
    phase in the Phase Information Sequence (dynamic NM).
    """
    frame = series.frames[i]
    ds = series.dataset(i)
    ms = ds.get("ActualFrameDuration", None)
    if ms is None:
        phases = ds.get("PhaseInformationSequence", None)
        phase = frame.metadata.phase
        if phases and phase is not None and 1 <= int(phase) <= len(phases):
            ms = phases[int(phase) - 1].get("ActualFrameDuration", None)
    nuclide = ""
    radio = ds.get("RadiopharmaceuticalInformationSequence", None)
    if radio:
        codes = radio[0].get("RadionuclideCodeSequence", None)
        if codes:
            nuclide = str(codes[0].get("CodeMeaning", ""))
        nuclide = nuclide or str(radio[0].get("Radionuclide", ""))
    velocity = ds.get("ScanVelocity", None)
    return {"duration_s": float(ms) / 1000.0 if ms not in (None, "") else None,
            "nuclide": nuclide,
            "scan_velocity_mm_s": float(velocity) if velocity not in (None, "") else None}


def _keyword_claim(keywords: tuple[str, ...], score: float, what: str
                   ) -> Callable[[ImageSeries], tuple[float, str]]:
    """Claim planar, static NM images whose description names the test; decline the rest.

    No low-score guess: without a keyword these images belong to the older planar tests
    (a line-source image is nm.resolution's, a flood nm.uniformity's).
    """
    def detect(series: ImageSeries) -> tuple[float, str]:
        if series.modality != "NM":
            return 0.0, "not an NM image"
        not_planar = _not_planar_reason(series)
        if not_planar:
            return 0.0, not_planar
        sweep = _sweep_reason(series)
        if sweep:
            return 0.0, sweep
        words = series.header.description_text.upper()
        found = next((k for k in keywords if k in words), None)
        desc = series.header.series_description or "(none)"
        if found is None:
            return 0.0, f"the series description {desc!r} does not name {what}"
        return score, f"the series description {desc!r} contains {found!r}"
    return detect


# ---------------------------------------------------------------------------------------------
# nm.linearity
# ---------------------------------------------------------------------------------------------
_LIN_FIELDS = ("ufov", "cfov")


def nm_linearity(series: ImageSeries, *, bin_mm: float = 10.0, edge_mm: float = 10.0,
                 min_length_mm: float = 100.0, cfov_fraction: float = 0.75,
                 frame: int | None = None, pixel_spacing_mm: float | None = None
                 ) -> list[Analysis]:
    """Absolute and differential linearity (NEMA NU 1 §2.5) from slit or line images."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "Spatial linearity")
    out = []
    for i in _frames(series, frame):
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "linearity")
        res = {axis: lines_linearity(arr, px, bin_mm=bin_mm, edge_mm=edge_mm,
                                     min_length_mm=min_length_mm, cfov_fraction=cfov_fraction)
               for axis, arr in (("x", image), ("y", image.T))}
        if res["x"] is None and res["y"] is None:
            raise PhantomNotFoundError(
                f"No slit or line pattern found in image {i + 1}.",
                hint="Use an image of a slit mask (or parallel line sources) with lines at least "
                     f"{min_length_mm:g} mm long, parallel to the image axes, and pixels no "
                     "larger than about 0.6 × the line FWHM.")
        meas: dict[str, float | None] = {}
        rois: list[Roi] = []
        curves: list[Curve] = []
        for axis, r in res.items():
            for fld in _LIN_FIELDS:
                f = getattr(r, fld) if r is not None else None
                meas[f"absolute_linearity_{fld}_mm_{axis}"] = f.absolute_mm if f else None
                meas[f"differential_linearity_{fld}_mm_{axis}"] = \
                    f.differential_mm if f else None
            if r is None:
                other = "vertical" if axis == "x" else "horizontal"
                warnings.append(f"No {other} lines in the image: {axis.upper()} linearity not "
                                "measured (a slit mask is imaged once in each orientation).")
                continue
            n = len(r.along_px)
            if n < 3:
                warnings.append(f"{axis.upper()}: only {n} line{'s' if n > 1 else ''} — the "
                                "ideal grid is fitted to them alone (NEMA uses a slit mask "
                                "covering the field, 30 mm apart); the result is the "
                                "straightness of these lines, not the whole field's linearity.")
            if abs(r.tilt_deg) > 2.0:
                warnings.append(f"{axis.upper()} lines are tilted {r.tilt_deg:.1f}° from the "
                                "image axis: beyond about 2° the result is less reliable; "
                                "align the slit mask with the detector.")
            for k, (t, x, d) in enumerate(zip(r.along_px, r.across_px, r.deviation_mm), 1):
                pts = [(float(tt), float(xx)) for tt, xx in zip(t, x)]
                if axis == "y":  # transposed: (along=col, across=row) → (row, col)
                    pts = [(xx, tt) for tt, xx in pts]
                rois.append(Roi("line", tuple(pts), label=f"{axis.upper()} line {k}: max "
                                f"deviation {np.max(np.abs(d)):.2f} mm", frame=i,
                                role="profile"))
                curves.append(Curve(f"{axis.upper()} line {k}: deviation from the grid",
                                    t * px, d, "position along the line", "mm",
                                    "deviation", "mm"))
        for kind in ("absolute", "differential"):
            for fld in _LIN_FIELDS:
                vals = [meas[f"{kind}_linearity_{fld}_mm_{a}"] for a in ("x", "y")]
                known = [v for v in vals if v is not None]
                meas[f"{kind}_linearity_{fld}_mm"] = max(known) if known else None
        extra = {f"spacing_mm_{a}": r.spacing_mm for a, r in res.items() if r is not None}
        extra.update({f"lines_{a}": len(r.along_px) for a, r in res.items() if r is not None})
        out.append(Analysis(measurements=meas, rois=tuple(rois), curves=tuple(curves),
                            warnings=tuple(warnings), label=_label(series, i), frames=[i],
                            extra=extra))
    return out


# ---------------------------------------------------------------------------------------------
# nm.sni
# ---------------------------------------------------------------------------------------------
def _box_roi(box: tuple[int, int, int, int], f: int, label: str, frame: int) -> Roi:
    """A half-open box on the f-times rebinned grid as a native-pixel rectangle."""
    r0, c0, r1, c1 = box
    return Roi("rect", ((r0 * f - 0.5, c0 * f - 0.5), (r1 * f - 0.5, c1 * f - 0.5)),
               label=label, frame=frame)


def nm_sni(series: ImageSeries, *, rebin_factor: int | None = None, display_mm: float = 65.0,
           field_mm: float | None = None, frame: int | None = None,
           pixel_spacing_mm: float | None = None) -> list[Analysis]:
    """Structured noise index of each flood frame (Nelson et al. 2014)."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "Structured noise index")
    out = []
    for i in _frames(series, frame):
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "the structured noise index")
        try:
            r = structured_noise_index(image, px, rebin_factor=rebin_factor,
                                       display_mm=display_mm, field_mm=field_mm)
        except ValueError as exc:
            raise PhantomNotFoundError(f"No usable flood field in image {i + 1}: {exc}.",
                                       hint="Use a flood image covering the detector.") from None
        if not np.allclose(image, np.round(image)):
            warnings.append("Pixel values are not whole counts: the Poisson noise level (mean "
                            "counts) is only right for unscaled count images.")
        f = r.rebin_factor
        meas: dict[str, float | None] = {"sni": r.overall.sni, "sni_max": r.maximum}
        rois = [_box_roi(r.overall.box, f, f"SNI {r.overall.sni:.3f}", i)]
        for q in r.quadrants:
            meas[f"sni_{q.name.lower()}"] = q.sni
            rois.append(_box_roi(q.box, f, f"{q.name}: SNI {q.sni:.3f}", i))
        meas["analysis_pixel_mm"] = r.analysis_pixel_mm
        meas["mean_counts_per_pixel"] = r.overall.mean_counts
        out.append(Analysis(
            measurements=meas, rois=tuple(rois),
            curves=(Curve("NPS / quantum level − 1 (radial)", r.freq, r.radial_nps,
                          "spatial frequency", "1/mm", "structured / quantum", ""),
                    Curve("visual response (peak 1)", r.freq, r.radial_vrf,
                          "spatial frequency", "1/mm", "V", "")),
            maps=(ImageMap("visually filtered flood", r.filtered,
                           "The SNI square seen through the visual response filter, % of its "
                           "mean: the structure an observer would notice", "%",
                           r.analysis_pixel_mm),),
            warnings=tuple(warnings), label=_label(series, i), frames=[i],
            extra={"rebin_factor": f, "display_magnification": r.magnification}))
    return out


# ---------------------------------------------------------------------------------------------
# nm.sensitivity
# ---------------------------------------------------------------------------------------------
def _parse_time(text: str, acquired: datetime | None) -> datetime:
    """ISO date-time, or a time of day on the acquisition date ("09:30", "09:30:15")."""
    s = str(text).strip().replace(" ", "T", 1)
    try:
        return datetime.fromisoformat(s).replace(tzinfo=None)
    except ValueError:
        pass
    for fmt in ("%H:%M", "%H:%M:%S", "%H%M%S", "%H%M"):
        try:
            t = datetime.strptime(s, fmt).time()
        except ValueError:
            continue
        if acquired is None:
            raise ParameterError(f"calibration_time {text!r} has no date and the images have "
                                 "no acquisition date; give a full date-time "
                                 "(e.g. 2026-12-04T09:30).")
        return datetime.combine(acquired.date(), t)
    raise ParameterError(f"calibration_time must be a date-time (2026-12-04T09:30) or a time "
                         f"(09:30), got {text!r}.")


def nm_sensitivity(series: ImageSeries, *, activity_mbq: float | None = None,
                   calibration_time: str | None = None, nuclide: str = "auto",
                   half_life_h: float | None = None, background_cps: float = 0.0,
                   duration_s: float | None = None, frame: int | None = None
                   ) -> list[Analysis]:
    """Planar sensitivity (counts/s/MBq) of each frame, decay-corrected (NEMA NU 1 §3.2)."""
    if not activity_mbq:
        raise AnalysisError("The source activity is needed to compute the sensitivity.",
                            hint="Enter activity_mbq (the dose-calibrator reading) and "
                                 "calibration_time (when it was measured).")
    out = []
    for i in _frames(series, frame):
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "sensitivity")
        facts = _frame_facts(series, i)
        t = duration_s or facts["duration_s"]
        if not t:
            raise AnalysisError(f"Image {i + 1} has no acquisition duration (Actual Frame "
                                "Duration) in its header.", hint="Enter duration_s.")
        if half_life_h:
            name, hl = "user", float(half_life_h)
        else:
            key = nuclide if nuclide != "auto" else nuclide_from_text(facts["nuclide"])
            if key is None:
                raise AnalysisError(
                    f"The nuclide could not be read from the header "
                    f"({facts['nuclide'] or 'none given'!r}).",
                    hint=f"Choose nuclide ({', '.join(NUCLIDES)}) or enter half_life_h.")
            name, hl = key, half_life_hours(key)
        acquired = series.header.acquired
        elapsed = 0.0
        if calibration_time:
            cal = _parse_time(calibration_time, acquired)
            if acquired is None:
                raise AnalysisError("The images have no acquisition time, so the activity "
                                    "cannot be decayed to it.",
                                    hint="Leave calibration_time empty to use the activity "
                                         "as it is at the acquisition start.")
            elapsed = (acquired.replace(tzinfo=None) - cal) / timedelta(seconds=1)
            if abs(elapsed) > 10 * hl * 3600:
                warnings.append(f"The calibration time is {elapsed / 3600:.1f} h from the "
                                "acquisition: check the date.")
        else:
            warnings.append("No calibration_time: the activity is taken as measured at the "
                            "start of the acquisition.")
        r = planar_sensitivity(float(image.sum(dtype=np.float64)), float(t), float(activity_mbq),
                               hl * 3600.0, elapsed_s=elapsed, background_cps=background_cps)
        if r.net_cps <= 0:
            raise AnalysisError(f"Image {i + 1}: the background ({background_cps:g} counts/s) "
                                f"is not below the image count rate ({r.gross_cps:.0f}).",
                                hint="Check background_cps.")
        out.append(Analysis(
            measurements={"sensitivity_cps_per_mbq": r.sensitivity_cps_per_mbq,
                          "count_rate_cps": r.gross_cps, "net_count_rate_cps": r.net_cps,
                          "activity_at_start_mbq": r.activity_at_start_mbq,
                          "decay_factor_during": r.decay_factor_during,
                          "duration_s": r.duration_s},
            warnings=tuple(warnings), label=_label(series, i), frames=[i],
            extra={"nuclide": name, "half_life_h": hl, "elapsed_s": elapsed,
                   "background_cps": background_cps}))
    return out


# ---------------------------------------------------------------------------------------------
# nm.scan_speed
# ---------------------------------------------------------------------------------------------
def nm_scan_speed(series: ImageSeries, *, smoothing_mm: float = 30.0, margin_mm: float = 30.0,
                  band_fraction: float = 0.8, frame: int | None = None,
                  pixel_spacing_mm: float | None = None) -> list[Analysis]:
    """Table-speed uniformity along a whole-body sweep of a uniform source."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "Scan-speed uniformity")
    out = []
    for i in _frames(series, frame):
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "scan speed")
        along_rows = image.shape[0] >= image.shape[1]  # the sweep is along its long axis
        arr = image if along_rows else image.T
        try:
            r = scan_speed_profile(arr, px, smoothing_mm=smoothing_mm, margin_mm=margin_mm,
                                   band_fraction=band_fraction)
        except ValueError as exc:
            raise PhantomNotFoundError(f"No uniform source along the sweep in image {i + 1}: "
                                       f"{exc}.",
                                       hint="Use a whole-body sweep of a flood or sheet source "
                                            "longer than about 20 cm.") from None
        if r.noise_percent > 0.3 * max(r.max_deviation_percent, 1e-9):
            warnings.append(f"Counting noise ({r.noise_percent:.2f} % per "
                            f"{smoothing_mm:g} mm) is a large part of the deviation: increase "
                            "smoothing_mm or the source activity.")
        a0, a1 = r.analysed_rows
        b0, b1 = r.band_cols
        box = ((a0 - 0.5, b0 - 0.5), (a1 - 0.5, b1 - 0.5))
        if not along_rows:
            box = ((b0 - 0.5, a0 - 0.5), (b1 - 0.5, a1 - 0.5))
        facts = _frame_facts(series, i)
        out.append(Analysis(
            measurements={"max_speed_deviation_percent": r.max_deviation_percent,
                          "fastest_percent": r.fastest_percent,
                          "slowest_percent": r.slowest_percent,
                          "profile_noise_percent": r.noise_percent,
                          "analysed_length_mm": (a1 - a0) * px,
                          "nominal_speed_mm_per_s": facts["scan_velocity_mm_s"]},
            rois=(Roi("rect", box, label=f"profile band: max deviation "
                      f"{r.max_deviation_percent:.1f} %", frame=i, role="profile"),),
            curves=(Curve("relative table speed", r.position_mm, 100.0 * (r.relative_speed - 1),
                          "position along the scan", "mm", "speed deviation", "%"),
                    Curve("count profile (smoothed)", r.position_mm, r.profile,
                          "position along the scan", "mm", "counts per row", "counts")),
            warnings=tuple(warnings), label=_label(series, i), frames=[i],
            extra={"scan_along": "rows" if along_rows else "columns"}))
    return out


def _detect_sweep(series: ImageSeries) -> tuple[float, str]:
    """Claim whole-body sweeps (Image Type WHOLE BODY or ≥ 2:1); 0.95 if a keyword says so."""
    if series.modality != "NM":
        return 0.0, "not an NM image"
    not_planar = _not_planar_reason(series)
    if not_planar:
        return 0.0, not_planar
    sweep = _sweep_reason(series)
    words = series.header.description_text.upper()
    found = next((k for k in ("SPEED", "HASTIGHET", "VELOC", "SCAN_SPEED") if k in words), None)
    if not sweep:
        return 0.0, "not a whole-body sweep (a static image, less than 2:1)"
    marks = sweep.split("not a flood: ", 1)[-1].replace(" (the test for it is nm.scan_speed)",
                                                         "")
    reason = f"a whole-body sweep: {marks}"
    if found:
        return 0.95, f"{reason}; the description contains {found!r}"
    return 0.6, reason


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
_FRAME = ParameterSpec("frame", int, None, "", "Analyse only this frame/detector (0-based); "
                       "default: every frame.", minimum=0)
_SPACING = ParameterSpec("pixel_spacing_mm", float, None, "mm",
                         "Pixel size to use when the images have none.", minimum=1e-3)


def _lin_specs() -> tuple[MeasurementSpec, ...]:
    specs = []
    for kind in ("absolute", "differential"):
        what = ("largest deviation from the best-fit grid of equally spaced parallel lines"
                if kind == "absolute" else
                "SD of the deviations from each line's own straight fit")
        for fld in _LIN_FIELDS:
            specs.append(MeasurementSpec(
                f"{kind}_linearity_{fld}_mm", "mm", f"{kind.capitalize()} linearity, "
                f"{fld.upper()}: {what}; the worse of X and Y.", False,
                label=f"{kind.capitalize()} linearity, {fld.upper()}"))
            for axis in ("x", "y"):
                specs.append(MeasurementSpec(
                    f"{kind}_linearity_{fld}_mm_{axis}", "mm",
                    f"{kind.capitalize()} linearity, {fld.upper()}, {axis.upper()} (from "
                    f"{'vertical' if axis == 'x' else 'horizontal'} lines).", False,
                    label=f"{kind.capitalize()} linearity, {fld.upper()}, {axis.upper()}"))
    return tuple(specs)


register(Protocol(
    name="nm.linearity",
    key_measurement="absolute_linearity_ufov_mm",
    version="1",
    title="Gamma camera spatial linearity (slit pattern, NEMA)",
    description="Absolute linearity (largest deviation from the best-fit grid of equally "
                "spaced parallel lines) and differential linearity (SD of the deviations "
                "from each line's straight fit) in the UFOV and CFOV, X and Y, from slit-mask "
                "or line-source images; line positions by Gaussian fits in 10 mm bins.",
    modalities=("NM",),
    measurements=_lin_specs(),
    parameters=(
        ParameterSpec("bin_mm", float, 10.0, "mm", "Length of line summed per position "
                      "(NEMA: samples ≤ 30 mm apart).", minimum=1.0),
        ParameterSpec("edge_mm", float, 10.0, "mm", "Length left out at each end of the "
                      "lines.", minimum=0.0),
        ParameterSpec("min_length_mm", float, 100.0, "mm", "Shortest line accepted.",
                      minimum=10.0),
        ParameterSpec("cfov_fraction", float, 0.75, "", "CFOV linear size as a fraction of "
                      "the UFOV (NEMA 0.75).", minimum=0.1, maximum=1.0),
        _FRAME, _SPACING,
    ),
    function=nm_linearity,
    inputs="one planar image of a slit mask or parallel line sources (each orientation "
           "separately or both in one image)",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_claim(("LINEAR", "LINJAR", "SLIT", "DISTORT", "LIN_"), 0.93,
                          "a linearity test"),
    standard="NEMA NU 1-2018 §2.5",
))

register(Protocol(
    name="nm.sni",
    key_measurement="sni",
    version="1",
    title="Gamma camera structured noise index (flood)",
    description="Structured noise index: the visually weighted fraction of the flood's noise "
                "power that is not Poisson noise, in the largest square inside the field and "
                "its quadrants (Nelson et al. 2014).",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("sni", "", "SNI of the largest square inside the field (0 = Poisson "
                        "noise only).", False, label="Structured noise index"),
        *(MeasurementSpec(f"sni_q{q}", "", f"SNI of quadrant {q} (1 top-left, 2 top-right, "
                          "3 bottom-left, 4 bottom-right).", False,
                          label=f"Structured noise index, quadrant {q}") for q in range(1, 5)),
        MeasurementSpec("sni_max", "", "Largest of the overall and quadrant SNIs.", False,
                        label="Structured noise index, largest"),
        MeasurementSpec("analysis_pixel_mm", "mm", "Pixel size after block summing.",
                        label="Analysis pixel size"),
        MeasurementSpec("mean_counts_per_pixel", "counts", "Mean counts per analysis pixel in "
                        "the SNI square.", True, label="Mean counts per analysis pixel"),
    ),
    parameters=(
        ParameterSpec("rebin_factor", int, None, "", "Block sum (default: the pixel closest "
                      "to 6.4 mm).", minimum=1, maximum=64),
        ParameterSpec("display_mm", float, 65.0, "mm", "Displayed width of the field for the "
                      "visual response (Nelson et al.: 65 mm at 1.5 m).", minimum=1.0),
        ParameterSpec("field_mm", float, None, "mm", "Object width shown over display_mm "
                      "(default: the flood field's width).", minimum=1.0),
        _FRAME, _SPACING,
    ),
    function=nm_sni,
    inputs="one planar flood image (high-count intrinsic or extrinsic flood)",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_claim(("SNI", "STRUCTURED NOISE", "NOISE TEXTURE"), 0.95, "SNI"),
    standard="Nelson et al., J Nucl Med 55:169 (2014); J Nucl Med Technol (2014)",
))

register(Protocol(
    name="nm.sensitivity",
    key_measurement="sensitivity_cps_per_mbq",
    version="1",
    title="Gamma camera planar sensitivity",
    description="Counts per second per MBq from an image of a source of known activity: "
                "duration from the header, activity decayed from its calibration time to the "
                "acquisition start and over the acquisition, background subtracted.",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("sensitivity_cps_per_mbq", "cps/MBq", "Net count rate per MBq, decay "
                        "corrected.", True, label="Planar sensitivity"),
        MeasurementSpec("count_rate_cps", "cps", "Counts in the image / duration.",
                        label="Count rate"),
        MeasurementSpec("net_count_rate_cps", "cps", "Count rate minus background.",
                        label="Net count rate"),
        MeasurementSpec("activity_at_start_mbq", "MBq", "Activity at the acquisition start.",
                        label="Activity at acquisition start"),
        MeasurementSpec("decay_factor_during", "", "Mean fraction of the start activity "
                        "during the acquisition, (1 − e^(−λT))/(λT).",
                        label="Decay factor during acquisition"),
        MeasurementSpec("duration_s", "s", "Acquisition duration used.",
                        label="Acquisition duration"),
    ),
    parameters=(
        ParameterSpec("activity_mbq", float, None, "MBq", "Source activity at the "
                      "calibration time (required).", minimum=1e-6),
        ParameterSpec("calibration_time", str, None, "", "When the activity was measured: "
                      "2026-12-04T09:30, or 09:30 on the acquisition date (default: the "
                      "acquisition start)."),
        ParameterSpec("nuclide", str, "auto", "", "Nuclide for the half-life (auto: from the "
                      "header).", choices=("auto", *NUCLIDES)),
        ParameterSpec("half_life_h", float, None, "h", "Half-life, overriding the table.",
                      minimum=1e-6),
        ParameterSpec("background_cps", float, 0.0, "cps", "Background count rate "
                      "(measured without the source) to subtract.", minimum=0.0),
        ParameterSpec("duration_s", float, None, "s", "Acquisition duration, overriding "
                      "the header.", minimum=1e-3),
        _FRAME,
    ),
    function=nm_sensitivity,
    inputs="one planar image of a source of known activity",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_claim(("SENSITIV", "SENSIBIL", "FOLSOMHET", "FØLSOMHET"), 0.93,
                          "a sensitivity test"),
    standard="NEMA NU 1-2018 §3.2; IAEA Human Health Series No. 6; half-lives: NNDC NuDat 3",
))

register(Protocol(
    name="nm.scan_speed",
    key_measurement="max_speed_deviation_percent",
    version="1",
    title="Gamma camera whole-body scan speed",
    description="Uniformity of the table speed along a whole-body sweep of a uniform source: "
                "count profile along the scan (central band, 30 mm moving average), local "
                "speed ∝ 1/counts, deviation from the mean speed (%).",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("max_speed_deviation_percent", "%", "Largest |local speed / nominal − "
                        "1| over the analysed length.", False,
                        label="Largest scan-speed deviation"),
        MeasurementSpec("fastest_percent", "%", "Largest positive speed deviation.",
                        label="Fastest deviation"),
        MeasurementSpec("slowest_percent", "%", "Most negative speed deviation.",
                        label="Slowest deviation"),
        MeasurementSpec("profile_noise_percent", "%", "Expected Poisson SD of one smoothed "
                        "profile value (the noise floor).", False,
                        label="Profile counting noise"),
        MeasurementSpec("analysed_length_mm", "mm", "Length of sweep analysed.",
                        label="Analysed length"),
        MeasurementSpec("nominal_speed_mm_per_s", "mm/s", "Scan Velocity (0018,1300) from "
                        "the header.", label="Nominal table speed (header)"),
    ),
    parameters=(
        ParameterSpec("smoothing_mm", float, 30.0, "mm", "Moving-average length along the "
                      "scan.", minimum=1.0),
        ParameterSpec("margin_mm", float, 30.0, "mm", "Length excluded at each end of the "
                      "source.", minimum=0.0),
        ParameterSpec("band_fraction", float, 0.8, "", "Central fraction of the source width "
                      "summed.", minimum=0.1, maximum=1.0),
        _FRAME, _SPACING,
    ),
    function=nm_scan_speed,
    inputs="one whole-body sweep of a uniform (flood or sheet) source; one frame per detector",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_detect_sweep,
    standard="IAEA Human Health Series No. 6 (whole-body imaging); IPEM Report 111",
))
