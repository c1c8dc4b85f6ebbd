"""Issue 13 planar NM tests: imgqa vs pylinac where pylinac has the same test.

* ``nm.sensitivity`` vs pylinac 3.49 ``SimpleSensitivity`` (IAEA NMQC "simple sensitivity",
  the only planar test of issue 13 pylinac has): same files, each timed as the median of
  repeats including reading the file; agreement of the value (Tc-99m, 100 MBq, no
  calibration time, no background: both formulas are then identical).
* ``nm.linearity``, ``nm.sni`` and ``nm.scan_speed`` have no pylinac counterpart: imgqa alone,
  timed on the real images named in the issue (ratio vs a bare pydicom read).

Run: ``.venv/bin/python benchmarks/bench_nm_planar.py``. pylinac runs in .venv-ref next to
the repository (``IMGQA_REF_PY`` overrides; a worktree falls back to ../main/.venv-ref).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REPEATS = 15
ACTIVITY_MBQ = 100.0


def _ref_python() -> Path | None:
    for cand in (os.environ.get("IMGQA_REF_PY"), ROOT / ".venv-ref" / "bin" / "python",
                 ROOT.parent / "main" / ".venv-ref" / "bin" / "python"):
        if cand and Path(cand).exists():
            return Path(cand)
    return None


def _median(fn, repeats: int = REPEATS) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _reference(files: list[Path]) -> dict:
    py = _ref_python()
    if py is None:
        return {}
    proc = subprocess.run([str(py), str(ROOT / "benchmarks/reference/nm_planar_ref.py"),
                           str(REPEATS), str(ACTIVITY_MBQ), *map(str, files)],
                          capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> list[dict]:
    import pydicom

    import imgqa

    rows = []
    sens_files = [f for f in (SHARED / "nm/nmqc/UNIFORMIDAD_1.dcm",
                              SHARED / "nm/nmqc/Spatial_Resol_X.dcm") if f.exists()]
    ref = _reference(sens_files)
    for f in sens_files:
        t_imgqa = _median(lambda f=f: imgqa.analyse(f, "nm.sensitivity",
                                                    activity_mbq=ACTIVITY_MBQ))
        (res,) = imgqa.analyse(f, "nm.sensitivity", activity_mbq=ACTIVITY_MBQ)
        r = ref.get(str(f), {})
        t_pyl = r.get("pylinac_s")
        rows.append({
            "name": f"nm.sensitivity {f.name}",
            "imgqa_s": t_imgqa, "reference_s": t_pyl,
            "ratio": (t_imgqa / t_pyl) if t_pyl else None,
            "agreement": {"imgqa_cps_per_mbq": res.value("sensitivity_cps_per_mbq"),
                          "pylinac_cps_per_mbq": r.get("sensitivity")},
            "notes": f"{ACTIVITY_MBQ:g} MBq Tc-99m at the acquisition start; pylinac "
                     "SimpleSensitivity (IAEA NMQC)",
        })
    for proto, rel in (("nm.linearity", "nm/nmqc/Spatial_Resol_X.dcm"),
                       ("nm.sni", "nm/nmqc/UNIFORMIDAD_1.dcm"),
                       ("nm.scan_speed", "nm/imageqc/WB_scanspeed.dcm")):
        f = SHARED / rel
        if not f.exists():
            continue
        t_imgqa = _median(lambda f=f, p=proto: imgqa.analyse(f, p), repeats=5)
        t_bare = _median(lambda f=f: pydicom.dcmread(f).pixel_array, repeats=5)
        results = imgqa.analyse(f, proto)
        key = results[0].measurements[0]
        rows.append({
            "name": f"{proto} {f.name}", "imgqa_s": t_imgqa, "reference_s": None,
            "ratio": None, "ratio_vs_bare_read": t_imgqa / t_bare,
            "notes": f"no pylinac counterpart; {key.name} = "
                     + ", ".join(f"{r.value(key.name):.3f}" for r in results),
        })
    return rows


if __name__ == "__main__":
    for row in run():
        ratio = row["ratio"]
        print(f"{row['name']}: imgqa {row['imgqa_s'] * 1e3:.2f} ms | pylinac "
              f"{(row['reference_s'] or float('nan')) * 1e3:.2f} ms | ratio "
              f"{ratio if ratio is not None else float('nan'):.2f} | {row['notes']}")
        for k, v in row.get("agreement", {}).items():
            print(f"    {k}: {v if v is None else round(v, 4)}")
