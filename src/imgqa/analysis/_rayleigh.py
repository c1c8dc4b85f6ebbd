"""The Rayleigh factor of MR air noise, shared by the MR SNR kernels and the ACR battery.

In a magnitude image the air is Rayleigh distributed; its SD is sqrt(2 - π/2) ≈ 0.655 times the
σ of the underlying Gaussian noise (NEMA MS 1-2008; Kaufman et al. 1989). Kept in its own module
so that the ACR battery (`imgqa.protocols.mr_acr`) reads it without importing
`imgqa.analysis.mr_snr`, which it does not otherwise run (start-up of ``imgqa analyse``).
"""

from __future__ import annotations

__all__ = ["RAYLEIGH_FACTOR"]

RAYLEIGH_FACTOR = 0.655   # SD of Rayleigh-distributed air noise / σ of the Gaussian noise
