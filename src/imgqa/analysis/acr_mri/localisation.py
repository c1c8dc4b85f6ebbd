"""Find the ACR large phantom in an axial image: its disk, slice 1, and its in-plane rotation.

The ACR large phantom is a cylinder of 190 mm inner diameter. Slice 1 is recognised by the
slice-thickness insert: a dark bar about 10 mm high crossing almost the whole phantom just above
its centre, with the resolution insert (a dark block) below it. The bar also gives the in-plane
rotation, as in the ACR guidance, which aligns the bar with the image rows before measuring.

References
----------
.. [1] American College of Radiology, *Phantom Test Guidance for Use of the Large MRI Phantom for
   the ACR MRI Accreditation Program*, 2018 (phantom layout, slice 1 and slice 11 features).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.errors import PhantomNotFoundError

__all__ = [
    "ACR_DIAMETER_MM",
    "BarFit",
    "PhantomDisk",
    "derotate",
    "find_bar",
    "find_phantom",
    "find_rotation",
    "find_slice_one",
    "to_image_coords",
]

ACR_DIAMETER_MM = 190.0          # inner diameter of the large phantom
_DIAMETER_RANGE_MM = (150.0, 235.0)   # what we accept as "this is the ACR phantom"
_EDGE_FRACTION = 0.25            # phantom mask: above 25 % of the bright (99th pct) signal


@dataclass(frozen=True, slots=True)
class PhantomDisk:
    """Where the phantom's circular section is in one image.

    Attributes
    ----------
    centre_rc : (row, col)
        Centre in pixels, from the extents of the phantom mask (robust to the top notch).
    radius_px : float
        Mean half-extent in pixels (column spacing).
    radius_mm : float
        The same in mm.
    signal : float
        Typical water signal (median of the central part of the phantom).
    """

    centre_rc: tuple[float, float]
    radius_px: float
    radius_mm: float
    signal: float


@dataclass(frozen=True, slots=True)
class BarFit:
    """The slice-thickness bar of slice 1: centre row at the phantom centre and its slope."""

    row_at_centre: float
    angle_deg: float
    height_mm: float


def find_phantom(image: np.ndarray, spacing_mm: tuple[float, float], *,
                 what: str = "the ACR phantom",
                 diameter_range_mm: tuple[float, float] = _DIAMETER_RANGE_MM) -> PhantomDisk:
    """Locate the phantom's disk from the extents of the thresholded image.

    Parameters
    ----------
    image : (M, N) ndarray
        Magnitude image.
    spacing_mm : (row, col) spacing in mm.
    what : str
        Named in the error message when nothing phantom-sized is found.
    diameter_range_mm : (min, max)
        Accepted extent of the object; the default accepts the ACR large phantom only.

    Raises
    ------
    PhantomNotFoundError
        No bright object of 150–235 mm across was found.
    """
    img = np.asarray(image, dtype=np.float32)
    hi = float(np.percentile(img[::2, ::2], 99))
    if not np.isfinite(hi) or hi <= 0:
        raise PhantomNotFoundError(f"The image is empty (no signal), so {what} cannot be found.")
    mask = img > _EDGE_FRACTION * hi
    # Keep the largest connected object: stray bright lines (RF spikes, ghosts, markers) must not
    # stretch the extents.
    labels, n = ndimage.label(mask)
    if n > 1:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        mask = labels == int(np.argmax(sizes))
    rows = mask.sum(axis=1)
    cols = mask.sum(axis=0)
    # Ignore rows/columns with only a few pixels (noise at the rim): a real chord of the disk is
    # at least ~5 % of the diameter even one pixel inside the edge.
    r_idx = np.flatnonzero(rows > 0.05 * rows.max())
    c_idx = np.flatnonzero(cols > 0.05 * cols.max())
    if r_idx.size < 3 or c_idx.size < 3:
        raise PhantomNotFoundError(f"No object was found in the image, so {what} cannot be "
                                   "measured.")
    top, bottom, left, right = r_idx[0], r_idx[-1], c_idx[0], c_idx[-1]
    # Water signal: median of the phantom pixels (dark inserts are below the mask threshold).
    sub = img[top:bottom + 1:2, left:right + 1:2]
    signal = float(np.median(sub[mask[top:bottom + 1:2, left:right + 1:2]]))
    # The mask extents move in whole pixels, so refine the centre to a fraction of a pixel
    # from where the edge crosses half the water signal (issue 10: the centre must follow a
    # sub-pixel move of the phantom).
    centre = (_half_signal_midpoint(img, top, bottom, left, right, signal, axis=0),
              _half_signal_midpoint(img, top, bottom, left, right, signal, axis=1))
    height_mm = (bottom - top + 1) * spacing_mm[0]
    width_mm = (right - left + 1) * spacing_mm[1]
    lo, hi_mm = diameter_range_mm
    if not (lo <= width_mm <= hi_mm and lo <= height_mm <= hi_mm):
        raise PhantomNotFoundError(
            f"The object in the image is {width_mm:.0f} × {height_mm:.0f} mm, but {what} "
            f"should be {lo:.0f}–{hi_mm:.0f} mm across.",
            hint="Check that these are axial images of the ACR large (190 mm) or medium "
                 "(165 mm) MRI phantom, and that the pixel spacing is right.")
    radius_px = (right - left + 1) / 2.0
    return PhantomDisk(centre, radius_px, radius_px * spacing_mm[1], signal)


def _half_signal_midpoint(img: np.ndarray, top: int, bottom: int, left: int, right: int,
                          signal: float, axis: int) -> float:
    """Sub-pixel centre of the disk along one axis (0: rows, 1: columns).

    The profile across the disk is averaged over a central band of chords (every chord of a
    disk has its midpoint on the centre line, so averaging keeps the midpoint), and the two
    outermost crossings of half the water signal are interpolated linearly. Falls back to the
    mask extents' midpoint when a crossing cannot be bracketed.
    """
    lo, hi = (top, bottom) if axis == 0 else (left, right)
    c_lo, c_hi = (left, right) if axis == 0 else (top, bottom)
    mid, half = (c_lo + c_hi) / 2.0, max((c_hi - c_lo) // 8, 1)
    band = slice(int(mid) - half, int(mid) + half + 1)
    n = img.shape[axis]
    a, b = max(lo - 3, 0), min(hi + 4, n)
    profile = (img[a:b, band] if axis == 0 else img[band, a:b].T).mean(axis=1)
    above = np.flatnonzero(profile >= 0.5 * signal)
    fallback = (lo + hi) / 2.0
    if above.size < 2 or above[0] == 0 or above[-1] == profile.size - 1:
        return fallback
    i, j = above[0], above[-1]
    thr = 0.5 * signal

    def cross(k_out: int, k_in: int) -> float:
        # linear interpolation between the outside sample and the first inside one
        v_out, v_in = profile[k_out], profile[k_in]
        return k_out + (thr - v_out) / (v_in - v_out) * (k_in - k_out)

    return a + (cross(i - 1, i) + cross(j + 1, j)) / 2.0


def find_bar(image: np.ndarray, disk: PhantomDisk, spacing_mm: tuple[float, float]
             ) -> BarFit | None:
    """Find slice 1's slice-thickness bar; None when the image has none.

    The bar is looked for in two lateral bands (55–88 % of the radius on each side), where
    neither the ramps nor the resolution insert are; its centre line is fitted across them.
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    cr, cc = disk.centre_rc
    half_rows = int(40.0 / sr)
    r0 = max(int(cr) - half_rows, 0)
    r1 = min(int(cr) + half_rows + 1, img.shape[0])
    rr = np.arange(r0, r1)
    x_mm = (np.arange(img.shape[1]) - cc) * sc
    ax = np.abs(x_mm)
    band = (ax > 0.55 * disk.radius_mm) & (ax < 0.88 * disk.radius_mm)
    cols = np.flatnonzero(band)
    if cols.size < 4:
        return None
    sub = img[r0:r1][:, cols]
    is_dark = sub < 0.5 * disk.signal
    # Rough bar row: the row that is dark across most of both bands (other dark features, e.g.
    # the slice 1-4 circle, cover only a few columns).
    frac = ndimage.uniform_filter1d(is_dark.mean(axis=1), max(round(4.0 / sr), 1))
    k = int(np.argmax(frac))
    if frac[k] < 0.6:
        return None
    win = round(9.0 / sr)
    lo, hi = max(k - win, 0), min(k + win + 1, sub.shape[0])
    local = is_dark[lo:hi]
    run_mm = local.sum(axis=0) * sr
    ok = (run_mm > 4.0) & (run_mm < 17.0)
    if ok.sum() < 0.6 * cols.size:
        return None
    w = np.clip(disk.signal - sub[lo:hi], 0.0, None)[:, ok] * local[:, ok]
    centre_rows = (w * rr[lo:hi, None]).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-9)
    xs = x_mm[cols[ok]]
    if (xs < 0).sum() < 2 or (xs > 0).sum() < 2:
        return None
    slope, intercept = np.polyfit(xs, centre_rows, 1)   # rows per mm of x
    resid = centre_rows - (slope * xs + intercept)
    keep = np.abs(resid) * sr < 1.5
    if keep.sum() < 0.5 * xs.size:                       # not a straight bar
        return None
    slope, intercept = np.polyfit(xs[keep], centre_rows[keep], 1)
    angle = float(np.degrees(np.arctan2(slope * sr, 1.0)))
    return BarFit(float(intercept), angle, float(np.median(run_mm[ok])))


def find_slice_one(first: np.ndarray, last: np.ndarray, spacing_mm: tuple[float, float]
                   ) -> tuple[bool, PhantomDisk, BarFit]:
    """Which end of the series is slice 1 (the one with the slice-thickness bar).

    Returns
    -------
    reversed, disk, bar
        ``reversed`` is True when slice 1 is the last image of the series.

    Raises
    ------
    PhantomNotFoundError
        Neither end image shows the slice-1 bar.
    """
    for rev, img in ((False, first), (True, last)):
        disk = find_phantom(img, spacing_mm)
        bar = find_bar(img, disk, spacing_mm)
        if bar is not None:
            return rev, disk, bar
    raise PhantomNotFoundError(
        "Slice 1 of the ACR phantom (with the dark slice-thickness bar across the phantom) is "
        "neither the first nor the last image of the series.",
        hint="Acquire the 11-slice ACR axial series (slice 1 through the ramps and wedges, "
             "5 mm slices with 5 mm gaps) and load the whole series.")


def find_rotation(image: np.ndarray, disk: PhantomDisk, bar: BarFit,
                  spacing_mm: tuple[float, float]) -> float:
    """In-plane rotation of the phantom, degrees (positive: clockwise as displayed).

    The bar's slope gives the angle; a phantom lying upside down (resolution insert above the
    bar) adds 180°.
    """
    img = np.asarray(image, dtype=np.float32)
    sr, sc = spacing_mm
    cc = disk.centre_rc[1]
    c0 = max(int(cc - 25.0 / sc), 0)
    c1 = int(cc + 25.0 / sc) + 1
    below = img[int(bar.row_at_centre + 15 / sr):int(bar.row_at_centre + 32 / sr), c0:c1]
    above = img[max(int(bar.row_at_centre - 32 / sr), 0):int(bar.row_at_centre - 15 / sr), c0:c1]
    angle = bar.angle_deg
    if below.size and above.size and np.median(above) < np.median(below):
        angle += 180.0
    return angle


def _rotation_matrix(angle_deg: float) -> np.ndarray:
    t = np.radians(angle_deg)
    return np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])


def derotate(image: np.ndarray, centre_rc: tuple[float, float], angle_deg: float
             ) -> np.ndarray:
    """Resample `image` into the phantom frame (bar horizontal), rotating about `centre_rc`.

    Angles under 0.2° are left alone: the resampling would blur more than it corrects.
    """
    img = np.asarray(image, dtype=np.float32)
    if abs(angle_deg) < 0.2:
        return img
    m = _rotation_matrix(angle_deg)
    c = np.asarray(centre_rc, dtype=float)
    return ndimage.affine_transform(img, m, offset=c - m @ c, order=1, mode="nearest")


def to_image_coords(points_rc: np.ndarray | list, centre_rc: tuple[float, float],
                    angle_deg: float) -> np.ndarray:
    """Map (row, col) points of the phantom frame back to the original image."""
    p = np.atleast_2d(np.asarray(points_rc, dtype=float))
    if abs(angle_deg) < 0.2:
        return p
    m = _rotation_matrix(angle_deg)
    c = np.asarray(centre_rc, dtype=float)
    return (p - c) @ m.T + c
