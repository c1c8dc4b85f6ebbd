"""Automatic QC in the desktop window (issue 12): seconds from the last image of a series to
its stored session, when the window's receiver and *Analyse automatically* do the work.

The real window (offscreen) runs its receiver on loopback with automatic analysis on; a
pynetdicom SCU sends the 11-slice ACR MRI series (../shared/data/mr/acr/hazen_Siemens), routed
by a rule (``mr.acr``) to a session pending review. Timed from the last C-STORE success to the
window hearing the saved outcome (`AutomaticRunner.outcome`, on the GUI thread), minus the quiet
period (0.5 s here; default 10 s in use). Each repeat uses a fresh database (the store
refuses the same images twice) and a fresh inbox; the first repeat (imports) is reported apart.

Reference: the same work without the window — `SessionSaver` called directly on the complete
series (route, analyse, judge, save) in this process, fresh database each time. The ratio is
the window's overhead (the worker thread's 0.2 s look for complete series, signals).
Target (issue 12): under 2 s.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_auto.py`` (or
``benchmarks/run_all.py gui_auto``, which runs it in a fresh interpreter).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
ACR = ROOT.parent / "shared" / "data" / "mr" / "acr" / "hazen_Siemens"
REPEATS = 3
QUIET_S = 0.5  # longer than the gap between two images (fsync), or a part is analysed


def _rule_db(path: Path) -> str:
    from imgqa.store import open_store

    store = open_store(str(path))
    store.add_rule("mr.acr", create_equipment=True, modality="MR", description="^ACR_T1",
                   reason="bench")
    store.close()
    return str(path)


def _direct(tmp: Path, i: int) -> float:
    """SessionSaver on the complete series, no window: seconds."""
    from imgqa.service.completion import CompleteSeries
    from imgqa.service.saving import SessionSaver
    from imgqa.store import open_store

    files = sorted(ACR.glob("*.dcm"))
    store = open_store(_rule_db(tmp / f"direct{i}.sqlite3"))
    try:
        import pydicom

        uid = str(pydicom.dcmread(files[0], stop_before_pixels=True).SeriesInstanceUID)
        sops = tuple(str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID)
                     for f in files)
        complete = CompleteSeries(uid, tuple(files), sops, 0.0, 0.0)
        saver = SessionSaver(store)
        t0 = time.perf_counter()
        saver(complete)
        dt = time.perf_counter() - t0
        assert saver.outcomes[-1].state == "saved", saver.outcomes[-1].line()
        return dt
    finally:
        store.close()


def measure() -> dict[str, list[float]]:
    """Latencies (s) through the window and directly; the first of each is the cold run."""
    tmp = Path(tempfile.mkdtemp(prefix="imgqa-bench-gui-auto-"))
    os.environ["IMGQA_DATA_DIR"] = str(tmp / "data")
    os.environ.pop("IMGQA_DB", None)
    import pydicom
    from pynetdicom import AE

    from imgqa.gui.app import make_app, wait_until
    from imgqa.gui.auto_runner import AutoSettings, save_auto_settings
    from imgqa.gui.main_window import MainWindow
    from imgqa.gui.state import ReceiverSettings

    datasets = [pydicom.dcmread(f) for f in sorted(ACR.glob("*.dcm"))]
    app = make_app()
    w = MainWindow(db_url=_rule_db(tmp / "db0.sqlite3"))
    w.show()
    wait_until(lambda: not w.db.connecting, 60)
    panel = w.automatic.status_panel
    panel.automatic.setChecked(True)   # saves the box's quiet period: overwritten next
    save_auto_settings(AutoSettings(True, QUIET_S), w.settings)
    heard: dict[str, float] = {}
    panel.runner.outcome.connect(lambda o: heard.update(t=time.perf_counter(), state=o.state))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])

    latencies = []
    for i in range(REPEATS + 1):
        url = _rule_db(tmp / f"db{i + 1}.sqlite3")
        w.db.connect_to(url)
        wait_until(lambda u=url: w.db.available and w.db.url == u and not w.db.connecting, 60)
        w.inbox.receiver.apply(ReceiverSettings(True, "IMGQA", port, str(tmp / f"inbox{i}"),
                                                "127.0.0.1", ("BENCH",)))
        panel.sync()
        wait_until(lambda u=url: panel.runner.running and panel.runner.config is not None
                   and panel.runner.config[0] == u, 60)
        heard.clear()
        ae = AE(ae_title="BENCH")
        for uid in {str(ds.SOPClassUID) for ds in datasets}:
            ae.add_requested_context(uid)
        assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
        assert assoc.is_established
        try:
            for ds in datasets:
                assert assoc.send_c_store(ds).Status == 0
            t_last = time.perf_counter()
        finally:
            assoc.release()
        assert wait_until(lambda: "t" in heard, 120), "no outcome"
        assert panel.runner.config is not None and panel.runner.config[2] == QUIET_S
        assert heard["state"] == "saved", heard
        latencies.append(heard["t"] - t_last - QUIET_S)
    w.close()
    app.processEvents()
    direct = [_direct(tmp, i) for i in range(REPEATS + 1)]
    return {"window": latencies, "direct": direct}


def _summary(m: dict[str, list[float]]) -> list[dict]:
    warm, ref = statistics.median(m["window"][1:]), statistics.median(m["direct"][1:])
    runs = ", ".join(f"{x:.2f}" for x in m["window"])
    return [{"name": "ACR MRI 11 slices: last image acknowledged -> stored session pending "
                     "review, through the window (receiver + AutomaticRunner; quiet period "
                     "excluded)",
             "imgqa_s": warm, "reference_s": ref, "ratio": warm / ref,
             "notes": f"median of {REPEATS} warm runs ({runs} s, first = cold: imports); "
                      "reference: SessionSaver called directly, no window; target < 2 s: "
                      + ("met" if max(m["window"][1:]) < 2 else "NOT met")}]


def run() -> list[dict]:
    """For benchmarks/run_all.py: measured in a fresh interpreter (its own QApplication)."""
    if not ACR.is_dir():
        return []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, __file__, "--json"], capture_output=True, text=True,
                         env=env, check=True, timeout=1800)
    return _summary(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> int:
    if not ACR.is_dir():
        print(f"skipped: {ACR} is not present")
        return 0
    m = measure()
    if "--json" in sys.argv:
        print(json.dumps(m))
        return 0
    [row] = _summary(m)
    print(f"{row['name']}:\n  window {row['imgqa_s']:.2f} s, direct {row['reference_s']:.2f} s, "
          f"ratio {row['ratio']:.2f}; {row['notes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
