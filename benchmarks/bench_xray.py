"""X-ray detector QC: edge MTF speed and agreement with a maintained reference, plus timings.

Reference: dicom-image-tools 25 (`mtf_edge_phantom`), installed in .venv-ref
(`.venv-ref/bin/pip install dicom-image-tools`). pylinac 3.49 has no slanted-edge analysis (its
`EdgeSpreadFunctionMTF` only Fourier-transforms ESFs it is given) and hazen has none for X-ray,
so NPS, TG-150 uniformity and STP are timed for imgqa alone.

Each timing covers reading the file and the whole analysis (median of repeats). The reference
needs a square ROI holding the edge; it is centred on the edge midpoint imgqa found (a user
places it by hand in that package). Agreement is judged against the analytic MTF50 of a
synthetic Gaussian-blurred edge (truth), and between the tools on the real intra-oral edges.

Run: ``.venv/bin/python benchmarks/bench_xray.py`` (or ``make bench``).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "xray" / "intraoral"
REF_PY = ROOT / ".venv-ref" / "bin" / "python"
REF_SCRIPT = ROOT / "benchmarks" / "reference" / "xray_ref.py"
REPEATS = 5
REF_ROI_PX = 256


def _time_imgqa(path: Path, protocol: str, **params) -> tuple[float, object]:
    import imgqa
    from imgqa.protocols.base import run_protocol

    times, res = [], None
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        series = imgqa.load(path)
        (res,) = run_protocol(protocol, series[0], **params)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res


def _reference(path: Path, centre_rc: tuple[float, float]) -> dict | None:
    if not REF_PY.exists():
        return None
    proc = subprocess.run([str(REF_PY), str(REF_SCRIPT), str(path), f"{centre_rc[0]:.1f}",
                           f"{centre_rc[1]:.1f}", str(REF_ROI_PX), "3"],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _edge_row(name: str, path: Path, truth: float | None) -> dict:
    t_imgqa, res = _time_imgqa(path, "xray.mtf_edge")
    (p0, p1), = [r.points for r in res.rois if r.role == "edge"]
    centre = ((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2)
    ref = _reference(path, centre)
    m = res.value("mtf50")
    notes = [f"imgqa MTF50 {m:.3f} lp/mm"]
    if truth is not None:
        notes.append(f"truth {truth:.3f} ({100 * (m / truth - 1):+.2f} %)")
    ref_s = None
    if ref is None:
        notes.append("reference not installed in .venv-ref")
    elif ref.get("error"):
        notes.append(f"reference failed: {ref['error']}")
    else:
        ref_s = ref["seconds"]
        r50 = ref.get("mtf50_lp_per_mm")
        if r50 is not None:
            notes.append(f"dicom-image-tools MTF50 {r50:.3f} lp/mm (index axis converted"
                         + (", image inverted)" if ref.get("inverted") else ")")
                         + (f", {100 * (r50 / truth - 1):+.1f} % vs truth" if truth else ""))
    return {"name": name, "imgqa_s": t_imgqa, "reference_s": ref_s,
            "ratio": t_imgqa / ref_s if ref_s else None,
            "agreement": m if truth is None else m / truth - 1, "notes": "; ".join(notes)}


def run() -> list[dict]:
    from imgqa.phantoms.writer import read_ground_truth
    from imgqa.phantoms.xray import write_edge

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_edge(Path(tmp) / "edge", shape=(512, 512), pixel_mm=0.1, angle_deg=3.0,
                            sigma_mm=0.1, noise_sd=5.0)
        truth = read_ground_truth(folder)["mtf50_lp_per_mm"]
        rows.append(_edge_row("mtf_edge synthetic 512² σ=0.1 mm 3°", next(folder.glob("*.dcm")),
                              truth))
    if SHARED.is_dir():
        for name in ("edge_Image5.dcm", "edge_Image9.dcm"):
            rows.append(_edge_row(f"mtf_edge {name} (854×1200)", SHARED / name, None))
        flat = SHARED / "flatfield_60kV.dcm"
        for protocol in ("xray.uniformity", "xray.nps"):
            t, res = _time_imgqa(flat, protocol)
            key = "global_signal_nonuniformity" if protocol == "xray.uniformity" else "noise_sd"
            rows.append({"name": f"{protocol} flatfield_60kV", "imgqa_s": t, "reference_s": None,
                         "ratio": None, "agreement": None,
                         "notes": f"{key} {res.value(key):.3f}; no maintained reference tool"})
    rows.extend(run_issue15())
    return rows


def _pylinac_tor(path: Path) -> dict:
    """pylinac 3.49 LeedsTOR on one file, in .venv-ref: seconds, or the error it raised."""
    ref_py = REF_PY if REF_PY.exists() else Path("/work/main/.venv-ref/bin/python")
    if not ref_py.exists():
        return {"error": "pylinac not installed in .venv-ref"}
    code = ("import json, sys, time\nfrom pylinac.planar_imaging import LeedsTOR\n"
            "t = time.perf_counter()\n"
            "try:\n    t0 = LeedsTOR(sys.argv[1]); t0.analyze()\n"
            "    print(json.dumps({'seconds': time.perf_counter() - t,"
            " 'seen': t0.results_data().num_contrast_rois_seen}))\n"
            "except Exception as e:\n"
            "    print(json.dumps({'error': type(e).__name__ + ': ' + str(e)[:120]}))\n")
    proc = subprocess.run([str(ref_py), "-c", code, str(path)], capture_output=True, text=True,
                          timeout=600)
    lines = proc.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {"error": proc.stderr.strip()[-200:]}


def run_issue15() -> list[dict]:
    """Issue 15 protocols, timed on their digital phantoms (reading included); pylinac's
    LeedsTOR is tried on the TOR phantom (written with Pixel Spacing for it)."""
    import numpy as np

    from imgqa.phantoms.writer import write_series
    from imgqa.phantoms.xray import (
        leeds_tor,
        write_defect_flat_field,
        write_ei_flat_field,
    )

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        img, truth = leeds_tor(seed=1)
        (tor,) = write_series(np.clip(img, 0, 65535), Path(tmp) / "tor", modality="DX",
                              description="QC Leeds TOR 18FG", pixel_spacing_mm=0.15,
                              spacing_tag="PixelSpacing")
        t, res = _time_imgqa(tor, "xray.leeds_tor")
        ref = _pylinac_tor(tor)
        ref_s = ref.get("seconds")
        rows.append({"name": "leeds_tor phantom 1200²", "imgqa_s": t, "reference_s": ref_s,
                     "ratio": t / ref_s if ref_s else None, "agreement": None,
                     "notes": f"discs {res.value('discs_detected'):.0f}, limiting "
                              f"{res.value('limiting_resolution_lp_mm')} lp/mm (truth "
                              f"{truth['limiting_resolution_lp_mm']}); pylinac LeedsTOR: "
                              + (f"{ref.get('seen')} discs seen" if ref_s else
                                 ref.get("error", "?"))})
        folder = write_defect_flat_field(Path(tmp) / "def", shape=(1024, 1024), seed=2)
        t, res = _time_imgqa(next(folder.glob("*.dcm")), "xray.defects")
        rows.append({"name": "defects phantom 1024²", "imgqa_s": t, "reference_s": None,
                     "ratio": None, "agreement": None,
                     "notes": f"defective_pixels {res.value('defective_pixels'):.0f}; no peer"})
        folder = write_ei_flat_field(Path(tmp) / "ei", shape=(2048, 2048))
        t, res = _time_imgqa(next(folder.glob("*.dcm")), "xray.exposure_index",
                             cal_slope=400.0, cal_intercept=100.0)
        rows.append({"name": "exposure_index 2048²", "imgqa_s": t, "reference_s": None,
                     "ratio": None, "agreement": None,
                     "notes": f"EI {res.value('exposure_index'):.1f} (truth 250); no peer"})
    if SHARED.is_dir():
        t, res = _time_imgqa(SHARED / "flatfield_60kV.dcm", "xray.defects")
        rows.append({"name": "xray.defects flatfield_60kV", "imgqa_s": t, "reference_s": None,
                     "ratio": None, "agreement": None,
                     "notes": f"defective_pixels {res.value('defective_pixels'):.0f}, lines "
                              f"{res.value('defective_lines'):.0f}; no peer"})
    return rows


def main() -> int:
    rows = run()
    print(f"{'name':44s} {'imgqa s':>9s} {'ref s':>9s} {'ratio':>7s}  notes")
    for r in rows:
        ref = f"{r['reference_s']:.4f}" if r["reference_s"] else "—"
        ratio = f"{r['ratio']:.3f}" if r["ratio"] else "—"
        print(f"{r['name']:44s} {r['imgqa_s']:9.4f} {ref:>9s} {ratio:>7s}  {r['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
