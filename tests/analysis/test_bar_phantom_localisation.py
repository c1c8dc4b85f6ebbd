"""nm.bar_phantom's coarse-to-fine bar-region localisation (issue 17) against the whole-image
full-resolution computation it replaces: the same box on digital quadrant-bar phantoms of any
size, pixel size, position and orientation, and on the real quadrant-bar images."""

from __future__ import annotations

import numpy as np
import pytest

import imgqa
from imgqa.analysis import bar_phantom as bp
from imgqa.phantoms.nm import quadrant_bars

WIDTHS = (2.5, 3.0, 3.5, 4.0)


def _full_res_box(img: np.ndarray, size: int) -> tuple[int, int, int, int] | None:
    # the previous algorithm, whole image at full resolution
    return bp._bar_box_full(img, size)


def _phantom(seed: int):
    """A quadrant-bar phantom of random matrix, pixel size, counts, position (shifted without
    wrapping round) and orientation; the 15 mm smoothing is ≥ 12 px (the coarse path)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(260, 520))
    px = float(rng.uniform(0.8, 1.3))
    img, truth = quadrant_bars(n, px, bar_widths_mm=WIDTHS, psf_fwhm_mm=4.0,
                               counts=float(rng.uniform(200, 3000)), seed=seed)
    dr, dc = (int(v) for v in rng.integers(-25, 26, 2))
    big = np.pad(img, 30)
    img = big[30 - dr:30 - dr + n, 30 - dc:30 - dc + n]
    img = np.ascontiguousarray(np.rot90(img, int(rng.integers(0, 4))), dtype=np.float64)
    return img, px, truth


def _by_width(result, truth):
    """(measured MTF, true MTF) per quadrant, matched by the measured bar width."""
    true = {q["bar_width_mm"]: q["mtf_droege_morin"] for q in truth["quadrants"]}
    out = {}
    for q in result.quadrants:
        w = min(WIDTHS, key=lambda x: abs(x - (q.bar_width_measured_mm or 0.0)))
        out[w] = (q.mtf, true[w])
    return out


@pytest.mark.parametrize("seed", range(8))
def test_coarse_to_fine_localisation_finds_every_quadrant(seed):
    img, px, truth = _phantom(seed)
    pairs = _by_width(bp.quadrant_bar_analysis(img, px, bar_widths_mm=WIDTHS), truth)
    assert sorted(pairs) == list(WIDTHS)                 # all four quadrants, one each
    for w, (mtf, true) in pairs.items():
        assert mtf == pytest.approx(true, abs=0.03), w    # the validation check's tolerance


@pytest.mark.parametrize("seed", range(8))
def test_coarse_to_fine_box_matches_the_full_resolution_box(seed):
    # Within 1 px per edge (the thresholds come from the 4 × 4 block means), unless the
    # whole-image computation itself lost quadrants (its largest region was only part of the
    # pattern: seeds 2 and 4, where the new box holds all four quadrants and the old two).
    img, px, truth = _phantom(seed)
    size = max(3, round(15.0 / px))
    new, old = bp._bar_box(img, size), _full_res_box(img, size)
    if max(abs(a - b) for a, b in zip(new, old)) <= 1:
        return
    real_full, bp._bar_box = bp._bar_box, bp._bar_box_full
    try:
        old_result = bp.quadrant_bar_analysis(img, px, bar_widths_mm=WIDTHS)
    finally:
        bp._bar_box = real_full
    assert len(_by_width(old_result, truth)) < 4, (new, old)


def test_coarse_path_is_taken_on_large_images():
    calls = []
    real_full = bp._bar_box_full

    def spy(*a):
        calls.append(1)
        return real_full(*a)

    bp._bar_box_full = spy
    try:
        for seed in range(8):
            img, px, _ = _phantom(seed)
            bp._bar_box(img, max(3, round(15.0 / px)))
    finally:
        bp._bar_box_full = real_full
    assert len(calls) <= 2          # the whole image only when the coarse grid is ambiguous


@pytest.mark.parametrize("rel", ["nmqc/QuadrantBar.dcm", "imageqc/barphantom.dcm",
                                 "nmqc/FourBar.dcm"])
def test_real_images_same_box_as_full_resolution(shared_data, rel):
    s = imgqa.load(shared_data / "nm" / rel)[0]
    img = s.pixels(0).astype(np.float64)
    size = max(3, round(15.0 / s.require_spacing("bar")[0]))
    assert bp._bar_box(img, size) == _full_res_box(img, size)


def test_smoothed_crop_equals_the_whole_image_filter():
    from scipy import ndimage

    img = np.random.default_rng(1).poisson(50.0, (97, 131)).astype(np.float64)
    full = ndimage.uniform_filter(img, 9)
    for r0, r1, c0, c1 in ((0, 97, 0, 131), (0, 20, 5, 60), (40, 97, 100, 131), (30, 31, 7, 8)):
        np.testing.assert_allclose(bp._smooth_crop(img, 9, r0, r1, c0, c1),
                                   full[r0:r1, c0:c1], rtol=1e-12)


def test_smoothed_profiles_equal_the_filtered_image_means():
    # the quadrant-gap search's profiles: mean over one axis of uniform_filter(img, size), any
    # size (even sizes shift the window as ndimage does) and boxes touching the borders
    from scipy import ndimage

    rng = np.random.default_rng(0)
    for _ in range(40):
        img = rng.random((int(rng.integers(20, 60)), int(rng.integers(20, 60))))
        size = int(rng.integers(1, 9))
        h, w = img.shape
        r0 = int(rng.integers(0, h - 2))
        r1 = int(rng.integers(r0 + 1, h + 1))
        c0 = int(rng.integers(0, w - 2))
        c1 = int(rng.integers(c0 + 1, w + 1))
        ref = ndimage.uniform_filter(img, size)[r0:r1, c0:c1]
        np.testing.assert_allclose(bp._smoothed_profile(img, size, 0, (r0, r1), (c0, c1)),
                                   ref.mean(axis=1), rtol=1e-12)
        np.testing.assert_allclose(bp._smoothed_profile(img, size, 1, (c0, c1), (r0, r1)),
                                   ref.mean(axis=0), rtol=1e-12)


def test_smoothed_crop_any_size_and_float_values_equal_the_filter():
    # cumulative-sum box means: odd and even windows (ndimage's window offset), crops touching
    # every border, non-integer values (then equal up to rounding)
    from scipy import ndimage

    rng = np.random.default_rng(3)
    for _ in range(40):
        img = rng.random((int(rng.integers(12, 70)), int(rng.integers(12, 70)))) * 100.0
        size = int(rng.integers(1, 12))
        h, w = img.shape
        r0 = int(rng.integers(0, h - 1))
        r1 = int(rng.integers(r0 + 1, h + 1))
        c0 = int(rng.integers(0, w - 1))
        c1 = int(rng.integers(c0 + 1, w + 1))
        np.testing.assert_allclose(bp._smooth_crop(img, size, r0, r1, c0, c1),
                                   ndimage.uniform_filter(img, size)[r0:r1, c0:c1],
                                   rtol=1e-12, atol=1e-12)


def test_shift_opening_and_dilation_equal_ndimage():
    # the band's opening (two cross erosions, two dilations; outside the band is background)
    from scipy import ndimage

    rng = np.random.default_rng(4)
    for _ in range(40):
        shape = (int(rng.integers(3, 40)), int(rng.integers(3, 40)))
        mask = rng.random(shape) < rng.uniform(0.3, 0.9)
        np.testing.assert_array_equal(bp._open2(mask),
                                      ndimage.binary_opening(mask, iterations=2))
        np.testing.assert_array_equal(bp._dilate_cross(mask), ndimage.binary_dilation(mask))
        np.testing.assert_array_equal(bp._erode_cross(mask), ndimage.binary_erosion(mask))
