"""Store benchmark: 10 years of daily QC (3 650 sessions × 20 measurements) saved one session
at a time through `Store.save_session`, then one measurement's trend queried.

Target: < 50 ms per trend query on SQLite. Run: ``.venv/bin/python benchmarks/bench_store.py``
(set ``IMGQA_BENCH_PG=postgresql://...`` to also run against an empty PostgreSQL database).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from imgqa.protocols.base import InputIdentity, Measurement, Result
from imgqa.store import open_store

DAYS = 3650
N_MEAS = 20
PROTOCOL = "bench.daily"  # results are stored as given; the name only labels them
TREND_TARGET_S = 0.050


def _results(rng: np.random.Generator, day: int) -> list[Result]:
    values = 100.0 + rng.normal(0, 1, N_MEAS)
    return [Result(protocol=PROTOCOL, protocol_version="1", parameters={},
                   series={"modality": "CT"},
                   measurements=tuple(Measurement(f"m{i:02d}", float(v), "HU")
                                      for i, v in enumerate(values)),
                   inputs=(InputIdentity(f"1.2.826.0.1.{day}", f"{day:064x}"),))]


def _bench(url: str, label: str) -> list[dict]:
    store = open_store(url)
    eq = store.add_equipment("bench CT", modality="CT", serial="BENCH-1")
    rng = np.random.default_rng(0)
    t0 = datetime(2015, 1, 1, 8, tzinfo=UTC)
    start = time.perf_counter()
    for d in range(DAYS):
        store.save_session(eq.id, _results(rng, d), performed_at=t0 + timedelta(days=d))
    insert_s = time.perf_counter() - start
    times = []
    for i in range(15):
        q0 = time.perf_counter()
        tr = store.trend(eq.id, PROTOCOL, f"m{i % N_MEAS:02d}")
        times.append(time.perf_counter() - q0)
        assert len(tr.points) == DAYS
    sessions_q0 = time.perf_counter()
    n_sessions = len(store.sessions(eq.id, since=t0 + timedelta(days=DAYS - 30)))
    sessions_s = time.perf_counter() - sessions_q0
    verify0 = time.perf_counter()
    ok, _ = store.audit_verify()
    verify_s = time.perf_counter() - verify0
    store.close()
    trend_s = statistics.median(times)
    return [
        {"name": f"{label}: save {DAYS} sessions × {N_MEAS}", "imgqa_s": insert_s,
         "reference_s": None, "ratio": None,
         "notes": f"{1000 * insert_s / DAYS:.1f} ms per session"},
        {"name": f"{label}: trend of one measurement ({DAYS} points)", "imgqa_s": trend_s,
         "reference_s": TREND_TARGET_S, "ratio": trend_s / TREND_TARGET_S,
         "notes": f"median of 15; target < {TREND_TARGET_S * 1000:.0f} ms; "
                  f"{'met' if trend_s < TREND_TARGET_S else 'NOT met'}"},
        {"name": f"{label}: last 30 days of sessions", "imgqa_s": sessions_s,
         "reference_s": None, "ratio": None, "notes": f"{n_sessions} sessions"},
        {"name": f"{label}: audit verify (whole database)", "imgqa_s": verify_s,
         "reference_s": None, "ratio": None, "notes": "chain intact" if ok else "BROKEN"},
    ]


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = _bench(str(Path(tmp) / "bench.sqlite3"), "SQLite")
    pg = os.environ.get("IMGQA_BENCH_PG")
    if pg:
        out += _bench(pg, "PostgreSQL")
    return out


if __name__ == "__main__":
    rows = run()
    w = max(len(r["name"]) for r in rows)
    print(f"{'benchmark':<{w}}  {'imgqa s':>9}  {'target s':>9}  {'ratio':>6}  notes")
    for r in rows:
        ref = "" if r["reference_s"] is None else f"{r['reference_s']:.3f}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}"
        print(f"{r['name']:<{w}}  {r['imgqa_s']:>9.3f}  {ref:>9}  {ratio:>6}  {r['notes']}")
    sys.exit(0)
