"""Where the demo phantoms are: the repository's ``phantoms/`` folder when imgqa runs from a
source checkout, otherwise generated once into the user data directory (an installed wheel or
the PyInstaller bundle ships the generator, not the 4.6 MB of images; see `imgqa.paths`)."""

from __future__ import annotations

from pathlib import Path

from imgqa.paths import demo_phantoms_dir, source_checkout

__all__ = ["repository_phantoms", "demo_folder"]


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
