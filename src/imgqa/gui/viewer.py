"""The image viewer: one image of a series at a time (decoded lazily), slice slider,
window/level with CT presets, zoom/pan, pixel readout in physical units, ROI overlays.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.overlays import OverlayLayer, first_roi_frame

if TYPE_CHECKING:  # keep start-up light: no pydicom/SciPy import here
    from imgqa.io.series import ImageSeries
    from imgqa.protocols.base import Roi

__all__ = ["ImageViewer", "CT_PRESETS"]

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)

# (window, level) in HU; the usual radiology presets.
CT_PRESETS: dict[str, tuple[float, float]] = {
    "Soft tissue": (400.0, 40.0),
    "Lung": (1500.0, -600.0),
    "Bone": (2000.0, 300.0),
    "Brain": (80.0, 40.0),
    "Water phantom": (100.0, 0.0),
}
AUTO = "Auto"
_GREY_INVERTED = {"mode": "rgb", "ticks": [(0.0, (255, 255, 255, 255)),
                                           (1.0, (0, 0, 0, 255))]}
_GREY = {"mode": "rgb", "ticks": [(0.0, (0, 0, 0, 255)), (1.0, (255, 255, 255, 255))]}


def auto_levels(image: np.ndarray) -> tuple[float, float]:
    """0.5–99.5 percentile of a subsample: robust to hot pixels, cheap on big images."""
    step = max(1, int(math.sqrt(image.size / 65536)))
    sample = np.asarray(image[::step, ::step], dtype=np.float32)
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(finite, [0.5, 99.5])
    if hi <= lo:
        hi = lo + 1.0
    return float(lo), float(hi)


class ImageViewer(QWidget):
    """Shows one series; `set_rois` draws the ROIs of the shown result."""

    slice_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: ImageSeries | None = None
        self.index = 0
        self._array: np.ndarray | None = None
        self._rois: tuple[Roi, ...] = ()
        self._levels: tuple[float, float] | None = None

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#101010")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = pg.ImageItem()
        self.view.addItem(self.image_item)
        self.histogram = pg.HistogramLUTItem(image=self.image_item)
        self.histogram.sigLevelsChanged.connect(self._levels_from_histogram)
        self.graphics.addItem(self.histogram)
        self.overlays = OverlayLayer(self.view)

        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setMinimum(0)
        self.slider.setEnabled(False)
        self.slider.valueChanged.connect(self.set_index)
        self.slice_label = QLabel("—")
        self.slice_label.setMinimumWidth(70)
        self.preset = QComboBox()
        self.preset.addItem(AUTO)
        self.preset.setToolTip("Window/level preset (drag the histogram for your own)")
        self.preset.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.preset.setMinimumContentsLength(12)
        self.preset.currentTextChanged.connect(self._apply_preset)
        self.wl_label = QLabel("")
        self.readout = QLabel("Open images to start (Ctrl+O), or drop them here.")
        self.readout.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        controls = QHBoxLayout()
        controls.addWidget(QLabel("Image"))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.slice_label)
        controls.addWidget(QLabel("W/L"))
        controls.addWidget(self.preset)
        controls.addWidget(self.wl_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(controls)
        layout.addWidget(self.readout)

        self.graphics.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # -- series ---------------------------------------------------------------------------
    def set_series(self, series: ImageSeries | None, index: int | None = None) -> None:
        """Show `series`, starting at `index` (the middle image by default)."""
        self.series = series
        self._rois = ()
        self.overlays.clear()
        self._levels = None
        self.preset.blockSignals(True)
        self.preset.clear()
        self.preset.addItem(AUTO)
        if series is not None and series.modality == "CT":
            self.preset.addItems(list(CT_PRESETS))
        self.preset.blockSignals(False)
        if series is None or len(series) == 0:
            self.image_item.clear()
            self.slider.setEnabled(False)
            self.slice_label.setText("—")
            self.readout.setText("")
            return
        invert = series.header.invert_for_display
        self.histogram.gradient.restoreState(_GREY_INVERTED if invert else _GREY)
        n = len(series)
        start = n // 2 if index is None else max(0, min(index, n - 1))
        self.slider.blockSignals(True)
        self.slider.setMaximum(n - 1)
        self.slider.setValue(start)
        self.slider.setEnabled(n > 1)
        self.slider.blockSignals(False)
        self.index = -1
        self.set_index(start)
        self.view.autoRange(padding=0.02)

    def set_index(self, index: int) -> None:
        """Show image `index` of the series (decodes only that image)."""
        if self.series is None or index == self.index:
            return
        index = max(0, min(int(index), len(self.series) - 1))
        self.index = index
        try:
            arr = self.series.pixels(index)
        except Exception as exc:  # a damaged frame must not kill the viewer
            self._array = None
            self.image_item.clear()
            self.readout.setText(f"Image {index + 1} cannot be shown: {exc}")
            return
        self._array = arr
        if self._levels is None:
            if self.series.modality == "CT":  # the usual radiology default
                self.preset.blockSignals(True)
                self.preset.setCurrentText("Soft tissue")
                self.preset.blockSignals(False)
                w, lv = CT_PRESETS["Soft tissue"]
                self._levels = (lv - w / 2, lv + w / 2)
            else:
                self._levels = auto_levels(arr)
        self.image_item.setImage(arr, autoLevels=False, levels=self._levels)
        self.histogram.setLevels(*self._levels)
        sp = self.series.pixel_spacing_mm
        if sp is not None and sp[0] > 0 and sp[1] > 0:
            # Non-square pixels: keep the physical aspect ratio.
            self.view.setAspectLocked(True, ratio=sp[1] / sp[0])
        if self.slider.value() != index:
            self.slider.blockSignals(True)
            self.slider.setValue(index)
            self.slider.blockSignals(False)
        self.slice_label.setText(f"{index + 1} / {len(self.series)}")
        self._redraw_overlays()
        self._show_wl()
        self.slice_changed.emit(index)

    def step(self, delta: int) -> None:
        if self.series is not None:
            self.set_index(max(0, min(self.index + delta, len(self.series) - 1)))

    # -- overlays -------------------------------------------------------------------------
    def set_rois(self, rois: Sequence[Roi], jump: bool = True) -> None:
        """Draw `rois`; with `jump`, go to the image most of them are on."""
        self._rois = tuple(rois)
        if jump and self.series is not None and len(self.series) > 1:
            frame = first_roi_frame(self._rois)
            if frame is not None and frame != self.index:
                self.set_index(frame)
                return
        self._redraw_overlays()

    def _redraw_overlays(self) -> None:
        n = len(self.series) if self.series is not None else 0
        self.overlays.draw(self._rois, self.index, n)

    @property
    def drawn_overlay_count(self) -> int:
        return len(self.overlays.items)

    # -- window / level -------------------------------------------------------------------
    def set_window(self, window: float, level: float) -> None:
        self._levels = (level - window / 2.0, level + window / 2.0)
        self.image_item.setLevels(self._levels)
        self.histogram.setLevels(*self._levels)
        self._show_wl()

    def _apply_preset(self, name: str) -> None:
        if name in CT_PRESETS:
            self.set_window(*CT_PRESETS[name])
        elif name == AUTO and self._array is not None:
            self._levels = auto_levels(self._array)
            self.image_item.setLevels(self._levels)
            self.histogram.setLevels(*self._levels)
            self._show_wl()

    def _levels_from_histogram(self) -> None:
        lo, hi = self.histogram.getLevels()
        self._levels = (float(lo), float(hi))
        self._show_wl()

    def _show_wl(self) -> None:
        if self._levels is None:
            self.wl_label.setText("")
            return
        lo, hi = self._levels
        self.wl_label.setText(f"W {hi - lo:.4g}  L {(hi + lo) / 2:.4g}")

    # -- readout --------------------------------------------------------------------------
    def _unit(self) -> str:
        if self.series is not None and self.series.modality == "CT":
            return " HU"
        return ""

    def readout_text(self, x: float, y: float) -> str | None:
        """Text for the scene point (x, y) in image coordinates, or None outside the image."""
        if self._array is None or self.series is None:
            return None
        col, row = int(math.floor(x)), int(math.floor(y))
        rows, cols = self._array.shape
        if not (0 <= row < rows and 0 <= col < cols):
            return None
        value = float(self._array[row, col])
        sp = self.series.pixel_spacing_mm
        where = f"row {row}, col {col}"
        if sp is not None:
            where += f"  ({col * sp[1]:.1f} mm, {row * sp[0]:.1f} mm)"
        return f"{where}   value {value:.5g}{self._unit()}"

    def _on_mouse_moved(self, pos) -> None:
        if self._array is None:
            return
        p = self.view.mapSceneToView(pos)
        text = self.readout_text(p.x(), p.y())
        if text is not None:
            self.readout.setText(text)
