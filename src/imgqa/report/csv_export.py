"""QA records as CSV: one row per measurement, the columns of `imgqa.report.records.COLUMNS`.

The header row holds the field names (``session_uid``, ``value``, ``status`` …) so scripts can
read columns by name. Times are ISO 8601 in UTC, numbers are written in full precision with a
point as decimal separator, a missing value is an empty cell. The file is UTF-8 with a byte
order mark, which Excel needs to show accented names correctly (read it back with
``encoding="utf-8-sig"``).

Text that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``) is
prefixed with an apostrophe, after the OWASP advice on CSV injection: comments are typed by
users and an audit file must not execute anything when opened.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from typing import Any

from imgqa.report.records import COLUMNS, QaRecords

__all__ = ["csv_cell", "write_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """One value as CSV text (ISO times, full-precision numbers, '' for missing)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def write_csv(records: QaRecords, path: str | os.PathLike[str]) -> None:
    """Write every row of ``records`` to ``path`` (UTF-8 with BOM, comma-separated)."""
    names = [name for name, _ in COLUMNS]
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in records.rows:
            w.writerow([csv_cell(getattr(r, n)) for n in names])
