"""Gather QA records from the results database into flat rows for the exports.

One `RecordRow` per stored measurement: the session (uid, time, who), the equipment, the
protocol and version, the value with its unit, the reference and the tolerance levels that were
in force when it was saved (as stored with the result, so later baseline or tolerance changes
never alter an exported record), the status, the latest review and the comments.

Only what the store keeps is exported, and the store keeps no patient data: the series summary
of a result names the device, never the person (see `imgqa.io.series.ImageSeries.summary`).
No Qt, no file formats here; the writers in `imgqa.report` turn `QaRecords` into files.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, overload

from imgqa.errors import ExportError

if TYPE_CHECKING:  # the store's record types; importing imgqa.store at run time loads SQLAlchemy
    from imgqa.store import Store
    from imgqa.store.records import EquipmentRecord, ReviewRecord, ServiceEventRecord

__all__ = ["COLUMNS", "QaRecords", "RecordRow", "SessionInfo", "gather", "parse_date"]

# The order statuses are listed in an export's summary and columns: judged OK first, then
# results without a tolerance, then the failures, worst last. A reading order, not the ranking
# (`imgqa.status` ranks NO_TOL below OK); kept so existing exports keep their columns.
STATUS_ORDER = ("OK", "NO_TOL", "TOLERANCE", "ACTION")

# (attribute, column header) of every exported field, in order. CSV, XLSX and JSON use these
# names; the header row of CSV/XLSX is the attribute name so files round-trip by name.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("session_uid", "Session UID"),
    ("session_id", "Session"),
    ("performed_at", "Performed (UTC)"),
    ("equipment_id", "Equipment id"),
    ("equipment", "Equipment"),
    ("modality", "Modality"),
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("serial", "Serial number"),
    ("station_name", "Station"),
    ("site", "Site"),
    ("location", "Location"),
    ("protocol", "Protocol"),
    ("protocol_version", "Protocol version"),
    ("label", "Label"),
    ("measurement", "Measurement"),
    ("measurement_label", "Measurement label"),   # for people; ``measurement`` is the contract
    ("value", "Value"),
    ("unit", "Unit"),
    ("status", "Status"),
    ("reference", "Reference"),
    ("tolerance", "Tolerance"),
    ("tolerance_kind", "Tolerance kind"),
    ("act_low", "Action low limit"),
    ("tol_low", "Tolerance low limit"),
    ("tol_high", "Tolerance high limit"),
    ("act_high", "Action high limit"),
    ("tolerance_source", "Tolerance source"),
    ("performed_by", "Performed by"),
    ("saved_by", "Saved by"),
    ("review_decision", "Review"),
    ("reviewed_by", "Reviewer"),
    ("reviewed_at", "Reviewed (UTC)"),
    ("review_comment", "Review comment"),
    ("comments", "Comments"),
    ("warnings", "Warnings"),
)


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One measurement of one QC session, with everything an auditor asks about it.

    ``measurement`` is the internal name (a contract); ``measurement_label`` what people read.
    ``act_low … act_high`` are the absolute limits (in ``unit``) computed from the stored
    reference and tolerance; ``tolerance`` is the tolerance as set (e.g. ``"tol -2…2 %, act
    -3…3 %"``). ``review_decision`` is None while the session awaits review.
    """

    session_id: int
    session_uid: str
    performed_at: datetime
    equipment_id: int
    equipment: str
    modality: str
    manufacturer: str
    model: str
    serial: str
    station_name: str
    site: str
    location: str
    protocol: str
    protocol_version: str
    label: str
    measurement: str
    value: float | None
    unit: str
    status: str | None
    reference: float | None
    tolerance: str
    tolerance_kind: str | None
    act_low: float | None
    tol_low: float | None
    tol_high: float | None
    act_high: float | None
    tolerance_source: str
    performed_by: str
    saved_by: str
    review_decision: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_comment: str
    comments: str
    warnings: str
    # The measurement's human label (`imgqa.protocols.measurement_label`), filled in from
    # protocol + measurement when not given; exported next to the internal name.
    measurement_label: str = ""

    def __post_init__(self) -> None:
        if not self.measurement_label:
            from imgqa.protocols import measurement_label  # registry loaded on first use

            object.__setattr__(self, "measurement_label",
                               measurement_label(self.protocol, self.measurement))

    def as_dict(self) -> dict[str, Any]:
        """Field name → value (datetimes kept as datetimes)."""
        return {name: getattr(self, name) for name, _ in COLUMNS}


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """A session as the PDF report shows it: who did it, review sign-off, comment."""

    id: int
    uid: str
    equipment_id: int
    performed_at: datetime
    performed_by: str
    comment: str
    worst_status: str | None
    reviews: tuple[ReviewRecord, ...] = ()   # oldest first
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class QaRecords:
    """Everything the exports need: rows, equipment, sessions and the query that chose them."""

    rows: tuple[RecordRow, ...]
    equipment: tuple[EquipmentRecord, ...]   # in name order
    sessions: tuple[SessionInfo, ...]   # oldest first
    since: datetime | None
    until: datetime | None              # exclusive
    protocol: str | None
    unreviewed_only: bool
    generated_at: datetime
    database: str = ""
    imgqa_version: str = ""
    filters: dict[str, Any] = field(default_factory=dict)
    # service events of the exported equipment in the period, oldest first
    service_events: tuple[ServiceEventRecord, ...] = ()
    # The audit chain head when the records were gathered, "ID:HASH16" (imgqa.store.anchor),
    # and the number of entries then; "" when the store has none (or no audit log).
    audit_anchor: str = ""
    audit_entries: int = 0

    def period_text(self) -> str:
        """Human period, e.g. ``"2026-01-01 to 2026-01-31"`` (until shown inclusive)."""
        a = self.since.date().isoformat() if self.since else "the first record"
        b = ((self.until - timedelta(microseconds=1)).date().isoformat() if self.until
             else "the last record")
        if not self.since and not self.until:
            first = min((r.performed_at for r in self.rows), default=None)
            last = max((r.performed_at for r in self.rows), default=None)
            if first and last:
                return f"{first.date().isoformat()} to {last.date().isoformat()} (all records)"
        return f"{a} to {b}"

    def rows_for(self, equipment_id: int) -> list[RecordRow]:
        return [r for r in self.rows if r.equipment_id == equipment_id]

    def sessions_for(self, equipment_id: int) -> list[SessionInfo]:
        return [s for s in self.sessions if s.equipment_id == equipment_id]

    def status_counts(self, rows: Iterable[RecordRow] | None = None) -> dict[str, int]:
        """Number of results per status (``"—"`` for measurements that could not be made)."""
        out = {s: 0 for s in STATUS_ORDER}
        out["—"] = 0
        for r in self.rows if rows is None else rows:
            out[r.status or "—"] = out.get(r.status or "—", 0) + 1
        return out

    def header_text(self) -> str:
        """Site and institution names of the exported equipment (department header)."""
        names = []
        for e in self.equipment:
            for n in (e.site, e.institution):
                if n and n not in names:
                    names.append(n)
        return ", ".join(names)


def parse_date(text: str, *, end: bool = False) -> datetime:
    """``"2026-01-31"`` or an ISO date-time → aware UTC datetime.

    With ``end=True`` a plain date means the end of that day (the next midnight, used as an
    exclusive bound), so ``--until 2026-01-31`` includes the 31st.

    Examples
    --------
    >>> parse_date("2026-01-31", end=True).isoformat()
    '2026-02-01T00:00:00+00:00'
    >>> parse_date("2026-01-31T12:30").isoformat()
    '2026-01-31T12:30:00+00:00'
    """
    t = text.strip()
    try:
        if len(t) == 10:
            d = date.fromisoformat(t)
            dt = datetime.combine(d + timedelta(days=1) if end else d, time(0), tzinfo=UTC)
            return dt
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise ExportError(f"{text!r} is not a date.",
                          hint="Write dates as YYYY-MM-DD, e.g. 2026-01-31.") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@overload
def _aware(t: datetime) -> datetime:
    ...


@overload
def _aware(t: None) -> None:
    ...


def _aware(t: datetime | None) -> datetime | None:
    """A naive time read from the database is UTC (the store writes UTC)."""
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def gather(store: Store, *, equipment: Sequence[int | str] = (), protocol: str | None = None,
           since: datetime | None = None, until: datetime | None = None,
           unreviewed_only: bool = False, now: datetime | None = None) -> QaRecords:
    """Collect the QA records of a period from the store.

    Parameters
    ----------
    store : imgqa.store.Store
    equipment : sequence of id, name or serial number, optional
        Only these (all equipment when empty).
    protocol : str, optional
        Only results of this protocol (e.g. ``"ct.water"``).
    since, until : datetime, optional
        Sessions performed at or after ``since`` and before ``until`` (exclusive).
    unreviewed_only : bool
        Only sessions that await review.

    Returns
    -------
    QaRecords
        Rows ordered by equipment name, session time and result order.

    Raises
    ------
    ExportError
        Nothing matched (the message says which filters were used); or since ≥ until.
    imgqa.errors.StoreError
        Unknown equipment.
    """
    from imgqa._version import __version__

    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since >= until:
        raise ExportError(f"The period is empty: {since.date()} is not before "
                          f"{(until - timedelta(microseconds=1)).date()}.",
                          hint="Give --since before --until.")
    chosen = [store.find_equipment(ref) for ref in equipment]
    ids = list(dict.fromkeys(e.id for e in chosen))
    if ids:
        sessions = [s for i in ids for s in store.sessions(
            i, since=since, until=until, unreviewed_only=unreviewed_only)]
    else:
        sessions = store.sessions(None, since=since, until=until,
                                  unreviewed_only=unreviewed_only)
    if protocol:
        sessions = [s for s in sessions if protocol in s.protocols]
    sessions.sort(key=lambda s: (s.performed_at, s.id))
    eq_cache: dict[int, EquipmentRecord] = {e.id: e for e in chosen}
    rows: list[RecordRow] = []
    infos: list[SessionInfo] = []
    for s in sessions:
        eq = eq_cache.get(s.equipment_id) or eq_cache.setdefault(
            s.equipment_id, store.equipment(s.equipment_id))
        reviews = tuple(store.reviews(s.id))
        notes = store.comments(s.id)
        results = [r for r in store.session_results(s.id)
                   if not protocol or r.protocol == protocol]
        if not results:
            continue
        latest = reviews[-1] if reviews else None
        session_notes = [f"{c.author}: {c.text}" for c in notes if c.result_id is None]
        by_result: dict[int, list[str]] = {}
        for c in notes:
            if c.result_id is not None:
                by_result.setdefault(c.result_id, []).append(f"{c.author}: {c.text}")
        infos.append(SessionInfo(
            id=s.id, uid=s.uid, equipment_id=s.equipment_id, performed_at=s.performed_at,
            performed_by=s.performed_by, comment=s.comment, worst_status=s.worst_status,
            reviews=reviews, comments=tuple(session_notes)))
        for r in results:
            lim = r.limits
            comments = ([s.comment] if s.comment else []) + session_notes \
                + by_result.get(r.id, [])
            rows.append(RecordRow(
                session_id=s.id, session_uid=s.uid, performed_at=_aware(s.performed_at),
                equipment_id=eq.id, equipment=eq.name, modality=eq.modality,
                manufacturer=eq.manufacturer, model=eq.model, serial=eq.serial,
                station_name=eq.station_name, site=eq.site or eq.institution,
                location=eq.location, protocol=r.protocol,
                protocol_version=str(r.protocol_version or ""), label=r.label or "",
                measurement=r.measurement, value=r.value, unit=r.unit or "", status=r.status,
                reference=r.reference,
                tolerance=r.tolerance.describe(r.unit) if r.tolerance is not None else "",
                tolerance_kind=r.tolerance.kind if r.tolerance is not None else None,
                act_low=lim.act_low if lim else None, tol_low=lim.tol_low if lim else None,
                tol_high=lim.tol_high if lim else None, act_high=lim.act_high if lim else None,
                tolerance_source=r.tolerance_source or "", performed_by=s.performed_by,
                saved_by=s.saved_by, review_decision=latest.decision if latest else None,
                reviewed_by=latest.reviewer if latest else None,
                reviewed_at=_aware(latest.reviewed_at) if latest else None,
                review_comment=latest.comment if latest else "",
                comments=" | ".join(comments), warnings=" | ".join(r.warnings)))
    if not rows:
        raise ExportError("No QA records match: " + _describe_filters(
            chosen, protocol, since, until, unreviewed_only) + ".",
            hint="Widen the period (--since/--until) or check the equipment and protocol "
                 "(`imgqa equipment list`, `imgqa review`).")
    used = sorted({r.equipment_id for r in rows})
    equipment_list = tuple(sorted((eq_cache[i] for i in used), key=lambda e: (e.name, e.id)))
    order = {e.id: n for n, e in enumerate(equipment_list)}
    rows.sort(key=lambda r: (order[r.equipment_id], r.performed_at, r.session_id))
    list_events = getattr(store, "service_events", None)  # marked on the PDF trend charts
    events = tuple(ev for e in equipment_list
                   for ev in (list_events(e.id, since=since, until=until) if list_events
                              else ()))
    head = getattr(store, "audit_head", None)  # printed on the PDF: checkable later
    head = head() if head is not None else None
    return QaRecords(
        audit_anchor=f"{head[1]}:{head[2][:16]}" if head else "",
        audit_entries=head[0] if head else 0,
        rows=tuple(rows), equipment=equipment_list, sessions=tuple(infos), since=since,
        until=until, protocol=protocol, unreviewed_only=unreviewed_only,
        generated_at=now or datetime.now(UTC), database=str(getattr(store, "location", "")),
        imgqa_version=__version__, service_events=events,
        filters={"equipment": [e.name for e in chosen], "protocol": protocol,
                 "since": since.isoformat() if since else None,
                 "until": until.isoformat() if until else None,
                 "unreviewed_only": unreviewed_only})


def _describe_filters(chosen: Sequence[EquipmentRecord], protocol: str | None, since: datetime | None,
                      until: datetime | None, unreviewed_only: bool) -> str:
    parts = []
    parts.append("equipment " + ", ".join(e.name for e in chosen) if chosen
                 else "any equipment")
    if protocol:
        parts.append(f"protocol {protocol}")
    if since or until:
        a = since.date().isoformat() if since else "the start"
        b = (until - timedelta(microseconds=1)).date().isoformat() if until else "now"
        parts.append(f"period {a} to {b}")
    if unreviewed_only:
        parts.append("awaiting review only")
    return ", ".join(parts)
