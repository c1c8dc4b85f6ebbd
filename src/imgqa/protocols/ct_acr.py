"""ACR CT phantom (Gammex 464): ``ct.acr`` — all four modules from one axial series.

The ACR CT Quality Control Manual's pass criteria depend on the clinical protocol the phantom
was scanned with (``exam``: adult head, adult abdomen, paediatric head, paediatric abdomen);
the criteria applied are listed in the result (``extra["acr_criteria"]``) and a failed one is a
warning. The default tolerance file carries the adult values (see ct.toml).
"""

from __future__ import annotations

import numpy as np

from imgqa.errors import AnalysisError, PhantomNotFoundError
from imgqa.io.series import ImageSeries
from imgqa.protocols._lazy import lazy_functions
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

(analyse_acr_ct,) = lazy_functions("imgqa.analysis.ct_acr", "analyse_acr_ct")

__all__ = ["ct_acr", "ACR_CRITERIA"]

MATERIAL_NAMES = ("polyethylene", "bone", "acrylic", "air", "water")
# ACR CT QC Manual (2017) / ACR CT accreditation phantom testing instructions: CT-number
# ranges (HU) for every exam; low-contrast CNR minimum per exam; uniformity ±5 HU;
# resolution ≥ 6 lp/cm (abdomen) and ≥ 6 lp/cm head (standard kernels).
CT_RANGES = {"polyethylene": (-107.0, -84.0), "bone": (850.0, 970.0),
             "acrylic": (110.0, 135.0), "air": (-1005.0, -970.0), "water": (-7.0, 7.0)}
ACR_CRITERIA = {
    "adult_head": {"low_contrast_cnr": 1.0, "resolution_lp_cm": 6.0},
    "adult_abdomen": {"low_contrast_cnr": 1.0, "resolution_lp_cm": 6.0},
    "paediatric_head": {"low_contrast_cnr": 0.7, "resolution_lp_cm": 6.0},
    "paediatric_abdomen": {"low_contrast_cnr": 0.4, "resolution_lp_cm": 6.0},
}
UNIFORMITY_LIMIT_HU = 5.0


def _positions(series: ImageSeries) -> np.ndarray:
    """Slice positions (mm) along the normal; the one place reading per-image geometry."""
    pos = series.geometry.positions
    if pos is None:
        raise AnalysisError("The slice positions are missing from the header, so the ACR "
                            "modules cannot be located along z.")
    p = np.asarray(pos, float)
    normal = series.geometry.normal
    return p @ normal if normal is not None else p[:, 2]


def ct_acr(series: ImageSeries, *, exam: str = "adult_abdomen", ramp_tan: float = 0.42,
           resolved_modulation: float = 0.2,
           pixel_spacing_mm: float | None = None) -> Analysis:
    """The ACR CT phantom's four modules from one axial series."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "ct.acr")
    if len(series) < 3:
        raise AnalysisError(
            f"ct.acr needs the slices through the phantom's modules; this series has "
            f"{len(series)} image(s).", hint="Scan the whole ACR phantom (all four modules).")
    stack = np.stack([series.pixels(i) for i in range(len(series))]).astype(float)
    z = _positions(series)
    try:
        r = analyse_acr_ct(stack, z, px, ramp_tan=ramp_tan,
                           resolved_modulation=resolved_modulation)
    except ValueError as exc:
        raise PhantomNotFoundError(f"This series does not look like the ACR CT phantom: {exc}.",
                                   hint="Use an axial series through all four modules of the "
                                        "Gammex 464 (ACR CT) phantom.") from None
    meas: dict[str, float | None] = {f"ct_number_{m}_hu": r.ct_numbers[m]
                                     for m in MATERIAL_NAMES}
    meas.update({"slice_width_mm": r.slice_width_mm,
                 "low_contrast_cnr": None if np.isnan(r.low_contrast_cnr)
                 else r.low_contrast_cnr,
                 "uniformity_max_deviation_hu": r.uniformity_max_deviation_hu,
                 "noise_sd_hu": r.noise_sd_hu, "resolution_lp_cm": r.resolution_lp_cm})
    warnings = [f"Module {m} was not found in the series." for m in (2, 4)
                if m not in r.module_frames]
    crit = ACR_CRITERIA[exam]
    for m, (lo, hi) in CT_RANGES.items():
        v = r.ct_numbers[m]
        if not lo <= v <= hi:
            warnings.append(f"CT number of {m} {v:.1f} HU is outside the ACR range "
                            f"{lo:g} to {hi:g} HU.")
    cnr = meas["low_contrast_cnr"]
    if cnr is not None and cnr < crit["low_contrast_cnr"]:
        warnings.append(f"Low-contrast CNR {cnr:.2f} is below the ACR minimum "
                        f"{crit['low_contrast_cnr']:g} for {exam.replace('_', ' ')}.")
    if r.uniformity_max_deviation_hu > UNIFORMITY_LIMIT_HU:
        warnings.append(f"Uniformity: a peripheral ROI differs from the centre by "
                        f"{r.uniformity_max_deviation_hu:.1f} HU (ACR limit ±5 HU).")
    if r.resolution_lp_cm is None or r.resolution_lp_cm < crit["resolution_lp_cm"]:
        warnings.append(f"Resolution {r.resolution_lp_cm or '< 4'} lp/cm is below the ACR "
                        f"minimum {crit['resolution_lp_cm']:g} lp/cm.")
    rois = [Roi("circle", ((row, col),), label=name, frame=f, radius=rad)
            for name, f, row, col, rad in r.rois]
    curves = [Curve(f"wire ramp {i + 1}", u, p, "along the ramp", "mm", "HU above water",
                    "HU") for i, (u, p) in enumerate(r.ramp_profiles)]
    if r.bar_modulation:
        lps = np.array(sorted(r.bar_modulation), float)
        curves.append(Curve("bar-pattern relative modulation", lps,
                            np.array([r.bar_modulation[int(k)] for k in lps]),
                            "spatial frequency", "lp/cm", "relative modulation", ""))
    return Analysis(
        measurements=meas, rois=rois, curves=curves, warnings=warnings,
        extra={"module_frames": {str(k): v for k, v in r.module_frames.items()},
               "rotation_deg": r.rotation_deg, "ramp_widths_mm": list(r.ramp_widths_mm),
               "bar_relative_modulation": {str(k): v for k, v in r.bar_modulation.items()},
               "exam": exam,
               "acr_criteria": {"ct_number_ranges_hu": CT_RANGES, **crit,
                                "uniformity_max_deviation_hu": UNIFORMITY_LIMIT_HU}})


def _detect(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "CT":
        return 0.0, "not a CT image"
    text = series.header.description_text.upper()
    if "ACR" in text or "GAMMEX" in text or "464" in text:
        return 0.8, "the header names the ACR (Gammex 464) phantom"
    return 0.0, "only chosen when the header names the ACR / Gammex 464 phantom"


_MEAS = tuple(
    MeasurementSpec(f"ct_number_{m}_hu", "HU", f"Mean CT number in the {m} insert (module 1).",
                    label=f"CT number, {m}") for m in MATERIAL_NAMES) + (
    MeasurementSpec("slice_width_mm", "mm", "Slice width from the module-1 wire ramps "
                    "(FWHM along the ramp × tan θ, mean of two).", label="Slice width"),
    MeasurementSpec("low_contrast_cnr", "", "|rod − background| / SD(background), module 2.",
                    higher_is_better=True, label="Low-contrast CNR"),
    MeasurementSpec("uniformity_max_deviation_hu", "HU",
                    "Largest |peripheral − centre| ROI mean difference, module 3.",
                    higher_is_better=False, label="Uniformity, maximum deviation"),
    MeasurementSpec("noise_sd_hu", "HU", "SD in the centre ROI of module 3.",
                    higher_is_better=False, label="Noise (SD)"),
    MeasurementSpec("resolution_lp_cm", "lp/cm", "Highest bar-pattern frequency resolved "
                    "(module 4, relative modulation ≥ the threshold).", higher_is_better=True,
                    label="High-contrast resolution"),
)

register(Protocol(
    name="ct.acr",
    key_measurement="ct_number_water_hu",
    version="1",
    title="ACR CT phantom (Gammex 464)",
    description="ACR CT QC Manual tests on the four modules: CT numbers of five materials and "
                "slice width (module 1), low-contrast CNR (2), uniformity and noise (3), "
                "bar-pattern resolution 4–12 lp/cm (4); modules found along z automatically.",
    modalities=("CT",),
    measurements=_MEAS,
    parameters=(
        ParameterSpec("exam", str, "adult_abdomen", "",
                      "Clinical protocol scanned (sets the ACR pass criteria).",
                      choices=tuple(ACR_CRITERIA)),
        ParameterSpec("ramp_tan", float, 0.42, "",
                      "tan of the wire ramps' angle to the image plane.", minimum=0.05),
        ParameterSpec("resolved_modulation", float, 0.2, "",
                      "Relative modulation (vs 4 lp/cm) at which a bar pattern counts as "
                      "resolved.", minimum=0.01, maximum=0.9),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size when the header has none or a wrong one.", minimum=0.01),
    ),
    function=ct_acr,
    inputs="an axial series through all four modules of the ACR CT (Gammex 464) phantom",
    min_images=3,
    detect=_detect,
    standard="ACR Computed Tomography Quality Control Manual (2017)",
))
