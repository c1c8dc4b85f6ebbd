"""Helpers of the installation tests (wheel in a fresh venv, PyInstaller bundle).

Building takes minutes, so ``test_wheel.py`` and ``test_bundle.py`` run only with ``CI_SLOW=1``
(``make test-install``; ``.ci/run`` does it when its time allows). ``test_paths.py`` is fast.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs_ci_slow = pytest.mark.skipif(
    os.environ.get("CI_SLOW") != "1",
    reason="builds the wheel/bundle (minutes): set CI_SLOW=1 or run `make test-install`")


def clean_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    """An environment like ``env -i``: no venv on the PATH, no PYTHONPATH, no IMGQA_* variables.

    ``HOME`` is given only where the program must write (database, settings, demo set), so
    that a test never touches the real user's data folder.
    """
    env = {"PATH": "/usr/bin:/bin"} if os.name != "nt" else {
        k: os.environ[k] for k in ("SYSTEMROOT", "PATH") if k in os.environ}
    if home is not None:
        env["HOME"] = str(home)
        env["USERPROFILE"] = str(home)
    env.update(extra)
    return env


def run(cmd: list[str | Path], *, env: dict[str, str], cwd: Path,
        timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """Run `cmd`; the failure message shows its output (what a technologist would see)."""
    proc = subprocess.run([str(c) for c in cmd], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"{cmd} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
        f"\n--- stderr\n{proc.stderr[-4000:]}")
    return proc


def snapshot(folder: Path, skip_pycache: bool = False) -> dict[str, tuple[int, int]]:
    """Every file and folder under `folder` with its size and modification time (ns)."""
    out = {}
    for p in folder.rglob("*"):
        if skip_pycache and "__pycache__" in p.parts:
            continue
        st = p.lstat()
        out[str(p.relative_to(folder))] = (st.st_size if p.is_file() else -1, st.st_mtime_ns)
    return out


def source_package_files() -> set[str]:
    """The package's files in this checkout (git-tracked when git is there), as wheel paths."""
    src = ROOT / "src"
    try:
        listed = subprocess.run(["git", "ls-files", "imgqa"], cwd=src, capture_output=True,
                                text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [str(p.relative_to(src)) for p in (src / "imgqa").rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts]
    return {Path(f).as_posix() for f in listed}
