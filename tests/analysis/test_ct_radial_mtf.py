"""Wire MTF and circular-edge TTF recover the analytic MTF of a Gaussian PSF."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.radial_mtf import (
    average_curves,
    circular_edge_ttf,
    find_rod,
    frequency_at,
    locate_wire,
    refine_rod_centre,
    wire_mtf,
)
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.ct import rod_phantom, water_phantom, wire_phantom


@pytest.mark.parametrize("sigma,px", [(0.4, 0.25), (0.6, 0.5), (0.9, 0.7), (0.25, 0.1)])
def test_wire_mtf_matches_analytic(sigma, px):
    images, truth = wire_phantom(size=int(30 / px), pixel_mm=px, sigma_mm=sigma, noise_sd=2.0,
                                 n_slices=3)
    res = [wire_mtf(im, px) for im in images]
    radial = average_curves([r.radial for r in res])
    # Stated tolerance: f50 within 3 % of the analytic value (measured: < 0.5 %).
    assert radial.mtf50 == pytest.approx(truth["mtf50"], rel=0.03)
    assert radial.mtf10 == pytest.approx(truth["mtf10"], rel=0.03)
    for axis in ("x", "y"):
        assert average_curves([getattr(r, axis) for r in res]).mtf50 == pytest.approx(
            truth["mtf50"], rel=0.03)
    r, c = truth["wire_rc"]
    assert res[0].wire_rc[0] == pytest.approx(r, abs=0.3)
    assert res[0].wire_rc[1] == pytest.approx(c, abs=0.3)


def test_wire_diameter_correction_raises_mtf():
    images, truth = wire_phantom(size=120, pixel_mm=0.25, sigma_mm=0.4, noise_sd=0.5)
    plain = wire_mtf(images[0], 0.25)
    corrected = wire_mtf(images[0], 0.25, wire_diameter_mm=0.3)
    assert corrected.radial.mtf50 > plain.radial.mtf50
    assert plain.radial.mtf50 == pytest.approx(truth["mtf50"], rel=0.03)


@pytest.mark.parametrize("sigma,px,radius", [(0.6, 0.5, 12.5), (0.4, 0.3, 6.0),
                                             (0.8, 0.5, 12.5), (0.6, 0.5, 4.0)])
def test_ttf_matches_analytic(sigma, px, radius):
    images, truth = rod_phantom(size=128, pixel_mm=px, sigma_mm=sigma, rod_radius_mm=radius,
                                noise_sd=3.0)
    rod = find_rod(images[0], px)
    centre = refine_rod_centre(images[0], rod.centre_rc, rod.radius_px)
    res = circular_edge_ttf(images[0], px, centre, rod.radius_px)
    # Stated tolerance: f50 within 5 % (measured: < 1.5 %).
    assert res.ttf.mtf50 == pytest.approx(truth["mtf50"], rel=0.05)
    assert res.ttf.mtf10 == pytest.approx(truth["mtf10"], rel=0.05)
    assert res.contrast_hu == pytest.approx(truth["contrast_hu"], rel=0.01)
    assert centre[0] == pytest.approx(truth["rod_rc"][0], abs=0.05)
    assert centre[1] == pytest.approx(truth["rod_rc"][1], abs=0.05)
    assert res.rod_radius_px * px == pytest.approx(radius, abs=0.1)


def test_negative_contrast_rod():
    images, truth = rod_phantom(size=96, pixel_mm=0.5, rod_hu=-1000.0, background_hu=100.0)
    rod = find_rod(images[0], 0.5)
    assert rod.contrast_hu < 0
    res = circular_edge_ttf(images[0], 0.5, refine_rod_centre(images[0], rod.centre_rc,
                                                              rod.radius_px), rod.radius_px)
    assert res.ttf.mtf50 == pytest.approx(truth["mtf50"], rel=0.05)


def test_frequency_at_no_crossing_is_nan():
    assert np.isnan(frequency_at(np.array([0.0, 1.0]), np.array([1.0, 0.9]), 0.5))


def test_no_wire_in_water():
    images, _ = water_phantom(size=128, pixel_mm=1.8, n_slices=1)
    with pytest.raises(PhantomNotFoundError):
        locate_wire(images[0], 1.8)
