"""Installation check: analyse the digital phantoms and compare with their analytic truth.

``imgqa validate`` writes every demo phantom (`imgqa.phantoms.demo_sets`) into a temporary
folder, lets imgqa choose and run the protocol for each, and compares the measurements with the
ground truth the generator wrote beside the images. A physicist runs it after installing or
upgrading imgqa (or in an audit) to show that this installation reproduces known answers.

Each check states its tolerance. The phantoms carry noise like real images, so a tolerance is
the accuracy claimed for one noisy realisation (validated over many seeds in the test suite,
docs/validation.md), not the noise-free error.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imgqa.api import analyse
from imgqa.errors import ImgqaError
from imgqa.phantoms import demo_sets, read_ground_truth

__all__ = ["Check", "CheckOutcome", "CHECKS", "run_validation"]


@dataclass(frozen=True, slots=True)
class Check:
    """Compare measurement `measurement` of `protocol` on demo `phantom` with truth `truth_key`.

    ``truth_key`` may be a dotted path into nested ground truth (``"ctp528.mtf50_lp_per_cm"``).
    ``abs_tol`` and ``rel_tol`` (fraction) are alternatives: the larger allowed error applies.
    """

    phantom: str
    protocol: str
    measurement: str
    truth_key: str
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    why: str = ""

    def allowed(self, truth: float) -> float:
        return max(self.abs_tol, self.rel_tol * abs(truth))


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    check: Check
    truth: float | None
    measured: float | None
    passed: bool
    note: str = ""

    @property
    def error(self) -> float | None:
        if self.truth is None or self.measured is None:
            return None
        return self.measured - self.truth

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        return {"phantom": c.phantom, "protocol": c.protocol, "measurement": c.measurement,
                "truth": self.truth, "measured": self.measured, "error": self.error,
                "allowed": c.allowed(self.truth) if self.truth is not None else None,
                "passed": self.passed, "note": self.note}


# The truth keys are the names each generator writes in ground_truth.json.
CHECKS: tuple[Check, ...] = (
    # CT water (AAPM/ACR daily QC): HU and noise of a known phantom with cupping and a table.
    Check("ct_water", "ct.water", "mean_hu_centre", "mean_hu_centre", abs_tol=0.5),
    Check("ct_water", "ct.water", "noise_sd_centre", "noise_sd_centre", rel_tol=0.06,
          why="3 × the sampling SE of an SD over three 400 mm² ROIs"),
    Check("ct_water", "ct.water", "mean_hu_12", "mean_hu_12", abs_tol=1.0),
    Check("ct_water", "ct.water", "mean_hu_6", "mean_hu_6", abs_tol=1.0),
    # CT wire: Gaussian PSF, analytic MTF.
    Check("ct_wire", "ct.mtf_wire", "mtf50", "mtf50", rel_tol=0.03),
    Check("ct_wire", "ct.mtf_wire", "mtf10", "mtf10", rel_tol=0.03),
    # Catphan modules (synthetic CTP404/528/515/486 with known geometry, blur and contrast).
    Check("ct_catphan", "ct.catphan", "ctp404_rod_distance_mean_mm", "ctp404.rod_distance_mm",
          abs_tol=0.15),
    Check("ct_catphan", "ct.catphan", "ctp404_slice_thickness_mm", "ctp404.slice_thickness_mm",
          abs_tol=0.2),
    Check("ct_catphan", "ct.catphan", "ctp528_mtf50_lp_per_cm", "ctp528.mtf50_lp_per_cm",
          rel_tol=0.03),
    Check("ct_catphan", "ct.catphan", "ctp486_mean_hu_centre", "ctp486.ctp486_mean_hu_centre",
          abs_tol=0.5),
    # NEMA NU 1 flood at 10 000 counts/pixel: truth is the noise-free pattern; counting noise
    # biases DU upwards by ~0.1 % on average.
    Check("nm_flood", "nm.uniformity", "integral_uniformity_ufov", "integral_uniformity",
          abs_tol=0.3),
    Check("nm_flood", "nm.uniformity", "differential_uniformity_ufov_x",
          "differential_uniformity_x", abs_tol=0.4),
    Check("nm_flood", "nm.uniformity", "differential_uniformity_ufov_y",
          "differential_uniformity_y", abs_tol=0.4),
    Check("nm_flood", "nm.uniformity", "rebinned_pixel_mm", "rebinned_pixel_mm", abs_tol=1e-6),
    # NM line sources: Gaussian LSF of known FWHM.
    Check("nm_line_sources", "nm.resolution", "fwhm_x", "fwhm_x", rel_tol=0.02),
    Check("nm_line_sources", "nm.resolution", "fwtm_x", "fwtm_x", rel_tol=0.03),
    # NM intrinsic resolution by the edge method: Gaussian-blurred edge, Poisson counts.
    Check("nm_edge", "nm.resolution", "fwhm_x", "fwhm_x", rel_tol=0.03),
    # IEC 62220-1 slanted edge with a Gaussian PSF: analytic MTF.
    Check("xray_edge", "xray.mtf_edge", "mtf50", "mtf50_lp_per_mm", rel_tol=0.02),
    Check("xray_edge", "xray.mtf_edge", "mtf10", "mtf10_lp_per_mm", rel_tol=0.03),
    Check("xray_edge", "xray.mtf_edge", "edge_angle_deg", "edge_angle_deg", abs_tol=0.1),
    Check("xray_edge", "xray.mtf_edge", "mtf_at_1_lp_per_mm", "mtf_at_1_lp_per_mm",
          abs_tol=0.02),
    # ACR MRI large phantom.
    Check("mr_acr", "mr.acr", "geometric_accuracy_slice5_horizontal", "diameter_mm",
          abs_tol=0.5),
    Check("mr_acr", "mr.acr", "geometric_accuracy_slice5_vertical", "diameter_mm", abs_tol=0.5),
    Check("mr_acr", "mr.acr", "slice_thickness_mm", "slice_thickness_mm", abs_tol=0.2),
    Check("mr_acr", "mr.acr", "piu", "piu", abs_tol=0.5),
    Check("mr_acr", "mr.acr", "ghosting_percent", "ghosting_percent_magnitude", abs_tol=0.2,
          why="ghost as seen in a magnitude image with Rician noise"),
    Check("mr_acr", "mr.acr", "slice_position_slice1_mm", "bar_difference_mm", abs_tol=0.5),
)


def run_validation(workdir: str | Path | None = None, *,
                   phantoms: Iterable[str] | None = None) -> list[CheckOutcome]:
    """Write the demo phantoms, analyse them and compare with the truth.

    Parameters
    ----------
    workdir : path, optional
        Where to write the phantoms (kept); a temporary folder (deleted) by default.
    phantoms : names, optional
        Only these demo phantoms.
    """
    wanted = set(phantoms) if phantoms else None
    makers = demo_sets()
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="imgqa-validate-") as tmp:
            return _run(Path(tmp), makers, wanted)
    Path(workdir).mkdir(parents=True, exist_ok=True)
    return _run(Path(workdir), makers, wanted)


def _run(root: Path, makers, wanted) -> list[CheckOutcome]:
    outcomes: list[CheckOutcome] = []
    by_phantom: dict[str, list[Check]] = {}
    for c in CHECKS:
        if wanted is None or c.phantom in wanted:
            by_phantom.setdefault(c.phantom, []).append(c)
    for name, checks in by_phantom.items():
        if name not in makers:
            outcomes += [CheckOutcome(c, None, None, False, "phantom generator missing")
                         for c in checks]
            continue
        folder = makers[name](root)
        truth = read_ground_truth(folder)
        results_by_protocol: dict[str, Any] = {}
        for c in checks:
            if c.protocol not in results_by_protocol:
                try:
                    results = analyse(folder)
                    results_by_protocol.update({r.protocol: r for r in results})
                    if c.protocol not in results_by_protocol:
                        chosen = ", ".join(sorted({r.protocol for r in results})) or "none"
                        results_by_protocol[c.protocol] = (
                            f"imgqa chose {chosen} instead of {c.protocol}")
                except ImgqaError as exc:
                    results_by_protocol[c.protocol] = exc.full_message()
            outcomes.append(_compare(c, truth, results_by_protocol[c.protocol]))
    return outcomes


def _truth_value(truth: dict[str, Any], key: str) -> Any:
    value: Any = truth
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _compare(check: Check, truth: dict[str, Any], result: Any) -> CheckOutcome:
    expected = _truth_value(truth, check.truth_key)
    if isinstance(result, str):
        return CheckOutcome(check, expected, None, False, result)
    try:
        measured = result.value(check.measurement)
    except KeyError:
        return CheckOutcome(check, expected, None, False, "measurement missing")
    if expected is None or measured is None or not math.isfinite(measured):
        return CheckOutcome(check, expected, measured, False, "no value")
    ok = abs(measured - float(expected)) <= check.allowed(float(expected)) + 1e-12
    return CheckOutcome(check, float(expected), float(measured), ok, check.why)
