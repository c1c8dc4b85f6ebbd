"""Render the documentation screenshots from the real application, offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots.py [OUT_DIR]

Everything happens in a temporary data directory (settings, database, demo phantoms), so the
user's own settings and database are never touched. A month of daily CT water-phantom QC is
made with the digital phantom generator and saved through the store, so the trend and review
screenshots show real stored data; the main-window screenshot shows the demo phantoms analysed
with their ROIs.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "images"
SIZE = (1400, 860)


def make_history(root: Path, store, days: int = 24) -> int:
    """Daily CT water QC with a slow drift and one bad day; returns the equipment id."""
    import numpy as np

    from imgqa.io import load
    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series
    from imgqa.protocols import get_protocol, run_protocol

    rng = np.random.default_rng(7)
    proto = get_protocol("ct.water")
    start = datetime(2026, 1, 5, 8, 0)
    eq_id = None
    for d in range(days):
        drift = 0.12 * d + rng.normal(0, 0.6) + (6.5 if d == 17 else 0.0)
        images, _ = water_phantom(size=128, pixel_mm=1.8, noise_sd=6.0, n_slices=1,
                                  water_hu=drift, seed=100 + d)
        folder = root / f"day{d:02d}"
        write_series(images, folder, modality="CT", description="Water phantom daily QC",
                     pixel_spacing_mm=1.8, slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                     acquired=start + timedelta(days=d, minutes=int(rng.integers(0, 50))),
                     extra_tags={"KVP": 120}, prefix="ct")
        series = load(folder)[0]
        if eq_id is None:
            eq = store.match_equipment(series) or store.create_equipment_from_series(
                series, name="CT room 1", location="Radiology, level 2")
            eq_id = eq.id
        results = run_protocol(proto, series)
        session = store.save_session(eq_id, [store.evaluate(eq_id, r) for r in results],
                                     performed_by=["alice", "bob"][d % 2],
                                     comment="" if d != 17 else "tube warm-up skipped")
        from imgqa.gui import session_index

        session_index.remember(session.uid, series.sources)
        if d == 9:
            store.set_baseline(eq_id, "ct.water", "noise_sd_centre",
                               float(results[0].value("noise_sd_centre")),
                               reason="Baseline from the first 10 days")
        if d < 16:
            sessions = store.sessions(equipment_id=eq_id, unreviewed_only=True)
            store.review([s.id for s in sessions], "approved", comment="weekly review")
    return eq_id


def receive_some(w, folders, inbox: Path) -> None:
    """Turn the window's receiver on (loopback, a free port) and C-STORE `folders` to it."""
    import socket

    import pydicom
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    from imgqa.gui.app import wait_until
    from imgqa.gui.state import ReceiverSettings, save_receiver_settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    save_receiver_settings(ReceiverSettings(True, "IMGQA", port, str(inbox), "127.0.0.1"),
                           w.settings)
    w.inbox.apply_settings()
    ae = AE(ae_title="CTSCANNER")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
    try:
        for folder in folders:
            for f in sorted(Path(folder).glob("*.dcm")):
                assoc.send_c_store(pydicom.dcmread(f))
    finally:
        assoc.release()
    wait_until(lambda: w.inbox.receiver.new_images > 0, 30)


def shoot_manual_entry(w, shoot) -> None:
    """The Enter results… dialog filled in with a CT daily checklist (not saved)."""
    from imgqa.gui.app import wait_until

    w.enter_results()
    dlg = w.manual_dialog
    wait_until(lambda: dlg.equipment_combo.count() > 0, 30)
    dlg.protocol_combo.setCurrentIndex(dlg.protocol_combo.findData("manual.ct_daily_checklist"))
    for name in ("laser_alignment", "table_movement", "warning_lights"):
        dlg.fields[name].setCurrentText("pass")
    dlg.fields["kvp_measured"].setText("120.4")
    dlg.fields["notes"].setText("120 kV, 200 mAs head protocol")
    dlg.performed_by.setText("alice")
    shoot("manual_entry.png", dlg)
    dlg.reject()


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="imgqa-shots-"))
    os.environ["IMGQA_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("IMGQA_DB", None)
    OUT.mkdir(parents=True, exist_ok=True)

    from imgqa.gui.app import make_app, wait_until
    from imgqa.gui.demo import demo_folder
    from imgqa.gui.main_window import MainWindow
    from imgqa.store import open_store

    db_url = str(tmp / "qc.sqlite3")
    store = open_store(db_url)
    eq_id = make_history(tmp / "history", store)
    store.close()

    app = make_app()
    w = MainWindow(db_url=db_url)
    w.resize(*SIZE)
    w.show()
    wait_until(lambda: not w.db.connecting, 60)
    done = {"n": 0}
    w.analysis_finished.connect(lambda: done.__setitem__("n", done["n"] + 1))
    folder = demo_folder()
    w.open_paths([str(folder)])
    wait_until(lambda: done["n"] >= 1 and not w.busy, 300)

    def shoot(name: str, widget=None) -> None:
        app.processEvents()
        wait_until(lambda: not w.busy and not w.db.runner.busy, 30)
        app.processEvents()
        path = OUT / name
        (widget or w).grab().save(str(path))
        print(f"wrote {path}")

    # 1. Main window: the CT water phantom with its ROIs and judged results.
    for e in w.workspace.entries:
        if e.protocol == "ct.water":
            w.browser.select(e.key)
    shoot("main_window.png")

    # 2. Plots: an MTF curve carried by a result.
    for e in w.workspace.entries:
        if e.results and any(r.curves for r in e.results) and e.series.modality in ("DX", "CR"):
            w.browser.select(e.key)
            break
    w.side_tabs.setCurrentWidget(w.plots)
    shoot("plots.png")
    w.side_tabs.setCurrentIndex(0)

    # 3. Trend view with bands, baseline and SPC limits.
    w.tabs.setCurrentWidget(w.trend_view)
    wait_until(lambda: w.trend_view.measurement_combo.count() > 0, 30)
    loaded = {"n": -1}
    w.trend_view.loaded.connect(lambda n: loaded.__setitem__("n", n))
    w.trend_view.select(eq_id, "ct.water", "mean_hu_centre")
    wait_until(lambda: loaded["n"] > 0, 30)
    shoot("trends.png")

    # 4. Review pane with the sessions awaiting review; the one with an Action result (day 17)
    #    selected, so its failing measurements and the comment it needs are shown.
    pane = w.review_pane
    w.tabs.setCurrentWidget(pane)
    wait_until(lambda: pane.table.rowCount() > 0, 30)
    failing = [r for r in range(pane.table.rowCount())
               if "Action" in pane.table.item(r, 5).text()]
    shown = {"sid": None}
    pane.failing_loaded.connect(lambda sid, _n: shown.__setitem__("sid", sid))
    pane.table.selectRow(failing[0] if failing else 0)
    wait_until(lambda: shown["sid"] is not None, 30)
    shoot("review.png")

    # 5. The save dialog (equipment matched from the header).
    w.tabs.setCurrentIndex(0)
    w.save_results()
    if w.save_dialog is not None:
        wait_until(lambda: w.save_dialog.group_boxes and
                   w.save_dialog.group_boxes[0].equipment.count() > 0, 30)
        shoot("save_dialog.png", w.save_dialog)
        w.save_dialog.reject()

    # 6. The inbox: the last days' series sent by a "scanner" to the window's receiver.
    receive_some(w, sorted((tmp / "history").glob("day*"))[-3:], tmp / "inbox")
    w.inbox.show_inbox()
    view = w.inbox.view
    wait_until(lambda: len(view.series) == 3 and not view._debounce.isActive(), 30)
    first = view.tree.topLevelItem(0).child(0)
    view.tree.setCurrentItem(first)
    shoot("inbox.png")

    # 7. Database → Enter results…: the CT daily checklist and a kV reading typed in.
    shoot_manual_entry(w, shoot)
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
