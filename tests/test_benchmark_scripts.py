"""`make bench` (benchmarks/run_all.py) imports every benchmarks/bench_*.py and calls its
``run()`` for the rows: a script without one fails the whole run. Checked here by reading the
scripts (nothing is timed or run in tests)."""

from __future__ import annotations

import ast
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_every_benchmark_script_gives_run_all_its_rows():
    scripts = sorted(BENCHMARKS.glob("bench_*.py"))
    assert len(scripts) > 10
    missing = [p.name for p in scripts
               if not any(isinstance(n, ast.FunctionDef) and n.name == "run"
                          for n in ast.parse(p.read_text(encoding="utf-8")).body)]
    assert not missing, f"no run() for benchmarks/run_all.py in {missing}"
