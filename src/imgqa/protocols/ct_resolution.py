"""CT spatial resolution protocols: ``ct.mtf_wire`` (wire or bead MTF) and ``ct.ttf``
(task transfer function of a rod insert, AAPM TG-233).

Owns the two protocols' functions, detectors and declarations; the kernels are in
`imgqa.analysis.radial_mtf`. Pixels are in HU (`ImageSeries.pixels` applies Rescale
Slope/Intercept). The other CT protocols are in `imgqa.protocols.ct` and `.catphan`.
"""


from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np

from imgqa.errors import ImgqaError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._ct_common import (
    _is_localizer,
    _none_if_nan,
    _require_axial_ct,
)
from imgqa.protocols._lazy import lazy_functions
from imgqa.protocols._slices import PerSlice, try_each_slice
from imgqa.protocols._slices import slice_indices as _slice_indices
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
    from imgqa.analysis.radial_mtf import EdgeTtfResult, MtfCurve, WireMtfResult

# Kernels that import SciPy are bound lazily so that the declarations below load without it
# (`imgqa protocols`, `history`… start in a fraction of a second).
(average_curves, circular_edge_ttf, find_rod, refine_rod_centre, rod_at,
 wire_mtf) = lazy_functions("imgqa.analysis.radial_mtf", "average_curves", "circular_edge_ttf",
                            "find_rod", "refine_rod_centre", "rod_at", "wire_mtf")

__all__ = ["ct_mtf_wire", "ct_ttf"]

_WIRE_WORDS = re.compile(r"wire|bead|mtf|tråd|trad|draht|fil\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------------
# ct.mtf_wire
# ---------------------------------------------------------------------------------------------
def _mtf_curve(name: str, curve: MtfCurve) -> Curve:
    return Curve(name, curve.frequency, curve.mtf, "spatial frequency", "lp/mm", "MTF", "")


def ct_mtf_wire(series: ImageSeries, *, roi_radius_mm: float = 4.0, wire_diameter_mm: float = 0.0,
                slice_index: int | None = None, wire_row: float | None = None,
                wire_col: float | None = None, pixel_spacing_mm: float | None = None
                ) -> Analysis:
    """MTF from a wire or bead: 2-D PSF → 2-D FFT → radial MTF, plus x and y (line integration).

    Each slice gives an MTF (wire found automatically unless `wire_row`/`wire_col` are given);
    the reported curves are their mean.
    """
    _, px = with_pixel_size(series, pixel_spacing_mm, "ct.mtf_wire")
    _require_axial_ct(series, "a wire or bead phantom")
    radius = max(roi_radius_mm, 8.0 * px)
    given = (wire_row, wire_col) if wire_row is not None and wire_col is not None else None
    tried: PerSlice[WireMtfResult] = try_each_slice(
        _slice_indices(series, slice_index),
        lambda i: wire_mtf(series.pixels(i), px, wire_rc=given, roi_radius_mm=radius,
                           wire_diameter_mm=wire_diameter_mm))
    results = tried.done
    if not results:
        raise PhantomNotFoundError(
            "ct.mtf_wire expects axial images of a thin wire (or bead) in a uniform phantom; "
            f"none was usable ({tried.reasons(3)}).",
            hint="Choose the wire/bead series, reconstructed with a small field of view.")
    radial = average_curves([r.radial for _, r in results])
    cx = average_curves([r.x for _, r in results])
    cy = average_curves([r.y for _, r in results])
    warnings = tried.skipped()
    if not np.isfinite(radial.mtf10):
        warnings.append("The MTF does not fall to 10 % below the Nyquist frequency: mtf10 is "
                        "not reported (use a smaller pixel size / field of view).")
    positions = np.array([r.wire_rc for _, r in results])
    if len(results) > 1 and np.ptp(positions, axis=0).max() * px > 5.0:
        warnings.append("The wire position moves by more than 5 mm between slices: check that "
                        "the wire is perpendicular to the slice.")
    rois = []
    for i, r in results:
        rois.append(Roi("circle", (r.wire_rc,), label="wire PSF", frame=i,
                        radius=r.roi_radius_px))
        rois.append(Roi("circle", (r.wire_rc,), label="background ring", frame=i,
                        radius=1.5 * r.roi_radius_px, role="background"))
    return Analysis(
        measurements={"mtf50": _none_if_nan(radial.mtf50), "mtf10": _none_if_nan(radial.mtf10),
                      "mtf50_x": _none_if_nan(cx.mtf50), "mtf10_x": _none_if_nan(cx.mtf10),
                      "mtf50_y": _none_if_nan(cy.mtf50), "mtf10_y": _none_if_nan(cy.mtf10)},
        rois=rois,
        curves=[_mtf_curve("MTF (radial)", radial), _mtf_curve("MTF x", cx),
                _mtf_curve("MTF y", cy)],
        maps=[ImageMap("PSF", results[0][1].psf, "background-subtracted wire PSF", "HU", px)],
        warnings=warnings,
        extra={"slices_used": [i for i, _ in results],
               "wire_rc": [list(r.wire_rc) for _, r in results],
               "background_hu": [r.background_hu for _, r in results],
               "roi_radius_mm": radius,
               "per_slice_mtf50": [_none_if_nan(r.radial.mtf50) for _, r in results],
               "summary": "MTF curves averaged over the slices used"},
        frames=[i for i, _ in results],
    )


def _detect_wire(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "CT" or _is_localizer(series):
        return 0.0, "a localizer (topogram/scout), not an axial image"
    text = series.header.description_text
    words = _WIRE_WORDS.search(text)
    score = 0.4 if words else 0.0
    named = f"the header says {words.group(0)!r}; " if words else ""
    sp = series.pixel_spacing_mm
    if sp is None:
        return score * 0.5, named + "no pixel spacing, so the image was not checked"
    try:  # one slice: ~20 ms
        wire_mtf(series.pixels(len(series) // 2), float(sp[0]),
                 roi_radius_mm=max(4.0, 8.0 * float(sp[0])))
    except ImgqaError:
        return 0.0, named + "no isolated wire or bead found in the middle slice"
    return score + 0.4, named + "an isolated wire or bead in the middle slice"


_MTF_MEASUREMENTS = (
    MeasurementSpec("mtf50", "lp/mm", "Frequency where the radial MTF falls to 50 %.",
                    higher_is_better=True,
                    label="MTF 50 % frequency"),
    MeasurementSpec("mtf10", "lp/mm", "Frequency where the radial MTF falls to 10 %.",
                    higher_is_better=True,
                    label="MTF 10 % frequency"),
)

register(Protocol(
    name="ct.mtf_wire",
    key_measurement="mtf50",
    version="1",
    title="CT MTF from a wire or bead",
    description="Point-spread function of a thin wire (or bead), background plane removed; "
                "2-D FFT → radial MTF, and the x/y MTFs from line integration. f50 and f10.",
    modalities=("CT",),
    measurements=_MTF_MEASUREMENTS + (
        MeasurementSpec("mtf50_x", "lp/mm", "50 % MTF along x (columns), from the LSF "
                        "integrated over y.", higher_is_better=True,
                        label="MTF 50 % frequency, x"),
        MeasurementSpec("mtf10_x", "lp/mm", "10 % MTF along x (columns).",
                        higher_is_better=True,
                        label="MTF 10 % frequency, x"),
        MeasurementSpec("mtf50_y", "lp/mm", "50 % MTF along y (rows), from the LSF "
                        "integrated over x.", higher_is_better=True,
                        label="MTF 50 % frequency, y"),
        MeasurementSpec("mtf10_y", "lp/mm", "10 % MTF along y (rows).", higher_is_better=True,
                        label="MTF 10 % frequency, y"),
    ),
    parameters=(
        ParameterSpec("roi_radius_mm", float, 4.0, "mm",
                      "PSF kept within this radius; background fitted from 1 to 1.5× it.",
                      minimum=0.2),
        ParameterSpec("wire_diameter_mm", float, 0.0, "mm",
                      "Wire/bead diameter to correct for (0: no correction).", minimum=0.0),
        ParameterSpec("slice_index", int, None, "", "Analyse only this image.", minimum=0),
        ParameterSpec("wire_row", float, None, "px", "Wire row (default: found automatically)."),
        ParameterSpec("wire_col", float, None, "px",
                      "Wire column (default: found automatically)."),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=ct_mtf_wire,
    inputs="axial slices of a thin wire or small bead perpendicular to the slice",
    detect=_detect_wire,
    standard="IEC 61223-3-5:2019; AAPM Report 233 (2019)",
))


# ---------------------------------------------------------------------------------------------
# ct.ttf
# ---------------------------------------------------------------------------------------------
def ct_ttf(series: ImageSeries, *, rod_row: float | None = None, rod_col: float | None = None,
           polarity: str = "any", margin_mm: float = 5.0, bin_fraction: float = 0.1,
           slice_index: int | None = None, pixel_spacing_mm: float | None = None) -> Analysis:
    """Circular-edge TTF of a rod insert (AAPM TG-233).

    The rod is the highest-contrast round insert (of the chosen `polarity`) unless
    `rod_row`/`rod_col` point at one; its centre is refined to sub-pixel precision on every
    slice and the TTFs of the slices are averaged. Slice default: the middle image.
    """
    _, px = with_pixel_size(series, pixel_spacing_mm, "ct.ttf")
    _require_axial_ct(series, "a phantom with a rod insert")
    idx = [len(series) // 2] if slice_index is None else _slice_indices(series, slice_index)

    def slice_ttf(i: int) -> EdgeTtfResult:
        image = series.pixels(i)
        if rod_row is not None and rod_col is not None:
            rod = rod_at(image, px, (rod_row, rod_col))
        else:
            rod = find_rod(image, px, polarity=polarity)
        centre = refine_rod_centre(image, rod.centre_rc, rod.radius_px)
        return circular_edge_ttf(image, px, centre, rod.radius_px, margin_mm=margin_mm,
                                 bin_fraction=bin_fraction)

    tried = try_each_slice(idx, slice_ttf)
    results = tried.done
    if not results:
        raise PhantomNotFoundError(
            "ct.ttf expects an axial slice through a round rod insert of a phantom (e.g. a "
            f"Catphan CTP404 or ACR CT module 1 insert); none was found ({tried.reasons()}).",
            hint="Give rod_row and rod_col (pixels) at the centre of the insert to use.")
    ttf = average_curves([r.ttf for _, r in results])
    contrast = float(np.mean([r.contrast_hu for _, r in results]))
    warnings = tried.skipped()
    if not np.isfinite(ttf.mtf10):
        warnings.append("The TTF does not fall to 10 % below the Nyquist frequency: mtf10 is "
                        "not reported.")
    if abs(contrast) < 100.0:
        warnings.append(f"The insert contrast is low ({contrast:.0f} HU): the TTF is noisy; "
                        "TG-233 recommends averaging several slices or scans.")
    rois = []
    for i, r in results:
        rad = r.rod_radius_px
        marg = margin_mm / px
        rois.append(Roi("circle", (r.centre_rc,), label="rod edge", frame=i, radius=rad,
                        role="edge"))
        rois.append(Roi("circle", (r.centre_rc,), label="ESF outer limit", frame=i,
                        radius=rad + marg, role="background"))
        if rad - marg > 1:
            rois.append(Roi("circle", (r.centre_rc,), label="ESF inner limit", frame=i,
                            radius=rad - marg, role="background"))
    first = results[0][1]
    return Analysis(
        measurements={"mtf50": _none_if_nan(ttf.mtf50), "mtf10": _none_if_nan(ttf.mtf10),
                      "contrast_hu": contrast},
        rois=rois,
        curves=[_mtf_curve("TTF", ttf),
                Curve("radial ESF", first.esf_r_mm, first.esf, "distance from rod centre",
                      "mm", "CT number", "HU")],
        warnings=warnings,
        extra={"slices_used": [i for i, _ in results],
               "rod_centre_rc": [list(r.centre_rc) for _, r in results],
               "rod_diameter_mm": [2.0 * r.rod_radius_px * px for _, r in results],
               "bin_width_mm": bin_fraction * px,
               "summary": "TTF curves averaged over the slices used"},
        frames=[i for i, _ in results],
    )


register(Protocol(
    name="ct.ttf",
    key_measurement="mtf50",
    version="1",
    title="CT task transfer function (circular edge)",
    description="AAPM TG-233 TTF of a rod insert: radial ESF in sub-pixel bins around the "
                "rod centre → LSF → |FFT|; f50, f10 and the insert contrast.",
    modalities=("CT",),
    measurements=_MTF_MEASUREMENTS[:1] + (
        MeasurementSpec("mtf10", "lp/mm", "Frequency where the TTF falls to 10 %.",
                        higher_is_better=True,
                        label="MTF 10 % frequency"),
        MeasurementSpec("contrast_hu", "HU", "Rod insert mean − background mean.",
                        label="Insert contrast"),
    ),
    parameters=(
        ParameterSpec("rod_row", float, None, "px", "Row of the rod centre (default: found)."),
        ParameterSpec("rod_col", float, None, "px", "Column of the rod centre (default: found)."),
        ParameterSpec("polarity", str, "any", "",
                      "Which insert to find: highest |contrast| (any), densest (positive) or "
                      "least dense (negative).", choices=("any", "positive", "negative")),
        ParameterSpec("margin_mm", float, 5.0, "mm",
                      "The ESF spans the rod radius ± this distance.", minimum=0.5),
        ParameterSpec("bin_fraction", float, 0.1, "",
                      "ESF bin width as a fraction of the pixel size.", minimum=0.01,
                      maximum=1.0),
        ParameterSpec("slice_index", int, None, "", "Image to analyse (default: the middle).",
                      minimum=0),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size to use when the images have none.", minimum=1e-4),
    ),
    function=ct_ttf,
    inputs="an axial slice through a rod insert (Catphan CTP404, ACR CT module 1...)",
    standard="AAPM Report 233 (2019), §4 (task transfer function)",
))
