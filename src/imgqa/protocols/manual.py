"""Manual results: QC items that are typed in rather than computed from images.

QC programmes have checklist items a technologist judges by eye (laser alignment, table
movement, warning lights) and readings taken from a meter (tube voltage with a kV meter, dose
with an ionisation chamber). They belong in the same record and trend as the analysed results,
so they are declared here as protocols of kind ``"manual"``:

* ``number`` items are stored as they are typed, in the declared unit;
* ``passfail`` items are stored as the number 1 (pass) or 0 (fail), so the ordinary tolerance
  logic judges them: the packaged default (``resources/tolerances/manual.toml``) is reference 1
  with absolute action limits 0…0, i.e. anything but 1 is ``ACTION``;
* ``text`` items (remarks) are not measurements: they are stored with the analysis record
  (``parameters["notes"]``) and shown in exports as a note.

An analysed protocol may also accept a typed value for a measurement it could not score: the
ACR low-contrast spokes of ``mr.acr`` (``MANUAL_OVERRIDES``). `with_manual_values` stores the
count in place of the automatic one, marked in the warnings and in
``parameters["manual_entries"]`` with who entered it.

A department adds its own checklists without code: one TOML file per checklist in
``<user data folder>/checklists/`` (`load_checklist_file`; format in docs/manual-results.md),
read when the protocols are loaded. A file that does not fit is skipped with a logged warning
saying why; it never stops the program.

Everything else here is pure: results are built, the store judges and saves them
(`imgqa record`, the GUI's Database → Enter results…).
"""

from __future__ import annotations

import logging
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from imgqa.errors import ParameterError, ProtocolError
from imgqa.protocols.base import (
    Measurement,
    MeasurementSpec,
    Protocol,
    Result,
    _jsonable,
    get_protocol,
    register,
)

__all__ = [
    "MANUAL_ITEMS",
    "MANUAL_OVERRIDES",
    "ManualItem",
    "checklist_default",
    "display_value",
    "is_manual",
    "items_for",
    "load_checklist_file",
    "load_department_checklists",
    "manual_result",
    "parse_value",
    "with_manual_values",
]

log = logging.getLogger(__name__)

EntryKind = Literal["number", "passfail", "text"]
ENTRY_KINDS = ("number", "passfail", "text")

PASS_WORDS = ("pass", "ok", "yes", "y", "true", "1")
FAIL_WORDS = ("fail", "not ok", "no", "n", "false", "0")


@dataclass(frozen=True, slots=True)
class ManualItem:
    """One typed-in item of a manual protocol (or an overridable measurement).

    ``name`` is a snake_case contract (stored as the measurement name); ``label`` is what the
    form and the CLI help show; ``minimum``/``maximum`` refuse readings that cannot be right
    (a typing slip such as 1204 kV), in ``unit``.
    """

    name: str
    kind: EntryKind
    label: str
    unit: str = ""
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None


# protocol name → its typed-in items, in form order
MANUAL_ITEMS: dict[str, tuple[ManualItem, ...]] = {}

# Analysed protocols whose measurements may be typed in when the automatic scoring declines.
MANUAL_OVERRIDES: dict[str, tuple[ManualItem, ...]] = {
    "mr.acr": (ManualItem(
        "low_contrast_spokes", "number", "Low-contrast spokes, slices 8–11 (visual count)",
        "", "Complete spokes counted visually on slices 8–11 (ACR Large Phantom Guidance "
            "2018, section 7.4).", minimum=0, maximum=40),),
}


def _declare(name: str, title: str, description: str, modalities: tuple[str, ...],
             items: tuple[ManualItem, ...], standard: str, version: str = "1") -> Protocol:
    def refuse_images(series: Any, **_params: Any) -> Any:
        raise ParameterError(
            f"{name} ({title}) is entered by hand; it does not analyse images.",
            hint="Use `imgqa record EQUIPMENT " + name + " --value NAME=VALUE …` or, in the "
                 "application, Database → Enter results….")

    measurements = tuple(
        MeasurementSpec(i.name, i.unit, i.description or i.label,
                        higher_is_better=True if i.kind == "passfail" else None, label=i.label)
        for i in items if i.kind != "text")
    proto = register(Protocol(
        name=name, version=version, title=title, description=description, modalities=modalities,
        measurements=measurements, function=refuse_images, inputs="typed-in values",
        detect=None, standard=standard, kind="manual",
        # the first typed item heads the table and is the trend shown by default
        key_measurement=measurements[0].name if measurements else None))
    MANUAL_ITEMS[name] = items
    return proto


_PF = "Pass (1) or fail (0)."

_declare(
    "manual.ct_daily_checklist", "CT daily checklist and meter readings",
    "Visual checks of the CT daily QC and readings of a kV meter and dose chamber, typed in.",
    ("CT",),
    (
        ManualItem("laser_alignment", "passfail", "Laser alignment OK",
                   description="Positioning lasers coincide with the phantom marks. " + _PF),
        ManualItem("table_movement", "passfail", "Table movement OK",
                   description="Table moves smoothly; indicated position agrees. " + _PF),
        ManualItem("warning_lights", "passfail", "Warning lights and signs OK",
                   description="X-ray on lights and door signs work. " + _PF),
        ManualItem("kvp_measured", "number", "Tube voltage, measured", "kV",
                   "Tube voltage read from a non-invasive kV meter; its baseline is the "
                   "nominal kV set.", minimum=40, maximum=160),
        ManualItem("dose_measured", "number", "Dose, measured (CTDI, free in air or phantom)",
                   "mGy", "Dose read from the ionisation chamber; its baseline is the "
                   "commissioning value.", minimum=0, maximum=1000),
        ManualItem("notes", "text", "Remarks"),
    ),
    "ACR CT Quality Control Manual (2017), technologist's daily and physicist's checks")

_declare(
    "manual.xray_checklist", "Radiography checklist and meter readings",
    "Visual checks and kV / dose meter readings of a radiographic room, typed in.",
    ("DX", "CR", "RF", "MG", "XA"),
    (
        ManualItem("light_field_alignment", "passfail", "Light field matches X-ray field",
                   description="Collimator light field and X-ray field agree. " + _PF),
        ManualItem("collimator_display", "passfail", "Collimator and angle displays OK",
                   description=_PF),
        ManualItem("kvp_measured", "number", "Tube voltage, measured", "kV",
                   "Tube voltage read from a non-invasive kV meter; its baseline is the "
                   "nominal kV set.", minimum=20, maximum=160),
        ManualItem("dose_measured", "number", "Air kerma, measured", "µGy",
                   "Air kerma read from the dosemeter at the reference set-up; its baseline "
                   "is the commissioning value.", minimum=0, maximum=100000),
        ManualItem("notes", "text", "Remarks"),
    ),
    "IPEM Report 91 (2005) and AAPM Report 74 (2002), routine radiography checks")


# ---------------------------------------------------------------------------------------------
def is_manual(protocol: Protocol | str) -> bool:
    """True for a protocol whose measurements are typed in (kind ``"manual"``)."""
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    return proto.kind == "manual"


def items_for(protocol: str) -> tuple[ManualItem, ...]:
    """The items that can be typed in for `protocol` (manual items, or overridable ones)."""
    get_protocol(protocol)  # unknown name → UnknownProtocolError
    return MANUAL_ITEMS.get(protocol) or MANUAL_OVERRIDES.get(protocol, ())


def parse_value(item: ManualItem, text: Any) -> float | str | None:
    """A typed value as stored: a float (numbers; pass → 1.0, fail → 0.0) or the text.

    Empty input means "not done" and gives None. Raises `ParameterError` with a sentence a
    technologist understands for anything else that does not fit.
    """
    raw = "" if text is None else str(text).strip()
    if item.kind == "text":
        return raw or None
    if not raw:
        return None
    if item.kind == "passfail":
        low = raw.lower()
        if low in PASS_WORDS:
            return 1.0
        if low in FAIL_WORDS:
            return 0.0
        raise ParameterError(f"{item.label}: type pass or fail, not {raw!r}.")
    try:
        value = float(raw.replace(",", "."))  # a decimal comma is common on meters' labels
    except ValueError:
        raise ParameterError(f"{item.label}: {raw!r} is not a number"
                             + (f" (in {item.unit})." if item.unit else ".")) from None
    if not math.isfinite(value):
        raise ParameterError(f"{item.label}: {raw!r} is not a number.")
    unit = f" {item.unit}" if item.unit else ""
    if item.minimum is not None and value < item.minimum or \
            item.maximum is not None and value > item.maximum:
        raise ParameterError(
            f"{item.label}: {value:g}{unit} cannot be right; expected {item.minimum:g}–"
            f"{item.maximum:g}{unit}.", hint="Check the reading and the unit.")
    return value


def display_value(protocol: str, measurement: str, value: float | None) -> str:
    """How a stored value reads for people: ``pass``/``fail`` for checklist items."""
    if value is None:
        return "—"
    for item in MANUAL_ITEMS.get(protocol, ()):
        if item.name == measurement and item.kind == "passfail":
            return "pass" if value == 1 else "fail"
    return f"{value:g}"


def _number(value: float | str | None) -> float:
    """A parsed measurement value as a float (`_parse_all` gives numbers for measurements)."""
    if value is None:  # filtered out before; float(None) would raise this too
        raise TypeError("a measurement without a value")
    return float(value)


def _parse_all(protocol: str, items: tuple[ManualItem, ...], values: Mapping[str, Any]
               ) -> dict[str, float | str | None]:
    known = {i.name: i for i in items}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(
            f"{protocol} has no item {', '.join(map(repr, unknown))} to enter.",
            hint="Its items are: " + ", ".join(known) if known
            else f"{protocol} takes no typed-in values.")
    return {name: parse_value(known[name], v) for name, v in values.items()}


def manual_result(protocol: str, values: Mapping[str, Any], *, entered_by: str,
                  equipment_modality: str = "", when: datetime | None = None) -> Result:
    """Build the `Result` of a manual protocol from typed values.

    Parameters
    ----------
    protocol : str
        A protocol of kind ``"manual"`` (e.g. ``"manual.ct_daily_checklist"``).
    values : mapping
        Item name → typed value (strings as typed, or numbers); items left out or empty are
        "not done" and not stored.
    entered_by : str
        Who typed the values (recorded in the warnings and parameters).
    equipment_modality : str
        Stored as the series' modality so the record reads like an analysed one.
    when : datetime, optional
        Creation time (default now, UTC).

    Raises
    ------
    ParameterError
        Not a manual protocol, an unknown item, a value that does not fit, or nothing typed.
    """
    from imgqa._version import __version__

    proto = get_protocol(protocol)
    if proto.kind != "manual":
        raise ParameterError(f"{protocol} is analysed from images; only a measurement it "
                             "could not score can be typed in (`--series`).")
    parsed = _parse_all(protocol, MANUAL_ITEMS[protocol], values)
    ms = tuple(Measurement(spec.name, _number(parsed[spec.name]), spec.unit, spec.description)
               for spec in proto.measurements if parsed.get(spec.name) is not None)
    notes = {i.name: parsed[i.name] for i in MANUAL_ITEMS[protocol]
             if i.kind == "text" and parsed.get(i.name)}
    if not ms:
        raise ParameterError(f"Nothing to record for {protocol}: no item has a value.",
                             hint="Give at least one checklist item or reading.")
    who = entered_by.strip() or "unknown user"
    labels = {i.name: i.label for i in MANUAL_ITEMS[protocol]}
    warnings = [f"Entered manually by {who}."]
    warnings += [f"Note — {labels[k]}: {v}" for k, v in notes.items()]
    return Result(
        protocol=proto.name, protocol_version=proto.version,
        parameters={"entered_by": who, "notes": notes},
        series={"modality": equipment_modality, "description": proto.title,
                "entry": "manual"},
        measurements=ms, warnings=tuple(warnings), label="",
        created=when or datetime.now(UTC), imgqa_version=__version__)


def with_manual_values(result: Result, values: Mapping[str, Any], *, entered_by: str
                       ) -> Result:
    """A copy of an analysed result with typed values for measurements it may not score.

    Only the measurements listed in `MANUAL_OVERRIDES` for the result's protocol are
    accepted (e.g. ``mr.acr`` ``low_contrast_spokes``). Each typed value replaces the
    automatic one (its status cleared, to be judged again) and is marked: a warning
    "… entered manually by <user> …" and ``parameters["manual_entries"][name]`` holding the
    value, who entered it and the automatic value it replaced (None when not scored).
    """
    items = MANUAL_OVERRIDES.get(result.protocol, ())
    parsed = _parse_all(result.protocol, items, values)
    parsed = {k: v for k, v in parsed.items() if v is not None}
    if not parsed:
        raise ParameterError(f"Nothing to record for {result.protocol}: no value given.")
    who = entered_by.strip() or "unknown user"
    spec = {m.name: m for m in get_protocol(result.protocol).measurements}
    entries = dict(result.parameters.get("manual_entries", {}) or {})
    warnings = list(result.warnings)
    current = {m.name: m for m in result.measurements}
    for name, value in parsed.items():
        old = current.get(name)
        auto = None if old is None else _jsonable(old.value)
        current[name] = Measurement(name, _number(value), spec[name].unit, spec[name].description)
        entries[name] = {"value": _number(value), "entered_by": who, "automatic": auto}
        was = "not scored automatically" if auto is None else f"automatic value {auto:g}"
        warnings.append(f"{name} = {_number(value):g} entered manually by {who} ({was}).")
    order = [m.name for m in get_protocol(result.protocol).measurements]
    ms = tuple(current[n] for n in order if n in current)
    params = dict(result.parameters)
    params["manual_entries"] = entries
    return replace(result, measurements=ms, parameters=params, warnings=tuple(warnings))



# ---------------------------------------------------------------------------------------------
# Department checklists (TOML in the user data folder)
# ---------------------------------------------------------------------------------------------
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PACKAGED = frozenset(MANUAL_ITEMS)


def load_checklist_file(path: str | Path) -> Protocol:
    """Read one department checklist (TOML) and register it as a manual protocol.

    Raises
    ------
    ProtocolError
        The file is not TOML, the name does not start with ``manual.``, it would replace a
        packaged or analysed protocol, or an item is incomplete; the message names the file
        and the entry.
    """
    from imgqa.protocols.base import _REGISTRY

    path = Path(path)
    where = f"Checklist {path.name}"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProtocolError(f"{where} cannot be read: {exc}.", path=path) from None
    name = str(data.get("name", ""))
    area, _, test = name.partition(".")
    if area != "manual" or not _NAME.match(test):
        raise ProtocolError(f"{where}: name must be manual.<snake_case>, got {name!r}.",
                            path=path)
    existing = _REGISTRY.get(name)
    if name in _PACKAGED or (existing is not None and existing.kind != "manual"):
        raise ProtocolError(f"{where}: {name} is a packaged test; choose another name.",
                            path=path)
    items = []
    for n, e in enumerate(data.get("item", []), start=1):
        kind, item_name = e.get("kind"), str(e.get("name", ""))
        if kind not in ENTRY_KINDS or not _NAME.match(item_name):
            raise ProtocolError(f"{where}, item {n}: needs a snake_case name and a kind "
                                f"({', '.join(ENTRY_KINDS)}).", path=path)
        bounds = [e.get(k) for k in ("minimum", "maximum")]
        if any(b is not None and (isinstance(b, bool) or not isinstance(b, (int, float)))
               for b in bounds):
            raise ProtocolError(f"{where}, item {item_name}: minimum and maximum must be "
                                "numbers.", path=path)
        items.append(ManualItem(item_name, kind, str(e.get("label") or item_name),
                                str(e.get("unit", "")), str(e.get("description", "")),
                                *(None if b is None else float(b) for b in bounds)))
    if not any(i.kind != "text" for i in items):
        raise ProtocolError(f"{where} has no pass/fail or number item to record.", path=path)
    if len({i.name for i in items}) != len(items):
        raise ProtocolError(f"{where}: two items have the same name.", path=path)
    modalities = data.get("modalities") or ["*"]
    return _declare(name, str(data.get("title") or name), str(data.get("description", "")),
                    tuple(str(m) for m in modalities), tuple(items),
                    str(data.get("standard", "Department procedure")),
                    version=str(data.get("version", "1")))


def load_department_checklists(folder: str | Path | None = None) -> list[str]:
    """Register every ``*.toml`` checklist in ``folder`` (default: the user data folder's
    ``checklists``); returns one message per file skipped (also logged as a warning)."""
    if folder is None:
        from imgqa.paths import data_dir

        folder = data_dir() / "checklists"
    problems = []
    try:
        files = sorted(Path(folder).glob("*.toml"))
    except OSError:
        files = []
    for f in files:
        try:
            load_checklist_file(f)
        except ProtocolError as exc:  # one bad file never stops the program
            log.warning("%s", exc.message)
            problems.append(exc.message)
    return problems


def checklist_default(protocol: str, measurement: str):  # -> DefaultTolerance | None
    """The rule for any pass/fail item without a tolerance entry: pass (1) required.

    Reference 1, absolute action limits 0…0 (a fail, 0, is ``ACTION``), as the packaged
    entries of ``manual.toml``; it covers department checklists.
    """
    from imgqa.evaluate import Tolerance
    from imgqa.store.defaults import DefaultTolerance

    for item in MANUAL_ITEMS.get(protocol, ()):
        if item.name == measurement and item.kind == "passfail":
            return DefaultTolerance(
                protocol=protocol, measurement=measurement,
                tolerance=Tolerance("absolute", act_low=0.0, act_high=0.0), reference=1.0,
                source="Checklist item: pass (1) required (imgqa rule for pass/fail items)",
                verify=False, file="checklist rule")
    return None


load_department_checklists()
