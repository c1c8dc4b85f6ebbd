"""ACR percent signal ghosting (slice 7) and the background ROIs it uses.

PSG = 100 · |((top + bottom) − (left + right)) / (2 · large ROI mean)|, with four elongated
background ROIs (≈10 cm², 4:1) between the phantom and the edge of the field of view. When the
gap to the image edge is narrow, the ROIs shrink to fit rather than leave the image.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 6 (percent signal ghosting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BackgroundRoi", "GhostingResult", "background_rois", "percent_ghosting"]


@dataclass(frozen=True, slots=True)
class BackgroundRoi:
    """A rectangle (row0, col0, row1, col1), end-exclusive, with its mean and SD."""

    name: str
    box: tuple[int, int, int, int]
    mean: float
    sd: float
    n: int


@dataclass(frozen=True, slots=True)
class GhostingResult:
    ghosting_percent: float
    rois: tuple[BackgroundRoi, ...]
    signal_mean: float


def background_rois(image: np.ndarray, centre_rc: tuple[float, float], radius_mm: float,
                    spacing_mm: tuple[float, float], *, area_cm2: float = 10.0,
                    margin_mm: float = 3.0) -> tuple[BackgroundRoi, ...]:
    """Top, bottom, left and right background rectangles outside the phantom.

    Raises
    ------
    ValueError
        No room between the phantom and the image edge on some side.
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    rows, cols = img.shape
    cr, cc = centre_rc
    long_mm = np.sqrt(area_cm2 * 100.0 * 4.0)    # 4:1 rectangle of the requested area
    short_mm = long_mm / 4.0
    out = []
    for name, axis, sign in (("top", 0, -1), ("bottom", 0, 1), ("left", 1, -1),
                             ("right", 1, 1)):
        sp_ax = sr if axis == 0 else sc
        sp_other = sc if axis == 0 else sr
        n_ax = rows if axis == 0 else cols
        c_ax = cr if axis == 0 else cc
        c_other = cc if axis == 0 else cr
        edge = c_ax + sign * (radius_mm + margin_mm) / sp_ax      # just outside the phantom
        limit = (n_ax - 1 - margin_mm / sp_ax) if sign > 0 else margin_mm / sp_ax
        gap_px = (limit - edge) * sign
        if gap_px < 2:
            raise ValueError(f"no background left of the phantom at the {name} of the image")
        depth = min(short_mm / sp_ax, gap_px)
        mid = edge + sign * gap_px / 2.0
        a0, a1 = round(mid - depth / 2), round(mid + depth / 2)
        half_long = long_mm / 2.0 / sp_other
        b0, b1 = round(c_other - half_long), round(c_other + half_long)
        a0, a1 = max(min(a0, a1), 0), min(max(a0, a1) + 1, n_ax)
        b0, b1 = max(b0, 0), min(b1 + 1, cols if axis == 0 else rows)
        box = (a0, b0, a1, b1) if axis == 0 else (b0, a0, b1, a1)
        vals = img[box[0]:box[2], box[1]:box[3]].astype(np.float64)
        out.append(BackgroundRoi(name, box, float(vals.mean()), float(vals.std(ddof=1)),
                                 int(vals.size)))
    return tuple(out)


def percent_ghosting(signal_mean: float, rois: tuple[BackgroundRoi, ...]) -> GhostingResult:
    """ACR percent signal ghosting from the large-ROI mean and the four background ROIs."""
    m = {r.name: r.mean for r in rois}
    psg = 100.0 * abs(((m["top"] + m["bottom"]) - (m["left"] + m["right"])) / (2.0 * signal_mean))
    return GhostingResult(float(psg), rois, float(signal_mean))
