"""Finding a round CT phantom and placing the water-phantom ROIs."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.ct_phantom import clock_positions, find_phantom, water_phantom_rois
from imgqa.errors import PhantomNotFoundError
from imgqa.phantoms.ct import water_phantom


@pytest.mark.parametrize("offset", [(0.0, 0.0), (25.0, -30.0), (-40.0, 12.5)])
@pytest.mark.parametrize("table", [False, True])
def test_off_centre_phantom_found(offset, table):
    images, truth = water_phantom(size=192, pixel_mm=1.6, noise_sd=10.0, offset_mm=offset,
                                  table=table, n_slices=1)
    ph = find_phantom(images[0], 1.6)
    r, c = truth["centre_rc"]
    # Centre within 0.5 mm, radius within 0.5 mm.
    assert ph.centre_rc[0] == pytest.approx(r, abs=0.5 / 1.6)
    assert ph.centre_rc[1] == pytest.approx(c, abs=0.5 / 1.6)
    assert ph.radius_mm == pytest.approx(truth["radius_mm"], abs=0.5)
    assert not ph.truncated


def test_clock_positions_follow_screen_orientation():
    pos = clock_positions((100.0, 100.0), 20.0)
    assert pos == {"12": (80.0, 100.0), "3": (100.0, 120.0), "6": (120.0, 100.0),
                   "9": (100.0, 80.0)}


def test_rectangle_is_not_a_phantom():
    img = np.full((128, 128), -1000.0)
    img[40:90, 10:120] = 0.0
    with pytest.raises(PhantomNotFoundError, match="not round"):
        find_phantom(img, 1.0)


def test_air_only_and_truncated_phantom_refused():
    with pytest.raises(PhantomNotFoundError):
        find_phantom(np.full((64, 64), -1000.0), 1.0)
    images, _ = water_phantom(size=128, pixel_mm=1.0, offset_mm=(0.0, 60.0), n_slices=1)
    with pytest.raises(PhantomNotFoundError, match="field of view"):
        water_phantom_rois(images[0], 1.0)


def test_small_phantom_for_roi_geometry():
    images, _ = water_phantom(size=128, pixel_mm=0.5, radius_mm=25.0, shell_mm=2.0, n_slices=1)
    with pytest.raises(PhantomNotFoundError, match="too small"):
        water_phantom_rois(images[0], 0.5)
