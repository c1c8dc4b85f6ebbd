"""NEMA SNR, flood uniformity and flood ghosting against analytic truth."""

from __future__ import annotations

import pytest

from imgqa.analysis.mr_snr import (
    background_mask,
    find_object,
    flood_ghosting,
    flood_uniformity,
    signal_roi_mask,
    snr_background,
    snr_difference,
)
from imgqa.phantoms.mr import flood_phantom


def test_two_image_snr_recovers_truth():
    a, truth = flood_phantom(noise_sd=20.0, seed=1, n=256, pixel_mm=1.0)
    b, _ = flood_phantom(noise_sd=20.0, seed=2, n=256, pixel_mm=1.0)
    obj = find_object(a)
    r = snr_difference(a, b, signal_roi_mask(a, obj))
    assert r.snr == pytest.approx(truth["snr"], rel=0.03)
    assert r.noise_sd == pytest.approx(20.0, rel=0.03)


def test_single_image_snr_rayleigh_corrected_recovers_truth():
    img, truth = flood_phantom(noise_sd=20.0, noise="rician", seed=3, n=256, pixel_mm=1.0)
    obj = find_object(img)
    r = snr_background(img, signal_roi_mask(img, obj), background_mask(img.shape, obj))
    assert r.snr == pytest.approx(truth["snr"], rel=0.05)


def test_flood_uniformity_piu():
    k = 0.001
    img, _ = flood_phantom(noise_sd=2.0, gradient_per_mm=k, n=200, pixel_mm=1.0,
                           diameter_mm=160.0)
    obj = find_object(img)
    u = flood_uniformity(img, obj, (1.0, 1.0))
    # extreme 1 cm² ROI centres lie 5.64 mm inside the 75 % ROI (radius 80·√0.75 mm)
    x = 80.0 * 0.75 ** 0.5 - (100 / 3.14159265) ** 0.5
    assert u.piu == pytest.approx(100 * (1 - k * x), abs=0.5)
    assert u.fractional_uniformity_vertical == 1.0


def test_fractional_uniformity_analytic():
    # gradient 0.3 %/mm: within ±10 % of the centre for |x| ≤ 33.3 mm of the ±60 mm profile
    img, _ = flood_phantom(noise_sd=1.0, gradient_per_mm=0.003, n=200, pixel_mm=1.0,
                           diameter_mm=160.0)
    u = flood_uniformity(img, find_object(img), (1.0, 1.0))
    assert u.fractional_uniformity_horizontal == pytest.approx(33.3 / 60.0, abs=0.03)
    assert u.fractional_uniformity_vertical == 1.0


def test_flood_ghosting_percent():
    img, truth = flood_phantom(noise_sd=1.0, ghost_fraction=0.02, n=200, pixel_mm=1.5,
                               diameter_mm=150.0)
    g = flood_ghosting(img, find_object(img), phase_axis=0)
    assert g.ghosting_percent == pytest.approx(truth["ghosting_percent"], abs=0.5)


def test_single_image_snr_of_a_signed_real_valued_image_has_no_rayleigh_factor():
    # Gaussian noise everywhere (a real-valued image, as Philips "R" images): the air SD is σ
    # itself; the 0.655 magnitude correction would give 0.655 × the truth.
    img, truth = flood_phantom(noise_sd=20.0, noise="gaussian", seed=4, n=256, pixel_mm=1.0)
    obj = find_object(img)
    r = snr_background(img, signal_roi_mask(img, obj), background_mask(img.shape, obj))
    assert r.snr == pytest.approx(truth["snr"], rel=0.05)
    assert r.noise_sd == pytest.approx(20.0, rel=0.05)
    assert "signed" in r.method


@pytest.mark.parametrize("seed", range(6))
def test_piu_disk_means_from_row_sums_equal_convolution_and_erosion(seed):
    # The integral-image 1 cm² means must be the full-image convolution's at every pixel of
    # the eroded ROI, and the inner mask exactly the binary erosion (any spacing, ROIs
    # touching the image border, ragged ROIs).
    import numpy as np
    from scipy import ndimage

    from imgqa.analysis.acr_mri.piu import disk_kernel
    from imgqa.analysis.mr_snr import _inner_disk_means

    rng = np.random.default_rng(seed)
    img = rng.normal(1000.0, 30.0, (int(rng.integers(40, 160)), int(rng.integers(40, 160))))
    roi = ndimage.binary_opening(rng.random(img.shape) > 0.03, iterations=2)
    r = (100.0 / np.pi) ** 0.5
    kern = disk_kernel(r / rng.uniform(0.4, 2.5), r / rng.uniform(0.4, 2.5))
    inner, means, (r0, c0) = _inner_disk_means(img, roi, kern > 0)
    ref_inner = ndimage.binary_erosion(roi, structure=kern > 0)
    full = np.zeros_like(roi)
    full[r0:r0 + inner.shape[0], c0:c0 + inner.shape[1]] = inner
    assert np.array_equal(full, ref_inner)
    ref = ndimage.convolve(img, kern, mode="nearest")[r0:r0 + inner.shape[0],
                                                      c0:c0 + inner.shape[1]]
    np.testing.assert_allclose(means[inner], ref[inner], rtol=1e-12)


def test_single_pivot_percentile_is_numpys():
    # find_object's 99th percentile from one partition: exactly np.percentile (linear method)
    import numpy as np

    from imgqa.analysis._quantile import percentile as _percentile

    rng = np.random.default_rng(7)
    for _ in range(400):
        m = int(rng.integers(1, 2000))
        a = (rng.normal(0.0, 1.0, m) * 10 ** rng.uniform(-3, 5)).astype(
            rng.choice([np.float32, np.float64]))
        if rng.random() < 0.3:
            a = np.round(a)                      # ties
        for q in (0, 1, 37.3, 50, 95, 99, 99.9, 100):
            assert _percentile(a, q) == float(np.percentile(a, q))
    a = np.array([1.0, np.nan, 3.0])
    assert np.isnan(_percentile(a, 99))


@pytest.mark.parametrize("seed", range(4))
def test_piu_disk_means_of_integer_pixels_are_exact(seed):
    # Integer-valued pixels (MR magnitude) take the float32 path: every sum is an exact
    # integer there, so the means equal the exact disk sums / n bit for bit.
    import numpy as np
    from scipy import ndimage

    from imgqa.analysis.acr_mri.piu import disk_kernel
    from imgqa.analysis.mr_snr import _inner_disk_means

    rng = np.random.default_rng(100 + seed)
    img = np.round(rng.normal(2000.0, 300.0, (int(rng.integers(40, 160)),
                                              int(rng.integers(40, 160)))))
    roi = ndimage.binary_opening(rng.random(img.shape) > 0.03, iterations=2)
    r = (100.0 / np.pi) ** 0.5
    fp = disk_kernel(r / rng.uniform(0.4, 2.5), r / rng.uniform(0.4, 2.5)) > 0
    inner, means, (r0, c0) = _inner_disk_means(img, roi, fp)
    sums = ndimage.convolve(img, fp.astype(np.float64), mode="constant")
    ref = sums[r0:r0 + inner.shape[0], c0:c0 + inner.shape[1]] / np.count_nonzero(fp)
    full = np.zeros_like(roi)
    full[r0:r0 + inner.shape[0], c0:c0 + inner.shape[1]] = inner
    assert np.array_equal(full, ndimage.binary_erosion(roi, structure=fp))
    assert np.array_equal(means[inner], ref[inner])


def test_single_pivot_median_is_numpys():
    import numpy as np

    from imgqa.analysis._quantile import median

    rng = np.random.default_rng(8)
    for _ in range(400):
        m = int(rng.integers(1, 3000))
        dtype = rng.choice([np.float32, np.float64, np.int16, np.uint16])
        a = np.abs(rng.normal(0.0, 1.0, m) * 10 ** rng.uniform(-3, 4))
        a = (a * 100 if np.dtype(dtype).kind in "iu" else a).astype(dtype)
        if rng.random() < 0.3:
            a = np.round(a)                      # ties
        assert median(a) == float(np.median(a))
    assert np.isnan(median(np.array([1.0, np.nan, 3.0])))


@pytest.mark.parametrize("seed", range(30))
def test_find_object_equals_the_labelled_largest_region(seed):
    # find_object's regions from row runs must give the box and median of ndimage.label's
    # largest region on discs, squares, discs with holes, and with separate specks or ghosts
    # (several regions, some of equal size).
    import numpy as np
    from scipy import ndimage

    from imgqa.analysis.mr_snr import find_object

    rng = np.random.default_rng(seed)
    n = int(rng.integers(40, 200))
    yy, xx = np.mgrid[:n, :n]
    c = rng.uniform(0.3 * n, 0.7 * n, 2)
    rad = rng.uniform(0.15 * n, 0.3 * n)
    img = np.where((yy - c[0]) ** 2 + (xx - c[1]) ** 2 <= rad ** 2, 1000.0, 0.0)
    if seed % 3 == 1:                            # square object
        img[:] = 0.0
        img[int(c[0] - rad):int(c[0] + rad), int(c[1] - rad):int(c[1] + rad)] = 1000.0
    if seed % 5 == 2:                            # a hole
        img[int(c[0]) - 2:int(c[0]) + 2, int(c[1]) - 2:int(c[1]) + 2] = 0.0
    if seed % 4 == 3:                            # specks and a ghost
        img[rng.integers(0, n, 6), rng.integers(0, n, 6)] = 900.0
        img[:3, : n // 3] = 800.0
    img = np.round(img + rng.normal(0.0, 20.0, img.shape))
    obj = find_object(img)
    f32 = img.astype(np.float32)
    mask = f32 > 0.25 * np.percentile(f32, 99)
    lab, k = ndimage.label(mask)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    region = lab == int(np.argmax(sizes))
    rows = np.flatnonzero(region.any(axis=1))
    cols = np.flatnonzero(region.any(axis=0))
    assert obj.centre_rc == ((rows[0] + rows[-1]) / 2.0, (cols[0] + cols[-1]) / 2.0)
    assert obj.half_rc == ((rows[-1] - rows[0] + 1) / 2.0, (cols[-1] - cols[0] + 1) / 2.0)
    assert obj.signal == float(np.median(f32[region]))


@pytest.mark.parametrize("seed", range(20))
def test_row_run_regions_equal_ndimage_label_on_random_masks(seed):
    # Many regions, U shapes joined only far below, equal sizes (the first in raster order
    # wins, as argmax over ndimage.label's numbering): the same pixels as labelling.
    import numpy as np
    from scipy import ndimage

    from imgqa.analysis.mr_snr import _largest_region

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 60)), int(rng.integers(1, 60)))
    mask = rng.random(shape) < rng.uniform(0.2, 0.7)
    if seed == 0:
        mask = np.zeros((9, 9), bool)
        mask[1:3, 1:3] = mask[5:7, 5:7] = True   # two equal squares
    found = _largest_region(mask)
    lab, n = ndimage.label(mask)
    if n == 0:
        assert found is None
        return
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    region = lab == int(np.argmax(sizes))
    box, flat = found
    mine = mask.copy() if flat is None else np.isin(np.arange(mask.size), flat).reshape(mask.shape)
    assert np.array_equal(mine, region)
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    assert box == (rows[0], rows[-1], cols[0], cols[-1])
