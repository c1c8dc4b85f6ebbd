"""Catphan CTP404/CTP486 kernels recover the known geometry, CT numbers and slice thickness."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.catphan import analyse_ctp404, analyse_ctp486, find_geometry_rods
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.ct import catphan_ctp404, water_phantom


@pytest.mark.parametrize("roll,thickness,offset", [(0.0, 5.0, 0.0), (3.5, 3.0, 20.0),
                                                   (-6.0, 7.0, -15.0)])
def test_ctp404_truth(roll, thickness, offset):
    images, truth = catphan_ctp404(roll_deg=roll, slice_thickness_mm=thickness,
                                   hu_offset=offset, offset_mm=(8.0, -5.0))
    res = analyse_ctp404(images[0], 0.5)
    assert res.model == "600"
    assert res.rods.roll_deg == pytest.approx(roll, abs=0.2)
    for side in res.rods.side_lengths_mm:
        assert side == pytest.approx(50.0, abs=0.15)
    assert res.rods.centre_rc[0] == pytest.approx(truth["centre_rc"][0], abs=0.1)
    for mat, (_, stats, _) in res.inserts.items():
        # noise 5 HU over ~200 pixels: SE 0.35 HU; tolerance 1.5 HU
        assert stats.mean == pytest.approx(truth["inserts"][mat], abs=1.5), mat
    # Stated tolerance: slice thickness within 0.2 mm for 3-7 mm.
    assert res.slice_thickness_mm == pytest.approx(thickness, abs=0.2)


CT_PIXELS_MM = [0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.98]


@pytest.mark.parametrize("roll", [1.5, -4.0])
@pytest.mark.parametrize("thickness", [1.0, 3.0, 5.0, 7.0, 10.0])
@pytest.mark.parametrize("pixel_mm", CT_PIXELS_MM)
def test_ctp404_slice_thickness_any_pixel_size(pixel_mm, thickness, roll):
    """Wire-ramp slice thickness over the pixel sizes of CT practice (150 mm FOV cut).

    Regression: at 0.55 mm pixels the thickness was 0.3–2.9 mm low (the phantom drew the
    1 mm line one or two pixels wide, and the fragments of it passed for geometry rods).
    Measured over 3 seeds × this grid: mean of the four ramps within 0.10 mm, each ramp within
    0.12 mm. Stated tolerance: ± 0.15 mm (mean), ± 0.2 mm (each ramp).
    """
    images, _ = catphan_ctp404(size=int(round(150 / pixel_mm)), pixel_mm=pixel_mm,
                               roll_deg=roll, slice_thickness_mm=thickness, seed=1)
    res = analyse_ctp404(images[0], pixel_mm)
    assert res.rods.roll_deg == pytest.approx(roll, abs=0.1)
    assert res.slice_thickness_mm == pytest.approx(thickness, abs=0.15)
    for ramp in res.ramps:
        assert ramp.slice_thickness_mm == pytest.approx(thickness, abs=0.2), ramp.name


@pytest.mark.parametrize("pixel_mm", CT_PIXELS_MM)
def test_ctp404_rods_and_hu_any_pixel_size(pixel_mm):
    """Rod distances, centre and insert CT numbers do not depend on the pixel size.

    Measured (3 seeds × 3 rolls, off-centre): rod distances and diagonals within 0.06 mm,
    centre within 0.03 mm, noise-free HU error 0.00, with 5 HU noise ≤ 1.5 HU.
    Stated tolerances: 0.1 mm, 0.1 mm, 2 HU (noise: 5 HU in a 4 mm ROI).
    """
    images, truth = catphan_ctp404(size=int(round(150 / pixel_mm)), pixel_mm=pixel_mm,
                                   roll_deg=-2.5, offset_mm=(3.3, -2.1), hu_offset=12.0,
                                   seed=2)
    res = analyse_ctp404(images[0], pixel_mm)
    for side in res.rods.side_lengths_mm:
        assert side == pytest.approx(50.0, abs=0.1)
    for diag in res.rods.diagonals_mm:
        assert diag == pytest.approx(50.0 * np.sqrt(2), abs=0.1)
    err = np.hypot(*(np.subtract(res.rods.centre_rc, truth["centre_rc"]))) * pixel_mm
    assert err < 0.1
    for mat, (_, stats, _) in res.inserts.items():
        assert stats.mean == pytest.approx(truth["inserts"][mat], abs=2.0), mat


@pytest.mark.parametrize("pixel_mm", [0.3, 0.55])
def test_short_wire_ramps_are_not_taken_for_rods(pixel_mm):
    """Short ramps (thin slices) are compact bright lines on a 54 mm square, within the 15 %
    pixel-size allowance of the 50 mm rod square. With the rods filled in, the ramps alone must
    not pass for rods (before the roundness check they did: roll −33°, a 54 mm 'rod' square);
    with the rods present, the rods win."""
    images, truth = catphan_ctp404(size=int(round(150 / pixel_mm)), pixel_mm=pixel_mm,
                                   roll_deg=7.0, slice_thickness_mm=3.0, noise_sd=0.0)
    img = images[0]
    rods = find_geometry_rods(img, pixel_mm)
    assert rods.roll_deg == pytest.approx(7.0, abs=0.1)
    assert np.mean(rods.side_lengths_mm) == pytest.approx(50.0, abs=0.1)
    rr, cc = np.indices(img.shape)
    for r, c in rods.positions_rc:
        img[np.hypot(rr - r, cc - c) * pixel_mm < 2.5] = 100.0
    with pytest.raises(PhantomNotFoundError):
        find_geometry_rods(img, pixel_mm)


def test_not_ctp404():
    images, _ = water_phantom(size=256, pixel_mm=0.9, n_slices=1)
    with pytest.raises(PhantomNotFoundError, match="geometry rods"):
        find_geometry_rods(images[0], 0.9)


def test_ctp486_uniformity_on_cupped_disc():
    images, truth = water_phantom(size=256, pixel_mm=0.9, cupping_hu=10.0, noise_sd=2.0,
                                  n_slices=1)
    res = analyse_ctp486(images[0], 0.9)
    # ROIs 53 mm out, 10 mm radius: expected edge − centre = cupping·(53² + 10²/2 − 10²/2)/r_w²
    r_w = truth["parameters"]["radius_mm"] - truth["parameters"]["shell_mm"]
    expected = 10.0 * (53.0 ** 2) / r_w ** 2
    assert res.uniformity_max_deviation_hu == pytest.approx(expected, abs=0.5)
