"""Signal transfer property (STP) and noise-versus-dose fits for X-ray detectors.

* STP: mean pixel value against detector air kerma K, fitted by a straight line
  S = intercept + slope·K (IEC 62220-1-1 §7.1 "conversion function"), or S = intercept +
  slope·ln K for logarithmic (CR-style) responses; R² reported.
* Noise: pixel variance against K, fitted by σ² = a·K + b + c·K² (quantum, electronic and
  structured/fixed-pattern components; e.g. IPEM Report 32 part VII, Monnin et al.,
  Med Phys 34 (2007) 906), by non-negative least squares with relative weights, because the
  uncertainty of a variance grows with the variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StpFit", "NoiseFit", "fit_stp", "fit_noise_dose", "linearise"]


@dataclass(frozen=True)
class StpFit:
    """Signal transfer fit. ``model`` is "linear" (S = b0 + b1·K) or "log" (S = b0 + b1·ln K)."""

    slope: float
    intercept: float
    r2: float
    model: str = "linear"

    def predict(self, kerma: np.ndarray) -> np.ndarray:
        k = np.asarray(kerma, dtype=float)
        x = np.log(k) if self.model == "log" else k
        return self.intercept + self.slope * x


@dataclass(frozen=True)
class NoiseFit:
    """σ² = a·K + b + c·K² (a: quantum, b: electronic, c: structured)."""

    quantum: float
    electronic: float
    structured: float
    r2: float

    def predict(self, kerma: np.ndarray) -> np.ndarray:
        k = np.asarray(kerma, dtype=float)
        return self.quantum * k + self.electronic + self.structured * k * k

    def quantum_fraction(self, kerma: float) -> float:
        """Share of the variance that is quantum noise at `kerma` (1 = quantum limited)."""
        total = float(self.predict(np.array([kerma]))[0])
        return self.quantum * kerma / total if total > 0 else float("nan")


def _r2(y: np.ndarray, fit: np.ndarray) -> float:
    ss_res = float(np.sum((y - fit) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")


def fit_stp(kerma_ugy: np.ndarray, mean_signal: np.ndarray, *, model: str = "linear") -> StpFit:
    """Least-squares STP fit.

    Parameters
    ----------
    kerma_ugy : 1-D array
        Detector air kerma of each image, µGy (> 0 for the log model).
    mean_signal : 1-D array
        Mean pixel value in the same central ROI of each image.
    model : {"linear", "log"}

    Examples
    --------
    >>> round(fit_stp([1, 2, 4], [110, 210, 410]).slope, 6)
    100.0
    """
    k = np.asarray(kerma_ugy, dtype=float)
    s = np.asarray(mean_signal, dtype=float)
    if k.shape != s.shape or k.ndim != 1 or k.size < 2:
        raise ValueError("need at least two (kerma, signal) pairs of equal length")
    if model not in ("linear", "log"):
        raise ValueError("model must be 'linear' or 'log'")
    if model == "log" and np.any(k <= 0):
        raise ValueError("the log model needs positive air kerma values")
    if np.ptp(k) <= 0:
        raise ValueError("all images have the same air kerma: nothing to fit")
    x = np.log(k) if model == "log" else k
    slope, intercept = np.polyfit(x, s, 1)
    fit = StpFit(float(slope), float(intercept), 0.0, model)
    r2 = _r2(s, fit.predict(k)) if k.size > 2 else 1.0
    return StpFit(float(slope), float(intercept), r2, model)


def fit_noise_dose(kerma_ugy: np.ndarray, variance: np.ndarray, *,
                   structured: bool = True) -> NoiseFit:
    """Fit σ² = a·K + b + c·K² with a, b, c ≥ 0.

    Parameters
    ----------
    kerma_ugy, variance : 1-D arrays
        Air kerma (µGy) and pixel variance (value²) of each image.
    structured : bool
        Include the c·K² term (needs ≥ 3 images); otherwise c = 0.

    Notes
    -----
    Each equation is divided by the measured variance (relative least squares), since the
    standard error of a variance estimate is proportional to the variance. Coefficients are
    constrained to be non-negative (scipy.optimize.nnls): a negative noise component is
    unphysical and means that term is not resolved by the data.
    """
    k = np.asarray(kerma_ugy, dtype=float)
    v = np.asarray(variance, dtype=float)
    n_terms = 3 if structured else 2
    if k.shape != v.shape or k.ndim != 1 or k.size < n_terms:
        raise ValueError(f"need at least {n_terms} (kerma, variance) pairs of equal length")
    if np.any(v <= 0):
        raise ValueError("variances must be positive")
    # scipy.optimize costs ~80 ms to import (a third of all kernel imports): only when fitting
    from scipy.optimize import nnls

    design = np.stack([k, np.ones_like(k)] + ([k * k] if structured else []), axis=1)
    scale = design.max(axis=0)                # column scaling keeps nnls well conditioned
    coef, _ = nnls(design / scale / v[:, None], np.ones_like(v))
    coef = coef / scale
    a, b = float(coef[0]), float(coef[1])
    c = float(coef[2]) if structured else 0.0
    out = NoiseFit(a, b, c, 0.0)
    return NoiseFit(a, b, c, _r2(v, out.predict(k)))


def linearise(image: np.ndarray, stp: StpFit) -> np.ndarray:
    """Convert pixel values to air kerma (µGy) by inverting the STP (for NNPS, DQE)."""
    img = np.asarray(image, dtype=np.float64)
    if stp.slope == 0:
        raise ValueError("STP slope is zero")
    x = (img - stp.intercept) / stp.slope
    return np.exp(x) if stp.model == "log" else x
