"""Agreement with other tools on real scanners' images (``../shared/data``).

Real images have no ground truth; the other open-source tools' values below are what their own
test suites assert for the same files (listed in the data folder's MANIFEST.md). This table
shows how far imgqa is from them, not whether either is right: the tools also disagree with
each other (e.g. hazen 5.89 mm vs pylinac 4.64 mm slice thickness on the same ACR series), and
docs/validation.md explains the known differences.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgqa.api import analyse
from imgqa.errors import ImgqaError

__all__ = ["Reference", "REFERENCES", "default_data_dir", "run_agreement"]


@dataclass(frozen=True, slots=True)
class Reference:
    """One published value of another tool for one series and one imgqa measurement."""

    paths: tuple[str, ...]          # relative to the data folder; two for two-series protocols
    protocol: str
    measurement: str
    tool: str
    value: float
    params: tuple[tuple[str, Any], ...] = ()
    note: str = ""


def _refs(paths: str | tuple[str, ...], protocol: str, tool: str,
          values: dict[str, float], note: str = "", **params: Any) -> list[Reference]:
    p = (paths,) if isinstance(paths, str) else paths
    return [Reference(p, protocol, m, tool, v, tuple(sorted(params.items())), note)
            for m, v in values.items()]


_HAZEN = "hazen 2.0.0"
_PYLINAC = "pylinac 3.49"
_IQC = "imageQCpy 3.2.8"
_SIEMENS, _GE, _PHILIPS = ("mr/acr/hazen_Siemens", "mr/acr/hazen_GE",
                           "mr/acr/hazen_PhilipsAchieva")
_CTP404 = "ct/imageqc_CTP404_FOV150/CTP404_FOV150_001.dcm"
_CTP486 = "ct/imageqc_CTP486/CTP486_005.dcm"

# Values copied from the data folder's MANIFEST.md ("Other tools' values on these files").
REFERENCES: tuple[Reference, ...] = tuple(
    _refs(_SIEMENS, "mr.acr", _HAZEN, {"piu": 67.49, "ghosting_percent": 0.035,
                                        "slice_thickness_mm": 5.89})
    + _refs(_SIEMENS, "mr.acr", _HAZEN, {"geometric_accuracy_slice1_horizontal": 191.41,
                                          "geometric_accuracy_slice1_vertical": 187.5},
            note="hazen's two slice 1 lengths, in the order it prints them")
    + _refs(_SIEMENS, "mr.acr", _PYLINAC, {"piu": 66.65, "ghosting_percent": 0.118,
                                            "slice_thickness_mm": 4.64})
    + _refs((_SIEMENS, "mr/acr/hazen_Siemens2"), "mr.snr", _HAZEN, {"snr": 76.52},
            note="two-image subtraction SNR")
    + _refs(_GE, "mr.acr", _HAZEN, {"piu": 83.78, "ghosting_percent": 0.485})
    + _refs(_GE, "mr.acr", _PYLINAC, {"piu": 82.48, "ghosting_percent": 0.80})
    + _refs(_GE, "mr.acr", _PYLINAC, {"slice_thickness_mm": 4.63},
            note="hazen's 9.99 mm here is in pixels (0.508 mm), so not listed")
    + _refs(_PHILIPS, "mr.acr", _HAZEN, {"piu": 80.66, "slice_thickness_mm": 5.36})
    + _refs(_PHILIPS, "mr.acr", _PYLINAC, {"piu": 76.13, "slice_thickness_mm": 4.89})
    + _refs("mr/imageqc/ACR.dcm", "mr.acr", _IQC, {
        "geometric_accuracy_slice5_horizontal": 189.0,
        "geometric_accuracy_slice5_vertical": 189.0,
        "geometric_accuracy_slice5_diagonal_45": 189.0,
        "geometric_accuracy_slice5_diagonal_135": 189.0}, note="imageQCpy rounds to 1 mm")
    + _refs(_CTP404, "ct.catphan", _IQC, {"ctp404_hu_teflon": 931.0, "ctp404_hu_air": -1006.0,
                                          "ctp404_rod_distance_mean_mm": 50.0})
    + _refs(_CTP404, "ct.catphan", _IQC, {"ctp404_slice_thickness_mm": 4.55},
            note="mean of imageQCpy's 4.4/4.6/4.6/4.6 mm (nominal 4.8)")
    + _refs(_CTP404, "ct.ttf", _IQC, {"mtf50": 0.36, "mtf10": 0.66}, polarity="positive",
            note="Teflon insert circular edge")
    + _refs(_CTP486, "ct.catphan", _IQC, {"ctp486_mean_hu_centre": 13.1,
                                          "ctp486_noise_sd_centre": 6.8})
    + _refs(_CTP486, "ct.nps", _IQC, {"nps_f_median": 0.3})
    + _refs("ct/imageqc_Wire_FOV50/CT_wire_FOV50_001.dcm", "ct.mtf_wire", _IQC, {
        "mtf50_x": 1.1, "mtf10_x": 1.5, "mtf50_y": 1.1, "mtf10_y": 1.5})
    + _refs("nm/imageqc/linesource_planar.dcm", "nm.resolution", _IQC, {
        "fwhm_x": 7.4, "fwtm_x": 13.5, "fwhm_y": 7.3, "fwtm_y": 13.3},
        note="lines tilted 13°: imgqa measures across the line")
    + _refs("nm/imageqc/edge_det1.dcm", "nm.resolution", _IQC, {"fwhm_y": 3.5, "fwtm_y": 6.4},
            note="imageQCpy: one edge; imgqa: every edge across y")
    + _refs("nm/imageqc/edge_det2.dcm", "nm.resolution", _IQC, {"fwhm_y": 3.2, "fwtm_y": 5.8},
            note="imageQCpy: one edge; imgqa: every edge across y")
)


def default_data_dir(project_root: Path | None = None) -> Path | None:
    """``../shared/data`` next to the project (or the working folder), if it exists."""
    import os

    env = os.environ.get("IMGQA_SHARED_DATA")
    candidates = [Path(env)] if env else []
    root = project_root or Path(__file__).resolve().parents[3]
    candidates += [root.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"]
    return next((c for c in candidates if c.is_dir()), None)


def run_agreement(data_dir: str | Path,
                  references: Iterable[Reference] = REFERENCES) -> list[dict[str, Any]]:
    """Run imgqa on each referenced series and tabulate imgqa vs the other tools.

    Returns one row per reference: series, protocol, measurement, tool, tool value, imgqa value,
    difference (imgqa − tool) and a note (also the reason when imgqa has no value). A missing
    file or a failed analysis gives a row with a note; the others still run.
    """
    root = Path(data_dir)
    cache: dict[tuple, Any] = {}
    rows = []
    for ref in references:
        key = (ref.paths, ref.protocol, ref.params)
        if key not in cache:
            cache[key] = _analyse(root, ref)
        result = cache[key]
        value = None
        note = ref.note
        if isinstance(result, str):
            note = f"{result} {note}".strip()
        else:
            try:
                value = result.value(ref.measurement)
            except KeyError:
                note = f"no {ref.measurement}. {note}".strip()
        rows.append({"series": " + ".join(ref.paths), "protocol": ref.protocol,
                     "measurement": ref.measurement, "tool": ref.tool, "tool_value": ref.value,
                     "imgqa": value, "difference": None if value is None else value - ref.value,
                     "note": note})
    return rows


def _analyse(root: Path, ref: Reference) -> Any:
    paths = [root / p for p in ref.paths]
    missing = [str(p) for p in ref.paths if not (root / p).exists()]
    if missing:
        return f"not in the data folder: {', '.join(missing)}."
    try:
        results = analyse(paths, ref.protocol, **dict(ref.params))
    except ImgqaError as exc:
        return exc.full_message()
    return results[0] if results else "no result."
