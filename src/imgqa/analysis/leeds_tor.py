"""Leeds TOR 18FG-type test object: threshold-contrast discs and bar-pattern resolution.

Geometry (`TorLayout`, in units of the phantom radius R and degrees, phantom frame): 18 discs
on a ring at 0.785 R, at 30°–150° and 210°–330° every 15° (the layout pylinac's LeedsTOR uses
for the real TOR 18FG), a dense orientation marker on the ring at 0°, and bar-pattern groups
(square-wave bars, one frequency each) in the central area. The disc contrasts fall from disc
1 to disc 18, as on the real object.

Analysis (pure numpy/scipy, rotation- and translation-invariant):

1. Phantom: the plate attenuates, so the largest low-signal region (threshold half-way between
   the two main signal levels) is the phantom; centre = its centroid, R = √(area/π).
2. Rotation: the signal on the disc ring, sampled every 0.25°, is lowest at the marker.
3. Discs: mean in a disc ROI (0.7 × the disc radius) and mean/SD in an annulus (1.3–1.8 ×
   the disc radius) around it. Contrast = (bg − disc)/bg; CNR = (bg − disc)/SD_bg (per
   pixel). A disc counts as detected when its Rose SNR, CNR·√(pixels in the disc), reaches
   ``detection_threshold`` (Rose criterion, default 5).
4. Bars: each group's patch is resampled in the phantom frame (so rotation does not matter)
   and averaged along the bars; the amplitude of the fundamental at the group's frequency is
   fitted (least squares, sine and cosine). Modulation = amplitude / that of the lowest
   frequency group; the limiting resolution is the highest frequency whose modulation (and that
   of every lower group) is ≥ ``modulation_threshold`` (default 0.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["TorLayout", "TOR18FG", "TorResult", "analyse_tor", "find_phantom"]

TOR_FREQUENCIES = (0.5, 0.56, 0.63, 0.71, 0.8, 0.9, 1.0, 1.12, 1.25, 1.4, 1.6, 1.8, 2.0,
                   2.24, 2.5, 2.8, 3.15, 3.55, 4.0, 4.5, 5.0)


def _bar_grid() -> tuple[tuple[float, float], ...]:
    """Centres (x, y) of the 21 bar groups in units of R: a 5 × 5 grid (0.1 R pitch) without
    its 4 corners, row by row."""
    pts = []
    for j in range(5):
        for i in range(5):
            if (i, j) in ((0, 0), (4, 0), (0, 4), (4, 4)):
                continue
            pts.append(((i - 2) * 0.1, (j - 2) * 0.1))
    return tuple(pts)


@dataclass(frozen=True)
class TorLayout:
    """Where things are on the object, in units of the phantom radius R (phantom frame: x to
    the right, y down, angles clockwise from +x on the image)."""

    radius_mm: float = 80.0
    disc_ring: float = 0.785
    disc_angles_deg: tuple[float, ...] = tuple(range(30, 151, 15)) + tuple(range(210, 331, 15))
    disc_radius: float = 0.05                 # 8 mm discs on an 80 mm radius
    marker_angle_deg: float = 0.0
    marker_half: float = 0.03
    bar_centres: tuple[tuple[float, float], ...] = field(default_factory=_bar_grid)
    bar_half: float = 0.04                    # 6.4 mm square patches
    frequencies: tuple[float, ...] = TOR_FREQUENCIES


TOR18FG = TorLayout()


@dataclass(frozen=True, slots=True)
class TorResult:
    """Leeds TOR analysis of one image (pixel coordinates are (row, col))."""

    centre: tuple[float, float]
    radius_px: float
    angle_deg: float
    disc_centres: tuple[tuple[float, float], ...]
    disc_radius_px: float
    contrast: np.ndarray
    cnr: np.ndarray
    rose: np.ndarray
    detected: np.ndarray
    modulation: np.ndarray
    limiting_resolution_lp_mm: float | None
    limiting_group: int
    bar_centres: tuple[tuple[float, float], ...]
    bar_half_px: float

    @property
    def discs_detected(self) -> int:
        return int(self.detected.sum())


def find_phantom(image: np.ndarray) -> tuple[tuple[float, float], float]:
    """Centre (row, col) and radius (px) of the attenuating plate.

    Raises
    ------
    ValueError
        No round low-signal region filling a reasonable part of the image.
    """
    img = np.asarray(image, dtype=np.float64)
    b = max(1, min(img.shape) // 256)
    small = img[: img.shape[0] // b * b, : img.shape[1] // b * b]
    small = small.reshape(small.shape[0] // b, b, small.shape[1] // b, b).mean(axis=(1, 3))
    small = ndimage.median_filter(small, 5)
    lo, hi = np.percentile(small, [25, 97])
    noise = 1.4826 * float(np.median(np.abs(np.diff(small, axis=1)))) / np.sqrt(2)
    if hi - lo <= 8 * noise:
        raise ValueError("no attenuating plate stands out from the noise")
    mask = small < (lo + hi) / 2
    labels, n = ndimage.label(ndimage.binary_opening(mask, iterations=2))
    if n == 0:
        raise ValueError("no attenuating plate found")
    sizes = ndimage.sum_labels(np.ones_like(labels), labels, np.arange(1, n + 1))
    k = int(np.argmax(sizes)) + 1
    region = ndimage.binary_fill_holes(labels == k)
    area = float(region.sum())
    if area < 0.05 * region.size:
        raise ValueError("the attenuating region is too small to be the test object")
    rows, cols = np.nonzero(region)
    box = float((np.ptp(rows) + 1) * (np.ptp(cols) + 1))
    if not 0.65 <= area / box <= 0.9:   # a disc fills π/4 of its bounding box
        raise ValueError("the attenuating region is not round")
    rc, cc = ndimage.center_of_mass(region)
    return ((rc + 0.5) * b - 0.5, (cc + 0.5) * b - 0.5), float(np.sqrt(area / np.pi)) * b


def _to_image(centre: tuple[float, float], radius_px: float, angle_deg: float,
              x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phantom-frame (x, y in units of R) → image (row, col)."""
    t = np.deg2rad(angle_deg)
    col = centre[1] + radius_px * (x * np.cos(t) - y * np.sin(t))
    row = centre[0] + radius_px * (x * np.sin(t) + y * np.cos(t))
    return row, col


def _find_angle(img: np.ndarray, centre: tuple[float, float], radius_px: float,
                layout: TorLayout) -> float:
    phis = np.arange(0.0, 360.0, 0.25)
    radii = layout.disc_ring + np.linspace(-0.5, 0.5, 5) * layout.marker_half
    r = radii[:, None] * radius_px
    rows = centre[0] + r * np.sin(np.deg2rad(phis))[None, :]
    cols = centre[1] + r * np.cos(np.deg2rad(phis))[None, :]
    ring = ndimage.map_coordinates(img, [rows, cols], order=1, mode="nearest").mean(axis=0)
    width = max(1, int(round(np.degrees(layout.marker_half / layout.disc_ring) / 0.25)))
    smooth = ndimage.uniform_filter1d(ring, width, mode="wrap")
    k = int(np.argmin(smooth))
    # The marker is a plateau several degrees wide: its centre is the weighted mean angle of
    # the samples within ±10° that are darker than half-way to the ring's median.
    near = (np.arange(-40, 41) + k) % phis.size
    depth = np.median(ring) - ring[near]
    w = np.clip(depth - 0.5 * depth.max(), 0.0, None)
    offset = float(np.sum(w * np.arange(-40, 41)) / np.sum(w)) * 0.25 if w.sum() > 0 else 0.0
    return float(phis[k] + offset - layout.marker_angle_deg) % 360.0


def _disc_stats(img: np.ndarray, centre: tuple[float, float], r_px: float
                ) -> tuple[float, float, float, int]:
    """Disc mean, background mean and SD, pixels in the disc ROI."""
    h = int(np.ceil(1.9 * r_px)) + 1
    r0, c0 = int(round(centre[0])) - h, int(round(centre[1])) - h
    r0c, c0c = max(r0, 0), max(c0, 0)
    win = img[r0c:r0 + 2 * h + 1, c0c:c0 + 2 * h + 1]
    yy, xx = np.mgrid[r0c:r0c + win.shape[0], c0c:c0c + win.shape[1]]
    d = np.hypot(yy - centre[0], xx - centre[1])
    inner = win[d <= 0.7 * r_px]
    ring = win[(d >= 1.3 * r_px) & (d <= 1.8 * r_px)]
    if inner.size < 4 or ring.size < 4:
        raise ValueError("a disc lies outside the image")
    return float(inner.mean()), float(ring.mean()), float(ring.std(ddof=1)), int(inner.size)


def _modulation_amplitude(img: np.ndarray, centre: tuple[float, float], radius_px: float,
                          angle_deg: float, cx: float, cy: float, half: float, f_lp_mm: float,
                          mm_per_unit: float) -> float:
    """Amplitude of the fundamental at f across the bars of one group (value units)."""
    n = max(16, int(round(2 * half * radius_px)))
    u = np.linspace(-half, half, n)
    x, y = np.meshgrid(cx + u, cy + u)          # bars vertical in the phantom frame: along y
    rows, cols = _to_image(centre, radius_px, angle_deg, x, y)
    patch = ndimage.map_coordinates(img, [rows, cols], order=3, mode="nearest")
    # central 80 % along the bars, averaged: a profile across them
    keep = slice(int(0.1 * n), int(0.9 * n))
    profile = patch[keep, :].mean(axis=0)
    pos_mm = (cx + u) * mm_per_unit
    w = 2 * np.pi * f_lp_mm * pos_mm
    design = np.column_stack([np.ones_like(w), np.cos(w), np.sin(w), pos_mm])
    coef, *_ = np.linalg.lstsq(design, profile, rcond=None)
    return float(np.hypot(coef[1], coef[2]))


def analyse_tor(image: np.ndarray, pixel_mm: float, *, layout: TorLayout = TOR18FG,
                detection_threshold: float = 5.0, modulation_threshold: float = 0.1,
                centre: tuple[float, float] | None = None, radius_px: float | None = None,
                angle_deg: float | None = None) -> TorResult:
    """Analyse a Leeds TOR 18FG-type image (see the module docstring for the method).

    Parameters
    ----------
    image : 2-D array
        Higher value = more signal (the discs and the plate attenuate).
    pixel_mm : float
        Pixel size at the object (mm); used for the bar frequencies.
    detection_threshold : float
        Rose SNR a disc needs to count as detected.
    modulation_threshold : float
        Relative modulation for the limiting resolution.
    centre, radius_px, angle_deg : optional
        Override the automatic location (pixels, pixels, degrees).
    """
    img = np.asarray(image, dtype=np.float64)
    if centre is None or radius_px is None:
        c, r = find_phantom(img)
        centre = centre or c
        radius_px = radius_px or r
    if angle_deg is None:
        angle_deg = _find_angle(img, centre, radius_px, layout)
    ang = np.asarray(layout.disc_angles_deg, dtype=float)
    dx = layout.disc_ring * np.cos(np.deg2rad(ang))
    dy = layout.disc_ring * np.sin(np.deg2rad(ang))
    rows, cols = _to_image(centre, radius_px, angle_deg, dx, dy)
    r_disc = layout.disc_radius * radius_px
    stats = np.array([_disc_stats(img, (r, c), r_disc) for r, c in zip(rows, cols, strict=True)])
    disc, bg, sd, npx = stats.T
    contrast = (bg - disc) / bg
    cnr = (bg - disc) / np.where(sd > 0, sd, np.inf)
    # Rose SNR of the whole disc (its full area, not the ROI's)
    full_px = np.pi * r_disc ** 2
    rose = cnr * np.sqrt(full_px)
    mm_per_unit = layout.radius_mm
    amps = np.array([
        _modulation_amplitude(img, centre, radius_px, angle_deg, bx, by, layout.bar_half, f,
                              mm_per_unit)
        for (bx, by), f in zip(layout.bar_centres, layout.frequencies, strict=True)])
    modulation = amps / amps[0] if amps[0] > 0 else np.zeros_like(amps)
    ok = modulation >= modulation_threshold
    nyquist = 0.5 / pixel_mm
    ok &= np.asarray(layout.frequencies) < nyquist
    group = int(np.argmin(ok)) if not ok.all() else len(ok)   # first failing group
    limiting = layout.frequencies[group - 1] if group > 0 else None
    brow, bcol = _to_image(centre, radius_px, angle_deg,
                           np.array([b[0] for b in layout.bar_centres]),
                           np.array([b[1] for b in layout.bar_centres]))
    return TorResult(
        centre=(float(centre[0]), float(centre[1])), radius_px=float(radius_px),
        angle_deg=float(angle_deg),
        disc_centres=tuple((float(r), float(c)) for r, c in zip(rows, cols, strict=True)),
        disc_radius_px=float(r_disc), contrast=contrast, cnr=cnr, rose=rose,
        detected=rose >= detection_threshold, modulation=modulation,
        limiting_resolution_lp_mm=limiting, limiting_group=group,
        bar_centres=tuple((float(r), float(c)) for r, c in zip(brow, bcol, strict=True)),
        bar_half_px=float(layout.bar_half * radius_px))
