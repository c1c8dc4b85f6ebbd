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
from imgqa.analysis.relaxometry_filter import (
    _correlate_same,
    _correlate_valid,
    _LocalFilter,
    vial_kernels,
)
from imgqa.analysis.relaxometry_vials import (
    _erode_taxicab,
    _fine,
    _median_f64,
    _separated,
    locate_vials,
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


# ---------------------------------------------------------------------------------------------
# Fourth speed pass (issue 16, T1 ≤ 0.1 × hazen): cached kernel banks, spectra and gather
# plans, the running best over radii, single-index medians, the prefix-truncated greedy
# separation, the iterated-cross erosion and the two-stage (block, then windows) gather.
# Each is checked against the plain computation, and the whole search against a run with
# every shortcut replaced by its plain form: the same vials, bit for bit.
# ---------------------------------------------------------------------------------------------
from imgqa.analysis import relaxometry as relax_mod  # noqa: E402
from imgqa.analysis import relaxometry_vials as vials_mod  # noqa: E402
from imgqa.analysis.relaxometry import _median_rows, analyse_plate  # noqa: E402
from imgqa.analysis.relaxometry_filter import (  # noqa: E402
    _fft_shape,
    _kernel_bank,
    _kernel_spectrum,
)
from imgqa.analysis.relaxometry_vials import (  # noqa: E402
    _best_over_radii,
)


def test_cached_kernel_bank_and_spectrum_are_the_plain_ones():
    radii = np.arange(6.5, 10.5 + 1e-9, 0.65) / PX
    key = (tuple(radii.tolist()), 1.5 / PX, 0.6, 1.0)
    bank = _kernel_bank(*key)
    np.testing.assert_array_equal(bank, vial_kernels(radii, 1.5 / PX, 0.6))
    assert not bank.flags.writeable                    # shared between calls: read-only
    rng = np.random.default_rng(21)
    image = rng.normal(size=(73, 74)).astype(np.float32)
    spec = _kernel_spectrum(*key, _fft_shape(image.shape))
    np.testing.assert_array_equal(_correlate_valid(image, bank, spec),
                                  _correlate_valid(image, bank.astype(np.float32)))


def test_running_best_over_radii_is_max_and_first_argmax():
    rng = np.random.default_rng(22)
    radii = np.array([3.0, 3.5, 4.0, 4.5])
    for dtype in (np.float32, np.float64):
        score = np.round(rng.normal(size=(4, 30, 31)), 1).astype(dtype)   # many ties
        best, r = _best_over_radii(score, radii)
        np.testing.assert_array_equal(best, score.max(axis=0))
        np.testing.assert_array_equal(r, radii[score.argmax(axis=0)])
    score[2, 5, 5] = np.nan                            # NaN: the reductions' own answer
    best, r = _best_over_radii(score, radii)
    assert np.isnan(best[5, 5]) and r[5, 5] == radii[2]


def test_single_index_medians_are_numpys():
    rng = np.random.default_rng(23)
    for n in (1, 2, 3, 4, 9, 10, 2748, 2749):
        for a in ((rng.random((6, n)) * 1e3).astype(np.float32),
                  np.round(rng.random((6, n)) * 5).astype(np.float32),    # ties
                  rng.random((6, n))):
            np.testing.assert_array_equal(_median_rows(a),
                                          np.median(a.astype(np.float64), axis=1))
            assert _median_f64(a[0]) == float(np.median(a[0].astype(np.float64)))


def test_separation_when_the_strongest_do_not_suffice():
    """Positions crowded so that the strongest 2 n block one another: the greedy choice goes
    on over every position (the fallback) and is still the plain one."""
    rng = np.random.default_rng(24)
    for _ in range(50):
        crowd = rng.normal(scale=1.0, size=(40, 2)) + 30.0              # strong, one cluster
        far = rng.uniform(0, 60, (30, 2))                                  # weak, spread
        rc = np.vstack([crowd, far])
        sc = np.r_[rng.uniform(1, 2, 40), rng.uniform(0, 1, 30)]
        rad = np.full(70, 3.0)
        n = int(rng.integers(2, 12))
        assert _separated(rc, sc, rad, n) == _separated_reference(rc, sc, rad, n)


def _plain_flat(local: _LocalFilter, pos_rc: np.ndarray, kernels: np.ndarray) -> np.ndarray:
    """The windows' values gathered straight from the padded image (one index per window
    pixel and kernel-support pixel), then the same matrix product."""
    size, h = kernels.shape[-1], local.h
    support = np.flatnonzero(np.any(kernels != 0, axis=0))
    sr, sc = np.divmod(support, size)
    oi, oj = np.divmod(np.arange(h * h), h)
    w = local.width
    offsets = (oi * w + oj)[:, None] + (sr * w + sc)[None, :]
    p = np.asarray(pos_rc, np.intp).reshape(-1, 2)
    base = p[:, 0] * w + p[:, 1] + local.shift
    out = np.empty((len(p), h * h, kernels.shape[0]))
    for i in range(len(p)):        # one position per product, as the fast path's batches
        np.matmul(local.padded[base[i] + offsets][None], local.weights, out=out[i:i + 1])
    return out


def test_block_then_window_gather_is_the_direct_gather():
    rng = np.random.default_rng(25)
    image = rng.random((90, 97))
    radii = np.array([4.0, 4.6, 5.2])
    kernels = vial_kernels(radii, 1.2, 0.6)
    local = _LocalFilter(image, kernels, 1)
    pos = np.stack([rng.integers(0, 90, 40), rng.integers(0, 97, 40)], axis=1)
    np.testing.assert_array_equal(local.flat(pos), _plain_flat(local, pos, kernels))
    # and it is the filter: each response is the kernel's sum over the window
    m = kernels.shape[-1] // 2
    padded = np.pad(image, m + 1)
    r, c = pos[0]
    patch = padded[r:r + kernels.shape[-1] + 2, c:c + kernels.shape[-1] + 2]
    want = [[(patch[i:i + 2 * m + 1, j:j + 2 * m + 1] * k).sum() for k in kernels]
            for i in range(3) for j in range(3)]
    np.testing.assert_allclose(local.flat(pos[:1])[0], want, atol=1e-12)


def _reference_search(monkeypatch):
    """Replace every shortcut of the vial search by its plain form (the reference path)."""
    def plain_bank(radii, wall, roi, gap=1.0):
        return vial_kernels(np.array(radii, float), wall, roi, gap)

    def plain_spectrum(radii, wall, roi, gap, shape):
        k = plain_bank(radii, wall, roi, gap).astype(np.float32)
        from scipy import fft as sfft
        return sfft.rfft2(k, s=shape, axes=(-2, -1))

    def plain_best(score, radii_px):
        return score.max(axis=0), radii_px[np.argmax(score, axis=0)]

    def plain_flat(self, pos_rc):
        return _plain_flat(self, pos_rc, self._kernels)

    orig_init = _LocalFilter.__init__

    def init(self, image, kernels, half, padded=None, pad=0, bank_key=None):
        orig_init(self, image, kernels, half, padded, pad)          # uncached plan
        self._kernels = np.asarray(kernels)

    monkeypatch.setattr(vials_mod, "_kernel_bank", plain_bank)
    monkeypatch.setattr(vials_mod, "_kernel_spectrum", plain_spectrum)
    monkeypatch.setattr(vials_mod, "_best_over_radii", plain_best)
    monkeypatch.setattr(vials_mod, "_median_f64",
                        lambda v: float(np.median(np.asarray(v, np.float64))))
    monkeypatch.setattr(vials_mod, "_erode_taxicab",
                        lambda m, k: ndimage.binary_erosion(m, iterations=k))
    monkeypatch.setattr(vials_mod, "_separated", _separated_reference)
    monkeypatch.setattr(_LocalFilter, "__init__", init)
    monkeypatch.setattr(_LocalFilter, "flat", plain_flat)
    monkeypatch.setattr(relax_mod, "_median_rows",
                        lambda a: np.median(np.asarray(a, np.float64), axis=1))


def _assert_same_plate(fast, ref):
    np.testing.assert_array_equal(fast.layout.centres_rc, ref.layout.centres_rc)
    np.testing.assert_array_equal(fast.layout.scores, ref.layout.scores)
    assert fast.layout.radius_px == ref.layout.radius_px
    np.testing.assert_array_equal(fast.layout.bath_mask, ref.layout.bath_mask)
    np.testing.assert_array_equal(fast.centres_rc, ref.centres_rc)
    np.testing.assert_array_equal(fast.signals, ref.signals)
    np.testing.assert_array_equal(fast.times_ms, ref.times_ms)


@pytest.mark.parametrize("kw", [dict(), dict(rotation_deg=37.0, centre_mm=(-7.0, 11.0)),
                                dict(rotation_deg=-75.0, mirror=True, pixel_mm=0.9, n=280),
                                dict(layout="nist", rotation_deg=12.0)])
def test_fast_search_is_the_reference_search_on_digital_plates(kw, monkeypatch):
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=2.0,
                                 seed=26, **kw)
    px = kw.get("pixel_mm", PX)
    fast = analyse_plate(list(stack.astype(np.float32)), TI, px, "T1", tr_ms=TR)
    with monkeypatch.context() as mp:
        _reference_search(mp)
        ref = analyse_plate(list(stack.astype(np.float32)), TI, px, "T1", tr_ms=TR)
    _assert_same_plate(fast, ref)


def test_fast_search_is_the_reference_search_on_the_real_series(real_plates_two_ways):
    for fast, reference in real_plates_two_ways(_reference_search):
        _assert_same_plate(fast, reference)


@pytest.mark.parametrize("shift", [(0, 1), (1, 0), (3, -5), (-7, 2), (11, 9)])
def test_vial_location_is_invariant_to_translation(shift):
    """An image shifted by whole pixels (odd shifts move the plate against the coarse
    search's 2 × 2 bins) gives the same vials shifted, and the same times."""
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=2.0,
                                 seed=27, n=224, rotation_deg=19.0)
    planes = list(stack.astype(np.float32))
    moved = [np.roll(p, shift, axis=(0, 1)) for p in planes]          # air wraps round
    a = analyse_plate(planes, TI, PX, "T1", tr_ms=TR)
    b = analyse_plate(moved, TI, PX, "T1", tr_ms=TR)
    np.testing.assert_allclose(b.centres_rc, a.centres_rc + np.array(shift), atol=1e-9)
    np.testing.assert_allclose(b.times_ms, a.times_ms, rtol=1e-9)
