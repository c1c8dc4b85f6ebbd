"""Database → Enter results…: type in checklist items, meter readings and visual counts.

The form is generated from the protocol declaration (`imgqa.protocols.manual`): a number field
with its unit per reading, a pass/fail choice per checklist item, a line per remark. The values
are checked as they will be stored (a clear sentence under the form, the dialog stays open),
then saved on the database thread through `Store.save_session`, like analysed results: judged
against the tolerances in force, reviewed, trended and exported.

When the open series has an ``mr.acr`` result, the dialog also offers its visual
low-contrast spokes count: the count is stored in that analysis, marked as entered by the user.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from imgqa.errors import ImgqaError
from imgqa.protocols import all_protocols, get_protocol
from imgqa.protocols.manual import (
    MANUAL_OVERRIDES,
    ManualItem,
    items_for,
    manual_result,
    with_manual_values,
)

if TYPE_CHECKING:
    from imgqa.gui.store_bridge import StoreBridge
    from imgqa.protocols.base import Result
    from imgqa.store.records import EquipmentRecord, SessionRecord

__all__ = ["ManualEntryDialog", "manual_base"]

PASS_FAIL_CHOICES = ("", "pass", "fail")


class ManualEntryDialog(QDialog):
    """Type in results for one piece of equipment and one manual protocol.

    Parameters
    ----------
    db : StoreBridge
        The main window's database bridge (saving runs on its thread).
    base : tuple (Result, equipment id or None), optional
        An analysed result (``mr.acr``) whose unscored measurement may be typed in.
    default_user : str
        Pre-filled "performed by".
    """

    saved = Signal(object)   # the SessionRecord

    def __init__(self, db: StoreBridge, parent: QWidget | None = None, *,
                 base: tuple[Result, int | None] | None = None, default_user: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle("Enter results")
        self.setSizeGripEnabled(True)
        self.db = db
        self.base = base
        self.fields: dict[str, QComboBox | QLineEdit] = {}
        self._equipment: list[EquipmentRecord] = []
        self.session: SessionRecord | None = None

        self.protocol_combo = QComboBox()
        for p in all_protocols():
            if p.kind == "manual":
                self.protocol_combo.addItem(f"{p.title} ({p.name})", p.name)
        if base is not None and base[0].protocol in MANUAL_OVERRIDES:
            r = base[0]
            self.protocol_combo.insertItem(
                0, f"Visual count for the open {r.protocol} analysis", r.protocol)
            self.protocol_combo.setCurrentIndex(0)
        self.equipment_combo = QComboBox()
        self.performed_by = QLineEdit(default_user)
        self.comment = QLineEdit()
        self.comment.setPlaceholderText("optional")

        head = QFormLayout()
        head.addRow("Test:", self.protocol_combo)
        head.addRow("Equipment:", self.equipment_combo)
        head.addRow("Performed by:", self.performed_by)
        head.addRow("Comment:", self.comment)

        self.form_host = QWidget()
        self.form = QFormLayout(self.form_host)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form_host)

        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addWidget(scroll, 1)
        lay.addWidget(self.message)
        lay.addWidget(self.buttons)
        self.resize(520, 520)

        self.protocol_combo.currentIndexChanged.connect(self._protocol_changed)
        self._protocol_changed()
        self.db.run(lambda store: store.list_equipment(active_only=True),
                    name="equipment list", on_done=self.set_equipment_list,
                    on_failed=lambda m, h: self._say(f"{m} {h}".strip()))

    # -- form ------------------------------------------------------------------------------
    @property
    def protocol(self) -> str:
        return str(self.protocol_combo.currentData() or "")

    def _protocol_changed(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for item in items_for(self.protocol) if self.protocol else ():
            self.fields[item.name] = w = _field_for(item)
            w.setToolTip(f"{item.name}: {item.description}".rstrip(": "))
            row: QWidget = w
            if item.unit:
                row = QWidget()
                h = QHBoxLayout(row)
                h.setContentsMargins(0, 0, 0, 0)
                h.addWidget(w, 1)
                h.addWidget(QLabel(item.unit))
            self.form.addRow(item.label + ":", row)
        self._fill_equipment()
        self._say("")

    def set_equipment_list(self, equipment: Sequence[EquipmentRecord]) -> None:
        self._equipment = list(equipment)
        self._fill_equipment()

    def _fill_equipment(self) -> None:
        """Only equipment of a modality the test is for (or of no recorded modality)."""
        keep = self.equipment_combo.currentData()
        if self.base is not None and self.protocol == self.base[0].protocol:
            keep = self.base[1] if self.base[1] is not None else keep
        self.equipment_combo.clear()
        mods = get_protocol(self.protocol).modalities if self.protocol else ()
        for e in self._equipment:
            mod = e.modality
            if not mod or "*" in mods or mod in mods:
                self.equipment_combo.addItem(f"{e.name} ({mod or '?'})", e.id)
        idx = self.equipment_combo.findData(keep)
        self.equipment_combo.setCurrentIndex(max(idx, 0))

    def values(self) -> dict[str, str]:
        """Item name → the text typed or chosen ('' = not done)."""
        out = {}
        for name, w in self.fields.items():
            out[name] = w.currentText() if isinstance(w, QComboBox) else w.text()
        return out

    def _say(self, text: str) -> None:
        self.message.setText(text)

    # -- saving ----------------------------------------------------------------------------
    def build_result(self) -> Result:
        """The result to store; raises `ImgqaError` with a sentence for the user."""
        who = self.performed_by.text().strip() or self.db.user
        values = {k: v for k, v in self.values().items() if v.strip()}
        if self.base is not None and self.protocol == self.base[0].protocol:
            return with_manual_values(self.base[0], values, entered_by=who)
        eq = next((e for e in self._equipment
                   if e.id == self.equipment_combo.currentData()), None)
        return manual_result(self.protocol, values, entered_by=who,
                             equipment_modality=eq.modality if eq is not None else "")

    def save(self) -> None:
        eq_id = self.equipment_combo.currentData()
        if eq_id is None:
            self._say("Choose the equipment (register it first with Save to database… or "
                      "`imgqa equipment add`).")
            return
        try:
            result = self.build_result()
        except ImgqaError as exc:
            self._say(exc.full_message())
            return
        who = self.performed_by.text().strip() or None
        comment = self.comment.text().strip()
        self._say("Saving…")
        self.buttons.setEnabled(False)
        self.db.run(lambda store: store.save_session(eq_id, [result], performed_by=who,
                                                     comment=comment),
                    name="saving entered results", on_done=self._saved,
                    on_failed=self._failed)

    def _saved(self, session: SessionRecord) -> None:
        self.session = session
        self.buttons.setEnabled(True)
        self.saved.emit(session)
        self.accept()

    def _failed(self, message: str, hint: str) -> None:
        self.buttons.setEnabled(True)
        self._say(f"Not saved: {message} {hint}".strip())


def _field_for(item: ManualItem) -> QComboBox | QLineEdit:
    if item.kind == "passfail":
        w = QComboBox()
        w.addItems(PASS_FAIL_CHOICES)   # empty = not checked
        return w
    line = QLineEdit()
    if item.kind == "number":
        lo = "" if item.minimum is None else f"{item.minimum:g}"
        hi = "" if item.maximum is None else f"{item.maximum:g}"
        line.setPlaceholderText(f"{lo}–{hi} {item.unit}".strip() if lo or hi else item.unit)
    return line


def manual_base(results: Sequence[Result], equipment_id: int | None
                ) -> tuple[Result, int | None] | None:
    """The open series' result whose visual count may be typed in (``mr.acr``), if any."""
    for r in results:
        if r.protocol in MANUAL_OVERRIDES:
            return r, equipment_id
    return None
