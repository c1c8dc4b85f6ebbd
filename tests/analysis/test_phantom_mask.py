"""The fast phantom mask (`imgqa.analysis._phantom_mask`) against the library routines it
replaces (skimage's Otsu threshold, scipy's binary_fill_holes), and its centre/radius against
a disc of known geometry."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.filters import threshold_otsu

from imgqa.analysis._phantom_mask import fill_holes, otsu_threshold, phantom_disc


@pytest.mark.parametrize("seed", range(6))
def test_otsu_and_fill_holes_match_the_library(seed):
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.normal(0, 1, (97, 131)), 3.0) * 50 + \
        rng.normal(100, 5, (97, 131))
    t = otsu_threshold(img)
    # the same 256-bin histogram: equal, or one bin apart where a value sits on a bin edge
    assert abs(t - float(threshold_otsu(img))) <= (img.max() - img.min()) / 256 + 1e-9
    mask = img > t
    assert np.array_equal(fill_holes(mask), ndimage.binary_fill_holes(mask))
    assert np.array_equal(fill_holes(~mask), ndimage.binary_fill_holes(~mask))


@pytest.mark.parametrize("centre, radius", [((64.0, 64.0), 40.0), ((50.3, 81.7), 33.5),
                                            ((90.0, 40.0), 25.0)])
def test_phantom_disc_recovers_a_disc_with_dark_inserts(centre, radius):
    yy, xx = np.mgrid[:128, :128].astype(float)
    d = np.hypot(yy - centre[0], xx - centre[1])
    rng = np.random.default_rng(1)
    # signal with a smooth shading and noise in the phantom, no signal in the air
    img = np.where(d <= radius, 1000.0 + 2.0 * (xx - 64) + rng.normal(0, 5, d.shape), 0.0)
    # a dark insert inside the phantom (vial wall, rod) is a hole to fill
    img[(np.hypot(yy - centre[0] - 0.4 * radius, xx - centre[1]) < 0.2 * radius)] = 0.0
    disc, c, r = phantom_disc(img)
    assert np.array_equal(disc, d <= radius)
    assert c == pytest.approx(centre, abs=0.05)
    assert r == pytest.approx(radius, abs=0.5)
    ref = ndimage.binary_fill_holes(img > 0.5 * float(threshold_otsu(img)))
    assert np.array_equal(disc, ref)
    for step in (2, 4):   # subsampled histogram: same mask
        assert np.array_equal(phantom_disc(img, step=step)[0], disc)


def test_empty_image_is_refused():
    with pytest.raises(ValueError, match="no phantom"):
        phantom_disc(np.zeros((16, 16)))
