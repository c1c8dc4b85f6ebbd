"""Installation check: analyse digital phantoms and compare with their analytic truth.

``imgqa validate`` writes one digital phantom per check group (`imgqa.phantoms`, DICOM plus a
``ground_truth.json``) into a temporary folder, runs the real pipeline on it (load DICOM →
protocol → measurement) and compares each measurement with the truth. Every registered protocol
has at least one check (`registry.missing_protocols`). A physicist runs it after installing or
upgrading imgqa (or in an audit) to show that this installation reproduces known answers;
``imgqa validate --report`` files the result as a signed commissioning report (`report`).

Each check states its tolerance. The phantoms carry noise like real images, so a tolerance is
the accuracy claimed for one noisy realisation (docs/validation.md), not the noise-free error.
"""

from __future__ import annotations

from imgqa.validation.registry import (
    Check,
    Measure,
    all_checks,
    check,
    missing_protocols,
    phantom_makers,
)
from imgqa.validation.runner import CheckOutcome, run_validation

__all__ = ["Check", "CheckOutcome", "CHECKS", "Measure", "check", "all_checks",
           "missing_protocols", "phantom_makers", "run_validation"]


def __getattr__(name: str):  # PEP 562: CHECKS is built when first asked for
    if name == "CHECKS":
        return all_checks()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
