"""Render the automatic-QC screenshots of docs/automatic-qc.md from the real application.

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots_automatic.py [OUT_DIR]

Everything happens in a temporary data directory (settings, database, inbox). The demo
phantoms (``phantoms/``) are analysed and saved for four fictitious devices at dates chosen so
the due list has a test in every state; a routing rule sends CT water series to *CT room 1*.
The window's receiver is then started from the *Automatic QC* tab on a loopback port, a
"scanner" (a pynetdicom SCU calling itself CT_ROOM1) sends a water-phantom series whose water
reads +8 HU, and an unknown AE title is refused: the panel shows the association, the queue,
the refusal and the session saved pending review (its Action result counted in the status-bar
badge). Last, the rule dialog is opened from that series. Shots: ``due_view.png``,
``automatic_status.png``, ``rule_dialog.png``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent / "images"
ROOT = Path(__file__).resolve().parents[1]
SIZE = (1400, 860)
TODAY = datetime.now(UTC).date()

# demo folder → (equipment name, location, days since its session, schedule, grace days)
DEVICES = {
    "ct_water": ("CT room 1", "Radiology, level 2", 0, "daily", 0),
    "mr_acr": ("MR 3T", "MRI unit", 11, "weekly", 2),
    "nm_flood": ("Gamma camera 1", "Nuclear medicine", 2, "daily", 1),
    "xray_flat_field": ("DR room 2", "Emergency department", 20, "monthly", 0),
}


def _at(days_ago: int) -> datetime:
    d = TODAY - timedelta(days=days_ago)
    return datetime(d.year, d.month, d.day, 8, 30, tzinfo=UTC)


def make_programme(store) -> int:
    """Sessions and schedules of the four devices; returns CT room 1's id."""
    import imgqa
    from imgqa.gui.demo import register_demo_baselines

    ct_id = 0
    for folder, (name, where, ago, every, grace) in DEVICES.items():
        results = [r for r in imgqa.analyse(ROOT / "phantoms" / folder)]
        first = results[0]
        eq = store.match_equipment(first.series) or store.create_equipment_from_series(
            first.series, name=name, location=where)
        register_demo_baselines(store, eq.id, results)
        store.save_session(eq.id, [store.evaluate(eq.id, r) for r in results],
                           performed_by="alice", performed_at=_at(ago))
        protocols = list(dict.fromkeys(r.protocol for r in results))
        for p in protocols:
            store.set_schedule(eq.id, p, every, grace_days=grace, reason="QC programme 2026")
        if ago < 5:
            store.review([s.id for s in store.sessions(equipment_id=eq.id)], "approved",
                         comment="checked")
        if folder == "ct_water":
            ct_id = eq.id
            store.set_schedule(eq.id, "ct.acr", "annual", reason="annual ACR CT phantom")
    store.add_rule("ct.water", equipment_id=ct_id, modality="CT", station_name="",
                   description="water", reason="morning water phantom of CT room 1")
    return ct_id


def water_series(folder: Path) -> list[Path]:
    """Today's CT water phantom, water reading +8 HU (outside the ±5 HU action limit)."""
    from imgqa.phantoms.ct import water_phantom
    from imgqa.phantoms.writer import write_series

    images, _ = water_phantom(size=256, pixel_mm=0.9, noise_sd=6.0, n_slices=3,
                              water_hu=8.0, seed=42)
    write_series(images, folder, modality="CT", description="Water phantom daily QC",
                 pixel_spacing_mm=0.9, slice_thickness_mm=5.0, rescale_intercept=-1024.0,
                 acquired=datetime.now().replace(microsecond=0), prefix="today",
                 extra_tags={"KVP": 120})
    return sorted(folder.glob("*.dcm"))


def send(port: int, files: list[Path], calling: str) -> bool:
    import pydicom
    from pynetdicom import AE
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 5
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
    if not assoc.is_established:
        return False
    try:
        for f in files:
            assoc.send_c_store(pydicom.dcmread(f))
    finally:
        assoc.release()
    return True


def main() -> int:
    import socket

    tmp = Path(tempfile.mkdtemp(prefix="imgqa-shots-auto-"))
    os.environ["IMGQA_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("IMGQA_DB", None)
    OUT.mkdir(parents=True, exist_ok=True)

    from imgqa.gui.app import make_app, wait_until
    from imgqa.gui.auto_runner import AutoSettings, save_auto_settings
    from imgqa.gui.main_window import MainWindow
    from imgqa.gui.state import ReceiverSettings, save_receiver_settings
    from imgqa.store import open_store

    db_url = str(tmp / "qc.sqlite3")
    store = open_store(db_url)
    make_programme(store)
    store.close()

    app = make_app()
    w = MainWindow(db_url=db_url)
    w.resize(*SIZE)
    w.show()
    wait_until(lambda: not w.db.connecting, 60)
    ui = w.automatic

    def shoot(name: str, widget=None) -> None:
        app.processEvents()
        wait_until(lambda: not w.busy and not w.db.runner.busy, 30)
        app.processEvents()
        path = OUT / name
        (widget or w).grab().save(str(path))
        print(f"wrote {path}")

    # 1. The Due tab: every state, most urgent first.
    got = {"n": -1}
    ui.due_view.refreshed.connect(lambda items: got.__setitem__("n", len(items)))
    ui.show_due()
    wait_until(lambda: got["n"] > 0, 30)
    wait_until(lambda: ui.badge.counts is not None, 30)
    shoot("due_view.png")

    # 2. The Automatic QC tab while listening, after a scanner sent a series.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    save_receiver_settings(ReceiverSettings(False, "IMGQA", port, str(tmp / "inbox"),
                                            "127.0.0.1", ("CT_ROOM1",)), w.settings)
    save_auto_settings(AutoSettings(True, 2.0), w.settings)
    panel = ui.status_panel
    panel.automatic.setChecked(True)
    panel.quiet.setValue(2.0)
    panel._settings_changed()
    w.tabs.setCurrentWidget(panel)
    panel.start_receiving()
    wait_until(lambda: panel.runner.running, 30)
    files = water_series(tmp / "scanner")
    send(port, files[:1], "CT_ROOM2")            # not on the allow-list: refused
    send(port, files, "CT_ROOM1")
    wait_until(lambda: bool(panel.runner.outcomes), 120)
    wait_until(lambda: (ui.badge.counts is not None and ui.badge.counts.action > 0), 30)
    shoot("automatic_status.png")

    # 3. "Always analyse series like this one this way…" from the received series.
    done = {"n": 0}
    w.analysis_finished.connect(lambda: done.__setitem__("n", done["n"] + 1))
    folder = next((tmp / "inbox").glob("*/*/"))
    w.open_paths([str(folder)])
    wait_until(lambda: done["n"] >= 1 and not w.busy, 120)
    dlg = ui.rule_from_series()
    if dlg is not None:
        wait_until(lambda: dlg.equipment_combo.count() > 1, 30)
        dlg.reason.setText("morning water phantom of CT room 1")
        dlg.adjustSize()
        shoot("rule_dialog.png", dlg)
        dlg.reject()
    panel.stop_receiving()
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
