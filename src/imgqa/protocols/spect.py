"""SPECT QC protocols: centre of rotation, tomographic resolution, tomographic uniformity and
contrast (NEMA NU 1-2018 §3; IAEA Human Health Series No. 6, *Quality Assurance for SPECT
Systems*, 2009).

Which kind of SPECT series a file holds is read from the header (`spect_kind`): Image Type
``TOMO`` without ``RECON`` (with detector/rotation information) is a set of *projections*;
``RECON TOMO`` or a Slice Vector is a *reconstructed volume*. Each test refuses the other kind
with a message saying which test fits.
"""

from __future__ import annotations

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

# The kernels import SciPy: bound lazily so that the declarations below load without it.
(centre_of_rotation,) = lazy_functions("imgqa.analysis.spect_cor", "centre_of_rotation")
find_sources, source_resolution = lazy_functions("imgqa.analysis.spect_resolution",
                                                 "find_sources", "source_resolution")
(tomographic_uniformity,) = lazy_functions("imgqa.analysis.spect_uniformity",
                                           "tomographic_uniformity")

__all__ = ["spect_cor", "spect_kind", "spect_resolution", "spect_uniformity_contrast"]

_MIN_FRAMES = 8


# ---------------------------------------------------------------------------------------------
# What kind of SPECT series (header only)
# ---------------------------------------------------------------------------------------------
def _frame_facts(series: ImageSeries) -> list[dict[str, Any]]:
    """The per-frame facts this module reads (detector, angle, slice), in one place."""
    return [{"detector": f.metadata.get("detector"), "angle_deg": f.metadata.get("angle_deg"),
             "slice": f.metadata.get("slice"), "angular_view": f.metadata.get("angular_view")}
            for f in series.frames]


def spect_kind(series: ImageSeries) -> tuple[str, str]:
    """("projections" | "reconstruction" | "", why) from the header."""
    if series.modality != "NM":
        return "", "not an NM image"
    image_type = " ".join(series.header.image_type).upper()
    facts = _frame_facts(series)
    n = len(series)
    if "RECON" in image_type or (n >= 3 and all(f["slice"] is not None for f in facts)):
        why = "Image Type RECON TOMO" if "RECON" in image_type else "a Slice Vector"
        return "reconstruction", f"a reconstructed SPECT volume of {n} slices ({why})"
    if "TOMO" in image_type or (n >= _MIN_FRAMES and all(f["angle_deg"] is not None
                                                         for f in facts)):
        heads = {f["detector"] for f in facts if f["detector"] is not None}
        why = "Image Type TOMO" if "TOMO" in image_type else "gantry angles per frame"
        return "projections", (f"SPECT projections: {n} frames from {max(len(heads), 1)} "
                               f"head(s) ({why})")
    return "", f"not a SPECT series (Image Type {image_type or 'none'}, {n} frame(s))"


def _keyword_detector(kind: str, keywords: tuple[str, ...], base: float, hit: float):
    def detect(series: ImageSeries) -> tuple[float, str]:
        found_kind, why = spect_kind(series)
        if found_kind != kind:
            return 0.0, why if not found_kind else f"{why}; this test needs {kind}"
        words = series.header.description_text.upper()
        key = next((k for k in keywords if k in words), None)
        desc = series.header.series_description or "(none)"
        if key is not None:
            return hit, f"{why}; the description {desc!r} contains {key!r}"
        return base, f"{why}; the description {desc!r} names no test (a guess)"
    return detect


def _require(series: ImageSeries, kind: str, test: str, other: str) -> None:
    found, why = spect_kind(series)
    if found == kind:
        return
    raise AnalysisError(
        f"{test} needs SPECT {kind}, but this series is {why}.",
        hint=other if found else "Choose a SPECT series (NM, Image Type TOMO or RECON TOMO).")


def _slice_mm(series: ImageSeries, px: float) -> tuple[float, list[str]]:
    """Slice spacing of a reconstruction: Spacing Between Slices, else thickness, else pixel."""
    ds = series.dataset(0)
    for kw in ("SpacingBetweenSlices", "SliceThickness"):
        try:
            v = abs(float(ds.get(kw)))  # Siemens/Mediso write it negative for some orientations
        except (TypeError, ValueError):
            continue
        if v > 0:
            return v, []
    if series.geometry.slice_spacing_mm:
        return float(series.geometry.slice_spacing_mm), []
    return px, [f"The slice spacing is not in the header: taken equal to the pixel size "
                f"({px:.3g} mm); fwhm_z_mm assumes it."]


# ---------------------------------------------------------------------------------------------
# spect.cor
# ---------------------------------------------------------------------------------------------
def spect_cor(series: ImageSeries, *, window_mm: float = 30.0,
              pixel_spacing_mm: float | None = None) -> Analysis:
    """COR offset per head from point-source projections over 360° (sinusoid fit)."""
    _require(series, "projections", "The centre-of-rotation test",
             "Use the projections (Image Type TOMO), not the reconstruction; a reconstructed "
             "volume suits spect.resolution or spect.uniformity_contrast.")
    series, px = with_pixel_size(series, pixel_spacing_mm, "Centre of rotation")
    facts = _frame_facts(series)
    n = len(series)
    heads = np.array([f["detector"] if f["detector"] is not None else 1 for f in facts])
    warnings: list[str] = []
    if all(f["angle_deg"] is not None for f in facts):
        angles = np.array([float(f["angle_deg"]) for f in facts])
    else:
        # No rotation information: assume each head covers 360° in equal steps.
        angles = np.zeros(n)
        for h in np.unique(heads):
            sel = np.flatnonzero(heads == h)
            angles[sel] = np.arange(sel.size) * 360.0 / sel.size
        warnings.append("The header gives no start angle/angular step: equal steps over 360° "
                        "per head are assumed.")
    stack = series.stack()
    try:
        r = centre_of_rotation(stack, angles, heads, px, window_mm=window_mm)
    except ValueError as exc:
        raise PhantomNotFoundError(f"No centre of rotation could be fitted: {exc}.",
                                   hint="Acquire a point source 5–10 cm off the axis over "
                                        "360° (IAEA HHS 6 §4.3.2).") from None
    meas: dict[str, float | None] = {
        "cor_offset_mm": r.worst.offset_mm, "cor_offset_pixels": r.worst.offset_px}
    curves: list[Curve] = []
    rois: list[Roi] = []
    index = np.arange(n)
    for h in r.heads:
        k = h.head if h.head in (1, 2) else None
        if k is not None:
            meas[f"cor_offset_mm_head{k}"] = h.offset_mm
            meas[f"cor_offset_pixels_head{k}"] = h.offset_px
        order = np.argsort(h.angles_deg)
        curves.append(Curve(f"Head {h.head}: source column", h.angles_deg[order],
                            h.x_px[order], "gantry angle", "°", "centroid column", "pixel"))
        curves.append(Curve(f"Head {h.head}: sinusoid fit", h.angles_deg[order],
                            h.x_fit_px[order], "gantry angle", "°", "centroid column", "pixel"))
        curves.append(Curve(f"Head {h.head}: source row", h.angles_deg[order], h.y_px[order],
                            "gantry angle", "°", "centroid row", "pixel"))
        for i, x, y in zip(index[heads == h.head], h.x_px, h.y_px):
            rois.append(Roi("point", ((float(y), float(x)),), label=f"H{h.head}", frame=int(i)))
        if h.residual_max_px > 1.0:
            warnings.append(f"Head {h.head}: a projection lies {h.residual_max_px:.2f} pixels "
                            "off the sinusoid: erratic gantry motion, a moving source or "
                            "more than one source.")
    for k in (1, 2):
        meas.setdefault(f"cor_offset_mm_head{k}", None)
        meas.setdefault(f"cor_offset_pixels_head{k}", None)
    meas["head_alignment_mm"] = r.head_alignment_mm
    meas["head_alignment_y_mm"] = r.head_alignment_y_mm
    meas["y_drift_mm"] = max(h.y_range_mm for h in r.heads)
    meas["residual_rms_pixels"] = max(h.residual_rms_px for h in r.heads)
    return Analysis(measurements=meas, rois=tuple(rois), curves=tuple(curves),
                    warnings=tuple(warnings), frames=list(range(n)),
                    extra={"centre_px": r.centre_px, "heads": [h.head for h in r.heads],
                           "amplitude_px": [h.amplitude_px for h in r.heads],
                           "window_mm": window_mm})


# ---------------------------------------------------------------------------------------------
# spect.resolution
# ---------------------------------------------------------------------------------------------
def spect_resolution(series: ImageSeries, *, half_width_mm: float = 25.0,
                     method: str = "gaussian", pixel_spacing_mm: float | None = None
                     ) -> Analysis:
    """FWHM/FWTM in x, y (and z for point sources) of the sources in a reconstructed volume."""
    if method not in ("gaussian", "interpolated"):
        raise ParameterError(f"method must be gaussian or interpolated, got {method!r}.")
    _require(series, "reconstruction", "Tomographic resolution",
             "Reconstruct the line-source acquisition first; projections suit spect.cor.")
    series, px = with_pixel_size(series, pixel_spacing_mm, "Tomographic resolution")
    dz, warnings = _slice_mm(series, px)
    vol = series.stack()
    boxes = find_sources(vol)
    if not boxes:
        raise PhantomNotFoundError("No line or point source found in the volume.",
                                   hint="Use a reconstruction of line sources parallel to the "
                                        "axis, or of point sources.")
    found = []
    for b in boxes:
        try:
            found.append(source_resolution(vol, b, px, dz, half_width_mm=half_width_mm))
        except ValueError as exc:
            warnings.append(f"A source near row {b[0].start}, column {b[1].start} was "
                            f"skipped: {exc}.")
    if not found:
        raise PhantomNotFoundError("No source in the volume gave a usable profile.")

    def width(p, tenth: bool) -> float | None:
        if method == "gaussian":
            return p.fwtm_mm if tenth else p.fwhm_mm
        return p.fwtm_interp_mm if tenth else p.fwhm_interp_mm

    meas: dict[str, float | None] = {}
    for axis in ("x", "y", "z"):
        for tenth, name in ((False, "fwhm"), (True, "fwtm")):
            vals = [v for v in (width(s.profiles[axis], tenth) for s in found
                                if axis in s.profiles) if v is not None]
            meas[f"{name}_{axis}_mm"] = float(np.mean(vals)) if vals else None
    if meas["fwhm_z_mm"] is None:
        warnings.append("Only axial line sources: the axial resolution (fwhm_z_mm) needs a "
                        "point source.")
    rois: list[Roi] = []
    curves: list[Curve] = []
    per_source = []
    hw = half_width_mm / px
    for k, s in enumerate(found, start=1):
        mid = (s.slices[0] + s.slices[1]) // 2
        r, c = s.centre_rc
        text = ", ".join(f"{a} {p.fwhm_mm:.1f}" for a, p in s.profiles.items())
        rois.append(Roi("rect", ((r - hw, c - hw), (r + hw, c + hw)),
                        label=f"{s.kind} {k}: FWHM {text} mm", frame=mid, role="profile"))
        rois.append(Roi("point", ((r, c),), label=f"{s.kind} {k}", frame=mid))
        for a, p in s.profiles.items():
            curves.append(Curve(f"{s.kind} {k} LSF {a.upper()}", p.distance_mm, p.values,
                                "distance", "mm", "normalised LSF", ""))
            curves.append(Curve(f"{s.kind} {k} Gaussian fit {a.upper()}", p.distance_mm, p.fit,
                                "distance", "mm", "normalised LSF", ""))
        per_source.append({"kind": s.kind, "centre_rc": list(s.centre_rc),
                           "slices": list(s.slices), "tilt_deg": s.tilt_deg,
                           **{f"fwhm_{a}_mm": p.fwhm_mm for a, p in s.profiles.items()},
                           **{f"fwtm_{a}_mm": p.fwtm_mm for a, p in s.profiles.items()},
                           **{f"fwhm_{a}_interp_mm": p.fwhm_interp_mm
                              for a, p in s.profiles.items()},
                           **{f"fwtm_{a}_interp_mm": p.fwtm_interp_mm
                              for a, p in s.profiles.items()}})
        if s.tilt_deg > 10:
            warnings.append(f"{s.kind.capitalize()} {k} is tilted {s.tilt_deg:.0f}° from the "
                            "axis: widths are corrected for the obliquity, but align the "
                            "lines with the axis for NEMA conditions.")
    return Analysis(measurements=meas, rois=tuple(rois), curves=tuple(curves),
                    warnings=tuple(warnings),
                    extra={"sources": per_source, "slice_mm": dz, "method": method})


# ---------------------------------------------------------------------------------------------
# spect.uniformity_contrast
# ---------------------------------------------------------------------------------------------
_MAX_SPHERES = 6


def spect_uniformity_contrast(series: ImageSeries, *, roi_fraction: float = 0.8,
                              first_uniform_slice: int | None = None,
                              last_uniform_slice: int | None = None,
                              pixel_spacing_mm: float | None = None) -> Analysis:
    """Jaszczak phantom: tomographic uniformity, ring check, cold-sphere and rod contrast."""
    _require(series, "reconstruction", "Tomographic uniformity",
             "Reconstruct the Jaszczak acquisition first; projections suit spect.cor.")
    series, px = with_pixel_size(series, pixel_spacing_mm, "Tomographic uniformity")
    if (first_uniform_slice is None) != (last_uniform_slice is None):
        raise ParameterError("Give both first_uniform_slice and last_uniform_slice, or neither.")
    slices = None
    if first_uniform_slice is not None and last_uniform_slice is not None:
        slices = (int(first_uniform_slice), int(last_uniform_slice))
    try:
        r = tomographic_uniformity(series.stack(), px, roi_fraction=roi_fraction, slices=slices)
    except ValueError as exc:
        raise PhantomNotFoundError(f"No usable uniform cylinder section: {exc}.",
                                   hint="Use a reconstruction of a Jaszczak-type phantom, or "
                                        "give the uniform slices.") from None
    warnings: list[str] = []
    meas: dict[str, float | None] = {
        "tomographic_integral_uniformity_percent": r.integral_uniformity_percent,
        "ring_artefact_percent": r.ring_artefact_percent,
        "radial_nonuniformity_percent": r.radial_nonuniformity_percent,
        "noise_cv_percent": r.noise_cv_percent,
    }
    for k in range(1, _MAX_SPHERES + 1):
        meas[f"sphere_{k}_contrast_percent"] = None
    for s in r.spheres[:_MAX_SPHERES]:
        meas[f"sphere_{s.index}_contrast_percent"] = s.contrast_percent
    for k in range(1, _MAX_SPHERES + 1):
        meas[f"rod_{k}_contrast_percent"] = None
    for rs in r.rods[:_MAX_SPHERES]:
        meas[f"rod_{rs.index}_contrast_percent"] = rs.contrast_percent
    if not r.spheres:
        warnings.append("No cold sphere found outside the uniform section.")
    elif len(r.spheres) > _MAX_SPHERES:
        warnings.append(f"{len(r.spheres)} cold blobs found; the {_MAX_SPHERES} largest are "
                        "reported.")
    first, last = r.uniform_slices
    rois = [Roi("circle", (r.centre_rc,), label=f"Uniformity disc (slices {first + 1}–"
                f"{last + 1})", frame=k, radius=r.roi_radius_px, role="field")
            for k in (first, (first + last) // 2, last)]
    for s in r.spheres[:_MAX_SPHERES]:
        rois.append(Roi("circle", (s.centre_rc,), label=f"Sphere {s.index}: "
                        f"{s.contrast_percent:.0f} %", frame=s.slice,
                        radius=s.diameter_mm / px / 2))
    for rs in r.rods[:_MAX_SPHERES]:
        rois.extend(Roi("point", (c,), label=f"R{rs.index}" if j == 0 else "",
                        frame=(r.rod_slices or (0, 0))[0] + 1)
                    for j, c in enumerate(rs.centres_rc))
    curves = [
        Curve("Ring profile (annular means / median)", r.ring_radii_mm, r.ring_profile,
              "radius", "mm", "relative mean", ""),
        Curve("Smooth radial trend", r.ring_radii_mm, r.ring_trend,
              "radius", "mm", "relative mean", ""),
        Curve("Integral uniformity per uniform slice", np.arange(first, last + 1) + 1.0,
              r.slice_uniformity_percent, "slice", "", "integral uniformity", "%"),
        Curve("Cold-pixel fraction per slice", np.arange(r.slice_cold_fraction.size) + 1.0,
              100.0 * r.slice_cold_fraction, "slice", "", "cold pixels in disc", "%"),
    ]
    return Analysis(
        measurements=meas, rois=tuple(rois), curves=tuple(curves), warnings=tuple(warnings),
        maps=(ImageMap("smoothed uniform section", r.smoothed, "Mean of the uniform slices, "
                       "9-point smoothed; zero outside the analysis disc", "counts", px),),
        extra={"uniform_slices": [first, last], "centre_rc": list(r.centre_rc),
               "phantom_diameter_mm": 2 * r.radius_px * px,
               "ring_artefact_radius_mm": r.ring_artefact_radius_mm,
               "uniform_level": r.uniform_level,
               "spheres": [{"index": s.index, "slice": s.slice, "centre_rc": list(s.centre_rc),
                            "diameter_mm": s.diameter_mm, "contrast_percent":
                            s.contrast_percent} for s in r.spheres],
               "rod_slices": list(r.rod_slices) if r.rod_slices else None,
               "rod_sectors": [{"index": s.index, "angle_range_deg": list(s.angle_range_deg),
                                "rods": s.n_rods, "diameter_mm": s.diameter_mm,
                                "contrast_percent": s.contrast_percent} for s in r.rods]})


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
_SPACING = ParameterSpec("pixel_spacing_mm", float, None, "mm",
                         "Pixel size to use when the images have none.", minimum=1e-3)

register(Protocol(
    name="spect.cor",
    key_measurement="cor_offset_mm",
    version="1",
    title="SPECT centre of rotation (point source)",
    description="Centroid of a point source in every projection, sinusoid x(θ) = A sin θ + "
                "B cos θ + c fitted per head; COR offset = c − matrix centre, per head and "
                "head to head, with the axial (y) drift.",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("cor_offset_mm", "mm", "COR offset of the worst head.", None,
                        label="COR offset (worst head)"),
        MeasurementSpec("cor_offset_pixels", "pixel", "COR offset of the worst head, pixels.",
                        None, label="COR offset (worst head), pixels"),
        MeasurementSpec("cor_offset_mm_head1", "mm", "COR offset of head 1.", None,
                        label="COR offset, head 1"),
        MeasurementSpec("cor_offset_pixels_head1", "pixel", "COR offset of head 1, pixels.",
                        None, label="COR offset, head 1, pixels"),
        MeasurementSpec("cor_offset_mm_head2", "mm", "COR offset of head 2.", None,
                        label="COR offset, head 2"),
        MeasurementSpec("cor_offset_pixels_head2", "pixel", "COR offset of head 2, pixels.",
                        None, label="COR offset, head 2, pixels"),
        MeasurementSpec("head_alignment_mm", "mm", "Head 1 minus head 2 COR offset (x).", None,
                        label="Head-to-head alignment, X"),
        MeasurementSpec("head_alignment_y_mm", "mm", "Head 1 minus head 2 mean source row "
                        "(axial).", None, label="Head-to-head alignment, Y"),
        MeasurementSpec("y_drift_mm", "mm", "Range of the source row over the rotation "
                        "(worst head): axial drift or head tilt.", False, label="Axial drift"),
        MeasurementSpec("residual_rms_pixels", "pixel", "RMS deviation of the centroids from "
                        "the sinusoid (worst head).", False, label="Fit residual (RMS)"),
    ),
    parameters=(
        ParameterSpec("window_mm", float, 30.0, "mm", "Radius of the centroid window about "
                      "the source (about three source FWHMs).", minimum=2.0),
        _SPACING,
    ),
    function=spect_cor,
    inputs="one SPECT acquisition (projections over 360°, one or two heads) of a point source",
    min_images=_MIN_FRAMES,
    detect=_keyword_detector("projections", ("COR", "CENTER OF ROT", "CENTRE OF ROT",
                                             "ROTATION", "ROTASJON", "POINT", "PUNKT"),
                             0.5, 0.9),
    standard="NEMA NU 1-2018 §3; IAEA Human Health Series No. 6 (2009) §4.3.2",
))

_RES_MEAS = tuple(
    MeasurementSpec(f"{w}_{a}_mm", "mm", f"{w.upper()} {desc}, mean over the sources.", False,
                    label=f"{w.upper()}, {a.upper()}")
    for w in ("fwhm", "fwtm")
    for a, desc in (("x", "across the source in x (in-plane)"),
                    ("y", "across the source in y (in-plane)"),
                    ("z", "along the axis (point sources only)")))

register(Protocol(
    name="spect.resolution",
    key_measurement="fwhm_x_mm",
    version="1",
    title="SPECT tomographic resolution (line/point sources)",
    description="Line spread functions across each line source in every slice, pooled about "
                "their centroids (finely sampled), Gaussian fit: FWHM/FWTM in x and y, "
                "corrected for the line's tilt; point sources also give z.",
    modalities=("NM",),
    measurements=_RES_MEAS,
    parameters=(
        ParameterSpec("half_width_mm", float, 25.0, "mm", "Half-size of the profile window "
                      "about each source (must exceed the FWTM).", minimum=5.0),
        ParameterSpec("method", str, "gaussian", "", "gaussian (fitted) or interpolated "
                      "(NEMA linear interpolation of the pooled profile).",
                      choices=("gaussian", "interpolated")),
        _SPACING,
    ),
    function=spect_resolution,
    inputs="one reconstructed SPECT volume of line sources (parallel to the axis) or points",
    min_images=3,
    detect=_keyword_detector("reconstruction", ("LINE", "LINJE", "RESOL", "FWHM", "POINT",
                                                "PUNKT", "CAPILL"), 0.3, 0.9),
    standard="NEMA NU 1-2018 §3; IAEA Human Health Series No. 6 (2009) §4.3.4",
))

register(Protocol(
    name="spect.uniformity_contrast",
    key_measurement="tomographic_integral_uniformity_percent",
    version="1",
    title="SPECT tomographic uniformity and contrast (Jaszczak)",
    description="Uniform section found along z; integral uniformity of its mean slice after "
                "9-point smoothing, ring-artefact check from annular means, the contrast "
                "of each cold sphere and of each resolved rod sector.",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("tomographic_integral_uniformity_percent", "%", "Integral uniformity "
                        "of the uniform section (mean slice, 9-point smoothed).", False,
                        label="Tomographic integral uniformity"),
        MeasurementSpec("ring_artefact_percent", "%", "Largest deviation of a 1-pixel annulus "
                        "mean from the smooth radial trend, % of the median annulus (uniform "
                        "section).", False, label="Ring artefact"),
        MeasurementSpec("radial_nonuniformity_percent", "%", "Range of the smooth radial trend "
                        "of the annular means (cupping or central hot spot), % of the median "
                        "annulus.", False, label="Radial non-uniformity"),
        MeasurementSpec("noise_cv_percent", "%", "Pixel standard deviation / mean in the "
                        "uniform slices' disc.", False, label="Noise (CV)"),
        *(MeasurementSpec(f"sphere_{k}_contrast_percent", "%", f"Contrast of cold sphere {k} "
                          "(1 = largest): (1 − sphere/uniform) × 100.", True,
                          label=f"Contrast, sphere {k}") for k in range(1, _MAX_SPHERES + 1)),
        *(MeasurementSpec(f"rod_{k}_contrast_percent", "%", f"Mean contrast of the rods of "
                          f"sector {k} (1 = largest rods): (1 − rod/uniform) × 100; none when "
                          "the sector is not resolved.", True,
                          label=f"Contrast, rod sector {k}") for k in range(1, _MAX_SPHERES + 1)),
    ),
    parameters=(
        ParameterSpec("roi_fraction", float, 0.8, "", "Radius of the analysis disc as a "
                      "fraction of the phantom radius.", minimum=0.3, maximum=0.95),
        ParameterSpec("first_uniform_slice", int, None, "", "First slice of the uniform "
                      "section (0-based); default: found automatically.", minimum=0),
        ParameterSpec("last_uniform_slice", int, None, "", "Last slice of the uniform section "
                      "(0-based, inclusive).", minimum=0),
        _SPACING,
    ),
    function=spect_uniformity_contrast,
    inputs="one reconstructed SPECT volume of a Jaszczak-type phantom",
    min_images=3,
    detect=_keyword_detector("reconstruction", ("JASZ", "JASC", "DELUXE", "UNIF", "CONTRAST",
                                                "SPHERE", "HOMOG", "KONTRAST"), 0.25, 0.9),
    standard="IAEA Human Health Series No. 6 (2009) §4.3.5–4.3.6; NEMA NU 1-2018 §3",
))
