"""SPECT: imgqa ``spect.cor`` / ``spect.resolution`` / ``spect.uniformity_contrast`` vs pylinac
3.49 ``CenterOfRotation`` / ``TomographicResolution`` / ``TomographicUniformity`` +
``TomographicContrast`` on the same files, each the median of repeats including reading.

Files:

* COR: a digital single-head point-source acquisition (64 projections of 128², 3.3 mm), written
  to a temp dir (no real COR projections in ../shared/data). pylinac fits all frames as one
  rotation and ignores the Detector Vector, so two-head files are not comparable.
* Resolution: the real Siemens line-source reconstruction (imageqc_spect) and a digital
  single-line volume.
* Uniformity/contrast: the real Mediso Jaszczak reconstruction (nmqc/Jaszack.dcm); pylinac gets
  the uniform slices imgqa found.

pylinac reports other quantities than imgqa for COR (largest residual of the sinusoid fit, not
the offset of the axis) and contrast (Michelson, in a sphere of the nominal size): the
``agreement`` rows convert where possible (docs/nm.md explains).

Run: ``.venv/bin/python benchmarks/bench_spect.py``. ``IMGQA_REF_PY`` overrides the
reference interpreter (default ``.venv-ref`` next to the repository root).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
_REF_CANDIDATES = [Path(p) for p in (os.environ.get("IMGQA_REF_PY", ""),) if p] + [
    ROOT / ".venv-ref" / "bin" / "python", ROOT.parent / "main" / ".venv-ref" / "bin" / "python"]
REF_PY = next((p for p in _REF_CANDIDATES if p.exists()), _REF_CANDIDATES[-1])
REPEATS = 5


def _median(fn, repeats: int = REPEATS) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _write_inputs(folder: Path) -> dict[str, Path]:
    from imgqa.phantoms.spect import (
        cor_projections,
        line_volume,
        write_projections,
        write_reconstruction,
    )

    stack, ang, heads, truth = cor_projections(heads=1, n_per_head=64, size=128, pixel_mm=3.3,
                                               fwhm_mm=10.0, offsets_px=(0.6,), row_px=60.3,
                                               peak_counts=400.0, background=0.5, seed=5)
    cor = write_projections(stack, ang, heads, folder / "cor", pixel_mm=3.3,
                            description="SPECT COR point source (phantom)")
    vol, t = line_volume(shape=(64, 128, 128), pixel_mm=2.4, lines=((12.0, -8.0, 0.0, 0.0),))
    line = write_reconstruction(vol, folder / "line", pixel_mm=2.4,
                                description="SPECT line source [Recon] (phantom)")
    return {"cor": cor, "line": line}


def _reference(args: list[str]) -> dict:
    if not REF_PY.exists():
        return {}
    proc = subprocess.run([str(REF_PY), str(ROOT / "benchmarks/reference/spect_ref.py"),
                           str(REPEATS), *args], capture_output=True, text=True, check=False,
                          timeout=1800)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _row(name, t_imgqa, ref, agreement, notes) -> dict:
    t_ref = (ref or {}).get("pylinac_s")
    return {"name": name, "imgqa_s": t_imgqa, "reference_s": t_ref,
            "ratio": (t_imgqa / t_ref) if t_ref else None, "agreement": agreement,
            "notes": notes}


def run() -> list[dict]:
    import imgqa

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = _write_inputs(Path(tmp))
        real_line = SHARED / "nm/imageqc_spect/linesource_tomo_recon.dcm"
        jas = SHARED / "nm/nmqc/Jaszack.dcm"
        (jr,) = imgqa.analyse(jas, "spect.uniformity_contrast") if jas.exists() else (None,)
        first, last = jr.extra["uniform_slices"] if jr is not None else (0, 0)
        args = [f"cor={files['cor']}", f"resolution={files['line']}"]
        if real_line.exists():
            args.append(f"resolution={real_line}")
        if jr is not None:
            args.append(f"uniformity:{first}:{last}={jas}")
        ref = _reference(args)

        # COR
        f = files["cor"]
        (r,) = imgqa.analyse(f, "spect.cor")
        t = _median(lambda: imgqa.analyse(f, "spect.cor"))
        res_max_mm = max(abs(a - b) for c, d in zip(r.curves[0::3], r.curves[1::3])
                         for a, b in zip(c.y, d.y)) * 3.3
        v = (ref.get(str(f)) or {}).get("values", {})
        rows.append(_row("spect.cor 1-head phantom (64 × 128²)", t, ref.get(str(f)), {
            "imgqa_cor_offset_mm (truth 1.98)": r.value("cor_offset_mm"),
            "imgqa_max_residual_mm": res_max_mm,
            "pylinac_x_deviation_mm (max residual)": v.get("x_deviation_mm"),
            "imgqa_y_range_mm": r.value("y_drift_mm"),
            "pylinac_y_deviation_mm (max |y − mean|)": v.get("y_deviation_mm")}, ""))

        # Resolution
        for label, f in (("phantom line (truth 10.0 mm)", files["line"]),
                         ("real line source", real_line)):
            if not f.exists():
                continue
            (r,) = imgqa.analyse(f, "spect.resolution")
            t = _median(lambda f=f: imgqa.analyse(f, "spect.resolution"))
            v = (ref.get(str(f)) or {}).get("values", {})
            rows.append(_row(f"spect.resolution {label}", t, ref.get(str(f)), {
                "imgqa_fwhm_x_mm": r.value("fwhm_x_mm"), "pylinac_x_fwhm": v.get("x_fwhm"),
                "imgqa_fwhm_y_mm": r.value("fwhm_y_mm"), "pylinac_y_fwhm": v.get("y_fwhm"),
                "imgqa_fwtm_x_mm": r.value("fwtm_x_mm"), "pylinac_x_fwtm": v.get("x_fwtm"),
                "pylinac_z_fwhm (profile along the line)": v.get("z_fwhm")}, ""))

        # Uniformity and contrast
        if jr is not None:
            t = _median(lambda: imgqa.analyse(jas, "spect.uniformity_contrast"), 3)
            v = (ref.get(str(jas)) or {}).get("values", {})
            u = v.get("uniformity", {})
            spheres = (v.get("contrast", {}) or {}).get("spheres", {})
            agree = {"uniform slices (0-based)": f"{first}–{last}",
                     "imgqa_iu_percent (4.13 mm, 9-point)":
                         jr.value("tomographic_integral_uniformity_percent"),
                     "pylinac_ufov_iu (binned ×2 → 8.26 mm)": u.get("ufov_integral_uniformity"),
                     "pylinac_cfov_iu": u.get("cfov_integral_uniformity")}
            for k in range(1, 6):
                c = jr.value(f"sphere_{k}_contrast_percent")
                if c is not None:
                    s = 1 - c / 100  # sphere/uniform ratio → Michelson (B − S)/(B + S)
                    agree[f"sphere {k} imgqa (1−S/B) / as Michelson"] = \
                        f"{c:.1f} / {100 * (1 - s) / (1 + s):.1f}"
                sp = spheres.get(str(k))
                if sp:
                    agree[f"sphere {k} pylinac Michelson mean / max"] = \
                        f"{sp['mean_contrast']:.1f} / {sp['max_contrast']:.1f}"
            rows.append(_row("spect.uniformity_contrast real Jaszczak (45 × 128²)", t,
                             ref.get(str(jas)), agree,
                             "pylinac = TomographicUniformity + TomographicContrast"))
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: imgqa {row['imgqa_s'] * 1e3:.1f} ms | pylinac "
              f"{(row['reference_s'] or float('nan')) * 1e3:.1f} ms | ratio "
              f"{row['ratio'] or float('nan'):.3f}")
        for k, v in row["agreement"].items():
            print(f"    {k}: {round(v, 3) if isinstance(v, float) else v}")
