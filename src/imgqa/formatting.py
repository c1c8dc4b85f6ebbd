"""How numbers are shown to people (CLI tables, the GUI, reports): one rule everywhere."""

from __future__ import annotations

__all__ = ["format_value"]


def format_value(value: float | None) -> str:
    """Four significant figures, at most three decimals, "—" for no value.

    Examples
    --------
    >>> format_value(2.50), format_value(1234.5), format_value(None), format_value(1e-5)
    ('2.5', '1234', '—', '1e-05')
    """
    if value is None:
        return "—"
    a = abs(value)
    if a != 0 and (a >= 1e5 or a < 1e-3):
        return f"{value:.4g}"
    return f"{value:.4g}" if a >= 100 else f"{value:.3f}".rstrip("0").rstrip(".")
