"""Trend view: one measurement of one piece of equipment over time.

Draws the values coloured by status, the reference (baseline) in force at each point, the
tolerance band and action limits stored with each result (so a later change of tolerance does
not rewrite the past), and Shewhart individuals-chart control limits from the baseline period
(Pawlicki et al., Med Phys 32:2777, 2005). Service events (tube change, recalibration,
software upgrade...) are vertical dashed lines with a short label; hovering one shows what was
done. "Add service event…" records one (technologists and up); "Restart SPC at service events"
starts the control chart's baseline period again after the newest event. Hovering a point
shows its details; clicking it opens that session's images. The plot exports to PNG or SVG.

SPC signals (`imgqa.trends.spc_signals`) ring the point; the legend and the point's tooltip say
in words which rule fired, and limits from fewer than 20 values are labelled "not yet
reliable" (they flag nothing). The measurement shown first is the protocol's key measurement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.date_axis import DateAxis, readable_range
from imgqa.gui.plots import dark_axes
from imgqa.gui.results_table import STATUS_STYLE, format_value
from imgqa.gui.service_event_dialog import SERVICE_KINDS, ServiceEventDialog, event_tooltip
from imgqa.gui.store_bridge import StoreBridge, find_data

if TYPE_CHECKING:
    from imgqa.protocols.base import Protocol
    from imgqa.store import Store
    from imgqa.store.records import EquipmentRecord, ServiceEventRecord, TrendData

    # equipment list, and per equipment id its session count and the tests it has results of
    EquipmentForTrends = tuple[list[EquipmentRecord], dict[int, tuple[int, list[str]]]]

__all__ = ["SERVICE_KINDS", "ServiceEventDialog", "TrendView", "event_tooltip", "key_measurement",
           "step_xy"]

_BAND_OK = QColor(46, 125, 50, 40)
_ACTION = "#c62828"
_BASELINE = "#1b5e20"
_SPC = "#1565c0"
_EVENT = "#6a1b9a"


def key_measurement(proto: Protocol) -> str:
    """The measurement a trend of this protocol shows first.

    ``Protocol.key_measurement`` when the protocol declares one, else its first measurement.
    Read from the protocol object (not the registry by name, as
    `imgqa.protocols.base.key_measurement` does) so the view follows the protocols it lists.
    """
    return proto.key_measurement or proto.measurements[0].name


def _rule_text(rule: int) -> str:
    from imgqa.trends import RULE_TEXT  # pure numpy module, no store

    return RULE_TEXT.get(rule, f"Western Electric rule {rule}")


def _epoch(t: datetime) -> float:
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def step_xy(x: np.ndarray, y: np.ndarray, x_end: float | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """A level that changes at each x and holds until the next one (and until `x_end`)."""
    if x.size == 0:
        return x, y
    end = x[-1] if x_end is None else max(x_end, x[-1])
    xs = np.repeat(np.append(x, end), 2)[1:-1]
    ys = np.repeat(y, 2)
    return xs, ys


class TrendView(QWidget):
    session_clicked = Signal(object)                 # session id
    edit_baseline = Signal(object, object, object)   # equipment id, protocol, measurement
    loaded = Signal(int)                             # number of points drawn
    event_recorded = Signal(object)                  # a ServiceEventRecord

    def __init__(self, db: StoreBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.db = db
        self.data: TrendData | None = None
        self._equipment: list[EquipmentRecord] = []
        self._points_x = np.empty(0)
        self._points_y = np.empty(0)
        self._point_sessions: list[int] = []
        self._menu: QMenu | None = None

        # Combos sized by a fixed text length, not their longest entry: otherwise a long
        # measurement name widens the whole window when the tab opens (issue 11).
        self.equipment_combo = QComboBox()
        self.equipment_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.equipment_combo.setMinimumContentsLength(22)
        self.equipment_combo.currentIndexChanged.connect(self._equipment_changed)
        self.measurement_combo = QComboBox()
        self.measurement_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.measurement_combo.setMinimumContentsLength(30)
        self.measurement_combo.currentIndexChanged.connect(lambda _i: self.reload())
        self.baseline_button = QPushButton("Baseline/tolerance…")
        self.baseline_button.clicked.connect(self._edit_baseline)
        self.event_button = QPushButton("Add service event…")
        self.event_button.setToolTip("Record a tube change, calibration, software upgrade... "
                                     "It is marked on every trend of this equipment.")
        self.event_button.clicked.connect(self.open_service_event_dialog)
        self.restart_spc = QCheckBox("Restart SPC at service events")
        self.restart_spc.setToolTip("Compute the control limits from the values after the "
                                    "newest service event (or baseline change) instead of "
                                    "after the newest baseline change only.")
        self.restart_spc.toggled.connect(lambda _on: self.reload())
        self.event_dialog: ServiceEventDialog | None = None
        self.event_lines: list[pg.InfiniteLine] = []   # drawn now, in time order
        self.event_labels: list[pg.TextItem] = []
        self._event_pool: list[tuple[pg.InfiniteLine, pg.TextItem]] = []
        self._event_legend: Any = None
        self._signals: dict[int, list[int]] = {}   # point index → SPC rules it breaks
        self.png_button = QPushButton("Export PNG…")
        self.svg_button = QPushButton("Export SVG…")
        self.png_button.clicked.connect(lambda: self._export_dialog("png"))
        self.svg_button.clicked.connect(lambda: self._export_dialog("svg"))

        self.plot = pg.PlotWidget(background="w", axisItems={"bottom": DateAxis()})
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        dark_axes(self.plot.getPlotItem())
        self.legend = self.plot.addLegend(offset=(10, 10), labelTextColor="#111111",
                                          brush=pg.mkBrush(255, 255, 255, 200))
        self.scatter = pg.ScatterPlotItem(hoverable=True, tip=self._tip, size=10,
                                          hoverSize=14, hoverPen=pg.mkPen("k", width=2))
        self.scatter.sigClicked.connect(self._clicked)
        self.plot.getPlotItem().vb.sigRangeChanged.connect(self._place_event_labels)
        self.info = QLabel("Choose equipment and a measurement.")
        self.info.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(QLabel("Equipment"))
        top.addWidget(self.equipment_combo, 1)
        top.addWidget(QLabel("Measurement"))
        top.addWidget(self.measurement_combo, 2)
        actions = QHBoxLayout()  # a second row, so the tab fits a narrow window
        actions.addWidget(self.baseline_button)
        actions.addWidget(self.event_button)
        actions.addStretch(1)
        actions.addWidget(self.png_button)
        actions.addWidget(self.svg_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(actions)
        layout.addWidget(self.plot, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.info, 1)
        bottom.addWidget(self.restart_spc)
        layout.addLayout(bottom)
        self.db.changed.connect(self._update_event_button)
        self._update_event_button()

    def shutdown(self) -> None:
        self.data = None

    def set_can_edit(self, allowed: bool) -> None:
        self.baseline_button.setVisible(allowed)
        self._update_event_button()

    def _update_event_button(self) -> None:
        # Technologists and up may record events (the store, and PostgreSQL, check again).
        allowed = self.db.can("service_event") and self.equipment_combo.currentData() is not None
        self.event_button.setEnabled(allowed)
        why = self.db.why_not("service_event") or ("" if allowed else "Choose equipment first.")
        self.event_button.setToolTip(why or "Record a tube change, calibration, software "
                                     "upgrade... It is marked on every trend of this equipment.")

    # -- choosing what to plot ----------------------------------------------------------
    def refresh_equipment(self) -> None:
        def job(store: Store) -> EquipmentForTrends:
            eqs = list(store.list_equipment(active_only=False))
            with_data: dict[int, tuple[int, list[str]]] = {}
            for e in eqs:
                sessions = store.sessions(equipment_id=e.id)
                protos: list[str] = []
                for s in sessions:
                    for p in s.protocols:
                        if p not in protos:
                            protos.append(p)
                with_data[e.id] = (len(sessions), protos)
            return eqs, with_data

        self.db.run(job, name="equipment for trends", on_done=self._fill_equipment,
                    on_failed=lambda m, h: self.info.setText(f"{m} {h}".strip()))

    def _fill_equipment(self, value: EquipmentForTrends) -> None:
        eqs, with_data = value
        self._with_data = with_data
        current = self.equipment_combo.currentData()
        self._equipment = sorted(eqs, key=lambda e: (-with_data.get(e.id, (0, []))[0], e.name))
        self.equipment_combo.blockSignals(True)
        self.equipment_combo.clear()
        for e in self._equipment:
            n = with_data.get(e.id, (0, []))[0]
            self.equipment_combo.addItem(f"{e.name} · {e.modality} ({n} sessions)", e.id)
        idx = self.equipment_combo.findData(current) if current is not None else 0
        self.equipment_combo.setCurrentIndex(max(idx, 0))
        self.equipment_combo.blockSignals(False)
        self._equipment_changed()

    def _equipment_changed(self, *_: Any) -> None:
        eq_id = self.equipment_combo.currentData()
        eq = next((e for e in self._equipment if e.id == eq_id), None)
        current = self.measurement_combo.currentData()
        self.measurement_combo.blockSignals(True)
        self.measurement_combo.clear()
        if eq is not None:
            from imgqa.protocols import all_protocols

            used = getattr(self, "_with_data", {}).get(eq.id, (0, []))[1]
            protos = sorted(all_protocols(), key=lambda p: (p.name not in used, p.name))
            for p in protos:
                if p.name not in used and not ("*" in p.modalities or eq.modality in p.modalities):
                    continue
                key = key_measurement(p)
                # the key measurement first, then the others in declaration order
                for m in sorted(p.measurements, key=lambda m, k=key: m.name != k):
                    unit = f" ({m.unit})" if m.unit else ""
                    self.measurement_combo.addItem(f"{p.name} · {m.label or m.name}{unit}",
                                                   (p.name, m.name))
                    self.measurement_combo.setItemData(
                        self.measurement_combo.count() - 1, f"{p.name} · {m.name}",
                        Qt.ItemDataRole.ToolTipRole)
        idx = find_data(self.measurement_combo, current) if current is not None else -1
        self.measurement_combo.setCurrentIndex(idx if idx >= 0 else 0)
        self.measurement_combo.blockSignals(False)
        self._update_event_button()
        self.reload()

    def select(self, equipment_id: int, protocol: str, measurement: str) -> None:
        """Show one trend (equipment must be in the combo: call `refresh_equipment` first)."""
        i = self.equipment_combo.findData(equipment_id)
        if i >= 0 and i != self.equipment_combo.currentIndex():
            self.equipment_combo.setCurrentIndex(i)
        j = find_data(self.measurement_combo, (protocol, measurement))
        if j >= 0 and j != self.measurement_combo.currentIndex():
            self.measurement_combo.setCurrentIndex(j)
        else:
            self.reload()

    def reload(self) -> None:
        eq_id = self.equipment_combo.currentData()
        key = self.measurement_combo.currentData()
        if eq_id is None or key is None:
            self._draw(None)
            return
        protocol, measurement = key
        restart = self.restart_spc.isChecked()
        self.db.run(lambda store: store.trend(eq_id, protocol, measurement,
                                              spc_restart_on_events=restart), name="trend",
                    on_done=self._draw,
                    on_failed=lambda m, h: self.info.setText(f"{m} {h}".strip()))

    # -- drawing --------------------------------------------------------------------------
    def _draw(self, data: TrendData | None) -> None:
        self.data = data
        self.plot.clear()
        self.legend.clear()
        self._point_sessions = []
        self.event_lines = []
        self.event_labels = []
        if data is None or not data.points:
            self.info.setText("No saved results for this measurement yet." if data is not None
                              else "Choose equipment and a measurement.")
            self._points_x = self._points_y = np.empty(0)
            self.loaded.emit(0)
            return
        pts = data.points
        x = np.array([_epoch(p.time) for p in pts])
        y = data.values()
        finite = np.isfinite(y)
        span = float(x[-1] - x[0]) if x.size > 1 else 86400.0
        x_end = float(x[-1] + 0.03 * span)
        unit = data.unit

        # Bands first, so points are drawn over them.
        tol_lo, tol_hi = data.band("tol_low"), data.band("tol_high")
        if np.isfinite(tol_lo).any() or np.isfinite(tol_hi).any():
            lo = np.where(np.isfinite(tol_lo), tol_lo, np.nanmin(y[finite]) if finite.any() else 0)
            hi = np.where(np.isfinite(tol_hi), tol_hi, np.nanmax(y[finite]) if finite.any() else 0)
            xs, los = step_xy(x, lo, x_end)
            _, his = step_xy(x, hi, x_end)
            c_lo = pg.PlotDataItem(xs, los, pen=pg.mkPen(QColor(46, 125, 50, 120)))
            c_hi = pg.PlotDataItem(xs, his, pen=pg.mkPen(QColor(46, 125, 50, 120)))
            self.plot.addItem(c_lo)
            self.plot.addItem(c_hi)
            fill = pg.FillBetweenItem(c_lo, c_hi, brush=_BAND_OK)
            self.plot.addItem(fill)
            self.legend.addItem(fill, "tolerance band")
        for level in ("act_low", "act_high"):
            band = data.band(level)
            if np.isfinite(band).any():
                xs, ys = step_xy(x, band, x_end)
                item = self.plot.plot(xs, ys, pen=pg.mkPen(_ACTION, width=1.5,
                                                           style=Qt.PenStyle.DashLine),
                                      connect="finite",
                                      name="action limit" if level == "act_low" or
                                      not np.isfinite(data.band("act_low")).any() else None)
                item.setZValue(-5)
        refs = np.array([np.nan if p.reference is None else p.reference for p in pts])
        if np.isfinite(refs).any():
            xs, ys = step_xy(x, refs, x_end)
            self.plot.plot(xs, ys, pen=pg.mkPen(_BASELINE, width=2), connect="finite",
                           name="baseline")
        ctl = data.control
        if ctl is not None:
            # the limits hold from the start of their baseline period on
            x_spc = _epoch(data.spc_period[0]) if data.spc_period else x[0]
            self.plot.plot([x_spc, x_end], [ctl.centre] * 2,
                           pen=pg.mkPen(_SPC, width=1.2, style=Qt.PenStyle.DashLine),
                           name=f"SPC centre ({ctl.describe()})")
            for v, name in ((ctl.ucl, "SPC ±3σ"), (ctl.lcl, None)):
                self.plot.plot([x_spc, x_end], [v, v],
                               pen=pg.mkPen(_SPC, width=1.2, style=Qt.PenStyle.DotLine),
                               name=name)
        self.plot.plot(x[finite], y[finite], pen=pg.mkPen("#9e9e9e", width=1))
        brushes = [pg.mkBrush(STATUS_STYLE.get(p.status, STATUS_STYLE[None])[0]) for p in pts]
        violated = {v.index for v in data.violations}
        pens = [pg.mkPen("k", width=2.5) if i in violated else pg.mkPen("w", width=1)
                for i in range(len(pts))]
        self.scatter.setData(x=x[finite], y=y[finite],
                             brush=[b for b, f in zip(brushes, finite) if f],
                             pen=[p for p, f in zip(pens, finite) if f],
                             data=[i for i, f in enumerate(finite) if f])
        self.plot.addItem(self.scatter)
        self._signals = {}
        for sig in data.violations:
            self._signals.setdefault(sig.index, []).append(sig.rule)
        for rule in sorted({v.rule for v in data.violations}):
            # a ringed sample in the legend, named by what the rule means
            sample = pg.ScatterPlotItem(symbol="o", size=10, brush=pg.mkBrush("#ffffff"),
                                        pen=pg.mkPen("k", width=2.5))
            self.legend.addItem(sample, f"SPC signal: {_rule_text(rule)}")
        events = data.service_events
        self._draw_events(events)
        self._points_x, self._points_y = x, y
        self._point_sessions = [p.session_id for p in pts]
        from imgqa.protocols import measurement_label

        label = measurement_label(data.protocol, data.measurement)
        self.plot.setLabel("left", label, units=None)
        self.plot.getAxis("left").setLabel(label + (f" ({unit})" if unit else ""))
        self.plot.setTitle(f"{data.protocol} · {label}", color="#111111")
        counts: dict[str | None, int] = {}
        for p in pts:
            counts[p.status] = counts.get(p.status, 0) + 1
        summary = ", ".join(f"{n} {STATUS_STYLE.get(s, STATUS_STYLE[None])[2]}"
                            for s, n in counts.items())
        n_sig = len({v.index for v in data.violations})
        extra = (f"; {n_sig} SPC signal(s), ringed (the legend says which rule)"
                 if n_sig else "")
        if events:
            extra += f"; {len(events)} service event(s) marked (hover a line for details)"
        self.info.setText(f"{len(pts)} results: {summary}{extra}. Hover a point for details; "
                          "click it to open that session's images.")
        self.plot.autoRange()
        # Markers do not take part in auto-range: keep them in view. A single point (or a
        # day of points) gets at least a week around it, so the axis shows dates.
        ex = [_epoch(e.when) for e in events]
        lo, hi = min([float(x[0]), *ex]), max([x_end, *ex])
        pad = 0.02 * (hi - lo or 86400.0)
        self.plot.setXRange(*readable_range(lo - pad, hi + pad), padding=0)
        self.loaded.emit(len(pts))

    def _draw_events(self, events: tuple[ServiceEventRecord, ...]) -> None:
        """A dashed vertical line per service event, labelled with its kind; the description
        shows on hover (tooltip on the line and on its label).

        Lines and labels come from a pool kept for the widget's lifetime and are separate
        scene items (not pyqtgraph's InfLineLabel child): Python-subclassed Qt items that are
        parent and child get freed by the garbage collector in arbitrary order after
        ``plot.clear()``, which crashed PySide6 now and then while painting.
        """
        pen = pg.mkPen(_EVENT, width=1.5, style=Qt.PenStyle.DashLine)
        while len(self._event_pool) < len(events):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pen)
            line.setZValue(-2)
            text = pg.TextItem("", color=_EVENT, anchor=(0, 0),
                               fill=pg.mkBrush(255, 255, 255, 210))
            text.setZValue(-1)
            self._event_pool.append((line, text))
        self.event_labels = []
        for (line, text), ev in zip(self._event_pool, events):
            tip = event_tooltip(ev)
            line.setValue(_epoch(ev.when))
            line.setToolTip(tip)
            text.setText(ev.label() if hasattr(ev, "label") else str(ev.kind))
            text.setToolTip(tip)
            self.plot.addItem(line)
            self.plot.addItem(text, ignoreBounds=True)
            self.event_lines.append(line)
            self.event_labels.append(text)
        if events:
            if self._event_legend is None:
                self._event_legend = pg.PlotDataItem(pen=pen)
            self.legend.addItem(self._event_legend, "service event")
        self._place_event_labels()

    def _place_event_labels(self, *_: Any) -> None:
        """Keep each label at the top of the view, next to its line (staggered in 3 rows)."""
        if not self.event_labels:
            return
        (_x0, _x1), (y0, y1) = self.plot.getPlotItem().vb.viewRange()
        for k, (line, text) in enumerate(zip(self.event_lines, self.event_labels)):
            text.setPos(line.value(), y1 - (y1 - y0) * 0.065 * (k % 3))

    def _tip(self, x: float, y: float, data: Any) -> str:
        if self.data is None or data is None or not (0 <= int(data) < len(self.data.points)):
            return ""
        from imgqa.protocols import measurement_label

        p = self.data.points[int(data)]
        when = p.time.astimezone() if p.time.tzinfo else p.time
        unit = f" {self.data.unit}" if self.data.unit else ""
        lines = [when.strftime("%Y-%m-%d %H:%M"),
                 f"{measurement_label(self.data.protocol, self.data.measurement)} = "
                 f"{format_value(p.value)}{unit}",
                 f"({self.data.protocol} · {self.data.measurement})",
                 f"status: {STATUS_STYLE.get(p.status, STATUS_STYLE[None])[2]}"]
        if p.reference is not None:
            lines.append(f"baseline: {format_value(p.reference)}{unit}")
        if p.relative_percent is not None:
            lines.append(f"{p.relative_percent:+.1f} % from baseline")
        lines.append(f"session {p.session_id}" + (" (reviewed)" if p.reviewed else ""))
        for rule in self._signals.get(int(data), ()):
            lines.append(f"SPC signal: {_rule_text(rule)}")
        return "\n".join(lines)

    def _clicked(self, _item, points, ev=None) -> None:
        """Left click: open the session's images; right click: the point's menu."""
        if points is None or len(points) == 0:
            return
        index = points[0].data()
        if index is None or not 0 <= int(index) < len(self._point_sessions):
            return
        if ev is not None and ev.button() == Qt.MouseButton.RightButton:
            ev.accept()  # not the plot's own menu
            self.point_menu(int(index)).popup(ev.screenPos().toPoint())
            return
        self.session_clicked.emit(self._point_sessions[int(index)])

    def point_menu(self, index: int) -> QMenu:
        """The context menu of point ``index``: "Open images" of its session (from the image
        archive on any workstation that shares it, else from where they were opened here)."""
        sid = self._point_sessions[index]
        menu = QMenu(self)
        act = menu.addAction("Open images")
        act.setToolTip(f"Load the images of session {sid} into the viewer")
        act.triggered.connect(lambda _=False, s=sid: self.session_clicked.emit(s))
        self._menu = menu  # kept alive while it is shown
        return menu

    def point_scene_pos(self, index: int) -> QPointF:
        """Scene position of point `index` (for tests and tours)."""
        vb = self.plot.getPlotItem().vb
        return vb.mapViewToScene(QPointF(float(self._points_x[index]),
                                         float(self._points_y[index])))

    @property
    def point_count(self) -> int:
        return len(self._point_sessions)

    # -- actions --------------------------------------------------------------------------
    def _edit_baseline(self) -> None:
        key = self.measurement_combo.currentData()
        eq_id = self.equipment_combo.currentData()
        if key is not None and eq_id is not None:
            self.edit_baseline.emit(eq_id, key[0], key[1])

    def open_service_event_dialog(self) -> ServiceEventDialog | None:
        """Open the "Add service event" dialog for the chosen equipment (non-blocking)."""
        eq_id = self.equipment_combo.currentData()
        if eq_id is None or not self.db.can("service_event"):
            return None
        eq = next((e for e in self._equipment if e.id == eq_id), None)
        dlg = ServiceEventDialog(eq.name if eq is not None else str(eq_id), self)
        dlg.accepted.connect(lambda: self._record_event(eq_id, dlg.values()))
        dlg.finished.connect(dlg.deleteLater)
        self.event_dialog = dlg
        dlg.open()
        return dlg

    def _record_event(self, equipment_id: int, values: dict[str, Any]) -> None:
        def done(ev: ServiceEventRecord) -> None:
            self.event_recorded.emit(ev)
            self.reload()

        self.db.run(lambda store: store.add_service_event(equipment_id, **values),
                    name="record service event", on_done=done,
                    on_failed=lambda m, h: self.info.setText(
                        f"The service event was not recorded: {m} {h}".strip()))

    def _export_dialog(self, kind: str) -> None:
        name = "trend." + kind
        if self.data is not None:
            name = f"trend_{self.data.protocol}_{self.data.measurement}.{kind}"
        path, _ = QFileDialog.getSaveFileName(self, f"Export trend as {kind.upper()}", name,
                                              f"{kind.upper()} (*.{kind})")
        if path:
            self.export(path)

    def export(self, path: str | Path) -> Path:
        """Write the plot as PNG or SVG (by extension)."""
        import pyqtgraph.exporters as exporters

        path = Path(path)
        item = self.plot.getPlotItem()
        if path.suffix.lower() == ".svg":
            # Qt's own SVG painter: pyqtgraph's SVGExporter trips over some Qt 6 path data.
            from PySide6.QtCore import QRect
            from PySide6.QtGui import QPainter
            from PySide6.QtSvg import QSvgGenerator

            size = self.plot.size()
            gen = QSvgGenerator()
            gen.setFileName(str(path))
            gen.setSize(size)
            gen.setViewBox(QRect(0, 0, size.width(), size.height()))
            gen.setTitle(self.plot.getPlotItem().titleLabel.text or "imgqa trend")
            painter = QPainter(gen)
            self.plot.render(painter)
            painter.end()
        else:
            exp = exporters.ImageExporter(item)
            exp.parameters()["width"] = max(800, int(self.plot.width()))
            exp.export(str(path))
        return path
