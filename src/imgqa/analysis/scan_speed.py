"""Whole-body scan-speed (table-motion) uniformity from a sweep image of a uniform source.

Method (IAEA Human Health Series No. 6 §4 whole-body imaging; IPEM Report 111, whole-body
scan speed): a uniform flood/sheet source is swept through the field at constant nominal
speed. The counts a row of the sweep receives are proportional to the time the detector
spends over it, i.e. to 1/v at that table position. So the relative local speed is

    v(y)/v_nom = mean(P) / P(y),

with P the count profile along the scan direction summed over a central band across the
source and smoothed with a moving average (Poisson noise), and v_nom the speed that would give
the mean profile (the harmonic mean of v over the analysed length). The ends of the source
(blurred edges, and the moving average running off the source) are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ScanSpeed", "scan_speed_profile"]


@dataclass(frozen=True, slots=True)
class ScanSpeed:
    """Scan-speed uniformity of one sweep image (scan direction along axis 0).

    Attributes
    ----------
    max_deviation_percent : float
        Largest |v(y)/v_nom − 1| · 100 over the analysed length.
    fastest_percent, slowest_percent : float
        Largest positive and most negative deviation (%).
    noise_percent : float
        Expected relative Poisson SD of one smoothed profile value (%), the noise floor.
    position_mm, relative_speed : ndarray
        Positions along the scan (mm from the first image row) and v/v_nom there.
    profile : ndarray
        The smoothed count profile over the analysed length (counts per row).
    source_rows, band_cols, analysed_rows : (start, stop)
        Half-open index ranges: the source extent along the scan, the columns summed, and
        the analysed rows.
    """

    max_deviation_percent: float
    fastest_percent: float
    slowest_percent: float
    noise_percent: float
    position_mm: np.ndarray
    relative_speed: np.ndarray
    profile: np.ndarray
    source_rows: tuple[int, int]
    band_cols: tuple[int, int]
    analysed_rows: tuple[int, int]


def _extent(profile: np.ndarray, level: float) -> tuple[int, int]:
    """First and one-past-last index of the longest run of `profile` above `level`."""
    above = np.concatenate([[False], profile > level, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    starts, stops = edges[::2], edges[1::2]
    if starts.size == 0:
        return 0, 0
    k = int(np.argmax(stops - starts))
    return int(starts[k]), int(stops[k])


def scan_speed_profile(image: np.ndarray, pixel_mm: float, *, smoothing_mm: float = 30.0,
                       margin_mm: float = 30.0, band_fraction: float = 0.8) -> ScanSpeed:
    """Relative table speed along a whole-body sweep of a uniform source.

    Parameters
    ----------
    image : (rows, cols) array
        Counts; the scan direction is along rows (axis 0).
    pixel_mm : float
        Pixel size along the scan (mm).
    smoothing_mm : float
        Length of the moving average along the scan (mm); at least one pixel.
    margin_mm : float
        Length excluded at each end of the source (mm), beyond half the smoothing length.
    band_fraction : float
        Fraction of the source width (centred) summed across the scan direction.

    Returns
    -------
    ScanSpeed

    Raises
    ------
    ValueError
        When no source, or too short a source, is found.
    """
    img = np.asarray(image, dtype=np.float64)
    cols = img.sum(axis=0)
    c0, c1 = _extent(cols, 0.5 * np.percentile(cols, 95))
    if c1 - c0 < 3:
        raise ValueError("no source across the scan direction (no column with counts)")
    half = 0.5 * band_fraction * (c1 - c0)
    mid = 0.5 * (c0 + c1)
    b0, b1 = int(np.ceil(mid - half)), int(np.floor(mid + half))
    rows = img[:, b0:b1].sum(axis=1)
    r0, r1 = _extent(rows, 0.5 * np.median(rows[rows > 0]) if np.any(rows > 0) else 0.0)
    win = max(1, int(round(smoothing_mm / pixel_mm)))
    cut = int(np.ceil(margin_mm / pixel_mm)) + win // 2
    a0, a1 = r0 + cut, r1 - cut
    if a1 - a0 < 2 * win:
        raise ValueError(f"the source is only {(r1 - r0) * pixel_mm:.0f} mm long along the "
                         f"scan; at least {2 * (cut + win) * pixel_mm:.0f} mm are needed")
    # moving average by a cumulative sum (centred window of `win` rows)
    csum = np.concatenate([[0.0], np.cumsum(rows)])
    lo = np.arange(a0, a1) - win // 2
    smooth = (csum[lo + win] - csum[lo]) / win
    rel = smooth.mean() / smooth
    dev = 100.0 * (rel - 1.0)
    noise = 100.0 / np.sqrt(max(smooth.mean() * win, 1.0))
    return ScanSpeed(max_deviation_percent=float(np.max(np.abs(dev))),
                     fastest_percent=float(dev.max()), slowest_percent=float(dev.min()),
                     noise_percent=float(noise),
                     position_mm=np.arange(a0, a1) * pixel_mm, relative_speed=rel,
                     profile=smooth, source_rows=(r0, r1), band_cols=(b0, b1),
                     analysed_rows=(a0, a1))
