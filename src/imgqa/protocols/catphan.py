"""The Catphan protocol, ``ct.catphan`` (CTP404, CTP486, CTP528, CTP515 and CTP591 modules).

Owns the slice classification (which module each axial slice shows), the per-module summary
(means over the slices of each module, per-slice values in ``extra``) and the declaration.
The kernels are in `imgqa.analysis.catphan` and ``catphan_ctp515/528/591``; pixels are in HU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from imgqa.analysis.ctp515_layout import CTP515_CONTRASTS, CTP515_DIAMETERS_MM
from imgqa.errors import PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._ct_common import (
    _CATPHAN_WORDS,
    _is_localizer,
    _none_if_nan,
    _require_axial_ct,
)
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols._slices import slice_indices as _slice_indices
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

# Kernels that import SciPy are bound lazily so that the declarations below load without it.
(analyse_ctp404, analyse_ctp486, find_geometry_rods, has_catphan_housing,
 looks_uniform) = lazy_functions("imgqa.analysis.catphan", "analyse_ctp404", "analyse_ctp486",
                                 "find_geometry_rods", "has_catphan_housing", "looks_uniform")
(analyse_ctp515,) = lazy_functions("imgqa.analysis.catphan_ctp515", "analyse_ctp515")
(analyse_ctp528,) = lazy_functions("imgqa.analysis.catphan_ctp528", "analyse_ctp528")
analyse_ctp591, find_ctp591 = lazy_functions("imgqa.analysis.catphan_ctp591", "analyse_ctp591",
                                             "find_ctp591")
(find_phantom,) = lazy_functions("imgqa.analysis.ct_phantom", "find_phantom")

__all__ = ["ct_catphan"]

def _ctp515_target_name(token: str, diameter_mm: int) -> str:
    return f"ctp515_cnr_{token}_{diameter_mm}mm"


_CTP404_MATERIALS = ("air", "pmp", "ldpe", "polystyrene", "acrylic", "delrin", "teflon",
                     "bone_20", "bone_50")


def _classify_catphan_slice(image: np.ndarray, px: float, roll: float | None,
                            rose_threshold: float):
    """(module, result) for one slice, or (None, reason).

    Order: CTP404 (geometry rods), CTP528 (bar pattern on the 47 mm circle), CTP515 (large
    low-contrast targets on the 50 mm circle), CTP591 (bead ramps), CTP486 (uniform disc). The
    CTP404 roll, when known, limits the rotation searches of CTP528 and CTP515.
    """
    try:
        return "ctp404", find_geometry_rods(image, px)
    except PhantomNotFoundError as exc:
        reason = exc.message
    return _classify_non_ctp404(image, px, roll, rose_threshold, reason)


def _classify_non_ctp404(image: np.ndarray, px: float, roll: float | None,
                         rose_threshold: float, reason: str):
    """The rest of `_classify_catphan_slice`, once the geometry rods were not found."""
    try:
        ph = find_phantom(image, px)
    except PhantomNotFoundError as exc:
        return None, f"{reason} {exc.message}"
    try:
        return "ctp528", analyse_ctp528(image, px, ph.centre_rc, roll_deg=roll)
    except PhantomNotFoundError:
        pass
    try:
        return "ctp515", analyse_ctp515(image, px, ph.centre_rc, roll_deg=roll,
                                        rose_threshold=rose_threshold)
    except PhantomNotFoundError:
        pass
    try:
        return "ctp591", analyse_ctp591(image, px, ph.centre_rc)
    except PhantomNotFoundError:
        pass
    uniform, ph486 = looks_uniform(image, px)
    if uniform:
        return "ctp486", ph486
    return None, reason


def _ctp404_orientation_warnings(res404: list) -> list[str]:
    """Say when the CTP404 insert ring matched only mirrored or turned by quarter turns.

    The materials are then still assigned right (the kernel matched the ring that way), but a
    mirrored slice usually means the patient orientation (head/feet first) does not match
    how the phantom was set up, which a technologist should correct for the next scan.
    """
    out = []
    if any(r.mirrored for r in res404):
        out.append("The CTP404 slice is mirrored (left-right flipped): check that the patient "
                   "orientation (head first / feet first) matches how the phantom was set up. "
                   "The insert materials were matched on the mirrored ring.")
    turns = sorted({r.quarter_turns for r in res404 if r.quarter_turns})
    if turns:
        out.append("The Catphan is turned by "
                   f"{' / '.join(f'{90 * t:+d}°' for t in turns)} from its usual mounting; "
                   "the inserts were matched at that turn.")
    return out


def ct_catphan(series: ImageSeries, *, model: str = "auto", slice_index: int | None = None,
               rose_threshold: float = 5.0, pixel_spacing_mm: float | None = None) -> Analysis:
    """Catphan CTP404, CTP486, CTP528, CTP515 and CTP591 modules, found automatically.

    Every slice is classified: CTP404 when the four geometry rods (50 mm square) are found,
    CTP528 when the line-pair bar pattern is on the 47 mm circle, CTP515 when the large
    low-contrast targets stand out on the 50 mm circle, CTP591 when beads lie on its bead-ramp
    lines, CTP486 when it is a uniform, water-equivalent disc. Values are means over the
    slices of each module; per-slice values are in ``extra``. The CTP404 roll (when CTP404 is
    in the series) guides the CTP528/CTP515 rotation search.
    """
    _, px = with_pixel_size(series, pixel_spacing_mm, "ct.catphan")
    _require_axial_ct(series, "a Catphan phantom")
    found, reasons = _find_modules(series, _slice_indices(series, slice_index), px, model,
                                   rose_threshold)
    if not any(found.values()):
        raise PhantomNotFoundError(
            "ct.catphan expects slices of a Catphan CTP404 (geometry rods, sensitometry "
            "inserts, wire ramps), CTP528 (line pairs), CTP515 (low contrast), CTP591 (bead "
            f"ramps) or CTP486 (uniform) module; none of the {len(series)} image(s) is one "
            f"({'; '.join(reasons[:2])}).",
            hint="Choose the Catphan series, axial, with the phantom centred.")
    values: dict[str, float | None] = {}
    rois: list[Roi] = []
    curves: list[Curve] = []
    warnings: list[str] = []
    extra: dict[str, Any] = {"modules": {k: [i for i, _ in v] for k, v in found.items()},
                             "summary": "means over the slices of each module"}
    if found["ctp404"]:
        _ctp404_values(found["ctp404"], px, values, rois, curves, warnings, extra)
        extra["nominal_slice_thickness_mm"] = series.header.slice_thickness_mm
    if found["ctp486"]:
        _ctp486_values(found["ctp486"], values, rois, extra)
    if found["ctp528"]:
        _ctp528_values(found["ctp528"], px, values, rois, curves, warnings, extra)
    if found["ctp515"]:
        _ctp515_values(found["ctp515"], values, rois, warnings, extra)
    if found["ctp591"]:
        _ctp591_values(found["ctp591"], values, rois, curves, warnings, extra)
        extra["nominal_slice_thickness_mm"] = series.header.slice_thickness_mm
    used = sorted(i for v in found.values() for i, _ in v)
    for r in reasons:
        warnings.append(f"Not a recognised Catphan module slice: {r}.")
    return Analysis(measurements=values, rois=rois, curves=curves, warnings=warnings,
                    extra=extra, frames=used)


def _find_modules(series: ImageSeries, indices: list[int], px: float, model: str,
                  rose_threshold: float) -> tuple[dict[str, list[tuple[int, Any]]], list[str]]:
    """Each slice's module and kernel result, and why the other slices are none.

    Two passes: CTP404 slices first (geometry rods), then the rest, whose rotation search the
    CTP404 roll guides.
    """
    found: dict[str, list[tuple[int, Any]]] = {"ctp404": [], "ctp486": [], "ctp528": [],
                                               "ctp515": [], "ctp591": []}
    reasons: list[str] = []
    rest: list[tuple[int, str]] = []
    for i in indices:
        image = series.pixels(i)
        try:
            rods = find_geometry_rods(image, px)
        except PhantomNotFoundError as exc:
            rest.append((i, exc.message))
            continue
        found["ctp404"].append((i, analyse_ctp404(image, px, model=model, rods=rods)))
    # second pass: the CTP404 roll guides the rotation search of the other modules — unless
    # the slice is mirrored or the phantom turned by quarter turns: the rods alone cannot
    # tell those, so the other modules then search every rotation themselves.
    unusual = any(r.mirrored or r.quarter_turns for _, r in found["ctp404"])
    roll = float(np.mean([r.rods.roll_deg for _, r in found["ctp404"]])) \
        if found["ctp404"] and not unusual else None
    for i, reason in rest:
        image = series.pixels(i)
        kind, info = _classify_non_ctp404(image, px, roll, rose_threshold, reason)
        if kind == "ctp486":
            found[kind].append((i, analyse_ctp486(image, px, phantom=info)))
        elif kind in ("ctp528", "ctp515", "ctp591"):
            found[kind].append((i, info))
        else:
            reasons.append(f"slice {i}: {info}")
    return found, reasons


def _ctp404_values(found, px, values, rois, curves, warnings, extra) -> None:
    """CTP404: insert CT numbers, rod distances, wire-ramp thickness, roll."""
    res404 = [r for _, r in found]
    models = {r.model for r in res404}
    if len(models) > 1:
        warnings.append(f"The insert layout matched different Catphan models on different "
                        f"slices ({', '.join(sorted(models))}).")
    for mat in _CTP404_MATERIALS:
        vals = [r.inserts[mat][1].mean for r in res404 if mat in r.inserts]
        if vals:
            values[f"ctp404_hu_{mat}"] = float(np.mean(vals))
    values["ctp404_hu_max_error"] = float(np.mean([r.max_hu_error for r in res404]))
    sides = np.array([r.rods.side_lengths_mm for r in res404])
    values["ctp404_rod_distance_mean_mm"] = float(sides.mean())
    values["ctp404_rod_distance_max_error_mm"] = float(
        np.abs(sides - 50.0).max(axis=1).mean())
    values["ctp404_pixel_size_mm"] = float(px * 50.0 / sides.mean())
    thick = [r.slice_thickness_mm for r in res404 if np.isfinite(r.slice_thickness_mm)]
    values["ctp404_slice_thickness_mm"] = float(np.mean(thick)) if thick else None
    if not thick:
        warnings.append("No wire ramp could be measured: slice thickness not reported.")
    values["phantom_roll_deg"] = float(np.mean([r.rods.roll_deg for r in res404]))
    warnings += _ctp404_orientation_warnings(res404)
    extra["ctp404"] = [{
        "slice_index": i, "model": r.model,
        "inserts": {m: {"mean_hu": s.mean, "sd_hu": s.sd, "nominal_hu": nom}
                    for m, (_, s, nom) in r.inserts.items()},
        "rod_distances_mm": list(r.rods.side_lengths_mm),
        "rod_diagonals_mm": list(r.rods.diagonals_mm),
        "ramp_slice_thickness_mm": {rp.name: rp.slice_thickness_mm for rp in r.ramps},
        "roll_deg": r.rods.roll_deg} for i, r in found]
    i0, r0 = found[len(found) // 2]
    for mat, (pos, _, _) in r0.inserts.items():
        rois.append(Roi("circle", (pos,), label=mat, frame=i0, radius=r0.roi_radius_px))
    for k, pos in enumerate(r0.rods.positions_rc):
        rois.append(Roi("point", (pos,), label=f"geometry rod {k + 1}", frame=i0))
    rois.append(Roi("polygon", r0.rods.positions_rc, label="rod square", frame=i0,
                    role="profile"))
    for rp in r0.ramps:
        rois.append(Roi("polygon", rp.corners_rc, label=f"ramp {rp.name}", frame=i0,
                        role="profile"))
        x = np.arange(rp.profile.size) * px / 2.0
        curves.append(Curve(f"ramp {rp.name} (slice {i0})", x, rp.profile, "position",
                            "mm", "CT number", "HU"))
    mats = [m for m in r0.inserts]
    curves.append(Curve("CT number vs nominal", np.array([r0.inserts[m][2] for m in mats]),
                        np.array([r0.inserts[m][1].mean for m in mats]), "nominal", "HU",
                        "measured", "HU"))


def _ctp486_values(found, values, rois, extra) -> None:
    """CTP486: centre CT number and noise, uniformity."""
    res486 = [r for _, r in found]
    values["ctp486_mean_hu_centre"] = float(np.mean([r.centre.mean for r in res486]))
    values["ctp486_noise_sd_centre"] = float(np.mean([r.centre.sd for r in res486]))
    values["ctp486_uniformity_max_deviation_hu"] = float(
        np.mean([r.uniformity_max_deviation_hu for r in res486]))
    extra["ctp486"] = [{"slice_index": i, "centre_mean_hu": r.centre.mean,
                        "centre_sd_hu": r.centre.sd,
                        **{f"mean_hu_{k}": s.mean for k, (_, s) in r.peripheral.items()}}
                       for i, r in found]
    i0, r0 = found[len(found) // 2]
    rois.append(Roi("circle", (r0.phantom.centre_rc,), label="phantom", frame=i0,
                    radius=r0.phantom.radius_px, role="phantom"))
    rois.append(Roi("circle", (r0.phantom.centre_rc,), label="CTP486 centre", frame=i0,
                    radius=r0.roi_radius_px))
    for name, (pos, _) in r0.peripheral.items():
        rois.append(Roi("circle", (pos,), label=f"CTP486 {name} o'clock", frame=i0,
                        radius=r0.roi_radius_px))


def _ctp528_values(found, px, values, rois, curves, warnings, extra) -> None:
    res = [r for _, r in found]
    f = res[0].frequencies_lp_per_cm
    mtf = np.mean([r.mtf for r in res], axis=0)
    from imgqa.analysis.catphan_ctp528 import _crossing  # same interpolation as the kernel

    for level, name in ((0.5, "ctp528_mtf50_lp_per_cm"), (0.1, "ctp528_mtf10_lp_per_cm")):
        values[name] = _crossing(f, mtf, level)
        if values[name] is None:
            warnings.append(f"CTP528: the MTF does not fall to {level:g} up to 21 lp/cm; "
                            f"{name} not reported.")
    extra["ctp528"] = [{"slice_index": i, "contrast_hu": r.contrast_hu,
                        "rotation_deg": r.rotation_deg, "mirrored": r.mirrored,
                        "template_score": r.score,
                        "mtf": {g.lp_per_cm: g.mtf for g in r.groups},
                        "square_wave_modulation": {g.lp_per_cm: g.modulation for g in r.groups}}
                       for i, r in found]
    i0, r0 = found[len(found) // 2]
    for g in r0.groups:
        rois.append(Roi("polygon", g.corners_rc, label=f"{g.lp_per_cm} lp/cm", frame=i0,
                        role="profile"))
    curves.append(Curve("CTP528 MTF (fundamental of the bar groups)", f, mtf,
                        "spatial frequency", "lp/cm", "MTF", ""))
    curves.append(Curve("CTP528 square-wave modulation", f,
                        np.mean([[g.modulation for g in r.groups] for r in res], axis=0),
                        "spatial frequency", "lp/cm", "modulation", ""))


def _ctp515_values(found, values, rois, warnings, extra) -> None:
    from imgqa.analysis.catphan_ctp515 import ctp515_target_name

    res = [r for _, r in found]
    for tok, _, _ in CTP515_CONTRASTS:
        for d in CTP515_DIAMETERS_MM:
            name = ctp515_target_name(tok, d)
            values[name] = float(np.mean([t.cnr for r in res for t in r.targets
                                          if t.name == name]))
    values["ctp515_visible_targets"] = float(np.mean([r.visible_targets for r in res]))
    extra["ctp515"] = [{"slice_index": i, "rotation_deg": r.rotation_deg,
                        "detection_z": r.detection_z, "rose_threshold": r.rose_threshold,
                        "targets": {t.name: {"mean_hu": t.target.mean,
                                             "background_hu": t.background_mean,
                                             "background_sd_hu": t.background_sd,
                                             "cnr": t.cnr, "rose_index": t.rose_index,
                                             "visible": t.visible} for t in r.targets}}
                       for i, r in found]
    i0, r0 = found[len(found) // 2]
    for t in r0.targets:
        rois.append(Roi("circle", (t.centre_rc,), label=t.name.removeprefix("ctp515_cnr_"),
                        frame=i0, radius=t.roi_radius_px))
    for t in r0.targets[:9]:
        for k, pos in enumerate(t.background_rc):
            rois.append(Roi("circle", (pos,), label=f"background {k + 1}", frame=i0,
                            radius=r0.background_roi_radius_px, role="background"))


def _ctp591_values(found, values, rois, curves, warnings, extra) -> None:
    res = [r for _, r in found]
    per_slice = [r.slice_thickness_mm for r in res if r.slice_thickness_mm is not None]
    values["ctp591_slice_thickness_mm"] = float(np.mean(per_slice)) if per_slice else None
    names = [rp.name for rp in res[0].ramps]
    per_ramp: dict[str, float | None] = {}
    for k, name in enumerate(names):
        ramps = [r.ramps[k] for r in res]
        vals = [rp.fwhm_mm for rp in ramps if rp.fwhm_mm is not None and not rp.saturated]
        per_ramp[name] = float(np.mean(vals)) if vals else None
        if any(rp.saturated for rp in ramps):
            warnings.append(f"CTP591 {name}: bead pixels reach the scanner's clipping level; "
                            "this ramp is left out of the slice thickness (its SSP would read "
                            "too wide).")
        if not vals and name.startswith("fine"):
            warnings.append(f"CTP591 {name}: no slice thickness ({ramps[0].reason or 'saturated'}).")
    coarse_reasons = {rp.reason for r in res for rp in r.ramps
                      if rp.name.startswith("coarse") and rp.fwhm_mm is None and rp.reason}
    if coarse_reasons and all(per_ramp[n] is None for n in names if n.startswith("coarse")):
        warnings.append("CTP591 coarse ramps (1 mm z steps) not used: "
                        f"{sorted(coarse_reasons)[0]}.")
    if values["ctp591_slice_thickness_mm"] is None:
        warnings.append("CTP591: no bead ramp resolved the slice sensitivity profile; slice "
                        "thickness not reported.")
    extra["ctp591_ramp_fwhm_mm"] = per_ramp
    extra["ctp591"] = [{
        "slice_index": i, "roll_deg": r.roll_deg, "slice_thickness_mm": r.slice_thickness_mm,
        "ramps": {rp.name: {"fwhm_mm": rp.fwhm_mm, "reason": rp.reason,
                            "z_step_mm": rp.z_step_mm, "saturated": rp.saturated,
                            "slice_position_mm": _none_if_nan(rp.slice_position_mm),
                            "bead_pitch_mm": _none_if_nan(rp.pitch_mm)} for rp in r.ramps}}
        for i, r in found]
    i0, r0 = found[len(found) // 2]
    for rp in r0.ramps:
        rois.append(Roi("polygon", rp.corners_rc, label=f"bead ramp {rp.name}", frame=i0,
                        role="profile"))
        if rp.fwhm_mm is None:
            continue
        order = np.argsort(rp.z_mm)
        curves.append(Curve(f"CTP591 {rp.name} bead signal (slice {i0})", rp.z_mm[order],
                            rp.signal[order], "z", "mm", "bead signal", "HU·mm²"))
        zf = np.linspace(rp.z_mm.min(), rp.z_mm.max(), 400)
        _, a, z0, sd = rp.fit
        curves.append(Curve(f"CTP591 {rp.name} Gaussian fit (FWHM {rp.fwhm_mm:.2f} mm)", zf,
                            a * np.exp(-0.5 * ((zf - z0) / sd) ** 2), "z", "mm",
                            "bead signal", "HU·mm²"))


def _detect_catphan(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "CT" or _is_localizer(series):
        return 0.0, "a localizer (topogram/scout), not an axial image"
    text = series.header.description_text
    words = _CATPHAN_WORDS.search(text)
    if words:
        return 0.9, f"the header names {words.group(0)!r}"
    sp = series.pixel_spacing_mm
    if sp is None:
        return 0.0, "no Catphan name in the header and no pixel spacing to check the image"
    image = series.pixels(len(series) // 2)
    try:
        find_geometry_rods(image, float(sp[0]))
    except PhantomNotFoundError:
        # Any Catphan module: the 150 mm module inside the 200 mm housing (air-gap ring).
        if has_catphan_housing(image, float(sp[0])):
            return 0.8, "the middle slice shows a Catphan module inside its housing"
        try:  # CTP591: beads on the bead-ramp lines (its air gap does not always show)
            find_ctp591(image, float(sp[0]), find_phantom(image, float(sp[0])).centre_rc)
        except PhantomNotFoundError:
            return 0.0, ("no Catphan name in the header, and no Catphan module (geometry "
                         "rods, housing or bead ramps) in the middle slice")
        return 0.8, "the CTP591 bead ramps are in the middle slice"
    return 0.85, "the CTP404 geometry rods are in the middle slice"


_CATPHAN_MEASUREMENTS = tuple(
    MeasurementSpec(f"ctp404_hu_{m}", "HU", f"CTP404 {m.replace('_', ' ')} insert mean CT "
                    "number (nominal: see docs/ct.md).",
                    label="CTP404 CT number, " + {"pmp": "PMP", "ldpe": "LDPE", "bone_20":
                                                  "bone 20 %", "bone_50": "bone 50 %"}.get(m, m))
    for m in _CTP404_MATERIALS) + (
    MeasurementSpec("ctp404_hu_max_error", "HU",
                    "Largest |measured − nominal| CT number over the CTP404 inserts.",
                    higher_is_better=False,
                    label="CTP404 CT number, largest error"),
    MeasurementSpec("ctp404_rod_distance_mean_mm", "mm",
                    "Mean distance between neighbouring geometry rods (nominal 50 mm).",
                    label="CTP404 rod distance, mean"),
    MeasurementSpec("ctp404_rod_distance_max_error_mm", "mm",
                    "Largest |rod distance − 50 mm|.", higher_is_better=False,
                    label="CTP404 rod distance, largest error"),
    MeasurementSpec("ctp404_pixel_size_mm", "mm",
                    "Pixel size implied by the 50 mm rod square (compare with the header).",
                    label="CTP404 pixel size from the rods"),
    MeasurementSpec("ctp404_slice_thickness_mm", "mm",
                    "Slice thickness from the four 23° wire ramps (FWHM × 0.42), mean.",
                    label="CTP404 slice thickness (wire ramps)"),
    MeasurementSpec("phantom_roll_deg", "°", "Phantom rotation about z (clockwise on screen).",
                    label="Phantom roll"),
    MeasurementSpec("ctp486_mean_hu_centre", "HU", "CTP486 centre ROI mean CT number.",
                    label="CTP486 mean CT number, centre"),
    MeasurementSpec("ctp486_noise_sd_centre", "HU", "CTP486 centre ROI standard deviation.",
                    higher_is_better=False,
                    label="CTP486 noise (SD), centre"),
    MeasurementSpec("ctp486_uniformity_max_deviation_hu", "HU",
                    "CTP486: largest |peripheral ROI mean − centre ROI mean|.",
                    higher_is_better=False,
                    label="CTP486 uniformity, largest deviation"),
    MeasurementSpec("ctp528_mtf50_lp_per_cm", "lp/cm",
                    "CTP528: frequency where the line-pair MTF (fundamental of the bar groups, "
                    "normalised to the 1 lp/cm bar contrast) falls to 50 %.",
                    higher_is_better=True,
                    label="CTP528 MTF 50 % frequency"),
    MeasurementSpec("ctp528_mtf10_lp_per_cm", "lp/cm",
                    "CTP528: frequency where the line-pair MTF falls to 10 %.",
                    higher_is_better=True,
                    label="CTP528 MTF 10 % frequency"),
) + tuple(
    MeasurementSpec(_ctp515_target_name(tok, d), "",
                    f"CTP515 {pct:g} % target, {d} mm: (target − background) / background SD.",
                    higher_is_better=True,
                    label=f"CTP515 CNR, {pct:g} % contrast, {d} mm")
    for tok, pct, _ in CTP515_CONTRASTS for d in CTP515_DIAMETERS_MM) + (
    MeasurementSpec("ctp515_visible_targets", "",
                    "CTP515: number of supra-slice targets (of 27) whose Rose index "
                    "CNR·√(area in pixels) reaches rose_threshold.", higher_is_better=True,
                    label="CTP515 visible targets"),
    MeasurementSpec("ctp591_slice_thickness_mm", "mm",
                    "CTP591: FWHM of the slice sensitivity profile from the bead ramps (bead "
                    "signal vs bead z, Gaussian fit), mean over the resolved ramps and slices.",
                    label="CTP591 slice thickness (bead ramps)"),
)

register(Protocol(
    name="ct.catphan",
    key_measurement="ctp404_hu_max_error",
    version="3",
    title="Catphan (CTP404 / CTP486 / CTP528 / CTP515 / CTP591)",
    description="Catphan image-quality phantom: CTP404 CT numbers of the sensitometry inserts, "
                "geometry-rod distances, wire-ramp slice thickness and phantom roll; CTP486 "
                "uniformity; CTP528 line-pair MTF; CTP515 low-contrast CNR and visible "
                "targets; CTP591 slice sensitivity profile FWHM from the bead ramps. Modules "
                "and roll are found automatically.",
    modalities=("CT",),
    measurements=_CATPHAN_MEASUREMENTS,
    parameters=(
        ParameterSpec("model", str, "auto", "", "Catphan insert layout.",
                      choices=("auto", "504", "600", "604")),
        ParameterSpec("slice_index", int, None, "", "Analyse only this image.", minimum=0),
        ParameterSpec("rose_threshold", float, 5.0, "",
                      "CTP515: Rose index (CNR·√area in pixels) for a target to count as "
                      "visible (Rose 1948: 5).", minimum=0.0),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=ct_catphan,
    inputs="axial slices through Catphan modules CTP404, CTP486, CTP528, CTP515 and/or CTP591",
    detect=_detect_catphan,
    standard="Catphan 500/600 manual (The Phantom Laboratory); IEC 61223-3-5:2019",
))
