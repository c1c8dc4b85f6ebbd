"""NEMA flood uniformity: imgqa ``nm.uniformity`` vs pylinac ``PlanarUniformity`` vs a bare read.

Three timings on the same file, each the median of repeats and each including reading the file:

* imgqa: ``imgqa.analyse(path, "nm.uniformity")`` (load + decode + analysis + Result with
  input hashes), the whole public path.
* pylinac 3.49 ``PlanarUniformity(path).analyze()`` in .venv-ref (subprocess).
* bare ``pydicom.dcmread(path).pixel_array`` (in .venv-ref, pydicom 2.x; also timed here with
  pydicom 3 in .venv for fairness).

Files: a synthetic 1024² 16-bit flood at 0.4 mm (written to a temp dir with the NM phantom
generator; both tools then rebin by 16 → 6.4 mm) and the real 256² Mediso flood
(nmqc/UNIFORMIDAD_1.dcm, 2.065 mm: imgqa's NEMA factor is 3 → 6.2 mm, pylinac's power of two
is 4 → 8.26 mm, so agreement is checked with imgqa forced to factor 4 and ufov_fraction 0.95).

Run: ``.venv/bin/python benchmarks/bench_nm.py``.
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
SHARED = ROOT.parent / "shared" / "data"
REF_PY = ROOT / ".venv-ref" / "bin" / "python"
REPEATS = 15


def _median(fn, repeats: int = REPEATS) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _write_flood(folder: Path) -> Path:
    from imgqa.phantoms.nm import flood
    from imgqa.phantoms.writer import write_series

    img, _ = flood(1024, 0.4, hot=0.05, cold=0.04, counts_per_pixel=20_000, seed=7,
                   field_blocks=(48, 56))
    (path,) = write_series(img, folder, modality="NM", description="Flood 1024 (phantom)",
                           pixel_spacing_mm=0.4, prefix="flood1024")
    return path


def _reference(files: list[Path]) -> dict:
    if not REF_PY.exists():
        return {}
    proc = subprocess.run([str(REF_PY), str(ROOT / "benchmarks/reference/nm_ref.py"),
                           str(REPEATS), *map(str, files)], capture_output=True, text=True, check=False,
                          timeout=600)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    import pydicom

    import imgqa

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = [_write_flood(Path(tmp)), SHARED / "nm/nmqc/UNIFORMIDAD_1.dcm"]
        files = [f for f in files if f.exists()]
        ref = _reference(files)
        for f in files:
            t_imgqa = _median(lambda f=f: imgqa.analyse(f, "nm.uniformity"))
            t_load = _median(lambda f=f: imgqa.load(f)[0].pixels(0))
            t_pyd3 = _median(lambda f=f: pydicom.dcmread(f).pixel_array)
            (res,) = imgqa.analyse(f, "nm.uniformity")
            r = ref.get(str(f), {})
            pylinac_bin = r.get("bin")
            vals = (r.get("values") or {}).get("Frame 1", {})
            same = {}
            if pylinac_bin:
                (cmp_res,) = imgqa.analyse(f, "nm.uniformity", rebin_factor=pylinac_bin,
                                           ufov_fraction=0.95)
                same = {
                    "imgqa_iu_ufov": cmp_res.value("integral_uniformity_ufov"),
                    "pylinac_iu_ufov": vals.get("ufov_integral_uniformity"),
                    "imgqa_iu_cfov": cmp_res.value("integral_uniformity_cfov"),
                    "pylinac_iu_cfov": vals.get("cfov_integral_uniformity"),
                    "imgqa_du_ufov": cmp_res.value("differential_uniformity_ufov"),
                    "pylinac_du_ufov": vals.get("ufov_differential_uniformity"),
                    "imgqa_du_cfov": cmp_res.value("differential_uniformity_cfov"),
                    "pylinac_du_cfov": vals.get("cfov_differential_uniformity"),
                }
            t_pyl, t_bare = r.get("pylinac_s"), r.get("pydicom_s")
            notes = (f"imgqa NEMA factor {res.extra['rebin_factor']} "
                     f"({res.value('rebinned_pixel_mm'):.2f} mm): IU ufov/cfov "
                     f"{res.value('integral_uniformity_ufov'):.2f}/"
                     f"{res.value('integral_uniformity_cfov'):.2f} %; imgqa.load+decode "
                     f"{t_load * 1e3:.2f} ms; pydicom3 read {t_pyd3 * 1e3:.2f} ms")
            rows.append({
                "name": f"nm.uniformity {f.name}",
                "imgqa_s": t_imgqa,
                "reference_s": t_pyl,
                "ratio": (t_imgqa / t_pyl) if t_pyl else None,
                "bare_pydicom_s": t_bare,
                "ratio_vs_bare_read": (t_imgqa / t_bare) if t_bare else None,
                "ratio_vs_bare_read_pydicom3": t_imgqa / t_pyd3,
                "imgqa_load_s": t_load,
                "agreement": same,
                "notes": notes,
            })
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: imgqa {row['imgqa_s'] * 1e3:.2f} ms | pylinac "
              f"{(row['reference_s'] or float('nan')) * 1e3:.2f} ms | ratio "
              f"{row['ratio'] or float('nan'):.2f} | bare read "
              f"{(row['bare_pydicom_s'] or float('nan')) * 1e3:.2f} ms | ratio vs bare "
              f"{row['ratio_vs_bare_read'] or float('nan'):.2f} (vs pydicom3 "
              f"{row['ratio_vs_bare_read_pydicom3']:.2f})")
        print("   ", row["notes"])
        for k, v in row["agreement"].items():
            print(f"    {k}: {v if v is None else round(v, 3)}")
