"""Hands-off QC (issue 12): series completion, folder watching, automatic analysis.

Sits above `imgqa.api` (it analyses through it) and below `imgqa.cli` (``imgqa watch``, later
``imgqa serve``) in the layers of docs/architecture.md. No Qt, no SQL: saving sessions pending
review belongs to the store and is handed the results through `AutomaticQC`'s
``handle_complete`` seam.
"""

from imgqa.service.completion import CompleteSeries, SeriesCollector
from imgqa.service.pipeline import AutomaticQC

__all__ = ["AutomaticQC", "CompleteSeries", "SeriesCollector"]
