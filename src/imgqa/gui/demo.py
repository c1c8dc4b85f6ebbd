"""Where the demo phantoms are: the repository's ``phantoms/`` folder when imgqa runs from a
source checkout, otherwise generated once into the user data directory (an installed wheel or
the PyInstaller bundle ships the generator, not the 4.6 MB of images; see `imgqa.paths`); and
the baselines the demo gives the (fictitious) devices it registers, so its results are judged
at once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from imgqa.paths import demo_phantoms_dir, source_checkout

if TYPE_CHECKING:
    from imgqa.protocols.base import Result
    from imgqa.store import Store

__all__ = ["repository_phantoms", "demo_folder", "register_demo_baselines", "DEMO_BASELINE_REASON"]

DEMO_BASELINE_REASON = "demo: commissioning value of the digital phantom (fictitious device)"


def _has_images(folder: Path) -> bool:
    return folder.is_dir() and any(p.suffix.lower() == ".dcm" for p in folder.rglob("*.dcm"))


def repository_phantoms() -> Path | None:
    """``<repo>/phantoms`` of a source checkout if it holds DICOM files, else ``None``."""
    root = source_checkout()
    if root is None:
        return None
    candidate = root / "phantoms"
    return candidate if _has_images(candidate) else None


def demo_folder(generate: bool = True) -> Path | None:
    """The demo phantom folder; generates it into the data directory when needed.

    Slow on the first call (writes the DICOM files): call it from a worker thread.
    """
    repo = repository_phantoms()
    if repo is not None:
        return repo
    target = demo_phantoms_dir()
    if _has_images(target):
        return target
    if not generate:
        return None
    from imgqa.phantoms import make_demo

    make_demo(target)
    return target if _has_images(target) else None


def register_demo_baselines(store: Store, equipment_id: int, results: Sequence[Result]) -> int:
    """Give a device the demo has just registered the baselines its default tolerances need.

    Default tolerances relative to a baseline (``reference = "baseline"``, e.g. CT noise within
    20 % of baseline, X-ray MTF50 within 10-20 %) judge nothing until the device has one. For the
    demo's fictitious devices the first analysis of the digital phantom plays the commissioning
    measurement, as a physicist would set it on a new device; fixed criteria (water 0 ± 5 HU)
    need none. Measurements that already have a baseline keep it.

    Parameters
    ----------
    store : imgqa.store.Store
    equipment_id : int
    results : iterable of Result
        The demo's analysis results for this device.

    Returns
    -------
    int
        How many baselines were set (0 when the user may not set baselines).
    """
    from imgqa.errors import StorePermissionError
    from imgqa.store.defaults import find_default, result_conditions

    fs = store.equipment(equipment_id).field_strength_t
    n = 0
    for r in results:
        for meas in r.measurements:
            d = find_default(r.protocol, meas.name, fs, result_conditions(r))
            if meas.value is None or d is None or not d.uses_baseline \
                    or store.baseline(equipment_id, r.protocol, meas.name) is not None:
                continue
            try:
                store.set_baseline(equipment_id, r.protocol, meas.name, meas.value,
                                   reason=DEMO_BASELINE_REASON)
            except StorePermissionError:
                return n
            n += 1
    return n
