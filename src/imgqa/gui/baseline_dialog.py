"""Baseline and tolerance editor (physicists). Every change needs a reason, which the database
keeps with who changed what and when; results already saved keep the status they had."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from imgqa.gui.store_bridge import StoreBridge, find_data

if TYPE_CHECKING:
    from imgqa.protocols.base import Protocol
    from imgqa.store.records import EquipmentRecord, ToleranceRecord

__all__ = ["BaselineDialog", "parse_optional_float"]

LEVELS = ("act_low", "tol_low", "tol_high", "act_high")
LEVEL_TEXT = {"act_low": "Action low", "tol_low": "Tolerance low", "tol_high": "Tolerance high",
              "act_high": "Action high"}


def parse_optional_float(text: str) -> float | None:
    """'' → None; '1,5' or '1.5' → 1.5; raises ValueError on anything else."""
    t = text.strip().replace(",", ".")
    if not t:
        return None
    v = float(t)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


class BaselineDialog(QDialog):
    changed = Signal()

    def __init__(self, db: StoreBridge, protocols: Sequence[Protocol] | None,
                 context: tuple[int, str, str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Baselines and tolerances")
        self.setMinimumWidth(560)
        self.db = db
        self._protocols = list(protocols or [])
        self._context = context
        self._equipment: list[EquipmentRecord] = []

        self.equipment = QComboBox()
        self.measurement = QComboBox()
        self.equipment.currentIndexChanged.connect(self._fill_measurements)
        self.measurement.currentIndexChanged.connect(self._load_current)
        self.current = QLabel("")
        self.current.setWordWrap(True)

        self.baseline_value = QLineEdit()
        self.baseline_value.setPlaceholderText("new reference value")
        self.baseline_reason = QLineEdit()
        self.baseline_reason.setPlaceholderText("Reason (required), e.g. after tube replacement")
        self.baseline_button = QPushButton("Set baseline")
        self.baseline_button.clicked.connect(self.apply_baseline)

        self.kind = QComboBox()
        self.kind.addItem("absolute (in the measurement's unit)", "absolute")
        self.kind.addItem("percent of the reference", "percent")
        self.level_edits = {lv: QLineEdit() for lv in LEVELS}
        for e in self.level_edits.values():
            e.setPlaceholderText("none (unbounded)")
        self.tolerance_reason = QLineEdit()
        self.tolerance_reason.setPlaceholderText("Reason (required), e.g. new ACR criteria")
        self.tolerance_button = QPushButton("Set tolerance")
        self.tolerance_button.clicked.connect(self.apply_tolerance)
        self.message = QLabel("")
        self.message.setWordWrap(True)

        top = QFormLayout()
        top.addRow("Equipment", self.equipment)
        top.addRow("Measurement", self.measurement)
        top.addRow("In force now", self.current)
        base_box = QGroupBox("Baseline (reference value)")
        bf = QFormLayout(base_box)
        bf.addRow("Value", self.baseline_value)
        bf.addRow("Reason", self.baseline_reason)
        bf.addRow("", self.baseline_button)
        tol_box = QGroupBox("Tolerance (offsets from the reference; act_low ≤ tol_low ≤ "
                            "tol_high ≤ act_high)")
        tf = QFormLayout(tol_box)
        tf.addRow("Kind", self.kind)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for lv in ("act_low", "tol_low"):
            row1.addWidget(QLabel(LEVEL_TEXT[lv]))
            row1.addWidget(self.level_edits[lv])
        for lv in ("tol_high", "act_high"):
            row2.addWidget(QLabel(LEVEL_TEXT[lv]))
            row2.addWidget(self.level_edits[lv])
        tf.addRow(row1)
        tf.addRow(row2)
        tf.addRow("Reason", self.tolerance_reason)
        tf.addRow("", self.tolerance_button)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(base_box)
        layout.addWidget(tol_box)
        layout.addWidget(self.message)
        layout.addWidget(close)
        for w in (self.baseline_value, self.baseline_reason, self.tolerance_reason):
            w.textChanged.connect(self._update_buttons)
        self._update_buttons()
        self.db.run(lambda store: list(store.list_equipment(active_only=True)),
                    name="equipment list", on_done=self._fill_equipment,
                    on_failed=self._show_error)

    # -- choices --------------------------------------------------------------------------
    def _fill_equipment(self, records: Sequence[EquipmentRecord]) -> None:
        self._equipment = list(records)
        self.equipment.blockSignals(True)
        self.equipment.clear()
        for e in self._equipment:
            self.equipment.addItem(f"{e.name} · {e.modality}", e.id)
        if self._context is not None:
            i = self.equipment.findData(self._context[0])
            self.equipment.setCurrentIndex(max(i, 0))
        self.equipment.blockSignals(False)
        self._fill_measurements()

    def _fill_measurements(self, *_: Any) -> None:
        eq = next((e for e in self._equipment if e.id == self.equipment.currentData()), None)
        self.measurement.blockSignals(True)
        self.measurement.clear()
        if eq is not None:
            if not self._protocols:
                from imgqa.protocols import all_protocols

                self._protocols = all_protocols()
            for p in self._protocols:
                if "*" in p.modalities or eq.modality in p.modalities:
                    for m in p.measurements:
                        self.measurement.addItem(f"{p.name} · {m.label or m.name}"
                                                 + (f" ({m.unit})" if m.unit else ""),
                                                 (p.name, m.name))
                        self.measurement.setItemData(  # internal name, as in tolerance files
                            self.measurement.count() - 1, f"{p.name} · {m.name}",
                            Qt.ItemDataRole.ToolTipRole)
        if self._context is not None:
            j = find_data(self.measurement, (self._context[1], self._context[2]))
            if j >= 0:
                self.measurement.setCurrentIndex(j)
            elif eq is not None and eq.id == self._context[0] and eq.modality:
                # say why the test asked for is not offered (the store refuses it too)
                self.message.setText(f"{self._context[1]} is not a test for {eq.modality} "
                                     f"equipment; choose one of the tests listed.")
        self.measurement.blockSignals(False)
        self._load_current()

    def selection(self) -> tuple[int, str, str] | None:
        eq_id = self.equipment.currentData()
        key = self.measurement.currentData()
        if eq_id is None or key is None:
            return None
        return eq_id, key[0], key[1]

    def _load_current(self, *_: Any) -> None:
        sel = self.selection()
        if sel is None:
            self.current.setText("")
            return
        self.db.run(lambda store: store.tolerance(*sel), name="tolerance",
                    on_done=self._show_current, on_failed=self._show_error)

    def _show_current(self, rec: ToleranceRecord | None) -> None:
        if rec is None:
            self.current.setText("No baseline or tolerance yet (results are NO_TOL).")
            return
        tol, ref, src, cite = rec.tolerance, rec.reference, rec.source, rec.citation
        text = "no reference" if ref is None else f"reference {ref:g}"
        text += f"; {tol.describe()}"
        self.kind.setCurrentIndex(max(self.kind.findData(tol.kind), 0))
        for lv in LEVELS:
            v = getattr(tol, lv)  # one of the four named limits of `Tolerance`
            self.level_edits[lv].setText("" if v is None else f"{v:g}")
        if src:
            text += f" (from {src}{'; ' + cite if cite else ''})"
        self.current.setText(text)

    def _update_buttons(self) -> None:
        self.baseline_button.setEnabled(bool(self.baseline_value.text().strip())
                                        and bool(self.baseline_reason.text().strip()))
        self.tolerance_button.setEnabled(bool(self.tolerance_reason.text().strip()))

    # -- changes --------------------------------------------------------------------------
    def apply_baseline(self) -> None:
        sel = self.selection()
        reason = self.baseline_reason.text().strip()
        try:
            value = parse_optional_float(self.baseline_value.text())
        except ValueError:
            self.message.setText("The baseline must be a number.")
            return
        if sel is None or value is None or not reason:
            self.message.setText("Choose a measurement, enter a value and a reason.")
            return
        self.db.run(lambda store: store.set_baseline(*sel, value, reason=reason),
                    name="set baseline", on_done=self._done, on_failed=self._show_error)

    def apply_tolerance(self) -> None:
        sel = self.selection()
        reason = self.tolerance_reason.text().strip()
        try:
            levels = {lv: parse_optional_float(e.text()) for lv, e in self.level_edits.items()}
        except ValueError:
            self.message.setText("Tolerance levels must be numbers (or empty for none).")
            return
        if sel is None or not reason:
            self.message.setText("Choose a measurement and give a reason.")
            return
        kind = str(self.kind.currentData())
        self.db.run(lambda store: store.set_tolerance(
            *sel, kind=kind, reason=reason, act_low=levels["act_low"],
            tol_low=levels["tol_low"], tol_high=levels["tol_high"], act_high=levels["act_high"]),
            name="set tolerance", on_done=self._done, on_failed=self._show_error)

    def _done(self, rec: object) -> None:  # the BaselineRecord or ToleranceRecord saved
        self.message.setText("✔ Saved. Earlier results keep the status they had.")
        self.baseline_reason.clear()
        self.tolerance_reason.clear()
        self._load_current()
        self.changed.emit()

    def _show_error(self, message: str, hint: str) -> None:
        self.message.setText(f"✖ {message} {hint}".strip())
