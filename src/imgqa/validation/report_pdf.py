"""Render the commissioning report as a PDF (reportlab, A4 landscape, standard fonts).

Page streams are left uncompressed so the printed content hash can be found in the file with
any text tool; the report is a few pages, so the size does not matter.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["render_pdf"]

# Characters the standard PDF fonts (Windows-1252) lack, written out.
_ASCII = {"\u2212": "-", "σ": "sigma", "√": "sqrt", "π": "pi", "Φ": "Phi", "Σ": "sum",
          "≈": "~", "≤": "<=", "≥": ">=", "∓": "-/+", "→": "->", "ν": "nu", "∞": "inf"}


def _t(text: Any) -> str:
    s = "" if text is None else str(text)
    for a, b in _ASCII.items():
        s = s.replace(a, b)
    return s.encode("cp1252", errors="replace").decode("cp1252")


def _p(text: Any) -> str:
    return escape(_t(text))


def _num(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    a = abs(v)
    if a != 0 and (a < 1e-3 or a >= 1e5):
        return f"{v:.3e}"
    return f"{v:.4g}"


def render_pdf(report: dict[str, Any], path: Path) -> None:
    """Write `report` (from `imgqa.validation.report.build_report`) to `path`."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    body = styles["BodyText"]
    digest = report["sha256"]
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm,
                            rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
                            title="imgqa commissioning report", author="imgqa",
                            subject=f"content SHA-256 {digest}", pageCompression=0)
    width = doc.width

    def table(rows: list[list[Any]], fractions: list[float], status_col: int | None = None
              ) -> Table:
        data = [[Paragraph(_p(c), small) for c in r] for r in rows]
        t = Table(data, colWidths=[f * width for f in fractions], repeatRows=1)
        style = [("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                 ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDDDDD")),
                 ("VALIGN", (0, 0), (-1, -1), "TOP")]
        if status_col is not None:
            for i, r in enumerate(rows[1:], start=1):
                ok = r[status_col] == "PASS"
                style.append(("BACKGROUND", (status_col, i), (status_col, i),
                              colors.HexColor("#C6EFCE" if ok else "#FFC7CE")))
        t.setStyle(TableStyle(style))
        return t

    s = report["summary"]
    sw = report["software"]
    story: list[Any] = [
        Paragraph("imgqa commissioning report", styles["Title"]),
        Paragraph(_p(f"Created {report['created_utc']} (UTC). imgqa {sw['version']}, "
                     f"git commit {sw['git_commit']}."), body),
        Paragraph(_p(f"Result: {s['passed']} of {s['checks']} checks passed over "
                     f"{s['protocols']} protocols"
                     + (f" in {s['elapsed_s']} s" if s.get("elapsed_s") is not None else "")
                     + (" - ALL PASSED." if s["all_passed"] else " - FAILURES, see below.")),
                  styles["Heading3"]),
        Spacer(1, 3 * mm),
    ]
    env = [["Item", "Value"],
           ["Platform", report["platform"]["platform"]],
           ["Python", f"{report['python']['implementation']} {report['python']['version']}"]]
    env += [[name, version] for name, version in report["libraries"].items()]
    story += [table(env, [0.25, 0.75]), Spacer(1, 4 * mm),
              Paragraph("Checks: digital phantoms with analytic ground truth", styles["Heading2"])]
    rows = [["Protocol", "Phantom", "Measurement", "Truth", "Measured", "Error", "Tolerance",
             "Result", "Note"]]
    for c in report["checks"]:
        rows.append([c["protocol"], c["phantom"], c["measurement"], _num(c["truth"]),
                     _num(c["measured"]), _num(c["error"]), c["tolerance"],
                     "PASS" if c["passed"] else "FAIL", c["note"]])
    story.append(table(rows, [0.09, 0.1, 0.19, 0.07, 0.07, 0.07, 0.08, 0.05, 0.28],
                       status_col=7))
    story += [Spacer(1, 4 * mm), Paragraph("Source of each truth", styles["Heading2"])]
    seen: dict[tuple[str, str], str] = {}
    for c in report["checks"]:
        seen.setdefault((c["protocol"], c["phantom"]), c["source"])
    story.append(table([["Protocol", "Phantom", "Truth (analytic formula or reference)"]]
                       + [[p, ph, src] for (p, ph), src in seen.items()], [0.12, 0.14, 0.74]))
    story += [Spacer(1, 4 * mm),
              Paragraph("Agreement with other tools on real scanners' images", styles["Heading2"])]
    real = report.get("real_data") or {}
    if real.get("rows"):
        story.append(Paragraph(_p(f"Data folder: {real.get('data_dir', '')}. Other tools' "
                                  "values are what their own test suites assert; they are "
                                  "not ground truth."), body))
        rows = [["Series", "Protocol", "Measurement", "Tool", "Tool value", "imgqa",
                 "Difference", "Note"]]
        for r in real["rows"]:
            rows.append([r["series"], r["protocol"], r["measurement"], r["tool"],
                         _num(r["tool_value"]), _num(r["imgqa"]), _num(r["difference"]),
                         r["note"]])
        story.append(table(rows, [0.2, 0.08, 0.18, 0.09, 0.07, 0.07, 0.07, 0.24]))
    else:
        story.append(Paragraph(_p(real.get("note", "not run")), body))
    story += [Spacer(1, 6 * mm), Paragraph("Integrity", styles["Heading2"]),
              Paragraph(_p("Content SHA-256 (canonical JSON of this report's content): "), body),
              Paragraph(f"<font face='Courier'>{digest}</font>", body),
              Paragraph(_p("The SHA-256 of this PDF file is in the file FILE.pdf.sha256 written "
                           "beside it; check with: sha256sum -c FILE.pdf.sha256, or imgqa "
                           "validate --verify-report FILE.pdf."), body),
              Spacer(1, 8 * mm),
              Paragraph(_p("Checked by (name, role, date, signature): "
                           "______________________________________________"), body)]
    doc.build(story)
