"""Per-file CPU cost of `imgqa.load` against a bare ``pydicom.dcmread`` (issue 17).

The single-image protocols compared with their peers (docs/validation.md, "Peers never timed
before") spend most of their time reading the file, so this times the read alone, in process CPU
time (steadier than wall time on the shared machine), on the peer sets:

* ``siemens`` / ``ge`` / ``philips`` — one file of each hazen SNR pair (mr/snr_pairs);
* ``magnet_slice_position`` — the 60-file MagNET slice-position series (mr/magnet_hazen);
* ``t2_site1`` — the 32-echo relaxometry T2 series; ``t1_site1`` — the six T1 files;
* ``quadrant_bar`` — nmqc/QuadrantBar.dcm (512², NM).

Columns: ``imgqa.load`` (header, validation, grouping, geometry; no pixels), the same plus
decoding every image in physical units, and ``pydicom.dcmread(stop_before_pixels=True)`` of the
same files (the parse alone), in ms per file; medians of ``rounds`` × ``repeats``.

Run: ``PYTHONPATH=src python benchmarks/bench_header.py [repeats] [rounds]``. With
``--before DIR`` (a checkout's ``src`` folder, e.g. from ``git archive <commit> src``) the old and
the new code are timed in alternating subprocesses, so the machine's load weighs on both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
if not SHARED.exists():
    SHARED = Path("/work/shared/data")

SETS = {
    "siemens": "mr/snr_pairs/hazen_Siemens/tra_250_2meas_1.IMA",
    "ge": "mr/snr_pairs/hazen_GE/IM-0003-0001.dcm",
    "philips": "mr/snr_pairs/hazen_Philips/Philips_IM-0011-0005.dcm",
    "magnet_slice_position": "mr/magnet_hazen/SLICEPOSITION",
    "t2_site1": "mr/relaxometry_hazen/T2/site1_20200218/plate4",
    "t1_site1": "mr/relaxometry_hazen/T1/site1_20200218/plate5",
    "quadrant_bar": "nm/nmqc/QuadrantBar.dcm",
}


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                  and not p.name.upper().startswith("LICENSE"))


def _cpu(fn, repeats: int) -> float:
    fn()  # warm-up: imports, page cache
    times = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def measure(repeats: int) -> dict[str, dict[str, float]]:
    """ms per file of each set: load, load + pixels, bare dcmread."""
    import pydicom

    import imgqa

    out: dict[str, dict[str, float]] = {}
    for name, rel in SETS.items():
        path = SHARED / rel
        if not path.exists():
            continue
        files = _files(path)

        def load(path=path) -> None:
            imgqa.load(path)

        def load_pixels(path=path) -> None:
            for s in imgqa.load(path):
                for i in range(len(s)):
                    s.pixels(i)

        def bare(files=files) -> None:
            for f in files:
                pydicom.dcmread(f, stop_before_pixels=True)

        n = len(files)
        out[name] = {"files": n, "load_ms": _cpu(load, repeats) / n * 1e3,
                     "load_pixels_ms": _cpu(load_pixels, repeats) / n * 1e3,
                     "dcmread_ms": _cpu(bare, repeats) / n * 1e3}
    return out


def _subprocess(src: Path, repeats: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, __file__, "--json", str(repeats)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(repeats: int = 15) -> list[dict]:
    """The rows for `make bench` (benchmarks/run_all.py): per set, `imgqa.load` against a bare
    ``dcmread`` in CPU ms per file (ratio = imgqa / pydicom), in a fresh process."""
    rows = []
    for name, m in _subprocess(ROOT / "src", repeats).items():
        rows.append({"name": f"header read per file: {name} ({m['files']} files)",
                     "imgqa_s": m["load_ms"] / 1e3, "reference_s": m["dcmread_ms"] / 1e3,
                     "ratio": m["load_ms"] / m["dcmread_ms"] if m["dcmread_ms"] else None,
                     "notes": f"process CPU per file; with decoding "
                              f"{m['load_pixels_ms']:.2f} ms; reference pydicom.dcmread"})
    return rows


def main(argv: list[str]) -> None:
    if argv[:1] == ["--json"]:
        print(json.dumps(measure(int(argv[1]))))
        return
    before = None
    if "--before" in argv:
        i = argv.index("--before")
        before = Path(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    repeats = int(argv[0]) if argv else 15
    rounds = int(argv[1]) if len(argv) > 1 else 3
    versions = {"after": ROOT / "src"} | ({"before": before} if before else {})
    runs: dict[str, list[dict]] = {v: [] for v in versions}
    load0 = os.getloadavg()[0]
    for _ in range(rounds):
        for label, src in versions.items():
            runs[label].append(_subprocess(src, repeats))
    load1 = os.getloadavg()[0]
    print(f"median of {rounds} rounds x {repeats}, process CPU, ms per file; "
          f"load average {load0:.1f} -> {load1:.1f}")
    for name in runs["after"][0]:
        row = [f"{name:22s} files={runs['after'][0][name]['files']:3d}"]
        for label in versions:
            med = {k: statistics.median(r[name][k] for r in runs[label])
                   for k in ("load_ms", "load_pixels_ms", "dcmread_ms")}
            row.append(f"{label}: load {med['load_ms']:5.2f} +pixels {med['load_pixels_ms']:5.2f} "
                       f"dcmread {med['dcmread_ms']:5.2f}")
        print("  ".join(row))


if __name__ == "__main__":
    main(sys.argv[1:])
