"""spect.uniformity_contrast kernel: Jaszczak-type cylinder with known gradient, ring, spheres."""

from __future__ import annotations

import pytest

from imgqa.analysis.spect_uniformity import tomographic_uniformity
from imgqa.phantoms.spect import jaszczak_volume


def _check(kw, iu_tol=0.15):
    vol, truth = jaszczak_volume(**kw)
    px = kw.get("pixel_mm", 3.0)
    r = tomographic_uniformity(vol, px)
    assert r.uniform_slices[0] == 0 and r.uniform_slices[1] >= truth["uniform_slices"][1]
    # One pixel of disc radius moves the extreme of the gradient by g·px/R.
    assert r.integral_uniformity_percent == pytest.approx(
        truth["tomographic_integral_uniformity_percent"], abs=iu_tol)
    assert len(r.spheres) == 4
    for s in r.spheres:
        assert s.contrast_percent == pytest.approx(truth[f"sphere_{s.index}_contrast_percent"],
                                                   abs=0.5)
    return r


def test_gradient_and_sphere_contrasts_recovered():
    r = _check({})
    assert r.ring_artefact_percent < 0.2  # a linear gradient averages out over an annulus


@pytest.mark.parametrize("kw", [
    {"centre_px": (40.3, 52.6)},                 # off-centre phantom
    {"pixel_mm": 2.0, "size": 140},              # finer pixels
    {"pixel_mm": 4.2, "size": 64},               # coarse pixels (the real Jaszczak: 4.13 mm)
    {"gradient": 0.08},                          # stronger non-uniformity
])
def test_invariance_position_pixel_size(kw):
    tol = 100 * kw.get("gradient", 0.04) * kw.get("pixel_mm", 3.0) / 108.0  # one pixel
    _check(kw, iu_tol=max(tol, 0.15))


def test_ring_height_recovered_on_the_ring_slices():
    vol, truth = jaszczak_volume(ring=(50.0, 9.0, 0.05), gradient=0.0)
    r = tomographic_uniformity(vol, 3.0, slices=tuple(truth["uniform_slices"]))
    assert r.ring_artefact_percent == pytest.approx(truth["ring_artefact_percent"], abs=0.1)
    assert r.ring_artefact_radius_mm == pytest.approx(50.0, abs=4.5)
    assert r.radial_nonuniformity_percent < 0.1


def test_smooth_cupping_is_not_a_ring_and_a_ring_on_cupping_is_found():
    cup, t = jaszczak_volume(cupping=0.1)
    r = tomographic_uniformity(cup, 3.0, slices=tuple(t["uniform_slices"]))
    assert r.ring_artefact_percent < 0.2
    # The trend's range over the annuli used (2 pixels to 0.8 R): 0.1·((28.5/36)² − (2.5/36)²)
    # of the level, relative to the median annulus.
    assert r.radial_nonuniformity_percent == pytest.approx(6.2, abs=0.4)
    both, t = jaszczak_volume(cupping=0.1, ring=(50.0, 9.0, 0.05))
    r = tomographic_uniformity(both, 3.0, slices=tuple(t["uniform_slices"]))
    # Height relative to the median annulus, which cupping lowers by ~1.5 %.
    assert r.ring_artefact_percent == pytest.approx(5.0, abs=0.25)
    assert r.ring_artefact_radius_mm == pytest.approx(50.0, abs=4.5)


def test_noise_raises_iu_and_spheres_stay_found():
    vol, truth = jaszczak_volume(counts=2000.0, seed=4)
    r = tomographic_uniformity(vol, 3.0)
    # Poisson CV 1/√2000 and the 4 % gradient's spread over the disc (SD of x over a disc of
    # radius ρR is ρR/2), added in quadrature.
    expected = ((100 / 2000 ** 0.5) ** 2 + (100 * 0.04 * 0.8 / 2) ** 2) ** 0.5
    assert r.noise_cv_percent == pytest.approx(expected, rel=0.05)
    assert r.integral_uniformity_percent >= truth["tomographic_integral_uniformity_percent"]
    assert [s.index for s in r.spheres] == [1, 2, 3, 4]


def test_bad_slices_and_empty_volume_refused():
    import numpy as np

    vol, _ = jaszczak_volume()
    with pytest.raises(ValueError, match="outside the volume"):
        tomographic_uniformity(vol, 3.0, slices=(5, 99))
    with pytest.raises(ValueError, match="no phantom"):
        tomographic_uniformity(np.zeros((10, 32, 32)), 3.0)


def test_real_jaszczak_sensible(shared_data):
    import imgqa

    (series,) = imgqa.load(shared_data / "nm/nmqc/Jaszack.dcm")
    r = tomographic_uniformity(series.stack(), series.pixel_spacing_mm[0])
    # The uniform section is slices 4–9 (1-based) below the spheres; the Jaszczak Deluxe
    # cylinder is 216 mm inside.
    assert r.uniform_slices == (3, 8)
    assert 2 * r.radius_px * series.pixel_spacing_mm[0] == pytest.approx(216, rel=0.03)
    # Noise-limited: ~7.8 % pixel CV per slice gives IU ~13 % on the 6-slice mean.
    assert 5 < r.integral_uniformity_percent < 20
    # Five of the six cold spheres are found (12.7 mm is below the ~2 × 4.13 mm pixel limit);
    # contrast falls with size (partial volume).
    assert len(r.spheres) == 5
    c = [s.contrast_percent for s in r.spheres]
    assert 50 < c[0] < 80 and c[-1] < c[0]
    assert all(b <= a + 2 for a, b in zip(c, c[1:]))
    assert [round(s.diameter_mm) for s in r.spheres][0] == pytest.approx(38, abs=6)
    # Rods (slices 24–44): only the larger sectors are resolved at 4.13 mm with this
    # reconstruction; their contrast falls with rod size.
    assert r.rod_slices is not None and r.rod_slices[0] >= 20
    assert 2 <= len(r.rods) <= 6
    rc = [s.contrast_percent for s in r.rods]
    assert 20 < rc[0] < 70 and rc[0] == max(rc)


_RODS = ((12.7, 0.0), (11.1, 0.2), (9.5, 0.0), (7.9, 0.4), (6.4, 0.0))


@pytest.mark.parametrize("kw", [
    {},
    {"centre_px": (66.2, 72.7), "rod_rotation_deg": 37.0},   # off-centre, insert rotated
    {"pixel_mm": 1.6, "size": 170, "rod_rotation_deg": -20.0},  # finer pixels
])
def test_rod_sectors_contrast_and_size_recovered(kw):
    kw = {"pixel_mm": 2.0, "size": 140, **kw}
    vol, truth = jaszczak_volume(rods=_RODS, **kw)
    r = tomographic_uniformity(vol, kw["pixel_mm"])
    assert r.rod_slices is not None and r.rod_slices[1] == vol.shape[0] - 1
    assert [s.index for s in r.rods] == [1, 2, 3, 4, 5]
    for s in r.rods:
        assert s.contrast_percent == pytest.approx(truth[f"rod_{s.index}_contrast_percent"],
                                                   abs=0.5)
        assert s.n_rods == truth[f"rod_{s.index}_count"]
        # Half the rod pitch; voxelised centroids move it by a fraction of a pixel.
        assert s.diameter_mm == pytest.approx(truth[f"rod_{s.index}_diameter_mm"],
                                              abs=0.5 * kw["pixel_mm"])
    # Sector boundaries follow the insert's rotation (within the rod-free gap between sectors,
    # several degrees wide).
    lo = (kw.get("rod_rotation_deg", 15.0)) % 60.0
    assert min(abs((s.angle_range_deg[0] - lo + 30) % 60 - 30) for s in r.rods) <= 5.0


def test_unresolved_rods_give_no_sector():
    # 4.8 mm rods at 4.2 mm pixels (1.1 pixel): no blob, so no contrast for that sector.
    vol, _ = jaszczak_volume(pixel_mm=4.2, size=64, rods=((12.7, 0.0), (4.8, 0.0)))
    r = tomographic_uniformity(vol, 4.2)
    assert len(r.rods) == 1 and r.rods[0].diameter_mm == pytest.approx(12.7, abs=2.1)
