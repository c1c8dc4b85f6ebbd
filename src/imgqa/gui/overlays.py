"""Draw what an analysis used (its `Roi` list) on top of the image.

Coordinates: a `Roi` gives pixel indices (row, column); with pyqtgraph's row-major image
the centre of pixel (r, c) sits at scene point (c + 0.5, r + 0.5). Colours depend on the ROI's
``role`` so a user can tell measurement ROIs from the phantom outline or the background.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsRectItem,
)

if TYPE_CHECKING:  # importing protocols pulls in SciPy: not at start-up
    from imgqa.protocols.base import Roi

__all__ = ["ROLE_COLOURS", "role_colour", "roi_items", "OverlayLayer"]

ROLE_COLOURS: dict[str, str] = {
    "measure": "#ffd400",     # yellow: the numbers come from here
    "phantom": "#00e5ff",     # cyan: detected phantom outline
    "background": "#ff4fd8",  # magenta: background / air
    "field": "#ff9100",       # orange: UFOV / CFOV
    "edge": "#ff1744",        # red: edge used for MTF
    "profile": "#40c4ff",     # light blue: profiles
}
_DEFAULT_COLOUR = "#b2ff59"


def role_colour(role: str) -> QColor:
    return QColor(ROLE_COLOURS.get(role, _DEFAULT_COLOUR))


def _pen(role: str) -> QPen:
    pen = QPen(role_colour(role))
    pen.setCosmetic(True)  # width in screen pixels, whatever the zoom
    pen.setWidthF(1.6 if role == "measure" else 1.3)
    if role in ("background", "field"):
        pen.setStyle(Qt.PenStyle.DashLine)
    return pen


def _xy(point: Sequence[float]) -> QPointF:
    row, col = float(point[0]), float(point[1])
    return QPointF(col + 0.5, row + 0.5)


def roi_items(roi: Roi, label: bool = True) -> list[QGraphicsItem]:
    """Graphics items (in image scene coordinates) drawing one ROI and (with `label`) its label."""
    pen = _pen(roi.role)
    items: list[QGraphicsItem] = []
    pts = [_xy(p) for p in roi.points]
    if not pts:
        return items
    if roi.shape == "rect" and len(pts) >= 2:
        item: QGraphicsItem = QGraphicsRectItem(QRectF(pts[0], pts[1]).normalized())
    elif roi.shape == "circle":
        r = float(roi.radius or 1.0)
        item = QGraphicsEllipseItem(pts[0].x() - r, pts[0].y() - r, 2 * r, 2 * r)
    elif roi.shape == "ellipse":
        ry, rx = roi.radii if roi.radii is not None else (roi.radius or 1.0, roi.radius or 1.0)
        item = QGraphicsEllipseItem(pts[0].x() - rx, pts[0].y() - ry, 2 * rx, 2 * ry)
    elif roi.shape == "polygon":
        item = QGraphicsPolygonItem(QPolygonF(pts))
    elif roi.shape == "line":
        path = QPainterPath(pts[0])
        for p in pts[1:]:
            path.lineTo(p)
        item = QGraphicsPathItem(path)
    else:  # point: a small cross that keeps its size on screen
        sc = pg.ScatterPlotItem([pts[0].x()], [pts[0].y()], symbol="+", size=12,
                                pen=pg.mkPen(role_colour(roi.role), width=1.5), brush=None)
        item = sc
    if hasattr(item, "setPen") and not isinstance(item, pg.ScatterPlotItem):
        item.setPen(pen)  # type: ignore[attr-defined]
    item.setToolTip(f"{roi.label or roi.shape} ({roi.role})")
    items.append(item)
    if roi.label and label:
        text = pg.TextItem(roi.label, color=role_colour(roi.role), anchor=(0, 1))
        anchor = _label_anchor(roi, pts)
        text.setPos(anchor)
        items.append(text)
    return items


def _label_anchor(roi: Roi, pts: list[QPointF]) -> QPointF:
    if roi.shape == "circle" and roi.radius:
        return QPointF(pts[0].x() + roi.radius * 0.72, pts[0].y() - roi.radius * 0.72)
    if roi.shape == "ellipse" and roi.radii:
        return QPointF(pts[0].x() + roi.radii[1] * 0.72, pts[0].y() - roi.radii[0] * 0.72)
    xs = [p.x() for p in pts]
    ys = [p.y() for p in pts]
    return QPointF(max(xs), min(ys))


# Above this many ROIs on one image (e.g. the 27 Catphan CTP515 targets) the text labels would
# cover the image: they are left out and each shape keeps its label as a hover tooltip.
MAX_LABELLED_ROIS = 12


class OverlayLayer:
    """The ROI items currently drawn in one pyqtgraph ViewBox."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self._items: list[QGraphicsItem] = []
        self.show_labels = True

    def clear(self) -> None:
        for item in self._items:
            self.view.removeItem(item)
        self._items.clear()

    def draw(self, rois: Iterable[Roi], frame: int, n_frames: int) -> int:
        """Draw the ROIs that belong to image `frame`; return how many were drawn.

        ROIs of a single-image result are drawn whatever their frame number says.
        """
        self.clear()
        count = 0
        shown = [r for r in rois if n_frames <= 1 or r.frame == frame]
        labels = self.show_labels and len(shown) <= MAX_LABELLED_ROIS
        for roi in shown:
            for item in roi_items(roi, label=labels):  # unused labels not even created
                self.view.addItem(item, ignoreBounds=True)  # no auto-range pass per item
                self._items.append(item)
            count += 1
        return count

    @property
    def items(self) -> list[QGraphicsItem]:
        return list(self._items)


def first_roi_frame(rois: Iterable[Roi]) -> int | None:
    frames = [r.frame for r in rois]
    return int(np.bincount(frames).argmax()) if frames else None
