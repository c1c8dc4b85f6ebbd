"""Edge-method FWHM/FWTM against the analytic truth of Gaussian-blurred digital edges."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.edge_spread import edge_resolution
from imgqa.phantoms.nm import edge, flood

# Realistic intrinsic edge acquisition: 1.2 mm pixels, 3.5 mm FWHM, lead edge (5 % transmission)
# on a flood of 1 000 counts/pixel, 256² matrix with a 16-pixel zero border (detector field).
REALISTIC = {"pixel_mm": 1.2, "fwhm_mm": 3.5, "high": 1000.0, "transmission": 0.05,
             "field_margin_px": 16}


@pytest.mark.parametrize("angle", [2.0, 5.0, 10.0, 30.0, -7.0])
@pytest.mark.parametrize("across", ["x", "y"])
def test_poisson_lead_edge_within_3_percent(angle, across):
    img, truth = edge(256, angle_deg=angle, across=across, seed=1, **REALISTIC)
    res = edge_resolution(img, REALISTIC["pixel_mm"])
    other = "y" if across == "x" else "x"
    assert res[other] is None                       # the field border is not an edge
    d = res[across]
    assert len(d.edges) == 1
    assert d.fwhm_mm == pytest.approx(truth["fwhm_mm"], rel=0.03)
    assert d.fwtm_mm == pytest.approx(truth["fwtm_mm"], rel=0.05)
    assert abs(d.edges[0].angle_deg) == pytest.approx(abs(angle), abs=0.3)
    assert d.edges[0].low / d.edges[0].high == pytest.approx(0.05, abs=0.01)
    assert not d.warnings


@pytest.mark.parametrize("pixel_mm, fwhm, half_width", [(1.2, 3.5, 15.0), (0.6, 4.0, 15.0),
                                                        (2.4, 8.0, 25.0)])
def test_noise_free_edge_is_exact(pixel_mm, fwhm, half_width):
    """No noise: the smallest smoothing is used and removed; widths within 1 %."""
    img, truth = edge(256, pixel_mm, fwhm_mm=fwhm, angle_deg=6.0, noise=False)
    d = edge_resolution(img, pixel_mm, half_width_mm=half_width)["y"]
    assert d.smoothing_mm == pytest.approx(0.25 * pixel_mm)
    assert d.fwhm_mm == pytest.approx(truth["fwhm_mm"], rel=0.01)
    assert d.fwtm_mm == pytest.approx(truth["fwtm_mm"], rel=0.01)


def test_low_contrast_edge_unbiased():
    """imageQC-like edge (60 % transmission, 1 500 counts): noisier, but unbiased (mean of 4
    acquisitions within 1.5 %) and each within 5 %."""
    vals = []
    for seed in range(4):
        img, _ = edge(256, 1.2, fwhm_mm=3.5, angle_deg=10.0, high=1500.0, transmission=0.6,
                      field_margin_px=16, seed=seed)
        vals.append(edge_resolution(img, 1.2)["y"].fwhm_mm)
    assert np.mean(vals) == pytest.approx(3.5, rel=0.015)
    assert np.allclose(vals, 3.5, rtol=0.05)


@pytest.mark.parametrize("offset_mm", [0.0, 0.3, 0.6])
def test_edge_on_pixel_grid(offset_mm):
    """0° tilt: one phase only; the spline-interpolated ESF still gives < 3 %, with a warning."""
    img, truth = edge(256, angle_deg=0.0, offset_mm=offset_mm, seed=2, **REALISTIC)
    d = edge_resolution(img, REALISTIC["pixel_mm"])["y"]
    assert any("not oversampled" in w for w in d.warnings)
    assert d.fwhm_mm == pytest.approx(truth["fwhm_mm"], rel=0.03)
    assert d.fwtm_mm == pytest.approx(truth["fwtm_mm"], rel=0.05)


def test_flood_has_no_edge():
    img, _ = flood(128, 3.2, hot=0.05, cold=0.05)
    assert edge_resolution(img, 3.2) == {"x": None, "y": None}
