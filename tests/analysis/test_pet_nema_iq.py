"""NEMA NU 2 IQ kernel: EARL recoveries within 2 % of the phantom's numerical truth (spheres
≥ 17 mm, 6 mm FWHM), invariance to position, tilt, rotation and voxel size, NEMA ROIs, noise."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.pet_nema_iq import EARL_BANDS, nema_iq_analysis, peak_kernel
from imgqa.phantoms.pet import nema_iq

_KINDS = ("rc_mean", "rc_max", "rc_peak")


def _centre_mm(s, shape, px, dz):
    nz, ny, nx = shape
    c = s.centre_vox
    return np.array([(c[2] - (nx - 1) / 2) * px, (c[1] - (ny - 1) / 2) * px,
                     (c[0] - (nz - 1) / 2) * dz])


def _check(vol, truth, px, dz, rel=0.02, centre_mm=1.0):
    r = nema_iq_analysis(vol, px, dz, background_true=truth["background_bq_ml"])
    for s, t in zip(r.spheres, truth["spheres"]):
        assert np.linalg.norm(_centre_mm(s, vol.shape, px, dz) - t["centre_mm"]) < centre_mm, \
            f"{s.diameter_mm} mm sphere found in the wrong place"
        if s.diameter_mm >= 17:
            for kind in _KINDS:
                assert getattr(s, kind) == pytest.approx(t[kind], rel=rel), (s.diameter_mm, kind)
    return r


@pytest.mark.parametrize(("shift", "tilt", "rotation"), [
    ((0.0, 0.0, 0.0), 0.0, 0.0),
    ((25.0, -18.0, 6.0), 0.0, 0.0),          # off-centre
    ((-12.0, 9.0, -4.0), 4.0, 0.0),          # tilted 4° out of the axial plane
    ((10.0, 10.0, 0.0), 2.5, 35.0),          # tilted and rotated in-plane
    ((0.0, 0.0, 0.0), 0.0, 180.0),           # upside down
])
def test_recovery_is_invariant_to_position_tilt_and_rotation(shift, tilt, rotation):
    vol, truth = nema_iq(shift_mm=shift, tilt_deg=tilt, rotation_deg=rotation)
    r = _check(vol, truth, 2.5, 3.0)
    assert r.tilt_deg == pytest.approx(tilt, abs=0.5)
    assert r.ring_radius_mm == pytest.approx(57.2, abs=0.5)
    for s, t in zip(r.spheres, truth["spheres"]):
        assert s.contrast_percent == pytest.approx(t["contrast_percent"], abs=1.0)
    assert r.lung_residual_percent == pytest.approx(truth["lung_residual_percent"], abs=0.5)
    assert r.background_mean == pytest.approx(5300.0, rel=1e-3)


@pytest.mark.parametrize(("shape", "px", "dz"), [((36, 200, 200), 2.0, 2.0),
                                                 ((30, 100, 100), 4.0, 4.0)])
def test_recovery_at_other_voxel_sizes(shape, px, dz):
    vol, truth = nema_iq(shape, px, dz, shift_mm=(6.0, -4.0, 0.0), tilt_deg=2.0)
    _check(vol, truth, px, dz, centre_mm=0.5 * px + 0.5)


def test_realistic_400x400x36_geometry_and_noise():
    # A clinical matrix (400², 2.04 mm, 36 slices of 3.27 mm) with 10 % voxel noise: every
    # sphere is still found within 1.5 mm; RCmean/peak (averages) stay within 3 %.
    vol, truth = nema_iq((36, 400, 400), 2.04, 3.27, shift_mm=(-30.0, 20.0, 5.0), tilt_deg=3.0,
                         rotation_deg=-20.0, noise_fraction=0.10, seed=4)
    r = nema_iq_analysis(vol, 2.04, 3.27, background_true=5300.0)
    for s, t in zip(r.spheres, truth["spheres"]):
        assert np.linalg.norm(_centre_mm(s, vol.shape, 2.04, 3.27) - t["centre_mm"]) < 1.5
        if s.diameter_mm >= 17:
            assert s.rc_mean == pytest.approx(t["rc_mean"], rel=0.03)
            assert s.rc_peak == pytest.approx(t["rc_peak"], rel=0.03)
            # The maximum of a noisy sphere is biased upwards: a known property of RCmax.
            assert t["rc_max"] <= s.rc_max < t["rc_max"] * 1.12
    # Background variability of noise 10 % per voxel averaged in a 37 mm ROI is small.
    assert 0 < r.spheres[-1].background_variability_percent < 2.0
    assert r.spheres[0].background_variability_percent > r.spheres[-1].\
        background_variability_percent


def test_nema_background_rois_twelve_on_five_slices():
    vol, _ = nema_iq(shift_mm=(0.0, 0.0, 0.0))
    r = nema_iq_analysis(vol, 2.5, 3.0)
    assert len(r.background_rc) == 12 and len(r.background_slices) == 5
    k0 = r.background_slices[0]
    assert sorted(np.array(r.background_slices) - k0) == [-7, -3, 0, 3, 7]  # ±10, ±20 mm / 3 mm
    # Every 37 mm ROI is ≥ 15 mm from every sphere edge in the plane, and no two overlap.
    pts = np.array(r.background_rc)
    for s in r.spheres:
        d = np.hypot(pts[:, 0] - s.centre_vox[1], pts[:, 1] - s.centre_vox[2]) * 2.5
        assert np.all(d >= s.diameter_mm / 2 + 15.0 + 18.5 - 1e-6)
    gaps = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) * 2.5
    assert np.all(gaps[np.triu_indices(12, 1)] >= 37.0)


def test_ratio_parameter_scales_contrast_and_recovery():
    vol, truth = nema_iq(ratio=8.0)
    r = nema_iq_analysis(vol, 2.5, 3.0, ratio=8.0)
    for s, t in zip(r.spheres, truth["spheres"]):
        assert s.contrast_percent == pytest.approx(t["contrast_percent"], abs=1.0)
        if s.diameter_mm >= 17:
            assert s.rc_mean == pytest.approx(t["rc_mean"], rel=0.02)


def test_weaker_filling_than_stated_is_still_located():
    # Filled 2.5:1 but analysed with the default 4:1: the spheres are still found; the
    # contrast formula then uses the stated ratio (the user's value), as NEMA defines it.
    vol, truth = nema_iq(ratio=2.5, shift_mm=(8.0, 4.0, 0.0))
    r = nema_iq_analysis(vol, 2.5, 3.0, ratio=4.0)
    for s, t in zip(r.spheres, truth["spheres"]):
        assert np.linalg.norm(_centre_mm(s, vol.shape, 2.5, 3.0) - t["centre_mm"]) < 1.0


def test_peak_kernel_is_one_cubic_centimetre():
    k = peak_kernel(2.0, 3.0)
    assert k.sum() == pytest.approx(1.0)
    # Unnormalised, the weights add up to the sphere's volume in voxels.
    raw = peak_kernel(2.0, 3.0) / peak_kernel(2.0, 3.0).max()
    assert raw.sum() * 2.0 * 2.0 * 3.0 == pytest.approx(1000.0, rel=0.02)


def test_earl_bands_are_ordered_and_complete():
    for band in EARL_BANDS.values():
        for limits in band.values():
            if limits is None:
                continue
            assert len(limits) == 6
            assert all(lo < hi for lo, hi in limits)


def test_a_uniform_cylinder_is_not_an_iq_phantom():
    from imgqa.phantoms.pet import cylinder

    vol, _ = cylinder((20, 100, 100), 4.0, 4.0)
    with pytest.raises(ValueError, match="hot sphere"):
        nema_iq_analysis(vol, 4.0, 4.0)
    with pytest.raises(ValueError, match="5 slices"):
        nema_iq_analysis(vol[:3], 4.0, 4.0)


@pytest.mark.parametrize("offsets", [(0.0, 0.0, 0.0, 0.0, 3.3, 0.0),    # 28 mm sphere lower
                                     (0.0, 0.0, 0.0, -3.0, 0.0, 2.5)])  # 22 and 37 mm off too
def test_small_spheres_found_when_a_large_sphere_sits_off_the_plane(offsets):
    # Seen on a real IQ series (pynemaiqpet demo, 2.08 mm pixels, 2.78 mm slices, 10:1): the
    # 28 mm sphere 1.2 slices below the others. A plane through the three largest centres
    # then tilts ~6° and puts the 10/13 mm spheres ~3 slices off; the four-sphere refit
    # (17 mm searched along the normal) keeps every sphere within 2 mm of its true centre.
    vol, truth = nema_iq((60, 192, 192), 2.08, 2.78, ratio=10.0, fwhm_mm=7.0,
                         sphere_offsets_mm=offsets, noise_fraction=0.08, seed=7)
    r = nema_iq_analysis(vol, 2.08, 2.78, ratio=10.0, background_true=5300.0)
    for s, t in zip(r.spheres, truth["spheres"]):
        err = np.linalg.norm(_centre_mm(s, vol.shape, 2.08, 2.78) - t["centre_mm"])
        assert err < 2.0, f"{s.diameter_mm} mm sphere {err:.1f} mm from its centre"
    assert r.tilt_deg < 3.0
    assert r.spheres[0].contrast_percent > 0.5 * truth["spheres"][0]["contrast_percent"]
