"""ACR slice thickness from the two crossed signal ramps of slice 1.

The ramps are 10:1 inclined slots inside the slice-thickness bar, so each appears in the image
with a length 10× the slice's full width at half maximum. The two ramps are crossed, and
T = 0.2 · L1 · L2 / (L1 + L2) cancels a tilt of the phantom about the left–right axis.

Each ramp's length is the FWHM of its left–right profile (mean over the rows of the ramp, lightly
smoothed): the half level is halfway between the ramp's plateau and the dark insert baseline.
The ACR guidance asks for the display level at half the ramp signal; subtracting the insert's
baseline first matters on noisy magnitude images, whose dark background is not zero (Rician
noise floor), and gives the physical FWHM of the slice profile.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018, section 3 (slice thickness accuracy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.acr_mri.geometry import half_level_crossings

__all__ = ["RampProfile", "SliceThicknessResult", "slice_thickness"]

_RAMP_SLOPE = 10.0          # ramp length / slice FWHM (10:1 ramps)


@dataclass(frozen=True, slots=True)
class RampProfile:
    """One ramp: FWHM length (mm), the rows it was read on and its left/right ends (col)."""

    fwhm_mm: float
    rows: tuple[int, int]
    ends_col: tuple[float, float]
    x_mm: np.ndarray
    profile: np.ndarray


@dataclass(frozen=True, slots=True)
class SliceThicknessResult:
    slice_thickness_mm: float
    top: RampProfile
    bottom: RampProfile
    bar_rows: tuple[float, float]
    method: str = "ACR ramps, 0.2·L1·L2/(L1+L2), FWHM above insert baseline"


def _bar_edges(image: np.ndarray, centre_rc: tuple[float, float], bar_row: float,
               spacing_mm: tuple[float, float], radius_mm: float, water: float
               ) -> tuple[float, float]:
    """Top and bottom edge rows (half water level) of the bar, from lateral columns."""
    sr, sc = spacing_mm
    cc = centre_rc[1]
    x = (np.arange(image.shape[1]) - cc) * sc
    band = (np.abs(x) > 0.55 * radius_mm) & (np.abs(x) < 0.85 * radius_mm)
    r0 = max(int(bar_row - 15 / sr), 0)
    r1 = min(int(bar_row + 15 / sr) + 1, image.shape[0])
    prof = image[r0:r1][:, band].mean(axis=1)
    half = 0.5 * water
    k = round(bar_row) - r0
    k = min(max(k, 1), prof.size - 2)
    up = np.flatnonzero(prof[:k] >= half)
    dn = np.flatnonzero(prof[k:] >= half)
    if up.size == 0 or dn.size == 0:
        raise ValueError("the slice-thickness bar's edges were not found")
    i = up[-1]                          # last bright row above the bar
    top = i + (prof[i] - half) / (prof[i] - prof[i + 1])
    j = k + dn[0]                       # first bright row below
    bottom = (j - 1) + (half - prof[j - 1]) / (prof[j] - prof[j - 1])
    return r0 + float(top), r0 + float(bottom)


def _ramp(image: np.ndarray, rows: tuple[int, int], cols: np.ndarray, sc: float,
          smooth_mm: float) -> RampProfile:
    prof = image[rows[0]:rows[1] + 1][:, cols].mean(axis=0)
    prof = ndimage.gaussian_filter1d(prof.astype(np.float64), smooth_mm / sc)
    x_mm = (cols - cols[0]) * sc
    n = prof.size
    # Baseline: the dark insert at both ends of the bar; plateau: the ramp's top part.
    baseline = float(np.median(np.concatenate([prof[: n // 8], prof[-n // 8:]])))
    peak = float(np.percentile(prof, 98))
    level = baseline + 0.5 * (peak - baseline)
    cr = half_level_crossings(prof, level)
    if cr is None:
        raise ValueError("a ramp reaches the end of the bar")
    fwhm = (cr[1] - cr[0]) * sc
    return RampProfile(float(fwhm), rows, (float(cols[0] + cr[0]), float(cols[0] + cr[1])),
                       x_mm, prof)


def slice_thickness(image: np.ndarray, centre_rc: tuple[float, float], bar_row: float,
                    spacing_mm: tuple[float, float], radius_mm: float, water_signal: float,
                    *, smooth_mm: float = 1.0) -> SliceThicknessResult:
    """Slice thickness (FWHM) from the crossed ramps of ACR slice 1.

    Parameters
    ----------
    image : (M, N) ndarray
        Slice 1 in the phantom frame (bar horizontal).
    centre_rc : (row, col)
        Phantom centre, pixels.
    bar_row : float
        Row of the bar's centre line (from `localisation.find_bar`).
    spacing_mm : (row, col)
        Pixel spacing in mm.
    radius_mm : float
        Phantom radius, mm.
    water_signal : float
        Typical water signal, for the bar's edges.
    smooth_mm : float
        Gaussian σ applied along each ramp profile (noise), mm.

    Returns
    -------
    SliceThicknessResult

    Raises
    ------
    ValueError
        Bar or ramps not found.

    Notes
    -----
    The bar is split at its mid-line; in each half the rows within ~1 mm of the bar's edges are
    left out (partial volume with the water around the bar would add signal all along).
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    top_edge, bottom_edge = _bar_edges(img, centre_rc, bar_row, spacing_mm, radius_mm,
                                       water_signal)
    if not 5.0 < (bottom_edge - top_edge) * sr < 20.0:
        raise ValueError("the slice-thickness bar has an unexpected height")
    mid = 0.5 * (top_edge + bottom_edge)
    margin = max(1.0 / sr, 0.75)
    t0, t1 = int(np.ceil(top_edge + margin)), int(np.floor(mid - 0.25))
    b0, b1 = int(np.ceil(mid + 0.25)), int(np.floor(bottom_edge - margin))
    if t1 < t0 or b1 < b0:
        raise ValueError("the slice-thickness bar is too thin at this pixel size")
    cc = centre_rc[1]
    half_w = 0.8 * radius_mm / sc
    cols = np.arange(max(int(cc - half_w), 0), min(int(cc + half_w) + 1, img.shape[1]))
    top = _ramp(img, (t0, t1), cols, sc, smooth_mm)
    bottom = _ramp(img, (b0, b1), cols, sc, smooth_mm)
    l1, l2 = top.fwhm_mm, bottom.fwhm_mm
    thickness = 0.2 * l1 * l2 / (l1 + l2) * (10.0 / _RAMP_SLOPE)
    return SliceThicknessResult(float(thickness), top, bottom, (top_edge, bottom_edge))
