"""Catphan CTP404/CTP486 kernels recover the known geometry, CT numbers and slice thickness."""

from __future__ import annotations

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
