"""Issue 11 items 2 and 7: the Save dialog stays usable with many devices (scrollable,
resizable, a search box, Save and Cancel on screen) and the status bar says what was saved."""

from __future__ import annotations

import re

from conftest import TIMEOUT_MS, open_and_wait
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QDialogButtonBox

from imgqa.store.records import EquipmentRecord

N_DEVICES = 17


def _groups(n: int) -> list[dict]:
    mods = ("CT", "NM", "MR", "DX")
    return [{"label": f"Acme Scan {i:02d} (SN-{i:03d}) · {mods[i % 4]}",
             "entries": [object(), object()], "equipment_id": None, "equipment_name": None,
             "modality": mods[i % 4]} for i in range(n)]


def _records(n: int) -> list:
    mods = ("CT", "NM", "MR", "DX")
    return [EquipmentRecord(id=i + 1, name=f"{mods[i % 4]} room {i + 1}", modality=mods[i % 4],
                            location=f"Building {i % 3}") for i in range(n)]


def _on_screen(widget, screen_rect: QRect) -> bool:
    top_left = widget.mapToGlobal(QPoint(0, 0))
    return screen_rect.contains(QRect(top_left, widget.size()))


def _dialog(qtbot, n=N_DEVICES):
    from imgqa.gui.save_dialog import SaveDialog

    dlg = SaveDialog(None, _groups(n), default_user="tech")
    qtbot.addWidget(dlg)
    dlg.set_equipment_list(_records(n))
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def test_seventeen_devices_fit_on_the_screen_with_save_and_cancel_visible(qtbot):
    dlg = _dialog(qtbot)
    available = dlg.screen().availableGeometry()
    assert dlg.frameGeometry().height() <= available.height()
    assert dlg.height() <= available.height()
    for which in (QDialogButtonBox.StandardButton.Save, QDialogButtonBox.StandardButton.Cancel):
        button = dlg.buttons.button(which)
        assert button.isVisible()
        assert dlg.rect().contains(QRect(button.mapTo(dlg, QPoint(0, 0)), button.size()))
        assert _on_screen(button, available)
    # the device boxes scroll; the dialog can be resized
    assert dlg.scroll.verticalScrollBar().maximum() > 0
    assert dlg.isSizeGripEnabled()
    assert len(dlg.group_boxes) == N_DEVICES


def test_search_box_filters_the_devices_and_hidden_ones_are_still_saved(qtbot):
    dlg = _dialog(qtbot)
    dlg.search.setText("sn-007")
    shown = [b for b in dlg.group_boxes if b.isVisibleTo(dlg)]
    assert [b.group["label"] for b in shown] == ["Acme Scan 07 (SN-007) · DX"]
    assert "1 of 17" in dlg.filter_note.text()
    # the equipment record names are searched too
    dlg.search.setText("NM room")
    assert {b.group["modality"] for b in dlg.group_boxes if b.isVisibleTo(dlg)} == {"NM"}
    dlg.search.setText("")
    assert all(b.isVisibleTo(dlg) for b in dlg.group_boxes)
    # filtering is display only: every device is still in the choices (none skipped)
    dlg.search.setText("sn-007")
    choices = dlg.choices()["groups"]
    assert len(choices) == N_DEVICES and not any(c["skip"] for c in choices)


def test_status_bar_says_what_was_saved(qtbot, window, day_folders):
    open_and_wait(qtbot, window, [day_folders[0]])
    window.act_save.trigger()
    dialog = window.save_dialog
    box = dialog.group_boxes[0]
    qtbot.waitUntil(lambda: box.equipment.count() >= 1, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
                         Qt.MouseButton.LeftButton)
    (session,) = saved.args[0]
    # the message must outlast the re-judging that follows a save ("Analysis finished")
    qtbot.waitUntil(lambda: not window.busy and not window.db.runner.busy, timeout=TIMEOUT_MS)
    qtbot.wait(100)
    text = window.status_label.text()
    m = re.fullmatch(rf"Saved session {session.id} for (.+): (\d+) results(, .*)?\.", text)
    assert m, text
    assert m.group(1) == session.equipment_name
    assert int(m.group(2)) == session.n_results
