"""mr.relaxometry fast paths (issue 16, fourth speed pass): each gives, bit for bit, the result
of the plain computation it replaces — the taxicab erosion and dilation on flattened rows
(against scipy), the phantom mask labelled in its bounding box with the holes filled inside a
ring (against the previous implementation, kept here), and the air mask of the floor (against
the distance transform)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imgqa.analysis._phantom_mask import fill_holes, otsu_threshold, phantom_disc
from imgqa.analysis.relaxometry_vials import _dilate_taxicab, _erode_taxicab


def _phantom_disc_reference(image: np.ndarray):
    """The previous `phantom_disc` (whole-image label, `fill_holes` in the padded box)."""
    img = np.asarray(image, float)
    step = max(1, min(img.shape) // 256)
    level = 0.5 * otsu_threshold(img[::step, ::step] if step > 1 else img)
    lab, n = ndimage.label(img > level)
    if n == 0:
        raise ValueError("no phantom signal")
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    big = lab == int(np.argmax(sizes))
    rows_any, cols_any = np.flatnonzero(big.any(axis=1)), np.flatnonzero(big.any(axis=0))
    disc = np.zeros(img.shape, bool)
    r0, r1 = max(rows_any[0] - 1, 0), min(rows_any[-1] + 2, img.shape[0])
    c0, c1 = max(cols_any[0] - 1, 0), min(cols_any[-1] + 2, img.shape[1])
    disc[r0:r1, c0:c1] = fill_holes(big[r0:r1, c0:c1])
    box = disc[r0:r1, c0:c1]
    n_px = float(box.sum())
    r_c = r0 + float(box.sum(axis=1) @ np.arange(r1 - r0)) / n_px
    c_c = c0 + float(box.sum(axis=0) @ np.arange(c1 - c0)) / n_px
    return disc, (r_c, c_c), float(np.sqrt(n_px / np.pi))


def _assert_same_disc(image: np.ndarray) -> None:
    try:
        ref = _phantom_disc_reference(image)
    except ValueError:
        with pytest.raises(ValueError):
            phantom_disc(image)
        return
    disc, centre, radius = phantom_disc(image)
    np.testing.assert_array_equal(disc, ref[0])
    assert centre == ref[1] and radius == ref[2]
    assert [type(c) for c in centre] == [type(c) for c in ref[1]]   # numpy or Python float


def test_taxicab_erosion_and_dilation_are_scipys():
    rng = np.random.default_rng(41)
    for _ in range(400):
        h, w = rng.integers(1, 40, 2)
        mask = rng.random((h, w)) < rng.uniform(0.0, 1.0)
        k = int(rng.integers(1, 10))
        np.testing.assert_array_equal(_erode_taxicab(mask, k),
                                      ndimage.binary_erosion(mask, iterations=k))
        np.testing.assert_array_equal(_dilate_taxicab(mask, k),
                                      ndimage.binary_dilation(mask, iterations=k))
        if mask.any():   # the air mask of `air_floor`: beyond k in the taxicab metric
            np.testing.assert_array_equal(
                ~_dilate_taxicab(mask, k),
                ndimage.distance_transform_cdt(~mask, metric="taxicab") > k)
    for k in (0, -1):
        mask = rng.random((9, 7)) < 0.5
        np.testing.assert_array_equal(_dilate_taxicab(mask, k), mask)
        np.testing.assert_array_equal(_erode_taxicab(mask, k), mask)


def test_phantom_disc_is_the_previous_one_on_random_and_digital_images():
    from imgqa.phantoms.relaxometry import PLATE5_T1_MS, relaxometry_plate

    rng = np.random.default_rng(42)
    for _ in range(150):
        h, w = rng.integers(2, 60, 2)
        img = ndimage.gaussian_filter(rng.random((h, w)), rng.uniform(0.0, 3.0))
        img *= rng.choice([1.0, 1e-3, 1e6])
        _assert_same_disc(img)
        _assert_same_disc(img.astype(np.float32))
    yy, xx = np.mgrid[:128, :140]
    for centre in ((64.0, 70.0), (3.0, 70.0), (64.0, 136.5), (125.0, 2.0)):   # edges too
        img = np.where(np.hypot(yy - centre[0], xx - centre[1]) < 45.0, 900.0, 0.0)
        img[np.hypot(yy - centre[0] - 10, xx - centre[1]) < 6.0] = 0.0          # a hole
        _assert_same_disc(img + rng.normal(0, 5, img.shape))
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=np.array([50.0, 400.0, 3200.0]),
                                 tr_ms=np.full(3, 5000.0), noise_sd=2.0, seed=3)
    for p in stack:
        _assert_same_disc(np.abs(p))
    with pytest.raises(ValueError, match="no phantom"):
        phantom_disc(np.zeros((16, 16)))


def test_phantom_disc_is_the_previous_one_on_the_real_mr_images(shared_data):
    import imgqa

    root = shared_data / "mr"
    folders = sorted(p for p in root.glob("relaxometry_hazen/T*/site*/plate*") if p.is_dir())
    folders += sorted(p for p in root.glob("magnet_hazen/*") if p.is_dir())
    if not folders:
        pytest.skip("no MR series in the shared data")
    for folder in folders:
        for series in imgqa.load(folder):
            for i in range(0, len(series), max(1, len(series) // 8)):
                _assert_same_disc(series.pixels(i))
