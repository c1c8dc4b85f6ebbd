"""Dose report checks: CTDIvol/DLP (TID 10011) and DAP/kVp/mAs (TID 10001) read from SRs.

The truth is the value written into a synthetic SR, converted by hand to imgqa's units (the
files use Gy, Gy·cm, mGy·mm, Gy·m², dGy·cm², µAs and mA × ms on purpose). The runner compares
the report's last irradiation event.
"""

from __future__ import annotations

from pathlib import Path

from imgqa.phantoms import write_ground_truth
from imgqa.phantoms.dose import expected_values, write_dose_sr
from imgqa.validation.registry import Measure, check

_EXACT = 1e-9  # relative: a unit conversion is exact up to float rounding


@check("dose.report", auto=True,
       source="values written into a synthetic TID 10011 SR (mGy.mm → ×0.1 mGy·cm)",
       measure=[Measure("ctdivol_mgy", rel_tol=_EXACT), Measure("dlp_mgy_cm", rel_tol=_EXACT),
                Measure("kvp", rel_tol=_EXACT)])
def dose_ct_report(root: Path) -> Path:
    folder = root / "dose_ct_report"
    write_dose_sr(folder, "CT")
    write_ground_truth(folder, {"kind": "dose_sr_ct", "events": expected_values("CT"),
                                **expected_values("CT")[-1]})
    return folder


@check("dose.report", auto=True,
       source="values written into a synthetic TID 10001 SR (dGy·cm² → ×0.1 Gy·cm²; mAs = "
              "mA × ms / 1000)",
       measure=[Measure("dap_gy_cm2", rel_tol=_EXACT), Measure("kvp", rel_tol=_EXACT),
                Measure("exposure_mas", rel_tol=_EXACT), Measure("dose_rp_mgy", rel_tol=_EXACT)])
def dose_projection_report(root: Path) -> Path:
    folder = root / "dose_projection_report"
    write_dose_sr(folder, "projection")
    write_ground_truth(folder, {"kind": "dose_sr_projection",
                                "events": expected_values("projection"),
                                **expected_values("projection")[-1]})
    return folder
