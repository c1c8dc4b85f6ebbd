"""Gamma-camera (NM) QC protocols: NEMA flood uniformity, line-source/four-bar resolution and
quadrant-bar MTF. Each planar frame (detector) of a series gives its own analysis."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols._slices import try_each_slice
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

if TYPE_CHECKING:
    from imgqa.analysis.edge_spread import EdgeSpread

# The kernels import SciPy: bound lazily so that the declarations below load without it.
(quadrant_bar_analysis,) = lazy_functions("imgqa.analysis.bar_phantom", "quadrant_bar_analysis")
(edge_resolution,) = lazy_functions("imgqa.analysis.edge_spread", "edge_resolution")
(lines_in_direction,) = lazy_functions("imgqa.analysis.line_spread", "lines_in_direction")
(nema_uniformity,) = lazy_functions("imgqa.analysis.nema_uniformity", "nema_uniformity")

__all__ = ["nm_bar_phantom", "nm_resolution", "nm_uniformity"]

# More frames than this is a tomographic or dynamic acquisition, not planar QC images.
_MAX_PLANAR_FRAMES = 4


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
def _frames(series: ImageSeries, frame: int | None) -> list[int]:
    if frame is not None:
        if not 0 <= frame < len(series):
            raise ParameterError(f"frame {frame} is outside the series (0–{len(series) - 1}).")
        return [frame]
    return list(range(len(series)))


def _label(series: ImageSeries, i: int) -> str:
    det = series.frames[i].metadata.detector
    if len(series) == 1 and det is None:
        return ""
    return f"detector {det if det is not None else i + 1}"


def _check_counts(image: np.ndarray, series: ImageSeries, i: int, what: str) -> list[str]:
    """Refuse empty images; warn about saturated ones."""
    if not np.any(image):
        raise AnalysisError(f"Image {i + 1} of the series is empty (all pixels are zero), so "
                            f"{what} cannot be measured.",
                            hint="Check the acquisition: was the source in place?")
    warnings = []
    bits = series.header.bits_stored or 16
    top = float(image.max())
    if bits in (8, 16) and top >= 2 ** bits - 1 and \
            np.count_nonzero(image >= top) > 0.001 * image.size:
        warnings.append(f"Image {i + 1}: {np.count_nonzero(image >= top)} pixels sit at the "
                        f"largest storable value ({top:.0f}); counts are saturated and the "
                        "result is unreliable.")
    return warnings


def _not_planar_reason(series: ImageSeries) -> str:
    """Why a series is not one planar (static) image per detector, or "" when it is."""
    image_type = " ".join(series.header.image_type).upper()
    if "TOMO" in image_type or len(series) > _MAX_PLANAR_FRAMES:
        what = "reconstructed SPECT" if "RECON" in image_type else "tomographic"
        return (f"a {what} series of {len(series)} images, not a planar image: the planar "
                f"gamma-camera tests take 1–{_MAX_PLANAR_FRAMES} frames (SPECT tests: "
                "spect.cor, spect.resolution, spect.uniformity_contrast)")
    return ""


def _sweep_reason(series: ImageSeries) -> str:
    """Why a series looks like a whole-body sweep (scan-speed test), or "" when it does not.

    A static flood or phantom image covers the detector (about 54 × 40 cm at most, aspect
    below 1.5); a whole-body sweep is marked WHOLE BODY in Image Type and is several times
    longer than wide.
    """
    h = series.header
    image_type = " ".join(h.image_type).upper()
    sp = series.pixel_spacing_mm
    rows, cols = h.rows or 0, h.columns or 0
    size = (f"{rows} × {cols} matrix" + (f" ({rows * sp[0]:.0f} × {cols * sp[1]:.0f} mm)"
                                         if sp is not None else "")) if rows and cols else ""
    aspect = max(rows, cols) / min(rows, cols) if rows and cols else 1.0
    if "WHOLE BODY" in image_type or aspect >= 2.0:
        marks = [m for m in ("image type WHOLE BODY" if "WHOLE BODY" in image_type else "",
                             size if aspect >= 2.0 else "") if m]
        return ("looks like a whole-body sweep, not a flood: " + ", ".join(marks)
                + " (the test for it is nm.scan_speed)")
    return ""


def _keyword_detector(keywords: tuple[str, ...], base: float, hit: float, *,
                      sweeps: bool = True) -> Callable[[ImageSeries], tuple[float, str]]:
    """Score planar NM images by keywords in the series description, with the reason.

    Tomographic series are declined (the spect.* tests take them). Whole-body sweeps are declined unless
    a keyword names the test, and always when ``sweeps`` is False (a NEMA flood is static:
    analysing a sweep's counting noise as non-uniformity gave a false ACTION, issue 11).
    """
    def detect(series: ImageSeries) -> tuple[float, str]:
        if series.modality != "NM":
            return 0.0, "not an NM image"
        not_planar = _not_planar_reason(series)
        if not_planar:
            return 0.0, not_planar
        words = series.header.description_text.upper()
        found = next((k for k in keywords if k in words), None)
        sweep = _sweep_reason(series)
        if sweep and (found is None or not sweeps):
            return 0.0, sweep
        desc = series.header.series_description or "(none)"
        if found is not None:
            return hit, f"the series description {desc!r} contains {found!r}"
        return base, (f"a planar NM image whose description {desc!r} names no test "
                      "(a low-score guess)")
    return detect


# ---------------------------------------------------------------------------------------------
# nm.uniformity
# ---------------------------------------------------------------------------------------------
def nm_uniformity(series: ImageSeries, *, cfov_fraction: float = 0.75,
                  ufov_fraction: float = 1.0, rebin_factor: int | None = None,
                  edge_rule: bool = True, frame: int | None = None,
                  pixel_spacing_mm: float | None = None) -> list[Analysis]:
    """NEMA NU 1 integral and differential uniformity of each flood frame (detector)."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "NEMA uniformity")
    out = []

    def flood(i: int) -> tuple[list[str], Any]:
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "uniformity")
        return warnings, nema_uniformity(image, px, cfov_fraction=cfov_fraction,
                                         ufov_fraction=ufov_fraction,
                                         rebin_factor=rebin_factor, edge_rule=edge_rule)

    tried = try_each_slice(_frames(series, frame), flood, catch=(ValueError,),
                           stop_at_first=True)
    if tried.failed:
        bad = tried.failed[0]
        raise PhantomNotFoundError(f"No usable flood field in image {bad.index + 1}: "
                                   f"{bad.message}.",
                                   hint="Use a flood image covering the detector.")
    for i, (warnings, r) in tried.done:
        warnings += list(r.warnings)
        rois = [_mask_outline(r.ufov_mask, r, "UFOV", i), _mask_outline(r.cfov_mask, r, "CFOV", i)]
        for name, rc in (("UFOV max", r.max_rc_ufov), ("UFOV min", r.min_rc_ufov),
                         ("CFOV max", r.max_rc_cfov), ("CFOV min", r.min_rc_cfov)):
            rois.append(Roi("point", (r.to_native_rc(rc),), label=name, frame=i))
        out.append(Analysis(
            measurements={
                "integral_uniformity_ufov": r.integral_uniformity_ufov,
                "integral_uniformity_cfov": r.integral_uniformity_cfov,
                "differential_uniformity_ufov": r.differential_uniformity_ufov,
                "differential_uniformity_cfov": r.differential_uniformity_cfov,
                "differential_uniformity_ufov_x": r.differential_uniformity_ufov_x,
                "differential_uniformity_ufov_y": r.differential_uniformity_ufov_y,
                "differential_uniformity_cfov_x": r.differential_uniformity_cfov_x,
                "differential_uniformity_cfov_y": r.differential_uniformity_cfov_y,
                "rebinned_pixel_mm": r.rebinned_pixel_mm,
                "mean_counts_per_pixel": r.mean_counts_per_pixel,
                "total_counts": r.total_counts,
            },
            rois=tuple(rois),
            maps=(ImageMap("rebinned smoothed flood", np.where(r.ufov_mask, r.smoothed, 0.0),
                           "NEMA-rebinned and 9-point smoothed counts; zero outside the UFOV",
                           "counts", r.rebinned_pixel_mm),),
            warnings=tuple(warnings),
            label=_label(series, i),
            frames=[i],
            extra={"rebin_factor": r.rebin_factor, "ufov_pixels": int(r.ufov_mask.sum()),
                   "cfov_pixels": int(r.cfov_mask.sum()), "method": r.method},
        ))
    return out


def _mask_outline(mask: np.ndarray, r, label: str, frame: int) -> Roi:
    """Polygon around a rebinned-grid field mask, in native pixel coordinates.

    The fields (rectangles, circles, octagons, and their 75 % CFOV) are convex along rows, so
    the outline is the first and last pixel edge of every row: left side downwards, right side
    upwards. Vectorised; octagonal fields look octagonal.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return Roi("polygon", (), label=label, frame=frame, role="field")
    sub = mask[rows]
    first = sub.argmax(axis=1) - 0.5
    last = sub.shape[1] - 1 - sub[:, ::-1].argmax(axis=1) + 0.5
    rr = np.concatenate([rows - 0.5, rows + 0.5])
    order = np.argsort(np.concatenate([np.arange(rows.size), np.arange(rows.size)]),
                       kind="stable")
    left_r, left_c = rr[order], np.repeat(first, 2)
    right_r, right_c = left_r[::-1], np.repeat(last, 2)[::-1]
    pr = np.concatenate([left_r, right_r])
    pc = np.concatenate([left_c, right_c])
    f = r.rebin_factor
    nr = r.offset_px[0] + (pr + 0.5) * f - 0.5
    nc = r.offset_px[1] + (pc + 0.5) * f - 0.5
    return Roi("polygon", tuple(zip(nr.tolist(), nc.tolist())), label=label, frame=frame,
               role="field")


# ---------------------------------------------------------------------------------------------
# nm.resolution
# ---------------------------------------------------------------------------------------------
def nm_resolution(series: ImageSeries, *, line_spacing_mm: float | None = None,
                  band_mm: float = 30.0, half_width_mm: float = 15.0, method: str = "auto",
                  edge_smoothing_mm: float | None = None, frame: int | None = None,
                  pixel_spacing_mm: float | None = None) -> list[Analysis]:
    """FWHM/FWTM in X and Y from line sources or a four-bar phantom (NEMA NU 1 §2.1), or from
    the straight edges of a lead edge/checkerboard image (edge method)."""
    if method not in ("auto", "line", "edge"):
        raise ParameterError(f"method must be auto, line or edge, got {method!r}.")
    series, px = with_pixel_size(series, pixel_spacing_mm, "Spatial resolution")
    out = []
    for i in _frames(series, frame):
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "spatial resolution")
        res = {"x": None, "y": None}
        if method in ("auto", "line"):
            for axis, arr in (("x", image), ("y", image.T)):
                res[axis] = lines_in_direction(arr, px, band_mm=band_mm,
                                               half_width_mm=half_width_mm,
                                               spacing_mm=line_spacing_mm)
        if res["x"] is None and res["y"] is None and method in ("auto", "edge"):
            out.append(_edge_analysis(series, i, image, px, half_width_mm, edge_smoothing_mm,
                                      warnings))
            continue
        if res["x"] is None and res["y"] is None:
            raise PhantomNotFoundError(
                f"No line source found in image {i + 1}.",
                hint="Use an image of one or two line sources (or a four-bar phantom), lines "
                     "parallel to the image axes within about 15°.")
        meas: dict[str, float | None] = {}
        rois: list[Roi] = []
        curves: list[Curve] = []
        for axis, d in res.items():
            if d is None:
                other = "horizontal" if axis == "y" else "vertical"
                warnings.append(f"No {other} line in the image: the {axis.upper()} resolution "
                                "could not be measured.")
                meas.update({f"fwhm_{axis}": None, f"fwtm_{axis}": None,
                             f"pixel_size_measured_mm_{axis}": None})
                continue
            meas[f"fwhm_{axis}"] = d.fwhm_mm
            meas[f"fwtm_{axis}"] = d.fwtm_mm
            meas[f"pixel_size_measured_mm_{axis}"] = d.pixel_size_measured_mm
            if len(d.lines) == 2 and not line_spacing_mm:
                warnings.append("Two parallel lines found; give line_spacing_mm to measure the "
                                "pixel size.")
            for k, ln in enumerate(d.lines, start=1):
                a0, a1 = ln.along_range
                p0 = (a0, ln.intercept + ln.slope * a0)
                p1 = (a1, ln.intercept + ln.slope * a1)
                if axis == "y":  # transposed: (along=col, across=row) → (row, col)
                    p0, p1 = (p0[1], p0[0]), (p1[1], p1[0])
                rois.append(Roi("line", (p0, p1), label=f"{axis.upper()} line {k}: FWHM "
                                f"{ln.fwhm_px * px:.2f} mm, tilt {ln.angle_deg:.1f}°",
                                frame=i, role="profile"))
                if abs(ln.angle_deg) > 15:
                    warnings.append(f"{axis.upper()} line {k} is tilted {ln.angle_deg:.0f}°: "
                                    "NEMA expects lines parallel to the axes.")
        out.append(Analysis(measurements=meas, rois=tuple(rois), curves=tuple(curves),
                            warnings=tuple(warnings), label=_label(series, i), frames=[i],
                            extra={"bands_mm": band_mm, "method": "line"}))
    return out


def _edge_analysis(series: ImageSeries, i: int, image: np.ndarray, px: float,
                   half_width_mm: float, smoothing_mm: float | None, warnings: list[str]
                   ) -> Analysis:
    """nm.resolution by the edge method for one frame (see imgqa.analysis.edge_spread)."""
    res: dict[str, EdgeSpread | None] = edge_resolution(
        image, px, half_width_mm=half_width_mm,
        smoothing_px=None if smoothing_mm is None else smoothing_mm / px)
    if res["x"] is None and res["y"] is None:
        raise PhantomNotFoundError(
            f"No line source and no straight edge found in image {i + 1}.",
            hint="Use an image of one or two line sources, a four-bar phantom, or a straight "
                 "lead edge (tilted 2–10° from the rows or columns) on a flood.")
    meas: dict[str, float | None] = {}
    rois: list[Roi] = []
    curves: list[Curve] = []
    extra: dict = {"method": "edge", "band_half_width_mm": half_width_mm}
    for axis, d in res.items():
        if d is None:
            other = "vertical" if axis == "x" else "horizontal"
            warnings.append(f"No {other} edge in the image: the {axis.upper()} resolution "
                            "could not be measured.")
            meas.update({f"fwhm_{axis}": None, f"fwtm_{axis}": None,
                         f"pixel_size_measured_mm_{axis}": None})
            continue
        meas[f"fwhm_{axis}"] = d.fwhm_mm
        meas[f"fwtm_{axis}"] = d.fwtm_mm
        meas[f"pixel_size_measured_mm_{axis}"] = None
        warnings.extend(f"{axis.upper()}: {w}" for w in d.warnings)
        for k, e in enumerate(d.edges, start=1):
            rois.append(Roi("line", (e.start_rc, e.end_rc), label=f"{axis.upper()} edge {k}: "
                            f"tilt {e.angle_deg:.1f}°, transmission {e.low / e.high:.2f}",
                            frame=i, role="edge"))
        curves.append(Curve(f"ESF {axis.upper()}", d.esf_mm, d.esf, "distance from edge", "mm",
                            "normalised counts", ""))
        curves.append(Curve(f"LSF {axis.upper()}", d.lsf_mm, d.lsf, "distance from edge", "mm",
                            "LSF", "1/mm"))
        extra[f"edges_{axis}"] = len(d.edges)
        extra[f"smoothing_mm_{axis}"] = d.smoothing_mm
        extra[f"lsf_noise_ratio_{axis}"] = d.noise_ratio
        extra[f"oversampling_{axis}"] = d.oversampling
    return Analysis(measurements=meas, rois=tuple(rois), curves=tuple(curves),
                    warnings=tuple(warnings), label=_label(series, i), frames=[i], extra=extra)


# ---------------------------------------------------------------------------------------------
# nm.bar_phantom
# ---------------------------------------------------------------------------------------------
def _parse_widths(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in str(text).replace(";", ",").split(",") if v.strip())
    except ValueError:
        raise ParameterError(f"bar_widths_mm must be four numbers separated by commas, got "
                             f"{text!r}.") from None
    if len(vals) != 4 or any(v <= 0 for v in vals):
        raise ParameterError(f"bar_widths_mm needs four positive widths (quadrants 1–4), got "
                             f"{text!r}.")
    return vals


def nm_bar_phantom(series: ImageSeries, *, bar_widths_mm: str = "2.0,2.5,3.0,3.5",
                   bar_transmission: float = 0.0, frame: int | None = None,
                   pixel_spacing_mm: float | None = None) -> list[Analysis]:
    """Quadrant bar phantom: modulation and Droege–Morin MTF per quadrant."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "Bar phantom analysis")
    widths = _parse_widths(bar_widths_mm)
    m0 = (1.0 - bar_transmission) / (1.0 + bar_transmission)
    out = []

    def bars(i: int) -> tuple[list[str], Any]:
        image = series.pixels(i)
        warnings = _check_counts(image, series, i, "bar phantom contrast")
        return warnings, quadrant_bar_analysis(image, px, bar_widths_mm=widths, m0_fraction=m0)

    tried = try_each_slice(_frames(series, frame), bars, catch=(ValueError,),
                           stop_at_first=True)
    if tried.failed:
        bad = tried.failed[0]
        raise PhantomNotFoundError(f"No quadrant bar pattern in image {bad.index + 1}: "
                                   f"{bad.message}.")
    for i, (warnings, r) in tried.done:
        warnings += list(r.warnings)
        meas: dict[str, float | None] = {}
        rois = []
        for q in r.quadrants:
            meas[f"mtf_q{q.index}"] = q.mtf
            meas[f"modulation_q{q.index}"] = q.modulation
            meas[f"bar_width_measured_mm_q{q.index}"] = q.bar_width_measured_mm
            if q.bar_width_measured_mm and q.bar_width_mm and \
                    abs(q.bar_width_measured_mm / q.bar_width_mm - 1) > 0.25:
                warnings.append(f"Quadrant {q.index}: bars measure {q.bar_width_measured_mm:.2f} "
                                f"mm but {q.bar_width_mm:g} mm was given; check bar_widths_mm "
                                "or the phantom orientation.")
            r0, c0, r1, c1 = q.box
            rois.append(Roi("rect", ((r0, c0), (r1 - 1, c1 - 1)),
                            label=f"Q{q.index} {q.bar_width_mm:g} mm: MTF {q.mtf:.2f}", frame=i))
        out.append(Analysis(measurements=meas, rois=tuple(rois), warnings=tuple(warnings),
                            label=_label(series, i), frames=[i],
                            extra={"centre_rc": list(r.centre_rc),
                                   "orientations": [q.orientation for q in r.quadrants]}))
    return out


# ---------------------------------------------------------------------------------------------
# Declarations
# ---------------------------------------------------------------------------------------------
_FRAME = ParameterSpec("frame", int, None, "", "Analyse only this frame/detector (0-based); "
                       "default: every frame.", minimum=0)
_SPACING = ParameterSpec("pixel_spacing_mm", float, None, "mm",
                         "Pixel size to use when the images have none.", minimum=1e-3)

register(Protocol(
    name="nm.uniformity",
    key_measurement="integral_uniformity_ufov",
    version="1",
    title="Gamma camera flood uniformity (NEMA)",
    description="Integral and differential uniformity of a flood in the UFOV and CFOV after "
                "NEMA rebinning to ~6.4 mm and 9-point smoothing, one result per detector.",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("integral_uniformity_ufov", "%", "NEMA integral uniformity, UFOV.", False,
                        label="Integral uniformity, UFOV"),
        MeasurementSpec("integral_uniformity_cfov", "%", "NEMA integral uniformity, CFOV.", False,
                        label="Integral uniformity, CFOV"),
        MeasurementSpec("differential_uniformity_ufov", "%",
                        "NEMA differential uniformity, UFOV (larger of X and Y).", False,
                        label="Differential uniformity, UFOV"),
        MeasurementSpec("differential_uniformity_cfov", "%",
                        "NEMA differential uniformity, CFOV (larger of X and Y).", False,
                        label="Differential uniformity, CFOV"),
        MeasurementSpec("differential_uniformity_ufov_x", "%", "Differential uniformity along "
                        "rows (X), UFOV.", False,
                        label="Differential uniformity, UFOV, X"),
        MeasurementSpec("differential_uniformity_ufov_y", "%", "Differential uniformity along "
                        "columns (Y), UFOV.", False,
                        label="Differential uniformity, UFOV, Y"),
        MeasurementSpec("differential_uniformity_cfov_x", "%", "Differential uniformity along "
                        "rows (X), CFOV.", False,
                        label="Differential uniformity, CFOV, X"),
        MeasurementSpec("differential_uniformity_cfov_y", "%", "Differential uniformity along "
                        "columns (Y), CFOV.", False,
                        label="Differential uniformity, CFOV, Y"),
        MeasurementSpec("rebinned_pixel_mm", "mm", "Analysis pixel size after summing.",
                        label="Analysis pixel size"),
        MeasurementSpec("mean_counts_per_pixel", "counts",
                        "Mean counts per analysis pixel in the CFOV (NEMA asks ≥ 10 000).", True,
                        label="Mean counts per pixel, CFOV"),
        MeasurementSpec("total_counts", "counts", "Counts in the whole image.",
                        label="Total counts"),
    ),
    parameters=(
        ParameterSpec("cfov_fraction", float, 0.75, "", "CFOV linear size as a fraction of the "
                      "UFOV (NEMA 0.75).", minimum=0.1, maximum=1.0),
        ParameterSpec("ufov_fraction", float, 1.0, "", "UFOV linear size as a fraction of the "
                      "detected field (1.0 = whole field; pylinac uses 0.95).", minimum=0.5,
                      maximum=1.0),
        ParameterSpec("rebin_factor", int, None, "", "Force the summing factor (default: "
                      "the one bringing pixels closest to 6.4 mm within 4.48–8.32 mm).",
                      minimum=1, maximum=64),
        ParameterSpec("edge_rule", bool, True, "", "Apply the NEMA edge-pixel rule."),
        _FRAME, _SPACING,
    ),
    function=nm_uniformity,
    inputs="one planar flood image (intrinsic or extrinsic); multi-detector files allowed",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_detector(("UNIF", "FLOOD", "UFOV", "HOMOG", "INTRINSIC", "EXTRINSIC"),
                             0.1, 0.9, sweeps=False),
    standard="NEMA NU 1-2018 §2.4",
))

register(Protocol(
    name="nm.resolution",
    key_measurement="fwhm_x",
    version="1",
    title="Gamma camera spatial resolution (line sources, four-bar, edge)",
    description="FWHM and FWTM in X and Y from line sources or a four-bar phantom, by NEMA "
                "interpolated profile analysis in ~30 mm bands; pixel size from a known "
                "line spacing. Images without lines are analysed by the edge method "
                "(oversampled ESF of straight lead edges → LSF).",
    modalities=("NM",),
    measurements=(
        MeasurementSpec("fwhm_x", "mm", "FWHM across vertical lines or edges (X).", False,
                        label="FWHM, X"),
        MeasurementSpec("fwhm_y", "mm", "FWHM across horizontal lines or edges (Y).", False,
                        label="FWHM, Y"),
        MeasurementSpec("fwtm_x", "mm", "FWTM across vertical lines or edges (X).", False,
                        label="FWTM, X"),
        MeasurementSpec("fwtm_y", "mm", "FWTM across horizontal lines or edges (Y).", False,
                        label="FWTM, Y"),
        MeasurementSpec("pixel_size_measured_mm_x", "mm",
                        "Pixel size in X from the known spacing of two vertical lines.",
                        label="Measured pixel size, X"),
        MeasurementSpec("pixel_size_measured_mm_y", "mm",
                        "Pixel size in Y from the known spacing of two horizontal lines.",
                        label="Measured pixel size, Y"),
    ),
    parameters=(
        ParameterSpec("line_spacing_mm", float, None, "mm", "True distance between two "
                      "parallel lines/bars (for the measured pixel size).", minimum=1.0),
        ParameterSpec("band_mm", float, 30.0, "mm", "Length of line summed per profile "
                      "(NEMA ~30 mm).", minimum=2.0),
        ParameterSpec("half_width_mm", float, 15.0, "mm", "Half-length of each profile across "
                      "the line or edge (must exceed the FWTM).", minimum=2.0),
        ParameterSpec("method", str, "auto", "", "line (line sources, four-bar), edge (lead "
                      "edges) or auto (lines if any, else edges).",
                      choices=("auto", "line", "edge")),
        ParameterSpec("edge_smoothing_mm", float, None, "mm", "Edge method: σ of the LSF "
                      "smoothing (removed in quadrature); default: the least that brings the "
                      "LSF noise to 1 % of its peak (¼–1 pixel).", minimum=0.0),
        _FRAME, _SPACING,
    ),
    function=nm_resolution,
    inputs="one planar image of one or two line sources, a four-bar phantom, or lead edges",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_detector(("RESOL", "RES_", "LINE", "LINJE", "FWHM", "FOUR", "4BAR",
                              "SPATIAL", "EDGE", "KANT"),
                             # above nm.uniformity's 0.9: "Intrinsic resolution" is resolution;
                             # without a keyword, the fall-back after nm.uniformity (0.1)
                             0.05, 0.92),
    standard="NEMA NU 1-2018 §2.1; edge method: Samei, Flynn & Reimann, Med Phys 25:102 (1998)",
))

_QUADRANT_MEAS = tuple(
    spec for q in range(1, 5) for spec in (
        MeasurementSpec(f"mtf_q{q}", "", f"MTF at the bar fundamental, quadrant {q} "
                        "(1 top-left, 2 top-right, 3 bottom-left, 4 bottom-right).", True,
                        label=f"MTF, quadrant {q}"),
        MeasurementSpec(f"modulation_q{q}", "", f"Noise-corrected SD / mean, quadrant {q}.",
                        True,
                        label=f"Modulation, quadrant {q}"),
        MeasurementSpec(f"bar_width_measured_mm_q{q}", "mm",
                        f"Bar width from the image spectrum, quadrant {q}.",
                        label=f"Measured bar width, quadrant {q}"),
    ))

register(Protocol(
    name="nm.bar_phantom",
    key_measurement="mtf_q1",
    version="1",
    title="Gamma camera quadrant bar phantom (MTF per quadrant)",
    description="Modulation and MTF at each quadrant's bar frequency from the count "
                "variance (Droege–Morin), with the bar width measured from the spectrum.",
    modalities=("NM",),
    measurements=_QUADRANT_MEAS,
    parameters=(
        ParameterSpec("bar_widths_mm", str, "2.0,2.5,3.0,3.5", "mm", "Bar widths of quadrants "
                      "1–4 (top-left, top-right, bottom-left, bottom-right), comma separated."),
        ParameterSpec("bar_transmission", float, 0.0, "", "Fraction of photons the bars let "
                      "through (0 = opaque lead bars).", minimum=0.0, maximum=0.9),
        _FRAME, _SPACING,
    ),
    function=nm_bar_phantom,
    inputs="one planar image of a quadrant bar phantom",
    max_images=_MAX_PLANAR_FRAMES,
    detect=_keyword_detector(("QUADRANT", "BARFANTOM", "BAR PHANTOM", "BARPHANTOM",
                              "BAR_PHANTOM", "PO-2"), 0.04, 0.85),
    standard="Droege & Morin, Med Phys 9:758 (1982); NEMA NU 1 (bar phantoms)",
))
