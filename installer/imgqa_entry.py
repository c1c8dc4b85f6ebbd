"""Entry script of the PyInstaller bundle: the same ``imgqa`` command as the wheel's console script.

The Windows build adds a windowed twin, ``imgqa-gui.exe`` (no console window), made from this
script too: it opens the desktop application whatever its arguments are.
"""

import os
import sys
from pathlib import Path

from imgqa.cli.main import entry

if __name__ == "__main__":
    if getattr(sys, "frozen", False):
        # The window's worker processes start from a fork server, which runs this program
        # with multiprocessing's own arguments: PyInstaller's freeze_support runs those and
        # exits, instead of a second imgqa (docs/install.md).
        import multiprocessing

        multiprocessing.freeze_support()
    # The python command coerces a bare "C" locale to UTF-8 (PEP 538); the frozen bootloader
    # does not, and Qt then prints a locale warning on every start from a clean environment.
    if sys.platform.startswith("linux") and not any(
            os.environ.get(v) for v in ("LC_ALL", "LC_CTYPE", "LANG")):
        os.environ["LC_CTYPE"] = "C.UTF-8"
    argv = sys.argv[1:]
    if Path(sys.executable).stem.lower().endswith("-gui"):
        argv = ["gui", *argv]
    entry(argv)  # as the console script: single-threaded BLAS by default, quiet on a closed pipe
