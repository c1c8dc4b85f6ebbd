"""Invariance properties of the MRI kernels (issue 10).

The ACR large-phantom battery is tested end to end (``imgqa.api.analyse(..., "mr.acr")`` on
written DICOM), because its kernels share the localisation (centre, rotation, slice order):
geometry (six diameters), slice thickness, slice position (slices 1 and 11), PIU, ghosting,
SNR, hole-array resolution and low-contrast spokes. The images are written with a rescale
slope of 0.025 so that quantisation is negligible (signal 1000, Rician noise σ = 1: a
magnitude image, non-negative like a scanner's — with Gaussian noise the hole arrays' Gibbs
ringing goes negative and is clipped when written unsigned, which alone moved the 0.9 mm
horizontal dip from 0.40 to 0.24 of the contrast). Each phantom costs ~3 s, so the
geometric properties use a few fixed examples instead of hypothesis draws.

Invariances that apply
----------------------
* sub-pixel translation of the phantom (regenerated with ``centre_offset_mm``): every
  measurement except the verdict of the 0.9 mm hole arrays at 0.98 mm pixels, which is
  phase-dependent physically (see ``test_acr_translation``).
* rot90: does not apply — the ACR phantom has a fixed orientation (notch at 12 o'clock,
  slice-1 wedges, handed hole arrays and spoke order), its holder fixes it, and the battery
  corrects only small in-plane rotations (a warning above 3°).
* left–right flip (a mirrored image): applies to the symmetric quantities — diameters, slice
  thickness, PIU, ghosting, SNR; the slice-position bar difference (right − left) changes
  sign by definition. The hole arrays and the spoke sequence are handed: resolution and
  low-contrast spokes are not compared (a mirrored image is refused or scored lower — that
  is not a neutral change).
* pixel size with the phantom's physical size fixed (matrix 200–320 over 250 mm): geometry,
  slice thickness, slice position, PIU, ghosting; resolution and low-contrast detectability
  depend on the pixel size physically and are not invariant.
* grey-level scale a > 0: every measurement (ratios, half-maximum levels, z-scores).
  Offset b: does not apply — MR magnitude has a physical zero; PIU, ghosting and SNR are
  ratios of absolute signal levels by the ACR definitions.

``mr_snr`` (two-image SNR, flood uniformity/ghosting): scale invariance of SNR and the
translation of the flood are tested below with the flood phantom.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from imgqa.analysis.mr_snr import (
    find_object,
    flood_ghosting,
    flood_uniformity,
    signal_roi_mask,
    snr_difference,
)
from imgqa.api import analyse
from imgqa.phantoms.mr import acr_phantom, flood_phantom
from imgqa.phantoms.writer import write_series

FOV_MM = 250.0
SLOPE = 0.025

GEOMETRY = ("geometric_accuracy_slice1_horizontal", "geometric_accuracy_slice1_vertical",
            "geometric_accuracy_slice5_horizontal", "geometric_accuracy_slice5_vertical",
            "geometric_accuracy_slice5_diagonal_45", "geometric_accuracy_slice5_diagonal_135")

# measurement → absolute tolerance and its reason
TOL = {
    # half-level crossings of 0.98 mm samples, interpolated linearly: ±0.4 mm (measured spread
    # over positions 0.28 mm; the documented accuracy is 0.5 mm)
    **{g: 0.4 for g in GEOMETRY},
    "slice_thickness_mm": 0.1,             # ramp FWHM at 10× the thickness: 1 mm → 0.1 mm
    "slice_position_slice1_mm": 0.3,       # bar-end crossing, interpolated (ACR limit ±5 mm)
    "slice_position_slice11_mm": 0.3,
    "piu": 0.3,                            # 1 cm² ROI means move with the sampling
    "ghosting_percent": 0.05,              # background ROI means of the 1 % ghost
}


def _write(tmp_path, name, images, pixel_mm, slope=SLOPE):
    write_series(images, tmp_path / name, modality="MR", description="ACR axial",
                 pixel_spacing_mm=pixel_mm, slice_thickness_mm=5.0, slice_spacing_mm=10.0,
                 rescale_slope=slope, extra_tags={"MagneticFieldStrength": 3.0})
    return analyse(tmp_path / name, "mr.acr")[0]


def _phantom(n=256, offset=(0.0, 0.0)):
    images, _ = acr_phantom(n=n, pixel_mm=FOV_MM / n, noise_sd=1.0, noise="rician",
                            centre_offset_mm=offset, bar_difference_mm=2.0, seed=3)
    return images


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    images = _phantom()
    res = _write(tmp_path_factory.mktemp("ref"), "ref", images, FOV_MM / 256)
    return images, res


def _compare(res, ref, names, sign=None):
    sign = sign or {}
    for name in names:
        got, want = res.value(name), ref.value(name)
        assert got is not None and want is not None, name
        assert got == pytest.approx(sign.get(name, 1.0) * want, abs=TOL[name]), name


@pytest.mark.parametrize("dx, dy", [(3.3, -2.7), (-7.1, 5.45)])
def test_acr_translation(reference, tmp_path, dx, dy):
    _, ref = reference
    res = _write(tmp_path, f"t{dx:+.3f}{dy:+.3f}", _phantom(offset=(dx, dy)), FOV_MM / 256)
    _compare(res, ref, TOL)
    # the phantom's centre moves with it (sub-pixel: test_acr_centre_follows_subpixel_translation)
    c0, c1 = ref.extra["phantom_centre_rc"], res.extra["phantom_centre_rc"]
    px = FOV_MM / 256
    assert c1[0] - c0[0] == pytest.approx(dy / px, abs=0.1)
    assert c1[1] - c0[1] == pytest.approx(dx / px, abs=0.1)
    # resolution: a pass/fail per array. The 1.1 and 1.0 mm arrays (dips ≥ 0.8 of the
    # contrast) must keep their verdicts. The 0.9 mm arrays at 0.98 mm pixels sit near the
    # 0.25 criterion and their magnitude-image dip depends on the sampling phase (measured
    # 0.24 centred, 0.51 at (3.3, −2.7) mm — the reason the ACR staggers the hole rows), so
    # their verdict and hence resolution_mm are not translation-invariant quantities.
    def verdicts(r):
        return {(a["diameter_mm"], a["direction"]): a["resolved"]
                for a in r.extra["resolution"]["arrays"] if a["diameter_mm"] >= 1.0}
    assert verdicts(res) == verdicts(ref)
    # the spokes are a count (exact at σ = 1)
    assert res.value("low_contrast_spokes") == ref.value("low_contrast_spokes")
    assert res.value("snr") == pytest.approx(ref.value("snr"), rel=0.05)  # noise samples move


def test_acr_centre_follows_subpixel_translation():
    """Regression: the centre came from the mask extents, in half-pixel steps (0.42 px off
    here); it is now refined from the half-signal edge crossings."""
    from imgqa.analysis.acr_mri.localisation import find_phantom
    px = FOV_MM / 256
    ref = find_phantom(_phantom()[6], (px, px))
    for dx, dy in ((3.3, -2.7), (-7.1, 5.45)):
        res = find_phantom(_phantom(offset=(dx, dy))[6], (px, px))
        assert res.centre_rc[0] - ref.centre_rc[0] == pytest.approx(dy / px, abs=0.1)
        assert res.centre_rc[1] - ref.centre_rc[1] == pytest.approx(dx / px, abs=0.1)


def test_acr_left_right_flip(reference, tmp_path):
    images, ref = reference
    res = _write(tmp_path, "flip", np.ascontiguousarray(images[:, :, ::-1]), FOV_MM / 256)
    symmetric = [k for k in TOL if not k.startswith("slice_position")]
    _compare(res, ref, symmetric)
    # right − left bar difference: sign reversed by the mirror
    _compare(res, ref, ("slice_position_slice1_mm", "slice_position_slice11_mm"),
             sign={"slice_position_slice1_mm": -1.0, "slice_position_slice11_mm": -1.0})
    # the same pixels mirrored: the same noise samples in the SNR ROIs
    assert res.value("snr") == pytest.approx(ref.value("snr"), rel=0.01)


@pytest.mark.parametrize("n", [200, 320])
def test_acr_pixel_size(reference, tmp_path, n):
    _, ref = reference
    res = _write(tmp_path, f"n{n}", _phantom(n=n), FOV_MM / n)
    _compare(res, ref, TOL)


@pytest.mark.parametrize("scale", [0.1, 1.7])
def test_acr_grey_scale(reference, tmp_path, scale):
    images, ref = reference
    # the same stored integers with a scaled rescale slope: the pixel values are a·x exactly
    res = _write(tmp_path, f"s{scale}", images * scale, FOV_MM / 256, slope=SLOPE * scale)
    for name in TOL:
        assert res.value(name) == pytest.approx(ref.value(name), rel=1e-6, abs=1e-9), name
    for name in ("snr", "resolution_mm", "low_contrast_spokes"):
        assert res.value(name) == pytest.approx(ref.value(name), rel=1e-6), name


# ---------------------------------------------------------------- flood SNR

FAST = settings(max_examples=6, deadline=None, derandomize=True)


@FAST
@given(scale=st.floats(0.01, 100.0))
def test_two_image_snr_grey_scale(scale):
    a, _ = flood_phantom(seed=1)
    b, _ = flood_phantom(seed=2)
    roi = signal_roi_mask(a, find_object(a))
    ref = snr_difference(a, b, roi)
    res = snr_difference(scale * a, scale * b, signal_roi_mask(scale * a, find_object(scale * a)))
    # a ratio of the mean to the SD of the difference: identical up to rounding
    assert res.snr == pytest.approx(ref.snr, rel=1e-9)


@pytest.mark.parametrize("op", ["rot90", "rot180", "fliplr", "flipud"])
def test_two_image_snr_rotation_and_flip(op):
    f = {"rot90": lambda x: np.rot90(x), "rot180": lambda x: np.rot90(x, 2),
         "fliplr": lambda x: x[:, ::-1], "flipud": lambda x: x[::-1]}[op]
    a, _ = flood_phantom(seed=1)
    b, _ = flood_phantom(seed=2)
    ref = snr_difference(a, b, signal_roi_mask(a, find_object(a)))
    ra, rb = np.ascontiguousarray(f(a)), np.ascontiguousarray(f(b))
    res = snr_difference(ra, rb, signal_roi_mask(ra, find_object(ra)))
    # a centred elliptical ROI over the same (rotated) pixels: identical up to rounding
    assert res.snr == pytest.approx(ref.snr, rel=1e-9)


@FAST
@given(scale=st.floats(0.01, 100.0))
def test_flood_uniformity_and_ghosting_grey_scale(scale):
    img, _ = flood_phantom(gradient_per_mm=0.001, ghost_fraction=0.02, seed=4)
    px = (2.0, 2.0)
    ref_u = flood_uniformity(img, find_object(img), px)
    ref_g = flood_ghosting(img, find_object(img), phase_axis=0)
    s = scale * img
    res_u = flood_uniformity(s, find_object(s), px)
    res_g = flood_ghosting(s, find_object(s), phase_axis=0)
    # PIU, fractional uniformity and percent ghosting are ratios: identical up to rounding
    assert res_u.piu == pytest.approx(ref_u.piu, rel=1e-9)
    assert res_u.fractional_uniformity_horizontal == ref_u.fractional_uniformity_horizontal
    assert res_g.ghosting_percent == pytest.approx(ref_g.ghosting_percent, rel=1e-9)


@pytest.mark.parametrize("op", ["rot180", "fliplr", "flipud"])
def test_flood_uniformity_and_ghosting_flip(op):
    # the flood (n = 128, even) is centred between pixels: flips map it onto itself, and the
    # phase axis (0) stays the phase axis; rot90 would swap it and is the caller's job
    f = {"rot180": lambda x: np.rot90(x, 2), "fliplr": lambda x: x[:, ::-1],
         "flipud": lambda x: x[::-1]}[op]
    # noise-free: the ghost box lies on the side with the larger gap (the same pixel indices
    # in the flipped image, i.e. the other physical side), and with noise it would average
    # other noise samples (±5 % of a 2 % ghost) — a statistical, not a systematic, change
    img, _ = flood_phantom(gradient_per_mm=0.001, ghost_fraction=0.02, noise_sd=0.0)
    px = (2.0, 2.0)
    ref_u = flood_uniformity(img, find_object(img), px)
    ref_g = flood_ghosting(img, find_object(img), phase_axis=0)
    out = np.ascontiguousarray(f(img))
    res_u = flood_uniformity(out, find_object(out), px)
    res_g = flood_ghosting(out, find_object(out), phase_axis=0)
    # 1 cm² ROI extremes over the same pixel set: PIU identical up to rounding; the ghost of
    # a centred flood is symmetric, so either side gives the same ghosting up to rounding
    assert res_u.piu == pytest.approx(ref_u.piu, rel=1e-9)
    assert res_g.ghosting_percent == pytest.approx(ref_g.ghosting_percent, rel=1e-6)
