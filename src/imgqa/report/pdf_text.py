"""Text for the PDF report: what the standard fonts can show, numbers, ranges and times."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

__all__: list[str] = []  # helpers of imgqa.report.pdf_export and pdf_chart only


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
