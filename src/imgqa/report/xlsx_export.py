"""QA records as an Excel workbook (openpyxl): a Summary sheet and a Results sheet.

* **Summary**: what was exported (period, filters, database, generation time, imgqa version),
  then one line per equipment with its identity, number of sessions, results per status, and
  sessions awaiting review.
* **Results**: one row per measurement with the columns of `imgqa.report.records.COLUMNS`
  (their titles as header), frozen header row and autofilter, column widths fitted to the
  content, times as Excel date-times (UTC), numbers as numbers with the unit in its own column.

Status cells carry the status **text** (OK, TOLERANCE, ACTION, NO_TOL) and a fill colour, so
the sheet reads the same printed in black and white or by someone who cannot tell red from
green. Text typed by users is always stored as text, never as a formula.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from imgqa.report.records import COLUMNS, STATUS_ORDER, QaRecords

__all__ = ["STATUS_COLOURS", "write_xlsx"]

# (fill, font) RGB per status: Excel's "good / neutral / bad" cell styles, grey for NO_TOL.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "OK": ("C6EFCE", "006100"),
    "TOLERANCE": ("FFEB9C", "9C5700"),
    "ACTION": ("FFC7CE", "9C0006"),
    "NO_TOL": ("EDEDED", "404040"),
}
_DATE_FORMAT = "yyyy-mm-dd hh:mm"
_MAX_WIDTH = 60


def _excel_value(v: Any) -> Any:
    if isinstance(v, datetime) and v.tzinfo is not None:
        # Excel has no time zones: times are written as UTC (the headers say so).
        return v.astimezone(UTC).replace(tzinfo=None)
    return v


def _set(ws: Any, row: int, col: int, value: Any) -> Any:
    c = ws.cell(row=row, column=col)
    v = _excel_value(value)
    if isinstance(v, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        v = ILLEGAL_CHARACTERS_RE.sub("", v)  # control characters Excel cannot store
    c.value = v
    if isinstance(v, str) and v.startswith("="):
        c.data_type = "s"  # user text, never a formula
    if isinstance(v, datetime):
        c.number_format = _DATE_FORMAT
    return c


def _style_status(cell: Any, status: str | None) -> None:
    from openpyxl.styles import Font, PatternFill

    if status in STATUS_COLOURS:
        fill, font = STATUS_COLOURS[status]
        cell.fill = PatternFill("solid", start_color=fill, end_color=fill)
        cell.font = Font(bold=status in ("TOLERANCE", "ACTION"), color=font)


def _fit_columns(ws: Any, widths: dict[int, int]) -> None:
    from openpyxl.utils import get_column_letter

    for col, w in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = min(_MAX_WIDTH, max(8, w + 2))


def _text_width(v: Any) -> int:
    if v is None:
        return 0
    if isinstance(v, datetime):
        return 16
    if isinstance(v, float):
        return len(f"{v:.6g}")
    return max((len(line) for line in str(v).splitlines()), default=0)


def write_xlsx(records: QaRecords, path: str | os.PathLike[str]) -> None:
    """Write ``records`` as a workbook with a Summary and a Results sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    head_font = Font(bold=True, color="FFFFFF")
    head_fill = PatternFill("solid", start_color="305496", end_color="305496")

    # -- Results ---------------------------------------------------------------------------
    ws = wb.active
    ws.title = "Results"
    names = [n for n, _ in COLUMNS]
    widths: dict[int, int] = {}
    for j, (_name, title) in enumerate(COLUMNS, start=1):
        c = _set(ws, 1, j, title)
        c.font, c.fill = head_font, head_fill
        c.alignment = Alignment(vertical="center", wrap_text=False)
        widths[j] = len(title)
    status_col = names.index("status") + 1
    for i, r in enumerate(records.rows, start=2):
        for j, n in enumerate(names, start=1):
            v = getattr(r, n)
            c = _set(ws, i, j, v)
            widths[j] = max(widths[j], _text_width(v))
            if isinstance(v, float):
                c.number_format = "General"
        _style_status(ws.cell(row=i, column=status_col), r.status)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    _fit_columns(ws, widths)

    # -- Summary (first sheet) -------------------------------------------------------------
    sm = wb.create_sheet("Summary", 0)
    info = [
        ("QA records", ""),
        ("Department / site", records.header_text() or "—"),
        ("Period", records.period_text()),
        ("Protocol", records.protocol or "all"),
        ("Sessions", "awaiting review only" if records.unreviewed_only else "all"),
        ("Generated (UTC)", records.generated_at),
        ("imgqa version", records.imgqa_version),
        ("Database", records.database),
        ("Results", len(records.rows)),
    ]
    for i, (k, v) in enumerate(info, start=1):
        _set(sm, i, 1, k).font = Font(bold=True)
        _set(sm, i, 2, v)
    sm.cell(row=1, column=1).font = Font(bold=True, size=14)
    start = len(info) + 2
    heads = ["Equipment", "Modality", "Manufacturer", "Model", "Serial number", "Station",
             "Location", "Sessions", "Awaiting review", *STATUS_ORDER, "Not measured"]
    for j, h in enumerate(heads, start=1):
        c = _set(sm, start, j, h)
        c.font, c.fill = head_font, head_fill
        if h in STATUS_COLOURS:
            _style_status(c, h)
    sm_widths = {j: max(len(h), 12) for j, h in enumerate(heads, start=1)}
    sm_widths[1] = max(sm_widths[1], max((len(str(k)) for k, _ in info), default=0))
    sm_widths[2] = max(sm_widths[2], 24)
    for i, e in enumerate(records.equipment, start=start + 1):
        rows = records.rows_for(e.id)
        sessions = records.sessions_for(e.id)
        counts = records.status_counts(rows)
        vals = [e.name, e.modality, e.manufacturer, e.model, e.serial, e.station_name,
                e.location, len(sessions), sum(1 for s in sessions if not s.reviews),
                *(counts[s] for s in STATUS_ORDER), counts["—"]]
        for j, v in enumerate(vals, start=1):
            c = _set(sm, i, j, v)
            sm_widths[j] = max(sm_widths[j], _text_width(v))
            if j > 9 and heads[j - 1] in STATUS_COLOURS and v:
                _style_status(c, heads[j - 1])
    _fit_columns(sm, sm_widths)
    sm.freeze_panes = sm.cell(row=start + 1, column=1)
    wb.save(path)
