"""ACR CT phantom (Gammex 464) analysis, following the ACR CT Quality Control Manual (2017).

Modules (40 mm each along z): 1 — CT numbers of five materials (polyethylene, bone, acrylic,
air, water inserts of 25 mm at 63 mm from the centre) and the slice-width wire ramps;
2 — low contrast (a 25 mm rod 6 HU above the background); 3 — uniform water (uniformity and
noise); 4 — eight bar patterns of 4, 5, 6, 7, 8, 9, 10 and 12 lp/cm at 70 mm.

* **Module finding along z**: a slice with both an air (< −500 HU) and a bone (> 500 HU)
  insert inside the phantom is module 1; a slice with bright bars on the 70 mm ring and no
  air is module 4; modules 2 and 3 are 40 and 80 mm from module 1 towards module 4 (the
  slice nearest each centre is used).
* **Rotation**: the air insert's angle on the 63 mm ring (nominal 45°, image coordinates,
  clockwise from +x) gives the phantom's roll; every ROI angle is corrected by it.
* **CT numbers**: mean in a 10 mm-radius ROI on each insert (ROI positions as the manual's
  figure; pylinac's ACRCT uses the same).
* **Slice width**: two wire ramps inclined so that their visible length along x is the slice
  profile stretched by 1/tan θ (``ramp_tan``): FWHM along the ramp × tan θ, mean of the two.
* **Low contrast**: CNR = |mean(rod) − mean(background)| / SD(background) (ACR manual), ROIs of
  radius ``lc_roi_mm`` on the rod and beside it at the same radius.
* **Uniformity and noise**: ROIs of 11 mm radius at the centre and 66 mm at 12, 3, 6, 9
  o'clock: max |peripheral − centre| (HU) and the SD in the centre ROI.
* **Resolution**: per bar pattern the modulation from the ROI's SD with the noise variance
  (from module 3) removed: A = √2·√(var − σ²), relative to the 4 lp/cm pattern; the highest
  frequency up to which every pattern keeps a relative modulation ≥ ``resolved_modulation``
  is reported (the "resolved lp/cm group").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

__all__ = ["MATERIALS", "BAR_LP_CM", "AcrCtResult", "find_modules", "analyse_acr_ct"]

MATERIALS = {"polyethylene": 225.0, "bone": -45.0, "acrylic": 135.0, "air": 45.0,
             "water": 180.0}                              # angle (deg) on the 63 mm ring
INSERT_RING_MM = 63.0
INSERT_ROI_MM = 10.0
BAR_LP_CM = {4: -135.0, 5: 180.0, 6: 135.0, 7: 90.0, 8: 45.0, 9: 0.0, 10: -45.0, 12: -90.0}
BAR_RING_MM = 70.0
BAR_ROI_MM = 6.0
LC_ANGLE, LC_BG_ANGLE, LC_RING_MM = -90.0, -115.0, 60.0
UNIF_RING_MM, UNIF_ROI_MM = 66.0, 11.0
RAMP_Y_MM = (-30.0, 30.0)
MODULE_PITCH_MM = 40.0


@dataclass(frozen=True)
class AcrCtResult:
    """All ACR CT measurements and what was sampled (ROIs as (frame, row, col, radius px))."""

    module_frames: dict[int, int]
    rotation_deg: float
    ct_numbers: dict[str, float]
    slice_width_mm: float | None
    ramp_widths_mm: tuple[float, ...]
    low_contrast_cnr: float
    uniformity_max_deviation_hu: float
    noise_sd_hu: float
    resolution_lp_cm: float | None
    bar_modulation: dict[int, float]
    rois: list[tuple[str, int, float, float, float]] = field(default_factory=list)
    ramp_profiles: tuple[tuple[np.ndarray, np.ndarray], ...] = ()


def _centre(img: np.ndarray) -> tuple[float, float, float]:
    body = img > -400.0
    lab, n = ndimage.label(body)
    if n == 0:
        raise ValueError("no phantom in the image")
    big = ndimage.binary_fill_holes(lab == 1 + int(np.argmax(np.bincount(lab.ravel())[1:])))
    r, c = np.nonzero(big)
    return float(r.mean()), float(c.mean()), float(np.sqrt(big.sum() / np.pi))


def _disc_stats(img: np.ndarray, rc: tuple[float, float], radius_px: float
                ) -> tuple[float, float]:
    n = int(np.ceil(radius_px)) + 1
    r0, c0 = int(round(rc[0])), int(round(rc[1]))
    yy, xx = np.mgrid[r0 - n:r0 + n + 1, c0 - n:c0 + n + 1]
    m = (yy - rc[0]) ** 2 + (xx - rc[1]) ** 2 <= radius_px ** 2
    vals = img[np.clip(yy, 0, img.shape[0] - 1), np.clip(xx, 0, img.shape[1] - 1)][m]
    return float(vals.mean()), float(vals.std(ddof=1))


def _polar(centre: tuple[float, float], angle_deg: float, dist_mm: float, px: float
           ) -> tuple[float, float]:
    a = np.deg2rad(angle_deg)
    return centre[0] + dist_mm / px * np.sin(a), centre[1] + dist_mm / px * np.cos(a)


def _classify(img: np.ndarray, px: float) -> int:
    """1 or 4 when the slice shows module 1 or 4, else 0."""
    cy, cx, r = _centre(img)
    if r * px < 80.0:
        return 0
    yy, xx = np.indices(img.shape)
    d = np.hypot(yy - cy, xx - cx) * px
    inner = d < 85.0
    air = np.count_nonzero((img < -500) & inner) * px * px
    bone = np.count_nonzero((img > 500) & inner) * px * px
    ring = (np.abs(d - BAR_RING_MM) < BAR_ROI_MM) & (img > 300)
    if air > 150 and bone > 150:      # 25 mm inserts: ≈ 490 mm² each
        return 1
    if air < 50 and np.count_nonzero(ring) * px * px > 50:
        return 4
    return 0


def find_modules(stack: np.ndarray, z_mm: np.ndarray, px: float) -> dict[int, int]:
    """Frame index of each module (1–4) from the slices' content and positions (mm)."""
    # classification needs no detail: every slice decimated to ≈ 1.5 mm pixels
    k = max(1, int(1.5 / px))
    kinds = np.array([_classify(im[::k, ::k], px * k) for im in stack])
    if not np.any(kinds == 1):
        raise ValueError("no slice shows module 1 (the five CT-number inserts)")
    z1 = float(np.median(z_mm[kinds == 1]))
    z4 = float(np.median(z_mm[kinds == 4])) if np.any(kinds == 4) else None
    sign = 1.0 if z4 is None or z4 >= z1 else -1.0
    out = {}
    for m in (1, 2, 3, 4):
        target = z1 + sign * MODULE_PITCH_MM * (m - 1)
        if m == 4 and z4 is not None:
            target = z4
        k = int(np.argmin(np.abs(z_mm - target)))
        if abs(z_mm[k] - target) <= MODULE_PITCH_MM / 2:
            out[m] = k
    return out


def _rotation(img: np.ndarray, centre: tuple[float, float], px: float) -> float:
    """Roll (deg): angle of the air insert on the 63 mm ring minus its nominal 45°."""
    ang = np.arange(0.0, 360.0, 0.5)
    a = np.deg2rad(ang)
    rr = centre[0] + INSERT_RING_MM / px * np.sin(a)
    cc = centre[1] + INSERT_RING_MM / px * np.cos(a)
    ring = ndimage.map_coordinates(img, [rr, cc], order=1)
    low = ring < -500
    if not low.any():
        return 0.0
    # circular mean of the angles inside the air insert
    z = np.exp(1j * a[low]).mean()
    return float((np.rad2deg(np.angle(z)) - MATERIALS["air"] + 180.0) % 360.0 - 180.0)


def _fwhm(x: np.ndarray, y: np.ndarray) -> float | None:
    k = int(np.argmax(y))
    half = 0.5 * y[k]
    left = np.flatnonzero(y[:k] < half)
    right = np.flatnonzero(y[k:] < half)
    if left.size == 0 or right.size == 0 or y[k] <= 0:
        return None
    i, j = left[-1], k + right[0]
    xl = x[i] + (half - y[i]) / (y[i + 1] - y[i]) * (x[i + 1] - x[i])
    xr = x[j - 1] + (half - y[j - 1]) / (y[j] - y[j - 1]) * (x[j] - x[j - 1])
    return float(xr - xl)


def _slice_width(img: np.ndarray, centre: tuple[float, float], px: float, rot: float,
                 ramp_tan: float) -> tuple[list[float], list[tuple[np.ndarray, np.ndarray]]]:
    widths, profiles = [], []
    a = np.deg2rad(rot)
    ex = np.array([np.sin(a), np.cos(a)])
    ey = np.array([np.cos(a), -np.sin(a)])
    u = np.arange(-40.0, 40.0 + 1e-9, 0.1)
    for y0 in RAMP_Y_MM:
        v = y0 + np.arange(-2.0, 2.0 + 1e-9, px / 2)
        pts = (np.asarray(centre)[:, None, None]
               + (ex[:, None, None] * u[None, None, :] + ey[:, None, None] * v[None, :, None]) / px)
        prof = ndimage.map_coordinates(img, pts.reshape(2, -1), order=1).reshape(v.size, u.size)
        p = prof.max(axis=0)                         # the wire's row, whatever its sub-pixel y
        base = np.median(np.r_[p[:50], p[-50:]])
        fw = _fwhm(u, p - base)
        profiles.append((u, p - base))
        if fw is not None:
            widths.append(fw * ramp_tan)
    return widths, profiles


def analyse_acr_ct(stack: np.ndarray, z_mm: np.ndarray, pixel_mm: float, *,
                   ramp_tan: float = 0.42, lc_roi_mm: float = 10.0,
                   resolved_modulation: float = 0.2) -> AcrCtResult:
    """All ACR CT measurements on a series of the Gammex 464 (HU images, positions in mm)."""
    stack = np.asarray(stack, float)
    z = np.asarray(z_mm, float)
    px = float(pixel_mm)
    mods = find_modules(stack, z, px)
    for m in (1, 3):
        if m not in mods:
            raise ValueError(f"module {m} is not in the series")
    rois: list[tuple[str, int, float, float, float]] = []
    f1 = mods[1]
    img1 = stack[f1]
    c1 = _centre(img1)[:2]
    rot = _rotation(img1, c1, px)
    ct = {}
    for name, ang in MATERIALS.items():
        rc = _polar(c1, ang + rot, INSERT_RING_MM, px)
        ct[name] = _disc_stats(img1, rc, INSERT_ROI_MM / px)[0]
        rois.append((name, f1, rc[0], rc[1], INSERT_ROI_MM / px))
    widths, ramp_profiles = _slice_width(img1, c1, px, rot, ramp_tan)
    # module 3: uniformity and noise
    f3 = mods[3]
    img3 = stack[f3]
    c3 = _centre(img3)[:2]
    centre_mean, noise = _disc_stats(img3, c3, UNIF_ROI_MM / px)
    rois.append(("centre", f3, c3[0], c3[1], UNIF_ROI_MM / px))
    devs = []
    for name, ang in (("12 o'clock", -90.0), ("3 o'clock", 0.0), ("6 o'clock", 90.0),
                      ("9 o'clock", 180.0)):
        rc = _polar(c3, ang, UNIF_RING_MM, px)
        devs.append(_disc_stats(img3, rc, UNIF_ROI_MM / px)[0] - centre_mean)
        rois.append((name, f3, rc[0], rc[1], UNIF_ROI_MM / px))
    # module 2: low contrast
    cnr = float("nan")
    if 2 in mods:
        f2 = mods[2]
        img2 = stack[f2]
        c2 = _centre(img2)[:2]
        rod = _polar(c2, LC_ANGLE + rot, LC_RING_MM, px)
        bg = _polar(c2, LC_BG_ANGLE + rot, LC_RING_MM, px)
        m_rod = _disc_stats(img2, rod, lc_roi_mm / px)[0]
        m_bg, sd_bg = _disc_stats(img2, bg, lc_roi_mm / px)
        cnr = abs(m_rod - m_bg) / sd_bg
        rois += [("low-contrast rod", f2, rod[0], rod[1], lc_roi_mm / px),
                 ("background", f2, bg[0], bg[1], lc_roi_mm / px)]
    # module 4: bar patterns
    mod: dict[int, float] = {}
    res = None
    if 4 in mods:
        f4 = mods[4]
        img4 = stack[f4]
        c4 = _centre(img4)[:2]
        amp = {}
        for lp, ang in BAR_LP_CM.items():
            rc = _polar(c4, ang + rot, BAR_RING_MM, px)
            sd = _disc_stats(img4, rc, BAR_ROI_MM / px)[1]
            amp[lp] = np.sqrt(2.0 * max(sd * sd - noise * noise, 0.0))
            rois.append((f"{lp} lp/cm", f4, rc[0], rc[1], BAR_ROI_MM / px))
        ref = amp[min(amp)]
        mod = {lp: float(a / ref) if ref > 0 else 0.0 for lp, a in amp.items()}
        for lp in sorted(mod):
            if mod[lp] < resolved_modulation:
                break
            res = float(lp)
    return AcrCtResult(mods, rot, ct, float(np.mean(widths)) if widths else None,
                       tuple(widths), cnr, float(max(np.abs(devs))), noise, res, mod, rois,
                       tuple(ramp_profiles))
