"""The commissioning report of ``imgqa validate --report``: JSON or PDF, with a SHA-256.

The report records what a department files after installing or upgrading imgqa: the software
version and git commit, platform, Python and library versions, date and time, every check with
its tolerance, truth, measured value, error and pass/fail, and (when the real images are
available) the agreement table with other tools.

Integrity: the *content hash* is the SHA-256 of the canonical JSON of the report without its
``sha256`` field (keys sorted, no whitespace, UTF-8; `canonical_json`). A JSON report stores it
in ``sha256``. A PDF report prints it on the last page and in the PDF subject, and a sidecar
``FILE.pdf.sha256`` holds the SHA-256 of the PDF file itself in ``sha256sum`` format, so
``sha256sum -c FILE.pdf.sha256`` or ``imgqa validate --verify-report FILE.pdf`` checks it.
The hash shows that a filed report was not changed after it was written; it is not a signature
(anyone can recompute it), so file the report where edits are controlled.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from imgqa._version import __version__
from imgqa.validation.runner import CheckOutcome

__all__ = ["REPORT_KIND", "build_report", "canonical_json", "content_hash", "environment",
           "verify_report", "write_json_report", "write_pdf_report", "write_report"]

REPORT_KIND = "imgqa commissioning report"
_LIBRARIES = ("numpy", "scipy", "pydicom", "pynetdicom", "scikit-image", "SQLAlchemy",
              "reportlab", "openpyxl", "PySide6", "pyqtgraph")


def _git_commit() -> str:
    """The git commit imgqa runs from, or "unknown" (installed wheel, no git)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    sha = out.stdout.strip()
    if out.returncode != 0 or len(sha) != 40:
        return "unknown"
    return sha + (" (modified)" if dirty.returncode == 0 and dirty.stdout.strip() else "")


def environment() -> dict[str, Any]:
    """Software, platform, Python and library versions (read from package metadata, so no
    library — Qt in particular — is imported)."""
    libs = {}
    for name in _LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = "not installed"
    return {
        "software": {"name": "imgqa", "version": __version__, "git_commit": _git_commit()},
        "platform": {"system": platform.system(), "release": platform.release(),
                     "machine": platform.machine(), "platform": platform.platform()},
        "python": {"version": platform.python_version(),
                   "implementation": platform.python_implementation()},
        "libraries": libs,
    }


def _finite(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf → None (canonical JSON has no NaN), tuples → lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def build_report(outcomes: Sequence[CheckOutcome], *, elapsed_s: float | None = None,
                 real_data: dict[str, Any] | None = None,
                 created: datetime | None = None) -> dict[str, Any]:
    """The report content with its ``sha256`` content hash.

    Parameters
    ----------
    outcomes : CheckOutcome sequence
        From `imgqa.validation.run_validation`.
    elapsed_s : float, optional
        Wall-clock time of the checks (s).
    real_data : dict, optional
        ``{"data_dir": str, "rows": [...]}`` from `real_data.run_agreement`, or
        ``{"note": "..."}`` saying why there is no table.
    """
    failed = sum(not o.passed for o in outcomes)
    content = {
        "report": REPORT_KIND,
        "format_version": 1,
        "created_utc": (created or datetime.now(UTC)).isoformat(timespec="seconds"),
        **environment(),
        "summary": {"checks": len(outcomes), "passed": len(outcomes) - failed,
                    "failed": failed, "all_passed": failed == 0,
                    "protocols": len({o.check.protocol for o in outcomes}),
                    "elapsed_s": None if elapsed_s is None else round(elapsed_s, 2)},
        "checks": [o.to_dict() for o in outcomes],
        "real_data": real_data or {"note": "not run (no --report, no --real-data)"},
    }
    content = _finite(content)
    content["sha256"] = content_hash(content)
    return content


def canonical_json(content: dict[str, Any]) -> bytes:
    """Keys sorted, no whitespace, UTF-8; the ``sha256`` field left out."""
    body = {k: v for k, v in content.items() if k != "sha256"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of `canonical_json`."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def write_report(report: dict[str, Any], path: str | os.PathLike[str]) -> list[Path]:
    """Write `report` as JSON or PDF by the file extension; return the files written."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".json":
        return [write_json_report(report, p)]
    if suffix == ".pdf":
        return write_pdf_report(report, p)
    from imgqa.errors import ParameterError

    raise ParameterError(f"The report file must end in .pdf or .json, not {p.name!r}.",
                         hint="e.g. imgqa validate --report commissioning.pdf")


def write_json_report(report: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n",
                    encoding="utf-8")
    return path


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_pdf_report(report: dict[str, Any], path: Path) -> list[Path]:
    """Write the PDF and its ``.sha256`` sidecar (``sha256sum`` format); return both paths."""
    from imgqa.validation.report_pdf import render_pdf

    path.parent.mkdir(parents=True, exist_ok=True)
    render_pdf(report, path)
    sidecar = path.with_name(path.name + ".sha256")
    sidecar.write_text(f"{_sha256_file(path)}  {path.name}\n", encoding="ascii")
    return [path, sidecar]


def verify_report(path: str | os.PathLike[str]) -> tuple[bool, str]:
    """Check a report's integrity. Returns (ok, a sentence saying what was checked).

    JSON: the stored ``sha256`` equals the hash of the canonical content. PDF: the file starts
    with ``%PDF-`` and its SHA-256 equals the one in ``FILE.pdf.sha256``.
    """
    p = Path(path)
    if not p.is_file():
        return False, f"{p} does not exist."
    if p.suffix.lower() == ".pdf":
        sidecar = p.with_name(p.name + ".sha256")
        if not sidecar.is_file():
            return False, f"No {sidecar.name} beside the PDF: its integrity cannot be checked."
        expected = sidecar.read_text(encoding="ascii", errors="replace").split()
        if not p.read_bytes()[:5] == b"%PDF-":
            return False, f"{p.name} is not a PDF file."
        actual = _sha256_file(p)
        if not expected or expected[0].lower() != actual:
            return False, (f"{p.name} was changed after it was written: its SHA-256 {actual} "
                           f"differs from the one in {sidecar.name}.")
        return True, f"{p.name}: SHA-256 {actual} matches {sidecar.name}."
    try:
        report = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return False, f"{p.name} is not a readable JSON report ({exc})."
    if not isinstance(report, dict) or report.get("report") != REPORT_KIND:
        return False, f"{p.name} is not an imgqa commissioning report."
    stored = report.get("sha256")
    actual = content_hash(report)
    if stored != actual:
        return False, (f"{p.name} was changed after it was written: its content hash is "
                       f"{actual}, the stored one {stored}.")
    return True, f"{p.name}: content SHA-256 {actual} verified."
