"""ACR slice position accuracy from the crossed wedges at 12 o'clock (slices 1 and 11).

The two dark bars under the top of the phantom end where the slice cuts a pair of opposed
45° wedges, so a slice displaced by d along the axis makes one bar longer and the other shorter:
their length difference is 2·d. The ACR guidance reports the difference itself (limit ±5 mm).

Here each bar's end is where its column profile (mean over the bar's inner columns) climbs back
through half the water signal, with linear interpolation; both bars start at the same phantom
wall, so the difference of their end rows is the bar length difference.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 4 (slice position accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SlicePositionResult", "slice_position"]


@dataclass(frozen=True, slots=True)
class SlicePositionResult:
    """Bar length difference (right − left, mm; positive when the right bar is longer)."""

    bar_difference_mm: float
    left_end_row: float
    right_end_row: float
    left_cols: tuple[int, int]
    right_cols: tuple[int, int]
    top_row: float


def _run_around(mask: np.ndarray, k: int) -> tuple[int, int] | None:
    """The contiguous run of True in 1-D `mask` containing, or nearest to, index k."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return None
    k = int(idx[np.argmin(np.abs(idx - k))])
    lo = k
    while lo > 0 and mask[lo - 1]:
        lo -= 1
    hi = k
    while hi < mask.size - 1 and mask[hi + 1]:
        hi += 1
    return lo, hi


def _bar_end(profile: np.ndarray, start: int, level: float) -> float | None:
    """Fractional index of the first upward crossing of `level` at or after `start`."""
    above = np.flatnonzero(profile[start:] >= level)
    if above.size == 0:
        return None
    j = start + int(above[0])
    if j == 0:
        return None
    return (j - 1) + (level - profile[j - 1]) / (profile[j] - profile[j - 1])


def slice_position(image: np.ndarray, centre_rc: tuple[float, float],
                   spacing_mm: tuple[float, float], radius_mm: float, water_signal: float
                   ) -> SlicePositionResult:
    """Bar length difference of the slice-position wedges.

    Parameters
    ----------
    image : (M, N) ndarray
        Slice 1 or 11 in the phantom frame.
    centre_rc, spacing_mm, radius_mm, water_signal
        From `localisation.find_phantom`.

    Raises
    ------
    ValueError
        The wedge bars were not found.
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    cr, cc = centre_rc
    top = cr - radius_mm / sr
    half = 0.5 * water_signal
    c0 = max(int(cc - 20 / sc), 0)
    c1 = min(int(cc + 20 / sc) + 1, img.shape[1])
    r0 = max(int(top + 4 / sr), 0)
    r1 = int(top + 14 / sr) + 1
    if r1 <= r0:
        raise ValueError("the wedge region is outside the image")
    col_prof = img[r0:r1, c0:c1].mean(axis=0)
    run = _run_around(col_prof < half, round(cc) - c0)
    if run is None:
        raise ValueError("the slice-position wedges were not found at 12 o'clock")
    width_mm = (run[1] - run[0] + 1) * sc
    if not 5.0 <= width_mm <= 25.0:
        raise ValueError(f"the dark block at 12 o'clock is {width_mm:.0f} mm wide, not a wedge "
                         "pair")
    lo, hi = c0 + run[0], c0 + run[1]
    mid = 0.5 * (lo + hi)
    q = 0.25 * (hi - lo + 1) / 2.0             # keep the inner half of each bar's width
    left = (int(np.ceil(lo + q)), int(np.floor(mid - q)))
    right = (int(np.ceil(mid + q)), int(np.floor(hi - q)))
    if left[1] < left[0] or right[1] < right[0]:
        left = (lo, int(np.floor(mid)))
        right = (int(np.ceil(mid)), hi)
    ra = max(int(top), 0)
    rb = min(int(top + 60 / sr), img.shape[0] - 1)
    start = int(top + 6 / sr) - ra
    ends = []
    for a, b in (left, right):
        prof = img[ra:rb, a:b + 1].mean(axis=1)
        e = _bar_end(prof, max(start, 1), half)
        if e is None:
            raise ValueError("a slice-position bar does not end inside the phantom")
        ends.append(ra + e)
    diff = (ends[1] - ends[0]) * sr
    return SlicePositionResult(float(diff), float(ends[0]), float(ends[1]), left, right,
                               float(top))
