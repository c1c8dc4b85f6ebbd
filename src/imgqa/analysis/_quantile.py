"""Percentiles as NumPy computes them, from one partition (a hot spot of several kernels)."""

from __future__ import annotations

import numpy as np

__all__ = ["median", "percentile"]


def percentile(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear method, scalar q) from one single-pivot partition.

    NumPy partitions at four pivots (both neighbours and both ends); the two neighbours are the
    pivot and the largest value before it, and the interpolation below is NumPy's (``_lerp``,
    in the array's dtype), so the result is the same number (tested against NumPy). Arrays
    holding NaN go to NumPy.
    """
    flat = np.asarray(values).ravel()
    n = flat.size
    vi = (n - 1) * (q / 100.0)
    lo = int(np.floor(vi))
    hi = min(lo + 1, n - 1)
    part = np.partition(flat, hi)
    if np.isnan(part[hi:]).any():
        return float(np.percentile(values, q))
    b = part[hi]
    a = part[:hi].max() if hi > lo else b
    t = vi - lo
    d = b - a
    return float(b - d * (1 - t) if t >= 0.5 else a + d * t)


def median(values: np.ndarray) -> float:
    """``np.median(values)`` from one single-pivot partition (NumPy partitions at both middle
    ranks, ≈ 4 × slower on 40 000 pixels).

    For an even count the two middle values are averaged as NumPy's ``mean`` does, in the
    array's dtype (their sum rounded to it, then halved), so the result is the same number
    (tested against NumPy). Arrays holding NaN go to NumPy.
    """
    flat = np.asarray(values).ravel()
    n = flat.size
    if n == 0 or flat.dtype.kind not in "fiu":
        return float(np.median(values))
    half = n // 2
    part = np.partition(flat, half)
    b = part[half]
    if flat.dtype.kind == "f" and np.isnan(part[half:]).any():   # NaN sorts last
        return float(np.median(values))
    if n % 2:
        return float(b)
    a = part[:half].max()
    if flat.dtype.kind in "iu":                  # NumPy's mean of integers is in float64
        return float((np.float64(a) + np.float64(b)) / 2)
    return float((a + b) / 2)                    # in the array's float dtype, as np.mean
