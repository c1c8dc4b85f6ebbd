"""The desktop application (PySide6 + pyqtgraph). The only package of imgqa that imports Qt."""

from imgqa.gui._pyside_fixes import install as _install_pyside_fixes

_install_pyside_fixes()
