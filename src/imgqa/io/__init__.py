"""Reading images: DICOM files, folders and zip archives into `ImageSeries`."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imgqa.io.dicom import Problem, SeriesList, load, load_report
    from imgqa.io.series import (
        Equipment,
        Frame,
        FrameInfo,
        Geometry,
        HeaderSummary,
        ImageSeries,
    )

__all__ = ["Equipment", "Frame", "FrameInfo", "Geometry", "HeaderSummary", "ImageSeries",
           "Problem", "SeriesList", "load", "load_report"]

# Where each public name lives. They are imported on first use (PEP 562) so that importing
# `imgqa.io.series` (the data model every protocol declaration needs) does not load pydicom.
_SOURCES = {"Problem": "dicom", "SeriesList": "dicom", "load": "dicom", "load_report": "dicom",
            "Equipment": "series", "Frame": "series", "FrameInfo": "series", "Geometry": "series",
            "HeaderSummary": "series", "ImageSeries": "series"}


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        return getattr(importlib.import_module(f"{__name__}.{_SOURCES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
