"""Find a round CT phantom in an axial slice and place ROIs relative to it.

The phantom is segmented by a HU threshold, separated from the patient table by a
morphological opening, and its outline is fitted with a circle (algebraic least squares,
Kåsa 1976) on the boundary pixels that are not on the image border, so phantoms that are
off-centre or partly outside the field of view are still found. ROI positions follow the ACR CT
QC manual (centre ROI plus four peripheral ROIs at 12, 3, 6 and 9 o'clock about 1 cm inside the
phantom edge).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis.roi import RoiStats, circle_mask, require_2d, roi_stats
from imgqa.errors import PhantomNotFoundError

__all__ = [
    "CLOCK_ANGLES_DEG",
    "PhantomCircle",
    "WaterSlice",
    "circle_stats",
    "clock_positions",
    "find_phantom",
    "water_phantom_rois",
]

# Air is about −1000 HU and every phantom material is above −300 HU; −400 separates them
# with a wide margin also for noisy low-dose images.
_DEFAULT_THRESHOLD_HU = -400.0
# The table is a few mm thick: an opening of this size detaches it from the phantom.
_TABLE_OPENING_MM = 6.0
# Boundary points farther than this from the first circle fit (table contacts, fill holes...)
# are dropped before the second fit.
_OUTLIER_MM = 3.0
# Values below this outside the object are padding outside the reconstruction circle.
_PADDING_BELOW_HU = -1500.0

# Clock positions as image angles (degrees, 0 = 3 o'clock, counter-clockwise seen on screen,
# i.e. 90 = 12 o'clock = towards row 0).
CLOCK_ANGLES_DEG = {"12": 90.0, "3": 0.0, "6": -90.0, "9": 180.0}


@dataclass(frozen=True, slots=True)
class PhantomCircle:
    """A round phantom found in a slice.

    Attributes
    ----------
    centre_rc : (row, col)
        Centre in pixel coordinates (sub-pixel).
    radius_px : float
        Outer radius in pixels.
    radius_mm : float
        Outer radius in mm.
    circularity : float
        Fraction of the fitted disc covered by the segmented phantom (1 for a perfect disc).
    fit_rms_mm : float
        RMS distance of the outline points from the fitted circle, in mm.
    truncated : bool
        The phantom touches the image border (partly outside the field of view).
    """

    centre_rc: tuple[float, float]
    radius_px: float
    radius_mm: float
    circularity: float
    fit_rms_mm: float
    truncated: bool

    def inside_image(self, shape: tuple[int, int], margin_px: float = 0.0) -> bool:
        """True when the whole disc (grown by `margin_px`) lies inside an image of `shape`."""
        r, c = self.centre_rc
        rad = self.radius_px + margin_px
        return r - rad >= -0.5 and c - rad >= -0.5 and r + rad <= shape[0] - 0.5 \
            and c + rad <= shape[1] - 0.5


def _fit_circle(rows: np.ndarray, cols: np.ndarray) -> tuple[float, float, float]:
    """Kåsa algebraic circle fit; returns (row0, col0, radius)."""
    a = np.column_stack([rows, cols, np.ones_like(rows)])
    b = rows * rows + cols * cols
    sol, *_ = np.linalg.lstsq(a, b, rcond=None)
    r0, c0 = sol[0] / 2.0, sol[1] / 2.0
    rad = np.sqrt(max(sol[2] + r0 * r0 + c0 * c0, 0.0))
    return float(r0), float(c0), float(rad)


def find_phantom(image: np.ndarray, pixel_mm: float, *,
                 threshold_hu: float = _DEFAULT_THRESHOLD_HU,
                 min_radius_mm: float = 25.0,
                 min_circularity: float = 0.85) -> PhantomCircle:
    """Centre and radius of the round phantom in a CT slice.

    Parameters
    ----------
    image : (M, N) ndarray
        Axial CT slice in HU.
    pixel_mm : float
        Pixel size in mm (square pixels).
    threshold_hu : float, optional
        Pixels above this are phantom (or table); air is below.
    min_radius_mm : float, optional
        Smaller objects are not accepted as the phantom.
    min_circularity : float, optional
        Minimum fraction of the fitted disc covered by the segmented object; a topogram, a
        rectangular object or an image full of structure fails this.

    Returns
    -------
    PhantomCircle

    Raises
    ------
    PhantomNotFoundError
        No round object of at least `min_radius_mm` is found.

    Notes
    -----
    The table is detached by a binary opening of about 6 mm, the largest object is kept and
    its holes filled; its outline (minus points on the image border) is fitted with a circle
    twice, the second time without points more than 3 mm from the first fit.

    References
    ----------
    .. [1] I. Kåsa, "A circle fitting procedure and its error analysis", IEEE Trans. Instrum.
       Meas. 25 (1976) 8-14.
    .. [2] ACR, "Computed Tomography Quality Control Manual", 2017.

    Examples
    --------
    >>> yy, xx = np.mgrid[:128, :128]
    >>> img = np.where((yy - 70) ** 2 + (xx - 60) ** 2 < 40 ** 2, 0.0, -1000.0)
    >>> p = find_phantom(img, 1.0)
    >>> round(p.centre_rc[0]), round(p.centre_rc[1]), round(p.radius_mm)
    (70, 60, 40)
    """
    img = require_2d(image, "image")
    mask = img > threshold_hu
    if not mask.any():
        raise PhantomNotFoundError(
            f"No phantom found: every pixel is below {threshold_hu:g} HU (air only).")
    n_open = max(1, int(round(_TABLE_OPENING_MM / 2.0 / pixel_mm)))
    opened = ndimage.binary_opening(mask, iterations=n_open)
    if not opened.any():
        opened = mask
    labels, _ = ndimage.label(opened)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    obj = labels == int(np.argmax(sizes))
    obj = ndimage.binary_dilation(obj, iterations=n_open) & mask  # undo the opening's shrink
    obj = ndimage.binary_fill_holes(obj)
    edge = obj & ~ndimage.binary_erosion(obj)
    edge[0, :] = edge[-1, :] = edge[:, 0] = edge[:, -1] = False
    rr, cc = np.nonzero(edge)
    truncated = bool(obj[0, :].any() or obj[-1, :].any() or obj[:, 0].any() or obj[:, -1].any())
    if rr.size < 20:
        raise PhantomNotFoundError(
            "No round phantom outline found in the image (the object fills the whole field).",
            hint="ct.water needs an axial image of a round water phantom with air around it.")
    rr = rr.astype(float)
    cc = cc.astype(float)
    r0, c0, rad = _fit_circle(rr, cc)
    dist = np.hypot(rr - r0, cc - c0) - rad
    keep = np.abs(dist) < _OUTLIER_MM / pixel_mm
    if keep.sum() > 20:
        r0, c0, rad = _fit_circle(rr[keep], cc[keep])
        dist = np.hypot(rr[keep] - r0, cc[keep] - c0) - rad
    # Boundary pixels sit half a pixel inside the true edge.
    rad += 0.5
    rms_mm = float(np.sqrt(np.mean(dist * dist)) * pixel_mm)
    if rad * pixel_mm < min_radius_mm:
        raise PhantomNotFoundError(
            f"The largest object is only {rad * pixel_mm:.0f} mm in radius; a phantom of at "
            f"least {min_radius_mm:g} mm radius was expected.")
    disc = circle_mask(img.shape, (r0, c0), rad)
    n_disc = int(disc.sum())
    circularity = float((obj & disc).sum() / n_disc) if n_disc else 0.0
    outside = float((obj & ~disc).sum() / max(int(obj.sum()), 1))
    if circularity < min_circularity or outside > 1.0 - min_circularity:
        raise PhantomNotFoundError(
            f"The object in the image is not round (it fills {100 * circularity:.0f} % of the "
            "best-fitting circle): a round phantom was expected.",
            hint="Check that this is an axial slice of a cylindrical phantom, not a topogram "
                 "or another object.")
    if not truncated:
        truncated = _edge_is_reconstruction_circle(img, (r0, c0), rad)
    return PhantomCircle((r0, c0), rad, rad * pixel_mm, circularity, rms_mm, truncated)


def _edge_is_reconstruction_circle(img: np.ndarray, centre_rc: tuple[float, float],
                                   radius_px: float) -> bool:
    """True when just outside the outline there is scanner padding, not air.

    Outside the reconstructed field of view scanners write a padding value (−2048, −3024 HU),
    far below air (≈ −1000 HU). If that is what surrounds the "phantom", the object found is
    the field-of-view circle and the phantom extends beyond it.
    """
    ring = circle_mask(img.shape, centre_rc, radius_px + 5) & \
        ~circle_mask(img.shape, centre_rc, radius_px + 2)
    if not ring.any():
        return True
    return bool(np.median(img[ring]) < _PADDING_BELOW_HU)


def clock_positions(centre_rc: tuple[float, float], distance_px: float,
                    angles_deg: dict[str, float] | None = None) -> dict[str, tuple[float, float]]:
    """(row, col) of points at `distance_px` from the centre at clock angles.

    Angles are counter-clockwise on screen from 3 o'clock (row axis points down).

    Examples
    --------
    >>> clock_positions((50.0, 50.0), 10.0)["12"]
    (40.0, 50.0)
    """
    angles = CLOCK_ANGLES_DEG if angles_deg is None else angles_deg
    out = {}
    for name, a in angles.items():
        t = np.deg2rad(a)
        # rounded so that cos(90°) = 6e-17 does not show up as a position offset
        out[name] = (round(float(centre_rc[0] - distance_px * np.sin(t)), 9) + 0.0,
                     round(float(centre_rc[1] + distance_px * np.cos(t)), 9) + 0.0)
    return out


def circle_stats(image: np.ndarray, centre_rc: tuple[float, float], radius_px: float
                 ) -> RoiStats:
    """ROI statistics in a circle, computed on the bounding box only (fast for many ROIs)."""
    r0 = max(int(np.floor(centre_rc[0] - radius_px)), 0)
    c0 = max(int(np.floor(centre_rc[1] - radius_px)), 0)
    r1 = min(int(np.ceil(centre_rc[0] + radius_px)) + 1, image.shape[0])
    c1 = min(int(np.ceil(centre_rc[1] + radius_px)) + 1, image.shape[1])
    if r1 <= r0 or c1 <= c0:
        raise PhantomNotFoundError("An ROI falls outside the image.")
    sub = image[r0:r1, c0:c1]
    return roi_stats(sub, circle_mask(sub.shape, (centre_rc[0] - r0, centre_rc[1] - c0),
                                      radius_px))


# ---------------------------------------------------------------------------------------------
# Water phantom: centre and peripheral ROIs (ACR CT QC manual)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class WaterSlice:
    """ROI statistics of one water-phantom slice.

    Attributes
    ----------
    phantom : PhantomCircle
    roi_radius_px : float
        Radius of every ROI in pixels.
    centre : RoiStats
        Centre ROI.
    peripheral : dict
        Clock position (``"12"``, ``"3"``, ``"6"``, ``"9"``) → (centre (row, col), RoiStats).
    uniformity_max_deviation_hu : float
        max |peripheral mean − centre mean| in HU.
    """

    phantom: PhantomCircle
    roi_radius_px: float
    centre: RoiStats
    peripheral: dict[str, tuple[tuple[float, float], RoiStats]]
    uniformity_max_deviation_hu: float


def water_phantom_rois(image: np.ndarray, pixel_mm: float, *, roi_area_mm2: float = 400.0,
                       edge_offset_mm: float = 10.0, phantom: PhantomCircle | None = None,
                       threshold_hu: float = _DEFAULT_THRESHOLD_HU) -> WaterSlice:
    """Centre and 12/3/6/9 o'clock ROI statistics of a water phantom slice.

    Parameters
    ----------
    image : (M, N) ndarray
        Axial slice in HU.
    pixel_mm : float
        Pixel size in mm.
    roi_area_mm2 : float, optional
        Area of each circular ROI (ACR: about 400 mm²).
    edge_offset_mm : float, optional
        Gap between the phantom's outer edge and the outer edge of each peripheral ROI (ACR:
        about 1 cm).
    phantom : PhantomCircle, optional
        Use this phantom position instead of searching for it.

    Returns
    -------
    WaterSlice

    Raises
    ------
    PhantomNotFoundError
        No round phantom, a phantom partly outside the field of view, or a phantom too small
        for the ROIs.

    References
    ----------
    .. [1] ACR, "Computed Tomography Quality Control Manual", 2017: water CT number, noise and
       uniformity (edge ROIs within ±5 HU of the centre).
    """
    img = require_2d(image, "image")
    ph = phantom or find_phantom(img, pixel_mm, threshold_hu=threshold_hu)
    if ph.truncated or not ph.inside_image(img.shape, margin_px=-1.0):
        raise PhantomNotFoundError(
            "The phantom is not entirely inside the reconstructed field of view, so its edge "
            "cannot be located.",
            hint="Reconstruct with a field of view larger than the phantom (e.g. 250 mm for a "
                 "200 mm water phantom).")
    a = np.sqrt(roi_area_mm2 / np.pi) / pixel_mm
    d = ph.radius_px - edge_offset_mm / pixel_mm - a
    if d < 2.0 * a:
        raise PhantomNotFoundError(
            f"The phantom ({2 * ph.radius_mm:.0f} mm across) is too small for {roi_area_mm2:g} "
            f"mm² ROIs {edge_offset_mm:g} mm inside its edge.",
            hint="Use smaller ROIs (roi_area_mm2) or a smaller edge offset (edge_offset_mm).")
    centre = circle_stats(img, ph.centre_rc, a)
    peripheral = {name: (rc, circle_stats(img, rc, a))
                  for name, rc in clock_positions(ph.centre_rc, d).items()}
    dev = max(abs(s.mean - centre.mean) for _, s in peripheral.values())
    return WaterSlice(ph, float(a), centre, peripheral, float(dev))
