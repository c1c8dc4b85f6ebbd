"""CT benchmarks: imgqa's CT protocols on the real series, timed including reading the files.

* ``ct.water`` on the whole 13-image Siemens constancy set (topogram, wire, head and body
  water): load the folder, then run ``ct.water`` on the two water series — the target is well
  under a second for the whole set.
* ``ct.catphan`` on the CTP404 series and ``ct.mtf_wire`` on the 50 mm-FOV wire, with
  imageQCpy's published values for the same files (MANIFEST.md) as the agreement check.

pylinac 3.49 (in .venv-ref) cannot analyse these files: its CatPhan classes need a whole
Catphan scan (≥ ~39 images, all modules at known offsets), and the shared data has
single-module series of 3 images; `reference/ct_ref.py` records its error. No other reference
tool analyses CT water phantoms, so the water timings are imgqa's alone.

Run: ``.venv/bin/python benchmarks/bench_ct.py``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REF_PY = ROOT / ".venv-ref" / "bin" / "python"
REPEATS = 7


def _median(fn, repeats: int = REPEATS) -> tuple[float, object]:
    out = fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _water_set():
    import imgqa
    from imgqa.protocols import run_protocol

    series = imgqa.load(SHARED / "ct" / "imageqc_Constancy13img")
    out = {}
    for s in series:
        if s.header.series_description.split()[0].lower() in ("hode", "kropp"):
            out[s.header.series_description.split()[0]] = run_protocol("ct.water", s)[0]
    return out


def _one(folder: str, protocol: str, **params):
    import imgqa
    from imgqa.protocols import run_protocol

    return run_protocol(protocol, imgqa.load(SHARED / "ct" / folder)[0], **params)[0]


def _reference() -> dict:
    if not REF_PY.exists():
        return {"error": ".venv-ref missing"}
    proc = subprocess.run([str(REF_PY), str(ROOT / "benchmarks/reference/ct_ref.py"),
                           str(SHARED)], capture_output=True, text=True, check=False,
                          timeout=600)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": proc.stderr[-300:]}


def _ref_py() -> Path:
    """.venv-ref next to the repository, else the main checkout's (worktrees), or $REF_PY."""
    import os

    for p in (os.environ.get("REF_PY"), REF_PY, Path("/work/main/.venv-ref/bin/python")):
        if p and Path(p).exists():
            return Path(p)
    return REF_PY


def run_acr(repeats: int = 3) -> list[dict]:
    """ct.acr vs pylinac 3.49 ACRCT on the digital Gammex 464 series (32 slices of 512², 5 mm;
    pylinac needs the 5 mm sampling to find its module offsets), reading included."""
    import tempfile

    import imgqa
    from imgqa.phantoms.ct_acr import write_acr_ct

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "acr"
        truth = write_acr_ct(folder, seed=1, slice_step_mm=5.0)
        t_imgqa, res = _median(lambda: imgqa.analyse(imgqa.load(folder), "ct.acr")[0])
        ref: dict = {}
        py = _ref_py()
        if py.exists():
            proc = subprocess.run([str(py), str(ROOT / "benchmarks/reference/ct_acr_ref.py"),
                                   str(folder), "--repeats", str(repeats)],
                                  capture_output=True, text=True, timeout=900, check=False,
                                  cwd=str(ROOT))
            if proc.returncode == 0 and proc.stdout.strip():
                ref = json.loads(proc.stdout.strip().splitlines()[-1])
    t_ref = ref.get("time_s")
    pv = ref.get("values") or {}
    names = {"Poly": "polyethylene", "Bone": "bone", "Acrylic": "acrylic", "Air": "air",
             "Water": "water"}
    agreement = {f"ct_number_{m}_hu": {"imgqa": res.value(f"ct_number_{m}_hu"),
                                       "pylinac": (pv.get("rois") or {}).get(k),
                                       "truth": truth[f"ct_number_{m}_hu"]}
                 for k, m in names.items()}
    agreement["low_contrast_cnr"] = {"imgqa": res.value("low_contrast_cnr"),
                                     "pylinac": pv.get("low_contrast_cnr"),
                                     "truth": truth["low_contrast_cnr"]}
    return [{"name": "ct.acr, digital Gammex 464 (32 × 512², load + 4 modules)",
             "imgqa_s": t_imgqa, "reference_s": t_ref,
             "ratio": t_imgqa / t_ref if t_ref else None,
             "notes": ref.get("error") or f"pylinac ACRCT; agreement {agreement}"}]


def run() -> list[dict]:
    rows = run_acr()
    t, res = _median(_water_set)
    vals = {k: {m: round(v, 2) for m, v in r.as_dict().items()
                if m in ("mean_hu_centre", "noise_sd_centre", "uniformity_max_deviation_hu")}
            for k, r in res.items()}
    rows.append({"name": "ct.water, 13-image constancy set (load + 9 water slices)",
                 "imgqa_s": t, "reference_s": None, "ratio": None,
                 "notes": f"no reference tool for CT water phantoms; values {vals}"})
    ref = _reference()
    t, r = _median(lambda: _one("imageqc_CTP404_FOV150", "ct.catphan", slice_index=0))
    rows.append({"name": "ct.catphan CTP404, 3 images (slice 001 analysed)",
                 "imgqa_s": t, "reference_s": ref.get("catphan600_ctp404", {}).get("seconds"),
                 "ratio": None,
                 "notes": (f"Teflon {r.value('ctp404_hu_teflon'):.0f} (imageQCpy 931), air "
                           f"{r.value('ctp404_hu_air'):.0f} (−1006), rods "
                           f"{r.value('ctp404_rod_distance_mean_mm'):.2f} mm (50), thickness "
                           f"{r.value('ctp404_slice_thickness_mm'):.2f} mm (4.4–4.6); pylinac: "
                           f"{ref.get('catphan600_ctp404', {}).get('error', ref.get('error'))}")})
    t, r = _median(lambda: _one("imageqc_Wire_FOV50", "ct.mtf_wire"))
    rows.append({"name": "ct.mtf_wire, bead FOV 50 mm, 3 images", "imgqa_s": t,
                 "reference_s": None, "ratio": None,
                 "notes": (f"x MTF50/10 {r.value('mtf50_x'):.2f}/{r.value('mtf10_x'):.2f} "
                           "lp/mm (imageQCpy 1.1/1.5)")})
    t, r = _median(lambda: _one("imageqc_CTP486", "ct.nps", slice_index=0))
    rows.append({"name": "ct.nps CTP486 slice 005", "imgqa_s": t, "reference_s": None,
                 "ratio": None,
                 "notes": (f"SD {r.value('noise_sd_hu'):.1f} HU (imageQCpy ROI SD 6.8), "
                           f"median f {r.value('nps_f_median'):.2f}/mm (0.3)")})
    t, r = _median(lambda: _one("imageqc_CTP486", "ct.catphan"))
    rows.append({"name": "ct.catphan CTP486, 3 images (auto-chosen)", "imgqa_s": t,
                 "reference_s": None, "ratio": None,
                 "notes": (f"centre {r.value('ctp486_mean_hu_centre'):.1f} HU, SD "
                           f"{r.value('ctp486_noise_sd_centre'):.1f} (imageQCpy 13.1 / 6.8)")})
    t, r = _median(lambda: _one("imageqc_CTP591_06mm", "ct.catphan"))
    ramps = r.extra["ctp591_ramp_fwhm_mm"]
    rows.append({"name": "ct.catphan CTP591 bead ramps, 3 images (auto-chosen)", "imgqa_s": t,
                 "reference_s": None, "ratio": None,
                 "notes": (f"SSP FWHM {r.value('ctp591_slice_thickness_mm'):.2f} mm (nominal "
                           f"0.6), fine ramps {ramps['fine_left']:.2f}/{ramps['fine_right']:.2f}"
                           " (imageQCpy, slice 023: 0.7/0.7); coarse ramps not resolved")})
    rows.append(_synthetic_catphan())
    return rows


def _synthetic_catphan() -> dict:
    """ct.catphan on the 4-module synthetic demo series (no real CTP528/CTP515 images exist)."""
    import tempfile

    import imgqa
    from imgqa.phantoms import read_ground_truth
    from imgqa.phantoms.ct import demo_sets
    from imgqa.protocols import run_protocol

    with tempfile.TemporaryDirectory() as tmp:
        folder = demo_sets()["ct_catphan"](Path(tmp))
        truth = read_ground_truth(folder)
        t, r = _median(lambda: run_protocol("ct.catphan", imgqa.load(folder)[0])[0])
    t528, t515 = truth["ctp528"], truth["ctp515"]["targets"]["ctp515_cnr_1p0_15mm"]
    return {"name": "ct.catphan synthetic CTP404+528+515+486, 4 × 400²", "imgqa_s": t,
            "reference_s": None, "ratio": None,
            "notes": (f"MTF50/10 {r.value('ctp528_mtf50_lp_per_cm'):.2f}/"
                      f"{r.value('ctp528_mtf10_lp_per_cm'):.2f} lp/cm (truth "
                      f"{t528['mtf50_lp_per_cm']:.2f}/{t528['mtf10_lp_per_cm']:.2f}); CNR 1 % "
                      f"15 mm {r.value('ctp515_cnr_1p0_15mm'):.2f} (truth {t515['cnr']:.2f}); "
                      f"visible {r.value('ctp515_visible_targets'):.0f}/27")}


if __name__ == "__main__":
    for row in run():
        ref = "—" if row["reference_s"] is None else f"{row['reference_s']:.3f} s"
        print(f"{row['name']:<58} imgqa {row['imgqa_s']:.3f} s  ref {ref}\n    {row['notes']}")
