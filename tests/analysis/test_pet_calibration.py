"""Uniform-cylinder kernel: concentration within 0.5 %, invariance, end slices, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.pet_calibration import uniform_cylinder
from imgqa.phantoms.pet import cylinder


def _z(n: int, dz: float) -> np.ndarray:
    return np.arange(n) * dz


@pytest.mark.parametrize(("px", "shift"), [(4.0, (0.0, 0.0, 0.0)), (2.0, (35.0, -22.0, 0.0)),
                                           (4.07, (-40.0, 30.0, 0.0))])
def test_concentration_recovered_within_half_percent(px, shift):
    n = int(round(512 / px))
    vol, truth = cylinder((21, n, n), px, 4.0, shift_mm=shift, noise_fraction=0.05, seed=2)
    r = uniform_cylinder(vol, px, _z(21, 4.0))
    assert r.mean == pytest.approx(truth["concentration_bq_ml"], rel=0.005)
    assert r.voi_radius_mm == pytest.approx(50.0, abs=1.5)  # half of the 100 mm radius
    # Each slice's VOI follows the shifted phantom centre.
    cr, cc = r.slices[0].centre_rc
    assert (cc - (n - 1) / 2) * px == pytest.approx(shift[0], abs=0.5)
    assert (cr - (n - 1) / 2) * px == pytest.approx(shift[1], abs=0.5)
    assert r.axial_max_deviation_percent < 1.0


def test_noise_free_cylinder_is_exact_and_uniform():
    vol, truth = cylinder((15, 128, 128), 4.0, 4.0)
    r = uniform_cylinder(vol, 4.0, _z(15, 4.0))
    assert r.mean == pytest.approx(truth["concentration_bq_ml"], rel=1e-4)
    assert r.axial_cov_percent < 0.01 and r.inslice_max_deviation_percent < 0.01


def test_end_slices_inside_the_field_are_left_out():
    # 120 mm long cylinder in a 200 mm field: slices within 10 mm of the ends are dropped.
    vol, _ = cylinder((51, 100, 100), 4.0, 4.0, length_mm=120.0)
    z = _z(51, 4.0)
    r = uniform_cylinder(vol, 4.0, z, end_margin_mm=10.0)
    found = np.array(r.phantom_slices)
    used = np.array([s.index for s in r.slices])
    assert len(used) < len(found)
    assert z[used].min() - z[found].min() >= 10.0 and z[found].max() - z[used].max() >= 10.0
    assert r.mean == pytest.approx(11600.0, rel=1e-3)


def test_a_hot_slice_shows_in_the_axial_uniformity():
    vol, _ = cylinder((11, 100, 100), 4.0, 4.0, fwhm_mm=0.0)
    vol[5] *= 1.05
    r = uniform_cylinder(vol, 4.0, _z(11, 4.0))
    expected_dev = 100 * (1.05 / (1 + 0.05 / 11) - 1)
    assert r.axial_max_deviation_percent == pytest.approx(expected_dev, rel=1e-3)


def test_empty_or_tiny_objects_are_refused():
    with pytest.raises(ValueError, match="empty"):
        uniform_cylinder(np.zeros((5, 64, 64)), 4.0, _z(5, 4.0))
    vol = np.zeros((5, 64, 64))
    vol[:, 30:33, 30:33] = 1000.0
    with pytest.raises(ValueError, match="no cylinder"):
        uniform_cylinder(vol, 4.0, _z(5, 4.0))
