"""imgqa's single-threaded BLAS default vs the libraries' own (one thread per core), issue 17.

Each command runs as a fresh ``imgqa`` process twice per round: as installed (the entry point
sets ``OPENBLAS_NUM_THREADS=1`` etc., `imgqa._blas`) and with ``IMGQA_BLAS_THREADS=auto`` (the
opt-out: OpenBLAS starts one thread per core). The two are interleaved so the machine's load hits
them alike; the median wall and CPU time (user + system of the process and its children) of
``repeats`` rounds are reported (``run()`` for ``run_all.py``, JSON lines when run alone), with
the load average. Commands: the validation
suite (``imgqa validate``: every protocol on its digital phantoms), the CT and NM series with
the heaviest kernels, and the whole shared data set with one job and with the default jobs.

Run: ``.venv/bin/python benchmarks/bench_blas_threads.py [repeats] [command-name ...]``.
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
REPEATS = 2

COMMANDS = {
    "validate": ["validate", "--format", "json"],
    "analyse ct/imageqc_CTP404_FOV150": ["analyse", str(SHARED / "ct" / "imageqc_CTP404_FOV150"),
                                         "--format", "json"],
    "analyse nm": ["analyse", str(SHARED / "nm"), "--format", "json", "--jobs", "1"],
    "analyse shared data --jobs 1": ["analyse", str(SHARED), "--format", "json", "--jobs", "1"],
    "analyse shared data (default jobs)": ["analyse", str(SHARED), "--format", "json"],
}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    c0, t0 = _cpu(), time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "imgqa.cli.main", *argv], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0, _cpu() - c0, proc.returncode


def run(repeats: int = REPEATS, names: list[str] | None = None) -> list[dict]:
    """One row per command (``benchmarks/run_all.py``'s format): default vs ``auto``.

    ``imgqa_s``/``reference_s`` are the median wall times with imgqa's single-threaded default
    and with ``IMGQA_BLAS_THREADS=auto``; ``cpu_ratio`` compares their median CPU times. Without
    ``names``, the whole-data-set commands are left out (``bench_batch.py`` times those).
    """
    names = names or [n for n in COMMANDS if "shared data" not in n]
    rows = []
    with tempfile.TemporaryDirectory(prefix="imgqa-bench-blas-") as home:
        base = {k: v for k, v in os.environ.items()
                if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                             "VECLIB_MAXIMUM_THREADS", "IMGQA_BLAS_THREADS", "IMGQA_DB",
                             "PYTHONDONTWRITEBYTECODE")}
        base.update(PYTHONPATH=str(ROOT / "src"), IMGQA_DATA_DIR=home,
                    PYTHONPYCACHEPREFIX=str(Path(home) / "pycache"), QT_QPA_PLATFORM="offscreen")
        variants = {"default": base, "auto": {**base, "IMGQA_BLAS_THREADS": "auto"}}
        for name in names:
            argv = COMMANDS[name]
            _run(argv, base)   # warm the file cache and the bytecode, untimed
            wall: dict[str, list[float]] = {v: [] for v in variants}
            cpu: dict[str, list[float]] = {v: [] for v in variants}
            codes: dict[str, int] = {}
            loads = []
            for _ in range(repeats):
                for variant, env in variants.items():
                    loads.append(os.getloadavg()[0])
                    t, used, codes[variant] = _run(argv, env)
                    wall[variant].append(t)
                    cpu[variant].append(used)
            w = {v: statistics.median(x) for v, x in wall.items()}
            c = {v: statistics.median(x) for v, x in cpu.items()}
            rows.append({"name": f"{name}: single-threaded BLAS vs IMGQA_BLAS_THREADS=auto",
                         "imgqa_s": w["default"], "reference_s": w["auto"],
                         "ratio": w["default"] / w["auto"],
                         "cpu_ratio": c["default"] / c["auto"],
                         "notes": f"median of {repeats}; CPU s default {c['default']:.2f}, "
                                  f"auto {c['auto']:.2f}; load avg {min(loads):.1f}-"
                                  f"{max(loads):.1f}; exit codes {codes['default']}/"
                                  f"{codes['auto']}"})
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


if __name__ == "__main__":
    args = sys.argv[1:]
    n = int(args.pop(0)) if args and args[0].isdigit() else REPEATS
    for row in run(n, args or list(COMMANDS)):
        print(json.dumps(row))
