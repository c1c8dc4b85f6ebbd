"""spect.cor kernel: the COR offset of a point source's sinusoid, against the phantom's truth."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.spect_cor import centre_of_rotation, fit_sinusoid
from imgqa.phantoms.spect import cor_projections


def _run(**kw):
    stack, ang, heads, truth = cor_projections(**kw)
    return centre_of_rotation(stack, ang, heads, truth["pixel_mm"]), truth


def test_sinusoid_fit_is_exact_on_a_sinusoid():
    a = np.arange(0, 360, 6.0)
    x = 3.0 * np.sin(np.radians(a + 40)) + 31.7
    A, B, c = fit_sinusoid(a, x)
    assert c == pytest.approx(31.7, abs=1e-12)
    assert np.hypot(A, B) == pytest.approx(3.0, abs=1e-12)


@pytest.mark.parametrize("offsets", [(0.6, -0.3), (0.0, 0.0), (-1.4, 0.9), (2.5, 0.25)])
def test_offsets_recovered_within_0_05_pixel_noise_free(offsets):
    r, truth = _run(offsets_px=offsets)
    for h, off in zip(r.heads, offsets):
        assert h.offset_px == pytest.approx(off, abs=0.05)
        assert h.offset_mm == pytest.approx(off * truth["pixel_mm"], abs=0.05 * truth["pixel_mm"])
    assert r.head_alignment_mm == pytest.approx((offsets[0] - offsets[1]) * truth["pixel_mm"],
                                                abs=0.1 * truth["pixel_mm"])
    assert r.worst.offset_px == pytest.approx(truth["cor_offset_pixels"], abs=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_offsets_recovered_within_0_05_pixel_with_poisson_counts(seed):
    r, _ = _run(offsets_px=(0.45, -0.7), peak_counts=400.0, background=0.5, seed=seed)
    assert [h.offset_px for h in r.heads] == pytest.approx([0.45, -0.7], abs=0.05)


@pytest.mark.parametrize("kw", [
    {"radius_mm": 40.0, "phase_deg": 0.0},          # source nearer the axis
    {"radius_mm": 120.0, "phase_deg": 133.0},        # farther, another starting phase
    {"row_px": 12.2},                                # another axial position
    {"pixel_mm": 3.3, "size": 128, "fwhm_mm": 10.0},  # finer pixels
    {"heads": 1, "n_per_head": 64},                  # single head
    {"n_per_head": 32},                              # coarse angular step
])
def test_invariance_position_phase_pixel_size_heads(kw):
    offsets = (0.8, -0.35)
    r, truth = _run(offsets_px=offsets, **kw)
    assert len(r.heads) == kw.get("heads", 2)
    for h, off in zip(r.heads, offsets):
        assert h.offset_px == pytest.approx(off, abs=0.05)
        assert h.residual_rms_px < 0.02


def test_axial_drift_is_measured():
    r, truth = _run(offsets_px=(0.0, 0.0), y_drift_px=1.5)
    assert r.worst.y_range_mm == pytest.approx(1.5 * truth["pixel_mm"], abs=0.05 * truth["pixel_mm"])
    flat, _ = _run(offsets_px=(0.0, 0.0))
    assert flat.worst.y_range_mm < 0.01


def test_too_few_projections_or_too_short_an_arc_is_refused():
    stack, ang, heads, truth = cor_projections(heads=1, n_per_head=60)
    with pytest.raises(ValueError, match="at least 8"):
        centre_of_rotation(stack[:5], ang[:5], heads[:5], truth["pixel_mm"])
    with pytest.raises(ValueError, match="180"):
        centre_of_rotation(stack[:20], ang[:20], heads[:20], truth["pixel_mm"])  # 120° arc


def test_empty_projection_is_refused():
    stack, ang, heads, truth = cor_projections(heads=1)
    stack[3] = 0.0
    with pytest.raises(ValueError, match="projection 4"):
        centre_of_rotation(stack, ang, heads, truth["pixel_mm"])
