"""Catphan CTP515 low-contrast module: CNR of the supra-slice targets and a visibility count.

The supra-slice targets are rods of 2, 3, 4, 5, 6, 7, 8, 9 and 15 mm diameter in three
groups of nominal contrast 1.0 %, 0.5 % and 0.3 % (10, 5 and 3 HU), on a circle of 50 mm
radius. The angles of the 1.0 % group (15 … 5 mm) are pylinac's CTP515 angles; the 4, 3 and
2 mm targets continue with the same decreasing spacing, and the 0.5 % and 0.3 % groups are the
1.0 % group turned by 120° and 240°. This layout is approximate (no real CTP515 image was
available to check it); the rotation is found on the image.

Method
------
* *Rotation and detection.* The image is smoothed with disc means of 0.7 × the 15 mm and 9 mm
  target radii and sampled on the 50 mm circle; for every trial rotation (0.5° steps, all
  angles, or ± 10° around the CTP404 roll and the 180° turned Catphan 600 layout) the
  contrast-weighted sum of the six 15/9 mm target means over the ring median is the score.
  The module is detected when the best score stands out by more than `_MIN_Z` (10) robust
  standard deviations from the same score computed on a target-free ring (65 mm) at all
  rotations. Uniform real slices (CTP486, water phantoms) give 2–6; synthetic CTP515 slices
  with 5–14 HU noise give 40–130. Low-contrast modules only: anything deviating more than
  150 HU (after 1-pixel smoothing) within ± 12 mm of the target circle rejects the slice.
* *Per target.* ROI = disc of 0.7 × the target radius (edge and partial volume excluded);
  background = two 4 mm-radius discs on the same radius line at 0.75 and 1.25 × 50 mm (as
  pylinac). CNR = (mean target − mean background) / SD background (pooled pixel SD).
* *Visibility.* Rose's criterion: a target of area A (pixels) is visible when its Rose index
  CNR·√A ≥ k (k = `rose_threshold`, 5 by default after Rose 1948). This assumes white noise;
  correlated CT noise makes it optimistic, so treat the count as a trend indicator.

References
----------
.. [1] The Phantom Laboratory, Catphan 500/600 Manual, CTP515 low contrast module.
.. [2] A. Rose, "The sensitivity performance of the human eye on an absolute scale",
   J. Opt. Soc. Am. 38 (1948) 196-208.
.. [3] AAPM Report 233 (2019) §6 (low-contrast detectability).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np
from scipy import ndimage

from imgqa.analysis._fftconv import fftconvolve
from imgqa.analysis.ct_phantom import circle_stats
from imgqa.analysis.ctp515_layout import CTP515_CONTRASTS, CTP515_DIAMETERS_MM
from imgqa.analysis.roi import RoiStats, circle_mask, point_rc, require_2d
from imgqa.errors import PhantomNotFoundError

__all__ = [
    "CTP515_CONTRASTS",
    "CTP515_DIAMETERS_MM",
    "CTP515_RADIUS_MM",
    "Ctp515LayoutItem",
    "Ctp515Result",
    "Ctp515Target",
    "analyse_ctp515",
    "ctp515_layout",
    "ctp515_target_name",
]

CTP515_RADIUS_MM = 50.0
_ANGLES_1PCT = (-87.4, -69.1, -52.7, -38.5, -25.1, -12.9, -1.9, 8.1, 17.1)
_ROI_FRACTION = 0.7
_BG_RADIUS_MM = 4.0
_BG_RATIOS = (0.75, 1.25)
_MIN_Z = 10.0
_NULL_RADIUS_MM = 65.0
_MAX_OBJECT_HU = 150.0   # nothing on the target circle may differ this much (smoothed)


def ctp515_target_name(token: str, diameter_mm: int) -> str:
    """Measurement name of one target's CNR, e.g. ``ctp515_cnr_1p0_15mm``."""
    return f"ctp515_cnr_{token}_{diameter_mm}mm"


class Ctp515LayoutItem(TypedDict):
    """One nominal CTP515 target of `ctp515_layout`."""

    token: str               # contrast group in measurement names: "1p0", "0p5", "0p3"
    contrast_percent: float  # nominal contrast, %
    diameter_mm: int
    angle_deg: float         # position on the 50 mm circle at roll 0


def ctp515_layout() -> list[Ctp515LayoutItem]:
    """Nominal targets: contrast token, contrast %, diameter (mm), angle (°, roll 0)."""
    return [Ctp515LayoutItem(token=tok, contrast_percent=pct, diameter_mm=d,
                             angle_deg=a + off)
            for tok, pct, off in CTP515_CONTRASTS
            for d, a in zip(CTP515_DIAMETERS_MM, _ANGLES_1PCT)]


@dataclass(frozen=True, slots=True)
class Ctp515Target:
    """One supra-slice target."""

    name: str
    contrast_percent: float
    diameter_mm: float
    centre_rc: tuple[float, float]
    roi_radius_px: float
    target: RoiStats
    background_mean: float
    background_sd: float
    background_rc: tuple[tuple[float, float], tuple[float, float]]
    cnr: float
    rose_index: float
    visible: bool


@dataclass(frozen=True, slots=True)
class Ctp515Result:
    """CTP515 analysis of one slice."""

    targets: tuple[Ctp515Target, ...]
    rotation_deg: float
    detection_z: float
    rose_threshold: float
    background_roi_radius_px: float
    mirrored: bool = False                # layout matched in the opposite sense

    @property
    def visible_targets(self) -> int:
        return int(sum(t.visible for t in self.targets))


def _disc_mean(img: np.ndarray, radius_px: float) -> np.ndarray:
    k = circle_mask((2 * int(np.ceil(radius_px)) + 1,) * 2,
                    (np.ceil(radius_px), np.ceil(radius_px)), radius_px).astype(float)
    return fftconvolve(img, k / k.sum(), mode="same")


def _rotation_scores(img, pixel_mm, centre_rc, angles, radius_mm=CTP515_RADIUS_MM,
                     smoothed=None, sense=1.0):
    """Contrast-weighted sum of the ≥ 5 mm targets' disc means minus the ring median.

    `sense` −1 scores the mirrored layout (the target angles run the other way round)."""
    score = np.zeros(angles.size)
    dist = radius_mm / pixel_mm
    ring_t = np.deg2rad(np.arange(0.0, 360.0, 0.5))
    for i_d, d in enumerate(CTP515_DIAMETERS_MM[:6]):
        # full target size: the correlation of two equal discs peaks sharply at the target
        sm = smoothed[i_d] if smoothed else _disc_mean(img, max(d / 2.0 / pixel_mm, 1.0))
        ring = ndimage.map_coordinates(sm, [centre_rc[0] + dist * np.sin(ring_t),
                                            centre_rc[1] + dist * np.cos(ring_t)], order=1)
        base = np.median(ring)
        for _, pct, off in CTP515_CONTRASTS:
            t = np.deg2rad(angles + sense * (_ANGLES_1PCT[i_d] + off))
            vals = ndimage.map_coordinates(sm, [centre_rc[0] + dist * np.sin(t),
                                                centre_rc[1] + dist * np.cos(t)], order=1)
            score += pct * (vals - base)
    # either sign of contrast (the targets are nominally brighter than the background)
    return np.abs(score)


def _find_rotation(img, pixel_mm, centre_rc, roll_deg):
    """Best rotation, its significance and whether the layout is mirrored.

    Both senses of the layout are scored: a mirrored slice (feet-first/head-first mix-up, or
    the phantom scanned reversed) otherwise matches a wrong rotation (measured on the digital
    phantom: −70.6° instead of 183°, two 1 % targets lost). The plain sense wins ties.

    The significance z compares the best score with the same score computed on a target-free
    ring (65 mm radius, between the targets and the module edge) over all rotations: z =
    (best − median_null) / (1.4826·MAD_null). Noise alone gives z ≈ 3–5 (the maximum over
    720 correlated rotations); the targets give far more.
    """
    smoothed = [_disc_mean(img, max(d / 2.0 / pixel_mm, 1.0))
                for d in CTP515_DIAMETERS_MM[:6]]
    angles = np.arange(-180.0, 180.0, 0.5)
    options = []  # (sense, scores, candidate scores) for plain and mirrored
    for sense in (1.0, -1.0):
        sc = _rotation_scores(img, pixel_mm, centre_rc, angles, smoothed=smoothed, sense=sense)
        if roll_deg is not None:
            near = [((angles - base + 180.0) % 360.0 - 180.0)
                    for base in (roll_deg, roll_deg + 180)]
            cd = np.where((np.abs(near[0]) <= 10.0) | (np.abs(near[1]) <= 10.0), sc, -np.inf)
        else:
            cd = sc
        options.append((sense, sc, cd))
    # the first of equal maxima: plain before mirrored
    best_sense, score, cand = max(options, key=lambda o: o[2].max())
    null = _rotation_scores(img, pixel_mm, centre_rc, angles, _NULL_RADIUS_MM, smoothed,
                            sense=best_sense)
    j = int(np.argmax(cand))
    med = np.median(null)
    mad = 1.4826 * np.median(np.abs(null - med)) + 1e-9
    fine = angles[j] + np.arange(-0.5, 0.51, 0.1)
    best = fine[int(np.argmax(_rotation_scores(img, pixel_mm, centre_rc, fine,
                                               smoothed=smoothed, sense=best_sense)))]
    return (float(((best + 180.0) % 360.0) - 180.0), float((score[j] - med) / mad),
            best_sense < 0)


def analyse_ctp515(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float], *,
                   roll_deg: float | None = None, rose_threshold: float = 5.0,
                   rotation_deg: float | None = None, mirrored: bool = False) -> Ctp515Result:
    """CNR of the 27 supra-slice targets of CTP515 and the number of visible ones.

    Parameters
    ----------
    image : (M, N) ndarray
        CTP515 slice in HU.
    pixel_mm : float
    centre_rc : (row, col)
        Phantom centre.
    roll_deg : float, optional
        Roll from CTP404: the rotation is searched within ± 10° of it (and of it + 180°).
    rose_threshold : float
        Rose index (CNR·√area in pixels) at or above which a target counts as visible.
    rotation_deg : float, optional
        Use this rotation instead of searching (skips detection).
    mirrored : bool
        With `rotation_deg`: the layout runs the other way round (a mirrored slice). When the
        rotation is searched, both senses are tried and the result says which matched.

    Raises
    ------
    PhantomNotFoundError
        The large targets are not found: the slice is not CTP515.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    # CTP515 holds only low-contrast objects around the target circle; beads (CTP591), bars
    # (CTP528) or inserts there mean another module.
    rr, cc = np.ogrid[:img.shape[0], :img.shape[1]]
    r_mm = np.hypot(rr - centre_rc[0], cc - centre_rc[1]) * pixel_mm
    ring = (r_mm > CTP515_RADIUS_MM - 12.0) & (r_mm < CTP515_RADIUS_MM + 12.0)
    sm = ndimage.gaussian_filter(img, 1.0)[ring]
    if not ring.any() or np.max(np.abs(sm - np.median(sm))) > _MAX_OBJECT_HU:
        raise PhantomNotFoundError(
            "High-contrast objects lie on the CTP515 target circle: this slice is not the "
            "low-contrast module.")
    if rotation_deg is None:
        rotation_deg, z, mirrored = _find_rotation(img, pixel_mm, centre_rc, roll_deg)
        if z < _MIN_Z:
            raise PhantomNotFoundError(
                "No CTP515 low-contrast targets found on the 50 mm circle (the large targets "
                f"do not stand out from the background: z = {z:.1f}).")
    else:
        z = float("nan")
    dist = CTP515_RADIUS_MM / pixel_mm
    bg_r = _BG_RADIUS_MM / pixel_mm
    targets = []
    for item in ctp515_layout():
        t = np.deg2rad((-item["angle_deg"] if mirrored else item["angle_deg"]) + rotation_deg)
        unit = np.array([np.sin(t), np.cos(t)])
        pos = point_rc(np.asarray(centre_rc) + dist * unit)
        rad = max(_ROI_FRACTION * item["diameter_mm"] / 2.0 / pixel_mm, 0.75)
        st = circle_stats(img, pos, rad)
        bgs = [point_rc(np.asarray(centre_rc) + q * dist * unit)
               for q in _BG_RATIOS]
        bst = [circle_stats(img, p, bg_r) for p in bgs]
        n = np.array([s.n_pixels for s in bst], dtype=float)
        bmean = float(np.sum([s.mean * k for s, k in zip(bst, n)]) / n.sum())
        bsd = float(np.sqrt(np.sum([(k - 1) * s.sd ** 2 for s, k in zip(bst, n)])
                            / (n.sum() - 2)))
        cnr = (st.mean - bmean) / bsd if bsd > 0 else float("nan")
        area_px = np.pi * (item["diameter_mm"] / 2.0 / pixel_mm) ** 2
        rose = float(abs(cnr) * np.sqrt(area_px))
        targets.append(Ctp515Target(
            ctp515_target_name(item["token"], item["diameter_mm"]), item["contrast_percent"],
            float(item["diameter_mm"]), pos, float(rad), st, bmean, bsd,
            (bgs[0], bgs[1]), float(cnr), rose, bool(rose >= rose_threshold)))
    return Ctp515Result(tuple(targets), float(rotation_deg), float(z), float(rose_threshold),
                        float(bg_r), bool(mirrored))
