"""Mammography digital phantoms with analytic answers (issue 15).

* `al_square` — 0.2 mm Al square on PMMA: background S, object S·(1 − c), white noise σ (the
  same in object and background), a heel ramp along the chest-wall–nipple axis. Truth:
  contrast = 100·c %, SDNR = S·c/σ (EUREF and ACR noise definitions coincide for equal σ).
* `step_flat` — flat PMMA field, left half S·(1 + d), right half S·(1 − d): with a grid
  symmetric about the centre every ROI mean deviates by exactly d from the global mean.
* `artefact_flat` — flat field with a heel ramp and planted artefacts (a faint line, a blob,
  a scratch) at known places and contrasts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["al_square", "step_flat", "artefact_flat", "write_mammo"]


def _grid(shape: tuple[int, int], pixel_mm: float) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape
    y = (np.arange(rows) - (rows - 1) / 2) * pixel_mm
    x = (np.arange(cols) - (cols - 1) / 2) * pixel_mm
    return y[:, None], x[None, :]


def al_square(shape: tuple[int, int] = (1200, 1000), pixel_mm: float = 0.1, *,
              signal: float = 1000.0, contrast: float = 0.06, noise_sd: float = 10.0,
              side_mm: float = 10.0, centre_mm: tuple[float, float] = (0.0, 0.0),
              rotation_deg: float = 0.0, heel: float = 0.05, offset: float = 50.0,
              seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """The EUREF SDNR object: returns (image, truth).

    Pixel value = offset + S·(1 + heel·y/half-height)·(1 − c·object) + N(0, σ²). The object
    (side ``side_mm``, centre ``centre_mm`` from the image centre, rotated ``rotation_deg``)
    is antialiased by 4 × 4 supersampling. Truth at the object: contrast 100·c % of the
    offset-corrected background and SDNR = S_local·c/σ with S_local the heel-scaled signal.
    """
    y, x = _grid(shape, pixel_mm)
    rng = np.random.default_rng(seed)
    cy, cx = centre_mm
    t = np.deg2rad(rotation_deg)
    obj = np.zeros(shape)
    for dy in (-0.375, -0.125, 0.125, 0.375):
        for dx in (-0.375, -0.125, 0.125, 0.375):
            yy, xx = y + dy * pixel_mm - cy, x + dx * pixel_mm - cx
            u = xx * np.cos(t) + yy * np.sin(t)
            v = -xx * np.sin(t) + yy * np.cos(t)
            obj += ((np.abs(u) <= side_mm / 2) & (np.abs(v) <= side_mm / 2)) / 16.0
    half_h = shape[0] * pixel_mm / 2
    s = signal * (1.0 + heel * y / half_h) * np.ones(shape)
    image = offset + s * (1.0 - contrast * obj) + rng.normal(0.0, noise_sd, shape)
    s_local = signal * (1.0 + heel * cy / half_h)
    return image, {"kind": "al_square", "sdnr": s_local * contrast / noise_sd,
                   "contrast_percent": 100.0 * contrast, "signal": s_local,
                   "noise_sd": noise_sd, "offset": offset, "centre_mm": list(centre_mm),
                   "side_mm": side_mm, "rotation_deg": rotation_deg}


def step_flat(shape: tuple[int, int] = (1800, 2300), pixel_mm: float = 0.1, *,
              signal: float = 1000.0, step: float = 0.08, noise_sd: float = 10.0,
              offset: float = 0.0, seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Flat field: left half S·(1 + d), right half S·(1 − d), white noise σ.

    Truth, for a grid symmetric about the centre with an even number of ROI columns (230 mm
    wide: 22 columns of 10 mm ROIs every 10 mm inside a 5 mm border, none across the step):
    every ROI mean deviates by d from the global mean (max_mean_deviation_percent = 100·d);
    SNRs are S(1 ± d)/σ, so max_snr_deviation_percent = 100·d up to the SD estimates' scatter;
    the local deviation is largest for a corner ROI at the step, with 3 neighbours:
    |(1 + d) − (2(1 + d) + (1 − d))/3| = 2d/3.
    """
    rows, cols = shape
    rng = np.random.default_rng(seed)
    level = np.where(np.arange(cols) < cols // 2, 1.0 + step, 1.0 - step)[None, :]
    image = offset + signal * level * np.ones(shape) + rng.normal(0.0, noise_sd, shape)
    return image, {"kind": "step_flat", "max_mean_deviation_percent": 100.0 * step,
                   "max_snr_deviation_percent": 100.0 * step,
                   "max_local_mean_deviation_percent": 100.0 * 2 * step / 3, "offset": offset,
                   "mean_signal": signal}


def artefact_flat(shape: tuple[int, int] = (1200, 1000), pixel_mm: float = 0.1, *,
                  signal: float = 1000.0, noise_sd: float = 10.0, heel: float = 0.08,
                  seed: int = 0) -> tuple[np.ndarray, dict[str, Any]]:
    """Flat field with a heel ramp and three artefacts: a Gaussian blob (−6 %, FWHM 4 mm), a
    faint horizontal band (+3 %, 1 mm high, 30 mm long) and a short scratch (−10 %, 0.3 mm
    wide, 12 mm long). Truth: their centres (pixels) and count."""
    y, x = _grid(shape, pixel_mm)
    rng = np.random.default_rng(seed)
    half_h = shape[0] * pixel_mm / 2
    rel = np.zeros(shape)
    blob = (-25.0, -20.0)
    rel += -0.06 * np.exp(-4 * np.log(2) * ((y - blob[0]) ** 2 + (x - blob[1]) ** 2) / 4.0 ** 2)
    band = (20.0, 10.0)
    rel += 0.03 * ((np.abs(y - band[0]) <= 0.5) & (np.abs(x - band[1]) <= 15.0))
    scratch = (-5.0, 25.0)
    rel += -0.10 * ((np.abs(x - scratch[1]) <= 0.15) & (np.abs(y - scratch[0]) <= 6.0))
    image = signal * (1.0 + heel * y / half_h) * (1.0 + rel) + rng.normal(0, noise_sd, shape)
    to_px = [((r / pixel_mm) + (shape[0] - 1) / 2, (c / pixel_mm) + (shape[1] - 1) / 2)
             for r, c in (blob, band, scratch)]
    return image, {"kind": "artefact_flat", "artefact_regions": 3,
                   "artefacts_px": [list(p) for p in to_px],
                   "artefacts": ["blob -6 % FWHM 4 mm", "band +3 % 1 x 30 mm",
                                 "scratch -10 % 0.3 x 12 mm"]}


def write_mammo(image: np.ndarray, truth: dict[str, Any], out_dir: Path, description: str,
                pixel_mm: float = 0.1) -> Path:
    """Write an MG image (Imager Pixel Spacing, linear 'for processing') and its truth."""
    if float(image.min()) < 0 or float(image.max()) > 65535:
        raise ValueError("phantom values must fit unsigned 16 bits")
    write_series(image, out_dir, modality="MG", description=description,
                 pixel_spacing_mm=pixel_mm, spacing_tag="ImagerPixelSpacing",
                 extra_tags={"PixelIntensityRelationship": "LIN",
                             "PresentationIntentType": "FOR PROCESSING"}, prefix="mg")
    write_ground_truth(out_dir, truth)
    return out_dir

