"""Helpers shared by the subcommands: output formatting and parameter parsing."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from imgqa.errors import UsageError
from imgqa.formatting import format_value as fmt_value  # noqa: F401 - re-exported for the subcommands


def parse_params(items: Sequence[str] | None) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; values are coerced by the protocol."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param expects KEY=VALUE, got {item!r}.")
        out[key.strip()] = value.strip()
    return out


def print_json(obj: Any) -> None:
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False, allow_nan=False)
    sys.stdout.write("\n")


def table(rows: Iterable[Sequence[Any]], headers: Sequence[str]) -> str:
    """A plain fixed-width text table."""
    rows = [["" if v is None else str(v) for v in r] for r in rows]
    widths = [len(h) for h in headers]
    for r in rows:
        widths = [max(w, len(v)) for w, v in zip(widths, r)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in rows]
    return "\n".join(out)


class StopFlag:
    """"Stop" set from a signal handler (SIGTERM, Ctrl-C) and waited for by a command's loop.

    Not a `threading.Event`: its ``set`` takes the lock that its ``wait`` holds while it
    begins to wait, so a signal arriving at that instant, whose handler runs in the same
    (main) thread, waited for ever (seen: `imgqa serve` hung on SIGTERM). Here ``set`` is one
    assignment, which a handler may do at any point, and ``wait`` sleeps in short steps (a
    signal interrupts the sleep; the flag is seen within 0.05 s).
    """

    _STEP_S = 0.05

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """Sleep until set or ``timeout`` seconds have passed; True if set."""
        import time

        end = time.monotonic() + max(0.0, timeout)
        while not self._set:
            left = end - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, self._STEP_S))
        return True
