"""Entry script of the PyInstaller bundle: the same ``imgqa`` command as the wheel's console script.

The Windows build adds a windowed twin, ``imgqa-gui.exe`` (no console window), made from this
script too: it opens the desktop application whatever its arguments are.
"""

import sys
from pathlib import Path

from imgqa.cli.main import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if Path(sys.executable).stem.lower().endswith("-gui"):
        argv = ["gui", *argv]
    sys.exit(main(argv))
