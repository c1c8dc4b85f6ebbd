"""X-ray detector QC protocols (DX, CR, MG, IO): edge MTF, NPS, TG-150 uniformity, STP.

* ``xray.mtf_edge`` — IEC 62220-1-1 slanted-edge presampled MTF.
* ``xray.nps`` — 2-D noise power spectrum (ICRU 87 / IEC 62220-1-1), radial and axis profiles,
  normalised NPS when the signal-to-kerma response is given.
* ``xray.uniformity`` — AAPM TG-150 ROI grid: global and local non-uniformity of signal, noise
  and SNR.
* ``xray.stp`` — several flat fields: signal transfer property and noise-versus-dose fit, in
  `imgqa.protocols.xray_stp` (it uses this module's spacing and image checks).

Kernels live in `imgqa.analysis` (edge_mtf, nps, tg150, signal_transfer); this module reads the
series (spacing, header doses), checks the input and packs what the GUI draws.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from imgqa.analysis import nps as npsk  # numpy only: its DETRENDS are declared below
from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions, lazy_module
from imgqa.protocols.base import (
    Analysis,
    Curve,
    ImageMap,
    MeasurementSpec,
    ParameterSpec,
    Protocol,
    Roi,
    register,
)

# The kernels import SciPy or scikit-image: bound lazily so that the declarations below load
# without them.
em = lazy_module("imgqa.analysis.edge_mtf")
field_mask, tg150_uniformity = lazy_functions("imgqa.analysis.tg150", "field_mask",
                                              "tg150_uniformity")

__all__ = ["mtf_edge", "xray_nps", "xray_uniformity", "detector_spacing"]

MODALITIES = ("DX", "CR", "MG", "IO")
# fixed frequencies at which the MTF / NPS are reported (lp/mm) and their name stems
REPORT_FREQUENCIES = ((0.5, "0_5"), (1.0, "1"), (2.0, "2"), (3.0, "3"))
# share of pixels at the image maximum above which an image counts as (partly) saturated
_SATURATED_WARN = 0.005
_SATURATED_FAIL = 0.5


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------
def detector_spacing(series: ImageSeries, pixel_spacing_mm: float | None, what: str
                     ) -> tuple[tuple[float, float], str]:
    """Spacing for detector QC and where it came from.

    A user-given ``pixel_spacing_mm`` wins; then (0018,1164) Imager Pixel Spacing (the detector
    plane, what IEC 62220-1 wants); then the pixel spacing the loader chose. Without any,
    `MissingSpacingError` (its hint names the ``pixel_spacing_mm`` parameter).
    """
    if pixel_spacing_mm:
        return (float(pixel_spacing_mm), float(pixel_spacing_mm)), "user parameter pixel_spacing_mm"
    det = series.geometry.detector_spacing_mm
    if det is not None and min(det) > 0:
        return (float(det[0]), float(det[1])), "ImagerPixelSpacing (detector plane)"
    sp = series.require_spacing(what)
    return (float(sp[0]), float(sp[1])), series.geometry.spacing_source


def _check_image(img: np.ndarray, series: ImageSeries, index: int) -> list[str]:
    """Refuse empty or fully saturated images; warn on partial saturation."""
    name = series.frames[index].source.split("::")[-1].rsplit("/", 1)[-1]
    if img.size == 0 or not np.all(np.isfinite(img)):
        raise AnalysisError(f"{name}: the image is empty or holds invalid values.",
                            hint="Export the image again from the modality.")
    lo, hi = float(img.min()), float(img.max())
    if hi - lo <= 0:
        raise AnalysisError(f"{name}: every pixel has the value {hi:g}; the image is empty "
                            "(no exposure reached the detector, or it is saturated).",
                            hint="Repeat the exposure with the detector in the beam.")
    at_max = float(np.count_nonzero(img == hi)) / img.size
    warnings = []
    bits = series.header.bits_stored
    ceiling = (2 ** bits - 1) * series.frames[index].slope + series.frames[index].intercept \
        if bits else None
    if at_max > _SATURATED_FAIL:
        raise AnalysisError(f"{name}: {100 * at_max:.0f} % of the pixels sit at the maximum "
                            f"value {hi:g}: the image is saturated.",
                            hint="Repeat the exposure at a lower mAs.")
    if at_max > _SATURATED_WARN:
        at_ceiling = ceiling is not None and hi >= ceiling
        warnings.append(f"{100 * at_max:.1f} % of the pixels sit at the maximum value {hi:g}"
                        + (" (the detector's full scale): the image is partly saturated"
                           if at_ceiling else ": the image may be clipped") +
                        "; results from those areas are unreliable.")
    return warnings


def _presentation_note(series: ImageSeries, index: int) -> tuple[list[str], dict[str, str]]:
    ds = series.dataset(index)
    intent = str(ds.get("PresentationIntentType", "") or "")
    relation = str(ds.get("PixelIntensityRelationship", "") or "")
    warnings = []
    if intent.upper() == "FOR PRESENTATION" and relation.upper() not in ("LIN", ""):
        warnings.append(f"the image is 'for presentation' with a {relation} pixel-intensity "
                        "relationship: results include image processing; use 'for processing' "
                        "images for detector QC (IEC 62220-1).")
    return warnings, {"presentation_intent": intent, "pixel_intensity_relationship": relation}


def _freq_name(stem: str, f: str) -> str:
    return f"{stem}_at_{f}_lp_per_mm"


def keyword_in(series: ImageSeries, words: Sequence[str]) -> str | None:
    """The first of `words` found in the series' description text (lower case), or None.

    The text is padded with a space at each end so that a word written with spaces (``" al "``,
    ``" tor "``) also matches at the start or end of the description.
    """
    text = f" {series.header.description_text.lower()} "
    return next((w for w in words if w in text), None)


def _keyword_score(series: ImageSeries, words: Sequence[str]) -> bool:
    return keyword_in(series, words) is not None


def _image_kind(series: ImageSeries) -> str:
    """'edge', 'flat' or '' from cheap statistics of a strided copy of the first image."""
    img = np.asarray(series.pixels(0))[::8, ::8].astype(np.float64)
    if img.size < 16:
        return ""
    lo, hi = np.percentile(img, [2, 98])
    if hi - lo <= 0:
        return ""
    t = (img - lo) / (hi - lo)
    low_share, high_share = float(np.mean(t < 0.25)), float(np.mean(t > 0.75))
    if low_share > 0.15 and high_share > 0.15 and low_share + high_share > 0.8:
        return "edge"
    med = float(np.median(img))
    inner = img[img > 0.5 * med] if med > 0 else img
    if inner.size > 0.5 * img.size and med > 0 and np.std(inner) / med < 0.2:
        return "flat"
    return ""


def _label(series: ImageSeries, index: int) -> str:
    return f"image {index + 1}" if len(series) > 1 else ""


def _images(series: ImageSeries, image_index: int | None) -> list[int]:
    if image_index is None:
        return list(range(len(series)))
    if not 0 <= image_index < len(series):
        raise ParameterError(f"image_index {image_index} is outside the series "
                             f"(0–{len(series) - 1}).")
    return [image_index]


def _one_or_many(analyses: list[Analysis]) -> Analysis | list[Analysis]:
    return analyses[0] if len(analyses) == 1 else analyses


_SPACING_PARAM = ParameterSpec(
    "pixel_spacing_mm", float, None, "mm",
    "Detector pixel pitch to use when the images have no (0018,1164) Imager Pixel Spacing "
    "or (0028,0030) Pixel Spacing (overrides the header when given).", minimum=1e-4)
_INDEX_PARAM = ParameterSpec("image_index", int, None, "",
                             "Analyse only this image of the series (default: every image).",
                             minimum=0)


# ---------------------------------------------------------------------------------------------
# xray.mtf_edge
# ---------------------------------------------------------------------------------------------
def mtf_edge(series: ImageSeries, *, oversampling: int = 4, esf_half_width_px: int = 64,
             window: str = "tukey", image_index: int | None = None,
             pixel_spacing_mm: float | None = None) -> Analysis | list[Analysis]:
    """IEC 62220-1-1 slanted-edge MTF of every image (or one) of the series."""
    spacing, source = detector_spacing(series, pixel_spacing_mm, "The edge MTF")
    out = []
    for i in _images(series, image_index):
        img = series.pixels(i)
        warnings = _check_image(img, series, i)
        notes, intent = _presentation_note(series, i)
        warnings += notes
        try:
            res = em.slanted_edge_mtf(img, spacing, oversampling=oversampling,
                                      esf_half_width_px=esf_half_width_px, window=window)
        except ValueError as exc:
            raise PhantomNotFoundError(
                f"No usable edge was found in image {i + 1}: {exc}.",
                hint="The image should show one straight edge (tungsten or lead plate) tilted "
                     "1.5–5° from the rows or columns, crossing most of the field.") from None
        warnings += list(res.warnings)
        meas: dict[str, float | None] = {
            "mtf50": res.mtf50, "mtf10": res.mtf10,
            "edge_angle_deg": abs(res.edge.angle_deg),
            "nyquist_lp_per_mm": res.nyquist,
        }
        for f, stem in REPORT_FREQUENCIES:
            value = em.mtf_at(res, f)
            meas[_freq_name("mtf", stem)] = value
            if value is None:
                warnings.append(f"{f:g} lp/mm is beyond the Nyquist frequency "
                                f"({res.nyquist:.2f} lp/mm): mtf_at_{stem}_lp_per_mm not "
                                "reported.")
        for name, val in (("MTF50", res.mtf50), ("MTF10", res.mtf10)):
            if val is None:
                warnings.append(f"The MTF does not fall to {name[3:]} % within the oversampled "
                                f"band: {name} not reported.")
            elif val > res.nyquist:
                warnings.append(f"{name} = {val:.2f} lp/mm lies beyond the Nyquist frequency "
                                f"({res.nyquist:.2f} lp/mm), where the presampled MTF is "
                                "aliased in images.")
        if res.mtf.max() > 1.1:
            warnings.append("The MTF rises above 1.1: the image is edge-enhanced (processed); "
                            "use unprocessed images for detector MTF.")
        p0, p1 = res.edge.endpoints_rc()
        rois = [Roi("polygon", res.roi_rc, label="ESF band", frame=i, role="measure"),
                Roi("line", (p0, p1), label=f"edge {abs(res.edge.angle_deg):.2f}°", frame=i,
                    role="edge")]
        curves = [
            Curve("MTF", res.frequency, res.mtf, "spatial frequency", "lp/mm", "MTF", ""),
            Curve("ESF", res.esf_mm, res.esf, "distance from edge", "mm", "pixel value", ""),
            Curve("LSF", res.esf_mm, res.lsf, "distance from edge", "mm", "dESF/dx", "1/mm"),
        ]
        out.append(Analysis(
            measurements=meas, rois=rois, curves=curves, warnings=warnings,
            label=_label(series, i), frames=[i],
            extra={
                "method": "IEC 62220-1-1 slanted edge; ESF by projection onto the edge normal, "
                          "LSF by central differences, MTF=|FFT(LSF)| normalised at 0 and "
                          "divided by the binning sinc(f·h) and difference sinc(2·f·h).",
                "spacing_mm": list(spacing), "spacing_source": source,
                "edge_orientation": "vertical" if res.edge.vertical else "horizontal",
                "edge_angle_signed_deg": res.edge.angle_deg,
                "oversampling": res.oversampling, "esf_bin_mm": res.bin_mm,
                "window": res.window, "esf_half_width_px": esf_half_width_px,
                "edge_contrast": res.contrast, "plateau_noise_sd": res.noise_sd,
                "empty_esf_bins": res.empty_bins,
                "lines_used": res.edge.v_range[1] - res.edge.v_range[0] + 1,
                **intent,
            }))
    return _one_or_many(out)


def _detect_edge(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    if _keyword_score(series, ("edge", "mtf")):
        return 0.7, "the header says edge or MTF"
    if _image_kind(series) == "edge":
        return 0.4, "the first image is split into a dark and a bright half (an edge)"
    return 0.0, "no edge or MTF in the header and no edge in the first image"


register(Protocol(
    name="xray.mtf_edge",
    key_measurement="mtf50",
    version="1",
    title="Detector MTF (slanted edge)",
    description="Presampled MTF from a slanted-edge image (IEC 62220-1-1): automatic edge and "
                "angle detection, oversampled ESF, LSF, MTF to Nyquist; MTF50, MTF10 and MTF "
                "at 0.5/1/2/3 lp/mm.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("mtf50", "lp/mm", "Frequency where the MTF falls to 0.5.", True,
                        label="MTF 50 % frequency"),
        MeasurementSpec("mtf10", "lp/mm", "Frequency where the MTF falls to 0.1.", True,
                        label="MTF 10 % frequency"),
        MeasurementSpec("edge_angle_deg", "°", "Tilt of the edge from the nearest pixel axis.",
                        label="Edge angle"),
        *(MeasurementSpec(_freq_name("mtf", stem), "", f"MTF at {f:g} lp/mm.", True,
                          label=f"MTF at {f:g} lp/mm")
          for f, stem in REPORT_FREQUENCIES),
        MeasurementSpec("nyquist_lp_per_mm", "lp/mm",
                        "Nyquist frequency across the edge, 1/(2·pixel pitch).",
                        label="Nyquist frequency"),
    ),
    parameters=(
        ParameterSpec("oversampling", int, 4, "", "ESF bins per pixel pitch (N).",
                      minimum=1, maximum=20),
        ParameterSpec("esf_half_width_px", int, 64, "px",
                      "Half-width of the band across the edge used for the ESF.",
                      minimum=8, maximum=512),
        ParameterSpec("window", str, "tukey", "", "Window applied to the LSF.",
                      choices=("tukey", "hann", "none")),
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=mtf_edge,
    inputs="one slanted-edge image (edge tilted 1.5–5°)",
    detect=_detect_edge,
    standard="IEC 62220-1-1:2015 §7.3; Samei et al., Med Phys 25 (1998) 102",
))


# ---------------------------------------------------------------------------------------------
# xray.nps
# ---------------------------------------------------------------------------------------------
def _analysis_area(img: np.ndarray, spacing: tuple[float, float], border_mm: float
                   ) -> np.ndarray:
    """Exposed field minus a border, as a mask."""
    from scipy import ndimage

    mask = field_mask(img)
    if mask.all():
        by, bx = int(round(border_mm / spacing[0])), int(round(border_mm / spacing[1]))
        inner = np.zeros(img.shape, bool)
        inner[by:img.shape[0] - by, bx:img.shape[1] - bx] = True
        return inner
    return ndimage.distance_transform_edt(mask, sampling=spacing) > border_mm


def xray_nps(series: ImageSeries, *, roi_size_px: int = 128, overlap: float = 0.5,
             detrend: str = "plane", border_mm: float = 5.0, stp_slope: float | None = None,
             stp_intercept: float = 0.0, linear_image: bool = False,
             image_index: int | None = None, pixel_spacing_mm: float | None = None
             ) -> Analysis | list[Analysis]:
    """2-D NPS of a flat field, with radial and axis profiles and optional NNPS."""
    spacing, source = detector_spacing(series, pixel_spacing_mm, "The NPS")
    if stp_slope is not None and stp_slope == 0:
        raise ParameterError("stp_slope must not be zero.")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        notes, intent = _presentation_note(series, i)
        warnings += notes
        area = _analysis_area(img, spacing, border_mm)
        rois = npsk.extract_rois(img, roi_size_px, overlap=overlap, mask=area)
        if rois.shape[0] == 0:
            raise AnalysisError(
                f"No {roi_size_px}×{roi_size_px}-pixel ROI fits inside the exposed field after "
                f"a {border_mm:g} mm border.", hint="Use a smaller roi_size_px or border_mm.")
        if rois.shape[0] < 10:
            warnings.append(f"only {rois.shape[0]} ROIs: the NPS has a relative uncertainty of "
                            f"about {100 / math.sqrt(rois.shape[0]):.0f} % per frequency; "
                            "IEC 62220-1-1 asks for ≥ 4 million pixels in total.")
        res = npsk.nps_2d(rois, spacing, detrend=detrend)
        f, prof = npsk.radial_profile(res)
        fa, nx, ny = npsk.axis_profiles(res)
        mean_signal = float(rois.mean())
        meas: dict[str, float | None] = {"mean_signal": mean_signal,
                                         "noise_sd": math.sqrt(res.variance)}
        nnps_scale = None
        if stp_slope is not None:
            # linearised signal K = (S − b0)/b1; NNPS = NPS_K / K̄² = NPS_S / (S̄ − b0)²
            denom = mean_signal - stp_intercept
            nnps_scale = 1.0 / denom ** 2 if denom != 0 else None
        elif linear_image:
            nnps_scale = 1.0 / mean_signal ** 2 if mean_signal != 0 else None
        for fq, stem in REPORT_FREQUENCIES:
            val = npsk.value_at(f, prof, fq)
            meas[_freq_name("nps", stem)] = val
            meas[_freq_name("nnps", stem)] = (val * nnps_scale if val is not None and nnps_scale
                                              else None)
            if val is None:
                warnings.append(f"{fq:g} lp/mm is beyond the Nyquist frequency: "
                                f"nps_at_{stem}_lp_per_mm not reported.")
        curves = [Curve("NPS radial", f, prof, "spatial frequency", "lp/mm", "NPS",
                        "value²·mm²"),
                  Curve("NPS along fx", fa, nx, "spatial frequency", "lp/mm", "NPS",
                        "value²·mm²"),
                  Curve("NPS along fy", fa, ny, "spatial frequency", "lp/mm", "NPS",
                        "value²·mm²")]
        if nnps_scale:
            curves.append(Curve("NNPS radial", f, prof * nnps_scale, "spatial frequency",
                                "lp/mm", "NNPS", "mm²"))
        rr, cc = np.nonzero(area)
        roi_list = [Roi("rect", ((float(rr.min()), float(cc.min())),
                                 (float(rr.max()), float(cc.max()))),
                        label=f"NPS area: {rois.shape[0]} ROIs of {roi_size_px} px", frame=i,
                        role="measure")]
        out.append(Analysis(
            measurements=meas, rois=roi_list, curves=curves, warnings=warnings,
            maps=[ImageMap("NPS 2-D", res.nps, "fftshifted 2-D NPS; axes in 1/mm "
                           f"(step {res.df[1]:.4g} × {res.df[0]:.4g})", "value²·mm²")],
            label=_label(series, i), frames=[i],
            extra={"method": "ICRU 87 / IEC 62220-1-1: NPS = Δx·Δy/(Nx·Ny)·<|DFT2(ROI − fit)|²>",
                   "spacing_mm": list(spacing), "spacing_source": source,
                   "n_rois": res.n_rois, "roi_size_px": roi_size_px, "overlap": overlap,
                   "detrend": detrend, "variance": res.variance,
                   "nnps": ("linearised with the STP" if stp_slope is not None else
                            "image taken as linear with zero offset" if linear_image else
                            "not computed: give stp_slope (and stp_intercept) or linear_image"),
                   "nps_mean_frequency_lp_per_mm": npsk.nps_mean_frequency(f, prof),
                   **intent}))
    return _one_or_many(out)


def _detect_nps(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    if _keyword_score(series, ("nps", "noise power")):
        return 0.7, "the header says NPS or noise power"
    return 0.0, "only chosen when the header says NPS (a flat field is analysed for uniformity)"


register(Protocol(
    name="xray.nps",
    key_measurement="noise_sd",
    version="1",
    title="Detector noise power spectrum",
    description="2-D NPS of a flat field (ICRU 87 / IEC 62220-1-1) with polynomial detrending, "
                "radial and axis profiles; normalised NPS when the signal-to-kerma response is "
                "given (stp_slope/stp_intercept) or the image is linear (linear_image).",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("mean_signal", "", "Mean pixel value in the NPS area.",
                        label="Mean signal"),
        MeasurementSpec("noise_sd", "", "Pixel SD after detrending (√ of the NPS integral).",
                        False,
                        label="Noise (SD)"),
        *(MeasurementSpec(_freq_name("nps", stem), "value²·mm²",
                          f"Radially averaged NPS at {f:g} lp/mm.", False,
                          label=f"NPS at {f:g} lp/mm")
          for f, stem in REPORT_FREQUENCIES),
        *(MeasurementSpec(_freq_name("nnps", stem), "mm²",
                          f"Normalised NPS (NPS / mean linearised signal²) at {f:g} lp/mm.",
                          False,
                          label=f"Normalised NPS at {f:g} lp/mm")
          for f, stem in REPORT_FREQUENCIES),
    ),
    parameters=(
        ParameterSpec("roi_size_px", int, 128, "px", "Side of the square NPS ROIs "
                      "(IEC 62220-1-1: 256).", minimum=16, maximum=1024),
        ParameterSpec("overlap", float, 0.5, "", "Fractional overlap of the ROIs.",
                      minimum=0.0, maximum=0.9),
        ParameterSpec("detrend", str, "plane", "", "Surface removed from each ROI.",
                      choices=npsk.DETRENDS),
        ParameterSpec("border_mm", float, 5.0, "mm", "Border of the field left out.",
                      minimum=0.0),
        ParameterSpec("stp_slope", float, None, "value/µGy",
                      "Slope of a linear signal-to-air-kerma response (for NNPS)."),
        ParameterSpec("stp_intercept", float, 0.0, "value",
                      "Pixel value at zero air kerma (offset) of that response."),
        ParameterSpec("linear_image", bool, False, "",
                      "Treat pixel values as proportional to air kerma (NNPS = NPS/mean²)."),
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=xray_nps,
    inputs="one flat-field image (uniform exposure, no object)",
    detect=_detect_nps,
    standard="ICRU Report 87 (2012); IEC 62220-1-1:2015 §7.2",
))


# ---------------------------------------------------------------------------------------------
# xray.uniformity
# ---------------------------------------------------------------------------------------------
_SMALL_DETECTOR_ROI_PX = 100
_TG150_NAMES = ("global_signal_nonuniformity", "local_signal_nonuniformity",
                "global_noise_nonuniformity", "local_noise_nonuniformity",
                "global_snr_nonuniformity", "local_snr_nonuniformity")


def xray_uniformity(series: ImageSeries, *, roi_mm: float = 10.0, border_mm: float = 10.0,
                    detect_field: bool = True, image_index: int | None = None,
                    pixel_spacing_mm: float | None = None) -> Analysis | list[Analysis]:
    """AAPM TG-150 flat-field uniformity on an ROI grid."""
    spacing, source = detector_spacing(series, pixel_spacing_mm, "The TG-150 uniformity")
    out = []
    for i in _images(series, image_index):
        img = np.asarray(series.pixels(i), dtype=np.float64)
        warnings = _check_image(img, series, i)
        notes, intent = _presentation_note(series, i)
        warnings += notes
        mask = field_mask(img) if detect_field else None
        used_roi, used_border = roi_mm, border_mm
        try:
            res = tg150_uniformity(img, spacing, roi_mm=roi_mm, border_mm=border_mm, mask=mask)
        except ValueError as exc:
            # TG-150 allows 100 × 100-pixel ROIs instead of 10 mm: small (intra-oral, mammo
            # spot) detectors need them; the border shrinks to 5 % of the short side
            used_roi = _SMALL_DETECTOR_ROI_PX * float(min(spacing))
            used_border = 0.05 * min(img.shape[0] * spacing[0], img.shape[1] * spacing[1])
            try:
                res = tg150_uniformity(img, spacing, roi_mm=used_roi, border_mm=used_border,
                                       mask=mask)
            except ValueError:
                raise AnalysisError(f"TG-150 uniformity of image {i + 1}: {exc}.",
                                    hint="Use smaller roi_mm or border_mm for small detectors "
                                         "(e.g. intra-oral: roi_mm 3, border_mm 2).") from None
            warnings.append(f"the detector is too small for {roi_mm:g} mm ROIs after a "
                            f"{border_mm:g} mm border ({exc}); used {_SMALL_DETECTOR_ROI_PX}-pixel "
                            f"ROIs ({used_roi:.2f} mm) and a {used_border:.2f} mm border "
                            "(TG-150 allows 100 × 100-pixel ROIs).")
        meas = {name: getattr(res, name) for name in _TG150_NAMES}
        meas.update(mean_signal=res.mean_signal, mean_noise=res.mean_noise,
                    mean_snr=res.mean_snr)
        if res.n_rois < 9:
            warnings.append(f"only {res.n_rois} ROIs fit: local non-uniformity is weakly "
                            "defined; consider a smaller roi_mm.")
        rois = [Roi("rect", corners, frame=i, role="measure") for corners in res.roi_corners()]
        maps = [ImageMap("ROI mean", res.roi_mean, "mean pixel value per ROI", "", used_roi),
                ImageMap("ROI noise", res.roi_sd, "SD per ROI", "", used_roi),
                ImageMap("ROI SNR", res.roi_snr, "mean/SD per ROI", "", used_roi)]
        out.append(Analysis(
            measurements=meas, rois=rois, maps=maps, warnings=warnings,
            label=_label(series, i), frames=[i],
            extra={"method": "AAPM TG-150 ROI grid: global = (max−min)/mean, local = max |ROI − "
                             "mean of its 4 neighbours| / mean (edge ROIs: neighbours present)",
                   "spacing_mm": list(spacing), "spacing_source": source,
                   "roi_mm": used_roi, "border_mm": used_border,
                   "roi_px": list(res.roi_px), "grid": list(res.roi_mean.shape),
                   "n_rois": res.n_rois, "field_detected": bool(mask is not None
                                                                and not mask.all()),
                   **intent}))
    return _one_or_many(out)


def _detect_uniformity(series: ImageSeries) -> tuple[float, str]:
    if series.modality not in MODALITIES:
        return 0.0, "not a projection X-ray image"
    if _keyword_score(series, ("flat", "uniform", "flood")):
        return 0.6, "the header says flat, uniform or flood"
    if _image_kind(series) == "flat":
        return 0.35, "the first image is a flat field (SD within 20 % of the median)"
    return 0.0, "no flat field in the header or the first image"


register(Protocol(
    name="xray.uniformity",
    key_measurement="global_signal_nonuniformity",
    version="1",
    title="Detector uniformity (TG-150)",
    description="AAPM TG-150 flat-field uniformity: ROI grid after removing a border; global "
                "and local non-uniformity of signal, noise and SNR, with maps.",
    modalities=MODALITIES,
    measurements=(
        MeasurementSpec("global_signal_nonuniformity", "%", "(max − min) / mean of ROI means.",
                        False,
                        label="Signal non-uniformity, global"),
        MeasurementSpec("local_signal_nonuniformity", "%",
                        "max |ROI mean − mean of 4 neighbours| / mean.", False,
                        label="Signal non-uniformity, local"),
        MeasurementSpec("global_noise_nonuniformity", "%", "(max − min) / mean of ROI SDs.",
                        False,
                        label="Noise non-uniformity, global"),
        MeasurementSpec("local_noise_nonuniformity", "%",
                        "max |ROI SD − mean of 4 neighbours| / mean.", False,
                        label="Noise non-uniformity, local"),
        MeasurementSpec("global_snr_nonuniformity", "%", "(max − min) / mean of ROI SNRs.",
                        False,
                        label="SNR non-uniformity, global"),
        MeasurementSpec("local_snr_nonuniformity", "%",
                        "max |ROI SNR − mean of 4 neighbours| / mean.", False,
                        label="SNR non-uniformity, local"),
        MeasurementSpec("mean_signal", "", "Mean of the ROI means.",
                        label="Mean signal"),
        MeasurementSpec("mean_noise", "", "Mean of the ROI SDs.", False,
                        label="Mean noise (SD)"),
        MeasurementSpec("mean_snr", "", "Mean of the ROI SNRs.", True,
                        label="Mean SNR"),
    ),
    parameters=(
        ParameterSpec("roi_mm", float, 10.0, "mm", "Side of the square ROIs.", minimum=0.1),
        ParameterSpec("border_mm", float, 10.0, "mm", "Border removed along the field edge.",
                      minimum=0.0),
        ParameterSpec("detect_field", bool, True, "",
                      "Find the exposed field (collimation, rounded detector corners)."),
        _INDEX_PARAM,
        _SPACING_PARAM,
    ),
    function=xray_uniformity,
    inputs="one flat-field image (uniform exposure, no object)",
    detect=_detect_uniformity,
    standard="AAPM Report 150 (TG-150); Dave et al., Med Phys 39 (2012) 3648",
))
