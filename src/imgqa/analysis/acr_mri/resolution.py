"""ACR high-contrast spatial resolution from the hole arrays of slice 1.

The resolution insert (dark block below the slice-thickness bar) holds three pairs of 4×4 hole
arrays with hole diameters 1.1, 1.0 and 0.9 mm (left to right), the centre-to-centre spacing
being twice the diameter. In each pair the upper-left array resolves left–right, the lower-right
array top–bottom. An array is resolved when one line of 4 holes shows 4 separate peaks.

Automation: the insert is found as the dark block under the bar; the three hole clusters are the
bright runs of its column profile (right of the two reference squares); each cluster is split
into its upper-left and lower-right array. In each array every pixel line along the tested
direction is checked for ≥ 4 peaks, each standing out of its neighbouring dips by more than
3 noise SDs (noise from the insert's dark plastic). The result is the smallest diameter
resolved, per direction; ``resolution_mm`` is the worse of the two.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 2 (high-contrast spatial resolution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import find_peaks

__all__ = ["HOLE_DIAMETERS_MM", "ResolutionResult", "hole_resolution"]

HOLE_DIAMETERS_MM = (1.1, 1.0, 0.9)


@dataclass(frozen=True, slots=True)
class ArrayCheck:
    diameter_mm: float
    direction: str            # "horizontal" (left–right) or "vertical" (top–bottom)
    box: tuple[int, int, int, int]
    resolved: bool


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    resolution_mm: float | None              # worse direction; None: even 1.1 mm unresolved
    horizontal_mm: float | None
    vertical_mm: float | None
    arrays: tuple[ArrayCheck, ...]
    insert_box: tuple[int, int, int, int]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def _line_resolved(lines: np.ndarray, pitch_px: float, noise: float) -> bool:
    """True when any line shows ≥ 4 peaks about one pitch apart, each > 3 noise SD deep."""
    for prof in lines:
        # pad with the line's minimum so that a hole at the box edge still counts as a peak
        prof = np.pad(prof, 2, constant_values=float(prof.min()))
        peaks, _ = find_peaks(prof, prominence=3.0 * noise,
                                  distance=max(1, int(0.6 * pitch_px)))
        if peaks.size >= 4:
            gaps = np.diff(peaks)
            good = (gaps > 0.6 * pitch_px) & (gaps < 1.6 * pitch_px)
            # four peaks need three consecutive good gaps
            run = best = 0
            for g in good:
                run = run + 1 if g else 0
                best = max(best, run)
            if best >= 3:
                return True
    return False


def hole_resolution(image: np.ndarray, centre_rc: tuple[float, float], bar_bottom_row: float,
                    spacing_mm: tuple[float, float], radius_mm: float, water_signal: float
                    ) -> ResolutionResult:
    """Smallest resolved hole diameter of the ACR resolution insert (slice 1, phantom frame).

    Raises
    ------
    ValueError
        The insert or its hole arrays were not found.
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    cc = centre_rc[1]
    r0 = int(bar_bottom_row + 2.0 / sr)
    r1 = min(int(bar_bottom_row + 45.0 / sr), img.shape[0])
    c0 = max(int(cc - 0.7 * radius_mm / sc), 0)
    c1 = min(int(cc + 0.7 * radius_mm / sc), img.shape[1])
    sub = img[r0:r1, c0:c1]
    dark = ndimage.binary_opening(sub < 0.5 * water_signal, iterations=1)
    lab, n = ndimage.label(dark)
    if n == 0:
        raise ValueError("the resolution insert was not found below the bar")
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    block = ndimage.binary_fill_holes(lab == int(np.argmax(sizes)))
    rr = np.flatnonzero(block.mean(axis=1) > 0.5)
    cc_idx = np.flatnonzero(block.mean(axis=0) > 0.5)
    if rr.size < 10.0 / sr or cc_idx.size < 60.0 / sc:
        raise ValueError("the resolution insert is not the expected size")
    m = int(np.ceil(1.0 / sr))
    box = (r0 + rr[0] + m, c0 + cc_idx[0] + m, r0 + rr[-1] - m + 1, c0 + cc_idx[-1] - m + 1)
    ins = img[box[0]:box[2], box[1]:box[3]].astype(np.float64)
    base = float(np.percentile(ins, 20))
    noise = float(1.4826 * np.median(np.abs(ins - np.median(ins))))
    noise = max(noise, 1e-3 * max(water_signal - base, 1.0))
    # Hole clusters: columns with bright pixels, right of the reference squares (the left 30 %).
    bright = ndimage.gaussian_filter(ins, 0.7 / sr) > base + 0.15 * (water_signal - base)
    colfrac = bright.any(axis=0)
    start = int(0.3 * ins.shape[1])
    runs = [(a + start, b + start) for a, b in _runs(colfrac[start:]) if (b - a + 1) * sc > 3.0]
    # merge runs closer than 1.5 mm (a pair's two arrays touch at a corner)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and (a - merged[-1][1]) * sc < 1.5:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) != 3:
        raise ValueError(f"found {len(merged)} hole-array groups in the resolution insert, "
                         "expected 3")
    checks = []
    for (a, b), d in zip(merged, HOLE_DIAMETERS_MM):
        pitch = 2.0 * d
        mid = (a + b) // 2
        rows_bright = np.flatnonzero(bright[:, a:b + 1].any(axis=1))
        if rows_bright.size == 0:
            continue
        ra, rb = rows_bright[0], rows_bright[-1]
        rmid = (ra + rb) // 2
        ul = (ra, a, rmid + 1, mid + 1)          # upper-left array: holes along rows
        lr = (rmid, mid, rb + 1, b + 1)          # lower-right array: holes along columns
        h_lines = ins[ul[0]:ul[2], ul[1]:ul[3]]
        v_lines = ins[lr[0]:lr[2], lr[1]:lr[3]].T
        for name, lines, bx, px in (("horizontal", h_lines, ul, pitch / sc),
                                    ("vertical", v_lines, lr, pitch / sr)):
            ok = _line_resolved(lines, px, noise)
            checks.append(ArrayCheck(d, name, (bx[0] + box[0], bx[1] + box[1],
                                               bx[2] + box[0], bx[3] + box[1]), ok))

    def smallest(direction: str) -> float | None:
        res = [c.diameter_mm for c in checks if c.direction == direction and c.resolved]
        return min(res) if res else None

    h, v = smallest("horizontal"), smallest("vertical")
    worst = None if h is None or v is None else max(h, v)
    return ResolutionResult(worst, h, v, tuple(checks), box)
