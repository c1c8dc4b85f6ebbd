"""ACR large MRI phantom: superior–inferior length on the sagittal localiser (148 mm).

ACR Large Phantom Test Guidance (2018), geometric accuracy: the phantom's head-to-foot length
is measured on the sagittal localiser, true value 148 mm (pass within ±3 mm). Method: the
phantom is the connected region above a quarter of its typical signal (B1 shading can halve
one end); along each image column within ±``band_mm`` of the phantom's centre (skipping the
central ±5 mm, where the slice-thickness insert's support bar runs), each end is the crossing
of the local half level — halfway between the water 4–12 mm inside and the air 4–12 mm
outside — interpolated linearly to sub-pixel, and the length is their distance; the
reported length is the median over those columns (internal dark inserts do not matter, only
the two ends of the water volume). Lengths are along the image rows' direction, which the
caller checks is superior–inferior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["SagittalLength", "sagittal_length"]


@dataclass(frozen=True)
class SagittalLength:
    """Length (mm), the per-column lengths, the columns used and the end rows (median)."""

    length_mm: float
    lengths_mm: np.ndarray
    columns: np.ndarray
    top_row: float
    bottom_row: float
    level: float


def _crossing(profile: np.ndarray, level: float, from_end: bool) -> float | None:
    above = np.flatnonzero(profile >= level)
    if above.size == 0:
        return None
    if not from_end:
        i = int(above[0])
        if i == 0:
            return None
        a, b = profile[i - 1], profile[i]
        return (i - 1) + (level - a) / (b - a)
    i = int(above[-1])
    if i == profile.size - 1:
        return None
    a, b = profile[i], profile[i + 1]
    return i + (a - level) / (a - b)


def sagittal_length(image: np.ndarray, pixel_mm: tuple[float, float], *,
                    band_mm: float = 30.0, gap_mm: float = 5.0) -> SagittalLength:
    """Head-to-foot length (mm) of the phantom along the image columns.

    Parameters
    ----------
    image : 2-D array
        Sagittal localiser, superior–inferior along the rows' axis (axis 0).
    pixel_mm : (row, col) spacing in mm.
    band_mm : float
        Columns within this distance of the phantom centre are measured.
    gap_mm : float
        Columns this close to the centre are skipped (insert support bar).
    """
    img = np.asarray(image, float)
    from skimage.filters import threshold_otsu

    obj = img > float(threshold_otsu(img))
    lab, n = ndimage.label(obj)
    if n == 0:
        raise ValueError("no phantom signal")
    big = lab == 1 + int(np.argmax(np.bincount(lab.ravel())[1:]))
    vals = img[big]
    level = 0.5 * float(np.median(vals[vals >= np.median(vals)]))
    rows, cols = np.nonzero(big)
    cc = 0.5 * (cols.min() + cols.max())
    dc = np.arange(img.shape[1]) - cc
    use = (np.abs(dc) * pixel_mm[1] <= band_mm) & (np.abs(dc) * pixel_mm[1] >= gap_mm)
    columns = np.flatnonzero(use)
    # the object at a quarter of the signal (B1 shading can halve one end's signal)
    low = img > 0.25 * level
    lab, _ = ndimage.label(low)
    body = lab == 1 + int(np.argmax(np.bincount(lab.ravel())[1:]))
    inside, outside = (int(round(a / pixel_mm[0])) for a in (12.0, 4.0))
    lengths, tops, bottoms = [], [], []
    for c in columns:
        prof = img[:, c]
        on = np.flatnonzero(body[:, c])
        if on.size == 0:
            continue
        ends = []
        for edge, step in ((int(on[0]), 1), (int(on[-1]), -1)):
            # local half level: between the water just inside and the air just outside
            lo, hi = sorted((edge + step * outside, edge + step * inside))
            plateau = np.median(prof[max(lo, 0):hi + 1])
            lo, hi = sorted((edge - step * outside, edge - step * inside))
            air = np.median(prof[max(lo, 0):max(hi + 1, 1)])
            half = 0.5 * (plateau + air)
            seg = prof[max(edge - inside, 0):edge + inside + 1]
            off = max(edge - inside, 0)
            x = _crossing(seg, half, step < 0)
            ends.append(None if x is None else x + off)
        if ends[0] is None or ends[1] is None:
            continue
        lengths.append((ends[1] - ends[0]) * pixel_mm[0])
        tops.append(ends[0])
        bottoms.append(ends[1])
    if len(lengths) < 3:
        raise ValueError("the phantom's ends were not found in the central columns")
    arr = np.asarray(lengths)
    return SagittalLength(float(np.median(arr)), arr, columns[:len(arr)],
                          float(np.median(tops)), float(np.median(bottoms)), level)
