"""mr.relaxometry fast paths (issue 16, fourth speed pass): each gives, bit for bit, the result
of the plain computation it replaces — the taxicab erosion and dilation on flattened rows
(against scipy), the phantom mask labelled in its bounding box with the holes filled inside a
ring (against the previous implementation, kept here), the air mask of the floor (against
the distance transform), the bath annulus from squared distances (against ``np.hypot``), the
coarse peaks' maximum filter (against scipy's) and the grid search with constant step grids
(against the previous one, kept here); and whole plates, digital and the real hazen
series, against the same analysis with every one of these replaced by its plain
computation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imgqa.analysis._phantom_mask import fill_holes, otsu_threshold, phantom_disc
from imgqa.analysis.relaxometry_vials import (
    _annulus,
    _dilate_taxicab,
    _erode_taxicab,
    _maximum_filter,
)


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


def _grid_search_reference(columns, y, lo, hi, key=None):
    """The previous `_grid_search` (step grids and first grid rebuilt per call, one
    exponential per set and trial in the refinements); ``key`` (the cache's) unused."""
    from imgqa.analysis.relaxometry import _solve_normal

    n_sets = y.shape[0]
    y = np.asarray(y, float)
    yy = y.T[:, :, None]
    t = np.sqrt(lo * hi) * np.exp(np.log(hi / lo) / 2 * np.linspace(-1.0, 1.0, 200))[None, :]
    cols = [c[:, 0, :] for c in columns(t)]
    rhs = [y @ c for c in cols]
    coef = _solve_normal([c[:, None, :] for c in cols], rhs)
    rss = (y * y).sum(axis=1)[:, None] - sum(c * b for c, b in zip(coef, rhs))
    centre = t[0, np.argmin(rss, axis=1)]
    span = np.full(n_sets, np.log(hi / lo) / 2) * 2.0 / 199 * 2.0
    rows = np.arange(n_sets)
    steps = np.linspace(-1.0, 1.0, 41)
    for _ in range(3):
        t = centre[:, None] * np.exp(span[:, None] * steps[None, :])
        cols = columns(t)
        coef = _solve_normal(cols, yy)
        resid = coef[0] * cols[0]
        for c, x in zip(coef[1:], cols[1:]):
            resid += c * x
        np.subtract(yy, resid, out=resid)
        resid *= resid
        rss = resid.sum(axis=0)
        k = np.argmin(rss, axis=1)
        centre = t[rows, k]
        span = span * 2.0 / 40 * 2.0
    return centre, np.stack([c[rows, k] for c in coef], axis=-1), rss[rows, k]


def _assert_same_fit(a, b) -> None:
    for f in ("time_ms", "amplitude", "second", "rel_rms", "flipped"):
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype, f
        np.testing.assert_array_equal(x, y, err_msg=f)


def test_fits_are_those_of_the_previous_grid_search(monkeypatch):
    from imgqa.analysis import relaxometry as rel

    rng = np.random.default_rng(43)
    ti = np.array([50.0, 100.0, 200.0, 400.0, 600.0, 800.0])
    te = 10.0 * np.arange(1, 33)
    cases = []
    for tr in (np.full(6, 1000.0), np.array([1e3, 1e3, 1e3, 1260.0, 1860.0, 2460.0]), 1e9):
        t1 = rng.uniform(20.0, 3000.0, 15)[:, None]
        s = 1000 * (1 - 2 * rng.uniform(0.8, 1.0, (15, 1)) * np.exp(-ti / t1)
                    + np.exp(-np.asarray(tr) / t1)) + rng.normal(0, 5, (15, 6))
        cases += [lambda s=s, tr=tr: rel.fit_t1_ir(ti, tr, np.abs(s)),
                  lambda s=s, tr=tr: rel.fit_t1_ir(ti[::-1], tr, s[:, ::-1], magnitude=False)]
    s2 = 1000 * np.exp(-te / rng.uniform(5.0, 2000.0, (15, 1))) + rng.normal(20, 5, (15, 32))
    cases += [lambda off=off: rel.fit_t2_multiecho(te, s2, offset=off, floor=12.0)
              for off in ("never", "auto", "always")]
    rel._FIRST_GRIDS.clear()
    built = [case() for case in cases]             # first grids built (and kept)
    cached = [case() for case in cases]            # first grids from the cache
    assert rel._FIRST_GRIDS
    monkeypatch.setattr(rel, "_grid_search", _grid_search_reference)
    for a, b, case in zip(built, cached, cases):
        ref = case()
        _assert_same_fit(a, ref)
        _assert_same_fit(b, ref)


def test_annulus_decides_as_hypot():
    rng = np.random.default_rng(44)
    for _ in range(1500):
        h, w = rng.integers(1, 50, 2)
        dy = np.arange(h) - rng.uniform(-10.0, 60.0)
        dx = np.arange(w) - rng.uniform(-10.0, 60.0)
        inner, outer = rng.uniform(-5.0, 40.0, 2)
        if rng.random() < 0.5:            # radii exactly on a pixel's distance
            inner = float(np.hypot(dy[rng.integers(h)], dx[rng.integers(w)]))
            outer = float(np.hypot(dy[rng.integers(h)], dx[rng.integers(w)]))
        d = np.hypot(dy[:, None], dx[None, :])
        np.testing.assert_array_equal(_annulus(dy, dx, inner, outer),
                                      (d > inner) & (d < outer))


def test_maximum_filter_is_scipys():
    rng = np.random.default_rng(45)
    for _ in range(600):
        h, w = rng.integers(1, 30, 2)
        a = np.round(rng.normal(size=(h, w)), 1).astype(rng.choice([np.float32, np.float64]))
        a[rng.random((h, w)) < 0.3] = -np.inf
        if rng.random() < 0.1:
            a[rng.integers(h), rng.integers(w)] = np.nan
        size = int(rng.integers(1, 9))
        ref = ndimage.maximum_filter(a, size=size)
        out = _maximum_filter(a, size)
        assert out.dtype == ref.dtype
        np.testing.assert_array_equal(out, ref)


def _plain_fourth_pass(mp: pytest.MonkeyPatch) -> None:
    """Every fast path of this pass replaced by the computation it stands for."""
    from imgqa.analysis import relaxometry as rel
    from imgqa.analysis import relaxometry_vials as vials

    def plain_annulus(dy, dx, inner, outer):
        d = np.hypot(dy[:, None], dx[None, :])
        return (d > inner) & (d < outer)

    def plain_dilate(mask, k):
        if k <= 0:
            return np.asarray(mask, bool).copy()
        return ndimage.distance_transform_cdt(~mask, metric="taxicab") <= k

    mp.setattr(vials, "phantom_disc", _phantom_disc_reference)
    mp.setattr(rel, "phantom_disc", _phantom_disc_reference)
    mp.setattr(vials, "_annulus", plain_annulus)
    mp.setattr(vials, "_maximum_filter", lambda a, size: ndimage.maximum_filter(a, size=size))
    mp.setattr(vials, "_erode_taxicab", lambda m, k: ndimage.binary_erosion(m, iterations=k))
    mp.setattr(vials, "_median_f64", lambda v: float(np.median(np.asarray(v, np.float64))))
    mp.setattr(rel, "_dilate_taxicab", plain_dilate)
    mp.setattr(rel, "_grid_search", _grid_search_reference)


def _assert_same_result(fast, ref) -> None:
    np.testing.assert_array_equal(fast.layout.centres_rc, ref.layout.centres_rc)
    np.testing.assert_array_equal(fast.layout.scores, ref.layout.scores)
    np.testing.assert_array_equal(fast.layout.bath_mask, ref.layout.bath_mask)
    np.testing.assert_array_equal(fast.layout.phantom_mask, ref.layout.phantom_mask)
    assert fast.layout.radius_px == ref.layout.radius_px
    assert fast.layout.phantom_centre_rc == ref.layout.phantom_centre_rc
    assert fast.layout.phantom_radius_px == ref.layout.phantom_radius_px
    np.testing.assert_array_equal(fast.centres_rc, ref.centres_rc)
    np.testing.assert_array_equal(fast.signals, ref.signals)
    assert fast.floor == ref.floor
    _assert_same_fit(fast.fit, ref.fit)


@pytest.mark.parametrize("kind", ["T1", "T2"])
@pytest.mark.parametrize("kw", [dict(), dict(rotation_deg=37.0, centre_mm=(-7.0, 11.0)),
                                dict(rotation_deg=-75.0, mirror=True, pixel_mm=0.9, n=280),
                                dict(layout="nist", rotation_deg=12.0)])
def test_plates_are_those_of_the_plain_computation(kind, kw, monkeypatch):
    from imgqa.analysis.relaxometry import analyse_plate
    from imgqa.phantoms.relaxometry import (
        NIST_T1_MS,
        NIST_T2_MS,
        PLATE5_T1_MS,
        relaxometry_plate,
    )

    x = np.array([50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]) if kind == "T1" \
        else 10.0 * np.arange(1, 33)
    extra = dict(tr_ms=x + 3000.0) if kind == "T1" else {}
    times = (NIST_T1_MS if kind == "T1" else NIST_T2_MS) if kw.get("layout") == "nist" \
        else PLATE5_T1_MS
    stack, _ = relaxometry_plate(times, kind=kind, x_ms=x, noise_sd=2.0, seed=46, **extra, **kw)
    planes = list(stack.astype(np.float32))
    px = kw.get("pixel_mm", 250.0 / 192)
    fast = analyse_plate(planes, x, px, kind, **extra)
    with monkeypatch.context() as mp:
        _plain_fourth_pass(mp)
        ref = analyse_plate(planes, x, px, kind, **extra)
    _assert_same_result(fast, ref)


def test_real_series_are_those_of_the_plain_computation(real_plates_two_ways):
    for fast, plain in real_plates_two_ways(_plain_fourth_pass):
        _assert_same_result(fast, plain)


def _best_over_radii_reference(score, radii_px):
    """The previous running maximum (strictly greater: ties keep the first kernel)."""
    best = score[0].copy()
    idx = np.zeros(best.shape, np.intp)
    for k in range(1, score.shape[0]):
        better = score[k] > best
        np.copyto(best, score[k], where=better)
        idx[better] = k
    return best, radii_px[idx]


def test_best_over_radii_is_the_running_maximum_with_ties_and_signed_zeros():
    from imgqa.analysis.relaxometry_vials import _best_over_radii

    rng = np.random.default_rng(47)
    for _ in range(300):
        n = int(rng.integers(1, 6))
        score = rng.integers(-2, 3, (n, 7, 9)).astype(rng.choice([np.float32, np.float64]))
        score[rng.random(score.shape) < 0.3] *= -1.0        # ±0 among the zeros
        radii = np.sort(rng.uniform(3.0, 9.0, n))
        best, rad = _best_over_radii(score, radii)
        ref_best, ref_rad = _best_over_radii_reference(score, radii)
        assert best.dtype == ref_best.dtype
        np.testing.assert_array_equal(rad, ref_rad)
        assert np.array_equal(np.signbit(best), np.signbit(ref_best))
        np.testing.assert_array_equal(best, ref_best)


def _otsu_reference(image, nbins=256):
    """The previous `otsu_threshold` (every index clipped to the last bin)."""
    x = np.asarray(image, float).ravel()
    lo, hi = float(x.min()), float(x.max())
    if hi <= lo:
        return lo
    width = (hi - lo) / nbins
    idx = np.minimum(((x - lo) / width).astype(np.intp), nbins - 1)
    counts = np.bincount(idx, minlength=nbins).astype(float)
    centres = lo + width * (np.arange(nbins) + 0.5)
    w1 = np.cumsum(counts)
    w2 = np.cumsum(counts[::-1])[::-1]
    m1 = np.cumsum(counts * centres) / np.maximum(w1, 1e-300)
    m2 = (np.cumsum((counts * centres)[::-1]) / np.maximum(w2[::-1], 1e-300))[::-1]
    var = w1[:-1] * w2[1:] * (m1[:-1] - m2[1:]) ** 2
    return float(centres[int(np.argmax(var))])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")       # overflow of huge ranges
def test_otsu_threshold_is_the_previous_one():
    rng = np.random.default_rng(48)
    for _ in range(1000):
        h, w = rng.integers(1, 40, 2)
        img = rng.random((h, w)) * rng.choice([1.0, 1e-3, 1e6, 1e-310, 1e300])   # subnormal
        if rng.random() < 0.3:                      # values on bin edges
            img = np.round(img * 7) / 7
        for nbins in (256, 7):
            assert otsu_threshold(img, nbins) == _otsu_reference(img, nbins)
