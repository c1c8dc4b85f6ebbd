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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

# The chart lives in pdf_chart, the text helpers in pdf_text (this module stays under 600
# lines); _EVENT and _Point are re-exported for the tests that draw charts directly.
from imgqa.report.pdf_chart import _CHART_H, _Point, trend_chart
from imgqa.report.pdf_chart import _EVENT as _EVENT  # noqa: F401 (re-export)
from imgqa.report.pdf_text import _num, _p, _range, _t, _when
from imgqa.report.records import STATUS_ORDER, QaRecords, RecordRow, SessionInfo

if TYPE_CHECKING:
    from imgqa.store.records import EquipmentRecord, ServiceEventRecord

__all__ = ["STATUS_COLOURS", "trend_chart", "write_pdf"]

# (background, text) per status; the same hues as the Excel export.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "OK": ("#C6EFCE", "#006100"),
    "TOLERANCE": ("#FFEB9C", "#9C5700"),
    "ACTION": ("#FFC7CE", "#9C0006"),
    "NO_TOL": ("#EDEDED", "#404040"),
}


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


@dataclass(frozen=True, slots=True)
class _Look:
    """Paragraph styles and the text width of the report's pages."""

    body: Any
    small: Any
    h1: Any
    h2: Any
    h3: Any
    width: float   # points between the margins


def _look(width: float) -> _Look:
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["Normal"], fontName="Helvetica", fontSize=8.5,
                          leading=11)
    return _Look(
        body=body,
        small=ParagraphStyle("small", parent=body, fontSize=7, leading=8.5),
        h1=ParagraphStyle("h1", parent=styles["Title"], fontName="Helvetica-Bold", fontSize=17,
                          alignment=0, spaceAfter=4),
        h2=ParagraphStyle("h2", parent=styles["Heading2"], fontName="Helvetica-Bold",
                          fontSize=12.5, spaceBefore=2, spaceAfter=3),
        h3=ParagraphStyle("h3", parent=styles["Heading3"], fontName="Helvetica-Bold",
                          fontSize=10, spaceBefore=8, spaceAfter=3),
        width=width)


def _table(data: list[list[Any]], col_w: list[float], extra: Sequence[tuple] = ()) -> Any:
    """A grid table with a blue header row that repeats on every page."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    t = Table(data, colWidths=col_w, repeatRows=1)
    t.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, -1), "Helvetica", 7.5),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7.5),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#305496")),
        ("GRID", (0, 0), (-1, -1), 0.3, colors.HexColor("#B0B0B0")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        *extra]))
    return t


def _status_style(col: int, row: int, status: str | None) -> list[tuple]:
    """The status cell on its colour, bold (the text says the status without colour)."""
    from reportlab.lib import colors

    if status not in STATUS_COLOURS:
        return []
    bg, fg = STATUS_COLOURS[status]
    return [("BACKGROUND", (col, row), (col, row), colors.HexColor(bg)),
            ("TEXTCOLOR", (col, row), (col, row), colors.HexColor(fg)),
            ("FONT", (col, row), (col, row), "Helvetica-Bold", 7.5)]


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
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, SimpleDocTemplate

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
    look = _look(doc.width)
    story: list[Any] = _report_header(records, site, generated, look)
    for n, eq in enumerate(records.equipment):
        if n:
            story.append(PageBreak())
        story += _equipment_section(records, eq, look, charts)
    story += _report_sign_off(look)
    doc.build(story, canvasmaker=_canvas_class(footer))


def _report_header(records: QaRecords, site: str, generated: str, look: _Look) -> list[Any]:
    """Title and the table of what the report covers (period, filters, counts, audit head)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

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
    mt = Table([[Paragraph(f"<b>{_p(k)}</b>", look.body), Paragraph(_p(v), look.body)]
                for k, v in meta], colWidths=[40 * mm, look.width - 40 * mm])
    mt.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                            ("TOPPADDING", (0, 0), (-1, -1), 1),
                            ("BOTTOMPADDING", (0, 0), (-1, -1), 1)]))
    return [Paragraph("Imaging QC — QA report", look.h1), mt, Spacer(1, 4 * mm)]


def _equipment_section(records: QaRecords, eq: EquipmentRecord, look: _Look, charts: bool
                       ) -> list[Any]:
    """One piece of equipment: identity and counts, results, trends, review sign-off."""
    from reportlab.platypus import Paragraph

    rows = records.rows_for(eq.id)
    sessions = records.sessions_for(eq.id)
    ident = " · ".join(p for p in (eq.modality, " ".join(x for x in (eq.manufacturer,
                                                                      eq.model) if x),
                                   f"SN {eq.serial}" if eq.serial else "",
                                   f"station {eq.station_name}" if eq.station_name else "",
                                   eq.location, eq.site or eq.institution) if p)
    c = records.status_counts(rows)
    story: list[Any] = [Paragraph(_p(eq.name), look.h2), Paragraph(
        _p(ident) + "<br/>" + _p(f"{len(sessions)} session(s), {len(rows)} result(s): "
                                 + ", ".join(f"{c[s]} {s}" for s in STATUS_ORDER if c[s])
                                 + (f", {c['—']} not measured" if c["—"] else "")
                                 + f"; {sum(1 for s in sessions if not s.reviews)} "
                                   "awaiting review"), look.body)]
    story += _results_table(rows, look)
    if charts:
        events = [e for e in records.service_events if e.equipment_id == eq.id]
        story += _trend_section(rows, events, look)
    story += _review_sign_off(sessions, look)
    return story


def _results_table(rows: Sequence[RecordRow], look: _Look) -> list[Any]:
    """Every measurement of every session, a rule above each new session."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph

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
            + f'<br/><font size="6" color="#606060">{_p(r.measurement)}</font>', look.small)
        data.append([
            _when(r.performed_at) if first else "",
            _t(f"{r.protocol} v{r.protocol_version}" if r.protocol_version else r.protocol),
            measurement, _num(r.value), _t(r.unit), _num(r.reference),
            _t(_range(r.tol_low, r.tol_high)), _t(_range(r.act_low, r.act_high)),
            r.status or "—", _t(r.performed_by) if first else "",
            _t(r.review_decision or "awaiting") if first else ""])
        i = len(data) - 1
        extra += _status_style(8, i, r.status)
        if first and i > 1:
            extra.append(("LINEABOVE", (0, i), (-1, i), 0.9, colors.HexColor("#505050")))
    extra += [("ALIGN", (3, 1), (3, -1), "RIGHT"), ("ALIGN", (5, 1), (5, -1), "RIGHT")]
    return [Paragraph("Results", look.h3), _table(data, [f * look.width for f in fr], extra)]


def _trend_section(rows: Sequence[RecordRow], events: Sequence[ServiceEventRecord],
                   look: _Look) -> list[Any]:
    """A chart per measurement with values, two per row, and the service events below."""
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        CondPageBreak,
        KeepTogether,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    width = look.width
    series: dict[tuple[str, str, str], list[RecordRow]] = {}
    for r in rows:
        series.setdefault((r.protocol, r.label, r.measurement), []).append(r)
    drawings = [trend_chart(_points(rs), f"{p} · {rs[0].measurement_label}"
                            + (f" ({lab})" if lab else ""),
                            rs[0].unit, width=(width - 6) / 2, events=events)
                for (p, lab, _m), rs in series.items()
                if any(r.value is not None for r in rs)]
    if not drawings:
        return []
    story: list[Any] = [
        CondPageBreak(_CHART_H + 40), Paragraph("Trends", look.h3),
        Paragraph("Green band: within tolerance; amber: tolerance exceeded; red: action "
                  "level exceeded (the limits in force at each point). Dashed blue line: "
                  "reference (baseline). Squares mark TOLERANCE and ACTION results."
                  + (" Dashed purple vertical lines: service events (listed below)."
                     if events else ""), look.small),
        Spacer(1, 2 * mm)]
    for k in range(0, len(drawings), 2):
        pair = drawings[k:k + 2] + ([""] if len(drawings[k:k + 2]) == 1 else [])
        ct = Table([pair], colWidths=[width / 2, width / 2])
        ct.setStyle(TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0),
                                ("RIGHTPADDING", (0, 0), (-1, -1), 0)]))
        story.append(ct)
    if events:
        story.append(Spacer(1, 2 * mm))
        ev_rows = [["When (UTC)", "Kind", "Description", "Performed by", "Recorded by"]]
        ev_rows += [[_when(e.when), _t(e.kind), Paragraph(_p(e.description), look.small),
                     _t(e.performed_by), _t(e.recorded_by)]
                    for e in sorted(events, key=lambda e: e.when)]
        story.append(KeepTogether([  # the caption never parts from its table
            Paragraph("Service events in the period", look.small),
            _table(ev_rows, [f * width for f in (0.13, 0.13, 0.44, 0.17, 0.13)])]))
    return story


def _review_sign_off(sessions: Sequence[SessionInfo], look: _Look) -> list[Any]:
    """Each session's reviews (or "awaiting review") with the session's comments."""
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Paragraph

    small = look.small
    sign: list[list[Any]] = [["Session (UTC)", "Session UID", "Performed by", "Worst status",
                              "Review", "Reviewer", "Reviewed (UTC)", "Comments"]]
    extra: list[tuple] = []
    for s in sessions:
        comments = [s.comment] if s.comment else []
        comments += list(s.comments)
        if not s.reviews:
            sign.append([_when(s.performed_at), s.uid, _t(s.performed_by),
                         s.worst_status or "—", "awaiting review", "", "",
                         Paragraph(_p(" | ".join(comments)), small)])
            extra += _status_style(3, len(sign) - 1, s.worst_status)
        for j, rv in enumerate(s.reviews):
            sign.append([_when(s.performed_at) if j == 0 else "", s.uid if j == 0 else "",
                         _t(s.performed_by) if j == 0 else "",
                         (s.worst_status or "—") if j == 0 else "", _t(rv.decision),
                         _t(rv.reviewer), _when(rv.reviewed_at),
                         Paragraph(_p(" | ".join(
                             ([f"review: {rv.comment}"] if rv.comment else [])
                             + (comments if j == 0 else []))), small)])
            if j == 0:
                extra += _status_style(3, len(sign) - 1, s.worst_status)
    fr = [0.10, 0.21, 0.09, 0.08, 0.08, 0.09, 0.10, 0.25]
    return [CondPageBreak(30 * mm),  # never a heading alone at a page foot
            Paragraph("Review sign-off", look.h3),
            _table(sign, [f * look.width for f in fr], extra)]


def _report_sign_off(look: _Look) -> list[Any]:
    """Name, signature and date lines for the person who checks the report."""
    from reportlab.lib.units import mm
    from reportlab.platypus import CondPageBreak, Paragraph, Table, TableStyle

    line = "_" * 38
    st = Table([["Name", line, "Signature", line, "Date", "_" * 18]],
               colWidths=[16 * mm, 72 * mm, 20 * mm, 72 * mm, 12 * mm, 40 * mm])
    st.setStyle(TableStyle([("FONT", (0, 0), (-1, -1), "Helvetica", 9),
                            ("TOPPADDING", (0, 0), (-1, -1), 10)]))
    return [CondPageBreak(40 * mm), Paragraph("Report checked", look.h3), st]
