"""Invariance properties of the X-ray kernels (issue 10).

Kernels and the invariances that apply
--------------------------------------
``edge_mtf.slanted_edge_mtf`` (presampled MTF, lp/mm)
    * whole- and sub-pixel translation of the edge: applies (the MTF does not depend on where
      the edge is).
    * rot90 / flips: apply (the MTF of a Gaussian PSF is isotropic; the kernel must find the
      edge in any of the four orientations and either polarity).
    * pixel size with the PSF's physical size fixed: applies for MTF50 in lp/mm (point-sampled
      phantom: no aperture changes with the pixel).
    * grey-level a·x + b: applies (the MTF is normalised to 1 at zero frequency), also a < 0
      (an inverted edge has the same |LSF| spectrum).
``nps.nps_2d`` + ``radial_profile`` (value²·mm²)
    * translation: the NPS is a property of a stationary random field; moving a realisation
      changes which samples fall in the ROIs, so only a statistical agreement holds — not
      tested as an invariance. Instead: adding any plane a + b·x + c·y leaves the NPS unchanged
      (plane detrending), which is the translation/offset property that *is* exact.
    * rot90: the 2-D NPS rotates with the ROIs (axes swap), radial profile unchanged.
    * flips: |FFT|² of a real array is even, so a flipped ROI has the same NPS (exact).
    * pixel size: does not apply — the NPS scales with the pixel area by definition.
    * grey level: offset b → unchanged; scale a → NPS × a² (covariant, not invariant).
``tg150.tg150_uniformity`` (percent)
    * grey-level scale a: all six non-uniformities are ratios → invariant. Offset b changes the
      signal and SNR non-uniformities by definition (they are relative to the mean); the noise
      non-uniformities (SDs) are offset-invariant.
    * rot90 / flips: apply when the ROI grid is placed symmetrically in the image.
    * whole-pixel translation: does not apply — the ROI grid is anchored to the image (or
      field) border, not to the object; a flat field has no object.
    * pixel size: the ROI grid is in mm, so a smooth gain pattern of fixed physical size gives
      the same global signal non-uniformity to within the change of ROI centre positions.
``signal_transfer`` (curve fits of scalar series), ``roi.roi_stats``: not image-geometry
kernels beyond masks; ``roi_stats`` is tested for translation / rot90 / flips / grey level
with exact arithmetic.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgqa.analysis.edge_mtf import slanted_edge_mtf
from imgqa.analysis.nps import extract_rois, nps_2d, radial_profile
from imgqa.analysis.roi import circle_mask, roi_stats
from imgqa.analysis.tg150 import tg150_uniformity
from imgqa.phantoms.ct import correlated_noise
from imgqa.phantoms.xray import edge_at, flat_field, gain_pattern

FAST = settings(max_examples=6, deadline=None, derandomize=True)

PX = 0.1
SIGMA = 0.15
SHAPE = (256, 256)


def _edge(distance_mm: float = 0.037, normal_deg: float = 3.5, pixel_mm: float = PX,
          shape: tuple[int, int] = SHAPE) -> np.ndarray:
    return edge_at(shape, pixel_mm, normal_deg=normal_deg, distance_mm=distance_mm,
                   sigma_mm=SIGMA)


@pytest.fixture(scope="module")
def edge_reference() -> float:
    return slanted_edge_mtf(_edge(), (PX, PX)).mtf50


# ---------------------------------------------------------------- slanted-edge MTF

@FAST
@given(shift_px=st.floats(-4.0, 4.0))
def test_edge_mtf50_translation(edge_reference, shift_px):
    # sub-pixel shift: MTF50 within 0.5 % — the phase of the ESF bins relative to the edge moves
    res = slanted_edge_mtf(_edge(0.037 + shift_px * PX), (PX, PX))
    assert res.mtf50 == pytest.approx(edge_reference, rel=0.005)


@pytest.mark.parametrize("op", ["rot90", "rot180", "rot270", "fliplr", "flipud"])
def test_edge_mtf50_rotations_and_flips(edge_reference, op):
    img = _edge()
    out = {"rot90": np.rot90(img, 1), "rot180": np.rot90(img, 2), "rot270": np.rot90(img, 3),
           "fliplr": img[:, ::-1], "flipud": img[::-1, :]}[op]
    # exact resampling of the same samples: MTF50 within 0.1 % (only the search can differ)
    assert slanted_edge_mtf(np.ascontiguousarray(out), (PX, PX)).mtf50 == pytest.approx(
        edge_reference, rel=0.001)


@FAST
@given(pixel_mm=st.floats(0.07, 0.14))
def test_edge_mtf50_pixel_size(edge_reference, pixel_mm):
    # same 25.6 mm field, same σ = 0.15 mm PSF: MTF50 in lp/mm within 1 % (the analytic value
    # is the same; the bias of binning/derivative corrections differs with σ in pixels)
    n = int(round(SHAPE[0] * PX / pixel_mm))
    res = slanted_edge_mtf(_edge(pixel_mm=pixel_mm, shape=(n, n)), (pixel_mm, pixel_mm))
    assert res.mtf50 == pytest.approx(edge_reference, rel=0.01)


@FAST
@given(scale=st.sampled_from([-3.0, -0.01, 0.01, 0.5, 7.0, 1000.0]),
       offset=st.floats(-5000.0, 5000.0))
def test_edge_mtf50_grey_level(edge_reference, scale, offset):
    # MTF is normalised: identical up to floating-point rounding
    res = slanted_edge_mtf(scale * _edge() + offset, (PX, PX))
    assert res.mtf50 == pytest.approx(edge_reference, rel=1e-9)


# ---------------------------------------------------------------- NPS

def _noise_rois(seed: int = 3) -> np.ndarray:
    field = correlated_noise((192, 192), 10.0, corr_sigma_px=1.2,
                             rng=np.random.default_rng(seed))
    return extract_rois(field, 64, overlap=0.5)


@FAST
@given(a=st.floats(-1e3, 1e3), b=st.floats(-5.0, 5.0), c=st.floats(-5.0, 5.0))
def test_nps_unchanged_by_added_plane(a, b, c):
    rois = _noise_rois()
    yy, xx = np.indices(rois.shape[1:], dtype=np.float64)
    ref = nps_2d(rois, (0.2, 0.2))
    out = nps_2d(rois + (a + b * xx + c * yy)[None], (0.2, 0.2))
    # plane detrending removes it exactly: equal to floating-point rounding of the trend
    np.testing.assert_allclose(out.nps, ref.nps, rtol=1e-6, atol=1e-9 * ref.nps.max())


@FAST
@given(scale=st.floats(0.01, 100.0))
def test_nps_grey_scale_is_quadratic(scale):
    rois = _noise_rois()
    ref = nps_2d(rois, (0.2, 0.2))
    out = nps_2d(scale * rois, (0.2, 0.2))
    np.testing.assert_allclose(out.nps, scale ** 2 * ref.nps, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("op", ["rot90", "fliplr", "flipud"])
def test_nps_rotation_and_flip(op):
    rois = _noise_rois()
    ref = nps_2d(rois, (0.2, 0.25))
    if op == "rot90":
        out = nps_2d(np.rot90(rois, 1, axes=(1, 2)), (0.25, 0.2))
        # rot90 swaps the axes; its spectrum is the transposed/reflected one: compare the
        # axis-independent radial profiles and the total variance (exact)
        fr, pr = radial_profile(ref)
        fo, po = radial_profile(out)
        np.testing.assert_allclose(fo, fr)
        np.testing.assert_allclose(po, pr, rtol=1e-9, atol=1e-12 * pr.max())  # DC bin ≈ 0
        assert out.variance == pytest.approx(ref.variance, rel=1e-12)
    else:
        axis = 2 if op == "fliplr" else 1
        out = nps_2d(np.flip(rois, axis=axis), (0.2, 0.25))
        # |FFT|² of a real array is even; the fftshifted grid is symmetric except the
        # unpaired Nyquist line, so compare the radial profiles (exact up to rounding)
        pr = radial_profile(ref)[1]
        np.testing.assert_allclose(radial_profile(out)[1], pr, rtol=1e-9, atol=1e-12 * pr.max())


# ---------------------------------------------------------------- TG-150

def _flat(shape=(300, 300), ramp=0.06, bump=0.04):
    gain = gain_pattern(shape, ramp=ramp, bump=bump)
    img, _ = flat_field(shape, gain=gain, offset=100.0, seed=5)
    return img


_TG150_FIELDS = ("global_signal_nonuniformity", "local_signal_nonuniformity",
                 "global_noise_nonuniformity", "local_noise_nonuniformity",
                 "global_snr_nonuniformity", "local_snr_nonuniformity")


@FAST
@given(scale=st.floats(0.001, 1000.0))
def test_tg150_grey_scale(scale):
    img = _flat()
    ref = tg150_uniformity(img, (0.1, 0.1), roi_mm=4, border_mm=3)
    out = tg150_uniformity(scale * img, (0.1, 0.1), roi_mm=4, border_mm=3)
    for name in _TG150_FIELDS:       # ratios: identical up to rounding
        assert getattr(out, name) == pytest.approx(getattr(ref, name), rel=1e-9), name


@FAST
@given(offset=st.floats(-50.0, 5000.0))
def test_tg150_noise_nonuniformity_grey_offset(offset):
    img = _flat()
    ref = tg150_uniformity(img, (0.1, 0.1), roi_mm=4, border_mm=3)
    out = tg150_uniformity(img + offset, (0.1, 0.1), roi_mm=4, border_mm=3)
    # SDs do not see an offset: identical up to rounding
    for name in ("global_noise_nonuniformity", "local_noise_nonuniformity"):
        assert getattr(out, name) == pytest.approx(getattr(ref, name), rel=1e-9), name


@pytest.mark.parametrize("op", ["rot90", "rot180", "fliplr", "flipud"])
def test_tg150_rotation_and_flip(op):
    # 300 px − 2·30 px border = 240 px = 6 ROIs of 40 px: the grid is centred exactly
    img = _flat((300, 300))
    out = {"rot90": np.rot90(img, 1), "rot180": np.rot90(img, 2),
           "fliplr": img[:, ::-1], "flipud": img[::-1, :]}[op]
    ref = tg150_uniformity(img, (0.1, 0.1), roi_mm=4, border_mm=3)
    res = tg150_uniformity(np.ascontiguousarray(out), (0.1, 0.1), roi_mm=4, border_mm=3)
    # the same pixels fall in the same (rotated) ROIs: identical up to rounding
    for name in _TG150_FIELDS:
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=1e-9), name


@pytest.mark.parametrize("op", ["rot90", "rot180", "fliplr", "flipud"])
def test_tg150_rotation_and_flip_odd_remainder(op):
    # (301, 303): 241/243 px inside the border, 6·40 = 240 used: an odd remainder cannot be
    # split evenly by whole-pixel ROIs, so the flipped grid sits one pixel further along.
    # Noise-free, signal non-uniformities within 1 % relative (ROI centres move 1 px of a
    # 40 px pitch over a smooth ramp + bump); with noise the ROIs hold other noise samples
    # and only a statistical agreement can hold, so noise/SNR are not compared here.
    gain = gain_pattern((301, 303), ramp=0.06, bump=0.04)
    img, _ = flat_field((301, 303), gain=gain, offset=100.0, noise="none")
    out = {"rot90": np.rot90(img, 1), "rot180": np.rot90(img, 2),
           "fliplr": img[:, ::-1], "flipud": img[::-1, :]}[op]
    ref = tg150_uniformity(img, (0.1, 0.1), roi_mm=4, border_mm=3)
    res = tg150_uniformity(np.ascontiguousarray(out), (0.1, 0.1), roi_mm=4, border_mm=3)
    for name in ("global_signal_nonuniformity", "local_signal_nonuniformity"):
        assert getattr(res, name) == pytest.approx(getattr(ref, name), rel=0.01), name


@FAST
@given(pixel_mm=st.floats(0.08, 0.2))
def test_tg150_pixel_size(pixel_mm):
    # a 31 mm field with the same physical gain pattern: the global signal non-uniformity of
    # a ramp + bump within 3 % relative (ROI side and border are rounded to whole pixels, so
    # ROI centres move by up to a pixel); 1 mm of slack keeps 5 × 5 ROIs at every pixel size
    n = int(round(31.0 / pixel_mm))
    gain = gain_pattern((n, n), ramp=0.06, bump=0.04)
    img, _ = flat_field((n, n), gain=gain, offset=100.0, noise="none")
    gain0 = gain_pattern((310, 310), ramp=0.06, bump=0.04)
    img0, _ = flat_field((310, 310), gain=gain0, offset=100.0, noise="none")
    ref = tg150_uniformity(img0, (0.1, 0.1), roi_mm=5, border_mm=2.5)
    res = tg150_uniformity(img, (pixel_mm, pixel_mm), roi_mm=5, border_mm=2.5)
    assert res.roi_mean.shape == ref.roi_mean.shape
    assert res.global_signal_nonuniformity == pytest.approx(ref.global_signal_nonuniformity,
                                                            rel=0.03)


# ---------------------------------------------------------------- ROI statistics

@FAST
@given(dr=st.integers(-20, 20), dc=st.integers(-20, 20), scale=st.floats(0.1, 10.0),
       offset=st.floats(-1000.0, 1000.0))
def test_roi_stats_translation_and_grey_level(dr, dc, scale, offset):
    rng = np.random.default_rng(1)
    img = np.zeros((160, 160))
    img[40:120, 40:120] = rng.normal(100.0, 5.0, (80, 80))
    ref = roi_stats(img, circle_mask(img.shape, (79.5, 79.5), 30.0))
    moved = np.roll(img, (dr, dc), axis=(0, 1))      # background is 0 and the object fits
    res = roi_stats(scale * moved + offset,
                    circle_mask(img.shape, (79.5 + dr, 79.5 + dc), 30.0))
    assert res.n_pixels == ref.n_pixels
    assert res.mean == pytest.approx(scale * ref.mean + offset, rel=1e-9)
    assert res.sd == pytest.approx(scale * ref.sd, rel=1e-9)
