"""``imgqa serve`` end to end (issue 12): images received per second, and seconds from the last
image of an 11-slice ACR MRI series to its stored session.

Everything runs against a real ``imgqa serve`` process (started as ``python -m imgqa.cli.main
serve`` on a loopback port, fresh SQLite database and inbox), as a scanner would see it:

* **Throughput**: a pynetdicom SCU sends N CT images (256², 16-bit, new UIDs per run) over one
  association and over two at once; timed from the first association request to the last
  success. imgqa checks each dataset, writes it atomically and fsyncs file and folder before
  acknowledging it. Reference: a bare pynetdicom Storage SCP that writes the bytes as received,
  no checks, no fsync (the network stack alone). A long quiet period keeps analysis out of it.
* **Latency**: the ACR series (../shared/data/mr/acr/hazen_Siemens, a routing rule to mr.acr)
  is sent with ``--quiet Q``; timed from the last C-STORE success to the moment the session is
  in the database (polled every 25 ms from this process, as another workstation would see it).
  Each repeat sends a copy under new UIDs (a new series to the store's duplicate check). The
  first series after start and the following ones are reported apart. Breakdown: the quiet
  period Q, then analysis and save, measured in this process on the same series (warm).

Medians of repeats. Run: ``.venv/bin/python benchmarks/bench_serve.py``.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SHARED = ROOT.parent / "shared" / "data"
ACR = SHARED / "mr" / "acr" / "hazen_Siemens"
N_IMAGES = 100
REPEATS = 3
QUIET_S = 1.0


def _bench_receive():
    """bench_receive.py (its bare SCP and senders), loaded the way run_all.py loads benches."""
    spec = importlib.util.spec_from_file_location("bench_receive",
                                                  Path(__file__).with_name("bench_receive.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _re_uid(datasets):
    from pydicom.uid import generate_uid

    series = generate_uid()
    out = []
    for ds in datasets:
        c = copy.deepcopy(ds)
        c.SeriesInstanceUID = series
        c.SOPInstanceUID = c.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        out.append(c)
    return out


class _Serve:
    """``imgqa serve`` as a subprocess; `port` once it listens."""

    def __init__(self, db: str, inbox: Path, quiet: float) -> None:
        env = dict(os.environ, PYTHONPATH=str(SRC))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "imgqa.cli.main", "--db", db, "serve", "--port", "0",
             "--inbox", str(inbox), "--allow-ae", "BENCH", "--quiet", str(quiet)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            m = re.search(r"port (\d+)", line)
            if m:
                self.port = int(m.group(1))
                break
        else:
            raise RuntimeError("imgqa serve did not start")
        # keep reading its output so the pipe never fills
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)
        self.proc.wait(300)


def _throughput(datasets, n_assoc: int, br) -> tuple[float, float]:
    from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

    ours, bare = [], []
    with tempfile.TemporaryDirectory() as tmp:
        serve = _Serve(str(Path(tmp) / "qc.sqlite3"), Path(tmp) / "inbox", quiet=3600)
        try:
            for _ in range(REPEATS):
                ours.append(br._timed(lambda: br._send_parallel(
                    serve.port, _re_uid(datasets), [CTImageStorage], n_assoc), "imgqa serve"))
        finally:
            serve.stop(signal.SIGKILL)  # a benchmark: nothing to analyse
    for _ in range(REPEATS):
        with tempfile.TemporaryDirectory() as tmp, br._BareScp(Path(tmp)) as scp:
            bare.append(br._timed(lambda: br._send_parallel(scp.port, datasets, [CTImageStorage],
                                                      n_assoc), "the bare SCP"))
    return statistics.median(ours), statistics.median(bare)


def _wait_sessions(store, n: int, timeout: float = 120.0) -> float:
    """Poll the database until it holds `n` sessions; the time it first did."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        if len(store.sessions()) >= n:
            return time.perf_counter()
        time.sleep(0.025)
    raise RuntimeError(f"no session {n} in the database after {timeout:g} s")


def _latency(acr, br) -> tuple[float, list[float]]:
    """(first series after start, [following series]) seconds last image -> stored."""
    from pynetdicom.sop_class import MRImageStorage  # type: ignore[attr-defined]

    from imgqa.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "qc.sqlite3")
        with open_store(db) as st:
            st.add_rule("mr.acr", create_equipment=True, modality="MR", description="^ACR_T1",
                        reason="benchmark")
        serve = _Serve(db, Path(tmp) / "inbox", quiet=QUIET_S)
        times = []
        try:
            with open_store(db) as st:
                for i in range(REPEATS + 1):
                    assert br._send(serve.port, _re_uid(acr), [MRImageStorage]) == [0] * len(acr)
                    last = time.perf_counter()
                    times.append(_wait_sessions(st, i + 1) - last)
        finally:
            serve.stop()
    return times[0], times[1:]


def _breakdown(acr_files) -> tuple[float, float]:
    """(analysis, save) seconds for the ACR series in this process, warm, medians."""
    from imgqa.service.automatic import analyse_complete
    from imgqa.service.routing import rules_route
    from imgqa.store import open_store

    analysis, save = [], []
    with tempfile.TemporaryDirectory() as tmp, open_store(str(Path(tmp) / "qc.sqlite3")) as st:
        st.add_rule("mr.acr", create_equipment=True, modality="MR", description="^ACR_T1",
                    reason="benchmark")
        eq = None
        for i in range(REPEATS + 1):
            t0 = time.perf_counter()
            (o,) = analyse_complete(acr_files, rules_route(st.rules()))
            t1 = time.perf_counter()
            if eq is None:
                eq = st.create_equipment_from_series(o.results[0].series).id
            st.save_session(eq, list(o.results), performed_by="bench",
                            duplicate_reason=f"benchmark repeat {i}")
            t2 = time.perf_counter()
            if i:  # the first is cold (imports)
                analysis.append(t1 - t0)
                save.append(t2 - t1)
    return statistics.median(analysis), statistics.median(save)


def run() -> list[dict]:
    import pydicom

    br = _bench_receive()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        datasets = br._ct_datasets(Path(tmp), N_IMAGES)
        for n_assoc in (1, 2):
            ours, bare = _throughput(datasets, n_assoc, br)
            rows.append({
                "name": f"imgqa serve: receive {N_IMAGES} CT 256² images, "
                        f"{n_assoc} association(s)",
                "imgqa_s": ours, "reference_s": bare, "ratio": ours / bare,
                "images_per_s": N_IMAGES / ours, "reference_images_per_s": N_IMAGES / bare,
                "notes": f"imgqa serve {N_IMAGES / ours:.0f} images/s (checked, fsynced) vs "
                         f"bare pynetdicom SCP {N_IMAGES / bare:.0f} images/s",
            })
    if ACR.is_dir():
        files = sorted(ACR.glob("*.dcm"))
        acr = [pydicom.dcmread(f) for f in files]
        first, warm = _latency(acr, br)
        analysis, save = _breakdown(files)
        rows.append({
            "name": f"imgqa serve: ACR MRI 11 slices, last image -> session in the database "
                    f"(--quiet {QUIET_S:g})",
            "imgqa_s": statistics.median(warm), "reference_s": None, "ratio": None,
            "first_after_start_s": first, "quiet_s": QUIET_S, "analysis_s": analysis,
            "save_s": save,
            "notes": f"target < 2 s; median of {len(warm)} (first after start {first:.2f} s); "
                     f"breakdown: quiet {QUIET_S:g} s + analysis {analysis:.2f} s + save "
                     f"{save:.3f} s (warm, in-process) + loop/poll",
        })
    return rows


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['imgqa_s']:.3f} s"
              + (f" | reference {row['reference_s']:.3f} s | ratio {row['ratio']:.2f}"
                 if row["reference_s"] else ""))
        print("   ", row["notes"])
