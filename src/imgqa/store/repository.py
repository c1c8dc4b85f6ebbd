"""`Store`: the results database as the GUI and the CLI use it.

Every method opens its own short transaction and returns frozen records (`imgqa.store.records`),
so a `Store` can be shared between threads. Writes:

* run in one transaction each (a session and all its results are saved, or nothing is);
* take the write lock first (SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so the
  audit chain stays linear, and are retried when another writer holds the database;
* check the user's role (the app hides what a role may not do; PostgreSQL enforces it again);
* append a hash-chained audit entry (`imgqa.store.audit`; signed with the department key when
  one is set) and, once committed, write the new chain head to ``$IMGQA_AUDIT_ANCHOR_FILE``
  when that is set (`imgqa.store.anchor`).

`Store.audit_report` / ``imgqa db verify`` run the full check of `imgqa.store.integrity`.
"""

from __future__ import annotations

import getpass
import logging
import math
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import case, func, insert, select, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from imgqa.errors import ImgqaError, StoreError, StorePermissionError, ToleranceError
from imgqa.evaluate import Limits, Tolerance, evaluate, limits, validate_tolerance
from imgqa.protocols.base import Result, get_protocol
from imgqa.store import anchor, audit, db, duplicates, integrity, matching
from imgqa.store import models as m
from imgqa.store.defaults import find_default
from imgqa.store.records import (
    AssignmentRecord,
    AuditEntry,
    BaselineRecord,
    CommentRecord,
    EquipmentRecord,
    ResultRow,
    ReviewRecord,
    ServiceEventRecord,
    SessionRecord,
    ToleranceRecord,
    TrendData,
    TrendPoint,
)
from imgqa.store.roles import PG_ROLE_PREFIX, RANK, ROLES, pg_role, role_at_least
from imgqa.trends import control_limits, spc_period_start, spc_signals

__all__ = ["Store", "open_store"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_STATUS_RANK = {"NO_TOL": 0, "OK": 1, "TOLERANCE": 2, "ACTION": 3}
_FREQ_DAYS = {"daily": 1, "weekly": 7, "monthly": 30, "quarterly": 91, "annual": 365}
_WRITE_RETRIES = 8
# A service event may be recorded up to this far ahead (clock skew, time zones), not more.
_EVENT_FUTURE_SLACK = timedelta(days=1)
_A_ROLE = {"technologist": "a technologist", "physicist": "a physicist", "admin": "an admin"}


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _finite(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _tol_from(kind: str | None, lo2: Any, lo1: Any, hi1: Any, hi2: Any) -> Tolerance | None:
    if kind is None:
        return None
    return Tolerance(kind, lo2, lo1, hi1, hi2)  # type: ignore[arg-type]


def _is_busy(exc: BaseException) -> bool:
    """A transient conflict worth retrying: SQLite busy/locked, PG serialization/deadlock."""
    orig = getattr(exc, "orig", exc)
    name = type(orig).__name__
    text_ = str(orig).lower()
    return ("locked" in text_ or "busy" in text_ or name in
            ("SerializationFailure", "DeadlockDetected", "LockNotAvailable"))


class Store:
    """The results database. Make one with `open_store`."""

    def __init__(self, engine: Engine, *, is_default: bool = False) -> None:
        self.engine = engine
        self.url: URL = engine.url
        self.is_default = is_default
        self._user: str | None = None
        self._role: str | None = None
        self._key: audit.AuditKey | None = None
        self._key_loaded = False

    # -- basics ---------------------------------------------------------------------------
    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def location(self) -> str:
        """The database, for display (password hidden)."""
        p = db.sqlite_path(self.url)
        return str(p) if p is not None else self.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Store {self.location}>"

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with Session(self.engine, expire_on_commit=False) as s:
                yield s
        except ImgqaError:
            raise
        except DBAPIError as exc:
            raise db.translate_error(exc, self.url) from exc

    @property
    def audit_key(self) -> audit.AuditKey | None:
        """The department key (`imgqa.store.audit.load_key`), read once; None if not set."""
        if not self._key_loaded:
            self._key = audit.load_key()
            self._key_loaded = True
        return self._key

    def _append(self, s: Session, **entry: Any) -> tuple[int, str]:
        """Append an audit entry, signed with the department key when one is set."""
        return audit.append(s, key=self.audit_key, **entry)

    def _anchor_after_commit(self, s: Session) -> None:
        """Write the new chain head to the anchor file, if one is configured."""
        head = s.info.pop(audit.HEAD_INFO, None)
        path = anchor.anchor_file()
        if head is not None and path is not None:
            anchor.write_anchor(path, self.anchor_name, head[0], head[1], "write")

    def _write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn`` in one write transaction, retrying while another writer holds the lock."""
        delay = 0.05
        started = time.monotonic()
        for attempt in range(_WRITE_RETRIES + 1):
            try:
                with self.engine.connect().execution_options(**db.WRITE) as conn:
                    with Session(bind=conn, expire_on_commit=False) as s:
                        with s.begin():
                            if self.dialect == "postgresql":
                                s.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                          {"k": db.PG_WRITE_LOCK})
                            out = fn(s)
                        self._anchor_after_commit(s)  # committed: the head is real now
                        return out
            except ImgqaError:
                raise
            except IntegrityError as exc:
                raise StoreError(f"The database refused the change: {exc.orig}") from exc
            except DBAPIError as exc:
                # SQLite already waited up to its busy timeout inside the call; retry only
                # quick refusals (e.g. a snapshot that cannot be upgraded) within that time.
                if _is_busy(exc) and attempt < _WRITE_RETRIES and \
                        time.monotonic() - started < db.SQLITE_BUSY_TIMEOUT_S:
                    log.info("database busy, retrying (%d)", attempt + 1)
                    time.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                raise db.translate_error(exc, self.url) from exc
        raise StoreError("The results database stayed busy.")  # pragma: no cover

    # -- users and roles ----------------------------------------------------------------
    def current_user(self) -> str:
        """Who is working: the OS user on SQLite, the database login on PostgreSQL."""
        if self._user is None:
            if self.dialect == "postgresql":
                with self._read() as s:
                    self._user = str(s.execute(text("SELECT current_user")).scalar_one())
            else:
                try:
                    self._user = getpass.getuser()
                except Exception:  # no user name in the environment (some services)
                    self._user = "unknown"
        return self._user

    def current_role(self, *, refresh: bool = False) -> str:
        """``"technologist"``, ``"physicist"`` or ``"admin"`` for the current user."""
        if self._role is None or refresh:
            self._role = self._lookup_role()
        return self._role

    def _lookup_role(self) -> str:
        user = self.current_user()
        with self._read() as s:
            if self.dialect == "postgresql":
                sup = s.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                                ).scalar_one_or_none()
                owner = s.execute(text(
                    "SELECT tableowner = current_user FROM pg_tables WHERE tablename = 'result' "
                    "AND schemaname = current_schema()")).scalar_one_or_none()
                if sup or owner:
                    return "admin"
                names = [pg_role(r) for r in ROLES]
                held = set(s.execute(text(
                    "SELECT rolname FROM pg_roles WHERE rolname = ANY(:n) "
                    "AND pg_has_role(current_user, oid, 'MEMBER')"), {"n": names}).scalars())
                for r in reversed(ROLES):
                    if pg_role(r) in held:
                        return r
                return "technologist"
            users = dict(s.execute(select(m.AppUser.username, m.AppUser.role)).all())
            if not users:
                return "admin"  # a single-user workstation
            return users.get(user, "technologist")

    def _require(self, needed: str, what: str) -> None:
        role = self.current_role()
        if not role_at_least(role, needed):
            raise StorePermissionError(
                f"{self.current_user()} ({role}) may not {what}; this needs {_A_ROLE[needed]}.")

    def _identity(self, who: str | None) -> str:
        """The name to record; on PostgreSQL it must be the login itself."""
        me = self.current_user()
        if not who:
            return me
        if self.dialect == "postgresql" and who != me:
            raise StorePermissionError(
                f"On a shared database changes are recorded under your login ({me}), "
                f"not {who!r}.", hint="Log in as that user instead.")
        return who

    def set_user_role(self, username: str, role: str) -> None:
        """Give a user a role (admin only). PostgreSQL: grant the group role to the login."""
        if role not in ROLES:
            raise StoreError(f"Unknown role {role!r}.", hint=f"Roles are {', '.join(ROLES)}.")
        self._require("admin", "manage users")
        me = self.current_user()

        def work(s: Session) -> None:
            if self.dialect == "postgresql":
                if not username.replace("_", "a").replace(".", "a").isalnum():
                    raise StoreError(f"Unsafe login name {username!r}.")
                for r in ROLES:
                    s.execute(text(f'REVOKE "{pg_role(r)}" FROM "{username}"'))
                s.execute(text(f'GRANT "{pg_role(role)}" TO "{username}"'))
            else:
                row = s.get(m.AppUser, username)
                if row is None:
                    s.add(m.AppUser(username=username, role=role, added_by=me, added_at=_now()))
                else:
                    row.role = role
            self._append(s, at=_now(), actor=me, action="set_role", entity="user",
                         entity_id=None, details={"username": username, "role": role})

        self._write(work)
        self._role = None

    def users(self) -> dict[str, str]:
        """Known users and their roles."""
        with self._read() as s:
            if self.dialect == "postgresql":
                rows = s.execute(text(
                    "SELECT m.rolname, g.rolname FROM pg_auth_members am "
                    "JOIN pg_roles g ON g.oid = am.roleid JOIN pg_roles m ON m.oid = am.member "
                    "WHERE g.rolname LIKE :p AND m.rolcanlogin"), {"p": PG_ROLE_PREFIX + "%"})
                out: dict[str, str] = {}
                for login, group in rows:
                    r = group[len(PG_ROLE_PREFIX):]
                    if r in RANK and RANK[r] >= RANK.get(out.get(login, ""), -1):
                        out[login] = r
                return out
            return dict(s.execute(select(m.AppUser.username, m.AppUser.role)).all())

    # -- equipment ------------------------------------------------------------------------
    def _eq_record(self, e: m.Equipment, site: str = "") -> EquipmentRecord:
        return EquipmentRecord(
            id=e.id, name=e.name, modality=e.modality, manufacturer=e.manufacturer,
            model=e.model, serial=e.serial, station_name=e.station_name,
            institution=e.institution, location=e.location, site=site,
            field_strength_t=e.field_strength_t, active=e.active,
            match_rules=dict(e.match_rules or {}), created_at=e.created_at,
            created_by=e.created_by)

    def list_equipment(self, active_only: bool = True) -> list[EquipmentRecord]:
        with self._read() as s:
            q = select(m.Equipment, m.Site.name).outerjoin(m.Site).order_by(m.Equipment.name,
                                                                            m.Equipment.id)
            if active_only:
                q = q.where(m.Equipment.active.is_(True))
            return [self._eq_record(e, site or "") for e, site in s.execute(q).all()]

    def equipment(self, equipment_id: int) -> EquipmentRecord:
        with self._read() as s:
            e = s.get(m.Equipment, equipment_id)
            if e is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.",
                                 hint="`imgqa equipment list` shows the equipment.")
            site = s.get(m.Site, e.site_id).name if e.site_id else ""
            return self._eq_record(e, site)

    def find_equipment(self, ref: str | int) -> EquipmentRecord:
        """Equipment by id, or by exact (case-insensitive) name or serial number."""
        if isinstance(ref, int) or str(ref).isdigit():
            return self.equipment(int(ref))
        key = str(ref).strip().casefold()
        hits = [e for e in self.list_equipment(active_only=False)
                if e.name.casefold() == key or (e.serial and e.serial.casefold() == key)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise StoreError(f"No equipment called {ref!r}.",
                             hint="`imgqa equipment list` shows names and ids.")
        raise StoreError(f"Several pieces of equipment are called {ref!r}.",
                         hint="Use the id from `imgqa equipment list`.")

    def match_equipment(self, series: Any) -> EquipmentRecord | None:
        """The active equipment whose match rules fit the series header (or a Result.series
        summary dict); None when unknown or ambiguous."""
        facts = matching.header_facts(series)
        cands = [(e, e.match_rules) for e in self.list_equipment(active_only=True)]
        best, tied = matching.best_match(cands, facts)
        if best is None and len(tied) > 1:
            log.warning("series matches several pieces of equipment: %s",
                        ", ".join(e.name for e in tied))
        return best

    def add_equipment(self, name: str, *, modality: str = "", manufacturer: str = "",
                      model: str = "", serial: str = "", station_name: str = "",
                      institution: str = "", location: str = "", site: str | None = None,
                      field_strength_t: float | None = None,
                      match_rules: Mapping[str, str] | None = None) -> EquipmentRecord:
        """Register equipment (admin). Match rules default to serial/station + make/model."""
        self._require("admin", "add equipment")
        if not name.strip():
            raise StoreError("Equipment needs a name.")
        facts = {"modality": modality, "manufacturer": manufacturer, "model": model,
                 "serial": serial, "station_name": station_name, "institution": institution}
        rules = dict(match_rules) if match_rules is not None else matching.default_rules(facts)
        bad = set(rules) - set(matching.MATCH_FIELDS)
        if bad:
            raise StoreError(f"Unknown match field(s) {sorted(bad)}.",
                             hint=f"Use {', '.join(matching.MATCH_FIELDS)}.")
        me = self.current_user()

        def work(s: Session) -> EquipmentRecord:
            site_id = None
            if site:
                row = s.execute(select(m.Site).where(m.Site.name == site)).scalar_one_or_none()
                if row is None:
                    row = m.Site(name=site, address="")
                    s.add(row)
                    s.flush()
                site_id = row.id
            e = m.Equipment(name=name.strip(), site_id=site_id, modality=modality,
                            manufacturer=manufacturer, model=model, serial=serial,
                            station_name=station_name, institution=institution,
                            location=location, field_strength_t=field_strength_t, active=True,
                            match_rules=rules, created_at=_now(), created_by=me)
            s.add(e)
            s.flush()
            self._append(s, at=_now(), actor=me, action="add_equipment", entity="equipment",
                         entity_id=e.id, details={"name": e.name, "match_rules": rules,
                                                  "modality": modality, "serial": serial})
            return self._eq_record(e, site or "")

        return self._write(work)

    def create_equipment_from_series(self, series: Any, *, name: str | None = None,
                                     location: str = "") -> EquipmentRecord:
        """Register the device that made ``series`` (an ImageSeries or a Result.series dict)."""
        facts = matching.header_facts(series)
        fs = None
        if not isinstance(series, Mapping):
            fs = getattr(series.header, "field_strength_t", None)
        else:
            fs = series.get("field_strength_t")
        if not any(facts[k] for k in ("manufacturer", "model", "serial", "station_name")):
            raise StoreError("The images do not say which device made them (no manufacturer, "
                             "model, serial number or station name in the header).",
                             hint="Add the equipment by hand with `imgqa equipment add` and "
                                  "save with --equipment ID.")
        default_name = " ".join(p for p in (facts["manufacturer"], facts["model"],
                                            facts["station_name"] or facts["serial"]) if p)
        return self.add_equipment(name or default_name or "unnamed device", location=location,
                                  field_strength_t=_finite(fs), **facts)

    def set_equipment_active(self, equipment_id: int, active: bool) -> EquipmentRecord:
        self._require("admin", "change equipment")
        me = self.current_user()

        def work(s: Session) -> EquipmentRecord:
            e = s.get(m.Equipment, equipment_id)
            if e is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.")
            e.active = active
            self._append(s, at=_now(), actor=me, action="set_active", entity="equipment",
                         entity_id=e.id, details={"active": active})
            return self._eq_record(e)

        return self._write(work)

    # -- protocol schedule ----------------------------------------------------------------
    def assign_protocol(self, equipment_id: int, protocol: str, frequency: str,
                        next_due: date | None = None) -> AssignmentRecord:
        """Schedule a QC test for the equipment (physicist)."""
        self._require("physicist", "schedule QC tests")
        get_protocol(protocol)
        if frequency not in m.FREQUENCIES:
            raise StoreError(f"Unknown frequency {frequency!r}.",
                             hint=f"Use one of {', '.join(m.FREQUENCIES)}.")
        me = self.current_user()

        def work(s: Session) -> AssignmentRecord:
            a = s.execute(select(m.ProtocolAssignment).where(
                m.ProtocolAssignment.equipment_id == equipment_id,
                m.ProtocolAssignment.protocol == protocol)).scalar_one_or_none()
            if a is None:
                a = m.ProtocolAssignment(equipment_id=equipment_id, protocol=protocol,
                                         frequency=frequency, next_due=next_due, active=True)
                s.add(a)
            else:
                a.frequency, a.active = frequency, True
                if next_due is not None:
                    a.next_due = next_due
            s.flush()
            self._append(s, at=_now(), actor=me, action="assign_protocol",
                         entity="protocol_assignment", entity_id=a.id,
                         details={"equipment_id": equipment_id, "protocol": protocol,
                                  "frequency": frequency})
            return AssignmentRecord(a.id, a.equipment_id, a.protocol, a.frequency, a.next_due,
                                    a.active)

        return self._write(work)

    def assignments(self, equipment_id: int | None = None) -> list[AssignmentRecord]:
        with self._read() as s:
            q = select(m.ProtocolAssignment).order_by(m.ProtocolAssignment.next_due)
            if equipment_id is not None:
                q = q.where(m.ProtocolAssignment.equipment_id == equipment_id)
            return [AssignmentRecord(a.id, a.equipment_id, a.protocol, a.frequency, a.next_due,
                                     a.active) for a in s.execute(q).scalars()]

    # -- references and tolerances --------------------------------------------------------
    def _current_rows(self, s: Session, equipment_id: int, protocol: str
                      ) -> tuple[dict[str, m.Baseline], dict[str, m.Tolerance]]:
        """Newest baseline and tolerance row per measurement (two indexed queries)."""
        bases: dict[str, m.Baseline] = {}
        for b in s.execute(select(m.Baseline).where(
                m.Baseline.equipment_id == equipment_id, m.Baseline.protocol == protocol)
                .order_by(m.Baseline.id)).scalars():
            bases[b.measurement] = b
        tols: dict[str, m.Tolerance] = {}
        for t in s.execute(select(m.Tolerance).where(
                m.Tolerance.equipment_id == equipment_id, m.Tolerance.protocol == protocol)
                .order_by(m.Tolerance.id)).scalars():
            tols[t.measurement] = t
        return bases, tols

    def _in_force(self, equipment_id: int, field_strength_t: float | None, protocol: str,
                  measurement: str, base: m.Baseline | None, tol: m.Tolerance | None
                  ) -> ToleranceRecord | None:
        """Tolerance and reference in force: the equipment's own tolerance, else the default;
        the equipment's baseline, else the default's fixed reference."""
        default = None if tol is not None else find_default(protocol, measurement,
                                                            field_strength_t)
        if tol is None and default is None:
            return None
        if base is not None:
            ref, ref_src, base_id = base.value, "baseline", base.id
        else:
            fixed = find_default(protocol, measurement, field_strength_t) if default is None \
                else default
            if fixed is not None and fixed.reference is not None:
                ref, ref_src, base_id = fixed.reference, "fixed", None
            else:
                ref, ref_src, base_id = None, None, None
        if tol is not None:
            return ToleranceRecord(
                equipment_id=equipment_id, protocol=protocol, measurement=measurement,
                tolerance=Tolerance(tol.kind, tol.act_low, tol.tol_low, tol.tol_high,
                                    tol.act_high),  # type: ignore[arg-type]
                reference=ref, reference_source=ref_src, source="equipment", id=tol.id,
                reason=tol.reason, set_by=tol.set_by, set_at=tol.set_at, baseline_id=base_id)
        assert default is not None
        return ToleranceRecord(
            equipment_id=equipment_id, protocol=protocol, measurement=measurement,
            tolerance=default.tolerance, reference=ref, reference_source=ref_src,
            source=f"default:{default.file}", citation=default.source, verify=default.verify,
            baseline_id=base_id)

    def tolerance(self, equipment_id: int, protocol: str, measurement: str
                  ) -> ToleranceRecord | None:
        """The tolerance and reference in force now, or None if there is no tolerance."""
        eq = self.equipment(equipment_id)
        with self._read() as s:
            bases, tols = self._current_rows(s, equipment_id, protocol)
        return self._in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                              bases.get(measurement), tols.get(measurement))

    def baseline(self, equipment_id: int, protocol: str, measurement: str
                 ) -> BaselineRecord | None:
        hist = self.baseline_history(equipment_id, protocol, measurement)
        return hist[-1] if hist else None

    def baseline_history(self, equipment_id: int, protocol: str, measurement: str
                         ) -> list[BaselineRecord]:
        with self._read() as s:
            return [self._baseline_record(b) for b in s.execute(select(m.Baseline).where(
                m.Baseline.equipment_id == equipment_id, m.Baseline.protocol == protocol,
                m.Baseline.measurement == measurement).order_by(m.Baseline.id)).scalars()]

    def tolerance_history(self, equipment_id: int, protocol: str, measurement: str
                          ) -> list[ToleranceRecord]:
        """Every tolerance version set for this equipment (defaults are not listed)."""
        with self._read() as s:
            rows = s.execute(select(m.Tolerance).where(
                m.Tolerance.equipment_id == equipment_id, m.Tolerance.protocol == protocol,
                m.Tolerance.measurement == measurement).order_by(m.Tolerance.id)).scalars()
            return [ToleranceRecord(
                equipment_id=equipment_id, protocol=protocol, measurement=measurement,
                tolerance=Tolerance(t.kind, t.act_low, t.tol_low, t.tol_high,
                                    t.act_high),  # type: ignore[arg-type]
                reference=None, reference_source=None, source="equipment", id=t.id,
                reason=t.reason, set_by=t.set_by, set_at=t.set_at) for t in rows]

    @staticmethod
    def _baseline_record(b: m.Baseline) -> BaselineRecord:
        return BaselineRecord(b.id, b.equipment_id, b.protocol, b.measurement, b.value,
                              b.old_value, b.unit, b.reason, b.set_by, b.set_at)

    @staticmethod
    def _measurement_spec(protocol: str, measurement: str):  # -> MeasurementSpec
        proto = get_protocol(protocol)
        try:
            return proto.measurement(measurement)
        except KeyError:
            raise StoreError(
                f"{protocol} has no measurement {measurement!r}.",
                hint="Its measurements are: " + ", ".join(x.name for x in proto.measurements)
            ) from None

    @staticmethod
    def _check_modality(eq: EquipmentRecord, protocol: str) -> None:
        """Refuse a baseline/tolerance for a protocol that cannot run on this equipment.

        Equipment without a recorded modality is not checked (nothing to compare with).
        """
        proto = get_protocol(protocol)
        mods = tuple(proto.modalities)
        if not eq.modality or "*" in mods or eq.modality in mods:
            return
        raise StoreError(
            f"{protocol} ({proto.title}) is a test for {' or '.join(mods)} images, but "
            f"{eq.name} is {eq.modality} equipment: no baseline or tolerance was set.",
            hint=f"Choose a test made for {eq.modality} equipment, or the right equipment.")

    def set_baseline(self, equipment_id: int, protocol: str, measurement: str, value: float,
                     reason: str, who: str | None = None) -> BaselineRecord:
        """Set a new reference value (physicist). Needs a reason; the old value is kept."""
        self._require("physicist", "change baselines")
        spec = self._measurement_spec(protocol, measurement)
        value = _finite(value)  # type: ignore[assignment]
        if value is None:
            raise ToleranceError("A baseline must be a finite number.")
        if not reason or not reason.strip():
            raise StoreError("A baseline change needs a reason.",
                             hint="Say why, e.g. 'after detector replacement'.")
        actor = self._identity(who)
        eq = self.equipment(equipment_id)
        self._check_modality(eq, protocol)

        def work(s: Session) -> BaselineRecord:
            bases, tols = self._current_rows(s, equipment_id, protocol)
            old = bases.get(measurement)
            force = self._in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                                   None, tols.get(measurement))
            if force is not None:
                validate_tolerance(force.tolerance, value)  # percent on 0 → ToleranceError
            b = m.Baseline(equipment_id=equipment_id, protocol=protocol,
                           measurement=measurement, value=value,
                           old_value=None if old is None else old.value, unit=spec.unit,
                           reason=reason.strip(), set_by=actor, set_at=_now())
            s.add(b)
            s.flush()
            rec = self._baseline_record(b)
            self._append(s, at=_now(), actor=self.current_user(), action="set_baseline",
                         entity="baseline", entity_id=b.id,
                         details={"digest": integrity.baseline_digest(b),
                                  "digest_v": audit.DIGEST_V})
            return rec

        return self._write(work)

    def set_tolerance(self, equipment_id: int, protocol: str, measurement: str, *,
                      kind: str, act_low: float | None = None, tol_low: float | None = None,
                      tol_high: float | None = None, act_high: float | None = None,
                      reason: str, who: str | None = None) -> ToleranceRecord:
        """Set a new tolerance version (physicist). Earlier results keep their stored status."""
        self._require("physicist", "change tolerances")
        self._measurement_spec(protocol, measurement)
        tol = Tolerance(kind, _finite(act_low), _finite(tol_low), _finite(tol_high),
                        _finite(act_high))  # type: ignore[arg-type]
        if not reason or not reason.strip():
            raise StoreError("A tolerance change needs a reason.")
        actor = self._identity(who)
        eq = self.equipment(equipment_id)
        self._check_modality(eq, protocol)

        def work(s: Session) -> ToleranceRecord:
            bases, tols = self._current_rows(s, equipment_id, protocol)
            prev = self._in_force(equipment_id, eq.field_strength_t, protocol, measurement,
                                  bases.get(measurement), tols.get(measurement))
            ref = prev.reference if prev is not None else (
                bases[measurement].value if measurement in bases else None)
            validate_tolerance(tol, ref)
            old = None
            if prev is not None:
                old = {"kind": prev.tolerance.kind, "act_low": prev.tolerance.act_low,
                       "tol_low": prev.tolerance.tol_low, "tol_high": prev.tolerance.tol_high,
                       "act_high": prev.tolerance.act_high, "source": prev.source}
            t = m.Tolerance(equipment_id=equipment_id, protocol=protocol,
                            measurement=measurement, kind=tol.kind, act_low=tol.act_low,
                            tol_low=tol.tol_low, tol_high=tol.tol_high, act_high=tol.act_high,
                            old=old, reason=reason.strip(), set_by=actor, set_at=_now())
            s.add(t)
            s.flush()
            self._append(s, at=_now(), actor=self.current_user(), action="set_tolerance",
                         entity="tolerance", entity_id=t.id,
                         details={"digest": integrity.tolerance_digest(t),
                                  "digest_v": audit.DIGEST_V})
            base = bases.get(measurement)
            return self._in_force(equipment_id, eq.field_strength_t, protocol,
                                  measurement, base, t)  # type: ignore[return-value]

        return self._write(work)

    def baselines_from_sessions(self, equipment_id: int, protocol: str, first: int, *,
                                reason: str, measurements: Sequence[str] | None = None,
                                include_fixed: bool = False, since: datetime | None = None
                                ) -> list[BaselineRecord]:
        """Set baselines to the mean of the first N saved values of each measurement.

        Measurements whose default tolerance has a fixed reference (e.g. water 0 HU) are left
        alone unless ``include_fixed``.
        """
        self._require("physicist", "change baselines")
        if first < 1:
            raise StoreError("--first must be at least 1.")
        eq = self.equipment(equipment_id)
        self._check_modality(eq, protocol)
        proto = get_protocol(protocol)
        names = list(measurements) if measurements else [x.name for x in proto.measurements]
        out = []
        with self._read() as s:
            values: dict[str, list[float]] = {}
            for name in names:
                q = (select(m.ResultRow.value).where(
                    m.ResultRow.equipment_id == equipment_id, m.ResultRow.protocol == protocol,
                    m.ResultRow.measurement == name, m.ResultRow.value.is_not(None))
                    .order_by(m.ResultRow.performed_at, m.ResultRow.id).limit(first))
                if since is not None:
                    q = q.where(m.ResultRow.performed_at >= _aware(since))
                values[name] = [v for v in s.execute(q).scalars()]
        for name in names:
            vals = values[name]
            if len(vals) < first:
                continue
            d = find_default(protocol, name, eq.field_strength_t)
            if d is not None and d.reference is not None and not include_fixed:
                continue
            mean = float(sum(vals) / len(vals))
            out.append(self.set_baseline(
                equipment_id, protocol, name, mean,
                f"{reason.strip()} (mean of first {len(vals)} sessions)"))
        return out

    # -- evaluation and saving ----------------------------------------------------------
    def _judge(self, equipment_id: int, field_strength_t: float | None, result: Result,
               bases: dict[str, m.Baseline], tols: dict[str, m.Tolerance]
               ) -> list[tuple[Any, ToleranceRecord | None, str | None]]:
        out = []
        for meas in result.measurements:
            force = self._in_force(equipment_id, field_strength_t, result.protocol, meas.name,
                                   bases.get(meas.name), tols.get(meas.name))
            value = _finite(meas.value)
            try:
                status = evaluate(value, force.reference if force else None,
                                  force.tolerance if force else None)
            except ToleranceError as exc:  # guarded at set time; never let it stop a save
                log.warning("%s/%s: %s", result.protocol, meas.name, exc)
                status = None if value is None else "NO_TOL"
            out.append((meas, force, status))
        return out

    def evaluate(self, equipment_id: int, result: Result) -> Result:
        """A copy of ``result`` with each measurement's status against what is in force now."""
        eq = self.equipment(equipment_id)
        with self._read() as s:
            bases, tols = self._current_rows(s, equipment_id, result.protocol)
        judged = self._judge(equipment_id, eq.field_strength_t, result, bases, tols)
        return result.with_statuses({meas.name: st for meas, _, st in judged})

    def save_session(self, equipment_id: int, results: Sequence[Result], *,
                     performed_by: str | None = None, comment: str = "",
                     performed_at: datetime | None = None, uid: str | None = None,
                     duplicate_reason: str = "") -> SessionRecord:
        """Store results as one QC session, atomically.

        Each measurement is stored with its value, unit, status and the reference and
        tolerance in force now. ``performed_at`` defaults to the earliest acquisition time of
        the images, else now. ``uid`` (generated if omitted) makes a retried save idempotent.

        Images already saved for the same protocol on this equipment (same SOP Instance UIDs
        and pixel hashes, `imgqa.store.duplicates`) are refused with a
        `~imgqa.store.duplicates.DuplicateSessionError` naming the earlier session(s), unless
        ``duplicate_reason`` says why they are saved again: the reason is then added to the
        session comment and to the audit entry (``duplicate_of``, ``duplicate_reason``).
        """
        self._require("technologist", "save QC sessions")
        if not results:
            raise StoreError("There are no results to save.")
        me = self.current_user()
        who = (performed_by or "").strip() or me
        dup_reason = " ".join((duplicate_reason or "").split())
        uid = uid or str(uuid.uuid4())
        when = (_aware(performed_at) if performed_at else _acquired(results) or _now()
                ).astimezone(UTC)

        def work(s: Session) -> SessionRecord | int:
            existing = s.execute(select(m.QcSession.id).where(m.QcSession.uid == uid)
                                 ).scalar_one_or_none()
            if existing is not None:  # a retry after an ambiguous failure
                return existing
            eq = s.get(m.Equipment, equipment_id)
            if eq is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.")
            if not eq.active:
                raise StoreError(f"{eq.name} is retired (inactive); results cannot be saved "
                                 "to it.", hint="An admin can re-activate it with "
                                                "`imgqa equipment activate`.")
            earlier = duplicates.find_earlier(s, equipment_id, results)
            if earlier and not dup_reason:
                raise duplicates.DuplicateSessionError(
                    duplicates.describe(earlier, eq.name), earlier)
            note = comment or ""
            if earlier:  # saved again on purpose: say so where reviewers and reports look
                ids = ", ".join(str(e.session_id) for e in earlier)
                note = (f"{note}\n" if note else "") + \
                    f"Duplicate of session {ids} saved on purpose: {dup_reason}"
            now = _now()
            sess = m.QcSession(uid=uid, equipment_id=equipment_id, performed_at=when,
                               performed_by=who, saved_by=me, comment=note,
                               created_at=now)
            s.add(sess)
            s.flush()
            rows: list[dict[str, Any]] = []
            inputs: list[dict[str, Any]] = []
            parts: list[dict[str, Any]] = []  # analyses with their inputs, for the digest
            cache: dict[str, tuple[dict, dict]] = {}
            for r in results:
                if r.protocol not in cache:
                    cache[r.protocol] = self._current_rows(s, equipment_id, r.protocol)
                bases, tols = cache[r.protocol]
                a = m.Analysis(session_id=sess.id, protocol=r.protocol,
                               protocol_version=str(r.protocol_version), label=r.label or "",
                               parameters=_json_safe(dict(r.parameters)),
                               # why the test ran goes with the series (no schema change)
                               series=_json_safe({**dict(r.series), **(
                                   {"choice_reason": r.choice_reason} if r.choice_reason
                                   else {})}), warnings=list(r.warnings),
                               imgqa_version=r.imgqa_version or "", analysed_at=_aware(r.created))
                s.add(a)
                s.flush()
                inputs += [{"analysis_id": a.id, "sop_instance_uid": i.sop_instance_uid,
                            "pixel_sha256": i.pixel_sha256} for i in r.inputs]
                parts.append(integrity.analysis_item(
                    a, [(i.sop_instance_uid, i.pixel_sha256) for i in r.inputs]))
                for meas, force, status in self._judge(equipment_id, eq.field_strength_t, r,
                                                       bases, tols):
                    t = force.tolerance if force and force.reference is not None else None
                    rows.append({
                        "session_id": sess.id, "analysis_id": a.id,
                        "equipment_id": equipment_id, "performed_at": when,
                        "protocol": r.protocol, "measurement": meas.name,
                        "value": _finite(meas.value), "unit": meas.unit or "",
                        "status": status,
                        "reference": force.reference if force else None,
                        "tol_kind": t.kind if t else None,
                        "act_low": t.act_low if t else None, "tol_low": t.tol_low if t else None,
                        "tol_high": t.tol_high if t else None,
                        "act_high": t.act_high if t else None,
                        "baseline_id": force.baseline_id if force else None,
                        "tolerance_id": force.id if force else None,
                        "tolerance_source": force.source if force else ""})
            if inputs:
                s.execute(insert(m.InputImage), inputs)
            if rows:
                s.execute(insert(m.ResultRow), rows)
            self._advance_schedule(s, equipment_id, {r.protocol for r in results}, when)
            self._append(s, at=now, actor=me, action="save_session", entity="session",
                         entity_id=sess.id,
                         details={"uid": uid, "equipment_id": equipment_id,
                                  "performed_by": who, "results": len(rows),
                                  "digest": integrity.session_digest(rows, sess, audit.DIGEST_V,
                                                                     parts),
                                  "digest_v": audit.DIGEST_V,
                                  **({"duplicate_of": sorted({e.session_id for e in earlier}),
                                      "duplicate_reason": dup_reason} if earlier else {})})
            ranks = [_STATUS_RANK[r["status"]] for r in rows if r["status"] is not None]
            inv = {v: k for k, v in _STATUS_RANK.items()}
            return SessionRecord(
                id=sess.id, uid=uid, equipment_id=equipment_id, equipment_name=eq.name,
                performed_at=when, performed_by=who, saved_by=me, comment=sess.comment,
                created_at=now, protocols=tuple(sorted({r.protocol for r in results})),
                n_results=len(rows), worst_status=inv[max(ranks)] if ranks else None)

        out = self._write(work)
        return out if isinstance(out, SessionRecord) else self.session(out)

    @staticmethod
    def _advance_schedule(s: Session, equipment_id: int, protocols: set[str],
                          when: datetime) -> None:
        for a in s.execute(select(m.ProtocolAssignment).where(
                m.ProtocolAssignment.equipment_id == equipment_id,
                m.ProtocolAssignment.protocol.in_(protocols),
                m.ProtocolAssignment.active.is_(True))).scalars():
            nxt = when.date() + timedelta(days=_FREQ_DAYS[a.frequency])
            if a.next_due is None or nxt > a.next_due:
                a.next_due = nxt

    # -- reading sessions -----------------------------------------------------------------
    def session(self, session_id: int) -> SessionRecord:
        found = self._sessions(ids=[session_id])
        if not found:
            raise StoreError(f"There is no QC session {session_id}.")
        return found[0]

    def sessions(self, equipment_id: int | None = None, since: datetime | None = None,
                 unreviewed_only: bool = False, *, until: datetime | None = None
                 ) -> list[SessionRecord]:
        """Saved sessions, newest first, with result counts, worst status and latest review."""
        return self._sessions(equipment_id=equipment_id, since=since, until=until,
                              unreviewed_only=unreviewed_only)

    def _sessions(self, *, ids: Sequence[int] | None = None, equipment_id: int | None = None,
                  since: datetime | None = None, until: datetime | None = None,
                  unreviewed_only: bool = False) -> list[SessionRecord]:
        with self._read() as s:
            q = (select(m.QcSession, m.Equipment.name).join(m.Equipment)
                 .order_by(m.QcSession.performed_at.desc(), m.QcSession.id.desc()))
            if ids is not None:
                q = q.where(m.QcSession.id.in_(list(ids)))
            if equipment_id is not None:
                q = q.where(m.QcSession.equipment_id == equipment_id)
            if since is not None:
                q = q.where(m.QcSession.performed_at >= _aware(since))
            if until is not None:
                q = q.where(m.QcSession.performed_at < _aware(until))
            latest = (select(m.Review.session_id, func.max(m.Review.id).label("rid"))
                      .group_by(m.Review.session_id).subquery())
            if unreviewed_only:
                q = q.where(m.QcSession.id.not_in(select(latest.c.session_id)))
            rows = s.execute(q).all()
            if not rows:
                return []
            sids = [r[0].id for r in rows]
            stats: dict[int, tuple[int, int]] = {}
            rank = case({k: v for k, v in _STATUS_RANK.items()}, value=m.ResultRow.status,
                        else_=-1)
            for chunk in _chunks(sids, 900):
                for sid, n, worst in s.execute(
                        select(m.ResultRow.session_id, func.count(), func.max(rank))
                        .where(m.ResultRow.session_id.in_(chunk))
                        .group_by(m.ResultRow.session_id)):
                    stats[sid] = (n, worst)
            protos: dict[int, list[str]] = {}
            reviews: dict[int, m.Review] = {}
            for chunk in _chunks(sids, 900):
                for sid, p in s.execute(select(m.Analysis.session_id, m.Analysis.protocol)
                                        .where(m.Analysis.session_id.in_(chunk)).distinct()):
                    protos.setdefault(sid, []).append(p)
                for rv in s.execute(select(m.Review).join(latest, latest.c.rid == m.Review.id)
                                    .where(m.Review.session_id.in_(chunk))).scalars():
                    reviews[rv.session_id] = rv
        inv = {v: k for k, v in _STATUS_RANK.items()}
        out = []
        for sess, eq_name in rows:
            n, worst = stats.get(sess.id, (0, -1))
            rv = reviews.get(sess.id)
            out.append(SessionRecord(
                id=sess.id, uid=sess.uid, equipment_id=sess.equipment_id,
                equipment_name=eq_name, performed_at=sess.performed_at,
                performed_by=sess.performed_by, saved_by=sess.saved_by, comment=sess.comment,
                created_at=sess.created_at, protocols=tuple(sorted(protos.get(sess.id, []))),
                n_results=n, worst_status=inv.get(worst),
                review_decision=rv.decision if rv else None,
                reviewed_by=rv.reviewer if rv else None,
                reviewed_at=rv.reviewed_at if rv else None))
        return out

    def session_results(self, session_id: int) -> list[ResultRow]:
        with self._read() as s:
            q = (select(m.ResultRow, m.Analysis).join(m.Analysis,
                                                      m.Analysis.id == m.ResultRow.analysis_id)
                 .where(m.ResultRow.session_id == session_id).order_by(m.ResultRow.id))
            return [_result_row(r, a) for r, a in s.execute(q).all()]

    def session_inputs(self, session_id: int) -> list[tuple[str, str]]:
        """(SOPInstanceUID, pixel SHA-256) of every image the session's analyses used."""
        with self._read() as s:
            q = (select(m.InputImage.sop_instance_uid, m.InputImage.pixel_sha256)
                 .join(m.Analysis).where(m.Analysis.session_id == session_id)
                 .order_by(m.InputImage.id))
            return [(u, h) for u, h in s.execute(q).all()]

    # -- review and comments --------------------------------------------------------------
    def review(self, session_ids: Sequence[int], decision: str, comment: str = "",
               reviewer: str | None = None) -> None:
        """Approve or reject sessions (physicist), one review record each, atomically.

        Approving a session with a TOLERANCE or ACTION result needs a ``comment`` (what was
        checked, why it may stand): without one a `StoreError` names the sessions and their
        failing measurements, and nothing is reviewed.
        """
        if decision not in m.DECISIONS:
            raise StoreError(f"A review decision is 'approved' or 'rejected', not {decision!r}.")
        self._require("physicist", "review QC sessions")
        who = self._identity(reviewer)
        ids = list(dict.fromkeys(int(i) for i in session_ids))
        if not ids:
            return
        me = self.current_user()

        def work(s: Session) -> None:
            found = set(s.execute(select(m.QcSession.id).where(m.QcSession.id.in_(ids)))
                        .scalars())
            missing = [i for i in ids if i not in found]
            if missing:
                raise StoreError(f"No QC session(s) {', '.join(map(str, missing))}.")
            if decision == "approved" and not (comment or "").strip():
                failing = _failing(s, ids)
                if failing:
                    raise StoreError(
                        "Approving a session with a Tolerance or Action result needs a "
                        "review comment: " + "; ".join(
                            f"session {sid}: {', '.join(what[:4])}"
                            + (f" and {len(what) - 4} more" if len(what) > 4 else "")
                            for sid, what in list(failing.items())[:5])
                        + (f"; and {len(failing) - 5} more session(s)" if len(failing) > 5
                           else "") + ". Nothing was approved.",
                        hint="Look at the failing measurements, then approve with a comment "
                             "saying what was checked and why the results may stand (or "
                             "reject the session).")
            now = _now()
            for sid in ids:
                rv = m.Review(session_id=sid, reviewer=who, decision=decision,
                              comment=comment or "", reviewed_at=now)
                s.add(rv)
                s.flush()
                self._append(s, at=now, actor=me, action="review", entity="review",
                             entity_id=rv.id, details={"digest": integrity.review_digest(rv),
                                                        "digest_v": audit.DIGEST_V})

        self._write(work)

    def reviews(self, session_id: int) -> list[ReviewRecord]:
        with self._read() as s:
            return [ReviewRecord(r.id, r.session_id, r.reviewer, r.decision, r.comment,
                                 r.reviewed_at) for r in s.execute(
                select(m.Review).where(m.Review.session_id == session_id)
                .order_by(m.Review.id)).scalars()]

    def add_comment(self, session_id: int, text_: str, *, result_id: int | None = None
                    ) -> CommentRecord:
        """A note on a session or one of its results (any role)."""
        if not text_ or not text_.strip():
            raise StoreError("A comment cannot be empty.")
        me = self.current_user()

        def work(s: Session) -> CommentRecord:
            if s.get(m.QcSession, session_id) is None:
                raise StoreError(f"There is no QC session {session_id}.")
            c = m.Comment(session_id=session_id, result_id=result_id, author=me,
                          text=text_.strip(), created_at=_now())
            s.add(c)
            s.flush()
            self._append(s, at=_now(), actor=me, action="comment", entity="comment",
                         entity_id=c.id, details={"session_id": session_id,
                                                  "result_id": result_id,
                                                  "digest": integrity.comment_digest(c),
                                                  "digest_v": audit.DIGEST_V})
            return CommentRecord(c.id, c.session_id, c.result_id, c.author, c.text,
                                 c.created_at)

        return self._write(work)

    def comments(self, session_id: int) -> list[CommentRecord]:
        with self._read() as s:
            return [CommentRecord(c.id, c.session_id, c.result_id, c.author, c.text,
                                  c.created_at) for c in s.execute(
                select(m.Comment).where(m.Comment.session_id == session_id)
                .order_by(m.Comment.id)).scalars()]

    # -- service events -------------------------------------------------------------------
    def add_service_event(self, equipment_id: int, when: datetime | date, kind: str,
                          description: str, performed_by: str = "", who: str | None = None
                          ) -> ServiceEventRecord:
        """Record a service event (technologist and up): tube change, recalibration, ...

        Parameters
        ----------
        equipment_id : int
        when : datetime or date
            When the work was done. A date means 00:00 UTC of that day (so QC done later
            that day counts as after the event); a naive datetime is taken as UTC.
        kind : str
            Free text; `SERVICE_KINDS` lists the suggestions (service, repair, calibration,
            software, part replacement, acceptance).
        description : str
            What was done (required).
        performed_by : str
            Who did it, e.g. the vendor engineer's name and company.
        who : str, optional
            Who records it; on PostgreSQL it must be the login (the default).

        Raises
        ------
        StoreError
            Unknown equipment, empty kind or description, or a time more than a day ahead.
        """
        self._require("technologist", "record service events")
        kind = " ".join((kind or "").split())
        description = (description or "").strip()
        if not kind:
            raise StoreError("A service event needs a kind.",
                             hint="e.g. " + ", ".join(m.SERVICE_KINDS) + ".")
        if not description:
            raise StoreError("A service event needs a description.",
                             hint="Say what was done, e.g. 'X-ray tube replaced'.")
        if len(kind) > 64:
            raise StoreError("The kind of a service event is at most 64 characters.",
                             hint="Put the details in the description.")
        at = _event_time(when)
        if at > _now() + _EVENT_FUTURE_SLACK:
            raise StoreError(f"The service event date {at:%Y-%m-%d} is in the future.",
                             hint="Record service events after they happen.")
        actor = self._identity(who)
        me = self.current_user()

        def work(s: Session) -> ServiceEventRecord:
            if s.get(m.Equipment, equipment_id) is None:
                raise StoreError(f"There is no equipment with id {equipment_id}.",
                                 hint="`imgqa equipment list` shows the equipment.")
            now = _now()
            ev = m.ServiceEvent(equipment_id=equipment_id, occurred_at=at, kind=kind,
                                description=description,
                                performed_by=(performed_by or "").strip(), recorded_by=actor,
                                created_at=now)
            s.add(ev)
            s.flush()
            self._append(s, at=now, actor=me, action="service_event", entity="service_event",
                         entity_id=ev.id, details={"equipment_id": equipment_id, "kind": kind,
                                                   "digest": integrity.service_event_digest(ev),
                                                   "digest_v": audit.DIGEST_V})
            return _event_record(ev)

        return self._write(work)

    def service_events(self, equipment_id: int, since: datetime | None = None,
                       until: datetime | None = None) -> list[ServiceEventRecord]:
        """Service events of the equipment, oldest first; ``since`` inclusive, ``until``
        exclusive."""
        with self._read() as s:
            return self._service_events(s, equipment_id, since, until)

    @staticmethod
    def _service_events(s: Session, equipment_id: int, since: datetime | None,
                        until: datetime | None) -> list[ServiceEventRecord]:
        q = (select(m.ServiceEvent).where(m.ServiceEvent.equipment_id == equipment_id)
             .order_by(m.ServiceEvent.occurred_at, m.ServiceEvent.id))
        if since is not None:
            q = q.where(m.ServiceEvent.occurred_at >= _aware(since))
        if until is not None:
            q = q.where(m.ServiceEvent.occurred_at < _aware(until))
        return [_event_record(e) for e in s.execute(q).scalars()]

    # -- trends ---------------------------------------------------------------------------
    def trend(self, equipment_id: int, protocol: str, measurement: str, *,
              since: datetime | None = None, spc_points: int = 20,
              spc_restart_on_events: bool | Collection[str] = False) -> TrendData:
        """Time series of one measurement with the bands in force, baselines, service events
        and SPC limits.

        Control limits come from the first ``spc_points`` values of the baseline period: the
        values since the newest reset that has at least two values after it (from the start
        when there is none). A reset is a baseline change and, with
        ``spc_restart_on_events``, a service event (True: every event; a collection of kinds,
        e.g. ``{"part replacement", "calibration"}``: events of those kinds, compared without
        case). The signals (`imgqa.trends.spc_signals`: Western Electric rules 1 and 4, only
        with limits from at least 20 values) are checked from the start of the period on.
        """
        eq = self.equipment(equipment_id)
        with self._read() as s:
            reviewed = select(m.Review.session_id).distinct().subquery()
            q = (select(m.ResultRow.performed_at, m.ResultRow.value, m.ResultRow.status,
                        m.ResultRow.session_id, m.ResultRow.reference, m.ResultRow.tol_kind,
                        m.ResultRow.act_low, m.ResultRow.tol_low, m.ResultRow.tol_high,
                        m.ResultRow.act_high, m.ResultRow.unit,
                        reviewed.c.session_id.is_not(None))
                 .outerjoin(reviewed, reviewed.c.session_id == m.ResultRow.session_id)
                 .where(m.ResultRow.equipment_id == equipment_id,
                        m.ResultRow.protocol == protocol,
                        m.ResultRow.measurement == measurement)
                 .order_by(m.ResultRow.performed_at, m.ResultRow.id))
            if since is not None:
                q = q.where(m.ResultRow.performed_at >= _aware(since))
            rows = s.execute(q).all()
            bases, tols = self._current_rows(s, equipment_id, protocol)
            base_hist = [self._baseline_record(b) for b in s.execute(select(m.Baseline).where(
                m.Baseline.equipment_id == equipment_id, m.Baseline.protocol == protocol,
                m.Baseline.measurement == measurement).order_by(m.Baseline.id)).scalars()]
            events = self._service_events(s, equipment_id, since, None)
        points = []
        unit = ""
        lim_cache: dict[tuple, Limits | None] = {}  # most points share the same band
        for (t, v, st, sid, ref, kind, a_lo, t_lo, t_hi, a_hi, u, rev) in rows:
            unit = unit or u
            lim = None
            if ref is not None and kind is not None:
                key = (ref, kind, a_lo, t_lo, t_hi, a_hi)
                if key not in lim_cache:
                    try:
                        lim_cache[key] = limits(ref, Tolerance(kind, a_lo, t_lo, t_hi, a_hi))
                    except ToleranceError:
                        lim_cache[key] = None
                lim = lim_cache[key]
            rel = None
            if v is not None and ref not in (None, 0):
                rel = 100.0 * (v - ref) / abs(ref)
            points.append(TrendPoint(t, v, st, sid, ref, lim, rel, bool(rev)))
        if not unit:
            try:
                unit = get_protocol(protocol).measurement(measurement).unit
            except Exception:
                unit = ""
        resets = [b.set_at for b in base_hist]
        if spc_restart_on_events:
            chosen = spc_restart_on_events
            if isinstance(chosen, str):  # one kind given as text, not its letters
                chosen = (chosen,)
            kinds = None if chosen is True else \
                {k.casefold() for k in chosen}  # type: ignore[union-attr]
            resets += [e.when for e in events if kinds is None or e.kind.casefold() in kinds]
        valued = [i for i, p in enumerate(points) if p.value is not None]
        first = spc_period_start([points[i].time for i in valued], resets)
        start = valued[first] if valued else 0
        period = [points[i] for i in valued[first:first + spc_points]]
        control = control_limits([p.value for p in period])
        violations: tuple = ()
        if control:
            violations = tuple(
                replace(v, index=v.index + start) for v in
                spc_signals([p.value for p in points[start:]], control))
        return TrendData(
            equipment_id=equipment_id, protocol=protocol, measurement=measurement, unit=unit,
            points=tuple(points), baselines=tuple(base_hist),
            tolerance_history=tuple(self.tolerance_history(equipment_id, protocol,
                                                           measurement)),
            tolerance_now=self._in_force(equipment_id, eq.field_strength_t, protocol,
                                         measurement, bases.get(measurement),
                                         tols.get(measurement)),
            control=control,
            spc_period=(period[0].time, period[-1].time) if control else None,
            violations=violations, service_events=tuple(events))

    def measurements_recorded(self, equipment_id: int) -> list[tuple[str, str]]:
        """(protocol, measurement) pairs that have stored results for this equipment."""
        with self._read() as s:
            return [(p, n) for p, n in s.execute(
                select(m.ResultRow.protocol, m.ResultRow.measurement)
                .where(m.ResultRow.equipment_id == equipment_id).distinct()
                .order_by(m.ResultRow.protocol, m.ResultRow.measurement)).all()]

    # -- audit ----------------------------------------------------------------------------
    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        with self._read() as s:
            rows = s.execute(select(m.AuditLog).order_by(m.AuditLog.id.desc()).limit(limit)
                             ).scalars().all()
            return [AuditEntry(e.id, e.at, e.actor, e.action, e.entity, e.entity_id, e.details)
                    for e in reversed(rows)]

    def audit_head(self) -> tuple[int, int, str] | None:
        """(number of entries, newest entry id, its hash); None for an empty log."""
        with self._read() as s:
            last = s.execute(select(m.AuditLog.id, m.AuditLog.hash)
                             .order_by(m.AuditLog.id.desc()).limit(1)).first()
            if last is None:
                return None
            n = s.execute(select(func.count()).select_from(m.AuditLog)).scalar_one()
            return int(n), int(last[0]), str(last[1])

    @property
    def anchor_name(self) -> str:
        """This database in anchor files: the SQLite path, or the URL without login."""
        p = db.sqlite_path(self.url)
        if p is not None:
            return str(p)
        return self.url.set(username=None, password=None).render_as_string()

    def audit_report(self, anchors: Sequence[str | anchor.Anchor] = (),
                     anchor_file: str | None = None, *, record: bool = True
                     ) -> integrity.AuditReport:
        """Check the audit chain, every audited object against its entry (and every entry
        against its object), and the chain head against anchors.

        Parameters
        ----------
        anchors : sequence of str or Anchor
            Heads recorded earlier (``"ID:HASH"``, as printed by `imgqa db verify` and on PDF
            reports).
        anchor_file : path, optional
            A file of anchor lines to check as well; ``$IMGQA_AUDIT_ANCHOR_FILE`` is always
            checked when set (and, with ``record``, gets this head appended when all is well).
        """
        wanted = [a if isinstance(a, anchor.Anchor) else anchor.parse_anchor(a)
                  for a in anchors]
        configured = anchor.anchor_file()
        given = Path(anchor_file).expanduser() if anchor_file else None
        for path in dict.fromkeys(x for x in (given, configured) if x is not None):
            if path == configured and path != given and not path.exists():
                continue  # nothing recorded yet
            wanted += anchor.read_anchor_file(path, self.anchor_name)
        key = self.audit_key
        with self._read() as s:
            report = integrity.verify_store(s, key, wanted)
        if record and report.ok and configured is not None and report.head_id is not None:
            anchor.write_anchor(configured, self.anchor_name, report.head_id,
                                report.head_hash or "", "verify")
        return report

    def deleted_tolerance_ids(self) -> list[int]:
        """Tolerances the audit log records but the database no longer has.

        A cheap check `tolerance show` makes before it presents a packaged default: a deleted
        tolerance row would otherwise be silently replaced by the default (issue 19).
        """
        with self._read() as s:
            logged = set(s.scalars(select(m.AuditLog.entity_id).where(
                m.AuditLog.entity == "tolerance", m.AuditLog.entity_id.is_not(None))))
            present = set(s.scalars(select(m.Tolerance.id)))
        return sorted(logged - present)

    def audit_verify(self, anchors: Sequence[str | anchor.Anchor] = ()
                     ) -> tuple[bool, list[str]]:
        """`audit_report` as (ok, problems)."""
        report = self.audit_report(anchors)
        return report.ok, report.problems


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------
def _event_record(e: m.ServiceEvent) -> ServiceEventRecord:
    return ServiceEventRecord(id=e.id, equipment_id=e.equipment_id, when=e.occurred_at,
                              kind=e.kind, description=e.description,
                              performed_by=e.performed_by, recorded_by=e.recorded_by,
                              created_at=e.created_at)


def _event_time(when: datetime | date) -> datetime:
    """A date → 00:00 UTC that day; a naive datetime → UTC; always UTC out."""
    if isinstance(when, datetime):
        return _aware(when).astimezone(UTC)
    if isinstance(when, date):
        return datetime(when.year, when.month, when.day, tzinfo=UTC)
    raise StoreError(f"A service event time must be a date or a date-time, not {when!r}.")


def _failing(s: Session, ids: Sequence[int]) -> dict[int, list[str]]:
    """Session id → ``"protocol/measurement STATUS"`` of its TOLERANCE/ACTION results."""
    out: dict[int, list[str]] = {}
    for chunk in _chunks(list(ids), 900):
        for sid, proto, meas, status in s.execute(
                select(m.ResultRow.session_id, m.ResultRow.protocol, m.ResultRow.measurement,
                       m.ResultRow.status)
                .where(m.ResultRow.session_id.in_(chunk),
                       m.ResultRow.status.in_(("TOLERANCE", "ACTION")))
                .order_by(m.ResultRow.session_id, m.ResultRow.id)):
            out.setdefault(sid, []).append(f"{proto}/{meas} {status}")
    return out


def _chunks(seq: Sequence[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(seq), n):
        yield list(seq[i:i + n])


def _acquired(results: Sequence[Result]) -> datetime | None:
    times = []
    for r in results:
        a = r.series.get("acquired") if isinstance(r.series, Mapping) else None
        if a:
            try:
                times.append(_aware(datetime.fromisoformat(str(a))))
            except ValueError:
                pass
    return min(times) if times else None


def _json_safe(d: dict[str, Any]) -> dict[str, Any]:
    from imgqa.protocols.base import _jsonable

    return _jsonable(d)


def _result_row(r: m.ResultRow, a: m.Analysis) -> ResultRow:
    tol = _tol_from(r.tol_kind, r.act_low, r.tol_low, r.tol_high, r.act_high)
    lim: Limits | None = None
    if tol is not None and r.reference is not None:
        try:
            lim = limits(r.reference, tol)
        except ToleranceError:
            lim = None
    return ResultRow(
        id=r.id, session_id=r.session_id, equipment_id=r.equipment_id,
        performed_at=r.performed_at, protocol=r.protocol, protocol_version=a.protocol_version,
        label=a.label, measurement=r.measurement, value=r.value, unit=r.unit, status=r.status,
        reference=r.reference, tolerance=tol, limits=lim, tolerance_source=r.tolerance_source,
        parameters=dict(a.parameters or {}), warnings=tuple(a.warnings or ()))


def open_store(url: str | None = None, *, upgrade: bool = True) -> Store:
    """Open (and create or upgrade) the results database.

    Parameters
    ----------
    url : str, optional
        SQLAlchemy URL or SQLite file path; default ``$IMGQA_DB``, else ``imgqa.sqlite3`` in
        ``$IMGQA_DATA_DIR`` or the platform user data directory.
    upgrade : bool
        Bring the schema to the newest version (a SQLite file is backed up first). With
        False, an out-of-date database raises `StoreError`.

    Raises
    ------
    StoreError
        Missing folder, read-only or unreachable database, or a schema from a newer imgqa.
    """
    u, is_default = db.resolve_url(url)
    db.check_sqlite_path(u, create_dir=is_default)
    path = db.sqlite_path(u)
    if path is not None and not path.exists() and "mode=ro" in str(u):
        raise StoreError(f"The results database {path} does not exist.")
    engine = db.make_engine(u)
    try:
        rev = db.current_revision(engine)
        head = db.head_revision()
        if rev != head:
            if not upgrade:
                raise StoreError(f"The results database {path or u.database} needs "
                                 f"upgrading (schema {rev or 'empty'}, this imgqa {head}).",
                                 hint="Run `imgqa db upgrade`.")
            db.upgrade(engine)
    except ImgqaError:
        engine.dispose()
        raise
    except (DBAPIError, OperationalError) as exc:
        engine.dispose()
        raise db.translate_error(exc, u) from exc
    return Store(engine, is_default=is_default)
