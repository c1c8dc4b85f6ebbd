"""ACR geometric accuracy: phantom diameters from half-signal edge crossings.

The ACR guidance measures the phantom's inner diameter on slice 5 top–bottom, left–right and
along both diagonals (and, in hazen's variant, on slice 1 too), with the display level set to
half the water signal. Here each length is the distance between the outermost crossings of half
the local water signal on a profile through the phantom, interpolated linearly between pixels.

Where a feature of the phantom touches the wall on the measuring line (the notch/wedge block at
12 o'clock, the slice-thickness bar on slice 1), the profile is taken on two lines offset by
±δ from the centre and the chord c is turned into a diameter with D = √(c² + (2δ)²), exact for a
circle; averaging both offsets cancels a small centring error to first order.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 1 (geometric accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.roi import point_rc

__all__ = ["EdgeLength", "diameter", "half_level_crossings", "profile_along"]

_STEP_PX = 0.5       # profile sampling step, pixels


@dataclass(frozen=True, slots=True)
class EdgeLength:
    """One measured length.

    Attributes
    ----------
    length_mm : float
        Diameter in mm.
    angle_deg : float
        Direction of the measurement: 0 = left–right, 90 = top–bottom, 45/135 diagonals
        (angles measured clockwise as displayed, in the phantom frame).
    endpoints_rc : tuple of ((row, col), (row, col))
        Edge points of each measured chord, phantom frame, for drawing.
    """

    length_mm: float
    angle_deg: float
    endpoints_rc: tuple[tuple[tuple[float, float], tuple[float, float]], ...]


def profile_along(image: np.ndarray, start_rc: np.ndarray, direction_rc: np.ndarray,
                  length_px: float, step_px: float = _STEP_PX) -> tuple[np.ndarray, np.ndarray]:
    """Sample `image` (bilinear) from `start_rc` along unit `direction_rc`; returns (t, values)."""
    t = np.arange(0.0, length_px, step_px)
    pts = start_rc[:, None] + direction_rc[:, None] * t[None, :]
    vals = ndimage.map_coordinates(np.asarray(image, dtype=np.float32), pts, order=1,
                                   mode="constant", cval=0.0)
    return t, vals


def half_level_crossings(values: np.ndarray, level: float) -> tuple[float, float] | None:
    """Fractional indices of the first upward and the last downward crossing of `level`."""
    above = values >= level
    idx = np.flatnonzero(above)
    if idx.size == 0 or idx[0] == 0 or idx[-1] == values.size - 1:
        return None
    i, j = idx[0], idx[-1]
    a = (i - 1) + (level - values[i - 1]) / (values[i] - values[i - 1])
    b = j + (values[j] - level) / (values[j] - values[j + 1])
    return float(a), float(b)


def diameter(image: np.ndarray, centre_rc: tuple[float, float], spacing_mm: tuple[float, float],
             angle_deg: float, radius_mm: float, *, offsets_mm: tuple[float, ...] = (0.0,),
             water_signal: float | None = None) -> EdgeLength:
    """Diameter of the phantom along direction `angle_deg` through (or beside) its centre.

    Parameters
    ----------
    image : (M, N) ndarray
        A slice in the phantom frame.
    centre_rc : (row, col)
        Phantom centre, pixels.
    spacing_mm : (row, col)
        Pixel spacing, mm.
    angle_deg : float
        0 = horizontal, 90 = vertical, 45 = top-left to bottom-right as displayed...
    radius_mm : float
        Approximate radius; the profile runs 1.3 radii each side.
    water_signal : float, optional
        Water signal of the slice; the half level is halfway between it and the air outside.
        By default the 90th percentile of the profile inside the phantom.
    offsets_mm : tuple of float
        Perpendicular offsets of the measuring lines; non-zero offsets are corrected to a
        diameter with D = √(c² + (2δ)²).

    Returns
    -------
    EdgeLength

    Raises
    ------
    ValueError
        No edge crossing on a profile (the phantom is cut by the image border).
    """
    sr, sc = spacing_mm
    t = np.radians(angle_deg)
    # Direction and normal in mm, then in pixels (so non-square pixels are handled).
    d_mm = np.array([np.sin(t), np.cos(t)])          # (row, col)
    n_mm = np.array([np.cos(t), -np.sin(t)])
    d_px = d_mm / np.array([sr, sc])
    mm_per_px_along = 1.0 / float(np.linalg.norm(d_px))
    d_unit = d_px / np.linalg.norm(d_px)
    half_len_px = 1.3 * radius_mm / mm_per_px_along
    c = np.asarray(centre_rc, dtype=float)
    lengths: list[float] = []
    ends: list[tuple[tuple[float, float], tuple[float, float]]] = []
    for off in offsets_mm:
        start = c + n_mm * off / np.array([sr, sc]) - d_unit * half_len_px
        tt, vals = profile_along(image, start, d_unit, 2 * half_len_px)
        if water_signal is None:
            inside = vals[(tt > 0.5 * half_len_px) & (tt < 1.5 * half_len_px)]
            plateau = float(np.percentile(inside, 90))
        else:
            plateau = float(water_signal)
        background = float(np.median(np.concatenate([vals[:8], vals[-8:]])))
        level = background + 0.5 * (plateau - background)
        cr = half_level_crossings(vals, level)
        if cr is None:
            raise ValueError("the phantom edge is outside the image on a measuring line")
        a, b = (tt[0] + _STEP_PX * cr[0]), (tt[0] + _STEP_PX * cr[1])
        chord = (b - a) * mm_per_px_along
        lengths.append(float(np.sqrt(chord ** 2 + (2.0 * off) ** 2)))
        ends.append((point_rc(start + d_unit * a), point_rc(start + d_unit * b)))
    # Median: one line may cross a feature touching the wall (e.g. the 12 o'clock notch).
    return EdgeLength(float(np.median(lengths)), float(angle_deg), tuple(ends))
