"""Whole-process command timings (issue 17), as a user runs them, start-up included.

* ``imgqa --version`` and ``imgqa protocols``;
* ``imgqa analyse <ACR series> --format json`` as installed (single-threaded BLAS, `imgqa._blas`)
  and with ``IMGQA_BLAS_THREADS=auto`` (OpenBLAS's own one thread per core);
* ``imgqa analyse <ACR series> --format json`` vs hazen 2.0's own CLI running one ACR task
  (``hazen acr_snr <folder>``) on the same series, and vs a pylinac 3.49 script
  (``python -c "from pylinac import ACRMRILarge; ..."``) on the same folder;
* the same with ``IMGQA_LEAN_IMPORTS=0``: without the import hooks (`imgqa._lean_imports`) that
  leave pydicom's image codecs and SciPy's docstring parsing out of start-up;
* the floor under ``imgqa analyse``: a bare interpreter importing only the libraries the command
  cannot do without (numpy, pydicom, ``scipy.ndimage``, ``scipy.fft``; single-threaded BLAS as
  imgqa runs) the way the command imports them (with the hooks), nothing else of imgqa, so its
  ratio to hazen's CLI is the best any change inside imgqa could reach; and the same imports
  plain (docs/validation.md, "Whole-process CLI timings").

Each command is a fresh process; the tools' runs are interleaved (imgqa, hazen, pylinac, imgqa,
...) so that the machine's load hits them alike; the median of ``repeats`` is reported with
the load average, and the median CPU time (user + system of the process and its children, from
``getrusage``), which the machine's load disturbs much less than the wall time. imgqa runs as a
new user would: no results database (a temporary ``IMGQA_DATA_DIR``), so nothing is judged
against stored baselines; and as an installed package runs, from compiled bytecode (a
``PYTHONPYCACHEPREFIX`` cache filled by the untimed warm-up run; with
``PYTHONDONTWRITEBYTECODE`` set, as in this project's shells, every run would compile imgqa's
sources again, ≈ 0.25 s CPU, which hazen's and pylinac's installed packages never do).

Run: ``.venv/bin/python benchmarks/bench_cli.py [repeats]``.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
ACR = SHARED / "mr" / "acr" / "hazen_Siemens"
REPEATS = 5


def _ref_bin() -> Path:
    """The reference tools' environment: ROOT/.venv-ref, else the main checkout's (worktrees)."""
    env = os.environ.get("IMGQA_REF_VENV")
    for cand in ([Path(env)] if env else []) + [ROOT / ".venv-ref", Path("/work/main/.venv-ref")]:
        if (cand / "bin" / "python").exists():
            return cand / "bin"
    return ROOT / ".venv-ref" / "bin"


# What `imgqa analyse <ACR series>` must import whatever imgqa does: reading DICOM (pydicom, numpy)
# and the ACR kernels' SciPy modules.
FLOOR_SCRIPT = "import numpy, pydicom, scipy.ndimage, scipy.fft"
# The same imports as the imgqa command makes them: its import hooks first (imgqa._lean_imports:
# pydicom's image codecs on first use, no SciPy docstring parsing at import).
LEAN_FLOOR_SCRIPT = f"from imgqa import _lean_imports; _lean_imports.apply(); {FLOOR_SCRIPT}"

PYLINAC_SCRIPT = ("import sys; from pylinac import ACRMRILarge; a = ACRMRILarge(sys.argv[1]); "
                  "a.analyze(); print(a.results())")


def _commands(data_home: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    imgqa_env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "IMGQA_DATA_DIR": data_home,
                 "QT_QPA_PLATFORM": "offscreen"}
    imgqa_env.pop("IMGQA_DB", None)
    for var in ("IMGQA_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
        imgqa_env.pop(var, None)   # imgqa as a user runs it: its own default thread count
    imgqa_env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode as an installed package has it
    imgqa_env["PYTHONPYCACHEPREFIX"] = str(Path(data_home) / "pycache")
    imgqa = [sys.executable, "-m", "imgqa.cli.main"]
    ref = _ref_bin()
    return {
        "imgqa --version": (imgqa + ["--version"], imgqa_env),
        "imgqa protocols": (imgqa + ["protocols"], imgqa_env),
        "imgqa analyse ACR --format json": (imgqa + ["analyse", str(ACR), "--format", "json"],
                                            imgqa_env),
        # The same with the libraries' own BLAS threads (one per core), imgqa's default before
        # it ran single-threaded BLAS (imgqa._blas): what that default saves, in the same run.
        "imgqa analyse ACR, IMGQA_BLAS_THREADS=auto": (
            imgqa + ["analyse", str(ACR), "--format", "json"],
            {**imgqa_env, "IMGQA_BLAS_THREADS": "auto"}),
        # What the lean-import hooks save, in the same run.
        "imgqa analyse ACR, IMGQA_LEAN_IMPORTS=0": (
            imgqa + ["analyse", str(ACR), "--format", "json"],
            {**imgqa_env, "IMGQA_LEAN_IMPORTS": "0"}),
        "libraries only (floor)": ([sys.executable, "-c", LEAN_FLOOR_SCRIPT],
                                   {**imgqa_env, "OPENBLAS_NUM_THREADS": "1",
                                    "OMP_NUM_THREADS": "1"}),
        "libraries only, plain import": ([sys.executable, "-c", FLOOR_SCRIPT],
                                         {**imgqa_env, "OPENBLAS_NUM_THREADS": "1",
                                          "OMP_NUM_THREADS": "1"}),
        "hazen acr_snr": ([str(ref / "hazen"), "acr_snr", str(ACR)], dict(os.environ)),
        "pylinac ACRMRILarge script": ([str(ref / "python"), "-c", PYLINAC_SCRIPT, str(ACR)],
                                       dict(os.environ)),
    }


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _time(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Wall and CPU seconds (user + system of the process and its children) of one run."""
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    return wall, cpu, proc.returncode, proc.stderr[-300:]


def run(repeats: int = REPEATS) -> list[dict]:
    if not ACR.is_dir():
        return [{"name": "CLI timings", "notes": f"{ACR} not found"}]
    with tempfile.TemporaryDirectory(prefix="imgqa-bench-cli-") as home:
        cmds = _commands(home)
        if not (_ref_bin() / "hazen").exists():
            cmds = {k: v for k, v in cmds.items() if k.startswith("imgqa")}
        times: dict[str, list[float]] = {k: [] for k in cmds}
        cpus: dict[str, list[float]] = {k: [] for k in cmds}
        codes: dict[str, int] = {}
        errors: dict[str, str] = {}
        loads = []
        for cmd, env in cmds.values():  # warm the file cache once, untimed
            _time(cmd, env)
        for _ in range(repeats):
            for name, (cmd, env) in cmds.items():
                loads.append(os.getloadavg()[0])
                t, cpu, code, err = _time(cmd, env)
                times[name].append(t)
                cpus[name].append(cpu)
                codes[name] = code
                if code:
                    errors[name] = err
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpus.items()}
    load = f"load avg {min(loads):.1f}-{max(loads):.1f}"
    rows = []
    for name in ("imgqa --version", "imgqa protocols"):
        rows.append({"name": name, "imgqa_s": med[name], "reference_s": None, "ratio": None,
                     "cpu_s": cpu_med[name],
                     "notes": f"median of {repeats}; CPU {cpu_med[name]:.2f} s; {load}; "
                              f"exit {codes[name]}"})
    a = "imgqa analyse ACR --format json"
    auto = "imgqa analyse ACR, IMGQA_BLAS_THREADS=auto"
    rows.append({"name": f"{auto} vs single-threaded BLAS (imgqa's default)",
                 "imgqa_s": med[a], "reference_s": med[auto], "ratio": med[a] / med[auto],
                 "cpu_ratio": cpu_med[a] / cpu_med[auto],
                 "notes": f"median of {repeats}; CPU s default {cpu_med[a]:.2f}, auto "
                          f"{cpu_med[auto]:.2f}; {load}; exit {codes[auto]}"})
    plain = "imgqa analyse ACR, IMGQA_LEAN_IMPORTS=0"
    rows.append({"name": f"imgqa analyse ACR vs {plain} (import hooks off)",
                 "imgqa_s": med[a], "reference_s": med[plain], "ratio": med[a] / med[plain],
                 "cpu_ratio": cpu_med[a] / cpu_med[plain],
                 "notes": f"median of {repeats}; CPU s default {cpu_med[a]:.2f}, hooks off "
                          f"{cpu_med[plain]:.2f}; libraries alone {med['libraries only (floor)']:.3f}"
                          f" s with the hooks, {med['libraries only, plain import']:.3f} s "
                          f"without; {load}; exit {codes[plain]}"})
    floor = "libraries only (floor)"
    if "hazen acr_snr" in med:
        h = "hazen acr_snr"
        rows.append({"name": f"{floor}: python -c '{LEAN_FLOOR_SCRIPT}' vs {h}",
                     "imgqa_s": med[floor], "reference_s": med[h], "ratio": med[floor] / med[h],
                     "cpu_s": cpu_med[floor], "cpu_ratio": cpu_med[floor] / cpu_med[h],
                     "notes": f"median of {repeats}; CPU s floor {cpu_med[floor]:.2f}, imgqa "
                              f"analyse {cpu_med[a]:.2f} (imgqa's own part "
                              f"{cpu_med[a] - cpu_med[floor]:.2f}), {h} {cpu_med[h]:.2f}; "
                              f"{load}; exit {codes[floor]}"})
    for peer in ("hazen acr_snr", "pylinac ACRMRILarge script"):
        if peer in med:
            rows.append({"name": f"{a} vs {peer} (whole process, {ACR.name})",
                         "imgqa_s": med[a], "reference_s": med[peer],
                         "ratio": med[a] / med[peer], "cpu_ratio": cpu_med[a] / cpu_med[peer],
                         "notes": f"median of {repeats}; CPU s imgqa {cpu_med[a]:.2f}, {peer} "
                                  f"{cpu_med[peer]:.2f} (ratio {cpu_med[a] / cpu_med[peer]:.2f}); {load}; "
                                  f"exit codes imgqa {codes[a]}, "
                                  f"{peer} {codes[peer]}"
                                  + (f"; {peer} stderr: {errors[peer]!r}" if peer in errors
                                     else "")})
    return rows


if __name__ == "__main__":
    for row in run(int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS):
        print(json.dumps(row))
