"""Helpers shared by the subcommands: output formatting and parameter parsing."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Sequence

from imgqa.errors import ParameterError


def parse_params(items: Sequence[str] | None) -> dict[str, str]:
    """``["a=1", "b=x"]`` → ``{"a": "1", "b": "x"}``; values are coerced by the protocol."""
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--param expects KEY=VALUE, got {item!r}.")
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


def fmt_value(value: float | None) -> str:
    if value is None:
        return "—"
    a = abs(value)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{value:.4g}"
    return f"{value:.4g}" if a >= 100 else f"{value:.3f}".rstrip("0").rstrip(".")
