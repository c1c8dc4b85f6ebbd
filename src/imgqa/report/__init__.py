"""Export QA records for audits and regulators: CSV, Excel (XLSX), PDF and JSON.

Typical use::

    from imgqa.report import gather, export
    from imgqa.store import open_store
    with open_store() as store:
        records = gather(store, equipment=["CT room 1"], since=parse_date("2026-01-01"))
    export(records, "ct-january.pdf")          # format from the suffix

`gather` reads the store (`imgqa.report.records`); each writer turns the same `QaRecords` into
one file. Files are written to a temporary name next to the target and renamed when complete,
so an interrupted export never leaves half a report under the real name. See docs/reports.md.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from imgqa.errors import ExportError
from imgqa.report.records import COLUMNS, QaRecords, RecordRow, SessionInfo, gather, parse_date

__all__ = [
    "COLUMNS",
    "FORMATS",
    "QaRecords",
    "RecordRow",
    "SessionInfo",
    "export",
    "format_for",
    "gather",
    "parse_date",
]

FORMATS: tuple[str, ...] = ("csv", "xlsx", "pdf", "json")


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The export format: ``fmt`` if given, else from the file suffix."""
    if fmt:
        f = fmt.lower().lstrip(".")
    else:
        f = Path(path).suffix.lower().lstrip(".")
        if not f:
            raise ExportError(f"{Path(path).name} has no suffix to tell the format.",
                              hint="Name the file .csv, .xlsx, .pdf or .json, or give "
                                   "--format.")
    if f == "xls":
        raise ExportError("The old Excel format (.xls) is not supported.",
                          hint="Use .xlsx, which every Excel since 2007 opens.")
    if f not in FORMATS:
        raise ExportError(f"Unknown export format {f!r}.",
                          hint="Choose one of: " + ", ".join(FORMATS) + ".")
    return f


def _writer(fmt: str) -> Callable[..., None]:
    if fmt == "csv":
        from imgqa.report.csv_export import write_csv
        return write_csv
    if fmt == "xlsx":
        from imgqa.report.xlsx_export import write_xlsx
        return write_xlsx
    if fmt == "pdf":
        from imgqa.report.pdf_export import write_pdf
        return write_pdf
    from imgqa.report.json_export import write_json
    return write_json


def export(records: QaRecords, path: str | os.PathLike[str], fmt: str | None = None, *,
           department: str = "") -> Path:
    """Write ``records`` to ``path`` as CSV, XLSX, PDF or JSON; return the path written.

    Parameters
    ----------
    records : QaRecords
        From `gather`.
    path : path
        Target file; replaced atomically when complete.
    fmt : {"csv", "xlsx", "pdf", "json"}, optional
        Default: from the suffix of ``path``.
    department : str, optional
        Department or site name for the PDF header (default: the equipment's site names).

    Raises
    ------
    ExportError
        Unknown format, missing folder, or the file cannot be written (e.g. open in Excel).
    """
    target = Path(path)
    f = format_for(target, fmt)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise ExportError(f"The folder {folder} does not exist.",
                          hint="Create it first or choose another place for the export.")
    if target.is_dir():
        raise ExportError(f"{target} is a folder.", hint="Give a file name, e.g. qa.pdf.")
    write = _writer(f)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise ExportError(f"Cannot write in {folder}: {exc.strerror or exc}.",
                          hint="Choose a folder you may write to.") from None
    os.close(fd)
    try:
        # mkstemp makes the file private (0600); an export is meant to be shared like any
        # file the user saves, so keep the mode of the file it replaces, else rw-r--r--.
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else 0o644)
        if f == "pdf":
            write(records, tmp, department=department)
        else:
            write(records, tmp)
        os.replace(tmp, target)
    except OSError as exc:
        raise ExportError(f"Cannot write {target}: {exc.strerror or exc}.",
                          hint="Close the file if another program has it open, or choose "
                               "another name.") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
