"""A printable QA report (PDF, reportlab) of a period, per piece of equipment.

Layout (A4 landscape):

* a header with the department/site, the period, the filters and the generation time;
* per equipment: its identity (modality, manufacturer, model, serial, station, location), a
  summary of results per status, a table of every session and measurement (value, unit,
  reference, tolerance and action limits in force, status as text on its colour), a trend
  chart per measurement with the reference line and the OK / tolerance / action bands that
  were in force at each point (drawn with ``reportlab.graphics``), and the review sign-off of
  each session (who approved or rejected it, when, with what comment);
* a sign-off block for the person who checks the report;
* on every page a footer with the imgqa version, the generation time and "page N of M";
* in the header the audit chain head at generation (``ID:HASH``, `imgqa.store.anchor`).

Status is always written as text next to its colour, so the report reads the same printed in
black and white. The PDF uses the standard Helvetica font (Windows-1252 characters; others are
shown as "?"), which every PDF reader has, and keeps text extractable for archiving.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from imgqa.report.records import STATUS_ORDER, QaRecords, RecordRow

__all__ = ["STATUS_COLOURS", "trend_chart", "write_pdf"]

# (background, text) per status; the same hues as the Excel export.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "OK": ("#C6EFCE", "#006100"),
    "TOLERANCE": ("#FFEB9C", "#9C5700"),
    "ACTION": ("#FFC7CE", "#9C0006"),
    "NO_TOL": ("#EDEDED", "#404040"),
}
# Chart bands (light) and point markers (dark).
_BAND = {"OK": "#DFF2E1", "TOLERANCE": "#FFF1C2", "ACTION": "#FADBD8"}
_MARK = {"OK": "#2E7D32", "TOLERANCE": "#E69F00", "ACTION": "#C62828", "NO_TOL": "#606060",
         None: "#606060"}

_CHART_W, _CHART_H = 372.0, 150.0
_EVENT = "#6A1B9A"  # service-event markers


# ------------------------------------------------------------------------------------------
# Text helpers
# ------------------------------------------------------------------------------------------
def _t(text: Any) -> str:
    """Text the standard PDF fonts can show (Windows-1252), e.g. "−∞" → "-inf"."""
    s = "" if text is None else str(text)
    s = s.replace("\u2212", "-").replace("\u221e", "inf").replace("\u2264", "<=") \
        .replace("\u2265", ">=")
    return s.encode("cp1252", errors="replace").decode("cp1252")


def _p(text: Any) -> str:
    """Escaped text for a Paragraph (its mini-markup would read '<' or '&' as tags)."""
    return escape(_t(text))


def _num(v: float | None) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    a = abs(v)
    if a >= 1000:
        return f"{v:.1f}"
    if a != 0 and a < 1e-3:
        return f"{v:.3g}"
    return f"{v:.4g}"


def _range(lo: float | None, hi: float | None) -> str:
    if lo is None and hi is None:
        return ""
    if lo is None:
        return f"max {_num(hi)}"
    if hi is None:
        return f"min {_num(lo)}"
    return f"{_num(lo)} – {_num(hi)}"


def _when(t: datetime | None) -> str:
    if t is None:
        return ""
    if t.tzinfo is not None:
        t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%d %H:%M")


# ------------------------------------------------------------------------------------------
# Trend chart
# ------------------------------------------------------------------------------------------
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


def trend_chart(points: Sequence[_Point], title: str, unit: str = "", *,
                width: float = _CHART_W, height: float = _CHART_H,
                events: Sequence[Any] = ()) -> Any:
    """A reportlab Drawing: values over time on their OK / tolerance / action bands.

    The bands of each point are those stored with it (the limits in force when it was
    saved), drawn from half-way to the previous point to half-way to the next, so a change of
    baseline or tolerance shows as a step. Dashed line: the reference (baseline). Thin lines
    at the limits keep the bands readable in black and white. ``events`` (service events:
    objects with ``when`` and ``kind``) within the charted time span are dashed vertical
    lines labelled with their kind, so steps can be read against them.
    """
    from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String
    from reportlab.lib.colors import HexColor

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
    ys = list(vals)
    for p in pts:
        for v in (p.reference, p.act_low, p.tol_low, p.tol_high, p.act_high):
            if v is not None and math.isfinite(v):
                ys.append(v)
    lo, hi = min(ys), max(ys)
    if hi - lo < 1e-12:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    pad = 0.08 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    t0 = pts[0].time.timestamp()
    t1 = pts[-1].time.timestamp()
    span = t1 - t0

    def x_of(t: float) -> float:
        return left + (pw / 2 if span <= 0 else pw * (0.03 + 0.94 * (t - t0) / span))

    def y_of(v: float) -> float:
        return bottom + ph * (min(max(v, lo), hi) - lo) / (hi - lo)

    xs = [x_of(p.time.timestamp()) for p in pts]
    edges = [left] + [(a + b) / 2 for a, b in itertools.pairwise(xs)] + [left + pw]
    for i, p in enumerate(pts):
        if p.reference is None or not p.has_limits:
            continue
        xa, xb = edges[i], edges[i + 1]
        a_lo = -math.inf if p.act_low is None else p.act_low
        a_hi = math.inf if p.act_high is None else p.act_high
        t_lo = a_lo if p.tol_low is None else p.tol_low
        t_hi = a_hi if p.tol_high is None else p.tol_high
        if p.act_low is not None or p.act_high is not None:
            d.add(Rect(xa, bottom, xb - xa, ph, fillColor=HexColor(_BAND["ACTION"]),
                       strokeColor=None))
        if p.tol_low is not None or p.tol_high is not None:
            ya, yb = y_of(a_lo), y_of(a_hi)
            d.add(Rect(xa, ya, xb - xa, yb - ya, fillColor=HexColor(_BAND["TOLERANCE"]),
                       strokeColor=None))
        ya, yb = y_of(t_lo), y_of(t_hi)
        d.add(Rect(xa, ya, xb - xa, yb - ya, fillColor=HexColor(_BAND["OK"]),
                   strokeColor=None))
        for v, dash in ((p.act_low, None), (p.act_high, None), (p.tol_low, (2, 2)),
                        (p.tol_high, (2, 2))):
            if v is not None and lo <= v <= hi:
                d.add(Line(xa, y_of(v), xb, y_of(v), strokeColor=HexColor("#909090"),
                           strokeWidth=0.4, strokeDashArray=dash))
        if lo <= p.reference <= hi:
            d.add(Line(xa, y_of(p.reference), xb, y_of(p.reference),
                       strokeColor=HexColor("#1F4E79"), strokeWidth=0.8,
                       strokeDashArray=(4, 2)))
    # service events: dashed vertical lines with the kind on top (alternating heights)
    shown = [e for e in sorted(events, key=lambda e: e.when)
             if (t0 <= e.when.timestamp() <= t1) if span > 0 or e.when.timestamp() == t0]
    for k, e in enumerate(shown):
        x = x_of(e.when.timestamp())
        d.add(Line(x, bottom, x, bottom + ph, strokeColor=HexColor(_EVENT),
                   strokeWidth=0.9, strokeDashArray=(3, 2)))
        kind = str(e.kind).strip() or "service"
        kind = kind if len(kind) <= 18 else kind[:17] + "."
        right_half = x > left + 0.75 * pw  # keep the label inside the frame
        d.add(String(x - 1.5 if right_half else x + 1.5, bottom + ph - 7 - 7 * (k % 2),
                     _t(kind), fontName="Helvetica", fontSize=5.5, fillColor=HexColor(_EVENT),
                     textAnchor="end" if right_half else "start"))
    # frame and axes
    d.add(Rect(left, bottom, pw, ph, fillColor=None, strokeColor=HexColor("#808080"),
               strokeWidth=0.5))
    for v in _nice_ticks(lo, hi):
        y = y_of(v)
        d.add(Line(left - 3, y, left, y, strokeColor=HexColor("#808080"), strokeWidth=0.5))
        d.add(String(left - 5, y - 2.5, _num(v), fontName="Helvetica", fontSize=6.5,
                     textAnchor="end"))
    labels = {0: pts[0], len(pts) - 1: pts[-1]}
    if len(pts) > 4:
        labels[len(pts) // 2] = pts[len(pts) // 2]
    for i, p in labels.items():
        anchor = "start" if i == 0 and len(pts) > 1 else \
            "end" if i == len(pts) - 1 and len(pts) > 1 else "middle"
        d.add(String(xs[i], bottom - 10, p.time.strftime("%Y-%m-%d"), fontName="Helvetica",
                     fontSize=6.5, textAnchor=anchor))
    # values
    line = [c for p, x in zip(pts, xs) if p.value is not None and math.isfinite(p.value)
            for c in (x, y_of(p.value))]
    if len(line) >= 4:
        d.add(PolyLine(line, strokeColor=HexColor("#303030"), strokeWidth=0.7))
    for p, x in zip(pts, xs):
        if p.value is None or not math.isfinite(p.value):
            continue
        y = y_of(p.value)
        colour = HexColor(_MARK.get(p.status, _MARK[None]))
        if p.status in ("TOLERANCE", "ACTION"):  # a square: visible without colour
            d.add(Rect(x - 2.6, y - 2.6, 5.2, 5.2, fillColor=colour, strokeColor=None))
        else:
            d.add(Circle(x, y, 2.2, fillColor=colour, strokeColor=None))
    return d


def _points(rows: Sequence[RecordRow]) -> list[_Point]:
    return [_Point(r.performed_at, r.value, r.status, r.reference, r.act_low, r.tol_low,
                   r.tol_high, r.act_high) for r in rows]


# ------------------------------------------------------------------------------------------
# Document
# ------------------------------------------------------------------------------------------
def _canvas_class(footer: str) -> type:
    """A canvas that writes the footer with "page N of M" once the page count is known."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    page_w, _ = landscape(A4)

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for state in self._pages:
                self.__dict__.update(state)
                self.setFont("Helvetica", 7)
                self.setFillGray(0.35)
                self.drawString(28, 16, _t(footer))
                self.drawRightString(page_w - 28, 16,
                                     f"page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


def write_pdf(records: QaRecords, path: str | os.PathLike[str], *, department: str = "",
              charts: bool = True) -> None:
    """Write the QA report of ``records`` to ``path``.

    Parameters
    ----------
    records : QaRecords
    path : path
    department : str, optional
        Department or site for the header; default the equipment's site/institution names.
    charts : bool
        Include a trend chart per measurement.
    """
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        CondPageBreak,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["Normal"], fontName="Helvetica", fontSize=8.5,
                          leading=11)
    small = ParagraphStyle("small", parent=body, fontSize=7, leading=8.5)
    h1 = ParagraphStyle("h1", parent=styles["Title"], fontName="Helvetica-Bold", fontSize=17,
                        alignment=0, spaceAfter=4)
    h2 = ParagraphStyle("h2", parent=styles["Heading2"], fontName="Helvetica-Bold",
                        fontSize=12.5, spaceBefore=2, spaceAfter=3)
    h3 = ParagraphStyle("h3", parent=styles["Heading3"], fontName="Helvetica-Bold",
                        fontSize=10, spaceBefore=8, spaceAfter=3)

    site = department.strip() or records.header_text() or "—"
    generated = _when(records.generated_at) + " UTC"
    footer = " — ".join(x for x in (f"imgqa {records.imgqa_version}", "QA report",
                                     site if site != "—" else "", records.period_text(),
                                     f"generated {generated}") if x)
    doc = SimpleDocTemplate(
        str(path), pagesize=landscape(A4), leftMargin=14 * mm, rightMargin=14 * mm,
        topMargin=12 * mm, bottomMargin=14 * mm, title=_t(f"QA report {site}"),
        author=f"imgqa {records.imgqa_version}",
        subject=_t(f"QA records {records.period_text()}"), creator="imgqa")
    width = doc.width
    grid = colors.HexColor("#B0B0B0")
    head_bg = colors.HexColor("#305496")

    def table(data: list[list[Any]], col_w: list[float], extra: list[tuple] = ()) -> Table:
        t = Table(data, colWidths=col_w, repeatRows=1)
        t.setStyle(TableStyle([
            ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
            ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
            ("BACKGROUND", (0, 0), (-1, 0), head_bg),
            ("GRID", (0, 0), (-1, -1), 0.3, grid),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 1.5),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            *extra]))
        return t

    def status_style(col: int, row: int, status: str | None) -> list[tuple]:
        if status not in STATUS_COLOURS:
            return []
        bg, fg = STATUS_COLOURS[status]
        return [("BACKGROUND", (col, row), (col, row), colors.HexColor(bg)),
                ("TEXTCOLOR", (col, row), (col, row), colors.HexColor(fg)),
                ("FONT", (col, row), (col, row), "Helvetica-Bold", 7.5)]

    story: list[Any] = []
    # -- report header ---------------------------------------------------------------------
    story.append(Paragraph("Imaging QC — QA report", h1))
    counts = records.status_counts()
    meta = [
        ["Department / site", _t(site)],
        ["Period", _t(records.period_text())],
        ["Equipment", _t(", ".join(e.name for e in records.equipment))],
        ["Protocol", _t(records.protocol or "all")],
        ["Sessions", f"{len(records.sessions)}"
         + (" (awaiting review only)" if records.unreviewed_only else "")],
        ["Results", f"{len(records.rows)}: " + ", ".join(
            f"{counts[s]} {s}" for s in STATUS_ORDER if counts[s])
         + (f", {counts['—']} not measured" if counts["—"] else "")],
        ["Generated", f"{generated} by imgqa {records.imgqa_version}"],
    ]
    if records.audit_anchor:  # lets anyone check later that the log was not cut or rewritten
        meta.append(["Audit log", f"{records.audit_entries} entries, head "
                     f"{records.audit_anchor} (check with `imgqa db verify --anchor "
                     f"{records.audit_anchor}`)"])
    mt = Table([[Paragraph(f"<b>{_p(k)}</b>", body), Paragraph(_p(v), body)] for k, v in meta],
               colWidths=[40 * mm, width - 40 * mm])
    mt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                            ("TOPPADDING", (0, 0), (-1, -1), 1),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    story += [mt, Spacer(1, 4 * mm)]

    # -- per equipment ---------------------------------------------------------------------
    for n, eq in enumerate(records.equipment):
        if n:
            story.append(PageBreak())
        rows = records.rows_for(eq.id)
        sessions = records.sessions_for(eq.id)
        ident = " · ".join(p for p in (eq.modality, " ".join(x for x in (eq.manufacturer,
                                                                          eq.model) if x),
                                       f"SN {eq.serial}" if eq.serial else "",
                                       f"station {eq.station_name}" if eq.station_name else "",
                                       eq.location, eq.site or eq.institution) if p)
        story.append(Paragraph(_p(eq.name), h2))
        c = records.status_counts(rows)
        story.append(Paragraph(
            _p(ident) + "<br/>" + _p(f"{len(sessions)} session(s), {len(rows)} result(s): "
                                     + ", ".join(f"{c[s]} {s}" for s in STATUS_ORDER if c[s])
                                     + (f", {c['—']} not measured" if c["—"] else "")
                                     + f"; {sum(1 for s in sessions if not s.reviews)} "
                                       "awaiting review"), body))

        # results table
        story.append(Paragraph("Results", h3))
        heads = ["Performed (UTC)", "Protocol", "Measurement", "Value", "Unit", "Reference",
                 "Tolerance limits", "Action limits", "Status", "Performed by", "Review"]
        fr = [0.10, 0.09, 0.19, 0.07, 0.05, 0.07, 0.10, 0.10, 0.07, 0.08, 0.08]
        data: list[list[Any]] = [heads]
        extra: list[tuple] = []
        last = None
        for r in rows:
            first = r.session_id != last
            last = r.session_id
            # the label for people, the internal name (as in CSV/JSON) small beneath it
            measurement = Paragraph(
                _p(r.measurement_label + (f" ({r.label})" if r.label else ""))
                + f'<br/><font size="6" color="#606060">{_p(r.measurement)}</font>', small)
            data.append([
                _when(r.performed_at) if first else "",
                _t(f"{r.protocol} v{r.protocol_version}" if r.protocol_version else
                   r.protocol),
                measurement, _num(r.value), _t(r.unit), _num(r.reference),
                _t(_range(r.tol_low, r.tol_high)), _t(_range(r.act_low, r.act_high)),
                r.status or "—", _t(r.performed_by) if first else "",
                _t(r.review_decision or "awaiting") if first else ""])
            i = len(data) - 1
            extra += status_style(8, i, r.status)
            if first and i > 1:
                extra.append(("LINEABOVE", (0, i), (-1, i), 0.9, colors.HexColor("#505050")))
        extra += [("ALIGN", (3, 1), (3, -1), "RIGHT"), ("ALIGN", (5, 1), (5, -1), "RIGHT")]
        story.append(table(data, [f * width for f in fr], extra))

        # trend charts
        if charts:
            series: dict[tuple[str, str, str], list[RecordRow]] = {}
            for r in rows:
                series.setdefault((r.protocol, r.label, r.measurement), []).append(r)
            events = [e for e in getattr(records, "service_events", ()) or ()
                      if e.equipment_id == eq.id]
            drawings = [trend_chart(_points(rs), f"{p} · {rs[0].measurement_label}"
                                    + (f" ({lab})" if lab else ""),
                                    rs[0].unit, width=(width - 6) / 2, events=events)
                        for (p, lab, _m), rs in series.items()
                        if any(r.value is not None for r in rs)]
            if drawings:
                story.append(CondPageBreak(_CHART_H + 40))
                story.append(Paragraph("Trends", h3))
                story.append(Paragraph(
                    "Green band: within tolerance; amber: tolerance exceeded; red: action "
                    "level exceeded (the limits in force at each point). Dashed blue line: "
                    "reference (baseline). Squares mark TOLERANCE and ACTION results."
                    + (" Dashed purple vertical lines: service events (listed below)."
                       if events else ""), small))
                story.append(Spacer(1, 2 * mm))
                for k in range(0, len(drawings), 2):
                    pair = drawings[k:k + 2] + ([""] if len(drawings[k:k + 2]) == 1 else [])
                    ct = Table([pair], colWidths=[width / 2, width / 2])
                    ct.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                            ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
                    story.append(ct)
                if events:
                    story.append(Spacer(1, 2 * mm))
                    ev_rows = [["When (UTC)", "Kind", "Description", "Performed by",
                                "Recorded by"]]
                    ev_rows += [[_when(e.when), _t(e.kind), Paragraph(_p(e.description), small),
                                 _t(e.performed_by), _t(e.recorded_by)]
                                for e in sorted(events, key=lambda e: e.when)]
                    story.append(KeepTogether([  # the caption never parts from its table
                        Paragraph("Service events in the period", small),
                        table(ev_rows, [f * width for f in (0.13, 0.13, 0.44, 0.17, 0.13)])]))

        # review sign-off
        sign = [["Session (UTC)", "Session UID", "Performed by", "Worst status", "Review",
                 "Reviewer", "Reviewed (UTC)", "Comments"]]
        extra = []
        for s in sessions:
            comments = [s.comment] if s.comment else []
            comments += list(s.comments)
            if not s.reviews:
                sign.append([_when(s.performed_at), s.uid, _t(s.performed_by),
                             s.worst_status or "—", "awaiting review", "", "",
                             Paragraph(_p(" | ".join(comments)), small)])
                extra += status_style(3, len(sign) - 1, s.worst_status)
            for j, rv in enumerate(s.reviews):
                sign.append([_when(s.performed_at) if j == 0 else "", s.uid if j == 0 else "",
                             _t(s.performed_by) if j == 0 else "",
                             (s.worst_status or "—") if j == 0 else "", _t(rv.decision),
                             _t(rv.reviewer), _when(rv.reviewed_at),
                             Paragraph(_p(" | ".join(
                                 ([f"review: {rv.comment}"] if rv.comment else [])
                                 + (comments if j == 0 else []))), small)])
                if j == 0:
                    extra += status_style(3, len(sign) - 1, s.worst_status)
        fr = [0.10, 0.21, 0.09, 0.08, 0.08, 0.09, 0.10, 0.25]
        story.append(CondPageBreak(30 * mm))  # never a heading alone at a page foot
        story.append(Paragraph("Review sign-off", h3))
        story.append(table(sign, [f * width for f in fr], extra))

    # -- report sign-off -------------------------------------------------------------------
    story.append(CondPageBreak(40 * mm))
    story.append(Paragraph("Report checked", h3))
    line = "_" * 38
    st = Table([["Name", line, "Signature", line, "Date", "_" * 18]],
               colWidths=[16 * mm, 72 * mm, 20 * mm, 72 * mm, 12 * mm, 40 * mm])
    st.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                            ("TOPPADDING", (0, 0), (-1, -1), 10)]))
    story.append(st)
    doc.build(story, canvasmaker=_canvas_class(footer))
