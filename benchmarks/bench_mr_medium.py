"""Benchmark: mr.acr on the ACR *medium* phantom (digital, 165 mm) against pylinac's
ACRMRIMedium on the same series (no real medium-phantom series is in ../shared/data).

Times are medians of repeats and include reading the DICOM files for both tools. pylinac runs
in .venv-ref via benchmarks/reference/mr_medium_ref.py (subprocess, JSON out).

usage: .venv/bin/python benchmarks/bench_mr_medium.py [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF_PY = ROOT / ".venv-ref" / "bin" / "python"


def _ref_py() -> Path:
    """.venv-ref next to the repository, else $REF_PY, else the main checkout's (worktrees)."""
    for p in (os.environ.get("REF_PY"), REF_PY, Path("/work/main/.venv-ref/bin/python")):
        if p and Path(p).exists():
            return Path(p)
    return REF_PY


def _write_phantom(folder: Path) -> dict:
    from imgqa.phantoms.mr import acr_phantom
    from imgqa.phantoms.writer import write_series

    px = 250.0 / 256
    images, truth = acr_phantom(variant="medium", diameter_mm=165.0, slice_thickness_mm=5.0,
                                bar_difference_mm=2.0, rotation_deg=0.5, noise_sd=8.0,
                                noise="rician", seed=11)
    write_series(images, folder, modality="MR", description="ACR T1 medium digital phantom",
                 pixel_spacing_mm=px, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 extra_tags={"MagneticFieldStrength": 1.5})
    return truth


def _imgqa_run(folder: Path, repeats: int) -> tuple[float, dict]:
    import imgqa

    imgqa.analyse(folder, "mr.acr")           # warm-up: imports, first-call costs
    times, values = [], {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        series = imgqa.load(folder)
        result = imgqa.analyse(series[0], "mr.acr")[0]
        times.append(time.perf_counter() - t0)
        values = result.as_dict()
    return statistics.median(times), values


def run(repeats: int = 5) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "acr_medium"
        truth = _write_phantom(folder)
        t_imgqa, vals = _imgqa_run(folder, repeats)
        ref: dict = {}
        py = _ref_py()
        if py.exists():
            proc = subprocess.run([str(py), str(ROOT / "benchmarks" / "reference" /
                                                "mr_medium_ref.py"), str(folder),
                                   "--repeats", str(max(1, repeats // 2))],
                                  capture_output=True, text=True, timeout=900, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                ref = json.loads(proc.stdout)
    pyl = ref.get("pylinac") or {}
    pv = pyl.get("values") or {}
    agreement = {m: {"truth": truth.get(t), "imgqa": vals.get(m), "pylinac": pv.get(m)}
                 for m, t in (("slice_thickness_mm", "slice_thickness_mm"),
                              ("slice_position_slice1_mm", "bar_difference_mm"),
                              ("slice_position_slice11_mm", "bar_difference_mm"),
                              ("piu", "piu"),
                              ("geometric_accuracy_slice5_horizontal", "diameter_mm"))}
    # A failed pylinac run is not a timing to compare with (it stops at its first step).
    pyl_s = pyl.get("time_s") if not pyl.get("error") else None
    return [{"name": "ACR medium digital phantom (256², 11 slices)", "imgqa_s": t_imgqa,
             "reference_s": pyl_s, "ratio": (t_imgqa / pyl_s) if pyl_s else None,
             "agreement": agreement, "pylinac_geometry": pv.get("geometry"),
             "notes": pyl.get("error") or ("pylinac ACRMRIMedium" if pyl else
                                           "no .venv-ref: pylinac not run")}]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(json.dumps(run(args.repeats), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
