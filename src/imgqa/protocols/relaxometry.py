"""MRI relaxometry: T1 and T2 of the vials of a relaxometry plate (``mr.relaxometry``).

Inputs are the images of one plate at several inversion times (scanners often write one series
per TI, so the protocol takes several series) or at several echo times (one multi-echo
series). Images are grouped by slice position: each position with at least three distinct
TIs (or TEs) is one plate and gives one result.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from imgqa.errors import AnalysisError, ParameterError, PhantomNotFoundError
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
)

(analyse_plate,) = lazy_functions("imgqa.analysis.relaxometry", "analyse_plate")

__all__ = ["mr_relaxometry"]

N_ROIS = 15  # 14 vials + the bath ("vial 15", hazen's outer vial)


def _timing(series: ImageSeries, index: int) -> dict[str, float | None]:
    """TI, TE, TR (ms) of one image: per-frame metadata first (enhanced MR), else the header.
    The one place that reads these per-frame facts."""
    meta = series.frames[index].metadata
    ds = series.dataset(index)
    out: dict[str, float | None] = {}
    for key, kw, tag in (("ti", "InversionTime", 0x00180082), ("te", "EchoTime", 0x00180081),
                         ("tr", "RepetitionTime", 0x00180080)):
        value = meta.get({"ti": "inversion_time", "te": "echo_time",
                          "tr": "repetition_time"}[key])
        if value is None:
            value = _header_value(ds, tag, kw)
        try:
            out[key] = float(value) if value not in (None, "") else None
        except (TypeError, ValueError):
            out[key] = None
    return out


def _header_value(ds: Any, tag: int, keyword: str) -> Any:
    """``ds.get(keyword)``, reading a still-raw DS/IS element's text directly: pydicom's
    conversion costs ≈ 30 µs per element, 3 ms for the TI/TE/TR of a 32-echo series. A
    multi-valued text stays text (not a number, as ``ds.get`` gives a list)."""
    get_item = getattr(ds, "get_item", None)
    if get_item is None:
        return ds.get(keyword)
    try:
        elem = get_item(tag)
    except (KeyError, TypeError, ValueError):
        return ds.get(keyword)
    if elem is None:
        return None
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).strip(b" \x00")
        try:
            return text.decode("ascii")
        except UnicodeDecodeError:
            return ds.get(keyword)
    return ds.get(keyword)


def _slice_key(series: ImageSeries, index: int, normal: Any = None) -> float:
    """Slice position (mm, 0.1 mm bins) along ``normal`` (the series' slice normal; given by
    callers that loop over the images, as it is computed on each access)."""
    pos = series.frames[index].position
    if pos is None:
        return 0.0
    if normal is None:
        normal = series.geometry.normal
    z = float(np.dot(pos, normal)) if normal is not None else float(pos[2])
    return round(z, 1)


def _groups(series_list: Sequence[ImageSeries], kind: str) -> tuple[str, dict]:
    """Images by slice position → list of (series, index, TI/TE, TR), and the kind used."""
    images = []
    normals: dict[Any, Any] = {}   # one slice normal per orientation (a cross product each)
    for s in series_list:
        o = s.geometry.orientation
        if o not in normals:
            normals[o] = s.geometry.normal
        normal = normals[o]
        for i in range(len(s)):
            images.append((s, i, _timing(s, i), _slice_key(s, i, normal)))
    tis = {t["ti"] for _, _, t, _ in images if t["ti"]}
    tes = {t["te"] for _, _, t, _ in images if t["te"]}
    if kind == "auto":
        kind = "T1" if len(tis) >= 3 else "T2" if len(tes) >= 3 else ""
    if not kind:
        raise AnalysisError(
            f"These images have {len(tis)} distinct inversion time(s) and {len(tes)} echo "
            "time(s); a T1 fit needs at least 3 TIs, a T2 fit at least 3 TEs.",
            hint="Load every TI series of the inversion-recovery acquisition together, or the "
                 "whole multi-echo series.")
    x_key = "ti" if kind == "T1" else "te"
    groups: dict[float, list] = {}
    for s, i, t, z in images:
        if t[x_key] is None:
            continue
        groups.setdefault(z, []).append((s, i, t[x_key], t["tr"]))
    return kind, groups


def mr_relaxometry(series_list: list[ImageSeries], *, kind: str = "auto",
                   magnitude: bool = True, exclude_first_echo: bool = True,
                   layout: str = "auto") -> list[Analysis]:
    """T1 (inversion recovery) or T2 (multi-echo) of the 14 vials and the bath of each plate.

    ``layout``: the plate's vial layout, ``"eurospin"`` (TO5 plates 4/5: 10 + 4 vials),
    ``"nist"`` (ISMRM/NIST system phantom T1/T2 array: 14 spheres on a ring) or ``"auto"``.
    """
    if not series_list:
        raise ParameterError("mr.relaxometry needs at least one series.")
    kind, groups = _groups(series_list, kind)
    out = []
    for z, imgs in sorted(groups.items()):
        xs = np.array([x for _, _, x, _ in imgs])
        if np.unique(xs).size < 3:
            continue
        first = imgs[0][0]
        sp = first.require_spacing("mr.relaxometry")
        if abs(sp[0] - sp[1]) > 0.01 * max(sp):
            raise AnalysisError("mr.relaxometry needs square pixels.")
        planes = [s.pixels(i) for s, i, _, _ in imgs]   # decoded once
        if len({p.shape for p in planes}) > 1:
            raise AnalysisError("The images of this plate have different sizes.",
                                hint="Load the series of one acquisition protocol only.")
        tr = np.array([t if t is not None else 1e9 for _, _, _, t in imgs])
        try:
            # the decoded float32 images as they are (not stacked into a new array)
            r = analyse_plate(planes, xs, float(sp[0]), kind, tr_ms=tr, magnitude=magnitude,
                              exclude_first_echo=exclude_first_echo, layout=layout)
        except ValueError as exc:
            raise PhantomNotFoundError(
                f"No relaxometry plate with 14 vials found ({exc}).",
                hint="Use the images of a Eurospin TO5 plate 4 or 5, or of the T1 or T2 array "
                     "of the NIST/ISMRM system phantom (14 vials or spheres).") from None
        out.append(_analysis(r, kind, z, len(groups) > 1))
    if not out:
        raise AnalysisError(f"No slice position has at least 3 distinct "
                            f"{'inversion' if kind == 'T1' else 'echo'} times.",
                            hint="Load all the series of the acquisition together.")
    return out


def _analysis(r: Any, kind: str, z: float, label_position: bool) -> Analysis:
    key = "t1" if kind == "T1" else "t2"
    times = r.times_ms
    warnings = []
    x_max = float(r.x_ms.max())
    meas: dict[str, float | None] = {}
    for n in range(min(N_ROIS, len(times))):
        t = float(times[n])
        ok = np.isfinite(t) and t < 0.99 * (10000.0 if kind == "T1" else 5000.0)
        meas[f"vial_{n + 1}_{key}_ms"] = t if ok else None
        if not ok:
            warnings.append(f"Vial {n + 1}: the fit reached the end of its search range "
                            f"({kind} not measurable with these {'TIs' if kind == 'T1' else 'TEs'}).")
        elif t > 3 * x_max:
            warnings.append(f"Vial {n + 1}: {kind} = {t:.0f} ms is over 3× the longest "
                            f"{'TI' if kind == 'T1' else 'TE'} ({x_max:.0f} ms); imprecise.")
    rad = float(r.layout.roi_radius_px)
    rois = [Roi("circle", ((float(c[0]), float(c[1])),), label=f"vial {n + 1}", radius=rad)
            for n, c in enumerate(r.centres_rc)]
    rois.append(Roi("circle", (r.layout.phantom_centre_rc,), label="plate",
                    radius=float(r.layout.phantom_radius_px), role="phantom"))
    curves = []
    for n in range(len(times)):
        name = f"vial {n + 1}" if n < 14 else "bath (vial 15)"
        curves.append(Curve(f"{name} signal", r.x_ms.copy(), r.signals[n],
                            "TI" if kind == "T1" else "TE", "ms", "mean signal", ""))
    if r.layout_warning:
        warnings.append(r.layout_warning)
    extra = {"kind": kind, "slice_position_mm": z,
             "layout": {"name": r.layout_name, "reason": r.layout_reason},
             # the layout numbered, for default tolerances `when = {layout = ...}`
             "resolved": {"layout": r.layout_name},
             "x_ms": [float(v) for v in r.x_ms],
             "relative_rms": [float(v) for v in r.fit.rel_rms],
             "noise_floor": r.floor,
             "model": ("|A·(1 − 2B·exp(−TI/T1) + exp(−TR/T1))|, polarity restored"
                       if kind == "T1" else "A·exp(−TE/T2) after subtracting the air floor, "
                                            "first echo excluded"),
             ("inversion_efficiency_b" if kind == "T1" else "fitted_offset"):
                 [float(v) for v in r.fit.second]}
    return Analysis(measurements=meas, rois=rois, curves=curves, warnings=warnings,
                    label=f"slice {z:g} mm" if label_position else "", extra=extra)


def _detect(series: ImageSeries) -> tuple[float, str]:
    if series.modality != "MR":
        return 0.0, "not an MR image"
    text = series.header.description_text.upper()
    if "RELAX" in text:
        return 0.7, f"the series description {series.header.series_description!r} says RELAX"
    tes = {_timing(series, i)["te"] for i in range(min(len(series), 64))}
    if len(tes - {None}) >= 3:
        return 0.4, f"a multi-echo series ({len(tes - {None})} echo times): T2 relaxometry"
    return 0.0, "only chosen for relaxometry series (description RELAX, or several echoes)"


def _group_key(series: ImageSeries) -> tuple | None:
    """The acquisition a one-TI MR series belongs to (scanners write an inversion-recovery T1
    measurement as one series per inversion time, whatever its description: "se", "Spin
    Echo"…): study, frame of reference, slice position and orientation, matrix and pixel
    size. None for any other series (several TIs or none), which is analysed alone. Series
    grouped by mistake (e.g. two FLAIR repeats) are analysed one by one again when the
    plate is not found (`imgqa.protocols.base.analyse_unit`)."""
    if series.modality != "MR" or not len(series):
        return None
    # most MR series have no TI: their first image says so (every automatic batch asks)
    first = _timing(series, 0)["ti"]
    if first is None or any(_timing(series, i)["ti"] != first for i in range(1, len(series))):
        return None
    ds = series.dataset(0)
    geo = series.geometry
    return (series.header.study_uid, str(ds.get("FrameOfReferenceUID", "")),
            _slice_key(series, 0), geo.orientation, series.header.rows, series.header.columns,
            geo.pixel_spacing_mm)


def _measurements() -> tuple[MeasurementSpec, ...]:
    out = []
    for key, what in (("t1", "T1"), ("t2", "T2")):
        for n in range(1, N_ROIS + 1):
            where = f"vial {n}" if n < N_ROIS else "the bath around the vials (vial 15)"
            out.append(MeasurementSpec(
                f"vial_{n}_{key}_ms", "ms",
                f"{what} of {where} ({'inversion recovery' if key == 't1' else 'multi-echo'}"
                " fit).", label=f"{what}, vial {n}" if n < N_ROIS else f"{what}, bath (vial 15)"))
    return tuple(out)


register(Protocol(
    name="mr.relaxometry",
    key_measurement="vial_1_t1_ms",
    version="1",
    title="MRI relaxometry (T1/T2 of a vial plate)",
    description="T1 from inversion-recovery images at several TIs (magnitude with polarity "
                "restoration, or signed) and T2 from a multi-echo spin-echo series (first echo "
                "excluded), per vial of a Eurospin TO5 plate 4 or 5 or sphere of the NIST/ISMRM "
                "system phantom's T1/T2 array: vials found without a template, numbered 1–14 "
                "as on the plate, vial 15 the bath.",
    modalities=("MR",),
    measurements=_measurements(),
    parameters=(
        ParameterSpec("kind", str, "auto", "", "T1, T2, or auto (T1 when ≥ 3 TIs).",
                      choices=("auto", "T1", "T2")),
        ParameterSpec("magnitude", bool, True, "",
                      "IR images are magnitude (restore the polarity); false for signed "
                      "(phase-sensitive / real) IR images."),
        ParameterSpec("exclude_first_echo", bool, True, "",
                      "Leave out the first echo of the T2 echo train (CPMG first echo is low)."),
        ParameterSpec("layout", str, "auto", "",
                      "Vial layout: eurospin (TO5 plates 4/5, 10 + 4 vials), nist (ISMRM/NIST "
                      "system phantom T1/T2 array, 14 spheres on a ring), or auto (from the "
                      "vials found).", choices=("auto", "eurospin", "nist")),
    ),
    function=mr_relaxometry,
    inputs="the inversion-recovery series of a relaxometry plate (≥ 3 TIs, one series per TI "
           "allowed) or its multi-echo series (≥ 3 TEs)",
    multi_series=True,
    detect=_detect,
    group_key=_group_key,
    standard="IPEM Report 112; Tofts, Quantitative MRI of the Brain (2003) ch. 5–6",
))
