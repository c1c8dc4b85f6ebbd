"""Measure the bundle for docs/install.md: size, ``--version``, ``validate``, GUI start-up.

``python installer/measure.py [dist/imgqa/imgqa] [--runs N]``. Every command runs with an
empty environment (``env -i``; the GUI gets a temporary ``HOME`` so it never touches the real
user's data). GUI start-up is the wall time of ``imgqa gui --screenshot FILE`` with no images:
process start → main window shown, database connected, window painted and grabbed → exit; an
upper bound of "window visible". Wall times depend on the machine's load, so the CPU time
(user + system of the child) is printed beside them.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import folder_size_mb  # noqa: E402


def _timed(cmd: list[str], env: dict[str, str], cwd: str) -> tuple[float, float]:
    """(wall s, child CPU s) of one run of `cmd`; raises if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("exe", nargs="?", default="dist/imgqa/imgqa")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    exe = str(Path(args.exe).resolve())
    print(f"bundle size: {folder_size_mb(Path(exe).parent):.0f} MB")
    with tempfile.TemporaryDirectory() as tmp:
        jobs = {
            "--version": ([exe, "--version"], {}),
            "validate": ([exe, "validate"], {}),
            "gui start-up": ([exe, "gui", "--screenshot", os.path.join(tmp, "w.png")],
                             {"HOME": tmp}),
        }
        for name, (cmd, env) in jobs.items():
            runs = [_timed(cmd, env, tmp) for _ in range(args.runs)]
            wall = statistics.median(w for w, _ in runs)
            cpu = statistics.median(c for _, c in runs)
            first = runs[0][0]
            print(f"{name:13s} median wall {wall:5.1f} s (first run {first:.1f} s), "
                  f"CPU {cpu:.1f} s, n={len(runs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
