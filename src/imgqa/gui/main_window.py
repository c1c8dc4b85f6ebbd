"""Main window (minimal until the GUI issue lands): lists the loaded series and problems."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from imgqa.io import load


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("imgqa — imaging QC")
        self.resize(1000, 600)
        central = QWidget()
        layout = QVBoxLayout(central)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(
            ["Modality", "Equipment", "Date", "Images", "Size", "Pixel mm"])
        self.problems = QLabel("")
        layout.addWidget(self.table)
        layout.addWidget(self.problems)
        self.setCentralWidget(central)
        self.menuBar().addMenu("&File").addAction("Open folder…", self._open_folder)

    def _open_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open phantom images")
        if folder:
            self.open_paths([folder])

    def open_paths(self, paths: list[str]) -> None:
        series = load(paths)
        self.table.setRowCount(len(series))
        for row, s in enumerate(series):
            h, sp = s.header, s.pixel_spacing_mm
            values = [h.modality, h.equipment.label(),
                      h.acquired.strftime("%Y-%m-%d") if h.acquired else "", str(len(s)),
                      f"{h.columns}×{h.rows}", f"{sp[1]:.4g}" if sp else "unknown"]
            for col, v in enumerate(values):
                self.table.setItem(row, col, QTableWidgetItem(v))
        self.problems.setText("\n".join(f"{p.path}: {p.error}" for p in series.problems))
