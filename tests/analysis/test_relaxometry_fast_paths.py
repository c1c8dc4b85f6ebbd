"""mr.relaxometry fast paths (issue 16, third speed pass): each shortcut gives the result of the
plain computation it replaces — the taxicab erosion by prefix sums, the "valid" coarse
correlation, the greedy separation, the float32 median, the air floor in the phantom's box,
the T1 fit with duplicate polarity splits fitted once, and the 3 × 3 hill climb of the fine
vial search (a local maximum of the full-resolution filter)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from imgqa.analysis.relaxometry import air_floor, fit_t1_ir
from imgqa.analysis.relaxometry_vials import (
    _correlate_same,
    _correlate_valid,
    _erode_taxicab,
    _fine,
    _LocalFilter,
    _median_f64,
    _separated,
    locate_vials,
    vial_kernels,
)
from imgqa.phantoms.relaxometry import PLATE5_T1_MS, relaxometry_plate

TI = np.array([50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])
TR = TI + 3000.0
PX = 250.0 / 192


def test_taxicab_erosion_is_the_iterated_cross_erosion():
    rng = np.random.default_rng(11)
    for _ in range(200):
        h, w = rng.integers(1, 40, 2)
        mask = rng.random((h, w)) < rng.uniform(0.4, 0.99)
        k = int(rng.integers(1, 6))
        np.testing.assert_array_equal(_erode_taxicab(mask, k),
                                      ndimage.binary_erosion(mask, iterations=k))
    yy, xx = np.mgrid[:130, :135]
    disc = (yy - 64.3) ** 2 + (xx - 70.1) ** 2 < 63.0 ** 2
    for k in (3, 4, 7):
        np.testing.assert_array_equal(_erode_taxicab(disc, k),
                                      ndimage.binary_erosion(disc, iterations=k))


def test_valid_correlation_is_the_interior_of_the_same_size_one():
    rng = np.random.default_rng(12)
    image = rng.normal(size=(53, 61))
    kernels = vial_kernels(np.array([3.0, 3.7, 4.4]), 1.0, 0.6, gap_px=0.5)
    m = kernels.shape[-1] // 2
    np.testing.assert_allclose(_correlate_valid(image, kernels),
                               _correlate_same(image, kernels)[:, m:-m, m:-m], atol=1e-12)


def _separated_reference(rc, sc, rad, n):
    """The greedy choice written plainly: strongest first, kept unless closer than 1.5 radii
    (of the kept one) to a kept one."""
    keep: list[int] = []
    for i in np.argsort(sc, kind="stable")[::-1]:
        if all(math.hypot(rc[i][0] - rc[j][0], rc[i][1] - rc[j][1]) > 1.5 * rad[j]
               for j in keep):
            keep.append(int(i))
            if len(keep) == n:
                break
    return keep


def test_greedy_separation_equals_the_plain_greedy_choice():
    rng = np.random.default_rng(13)
    for _ in range(100):
        k = int(rng.integers(1, 90))
        rc = rng.integers(0, 60, (k, 2)).astype(float)
        sc = np.round(rng.random(k), 2)           # ties too
        rad = rng.uniform(2.0, 8.0, k)
        n = int(rng.integers(1, 25))
        assert _separated(rc, sc, rad, n) == _separated_reference(rc, sc, rad, n)


def test_float32_median_is_the_float64_median():
    rng = np.random.default_rng(14)
    for size in (1, 2, 3, 10, 11, 1000, 1001):
        v = (rng.random(size) * 1e3).astype(np.float32)
        assert _median_f64(v) == float(np.median(v.astype(np.float64)))


def test_air_floor_in_the_box_is_the_whole_image_transform():
    rng = np.random.default_rng(15)
    for _ in range(100):
        mask = np.zeros((60, 70), bool)
        r, c = rng.integers(0, 60), rng.integers(0, 70)
        mask[max(r - rng.integers(1, 40), 0):r, max(c - rng.integers(1, 40), 0):c] = True
        planes = [rng.normal(size=(60, 70)).astype(np.float32) for _ in range(3)]
        air = ndimage.distance_transform_cdt(~mask, metric="taxicab") > 8
        total = np.abs(planes[0]).astype(np.float64)
        for p in planes[1:]:
            total += np.abs(p)
        ref = 0.0 if air.sum() < 100 else float(total[air].sum() / (3 * air.sum()))
        assert air_floor(planes, mask) == ref


def test_t1_fit_rows_are_independent_with_duplicate_splits_fitted_once():
    """Vials whose smallest |S| is at the first TI have two equal polarity splits, fitted
    once: every vial's fit equals its fit alone."""
    rng = np.random.default_rng(16)
    t1 = np.array([20.0, 25.0, 60.0, 300.0, 900.0, 1800.0])
    s = np.abs(1000.0 * (1 - 2 * 0.98 * np.exp(-TI[None] / t1[:, None])
                         + np.exp(-TR[None] / t1[:, None])))
    s += rng.normal(scale=0.5, size=s.shape)
    assert (np.argmin(s, axis=1) == 0).sum() >= 2          # the duplicate case is exercised
    together = fit_t1_ir(TI, TR, s)
    for i in range(len(t1)):
        alone = fit_t1_ir(TI, TR, s[i:i + 1])
        assert alone.time_ms[0] == pytest.approx(together.time_ms[i], rel=1e-9)
        assert alone.flipped[0] == together.flipped[i]
    np.testing.assert_allclose(together.time_ms, t1, rtol=0.02)


@pytest.mark.parametrize("kw", [dict(rotation_deg=23.0, centre_mm=(6.0, -9.0)),
                                dict(rotation_deg=-61.0, mirror=True, pixel_mm=0.9, n=280)])
def test_fine_hill_climb_ends_on_local_maxima_of_the_full_resolution_filter(kw):
    """Started 2–3 px away from each vial, the 3 × 3 hill climb stops on a pixel that is the
    best of its 3 × 3 neighbourhood in the full-resolution matched filter (FFT over the whole
    image, best over every radius), with that filter's score and radius."""
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=1.0,
                                 seed=17, **kw)
    px = kw.get("pixel_mm", PX)
    found = locate_vials(stack, px)
    norm = np.abs(stack).max(axis=0).astype(float)
    norm /= np.median(norm[found.phantom_mask])
    radii = np.arange(6.5, 10.5 + 1e-9, max(0.5, px / 2)) / px
    kernels = vial_kernels(radii, max(1.5 / px, 1.0), 0.6)
    full = _correlate_same(norm, kernels)
    best, best_r = full.max(axis=0), radii[full.argmax(axis=0)]
    rng = np.random.default_rng(18)
    start = np.rint(found.centres_rc).astype(int) + rng.choice([-3, -2, 2, 3], (14, 2))
    pos, score, rad = _fine(_LocalFilter(norm, kernels, 1), start, radii,
                            lambda rc, r: np.ones(rc.shape[:-1], bool))
    for (r, c), s_, r_ in zip(pos, score, rad):
        assert s_ == pytest.approx(best[r, c], abs=1e-9)
        assert r_ == best_r[r, c]
        assert best[r, c] >= best[r - 1:r + 2, c - 1:c + 2].max() - 1e-9
    # and they are the vials found (within a pixel of the centroid-refined centres)
    d = np.hypot(*(pos[:, None, :] - found.centres_rc[None]).transpose(2, 0, 1))
    assert d.min(axis=1).max() < 1.5
