"""Build the wheel and the one-folder bundle: ``python installer/build.py`` (``make installer``).

Run it with the Python of a build environment that has ``.[installer]`` installed (the Makefile
makes ``.venv-build``). Steps, the same on Linux, Windows and macOS:

1. ``python -m build --wheel`` → ``dist/imgqa-<version>-py3-none-any.whl``;
2. install that wheel into this environment, so PyInstaller bundles exactly the wheel's files;
3. ``pyinstaller installer/imgqa.spec`` → ``dist/imgqa/`` (``imgqa``, on Windows also
   ``imgqa-gui.exe``);
4. smoke test: ``dist/imgqa/imgqa --version``.

Prints the time of each step and the bundle's size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"


def _run(*cmd: str | Path) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def folder_size_mb(folder: Path) -> float:
    """Total size of the files under `folder`, in MB (10^6 bytes); symbolic links (PyInstaller
    links the Qt libraries into the top folder on Linux) are not counted twice."""
    return sum(p.lstat().st_size for p in folder.rglob("*")
               if p.is_file() and not p.is_symlink()) / 1e6


def main() -> int:
    times: dict[str, float] = {}
    t = time.perf_counter()
    for old in DIST.glob("imgqa-*.whl"):
        old.unlink()
    _run(sys.executable, "-m", "build", "--wheel", "--outdir", DIST, ROOT)
    (wheel,) = DIST.glob("imgqa-*.whl")
    times["wheel"] = time.perf_counter() - t

    t = time.perf_counter()
    _run(sys.executable, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel)
    times["install wheel"] = time.perf_counter() - t

    t = time.perf_counter()
    _run(sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
         "--distpath", DIST, "--workpath", ROOT / "build" / "pyinstaller",
         ROOT / "installer" / "imgqa.spec")
    times["bundle"] = time.perf_counter() - t

    exe = DIST / "imgqa" / ("imgqa.exe" if os.name == "nt" else "imgqa")
    _run(exe, "--version")
    print(f"\nwheel:  {wheel}")
    print(f"bundle: {exe.parent} ({folder_size_mb(exe.parent):.0f} MB)")
    print("times:  " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
