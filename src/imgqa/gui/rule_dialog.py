"""*Always analyse series like this one this way…*: a routing rule from an analysed series.

The dialog is pre-filled from the series' header (`draft_from_entry`: modality, station name,
device serial number, manufacturer, model, the SeriesDescription as an escaped, anchored
regular expression, image size) and from what was done with it (the test that ran, parameters
that differ from the test's defaults, the equipment it was judged against). Each condition
can be unticked or edited; a reason is required. Saving goes through `Store.add_rule`, the
call ``imgqa rule add`` makes, with the same values (parameters as text, the protocol
coerces them), so a rule made here and one typed on the command line are the same rule.
Tests and equipment are shown by their titles and names, never by internal identifiers only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

if TYPE_CHECKING:
    from imgqa.gui.model import SeriesEntry
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.io.series import HeaderSummary
    from imgqa.store import Store
    from imgqa.store.records import EquipmentRecord, RuleRecord

__all__ = ["CREATE_EQUIPMENT", "RuleDialog", "RuleDraft", "description_pattern",
           "draft_from_entry"]

CREATE_EQUIPMENT = -1   # combo data: register the device from the header (--create-equipment)
_TEXT = (("modality", "Modality"), ("station_name", "Station name"),
         ("serial", "Device serial number"), ("manufacturer", "Manufacturer"),
         ("model", "Model"), ("description", "Series description (pattern)"))


def description_pattern(description: str) -> str:
    """The series description as a regular expression matching exactly it (case ignored by
    the matcher); empty for an empty description. Spaces are left as they are (they have no
    special meaning outside verbose mode), so the pattern stays readable."""
    text = description.strip()
    return f"^{re.escape(text).replace(chr(92) + ' ', ' ')}$" if text else ""


@dataclass(frozen=True)
class RuleDraft:
    """What the dialog starts from: conditions, test, parameters (text) and equipment."""

    protocol: str
    params: dict[str, str] = field(default_factory=dict)
    equipment_id: int | None = None
    modality: str = ""
    station_name: str = ""
    serial: str = ""
    manufacturer: str = ""
    model: str = ""
    description: str = ""
    rows: int | None = None
    columns: int | None = None


def _changed_params(protocol: str, used: dict[str, Any]) -> dict[str, str]:
    """Parameters that differ from the test's defaults, as the text `--param K=V` takes."""
    from imgqa.protocols.base import get_protocol

    try:
        defaults = {p.name: p.default for p in get_protocol(protocol).parameters}
    except Exception:  # noqa: BLE001 - unknown protocol: the dialog says so on saving
        return {}
    return {k: str(v) for k, v in used.items()
            if k in defaults and v is not None and v != defaults[k]}


def draft_from_entry(entry: SeriesEntry) -> RuleDraft:
    """The rule that would take this series again the way it was analysed."""
    h: HeaderSummary = entry.series.header
    e = h.equipment
    protocol = entry.protocol or (entry.results[0].protocol if entry.results else "")
    used: dict[str, Any] = dict(entry.results[0].parameters) if entry.results else {}
    return RuleDraft(protocol=protocol, params=_changed_params(protocol, used),
                     equipment_id=entry.equipment_id, modality=h.modality or "",
                     station_name=e.station_name or "", serial=e.serial or "",
                     manufacturer=e.manufacturer or "", model=e.model or "",
                     description=description_pattern(h.series_description or ""),
                     rows=h.rows or None, columns=h.columns or None)


def _parse_params(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in re.split(r"[;\n]", text):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"write parameters as name=value, separated by ';' "
                             f"(got {item.strip()!r})")
        out[key.strip()] = value.strip()
    return out


class RuleDialog(QDialog):
    """Pre-filled routing rule; saved through the store on the database thread.

    Signals
    -------
    saved(object): the new `RuleRecord`.
    """

    saved = Signal(object)

    def __init__(self, db: StoreBridge, draft: RuleDraft, header: HeaderSummary | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Always analyse series like this one this way")
        self.db, self.draft, self.header = db, draft, header
        self.rule: RuleRecord | None = None
        intro = QLabel("Series received later (imgqa serve, or the window's automatic "
                       "analysis) that match <b>every ticked condition</b> are analysed with "
                       "this test, saved under this equipment and wait for review.")
        intro.setWordWrap(True)
        form = QFormLayout()
        self.use: dict[str, QCheckBox] = {}
        self.text: dict[str, QLineEdit] = {}
        for key, label in _TEXT:
            value = str(getattr(draft, key) or "")
            box, edit = QCheckBox(label), QLineEdit(value)
            box.setChecked(bool(value))
            edit.setEnabled(bool(value))
            box.toggled.connect(edit.setEnabled)
            edit.textChanged.connect(self._check)
            box.toggled.connect(self._check)
            self.use[key], self.text[key] = box, edit
            form.addRow(box, edit)
        self.text["description"].setToolTip(
            "A regular expression searched (case ignored) in SeriesDescription or "
            "ProtocolName. ^ and $ anchor it; e.g. ^ACR_T1 takes every series starting so.")
        self.size_spins: dict[str, QSpinBox] = {}
        for key, label in (("rows", "Image rows"), ("columns", "Image columns")):
            n = getattr(draft, key)
            box, spin = QCheckBox(label), QSpinBox()
            spin.setRange(1, 65535)
            spin.setValue(int(n or 1))
            box.setChecked(n is not None)
            spin.setEnabled(n is not None)
            box.toggled.connect(spin.setEnabled)
            box.toggled.connect(self._check)
            self.use[key], self.size_spins[key] = box, spin
            form.addRow(box, spin)
        self.protocol_combo = QComboBox()
        self._fill_protocols()
        form.addRow("Test", self.protocol_combo)
        self.params = QLineEdit("; ".join(f"{k}={v}" for k, v in draft.params.items()))
        self.params.setPlaceholderText("the test's defaults (name=value; name=value to change)")
        form.addRow("Parameters", self.params)
        self.equipment_combo = QComboBox()
        self.equipment_combo.addItem("Loading the equipment list…", None)
        form.addRow("File under", self.equipment_combo)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why (required), e.g. weekly ACR series of the 3 T")
        self.reason.textChanged.connect(self._check)
        form.addRow("Reason", self.reason)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.note)
        layout.addWidget(self.buttons)
        self.resize(640, self.sizeHint().height())
        db.run(lambda store: store.list_equipment(active_only=True), name="equipment list",
               on_done=self.set_equipment_list)
        self._check()

    def _fill_protocols(self) -> None:
        from imgqa.protocols.base import all_protocols

        modality = self.draft.modality
        for p in sorted(all_protocols(), key=lambda p: p.title.lower()):
            if p.kind == "manual":
                continue
            if p.name == self.draft.protocol or "*" in p.modalities or modality in p.modalities:
                self.protocol_combo.addItem(p.title or p.name, p.name)
                self.protocol_combo.setItemData(self.protocol_combo.count() - 1, p.name,
                                                 Qt.ItemDataRole.ToolTipRole)
        i = self.protocol_combo.findData(self.draft.protocol)
        self.protocol_combo.setCurrentIndex(max(i, 0))

    def set_equipment_list(self, equipment: list[EquipmentRecord]) -> None:
        combo = self.equipment_combo
        combo.clear()
        for e in equipment:
            where = f" — {e.location}" if getattr(e, "location", "") else ""
            combo.addItem(f"{e.name} ({e.modality}){where}", e.id)
        combo.addItem("Register the device from the header (when no equipment matches it)",
                      CREATE_EQUIPMENT)
        i = combo.findData(self.draft.equipment_id) if self.draft.equipment_id is not None \
            else -1
        combo.setCurrentIndex(i if i >= 0 else combo.count() - 1)

    # -- values ---------------------------------------------------------------------------
    def values(self) -> dict[str, Any]:
        """Keyword arguments of `Store.add_rule` (the protocol first, under ``protocol``)."""
        kw: dict[str, Any] = {"protocol": self.protocol_combo.currentData() or "",
                              "reason": self.reason.text().strip(),
                              "params": _parse_params(self.params.text())}
        eq = self.equipment_combo.currentData()
        kw["equipment_id"] = None if eq in (None, CREATE_EQUIPMENT) else int(eq)
        kw["create_equipment"] = eq == CREATE_EQUIPMENT
        for key, _label in _TEXT:
            kw[key] = self.text[key].text().strip() if self.use[key].isChecked() else ""
        for key, spin in self.size_spins.items():
            kw[key] = int(spin.value()) if self.use[key].isChecked() else None
        return kw

    def problems(self) -> list[str]:
        """What keeps the rule from being saved, in words (empty: it can be saved)."""
        from imgqa.service.routing import valid_pattern

        out = []
        try:
            kw = self.values()
        except ValueError as exc:
            return [f"Parameters: {exc}."]
        if not any(kw[k] for k, _ in _TEXT) and kw["rows"] is None and kw["columns"] is None:
            out.append("Tick at least one condition, or the rule would take every series.")
        bad = valid_pattern(kw["description"]) if kw["description"] else None
        if bad:
            out.append(f"The series description pattern is not a valid regular expression: "
                       f"{bad}.")
        if not kw["reason"]:
            out.append("Write the reason for the rule (it is kept in the audit log).")
        return out

    def _matches_note(self) -> str:
        """Whether the rule as set would take the series it was made from."""
        if self.header is None:
            return ""
        from imgqa.service.routing import rule_score
        from imgqa.store.records import RuleRecord

        try:
            kw = self.values()
        except ValueError:
            return ""
        rec = RuleRecord(rule_id=0, version=1, active=True, protocol=kw["protocol"],
                         params=kw["params"], equipment_id=kw["equipment_id"],
                         create_equipment=kw["create_equipment"],
                         **{k: kw[k] for k, _ in _TEXT}, rows=kw["rows"],
                         columns=kw["columns"])
        if rule_score(rec, self.header):
            return "This rule takes the series it was made from."
        return "Note: as set, this rule would not take the series it was made from."

    def _check(self, *_: Any) -> None:
        problems = self.problems()
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not problems)
        self.note.setText(" ".join(problems) or self._matches_note())
        self.note.setStyleSheet("color: #c62828;" if problems else "")

    def save(self) -> None:
        if self.problems():
            self._check()
            return
        kw = self.values()
        self.buttons.setEnabled(False)

        def job(store: Store) -> RuleRecord:
            protocol = kw.pop("protocol")
            return store.add_rule(protocol, **kw)

        self.db.run(job, name="add routing rule", on_done=self._saved,
                    on_failed=self._failed)

    def _saved(self, rule: RuleRecord) -> None:
        self.rule = rule
        self.saved.emit(rule)
        self.accept()

    def _failed(self, message: str, hint: str) -> None:
        self.buttons.setEnabled(True)
        self.note.setText(f"Not saved: {message} {hint}".strip())
        self.note.setStyleSheet("color: #c62828;")
