"""MagNET kernels (IPEM Report 112) on digital objects with analytic answers: slice width,
slice position and MTF50; invariance to rotation, position and pixel size."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.magnet import magnet_resolution, magnet_slice_position, magnet_slice_width
from imgqa.phantoms.magnet import resolution_object, slice_position_series, slice_width_object


@pytest.mark.parametrize("kw", [dict(), dict(slice_fwhm_mm=3.0),
                                dict(rotation_deg=-6.0, centre_mm=(14.0, -9.0)),
                                dict(pixel_mm=0.8, n=320, slice_fwhm_mm=5.5, rotation_deg=3.0)])
def test_slice_width_recovered(kw):
    img, truth = slice_width_object(seed=1, **kw)
    r = magnet_slice_width(img, kw.get("pixel_mm", 1.0))
    assert r.slice_width_mm == pytest.approx(truth["slice_width_mm"], abs=0.15)
    assert r.top_mm == pytest.approx(truth["slice_width_mm"], abs=0.25)
    assert len(r.rods_rc) == 9


@pytest.mark.parametrize("kw", [dict(), dict(error_amplitude_mm=1.5, seed=5),
                                dict(pixel_mm=0.8, n=320, seed=6)])
def test_slice_position_recovered(kw):
    stack, nominal, truth = slice_position_series(**kw)
    r = magnet_slice_position(stack, nominal, kw.get("pixel_mm", 1.0))
    assert r.max_error_mm == pytest.approx(truth["slice_position_max_error_mm"], abs=0.1)
    assert len(r.used) == 40


def test_slice_position_reversed_order_is_the_same():
    stack, nominal, _ = slice_position_series(seed=3)
    a = magnet_slice_position(stack, nominal, 1.0)
    b = magnet_slice_position(stack[::-1], nominal[::-1], 1.0)
    assert a.max_error_mm == pytest.approx(b.max_error_mm, abs=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(psf_sigma_mm=0.4, rotation_deg=-3.0),
                                dict(pixel_mm=0.7, n=400, rotation_deg=6.0)])
def test_resolution_mtf50_recovered(kw):
    img, truth = resolution_object(seed=2, **kw)
    r = magnet_resolution(img, kw.get("pixel_mm", 250.0 / 512))
    assert r.mtf50_lp_mm == pytest.approx(truth["resolution_mtf50_lp_mm"], rel=0.03)
    assert r.mtf50_vertical is not None and r.mtf50_horizontal is not None


def test_a_flood_has_no_rods_or_block():
    yy, xx = np.mgrid[:200, :200]
    flood = (np.hypot(yy - 100, xx - 100) < 80) * 500.0 + 1.0
    with pytest.raises(ValueError):
        magnet_slice_width(flood, 1.0)
    with pytest.raises(ValueError):
        magnet_resolution(flood, 1.0)
