"""The ACR large MRI phantom protocol, ``mr.acr``: the whole battery on one axial series.

The ACR medium phantom is analysed too (parameter ``phantom``; geometry in
`imgqa.analysis.acr_mri.variants`).

Owns the ACR-specific input checks (11 axial slices, slice 1 first or last), the battery
(geometric accuracy, resolution, slice thickness and position, PIU, ghosting, SNR,
low-contrast detectability: one function per test, run in that order) and the declaration.
The kernels live in `imgqa.analysis.acr_mri`; see docs/mr.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from imgqa.errors import PhantomNotFoundError
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
)

# The kernels import SciPy: bound lazily so that the declarations below load without it.
geo = lazy_module("imgqa.analysis.acr_mri.geometry")
background_rois, percent_ghosting = lazy_functions("imgqa.analysis.acr_mri.ghosting",
                                                   "background_rois", "percent_ghosting")
derotate, find_phantom, find_rotation, find_slice_one, to_image_coords = lazy_functions(
    "imgqa.analysis.acr_mri.localisation", "derotate", "find_phantom", "find_rotation",
    "find_slice_one", "to_image_coords")
(low_contrast_spokes,) = lazy_functions("imgqa.analysis.acr_mri.low_contrast",
                                        "low_contrast_spokes")
(percent_integral_uniformity,) = lazy_functions("imgqa.analysis.acr_mri.piu",
                                                "percent_integral_uniformity")
(hole_resolution,) = lazy_functions("imgqa.analysis.acr_mri.resolution", "hole_resolution")
(slice_position,) = lazy_functions("imgqa.analysis.acr_mri.slice_position", "slice_position")
(slice_thickness,) = lazy_functions("imgqa.analysis.acr_mri.slice_thickness", "slice_thickness")
(resolve_variant,) = lazy_functions("imgqa.analysis.acr_mri.variants", "resolve_variant")

__all__ = ["ACR_SLICES", "LOW_CONTRAST_PASS", "acr_battery", "low_contrast_pass_level"]

ACR_SLICES = 11
# Low-contrast detectability pass levels: total complete spokes on slices 8–11, per nominal field
# strength and ACR series (T1, T2). ACR, Phantom Test Guidance for Use of the Large MRI Phantom for
# the ACR MRI Accreditation Program (2018), section 7.4 (recommended action criteria), as
# tabulated in hazen 2.0 (hazenlib/tasks/acr_object_detectability.py): below 1.5 T ≥ 7 (T1 and
# T2); 1.5 T to < 3 T ≥ 30 (T1), ≥ 25 (T2); 3 T ≥ 37 (T1 and T2). PMC9359023 Table 3 lists "≥ 7
# (1.5 T)", which is the ACR's value for systems *below* 1.5 T; hazen's newer LCOD task copies it
# for 1.5 T. We follow the ACR table (a good 1.5 T scanner shows 30–36 spokes; TG-284 expects 36).
LOW_CONTRAST_PASS = {"<1.5T": {"T1": 7, "T2": 7},
                     "1.5T-<3T": {"T1": 30, "T2": 25},
                     "3T": {"T1": 37, "T2": 37}}


def _acr_weighting(series: ImageSeries) -> str | None:
    """'T1' or 'T2' for the ACR series, from the description or the echo time; None if unsure.

    ACR T1: SE TR 500 / TE 20 ms; ACR T2: SE TR 2000 / TE 20 and 80 ms (the 80 ms echo is scored).
    """
    text = series.header.description_text.upper()
    has1, has2 = "T1" in text, "T2" in text
    if has1 != has2:
        return "T1" if has1 else "T2"
    try:
        te = series.dataset(0).get("EchoTime")
    except (IndexError, AttributeError):
        te = None
    try:
        te = float(te) if te is not None else None
    except (TypeError, ValueError):
        te = None
    if te is None:
        return None
    return "T2" if te >= 60.0 else ("T1" if te <= 35.0 else None)


def low_contrast_pass_level(field_strength_t: float | None, weighting: str | None
                            ) -> tuple[int, str]:
    """ACR pass level (total spokes) and a short description of the row used.

    Unknown field strength → the 1.5–3 T row (the common case); unknown weighting → the T1 value
    (the stricter one). Header field strengths are not always nominal (Siemens 3 T systems
    report 2.89362 T), so ≤ 1.4 T is "below 1.5 T" and > 2.5 T is "3 T", as in mr.toml.
    """
    if field_strength_t is None:
        row, what = "1.5T-<3T", "field strength unknown, 1.5–3 T assumed"
    elif field_strength_t > 2.5:
        row, what = "3T", "3 T"
    elif field_strength_t > 1.4:
        row, what = "1.5T-<3T", "1.5 T to < 3 T"
    else:
        row, what = "<1.5T", "below 1.5 T"
    w = weighting if weighting in ("T1", "T2") else "T1"
    note = f"ACR {w}" + ("" if weighting in ("T1", "T2") else " (weighting unknown)")
    return LOW_CONTRAST_PASS[row][w], f"{what}, {note}"


# ---------------------------------------------------------------------------------------------
# Input checks shared by the protocols
# ---------------------------------------------------------------------------------------------
def _plane(series: ImageSeries) -> str:
    n = series.geometry.normal
    if n is None:
        return "unknown"
    k = int(np.argmax(np.abs(n)))
    return ("sagittal", "coronal", "axial")[k]


def _check_acr_series(series: ImageSeries) -> None:
    plane = _plane(series)
    if plane in ("sagittal", "coronal"):
        raise PhantomNotFoundError(
            f"This is a {plane} series ({series.header.series_description or 'no description'}"
            f", {len(series)} image(s)); mr.acr expects the 11-slice AXIAL series of the ACR "
            "large phantom.",
            hint="Load the ACR axial T1 or T2 series (11 slices); localizers are not analysed.")
    if len(series) != ACR_SLICES:
        raise PhantomNotFoundError(
            f"The series has {len(series)} image(s), but the ACR axial series has "
            f"{ACR_SLICES} slices (slice 1 through the ramps to slice 11 through the wedges).",
            hint="Load the whole 11-slice ACR series; missing slices cannot be analysed.")


def _image_roi(points: Any, centre: tuple[float, float], angle: float) -> tuple:
    return tuple(tuple(float(v) for v in p) for p in to_image_coords(points, centre, angle))



# ---------------------------------------------------------------------------------------------
# mr.acr
# ---------------------------------------------------------------------------------------------
@dataclass
class _AcrOut:
    """What the battery collects, test after test (the order is the order of the warnings)."""

    meas: dict[str, float | None] = field(default_factory=dict)
    rois: list[Roi] = field(default_factory=list)
    curves: list[Curve] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _AcrFrame:
    """Where the phantom is: pixel spacing (mm), in-plane rotation (°), slice 1's phantom disk
    and slice order (``index(k)``: ACR slice number 1..11 → image index)."""

    series: ImageSeries
    sp: tuple[float, float]
    angle: float
    disk1: Any
    bar: Any
    reversed_: bool
    geom: Any = None        # variants.AcrPhantomGeometry (large or medium)

    def index(self, slice_no: int) -> int:
        n = len(self.series)
        return n - slice_no if self.reversed_ else slice_no - 1

    @property
    def c1(self) -> tuple[float, float]:
        return self.disk1.centre_rc


def acr_battery(series: ImageSeries, *, count_spokes: bool = True,
                spoke_z_threshold: float = 3.5, phantom: str = "auto") -> Analysis:
    """The ACR large (or medium) phantom battery on one 11-slice axial series (docs/mr.md).

    ``phantom``: ``"auto"`` chooses the large or medium phantom from the diameter measured on
    slice 1; ``"large"`` or ``"medium"`` forces it (with a warning when the size disagrees).
    """
    _check_acr_series(series)
    sp = series.require_spacing("mr.acr")
    n = len(series)
    reversed_, disk1, bar = find_slice_one(series.pixels(0), series.pixels(n - 1), sp)
    out = _AcrOut()
    geom, why, mismatch = resolve_variant(phantom, 2.0 * disk1.radius_mm)
    if mismatch:
        out.warnings.append(mismatch)
    elif geom.name != "large":
        # Say which numbers apply (the default tolerances follow extra.resolved.phantom).
        out.warnings.append(
            f"Analysed as the ACR {geom.name} phantom ({why}): nominal diameter "
            f"{geom.inner_diameter_mm:g} ± {geom.diameter_limit_mm:g} mm, PIU ≥ "
            f"{geom.piu_pass_below_3t:g} % (< 3 T) / {geom.piu_pass_3t:g} % (3 T), large ROI "
            f"{geom.piu_large_roi_cm2:g} cm²; the default tolerances are the {geom.name} "
            "phantom's.")
    # The variant analysed, matched by the default tolerances' `when = {phantom = ...}`
    # (imgqa.store.defaults.result_conditions): phantom=auto is judged as what it found.
    out.extra["resolved"] = {"phantom": geom.name}
    out.extra["phantom"] = {"variant": geom.name, "reason": why,
                            "nominal_diameter_mm": geom.inner_diameter_mm,
                            "diameter_limit_mm": geom.diameter_limit_mm,
                            "piu_large_roi_cm2": geom.piu_large_roi_cm2,
                            "piu_pass_level": [geom.piu_pass_below_3t, geom.piu_pass_3t],
                            "unconfirmed": list(geom.unconfirmed)}
    if abs(sp[0] - sp[1]) > 1e-3 * sp[0]:
        out.warnings.append("Pixels are not square; lengths use the spacing along each "
                            "direction.")
    i1 = n - 1 if reversed_ else 0
    img1 = series.pixels(i1)
    angle = find_rotation(img1, disk1, bar, sp)
    fr = _AcrFrame(series, sp, angle, disk1, bar, reversed_, geom)
    c1 = fr.c1
    s1 = derotate(img1, c1, angle)
    out.extra.update({
        "slice_order": "reversed (slice 1 is the last image)" if reversed_ else "slice 1 first",
        "slices_used": {"geometry": [1, 5], "resolution": [1], "slice_thickness": [1],
                        "slice_position": [1, 11], "piu": [7], "ghosting": [7], "snr": [7],
                        "low_contrast": [8, 9, 10, 11]},
        "image_index_of_slice": {str(k): fr.index(k) for k in range(1, 12)},
        "rotation_deg": round(float(angle), 3),
        "phantom_centre_rc": [float(c1[0]), float(c1[1])],
        "field_strength_t": series.header.field_strength_t,
    })
    if abs(angle) > 3.0:
        out.warnings.append(f"The phantom is rotated by {angle:.1f}° in plane; it was "
                            "corrected, but reposition the phantom if this is more than a few "
                            "degrees.")
    _acr_geometry(fr, s1, out)
    _acr_slice_thickness(fr, s1, out)
    _acr_resolution(fr, img1, out)
    _acr_slice_position(fr, s1, out)
    _acr_uniformity_ghosting_snr(fr, out)
    _acr_low_contrast(fr, count_spokes, spoke_z_threshold, out)
    if geom.name != "large":
        _variant_limits(fr, out)
    return Analysis(measurements=out.meas, rois=out.rois, curves=out.curves,
                    warnings=out.warnings, extra=out.extra)


def _acr_length(fr: _AcrFrame, out: _AcrOut, name: str, img: np.ndarray, disk: Any,
                ang_deg: float, offsets: tuple[float, ...], frame: int) -> None:
    """One inner diameter of the phantom (geometric accuracy), with its line drawn."""
    try:
        e = geo.diameter(img, disk.centre_rc, fr.sp, ang_deg, disk.radius_mm,
                         offsets_mm=offsets, water_signal=disk.signal)
    except ValueError as exc:
        out.meas[name] = None
        out.warnings.append(f"{name}: {exc}.")
        return
    out.meas[name] = e.length_mm
    a, b = e.endpoints_rc[len(e.endpoints_rc) // 2]
    out.rois.append(Roi("line", _image_roi([a, b], disk.centre_rc, fr.angle),
                        label=f"{name} {e.length_mm:.1f} mm", frame=frame, role="edge"))


def _acr_geometry(fr: _AcrFrame, s1: np.ndarray, out: _AcrOut) -> None:
    """Geometric accuracy: inner diameters on slices 1 and 5."""
    i1, i5 = fr.index(1), fr.index(5)
    vert = (-35.0, -25.0, 25.0, 35.0)     # beside the 12 o'clock notch (see geometry.py)
    _acr_length(fr, out, "geometric_accuracy_slice1_horizontal", s1, fr.disk1, 0.0, (-15.0,),
                i1)
    _acr_length(fr, out, "geometric_accuracy_slice1_vertical", s1, fr.disk1, 90.0, vert, i1)
    s5 = derotate(fr.series.pixels(i5), fr.c1, fr.angle)
    disk5 = find_phantom(s5, fr.sp)
    _acr_length(fr, out, "geometric_accuracy_slice5_horizontal", s5, disk5, 0.0, (0.0,), i5)
    _acr_length(fr, out, "geometric_accuracy_slice5_vertical", s5, disk5, 90.0, vert, i5)
    _acr_length(fr, out, "geometric_accuracy_slice5_diagonal_45", s5, disk5, 45.0, (0.0,), i5)
    _acr_length(fr, out, "geometric_accuracy_slice5_diagonal_135", s5, disk5, 135.0, (0.0,),
                i5)


def _acr_slice_thickness(fr: _AcrFrame, s1: np.ndarray, out: _AcrOut) -> None:
    """Slice thickness from the crossed ramps of slice 1."""
    i1, c1, disk1, sp = fr.index(1), fr.c1, fr.disk1, fr.sp
    try:
        st = slice_thickness(s1, c1, fr.bar.row_at_centre, sp, disk1.radius_mm, disk1.signal)
        out.meas["slice_thickness_mm"] = st.slice_thickness_mm
        out.extra["slice_thickness"] = {"top_ramp_fwhm_mm": st.top.fwhm_mm,
                                        "bottom_ramp_fwhm_mm": st.bottom.fwhm_mm,
                                        "method": st.method,
                                        "nominal_mm": fr.series.header.slice_thickness_mm}
        for name, ramp in (("top ramp", st.top), ("bottom ramp", st.bottom)):
            r_mid = 0.5 * (ramp.rows[0] + ramp.rows[1])
            out.rois.append(Roi("line", _image_roi([(r_mid, ramp.ends_col[0]),
                                                    (r_mid, ramp.ends_col[1])], c1, fr.angle),
                                label=f"{name} FWHM {ramp.fwhm_mm:.1f} mm", frame=i1,
                                role="profile"))
            out.curves.append(Curve(f"{name} profile", ramp.x_mm, ramp.profile, "position",
                                    "mm", "signal", ""))
        nominal = fr.series.header.slice_thickness_mm
        if nominal and abs(st.slice_thickness_mm - nominal) > 0.7:
            out.warnings.append(f"Slice thickness {st.slice_thickness_mm:.2f} mm differs from "
                                f"the nominal {nominal:g} mm by more than 0.7 mm (ACR limit).")
    except ValueError as exc:
        out.meas["slice_thickness_mm"] = None
        out.warnings.append(f"Slice thickness: {exc}.")


def _acr_resolution(fr: _AcrFrame, img1: np.ndarray, out: _AcrOut) -> None:
    """High-contrast resolution from the hole arrays of slice 1."""
    i1 = fr.index(1)
    try:
        # The hole arrays are sampled in the acquired image (not the resampled s1): linear
        # resampling would halve the hole modulation near Nyquist.
        res = hole_resolution(img1, fr.c1, fr.angle, fr.sp, water_signal=fr.disk1.signal)
    except ValueError as exc:
        out.meas["resolution_mm"] = None
        out.warnings.append(f"Resolution: {exc}; check the hole arrays on slice 1 visually.")
        return
    none_resolved = res.resolution_mm is None
    # Nothing resolved in a direction: no number is invented (a made-up "1.2 mm" would sit
    # in the trends as if measured); the warning says the test fails.
    out.meas["resolution_mm"] = res.resolution_mm
    out.extra["resolution"] = {
        "horizontal_mm": res.horizontal_mm, "vertical_mm": res.vertical_mm,
        "none_resolved_in_a_direction": none_resolved,
        "dip_fraction_required": 0.25,
        "insert_shift_mm": [round(v, 2) for v in res.shift_mm],
        "arrays": [{"diameter_mm": a.diameter_mm, "direction": a.direction,
                    "resolved": a.resolved, "dip_fraction": round(a.dip_fraction, 3),
                    "contrast": round(a.contrast, 1)} for a in res.arrays]}
    for a in res.arrays:
        state = "resolved" if a.resolved else "not resolved"
        tag = f"{a.diameter_mm} mm {a.direction}"
        out.rois.append(Roi("rect", (a.corners_rc[0], a.corners_rc[2]),
                            label=f"{tag}: {state} (dip {100 * a.dip_fraction:.0f} %)",
                            frame=i1, role="measure"))
        out.rois.append(Roi("line", a.line_rc, label=f"{tag} best line", frame=i1,
                            role="profile"))
    if none_resolved:
        which = [d for d, v in (("left–right", res.horizontal_mm),
                                ("top–bottom", res.vertical_mm)) if v is None]
        out.warnings.append(f"Resolution: no hole array was resolved {' and '.join(which)}, "
                            "not even the 1.1 mm arrays: this FAILS the ACR criterion (1.0 mm "
                            "resolved); check slice 1 visually.")


def _acr_slice_position(fr: _AcrFrame, s1: np.ndarray, out: _AcrOut) -> None:
    """Slice position: wedge bar length difference on slices 1 and 11."""
    i1, i11, sp = fr.index(1), fr.index(11), fr.sp
    s11 = derotate(fr.series.pixels(i11), fr.c1, fr.angle)
    for name, img, frame in (("slice_position_slice1_mm", s1, i1),
                             ("slice_position_slice11_mm", s11, i11)):
        try:
            d = find_phantom(img, sp)
            pos = slice_position(img, d.centre_rc, sp, d.radius_mm, d.signal)
            out.meas[name] = pos.bar_difference_mm
            for cols, end, lab in ((pos.left_cols, pos.left_end_row, "left"),
                                   (pos.right_cols, pos.right_end_row, "right")):
                cm = 0.5 * (cols[0] + cols[1])
                out.rois.append(Roi("line", _image_roi([(pos.top_row, cm), (end, cm)],
                                                       d.centre_rc, fr.angle),
                                    label=f"{lab} wedge bar", frame=frame, role="profile"))
            if abs(pos.bar_difference_mm) > 5.0:
                out.warnings.append(f"{name}: bar length difference "
                                    f"{pos.bar_difference_mm:.1f} mm exceeds ±5 mm (ACR "
                                    "limit); check the slice prescription.")
        except ValueError as exc:
            out.meas[name] = None
            out.warnings.append(f"{name}: {exc}.")


def _acr_uniformity_ghosting_snr(fr: _AcrFrame, out: _AcrOut) -> None:
    """PIU, percent ghosting and single-image SNR on slice 7 (image frame: no resampling)."""
    from imgqa.analysis._rayleigh import RAYLEIGH_FACTOR

    i7, sp = fr.index(7), fr.sp
    img7 = fr.series.pixels(i7)
    disk7 = find_phantom(img7, sp)
    roi_cm2 = fr.geom.piu_large_roi_cm2
    piu = percent_integral_uniformity(img7, disk7.centre_rc, sp, large_roi_cm2=roi_cm2)
    out.meas["piu"] = piu.piu
    out.rois += [Roi("circle", (piu.centre_rc,), label=f"large ROI {roi_cm2:.0f} cm²", frame=i7,
                     radius=piu.large_radius_px, role="measure"),
                 Roi("circle", (piu.max_rc,), label="max 1 cm²", frame=i7,
                     radius=piu.small_radius_px, role="measure"),
                 Roi("circle", (piu.min_rc,), label="min 1 cm²", frame=i7,
                     radius=piu.small_radius_px, role="measure")]
    try:
        bg = background_rois(img7, disk7.centre_rc, disk7.radius_mm, sp)
        gh = percent_ghosting(piu.large_mean, bg)
    except ValueError as exc:
        out.meas["ghosting_percent"] = None
        out.meas["snr"] = None
        out.warnings.append(f"Ghosting/SNR: {exc}; use a field of view larger than the "
                            "phantom.")
        return
    out.meas["ghosting_percent"] = gh.ghosting_percent
    for r in bg:
        out.rois.append(Roi("rect", ((r.box[0], r.box[1]), (r.box[2], r.box[3])),
                            label=f"{r.name} background", frame=i7, role="background"))
    # Single-image SNR: noise from the two background ROIs with the lower mean (least
    # ghosting), Rayleigh-corrected.
    quiet = sorted(bg, key=lambda r: r.mean)[:2]
    pooled = float(np.sqrt(sum((r.n - 1) * r.sd ** 2 for r in quiet)
                           / sum(r.n - 1 for r in quiet)))
    if pooled > 0:
        out.meas["snr"] = RAYLEIGH_FACTOR * piu.large_mean / pooled
    else:
        out.meas["snr"] = None
        out.warnings.append("SNR: the air background is exactly constant (zeroed by the "
                            "scanner); use mr.snr with two repeated acquisitions.")
    out.extra["snr_method"] = ("NEMA MS 1 single image: 0.655 × mean of the large ROI "
                               "(slice 7) / SD of the two quietest background ROIs")


def _acr_low_contrast(fr: _AcrFrame, count_spokes: bool, z_threshold: float,
                      out: _AcrOut) -> None:
    """Low-contrast detectability: complete spokes on slices 8–11 and the ACR pass level."""
    level, level_basis = low_contrast_pass_level(fr.series.header.field_strength_t,
                                                 _acr_weighting(fr.series))
    out.extra["low_contrast_pass_threshold"] = level
    out.extra["low_contrast_pass_basis"] = (f"{level_basis}: ACR Large Phantom Guidance "
                                            "(2018) section 7.4")
    if not count_spokes:
        out.meas["low_contrast_spokes"] = None
        out.warnings.append("Low-contrast detectability was not scored (count_spokes=false); "
                            f"count the complete spokes on slices 8–11 visually, ACR pass ≥ "
                            f"{level} ({level_basis}).")
        return
    try:
        ims = [fr.series.pixels(fr.index(k)) for k in (8, 9, 10, 11)]
        lc = low_contrast_spokes(ims, fr.c1, fr.sp, rotation_deg=fr.angle,
                                 z_threshold=z_threshold)
        _spoke_details(fr, lc, out)
        if lc.reliable:
            out.meas["low_contrast_spokes"] = float(lc.total_spokes)
            if lc.total_spokes < out.extra["low_contrast_pass_threshold"]:
                out.warnings.append(f"Low-contrast detectability: {lc.total_spokes} spokes, "
                                    f"below the ACR pass level {level} ({level_basis})"
                                    "; confirm visually on slices 8–11.")
        else:
            out.meas["low_contrast_spokes"] = None
            out.warnings.append(f"Low-contrast detectability not scored automatically: "
                                f"{lc.reason}. Count the complete spokes on slices 8–11 "
                                f"visually (automatic estimate {lc.total_spokes}, range "
                                f"{lc.total_range[0]}–{lc.total_range[1]}; ACR pass ≥ "
                                f"{level}, {level_basis}).")
    except ValueError as exc:
        out.meas["low_contrast_spokes"] = None
        out.warnings.append(f"Low-contrast detectability: {exc}; count the spokes on slices "
                            "8–11 visually.")


def _variant_limits(fr: _AcrFrame, out: _AcrOut) -> None:
    """Warnings against the variant's own criteria (also judged by the variant's default
    tolerances; an equipment's own tolerances may differ): diameters outside nominal ± limit,
    PIU below the pass level."""
    g = fr.geom
    bad = [f"{k[len('geometric_accuracy_'):]} {v:.1f} mm" for k, v in out.meas.items()
           if k.startswith("geometric_accuracy_") and v is not None
           and abs(v - g.inner_diameter_mm) > g.diameter_limit_mm]
    if bad:
        out.warnings.append(f"Geometric accuracy: {', '.join(bad)} outside "
                            f"{g.inner_diameter_mm:g} ± {g.diameter_limit_mm:g} mm (ACR "
                            f"{g.name} phantom).")
    b0 = fr.series.header.field_strength_t
    level = g.piu_pass_3t if b0 is not None and b0 > 2.5 else g.piu_pass_below_3t
    piu = out.meas.get("piu")
    if piu is not None and piu < level:
        out.warnings.append(f"PIU {piu:.1f} % is below {level:g} % (ACR {g.name} phantom).")


def _spoke_details(fr: _AcrFrame, lc: Any, out: _AcrOut) -> None:
    """The spoke counter's per-slice detail (``extra``) and its disks drawn as ROIs."""
    from imgqa.analysis.acr_mri.low_contrast import SPOKE_DIAMETERS_MM

    sp = fr.sp
    out.extra["low_contrast"] = {
        "per_slice": dict(zip(("8", "9", "10", "11"), lc.per_slice)),
        "total_automatic": lc.total_spokes,
        "total_range_threshold_pm_0.5": list(lc.total_range),
        "decoy_per_slice": list(lc.decoy_per_slice),
        "spoke1_angle_slice8_deg": round(lc.phase_deg, 1),
        "z_threshold": lc.z_threshold,
        "reliable": lc.reliable,
        "method": "matched filter per disk size, z against the empirical null at the "
                  "same radius; per slice and disk radius a line of z against the disk "
                  "diameter; a spoke counts when its 3 disks are seen with probability >= 0.5 "
                  "(product of Phi(fitted z - threshold)), counting stops at the first spoke "
                  "that does not or of which no disk has z >= threshold",
        "per_slice_strict": dict(zip(("8", "9", "10", "11"), lc.per_slice_strict)),
        "p_complete": {str(8 + k): [round(float(v), 3) for v in lc.p_complete[k]]
                       for k in range(4)},
    }
    for k, slice_no in enumerate((8, 9, 10, 11)):
        frame = fr.index(slice_no)
        out.rois.append(Roi("circle", (lc.rings[k].centre_rc,),
                            label=f"low-contrast disk, slice {slice_no}: "
                                  f"{lc.per_slice[k]} spokes", frame=frame,
                            radius=lc.rings[k].radius_mm / sp[1], role="measure"))
        for s_ in range(10):
            for j in range(3):
                seen = bool(lc.z[k, s_, j] >= lc.z_threshold)
                rc = lc.disks_rc[k, s_, j]
                out.rois.append(Roi("circle", ((float(rc[0]), float(rc[1])),),
                                    label=f"spoke {s_ + 1} disk {j + 1}: z "
                                          f"{lc.z[k, s_, j]:.1f}{'' if seen else ' (not seen)'}"
                                          f"; spoke complete with p "
                                          f"{lc.p_complete[k, s_]:.2f}",
                                    frame=frame, radius=0.5 * SPOKE_DIAMETERS_MM[s_] / sp[1],
                                    role="measure" if seen else "background"))


def _detect_acr(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "MR" or len(series) != ACR_SLICES or _plane(series) != "axial":
        return 0.0, (f"not an axial series of {ACR_SLICES} slices ({len(series)} image(s), "
                     f"{_plane(series)} plane)")
    text = series.header.description_text.upper()
    if "ACR" in text:
        return 0.9, f"an axial series of {ACR_SLICES} slices and the header says ACR"
    return 0.5, f"an axial series of {ACR_SLICES} slices, as the ACR phantom protocol has"


register(Protocol(
    name="mr.acr",
    key_measurement="snr",
    version="1",
    title="ACR MRI large phantom",
    description="ACR MRI accreditation phantom battery on the 11-slice axial series: geometry, "
                "resolution, slice thickness and position, PIU, ghosting, SNR and low-contrast "
                "detectability.",
    modalities=("MR",),
    measurements=(
        MeasurementSpec("geometric_accuracy_slice1_horizontal", "mm",
                        "Left–right inner diameter on slice 1 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 1, horizontal"),
        MeasurementSpec("geometric_accuracy_slice1_vertical", "mm",
                        "Top–bottom inner diameter on slice 1 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 1, vertical"),
        MeasurementSpec("geometric_accuracy_slice5_horizontal", "mm",
                        "Left–right inner diameter on slice 5 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 5, horizontal"),
        MeasurementSpec("geometric_accuracy_slice5_vertical", "mm",
                        "Top–bottom inner diameter on slice 5 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 5, vertical"),
        MeasurementSpec("geometric_accuracy_slice5_diagonal_45", "mm",
                        "Top-left to bottom-right diameter on slice 5 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 5, diagonal 45°"),
        MeasurementSpec("geometric_accuracy_slice5_diagonal_135", "mm",
                        "Top-right to bottom-left diameter on slice 5 (true 190 mm; medium phantom 165 mm).",
                        label="Geometric accuracy, slice 5, diagonal 135°"),
        MeasurementSpec("resolution_mm", "mm",
                        "Smallest hole diameter resolved in both directions (1.1/1.0/0.9; "
                        "1.2: not even 1.1 mm resolved).",
                        higher_is_better=False,
                        label="High-contrast resolution"),
        MeasurementSpec("slice_thickness_mm", "mm",
                        "Slice FWHM from the crossed ramps, 0.2·L1·L2/(L1+L2).",
                        label="Slice thickness"),
        MeasurementSpec("slice_position_slice1_mm", "mm",
                        "Wedge bar length difference on slice 1 (right − left).",
                        label="Slice position, slice 1"),
        MeasurementSpec("slice_position_slice11_mm", "mm",
                        "Wedge bar length difference on slice 11 (right − left).",
                        label="Slice position, slice 11"),
        MeasurementSpec("piu", "%", "Percent integral uniformity, slice 7.",
                        higher_is_better=True,
                        label="Percent integral uniformity"),
        MeasurementSpec("ghosting_percent", "%", "Percent signal ghosting, slice 7.",
                        higher_is_better=False,
                        label="Percent signal ghosting"),
        MeasurementSpec("low_contrast_spokes", "", "Complete spokes on slices 8–11 (total).",
                        higher_is_better=True,
                        label="Low-contrast spokes"),
        MeasurementSpec("snr", "", "Single-image SNR on slice 7 (0.655·S/SD_air).",
                        higher_is_better=True,
                        label="Signal-to-noise ratio"),
    ),
    parameters=(
        ParameterSpec("count_spokes", bool, True, "",
                      "Count the low-contrast spokes automatically (statistical observer)."),
        ParameterSpec("spoke_z_threshold", float, 3.5, "",
                      "Detection threshold of the spoke counter (SDs of the empirical null).",
                      minimum=0.5),
        ParameterSpec("phantom", str, "auto", "",
                      "ACR phantom: large (190 mm), medium (165 mm), or auto (from the "
                      "diameter measured on slice 1).",
                      choices=("auto", "large", "medium")),
    ),
    function=acr_battery,
    inputs="the 11-slice axial series of the ACR large (or medium) MRI phantom (T1 or T2)",
    min_images=1,
    detect=_detect_acr,
    standard="ACR Phantom Test Guidance for the Large MRI Phantom (2018)",
))
