"""Images kept with the record, in the GUI (issue 12): the archive folder chosen in Settings is
used when saving (and is the same setting the CLI reads); on a second workstation — another
data folder, the same database, the share mounted elsewhere, the original images gone — the
trend plot's "Open images" loads the session's archived images into the viewer."""

from __future__ import annotations

import shutil

from conftest import TIMEOUT_MS, open_and_wait, write_water_day
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from imgqa.io.image_archive import default_archive_root
from imgqa.store import open_store


def _window(qtbot, db):
    from imgqa.gui.main_window import MainWindow

    w = MainWindow(db_url=db)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.db.connecting, timeout=TIMEOUT_MS)
    assert w.db.available, w.db.reason
    return w


def _save(qtbot, window) -> list:
    window.act_save.trigger()
    dialog = window.save_dialog
    qtbot.waitUntil(lambda: dialog.group_boxes[0].equipment.count() >= 1, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.saved, timeout=TIMEOUT_MS) as saved:
        qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
                         Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.busy and not window.db.runner.busy, timeout=TIMEOUT_MS)
    return saved.args[0]


def test_trend_open_images_loads_the_archived_images_on_another_workstation(
        qtbot, tmp_path, monkeypatch):
    from imgqa.gui.settings_dialog import SettingsDialog

    monkeypatch.delenv("IMGQA_ARCHIVE", raising=False)
    db = str(tmp_path / "shared.sqlite3")
    share_x = tmp_path / "server share"          # a space, as Windows shares often have
    share_x.mkdir()
    day = write_water_day(tmp_path / "exported" / "day1", 1, water_hu=1.0)

    # Workstation A: the archive folder is chosen in Settings, then a session is saved.
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "ws-a"))
    a = _window(qtbot, db)
    dlg = SettingsDialog(a.settings, db, a)
    dlg.archive_folder.setText(str(share_x))
    dlg._accept()
    assert default_archive_root() == share_x      # the CLI reads the same setting
    open_and_wait(qtbot, a, [day])
    [sess] = _save(qtbot, a)
    a.close()
    with open_store(db) as store:
        files = store.session_files(sess.id)
        stored = {r.measurement: r.value for r in store.session_results(sess.id)}
    assert len(files) == 1 and (share_x / files[0].path).is_file()
    shutil.rmtree(tmp_path / "exported")        # only the archive has the images now

    # Workstation B: own data folder (no session index), the share mounted at another path.
    share_y = tmp_path / "mnt-q"
    share_y.symlink_to(share_x, target_is_directory=True)
    monkeypatch.setenv("IMGQA_DATA_DIR", str(tmp_path / "ws-b"))
    b = _window(qtbot, db)
    b.settings.setValue("archive/root", str(share_y))
    b.settings.sync()
    trend = b.trend_view
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS):
        b.tabs.setCurrentWidget(trend)
    qtbot.waitUntil(lambda: trend.measurement_combo.count() > 0, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(trend.loaded, timeout=TIMEOUT_MS, check_params_cb=lambda n: n == 1):
        trend.select(sess.equipment_id, "ct.water", "mean_hu_centre")
    menu = trend.point_menu(0)
    [action] = [x for x in menu.actions() if x.text() == "Open images"]
    with qtbot.waitSignal(b.analysis_finished, timeout=TIMEOUT_MS):
        action.trigger()
    qtbot.waitUntil(lambda: not b.busy, timeout=TIMEOUT_MS)
    assert b.tabs.currentIndex() == 0 and b.last_opened_session == sess.id
    [entry] = b.workspace.entries
    assert entry.series.sources[0].startswith(str(share_y))
    again = {m.name: m.value for m in entry.results[0].measurements}
    assert again["mean_hu_centre"] == stored["mean_hu_centre"]   # the same images, same value

    # A file altered in the archive is reported and not opened.
    (share_x / files[0].path).write_bytes(b"not the image")
    with qtbot.waitSignal(b.controller.problem, timeout=TIMEOUT_MS) as problem:
        b.open_session(sess.id)
    assert "missing or altered" in problem.args[1]
    b.close()
