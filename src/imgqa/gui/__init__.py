"""The desktop application (PySide6 + pyqtgraph). The only package of imgqa that imports Qt."""
