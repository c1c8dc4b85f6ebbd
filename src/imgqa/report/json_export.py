"""QA records as JSON: the same rows as the CSV, plus the equipment, the sessions with their
review sign-offs, and the filters and time of the export.

Layout::

    {"format": "imgqa-qa-records", "version": 1, "imgqa_version": "...",
     "generated_at": "...Z", "period": {"since": ..., "until": ..., "text": ...},
     "filters": {...}, "equipment": [{...}], "sessions": [{..., "reviews": [...]}],
     "rows": [{"session_uid": ..., "measurement": ..., "value": ..., "status": ...}, ...]}

Times are ISO 8601 with their UTC offset; a missing value is ``null`` (never NaN, which is
not JSON).
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from typing import Any

from imgqa.report.records import QaRecords

__all__ = ["records_to_dict", "write_json"]

FORMAT_VERSION = 1


def _plain(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def records_to_dict(records: QaRecords) -> dict[str, Any]:
    """A JSON-ready dict of ``records`` (see the module docstring for the layout)."""
    return {
        "format": "imgqa-qa-records",
        "version": FORMAT_VERSION,
        "imgqa_version": records.imgqa_version,
        "generated_at": records.generated_at.isoformat(),
        "period": {"since": _plain(records.since), "until": _plain(records.until),
                   "until_exclusive": True, "text": records.period_text()},
        "filters": dict(records.filters),
        "equipment": [{
            "id": e.id, "name": e.name, "modality": e.modality,
            "manufacturer": e.manufacturer, "model": e.model, "serial": e.serial,
            "station_name": e.station_name, "institution": e.institution, "site": e.site,
            "location": e.location, "field_strength_t": e.field_strength_t,
            "active": e.active} for e in records.equipment],
        "sessions": [{
            "id": s.id, "uid": s.uid, "equipment_id": s.equipment_id,
            "performed_at": _plain(s.performed_at), "performed_by": s.performed_by,
            "comment": s.comment, "worst_status": s.worst_status,
            "comments": list(s.comments),
            "reviews": [{"reviewer": rv.reviewer, "decision": rv.decision,
                         "comment": rv.comment, "reviewed_at": _plain(rv.reviewed_at)}
                        for rv in s.reviews]} for s in records.sessions],
        "rows": [{k: _plain(v) for k, v in r.as_dict().items()} for r in records.rows],
    }


def write_json(records: QaRecords, path: str | os.PathLike[str]) -> None:
    """Write ``records`` as indented UTF-8 JSON."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(records_to_dict(records), f, indent=2, ensure_ascii=False, allow_nan=False)
        f.write("\n")
