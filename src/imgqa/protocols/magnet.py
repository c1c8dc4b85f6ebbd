"""MagNET test objects (IPEM Report 112): ``mr.magnet`` — slice width, slice position and
spatial resolution, one test object per series.

The test is chosen from the series (``test="auto"``): a series of ≥ 20 slices is the
slice-position object; a single image is the slice-width object when its 3 × 3 rod grid is
found, else the resolution object (square block). The series description decides first when
it names the test (SLICEWIDTH, SLICE_POS..., RESOLUTION).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

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

(magnet_slice_width, magnet_slice_position, magnet_resolution) = lazy_functions(
    "imgqa.analysis.magnet", "magnet_slice_width", "magnet_slice_position",
    "magnet_resolution")

__all__ = ["mr_magnet"]

_WORDS = {"slice_position": ("SLICEPOS", "SLICE_POS", "SLICE POS", "SLICEPOSITION"),
          "slice_width": ("SLICEWIDTH", "SLICE_WIDTH", "SLICE WIDTH"),
          "resolution": ("RESOLUTION", "_RES_", "RES_")}
MIN_POSITION_SLICES = 20


def _named_test(series: ImageSeries) -> str | None:
    text = series.header.description_text.upper().replace("-", "_")
    for test, words in _WORDS.items():
        if any(w in text for w in words):
            return test
    return None


def _nominal_positions(series: ImageSeries) -> np.ndarray:
    """Slice positions (mm) along the normal; the one place reading per-image geometry."""
    pos = series.geometry.positions
    if pos is not None:
        normal = series.geometry.normal
        p = np.asarray(pos, float)
        return p @ normal if normal is not None else p[:, 2]
    locs = [series.dataset(i).get("SliceLocation") for i in range(len(series))]
    if any(v is None for v in locs):
        raise AnalysisError("The slice positions are missing from the header, so the "
                            "slice-position test has no nominal positions.")
    return np.asarray(locs, float)


class _SlicesInOrder(Sequence[np.ndarray]):
    """The series' images in the given order, each decoded when first asked for."""

    def __init__(self, series: ImageSeries, order: np.ndarray) -> None:
        self._series, self._order = series, [int(i) for i in order]

    def __len__(self) -> int:
        return len(self._order)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, i: int | slice) -> np.ndarray | Sequence[np.ndarray]:
        if isinstance(i, slice):
            return [self._series.pixels(k) for k in self._order[i]]
        return self._series.pixels(self._order[i])


def _slice_position(series: ImageSeries, px: float) -> Analysis:
    nominal = _nominal_positions(series)
    order = np.argsort(nominal)
    # decoded on demand: the kernel reads only the slices it uses (11–50 of 60)
    stack = _SlicesInOrder(series, order)
    r = magnet_slice_position(stack, nominal[order], px)
    frames = [int(order[i]) for i in r.used]
    mid = len(frames) // 2
    rois = [Roi("point", ((float(r.rods_rc[k, j, 0]), float(r.rods_rc[k, j, 1])),),
                label=f"rod {'AB'[j]}", frame=frames[k])
            for k in (0, mid, len(frames) - 1) for j in (0, 1)]
    return Analysis(
        measurements={"slice_position_max_error_mm": r.max_error_mm},
        rois=rois,
        curves=[Curve("slice position error", r.nominal_mm, r.error_mm, "nominal position",
                      "mm", "measured − nominal", "mm")],
        # provenance: the slices the kernel read (the 10 at each end are never decoded)
        frames=[int(order[i]) for i in r.read],
        extra={"test": "slice_position", "mean_abs_error_mm": r.mean_abs_error_mm,
               "slices_used": len(frames),
               "errors_mm": [round(float(e), 3) for e in r.error_mm]})


def _slice_width(series: ImageSeries, px: float, frame: int) -> Analysis:
    r = magnet_slice_width(series.pixels(frame), px)
    rois = [Roi("polygon", band, label=name, frame=frame, role="profile")
            for band, name in zip(r.band_rc, ("top ramp", "bottom ramp"), strict=True)]
    rois += [Roi("point", ((float(p[0]), float(p[1])),), label="", frame=frame, role="phantom")
             for p in r.rods_rc]
    return Analysis(
        measurements={"slice_width_mm": r.slice_width_mm},
        rois=rois,
        curves=[Curve(f"{name} ramp dip", r.profiles_mm, prof, "along the ramp", "mm",
                      "signal below baseline", "")
                for name, prof in zip(("top", "bottom"), r.profiles, strict=True)],
        frames=[frame],
        extra={"test": "slice_width", "top_ramp_mm": r.top_mm, "bottom_ramp_mm": r.bottom_mm,
               "rotation_deg": r.angle_deg})


def _resolution(series: ImageSeries, px: float, frame: int) -> Analysis:
    r = magnet_resolution(series.pixels(frame), px)
    rois = [Roi("rect", box, label=f"edge ({name})", frame=frame, role="edge")
            for box, name in zip(r.rois_rc, ("vertical", "horizontal"), strict=True)]
    warnings = []
    if r.mtf50_vertical is None or r.mtf50_horizontal is None:
        warnings.append("Only one edge of the block gave an MTF.")
    return Analysis(
        measurements={"resolution_mtf50_lp_mm": r.mtf50_lp_mm},
        rois=rois, warnings=warnings, frames=[frame],
        curves=[Curve(f"MTF ({name})", f, m, "spatial frequency", "lp/mm", "MTF", "")
                for name, f, m in r.curves],
        extra={"test": "resolution", "mtf50_vertical_lp_mm": r.mtf50_vertical,
               "mtf50_horizontal_lp_mm": r.mtf50_horizontal})


def mr_magnet(series: ImageSeries, *, test: str = "auto",
              pixel_spacing_mm: float | None = None) -> Analysis:
    """One MagNET test on one series (see the module docstring for the automatic choice)."""
    series, px = with_pixel_size(series, pixel_spacing_mm, "mr.magnet")
    if test == "auto":
        test = _named_test(series) or ("slice_position" if len(series) >= MIN_POSITION_SLICES
                                       else "")
    frame = len(series) // 2
    try:
        if test == "slice_position":
            return _slice_position(series, px)
        if test == "slice_width":
            return _slice_width(series, px, frame)
        if test == "resolution":
            return _resolution(series, px, frame)
        try:
            return _slice_width(series, px, frame)
        except ValueError:
            return _resolution(series, px, frame)
    except ValueError as exc:
        raise PhantomNotFoundError(
            f"This does not look like the MagNET {test.replace('_', ' ') or 'test'} object: "
            f"{exc}.",
            hint="Use the MagNET slice-width (rod grid and ramps), slice-position (60 slices) "
                 "or resolution (square block) series, or set the test parameter.") from None


def _detect(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "MR":
        return 0.0, "not an MR image"
    text = series.header.description_text.upper()
    named = _named_test(series)
    if "MAGNET" in text:
        return 0.7, "the header says MAGNET"
    if named is not None:
        return 0.5, f"the series description names the {named.replace('_', ' ')} test"
    return 0.0, "only chosen when the header names MagNET or the test"


register(Protocol(
    name="mr.magnet",
    key_measurement="slice_width_mm",
    version="1",
    title="MagNET test objects (slice width, slice position, resolution)",
    description="IPEM Report 112 tests on the MagNET objects: slice width from the two 11.3° "
                "ramps (FWHM × tan 11.3°, geometric mean), maximum slice-position error from "
                "the ±45° rods of the 60-slice series, MTF50 of the resolution block's edges.",
    modalities=("MR",),
    measurements=(
        MeasurementSpec("slice_width_mm", "mm",
                        "Slice FWHM from the two ramps (geometric mean).",
                        label="Slice width"),
        MeasurementSpec("slice_position_max_error_mm", "mm",
                        "Largest |actual − nominal| slice position (common offset removed).",
                        higher_is_better=False, label="Slice position, maximum error"),
        MeasurementSpec("resolution_mtf50_lp_mm", "lp/mm",
                        "MTF50 of the resolution block edges (mean of the two directions).",
                        higher_is_better=True, label="Spatial resolution (MTF50)"),
    ),
    parameters=(
        ParameterSpec("test", str, "auto", "",
                      "Which test object: auto, slice_width, slice_position or resolution.",
                      choices=("auto", "slice_width", "slice_position", "resolution")),
        ParameterSpec("pixel_spacing_mm", float, None, "mm",
                      "Pixel size when the header has none or a wrong one.", minimum=0.01),
    ),
    function=mr_magnet,
    inputs="one MagNET series: the slice-width image, the 60-slice slice-position series or "
           "the resolution image",
    detect=_detect,
    standard="IPEM Report 112 (2016), MagNET test objects",
))
