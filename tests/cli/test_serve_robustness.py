"""Issue 12's robustness done-when items for ``imgqa serve``, each against a real process on a
loopback port with a fresh SQLite database:

* a malformed dataset is refused and quarantined with its reason, and the service goes on;
  SIGTERM then saves what was acknowledged (inside its quiet period) and exits 0;
* 500 images in a burst from two associations at once are all stored and analysed exactly
  once (every series' images are split between the two associations, sent concurrently);
* SIGKILL mid-series, restart on the same inbox and database, send the rest and everything
  again: no acknowledged image is lost, exactly one session, no half-saved one.

The tests wait for printed lines or process exits (events), never for a time.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from pynetdicom import AE

import imgqa
from imgqa.cli.main import main
from imgqa.io.receiver import QUARANTINE
from imgqa.phantoms.ct import water_phantom
from imgqa.phantoms.writer import write_series
from imgqa.service.recovery import unhandled_files
from imgqa.store import open_store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals are POSIX")

SRC = Path(imgqa.__file__).resolve().parents[1]
LINE = r"^(saved|failed|waiting|duplicate): .*"


def _send(port: int, datasets, calling: str = "SCANNER",
          on_ack: Callable[[int, int], None] | None = None) -> list[int] | None:
    """C-STORE each dataset in one association; statuses (None if not established).
    A send that fails (the service died) ends the list early."""
    ae = AE(ae_title=calling)
    for uid in {str(ds.SOPClassUID) for ds in datasets}:
        ae.add_requested_context(uid)
    assoc = ae.associate("127.0.0.1", port, ae_title="IMGQA")
    if not assoc.is_established:
        return None
    statuses: list[int] = []
    try:
        for i, ds in enumerate(datasets):
            try:
                status = assoc.send_c_store(ds)
            except RuntimeError:  # pynetdicom already saw the peer go: "must be established"
                break
            if "Status" not in status:  # no answer: the association is gone
                break
            statuses.append(int(status.Status))
            if on_ack is not None:
                on_ack(i, statuses[-1])
    finally:
        if assoc.is_established:
            assoc.release()
    return statuses


def _read_until(stream, pattern: str, seen: list[str]) -> re.Match[str]:
    for line in stream:
        seen.append(line)
        m = re.search(pattern, line)
        if m:
            return m
    raise AssertionError(f"imgqa serve ended without printing {pattern!r}: {''.join(seen)}")


def _start(db: str, inbox: Path, quiet: float) -> tuple[subprocess.Popen, int, list[str]]:
    env = dict(os.environ, PYTHONPATH=str(SRC))
    proc = subprocess.Popen(
        [sys.executable, "-m", "imgqa.cli.main", "--db", db, "serve", "--port", "0",
         "--inbox", str(inbox), "--allow-ae", "SCANNER", "--quiet", str(quiet)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    timer = threading.Timer(240, proc.kill)  # a regression fails instead of hanging
    timer.daemon = True
    timer.start()
    seen: list[str] = []
    return proc, int(_read_until(proc.stdout, r"port (\d+)", seen).group(1)), seen


def _stop(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    return out, err


def _rule(db: str, protocol: str, description: str) -> None:
    assert main(["--db", db, "rule", "add", "--protocol", protocol, "--create-equipment",
                 "--description", description, "--reason", "robustness test"]) == 0


def _water_series(folder: Path, n_slices: int, seed: int = 3) -> list[pydicom.Dataset]:
    """A small CT water phantom series (64², 3.6 mm pixels): ct.water analyses it fast."""
    images, _ = water_phantom(size=64, pixel_mm=3.6, noise_sd=5.0, n_slices=n_slices,
                              seed=seed)
    files = write_series(images, folder, modality="CT", description="water burst",
                         pixel_spacing_mm=3.6, slice_thickness_mm=5.0,
                         rescale_intercept=-1024.0)
    return [pydicom.dcmread(f) for f in files]


def _re_uid(template: list[pydicom.Dataset]) -> list[pydicom.Dataset]:
    """A copy of a series under new Series and SOP Instance UIDs: a new series to the service
    and to the store's duplicate check."""
    series_uid = generate_uid()
    out = []
    for ds in template:
        c = copy.deepcopy(ds)
        c.SeriesInstanceUID = series_uid
        c.SOPInstanceUID = c.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        out.append(c)
    return out


def _inbox_images(inbox: Path) -> list[Path]:
    return [p for p in inbox.rglob("*.dcm")
            if QUARANTINE not in p.relative_to(inbox).parts and not p.name.startswith(".")]


def test_malformed_dataset_is_quarantined_and_sigterm_saves_what_was_acknowledged(tmp_path):
    db = str(tmp_path / "qc.sqlite3")
    _rule(db, "ct.water", "water burst")
    good = _water_series(tmp_path / "ct", 3)
    truncated = copy.deepcopy(good[0])
    truncated.SOPInstanceUID = truncated.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    truncated.PixelData = truncated.PixelData[:-512]    # header says 64×64, bytes are fewer
    no_series = copy.deepcopy(good[1])
    no_series.SOPInstanceUID = no_series.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    del no_series.SeriesInstanceUID
    inbox = tmp_path / "inbox"
    # a quiet period far longer than the test: only the stop can complete the series
    proc, port, seen = _start(db, inbox, quiet=600)
    try:
        statuses = _send(port, [truncated, no_series] + good)
        assert statuses is not None and statuses[2:] == [0, 0, 0]
        assert statuses[0] == 0xC000 and statuses[1] == 0xA900, statuses
        assert proc.poll() is None                       # still serving
        assert _send(port, good) == [0, 0, 0]            # a new association works too
        out, err = _stop(proc)
    finally:
        proc.kill()
    assert "Stopped: 1 saved, 0 duplicate, 0 waiting, 0 failed." in out, out + err
    reasons = sorted(p.read_text() for p in (inbox / QUARANTINE).glob("*.txt"))
    assert len(reasons) == 2 and len(list((inbox / QUARANTINE).glob("*.dcm"))) == 2
    assert "has no SeriesInstanceUID" in reasons[0] + reasons[1]
    assert "bytes shorter than" in reasons[0] + reasons[1]
    assert len(_inbox_images(inbox)) == 3
    with open_store(db) as store:
        [sess] = store.sessions()
        assert {u for u, _ in store.session_inputs(sess.id)} <= {
            str(ds.SOPInstanceUID) for ds in good}


def test_burst_of_500_images_from_two_associations_is_stored_and_analysed_once(tmp_path):
    n_series, per_series = 50, 10
    db = str(tmp_path / "qc.sqlite3")
    _rule(db, "ct.water", "water burst")
    template = _water_series(tmp_path / "ct", per_series)
    series = [_re_uid(template) for _ in range(n_series)]
    # each series is split between the two associations, which run at the same time
    streams = [[ds for s in series for ds in s[k::2]] for k in range(2)]
    inbox = tmp_path / "inbox"
    proc, port, seen = _start(db, inbox, quiet=2)
    results: list[list[int] | None] = [None, None]

    def send(k: int) -> None:
        results[k] = _send(port, streams[k])

    try:
        threads = [threading.Thread(target=send, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results[0] == [0] * 250 and results[1] == [0] * 250
        lines = [_read_until(proc.stdout, LINE, seen).group(0) for _ in range(n_series)]
        out, err = _stop(proc)
    finally:
        proc.kill()
    assert all(x.startswith("saved:") for x in lines), lines
    assert f"Stopped: {n_series} saved, 0 duplicate, 0 waiting, 0 failed." in out, out + err
    sent = {str(ds.SOPInstanceUID) for s in series for ds in s}
    stored = _inbox_images(inbox)
    assert len(stored) == 500 and {p.stem for p in stored} == sent   # each instance once
    with open_store(db) as store:
        sessions = store.sessions()
        assert len(sessions) == n_series
        inputs = [{u for u, _ in store.session_inputs(s.id)} for s in sessions]
    # every session holds images of exactly one series, and no series was saved twice
    owner = {str(ds.SOPInstanceUID): i for i, s in enumerate(series) for ds in s}
    per_session = [{owner[u] for u in x} for x in inputs]
    assert all(len(x) == 1 for x in per_session), per_session
    assert sorted(next(iter(x)) for x in per_session) == list(range(n_series))


def test_sigkill_mid_series_then_restart_loses_nothing_and_saves_once(tmp_path, shared_data):
    acr = [pydicom.dcmread(f) for f in sorted((shared_data / "mr/acr/hazen_Siemens")
                                              .glob("*.dcm"))]
    assert len(acr) == 11
    db = str(tmp_path / "qc.sqlite3")
    _rule(db, "mr.acr", "^ACR_T1")
    inbox = tmp_path / "inbox"
    proc, port, seen = _start(db, inbox, quiet=600)
    acked: list[str] = []
    killed = threading.Event()

    def on_ack(i: int, status: int) -> None:
        if status == 0:
            acked.append(str(acr[i].SOPInstanceUID))
        if len(acked) == 6 and not killed.is_set():  # mid-series, the association still open
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            killed.set()

    try:
        statuses = _send(port, acr, on_ack=on_ack)
        assert killed.is_set() and statuses is not None and len(statuses) < 11
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert len(acked) >= 6
    # no acknowledged image lost: each is in the inbox, complete and readable
    by_uid = {p.stem: p for p in _inbox_images(inbox)}
    for uid in acked:
        ds = pydicom.dcmread(by_uid[uid])
        assert ds.pixel_array.shape == (256, 256) and str(ds.SOPInstanceUID) == uid
    with open_store(db) as store:
        assert store.sessions() == []                     # nothing half-saved

    # Restarted on the same inbox and database: the acknowledged images are re-collected
    # from the inbox (the scanner will not send them again), so sending only the rest
    # completes the series with all 11 images. (A long quiet period, so a slow machine
    # cannot complete the series before the rest arrives; SIGTERM completes it.)
    proc, port, seen = _start(db, inbox, quiet=600)
    try:
        assert any(f"Re-collected {len(by_uid)} image(s) of 1 series" in x for x in seen), seen
        rest = [ds for ds in acr if str(ds.SOPInstanceUID) not in acked]
        assert _send(port, rest) == [0] * len(rest)
        assert _send(port, acr) == [0] * 11               # everything again: nothing new
        out, err = _stop(proc)
    finally:
        proc.kill()
    assert "saved: 'ACR_T1" in out, out + err
    assert "Stopped: 1 saved, 0 duplicate, 0 waiting, 0 failed." in out, out + err
    with open_store(db) as store:
        [sess] = store.sessions()
        assert {u for u, _ in store.session_inputs(sess.id)} == {
            str(ds.SOPInstanceUID) for ds in acr}
    # the next start finds every image handled: nothing to re-collect
    assert unhandled_files(inbox) == []


def test_sigkill_while_series_are_analysed_and_saved_still_gives_one_session_each(tmp_path):
    """Killed at an arbitrary moment of the analysis/save loop (between series, during an
    analysis, a save, or between a commit and its handled marker), then restarted: every
    series ends up saved exactly once."""
    n_series = 8
    db = str(tmp_path / "qc.sqlite3")
    _rule(db, "ct.water", "water burst")
    template = _water_series(tmp_path / "ct", 4)
    series = [_re_uid(template) for _ in range(n_series)]
    inbox = tmp_path / "inbox"
    # 1. everything acknowledged, nothing analysed yet: killed
    proc, port, seen = _start(db, inbox, quiet=600)
    try:
        assert _send(port, [ds for s in series for ds in s]) == [0] * (4 * n_series)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    # 2. restarted: the re-collected series are handled one by one; killed after the third
    proc, port, seen = _start(db, inbox, quiet=0.2)
    try:
        assert any(f"Re-collected {4 * n_series} image(s) of {n_series} series" in x
                   for x in seen), seen
        for _ in range(3):
            assert _read_until(proc.stdout, LINE, seen).group(1) == "saved"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        proc.kill()
    with open_store(db) as store:
        assert len(store.sessions()) >= 3  # (< n_series unless the kill came late)
    # 3. restarted and stopped at once: what is left is handled before the exit
    proc, port, seen = _start(db, inbox, quiet=600)
    try:
        out, err = _stop(proc)
    finally:
        proc.kill()
    assert re.search(r"Stopped: \d+ saved, [01] duplicate, 0 waiting, 0 failed\.", out), out
    owner = {str(ds.SOPInstanceUID): i for i, s in enumerate(series) for ds in s}
    with open_store(db) as store:
        sessions = store.sessions()
        per_session = [{owner[u] for u, _ in store.session_inputs(s.id)} for s in sessions]
    assert sorted(x for p in per_session for x in p) == list(range(n_series)), per_session
    assert unhandled_files(inbox) == []
