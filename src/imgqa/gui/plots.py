"""Plots a result carries: curves (MTF, NPS, profiles) and image maps (uniformity maps)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from imgqa.protocols.base import Curve, ImageMap, Result

__all__ = ["PlotsPanel"]

_COLOURS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#4e342e"]


def dark_axes(plot_item: pg.PlotItem) -> None:
    """Black axis lines and labels (pyqtgraph's default grey is faint on white)."""
    for name in ("left", "bottom"):
        axis = plot_item.getAxis(name)
        axis.setPen(pg.mkPen("#333333"))
        axis.setTextPen(pg.mkPen("#111111"))


def _axis_text(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


class PlotsPanel(QWidget):
    """One tab per group of curves sharing axes, one tab per image map."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.empty = QLabel("This result has no curves or maps.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addWidget(self.empty)
        self.tabs.hide()

    def clear(self) -> None:
        while self.tabs.count():
            w = self.tabs.widget(0)
            self.tabs.removeTab(0)
            w.deleteLater()
        self.tabs.hide()
        self.empty.show()

    def show_results(self, results: Sequence[Result]) -> None:
        self.clear()
        groups: dict[tuple[str, str, str, str], list[tuple[str, Curve]]] = {}
        for res in results:
            for c in res.curves:
                key = (c.x_label, c.x_unit, c.y_label, c.y_unit)
                groups.setdefault(key, []).append((res.label, c))
        for (xl, xu, yl, yu), curves in groups.items():
            plot = pg.PlotWidget(background="w")
            plot.showGrid(x=True, y=True, alpha=0.3)
            plot.addLegend(offset=(-10, 10), labelTextColor="#111111")
            plot.setLabel("bottom", _axis_text(xl, xu))
            plot.setLabel("left", _axis_text(yl, yu))
            dark_axes(plot.getPlotItem())
            for i, (label, c) in enumerate(curves):
                name = f"{label}: {c.name}" if label else c.name
                plot.plot(np.asarray(c.x, float), np.asarray(c.y, float), name=name,
                          pen=pg.mkPen(_COLOURS[i % len(_COLOURS)], width=2))
            self.tabs.addTab(plot, yl or curves[0][1].name)
        for res in results:
            for m in res.maps:
                self.tabs.addTab(self._map_widget(m), m.name)
        if self.tabs.count():
            self.empty.hide()
            self.tabs.show()

    @staticmethod
    def _map_widget(m: ImageMap) -> QWidget:
        glw = pg.GraphicsLayoutWidget()
        glw.setBackground("w")
        plot = glw.addPlot(title=f"{m.description or m.name}" + (f" ({m.unit})" if m.unit else ""))
        plot.setAspectLocked(True)
        plot.invertY(True)
        dark_axes(plot)
        data = np.asarray(m.data, dtype=float)
        img = pg.ImageItem(np.nan_to_num(data, nan=float(np.nanmin(data)) if np.isfinite(data).any() else 0.0))
        scale = m.pixel_mm or 1.0
        img.setRect(0, 0, data.shape[1] * scale, data.shape[0] * scale)
        plot.addItem(img)
        plot.setLabel("bottom", "x", units="mm" if m.pixel_mm else "px")
        plot.setLabel("left", "y", units="mm" if m.pixel_mm else "px")
        finite = data[np.isfinite(data)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        bar = pg.ColorBarItem(values=(lo, hi), colorMap=pg.colormap.get("viridis"),
                              label=m.unit or "")
        bar.setImageItem(img, insert_in=plot)
        return glw

    @property
    def tab_titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]
