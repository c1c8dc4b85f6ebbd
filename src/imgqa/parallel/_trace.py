"""Timeline and garbage-collector helpers of the parallel batch (`imgqa.parallel`).

``IMGQA_TRACE_BATCH=FILE`` makes every process of a batch append one JSON line per phase or
task to FILE (`span`; benchmarks/batch_timeline.py reads it). `_GcPaused` pauses the cyclic
collector while headers are read and received; ``IMGQA_BATCH_GC=0`` leaves it alone, to measure.
"""

from __future__ import annotations

import os
from typing import Any

# Timeline for tuning (benchmarks/batch_timeline.py): with this variable naming a file, every
# process of the batch appends one JSON line per phase or task (see `span`).
TRACE_ENV = "IMGQA_TRACE_BATCH"


class _Span:
    """Times a block in wall (epoch s, comparable between processes) and this process' CPU."""

    def __init__(self, path: str, what: str, info: dict[str, Any]) -> None:
        self.path, self.what, self.info = path, what, info

    def __enter__(self) -> dict[str, Any]:
        import time

        self.t0, self.c0 = time.time(), time.process_time()
        return self.info

    def __exit__(self, *exc: object) -> None:
        import json
        import time

        rec = {"pid": os.getpid(), "what": self.what, "t0": self.t0, "t1": time.time(),
               "cpu": time.process_time() - self.c0, **self.info}
        with open(self.path, "a", encoding="utf-8") as fh:  # one short append per line
            fh.write(json.dumps(rec, default=str) + "\n")


class _NoSpan:
    def __enter__(self) -> dict[str, Any]:
        return {}

    def __exit__(self, *exc: object) -> None:
        return None


def span(what: str, **info: Any) -> _Span | _NoSpan:
    """``with span("analyse", protocol=...) as extra:`` records a timeline line (extra keys
    may be added inside) when `TRACE_ENV` names a file; otherwise costs one lookup."""
    path = os.environ.get(TRACE_ENV)
    return _Span(path, what, info) if path else _NoSpan()


def _gc_tuned() -> bool:
    """False with ``IMGQA_BATCH_GC=0``: the collector left as it is, to measure what the
    pauses and the freeze below save (benchmarks/batch_timeline.py)."""
    return os.environ.get("IMGQA_BATCH_GC", "1") != "0"


class _GcPaused:
    """The cyclic garbage collector off for a block that only builds long-lived objects.

    Reading headers (in the readers) and receiving them (in this process, the executor's
    thread unpickling every dataset while the kernels are imported) allocate hundreds of
    thousands of objects, none of them garbage; each allocation burst triggers collections
    whose oldest generation walks the whole heap again. Measured on the shared data
    (docs/validation.md): 1.4-2.4 s of collector time in the main process and 0.5-0.8 s in
    each reader, against 0.1 s for `load` in one process. Re-enabled (not collected) after;
    with ``freeze`` the objects made meanwhile are frozen first (`gc.freeze`), else the first
    allocation after it starts a full collection of them (0.17 s, measured): `load_parallel`
    does so, and `analyse_parallel`, which forks its workers from that heap, unfreezes it.
    """

    def __init__(self, freeze: bool = False) -> None:
        self.freeze = freeze

    def __enter__(self) -> None:
        import gc

        self.was = gc.isenabled() and _gc_tuned()
        if self.was:
            gc.disable()

    def __exit__(self, *exc: object) -> None:
        import gc

        if self.was:
            if self.freeze:
                gc.freeze()
            gc.enable()
