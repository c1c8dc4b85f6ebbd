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
    from imgqa.phantoms.xray import write_edge
    from imgqa.phantoms.writer import read_ground_truth

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
