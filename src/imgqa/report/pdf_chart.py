"""The trend chart of the PDF report (reportlab graphics): values over time on the OK,
tolerance and action bands in force at each point, the reference line and service events."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from imgqa.report.pdf_text import _num, _t

if TYPE_CHECKING:
    from imgqa.store.records import ServiceEventRecord

__all__ = ["trend_chart"]

# Chart bands (light) and point markers (dark).
_BAND = {"OK": "#DFF2E1", "TOLERANCE": "#FFF1C2", "ACTION": "#FADBD8"}
_MARK = {"OK": "#2E7D32", "TOLERANCE": "#E69F00", "ACTION": "#C62828", "NO_TOL": "#606060",
         None: "#606060"}

_CHART_W, _CHART_H = 372.0, 150.0
_EVENT = "#6A1B9A"  # service-event markers


@dataclass(frozen=True, slots=True)
class _Point:
    time: datetime
    value: float | None
    status: str | None
    reference: float | None
    act_low: float | None
    tol_low: float | None
    tol_high: float | None
    act_high: float | None

    @property
    def has_limits(self) -> bool:
        return any(v is not None for v in (self.act_low, self.tol_low, self.tol_high,
                                           self.act_high))


def _nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    span = hi - lo
    raw = span / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


@dataclass(frozen=True, slots=True)
class _Frame:
    """The plot area of a trend chart and its mapping from (time, value) to drawing points."""

    left: float
    bottom: float
    pw: float   # plot width, points
    ph: float   # plot height, points
    lo: float   # value range shown
    hi: float
    t0: float   # first and last point, POSIX seconds
    t1: float

    @property
    def span(self) -> float:
        return self.t1 - self.t0

    def x_of(self, t: float) -> float:
        span = self.span
        return self.left + (self.pw / 2 if span <= 0
                            else self.pw * (0.03 + 0.94 * (t - self.t0) / span))

    def y_of(self, v: float) -> float:
        return self.bottom + self.ph * (min(max(v, self.lo), self.hi) - self.lo) / (
            self.hi - self.lo)


def _value_range(pts: Sequence[_Point], vals: list[float]) -> tuple[float, float]:
    """The values and every reference/limit, padded by 8 % (5 % of the value if all equal)."""
    ys = list(vals)
    for p in pts:
        ys += [v for v in (p.reference, p.act_low, p.tol_low, p.tol_high, p.act_high)
               if v is not None and math.isfinite(v)]
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    pad = 0.08 * (hi - lo)
    return lo - pad, hi + pad


def trend_chart(points: Sequence[_Point], title: str, unit: str = "", *,
                width: float = _CHART_W, height: float = _CHART_H,
                events: Sequence[ServiceEventRecord] = ()) -> Any:
    """A reportlab Drawing: values over time on their OK / tolerance / action bands.

    The bands of each point are those stored with it (the limits in force when it was
    saved), drawn from half-way to the previous point to half-way to the next, so a change of
    baseline or tolerance shows as a step. Dashed line: the reference (baseline). Thin lines
    at the limits keep the bands readable in black and white. ``events`` (service events:
    objects with ``when`` and ``kind``) within the charted time span are dashed vertical
    lines labelled with their kind, so steps can be read against them.
    """
    from reportlab.graphics.shapes import Drawing, String

    d = Drawing(width, height)
    left, right, bottom, top = 44.0, 8.0, 26.0, 16.0
    pw, ph = width - left - right, height - bottom - top
    d.add(String(left, height - 11, _t(title + (f" [{unit}]" if unit else "")),
                 fontName="Helvetica-Bold", fontSize=8))
    pts = sorted(points, key=lambda p: p.time)
    vals = [p.value for p in pts if p.value is not None and math.isfinite(p.value)]
    if not vals:
        d.add(String(left + pw / 2, bottom + ph / 2, "no values", fontName="Helvetica",
                     fontSize=8, textAnchor="middle"))
        return d
    lo, hi = _value_range(pts, vals)
    fr = _Frame(left, bottom, pw, ph, lo, hi, pts[0].time.timestamp(), pts[-1].time.timestamp())
    xs = [fr.x_of(p.time.timestamp()) for p in pts]
    edges = [left] + [(a + b) / 2 for a, b in itertools.pairwise(xs)] + [left + pw]
    for i, p in enumerate(pts):
        if p.reference is not None and p.has_limits:
            _draw_bands(d, fr, p, p.reference, edges[i], edges[i + 1])
    _draw_events(d, fr, events)
    _draw_axes(d, fr, pts, xs)
    _draw_values(d, fr, pts, xs)
    return d


def _draw_bands(d: Any, fr: _Frame, p: _Point, reference: float, xa: float, xb: float) -> None:
    """One point's action (red), tolerance (amber) and OK (green) bands, limits, reference."""
    from reportlab.graphics.shapes import Line, Rect
    from reportlab.lib.colors import HexColor

    a_lo = -math.inf if p.act_low is None else p.act_low
    a_hi = math.inf if p.act_high is None else p.act_high
    t_lo = a_lo if p.tol_low is None else p.tol_low
    t_hi = a_hi if p.tol_high is None else p.tol_high
    if p.act_low is not None or p.act_high is not None:
        d.add(Rect(xa, fr.bottom, xb - xa, fr.ph, fillColor=HexColor(_BAND["ACTION"]),
                   strokeColor=None))
    if p.tol_low is not None or p.tol_high is not None:
        ya, yb = fr.y_of(a_lo), fr.y_of(a_hi)
        d.add(Rect(xa, ya, xb - xa, yb - ya, fillColor=HexColor(_BAND["TOLERANCE"]),
                   strokeColor=None))
    ya, yb = fr.y_of(t_lo), fr.y_of(t_hi)
    d.add(Rect(xa, ya, xb - xa, yb - ya, fillColor=HexColor(_BAND["OK"]), strokeColor=None))
    for v, dash in ((p.act_low, None), (p.act_high, None), (p.tol_low, (2, 2)),
                    (p.tol_high, (2, 2))):
        if v is not None and fr.lo <= v <= fr.hi:
            d.add(Line(xa, fr.y_of(v), xb, fr.y_of(v), strokeColor=HexColor("#909090"),
                       strokeWidth=0.4, strokeDashArray=dash))
    if fr.lo <= reference <= fr.hi:
        d.add(Line(xa, fr.y_of(reference), xb, fr.y_of(reference),
                   strokeColor=HexColor("#1F4E79"), strokeWidth=0.8, strokeDashArray=(4, 2)))


def _draw_events(d: Any, fr: _Frame, events: Sequence[ServiceEventRecord]) -> None:
    """Service events in the charted span: dashed vertical lines, the kind on top
    (alternating heights so neighbours do not overprint)."""
    from reportlab.graphics.shapes import Line, String
    from reportlab.lib.colors import HexColor

    shown = [e for e in sorted(events, key=lambda e: e.when)
             if (fr.t0 <= e.when.timestamp() <= fr.t1)
             if fr.span > 0 or e.when.timestamp() == fr.t0]
    for k, e in enumerate(shown):
        x = fr.x_of(e.when.timestamp())
        d.add(Line(x, fr.bottom, x, fr.bottom + fr.ph, strokeColor=HexColor(_EVENT),
                   strokeWidth=0.9, strokeDashArray=(3, 2)))
        kind = str(e.kind).strip() or "service"
        kind = kind if len(kind) <= 18 else kind[:17] + "."
        right_half = x > fr.left + 0.75 * fr.pw  # keep the label inside the frame
        d.add(String(x - 1.5 if right_half else x + 1.5, fr.bottom + fr.ph - 7 - 7 * (k % 2),
                     _t(kind), fontName="Helvetica", fontSize=5.5, fillColor=HexColor(_EVENT),
                     textAnchor="end" if right_half else "start"))


def _draw_axes(d: Any, fr: _Frame, pts: Sequence[_Point], xs: Sequence[float]) -> None:
    """Frame, value ticks and the dates of the first, middle (over 4 points) and last point."""
    from reportlab.graphics.shapes import Line, Rect, String
    from reportlab.lib.colors import HexColor

    d.add(Rect(fr.left, fr.bottom, fr.pw, fr.ph, fillColor=None,
               strokeColor=HexColor("#808080"), strokeWidth=0.5))
    for v in _nice_ticks(fr.lo, fr.hi):
        y = fr.y_of(v)
        d.add(Line(fr.left - 3, y, fr.left, y, strokeColor=HexColor("#808080"), strokeWidth=0.5))
        d.add(String(fr.left - 5, y - 2.5, _num(v), fontName="Helvetica", fontSize=6.5,
                     textAnchor="end"))
    labels = {0: pts[0], len(pts) - 1: pts[-1]}
    if len(pts) > 4:
        labels[len(pts) // 2] = pts[len(pts) // 2]
    for i, p in labels.items():
        anchor = "start" if i == 0 and len(pts) > 1 else \
            "end" if i == len(pts) - 1 and len(pts) > 1 else "middle"
        d.add(String(xs[i], fr.bottom - 10, p.time.strftime("%Y-%m-%d"), fontName="Helvetica",
                     fontSize=6.5, textAnchor=anchor))


def _draw_values(d: Any, fr: _Frame, pts: Sequence[_Point], xs: Sequence[float]) -> None:
    """The values joined by a line; TOLERANCE/ACTION as squares (visible without colour)."""
    from reportlab.graphics.shapes import Circle, PolyLine, Rect
    from reportlab.lib.colors import HexColor

    shown = [(p, x, fr.y_of(p.value)) for p, x in zip(pts, xs)
             if p.value is not None and math.isfinite(p.value)]
    line = [c for _, x, y in shown for c in (x, y)]
    if len(line) >= 4:
        d.add(PolyLine(line, strokeColor=HexColor("#303030"), strokeWidth=0.7))
    for p, x, y in shown:
        colour = HexColor(_MARK.get(p.status, _MARK[None]))
        if p.status in ("TOLERANCE", "ACTION"):
            d.add(Rect(x - 2.6, y - 2.6, 5.2, 5.2, fillColor=colour, strokeColor=None))
        else:
            d.add(Circle(x, y, 2.2, fillColor=colour, strokeColor=None))
