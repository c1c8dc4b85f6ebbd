"""Catphan modules: CTP404 (CT numbers, geometry, slice thickness) and CTP486 (uniformity).

Geometry follows the Catphan 500/504/600/604 manuals (The Phantom Laboratory): in CTP404 four
geometry rods sit at the corners of a 50 mm square around the centre, the sensitometry inserts
on a circle of 58.7 mm radius, and four 23° wire ramps 38 mm from the centre (FWHM × 0.42 =
slice thickness). CTP486 is a uniform module analysed with a centre ROI and four ROIs 53 mm
out. Angles here are in degrees in image coordinates, θ = 0 towards +column (3 o'clock) and
θ = 90 towards +row (6 o'clock), so a point is (row0 + d·sin θ, col0 + d·cos θ); the insert
angles are those of pylinac's Catphan models.

The phantom centre and its roll come from the geometry rods, so CTP404 is found even when the
field of view cuts the phantom's outer wall.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy import ndimage

from imgqa.analysis.ct_phantom import PhantomCircle, circle_stats, find_phantom
from imgqa.analysis.roi import RoiStats, point_rc, require_2d
from imgqa.errors import PhantomNotFoundError

__all__ = [
    "CATPHAN_MODELS",
    "NOMINAL_HU",
    "RAMP_ANGLE_RATIO",
    "Ctp404Result",
    "Ctp486Result",
    "GeometryRods",
    "RampResult",
    "analyse_ctp404",
    "analyse_ctp486",
    "find_geometry_rods",
    "has_catphan_housing",
    "looks_uniform",
]

ROD_SQUARE_MM = 50.0
INSERT_RING_MM = 58.7
INSERT_ROI_RADIUS_MM = 4.0
RAMP_DISTANCE_MM = 38.0
RAMP_LENGTH_MM = 60.0   # long enough that the ramp image stays inside at any z
RAMP_WIDTH_MM = 10.0
# Catphan manual: the wire ramps are at 23° to the slice, so slice thickness = FWHM · 0.42.
RAMP_ANGLE_RATIO = 0.42
CTP486_ROI_DISTANCE_MM = 53.0
CTP486_ROI_RADIUS_MM = 10.0

# Nominal CT numbers (mid-points of the Catphan manual ranges, as in pylinac).
NOMINAL_HU = {"air": -1000.0, "pmp": -196.0, "ldpe": -104.0, "polystyrene": -47.0,
              "water": 0.0, "acrylic": 115.0, "bone_20": 237.0, "delrin": 365.0,
              "bone_50": 725.0, "teflon": 1000.0}

# Insert angles (degrees, convention above) per Catphan model.
CATPHAN_MODELS: dict[str, dict[str, float]] = {
    "504": {"air": -90, "pmp": -120, "ldpe": 180, "polystyrene": 120, "acrylic": 60,
            "delrin": 0, "teflon": -60},
    "600": {"air": 90, "pmp": 60, "ldpe": 0, "polystyrene": -60, "acrylic": -120,
            "delrin": 180, "teflon": 120},
    "604": {"air": -90, "pmp": -120, "bone_50": -150, "ldpe": 180, "polystyrene": 120,
            "acrylic": 60, "bone_20": 30, "delrin": 0, "teflon": -60},
}

# Geometry rods are holes (air) or pins (Teflon): at least this far from their surroundings.
_ROD_CONTRAST_HU = 300.0


# Minor/major axis ratio of a rod candidate: rods are round (≈ 1 even at 1 mm pixels), while a
# wire-ramp line is ≥ 2.4 mm long and ≈ 1 mm wide.
_ROD_MIN_AXIS_RATIO = 0.5


def _axis_ratio(labels: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Minor/major axis ratio of each labelled object, from its second moments."""
    rr, cc = np.indices(labels.shape, dtype=float)
    n = np.maximum(ndimage.sum(np.ones(labels.shape), labels, idx), 1.0)
    mr, mc = ndimage.sum(rr, labels, idx) / n, ndimage.sum(cc, labels, idx) / n
    # + 1/12: the second moment of each pixel's own area, so one- or two-pixel objects are
    # not degenerate
    vrr = ndimage.sum(rr * rr, labels, idx) / n - mr ** 2 + 1 / 12
    vcc = ndimage.sum(cc * cc, labels, idx) / n - mc ** 2 + 1 / 12
    vrc = ndimage.sum(rr * cc, labels, idx) / n - mr * mc
    tr, det = vrr + vcc, vrr * vcc - vrc ** 2
    disc = np.sqrt(np.maximum(tr ** 2 / 4 - det, 0.0))
    return np.sqrt(np.maximum(tr / 2 - disc, 0.0) / (tr / 2 + disc))


def _refine_centroids(weight: np.ndarray, pts: np.ndarray, pixel_mm: float) -> np.ndarray:
    """Contrast-weighted centroid of each rod in a 3.5 mm-radius disc around its first estimate.

    The first estimate comes from the thresholded blob, whose edge cuts the blurred rod
    unevenly at coarse pixels (0.1–0.15 mm bias at 1 mm pixels); the disc holds the whole
    blurred rod, so no cut. The background weight is ~0 (local contrast).
    """
    r = max(3.5 / pixel_mm, 3.0)
    n = int(np.ceil(r)) + 1
    off = np.arange(-n, n + 1)
    out = []
    for p in pts:   # four rods
        r0, c0 = int(round(p[0])), int(round(p[1]))
        rr, cc = r0 + off[:, None], c0 + off[None, :]
        keep = ((np.hypot(rr - p[0], cc - p[1]) <= r) & (rr >= 0) & (cc >= 0)
                & (rr < weight.shape[0]) & (cc < weight.shape[1]))
        w = np.where(keep, weight[np.clip(rr, 0, weight.shape[0] - 1),
                                  np.clip(cc, 0, weight.shape[1] - 1)], 0.0)
        tot = w.sum()
        out.append(p if tot <= 0 else np.array([(w * rr).sum() / tot, (w * cc).sum() / tot]))
    return np.array(out)


def _point(centre_rc: tuple[float, float], distance_px: float, angle_deg: float
           ) -> tuple[float, float]:
    t = np.deg2rad(angle_deg)
    return (float(centre_rc[0] + distance_px * np.sin(t)),
            float(centre_rc[1] + distance_px * np.cos(t)))


@dataclass(frozen=True, slots=True)
class GeometryRods:
    """The four CTP404 geometry rods.

    Attributes
    ----------
    positions_rc : 4 × (row, col)
        Rod centres in pixels, in angular order from the 45° (lower right) rod.
    centre_rc : (row, col)
        Phantom centre (mean of the rods).
    roll_deg : float
        Phantom rotation (positive = clockwise on screen) from the nominal 45°/135°/... rods.
    side_lengths_mm : 4 floats
        Distances between neighbouring rods (nominal 50 mm).
    diagonals_mm : 2 floats
        Distances between opposite rods (nominal 70.7 mm).
    """

    positions_rc: tuple[tuple[float, float], ...]
    centre_rc: tuple[float, float]
    roll_deg: float
    side_lengths_mm: tuple[float, ...]
    diagonals_mm: tuple[float, float]


def find_geometry_rods(image: np.ndarray, pixel_mm: float, *,
                       tolerance: float = 0.15) -> GeometryRods:
    """Find the four CTP404 geometry rods (a 50 mm square of small holes or pins).

    Candidates are compact objects of 1.5–7 mm that differ from their surroundings by more
    than 300 HU; the four whose six distances best match a square of side 50 mm (± `tolerance`,
    allowing for a wrong pixel size) are chosen.

    Raises
    ------
    PhantomNotFoundError
        No such square: the slice is not CTP404.
    """
    img = require_2d(image, "image").astype(float, copy=False)
    sm = ndimage.gaussian_filter(img, 1.0)
    local = ndimage.uniform_filter(sm, size=max(3, int(round(15.0 / pixel_mm))))
    cands: list[tuple[float, float]] = []
    for sign in (-1.0, 1.0):
        labels, n = ndimage.label(sign * (sm - local) > _ROD_CONTRAST_HU / 2.0)
        if n == 0 or n > 500:
            continue
        idx = np.arange(1, n + 1)
        areas = ndimage.sum(np.ones_like(sm), labels, idx) * pixel_mm ** 2
        diam = 2.0 * np.sqrt(areas / np.pi)
        ok = idx[(diam >= 1.5) & (diam <= 7.0) & (_axis_ratio(labels, idx) >= _ROD_MIN_AXIS_RATIO)]
        if ok.size:
            w = np.abs(sm - local)
            cents = ndimage.center_of_mass(w, labels, ok)
            # air holes of the rods sit in plastic, not in air outside the phantom
            cands.extend(c for c in cents if img[int(c[0]), int(c[1])] > -2000
                         and np.median(sm[max(int(c[0]) - 12, 0):int(c[0]) + 13,
                                          max(int(c[1]) - 12, 0):int(c[1]) + 13]) > -400)
    if len(cands) < 4:
        raise PhantomNotFoundError(
            "The four CTP404 geometry rods (a 50 mm square of small holes) were not found.")
    pts = np.array(cands[:40])
    side_px = ROD_SQUARE_MM / pixel_mm
    # All 4-subsets at once (≤ 91 390 for 40 candidates): the six distances of each, sorted.
    dist = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))
    # 4-subsets i < j < k < l in lexicographic order, built by numpy (a list of 91 390 tuples
    # held the GIL for ~30 ms and set off a full garbage collection, stalling the GUI thread).
    idx = np.arange(len(pts))
    a, b, c, e = np.ix_(idx, idx, idx, idx)
    combos = np.argwhere((a < b) & (b < c) & (c < e)).astype(np.intp)
    pairs = np.array(list(combinations(range(4), 2)), dtype=np.intp)
    d = np.sort(dist[combos[:, pairs[:, 0]], combos[:, pairs[:, 1]]], axis=1)
    s = d[:, :4].mean(axis=1)
    err = (d[:, :4].std(axis=1) / s + d[:, 4:].std(axis=1) / s
           + np.abs(d[:, 4:].mean(axis=1) / s - np.sqrt(2)))
    err[(s < (1 - tolerance) * side_px) | (s > (1 + tolerance) * side_px)] = np.inf
    # Among good squares prefer the one nearest 50 mm: the four wire ramps, when short (thin
    # slices) and compact enough to pass the filters, form a second square of side ≈ 54 mm.
    k = int(np.argmin(np.where(err <= 0.05, err + 0.1 * np.abs(s / side_px - 1.0), np.inf)))
    k = k if err[k] <= 0.05 else int(np.argmin(err))
    best, best_err = (pts[combos[k]], float(err[k])) if np.isfinite(err[k]) else (None, np.inf)
    if best is None or best_err > 0.05:
        raise PhantomNotFoundError(
            "No 50 mm square of geometry rods found: this slice is not a Catphan CTP404 module "
            "(or the pixel size is wrong by more than 15 %).")
    best = _refine_centroids(np.abs(sm - local), best, pixel_mm)
    centre = best.mean(axis=0)
    ang = np.degrees(np.arctan2(best[:, 0] - centre[0], best[:, 1] - centre[1]))
    order = np.argsort((ang - 45.0) % 360.0)
    best, ang = best[order], ang[order]
    off = ((ang - 45.0 + 45.0) % 90.0) - 45.0  # offset from the nearest 45° + k·90°
    roll = float(np.degrees(np.angle(np.mean(np.exp(1j * np.deg2rad(off) * 4)))) / 4.0)
    sides = tuple(float(np.hypot(*(best[k] - best[(k + 1) % 4])) * pixel_mm) for k in range(4))
    diags = (float(np.hypot(*(best[0] - best[2])) * pixel_mm),
             float(np.hypot(*(best[1] - best[3])) * pixel_mm))
    return GeometryRods(tuple((float(r), float(c)) for r, c in best),
                        (float(centre[0]), float(centre[1])), roll, sides, diags)


@dataclass(frozen=True, slots=True)
class RampResult:
    """One wire ramp: FWHM of its profile and the slice thickness it gives."""

    name: str
    fwhm_mm: float
    slice_thickness_mm: float
    corners_rc: tuple[tuple[float, float], ...]
    profile: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Ctp404Result:
    """CTP404 analysis of one slice.

    Attributes
    ----------
    model : str
        Catphan model whose insert layout was used ("504", "600", "604").
    inserts : dict
        Material → (centre (row, col), RoiStats, nominal HU).
    rods : GeometryRods
    ramps : tuple of RampResult
    roi_radius_px : float
    quarter_turns : int
        Extra roll of the insert ring in multiples of 90° (counter-clockwise on screen) beyond
        the rods' ±45° roll: the rod square looks the same every 90°, so the layout is matched
        at all four. 0 for a normally mounted phantom.
    mirrored : bool
        The insert ring matches only mirrored: the image is flipped (e.g. a feet-first/
        head-first entry that does not match the set-up, or the phantom inserted reversed).
        The materials are still assigned right; the caller should warn.
    """

    model: str
    inserts: dict[str, tuple[tuple[float, float], RoiStats, float]]
    rods: GeometryRods
    ramps: tuple[RampResult, ...]
    roi_radius_px: float
    quarter_turns: int = 0
    mirrored: bool = False

    @property
    def slice_thickness_mm(self) -> float:
        vals = [r.slice_thickness_mm for r in self.ramps if np.isfinite(r.slice_thickness_mm)]
        return float(np.mean(vals)) if vals else float("nan")

    @property
    def max_hu_error(self) -> float:
        return float(max(abs(s.mean - nom) for _, s, nom in self.inserts.values()))


def _fwhm(profile: np.ndarray, step_mm: float) -> float:
    """FWHM (mm) of a peak over the background (median of the profile: the peak is narrow)."""
    bg = float(np.median(profile))
    p = profile - bg
    k = int(np.argmax(p))
    half = p[k] / 2.0
    if half <= 0:
        return float("nan")
    left = np.nonzero(p[:k] < half)[0]
    right = np.nonzero(p[k:] < half)[0]
    if left.size == 0 or right.size == 0:
        return float("nan")
    i = int(left[-1])
    j = int(right[0]) + k
    x_left = i + (half - p[i]) / (p[i + 1] - p[i])
    x_right = j - 1 + (p[j - 1] - half) / (p[j - 1] - p[j])
    return float((x_right - x_left) * step_mm)


def _ramp(image: np.ndarray, pixel_mm: float, centre_rc: tuple[float, float], roll: float,
          angle: float, name: str) -> RampResult:
    """Slice thickness from the wire ramp at `angle` (ramp along the tangential direction)."""
    step = pixel_mm / 2.0
    t = np.deg2rad(angle + roll)
    radial = np.array([np.sin(t), np.cos(t)])          # (row, col) unit vector outwards
    tangent = np.array([np.cos(t), -np.sin(t)])
    u = np.arange(-RAMP_LENGTH_MM / 2, RAMP_LENGTH_MM / 2 + step / 2, step)   # along the ramp
    v = np.arange(-RAMP_WIDTH_MM / 2, RAMP_WIDTH_MM / 2 + step / 2, step)     # across it
    c = np.asarray(centre_rc) + radial * RAMP_DISTANCE_MM / pixel_mm
    coords = (c[:, None, None] + (tangent[:, None, None] * u[None, :, None]
                                  + radial[:, None, None] * v[None, None, :]) / pixel_mm)
    roi = ndimage.map_coordinates(np.asarray(image, dtype=float), coords, order=1)  # (u, v)
    # The wire is a line at one v: pick it (largest mean along u), average ±1 pixel around it.
    mean_v = roi.mean(axis=0)
    k = int(np.argmax(mean_v - np.median(mean_v)))
    lo, hi = max(k - 2, 0), min(k + 3, v.size)
    profile = roi[:, lo:hi].mean(axis=1)
    fwhm = _fwhm(profile, step)
    corners = tuple(point_rc(c + (tangent * a + radial * b) / pixel_mm)
                    for a, b in ((-RAMP_LENGTH_MM / 2, -RAMP_WIDTH_MM / 2),
                                         (RAMP_LENGTH_MM / 2, -RAMP_WIDTH_MM / 2),
                                         (RAMP_LENGTH_MM / 2, RAMP_WIDTH_MM / 2),
                                         (-RAMP_LENGTH_MM / 2, RAMP_WIDTH_MM / 2)))
    return RampResult(name, fwhm, fwhm * RAMP_ANGLE_RATIO, corners, profile)


def analyse_ctp404(image: np.ndarray, pixel_mm: float, *, model: str = "auto",
                   rods: GeometryRods | None = None) -> Ctp404Result:
    """CT numbers of the sensitometry inserts, geometry rods and wire-ramp slice thickness.

    Parameters
    ----------
    image : (M, N) ndarray
        CTP404 slice in HU.
    pixel_mm : float
    model : {"auto", "504", "600", "604"}
        Insert layout; "auto" picks the layout whose nominal CT numbers best match the insert
        positions (a layout check, not a calibration: the numbers reported are the measured
        ones).

    References
    ----------
    .. [1] The Phantom Laboratory, Catphan 500 and 600 Manual (CTP404 module).
    .. [2] IEC 61223-3-5:2019 (CT number linearity, slice thickness from ramps).
    """
    img = require_2d(image, "image").astype(float, copy=False)
    rods = rods or find_geometry_rods(img, pixel_mm)
    centre, roll = rods.centre_rc, rods.roll_deg
    ring = INSERT_RING_MM / pixel_mm
    rad = INSERT_ROI_RADIUS_MM / pixel_mm
    models = CATPHAN_MODELS if model == "auto" else {model: CATPHAN_MODELS[model]}
    # The rods give the roll only modulo 90° (a square) and cannot tell a mirrored image, so
    # the ring is matched at every quarter turn, plain and mirrored (θ → 180° − θ). Matching
    # only the ±45° roll put the Teflon ROI on acrylic in a mirrored image and every ROI off
    # its insert after a 90° turn, with nothing to show it. Ties keep the first candidate:
    # plain before mirrored, no turn first (the CTP404 rings of the 504 and the 600 are the
    # same ring turned by 180°, so that tie is exact and the model name follows this order).
    best = None
    for mirror in (False, True):
        for turns in (0, 1, -1, 2):
            for name, layout in models.items():
                inserts = {}
                for mat, a in layout.items():
                    # image angles run clockwise on screen (θ = 90° towards +row): a quarter
                    # turn counter-clockwise is −90°
                    pos = _point(centre, ring, (180.0 - a if mirror else a) + roll - 90.0 * turns)
                    inserts[mat] = (pos, circle_stats(img, pos, rad), NOMINAL_HU[mat])
                score = np.mean([abs(s.mean - nom) for _, s, nom in inserts.values()])
                if best is None or score < best[0]:
                    best = (score, name, inserts, turns, mirror)
    assert best is not None  # models holds at least one layout (an unknown one is a KeyError)
    _, name, inserts, turns, mirror = best
    ramps = tuple(_ramp(img, pixel_mm, centre, roll, a, n)
                  for a, n in ((-90, "top"), (0, "right"), (90, "bottom"), (180, "left")))
    return Ctp404Result(name, inserts, rods, ramps, float(rad), turns, mirror)


@dataclass(frozen=True, slots=True)
class Ctp486Result:
    """CTP486 uniformity: centre and four peripheral ROIs (53 mm out, 10 mm radius)."""

    phantom: PhantomCircle
    centre: RoiStats
    peripheral: dict[str, tuple[tuple[float, float], RoiStats]]
    roi_radius_px: float

    @property
    def uniformity_max_deviation_hu(self) -> float:
        return float(max(abs(s.mean - self.centre.mean) for _, s in self.peripheral.values()))


def analyse_ctp486(image: np.ndarray, pixel_mm: float, *,
                   phantom: PhantomCircle | None = None) -> Ctp486Result:
    """Uniformity of the CTP486 module (Catphan manual; IEC 61223-3-5)."""
    img = require_2d(image, "image").astype(float, copy=False)
    ph = phantom or find_phantom(img, pixel_mm)
    rad = CTP486_ROI_RADIUS_MM / pixel_mm
    d = CTP486_ROI_DISTANCE_MM / pixel_mm
    centre = circle_stats(img, ph.centre_rc, rad)
    peripheral = {}
    for name, a in (("12", -90.0), ("3", 0.0), ("6", 90.0), ("9", 180.0)):
        pos = _point(ph.centre_rc, d, a)
        peripheral[name] = (pos, circle_stats(img, pos, rad))
    return Ctp486Result(ph, centre, peripheral, float(rad))


def looks_uniform(image: np.ndarray, pixel_mm: float) -> tuple[bool, PhantomCircle | None]:
    """Whether a slice is a CTP486-like uniform module: a round, featureless, water-equivalent
    disc without the plastic wall of a water phantom."""
    try:
        ph = find_phantom(image, pixel_mm)
        if ph.truncated or not ph.inside_image(np.shape(image)):
            return False, None
        res = analyse_ctp486(image, pixel_mm, phantom=ph)
    except PhantomNotFoundError:
        return False, None
    # A water phantom has an acrylic wall (~+120 HU) a few mm thick; the Catphan's CTP486
    # material reaches to the outer edge.
    r_mm = np.hypot(*np.meshgrid(np.arange(image.shape[0]) - ph.centre_rc[0],
                                 np.arange(image.shape[1]) - ph.centre_rc[1],
                                 indexing="ij")) * pixel_mm
    band = (r_mm > ph.radius_mm - 5.0) & (r_mm < ph.radius_mm - 2.0)
    if band.any() and np.median(image[band]) - res.centre.mean > 60.0:
        return False, ph
    sds = [res.centre.sd] + [s.sd for _, s in res.peripheral.values()]
    # CTP486 material is water-equivalent (manual: within a few HU of water, ~+10 to +20 HU
    # measured); other uniform-looking modules (CTP591 bead module) read higher.
    ok = -40.0 < res.centre.mean < 50.0 and max(sds) < 3.0 * min(sds) + 5.0 \
        and res.uniformity_max_deviation_hu < 40.0
    return bool(ok), ph


# Catphan modules are 150 mm discs in a 200 mm housing; the thin air gap between them shows as a
# dark ring at r ≈ 75 mm (0.75 of the outer radius). Water phantoms have no such ring.
_HOUSING_RADIUS_MM = (95.0, 106.0)
_GAP_FRACTION = (0.70, 0.79)
_GAP_DEPTH_HU = 50.0


def has_catphan_housing(image: np.ndarray, pixel_mm: float,
                        phantom: PhantomCircle | None = None) -> bool:
    """Whether the slice shows the Catphan housing: a ~200 mm disc with a dark ring (the air
    gap around the 150 mm module) at about 0.75 of its radius.

    The mean CT number in 1 %-of-radius rings is computed; the gap is found when the lowest
    ring between 0.70 and 0.79 of the radius reads more than 50 HU below both the module
    (0.60–0.70) and the housing (0.80–0.95). A water phantom's profile is flat up to its wall.
    """
    img = require_2d(image, "image")
    try:
        ph = phantom or find_phantom(img, pixel_mm)
    except PhantomNotFoundError:
        return False
    if not _HOUSING_RADIUS_MM[0] <= ph.radius_mm <= _HOUSING_RADIUS_MM[1]:
        return False
    rr, cc = np.indices(img.shape)
    frac = np.hypot(rr - ph.centre_rc[0], cc - ph.centre_rc[1]) / ph.radius_px
    b = np.clip((frac * 100).astype(int), 0, 101)
    n = np.bincount(b.ravel(), minlength=102)
    m = np.bincount(b.ravel(), img.ravel().astype(float), minlength=102) / np.maximum(n, 1)
    gap = float(m[int(_GAP_FRACTION[0] * 100):int(_GAP_FRACTION[1] * 100) + 1].min())
    module = float(np.median(m[60:70]))
    housing = float(np.median(m[80:96]))
    return bool(gap < min(module, housing) - _GAP_DEPTH_HU)
