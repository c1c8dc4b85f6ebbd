"""Plots a result carries: curves (MTF, NPS, profiles) and image maps (uniformity maps)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from imgqa.protocols.base import Curve, ImageMap, Result

__all__ = ["PlotsPanel"]

_COLOURS = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#4e342e"]


def _band_edge(name: str) -> tuple[str, str] | None:
    """("EARL2", "low") for a curve named "EARL2 low": the edges of an acceptance band."""
    head, _, tail = name.rpartition(" ")
    return (head, tail) if head and tail in ("low", "high") else None


def dark_axes(plot_item: pg.PlotItem) -> None:
    """Black axis lines and labels (pyqtgraph's default grey is faint on white)."""
    for name in ("left", "bottom"):
        axis = plot_item.getAxis(name)
        axis.setPen(pg.mkPen("#333333"))
        axis.setTextPen(pg.mkPen("#111111"))


def _axis_text(label: str, unit: str) -> str:
    return f"{label} ({unit})" if unit else label


class PlotsPanel(QWidget):
    """One tab per group of curves sharing axes, one tab per image map.

    The pyqtgraph widgets are built lazily, when their tab is first seen: building all of them
    for every result that arrives cost 15-20 ms per plot on the GUI thread (60 ms for a Catphan
    result) although the panel is usually hidden behind the results table.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tabs = QTabWidget()
        self.empty = QLabel("This result has no curves or maps.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tabs)
        layout.addWidget(self.empty)
        self.tabs.hide()
        self._builders: dict[int, Callable[[], QWidget]] = {}  # id(placeholder) → builder
        self.tabs.currentChanged.connect(lambda _i: self._build_current())

    def clear(self) -> None:
        self._builders.clear()
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
        for axes, curves in groups.items():
            self._add_tab(axes[2] or curves[0][1].name,
                          lambda a=axes, cs=curves: self._curve_widget(a, cs))
        for res in results:
            for m in res.maps:
                self._add_tab(m.name, lambda m=m: self._map_widget(m))
        if self.tabs.count():
            self.empty.hide()
            self.tabs.show()
        self._build_current()

    def _add_tab(self, title: str, builder: Callable[[], QWidget]) -> None:
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 0)
        self._builders[id(holder)] = builder
        self.tabs.addTab(holder, title)

    def _build_current(self) -> None:
        """Build the plot of the current tab if it is on screen and not built yet."""
        holder = self.tabs.currentWidget()
        if holder is None or not self.isVisible():
            return
        builder = self._builders.pop(id(holder), None)
        if builder is not None:
            holder.layout().addWidget(builder())

    def showEvent(self, event) -> None:  # noqa: N802 (Qt name)
        super().showEvent(event)
        self._build_current()

    def plot_widget(self, index: int) -> QWidget | None:
        """The (built) plot of tab `index`, building it now if needed; None if no such tab."""
        holder = self.tabs.widget(index)
        if holder is None:
            return None
        builder = self._builders.pop(id(holder), None)
        if builder is not None:
            holder.layout().addWidget(builder())
        item = holder.layout().itemAt(0)
        return item.widget() if item is not None else None

    @staticmethod
    def _curve_widget(axes: tuple[str, str, str, str],
                      curves: list[tuple[str, Curve]]) -> QWidget:
        xl, xu, yl, yu = axes
        plot = pg.PlotWidget(background="w")
        plot.showGrid(x=True, y=True, alpha=0.3)
        plot.addLegend(offset=(-10, 10), labelTextColor="#111111")
        plot.setLabel("bottom", _axis_text(xl, xu))
        plot.setLabel("left", _axis_text(yl, yu))
        dark_axes(plot.getPlotItem())
        edges: dict[tuple[str, str], dict[str, pg.PlotDataItem]] = {}
        colour_of: dict[tuple[str, str], str] = {}
        for i, (label, c) in enumerate(curves):
            name = f"{label}: {c.name}" if label else c.name
            band = _band_edge(c.name)
            if band is None:
                plot.plot(np.asarray(c.x, float), np.asarray(c.y, float), name=name,
                          pen=pg.mkPen(_COLOURS[i % len(_COLOURS)], width=2))
                continue
            # An acceptance band ("EARL2 low"/"EARL2 high"): dashed edges, shaded between.
            key = (label, band[0])
            colour = colour_of.setdefault(key, _COLOURS[(len(colour_of) + 3) % len(_COLOURS)])
            item = plot.plot(np.asarray(c.x, float), np.asarray(c.y, float),
                             name=name if band[1] == "low" else None,
                             pen=pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
            edges.setdefault(key, {})[band[1]] = item
        for key, pair in edges.items():
            if len(pair) == 2:
                fill = QColor(colour_of[key])
                fill.setAlpha(40)
                plot.addItem(pg.FillBetweenItem(pair["low"], pair["high"], brush=fill))
        return plot

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
