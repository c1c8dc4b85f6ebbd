"""Mammography checks: SDNR of the Al square, EUREF homogeneity, artefact detection."""

from __future__ import annotations

from pathlib import Path

from imgqa.phantoms.mammo import al_square, artefact_flat, step_flat, write_mammo
from imgqa.validation.registry import Measure, check


@check("mg.sdnr", auto=True, params={"offset": 50.0},
       source="Al square of contrast c on a heel ramp, white noise σ: SDNR = S·c/σ, "
              "contrast 100·c % (EUREF/ACR definitions coincide for equal σ)",
       measure=[Measure("sdnr", rel_tol=0.03, why="issue 15: SDNR within 3 %"),
                Measure("contrast_percent", rel_tol=0.02)])
def mg_al_square(root: Path) -> Path:
    img, truth = al_square(centre_mm=(8.0, -12.0), rotation_deg=15.0, seed=4)
    return write_mammo(img, truth, root / "mg_al_square", "QC SDNR 0.2 mm Al on PMMA")


@check("mg.homogeneity", auto=True, params={"roi_mm": 10.0},
       source="two halves S(1 ± d), d = 8 %, grid symmetric about the step: every ROI mean "
              "deviates by d; local (corner ROI at the step) 2d/3",
       measure=[Measure("max_mean_deviation_percent", abs_tol=0.2),
                Measure("max_local_mean_deviation_percent", abs_tol=0.2),
                Measure("max_snr_deviation_percent", abs_tol=3.0,
                        why="SD of 10 000 px known to 0.7 %: max over 374 ROIs ≈ +2.5 %")])
def mg_step_flat(root: Path) -> Path:
    img, truth = step_flat()
    return write_mammo(img, truth, root / "mg_step_flat", "QC homogeneity PMMA 45 mm")


@check("mg.artefacts", auto=True,
       source="flat field + heel with 3 planted artefacts (blob −6 %, band +3 %, scratch −10 %)",
       measure=[Measure("artefact_regions", abs_tol=0.5,
                        why="every planted artefact found, none false (±0.5 on a count: exact)")])
def mg_artefact_flat(root: Path) -> Path:
    img, truth = artefact_flat(seed=2)
    return write_mammo(img, truth, root / "mg_artefact_flat", "QC artefacts PMMA 45 mm")
