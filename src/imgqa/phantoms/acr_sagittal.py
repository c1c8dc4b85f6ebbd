"""Digital ACR sagittal localiser: the large phantom's 148 mm × 190 mm side view.

A rectangle of length L (superior–inferior, along the rows' axis) and 190 mm (anterior–
posterior) drawn with exact area coverage at its edges, with dark inserts inside (a horizontal
bar, a vertical support bar in the lower half and a block, as on the real localisers),
multiplicative shading falling to ``1 − shading`` at the inferior end (B1 shading like the
Philips localiser's) and Rician noise. Truth: ``sagittal_length_mm`` = L.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from imgqa.phantoms.writer import write_ground_truth, write_series

__all__ = ["sagittal_localiser", "write_sagittal", "validation_sets"]


def _cover(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return np.clip(hi, 0, 1) - np.clip(lo, 0, 1)


def _box(y: np.ndarray, x: np.ndarray, y0: float, y1: float, x0: float, x1: float, px: float
         ) -> np.ndarray:
    """Area fraction of each pixel (centres y, x in mm, size px) inside [y0,y1]×[x0,x1]."""
    fy = _cover((y0 - (y - px / 2)) / px, (y1 - (y - px / 2)) / px)
    fx = _cover((x0 - (x - px / 2)) / px, (x1 - (x - px / 2)) / px)
    return np.clip(fy, 0, 1) * np.clip(fx, 0, 1)


def sagittal_localiser(*, n: int = 256, pixel_mm: float = 250.0 / 256, length_mm: float = 148.0,
                       offset_mm: tuple[float, float] = (0.0, 0.0), signal: float = 800.0,
                       shading: float = 0.5, noise_sd: float = 5.0, seed: int = 0
                       ) -> tuple[np.ndarray, dict[str, Any]]:
    """The localiser image and its truth."""
    c = (np.arange(n) + 0.5 - n / 2) * pixel_mm
    y, x = np.meshgrid(c - offset_mm[0], c - offset_mm[1], indexing="ij")
    half = length_mm / 2
    body = _box(y, x, -half, half, -95.0, 95.0, pixel_mm)
    inserts = (_box(y, x, -10.0, -4.0, -60.0, 60.0, pixel_mm)           # horizontal bar
               + _box(y, x, -4.0, half, -3.0, 3.0, pixel_mm)             # support bar
               + _box(y, x, 20.0, 30.0, 20.0, 60.0, pixel_mm))           # block
    frac = np.clip(body - np.clip(inserts, 0, 1), 0, 1)
    shade = 1.0 - shading * np.clip((y + half) / length_mm, 0, 1)
    img = signal * frac * shade
    rng = np.random.default_rng(seed)
    img = np.hypot(img + rng.normal(0, noise_sd, img.shape), rng.normal(0, noise_sd, img.shape))
    return img, {"sagittal_length_mm": length_mm, "offset_mm": list(offset_mm)}


def write_sagittal(folder: Path, **kw: Any) -> dict[str, Any]:
    px = kw.get("pixel_mm", 250.0 / 256)
    img, truth = sagittal_localiser(**kw)
    write_series(img[None], folder, modality="MR", description="ACR sagittal localizer (phantom)",
                 pixel_spacing_mm=px, slice_thickness_mm=10.0, prefix="sag",
                 extra_tags={"ImageOrientationPatient": [0, 1, 0, 0, 0, -1],
                             "MagneticFieldStrength": 1.5})
    write_ground_truth(folder, truth)
    return truth


def validation_sets() -> dict[str, Callable[[Path], Path]]:
    """Phantoms `imgqa validate` writes (not in the GUI demo set): ``mr_acr_sagittal``: one 256² sagittal localiser."""
    def make(out: Path) -> Path:
        write_sagittal(out / "mr_acr_sagittal", offset_mm=(6.0, -4.0), seed=1)
        return out / "mr_acr_sagittal"
    return {"mr_acr_sagittal": make}
