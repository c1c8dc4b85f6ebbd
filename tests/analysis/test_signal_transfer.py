"""STP and noise-vs-dose fits recover known coefficients."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.nps import detrend_rois
from imgqa.analysis.signal_transfer import fit_noise_dose, fit_stp, linearise
from imgqa.phantoms.xray import flat_field_set


def test_exact_coefficients():
    k = np.array([0.5, 1, 2, 4, 8, 16.0])
    stp = fit_stp(k, 100 + 400 * k)
    assert (stp.slope, stp.intercept, stp.r2) == pytest.approx((400, 100, 1.0))
    noise = fit_noise_dose(k, 400 * k + 25 + 4 * k * k)
    assert (noise.quantum, noise.electronic, noise.structured) == pytest.approx((400, 25, 4))
    assert noise.quantum_fraction(2.0) == pytest.approx(800 / (800 + 25 + 16))
    log = fit_stp(k, 50 + 300 * np.log(k), model="log")
    assert (log.slope, log.intercept) == pytest.approx((300, 50))
    assert linearise(np.array([500.0]), stp)[0] == pytest.approx(1.0)


def test_recovers_phantom_set():
    kermas = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
    images, truth = flat_field_set(kermas, shape=(256, 256), quantum_a=400.0,
                                   electronic_b=400.0, structured_c=9.0, noise="poisson")
    means = [img[64:192, 64:192].mean() for img in images]
    var = [detrend_rois(img[64:192, 64:192], "plane").var() for img in images]
    stp = fit_stp(np.array(kermas), np.array(means))
    assert stp.slope == pytest.approx(truth["stp_slope"], rel=0.002)
    assert stp.intercept == pytest.approx(truth["stp_intercept"], abs=2.0)
    assert stp.r2 > 0.9999
    noise = fit_noise_dose(np.array(kermas), np.array(var))
    assert noise.quantum == pytest.approx(400.0, rel=0.05)
    assert noise.structured == pytest.approx(9.0, rel=0.1)
    assert noise.electronic == pytest.approx(400.0, rel=0.25)   # smallest term, least resolved
    assert noise.r2 > 0.999


def test_bad_input():
    with pytest.raises(ValueError):
        fit_stp([1.0], [2.0])
    with pytest.raises(ValueError, match="same air kerma"):
        fit_stp([1.0, 1.0], [2.0, 3.0])
    with pytest.raises(ValueError):
        fit_noise_dose([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        fit_stp([0.0, 1.0], [1.0, 2.0], model="log")
