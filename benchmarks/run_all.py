"""Run every benchmark (benchmarks/bench_*.py) in one go and print one table per area.

Each bench module exposes ``run() -> list[dict]`` with keys ``name``, ``imgqa_s``,
``reference_s``, ``ratio`` and ``notes``. Reference tools (pylinac, hazen) run in their own
environment, .venv-ref (see requirements-reference.txt), which the Makefile creates.
Results are also written to benchmarks/results/latest.json for docs/validation.md.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _fmt(v):
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    only = set(argv or sys.argv[1:])
    all_rows: dict[str, list[dict]] = {}
    failed = False
    for path in sorted(HERE.glob("bench_*.py")):
        area = path.stem.removeprefix("bench_")
        if only and area not in only:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        t0 = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            rows = module.run()
        except Exception:
            traceback.print_exc()
            failed = True
            continue
        all_rows[area] = rows
        print(f"\n== {area} ({time.perf_counter() - t0:.1f} s) ==")
        keys = ["name", "imgqa_s", "reference_s", "ratio", "cpu_ratio", "notes"]
        for r in rows:
            print("  " + " | ".join(f"{k}={_fmt(r.get(k))}" for k in keys if k in r))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(all_rows, indent=2, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
