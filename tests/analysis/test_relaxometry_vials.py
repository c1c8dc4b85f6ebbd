"""mr.relaxometry vial finding, coarse-to-fine (`imgqa.analysis.relaxometry_vials`): the same
vials, centres and radius as the matched filter searched over every pixel at full resolution,
on digital plates moved, rotated, mirrored and at other pixel sizes, and on the real series;
the direct local filter equals the FFT one."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from imgqa.analysis._phantom_mask import phantom_disc
from imgqa.analysis.relaxometry_filter import (
    _correlate_same,
    local_scores,
    vial_kernels,
)
from imgqa.analysis.relaxometry_vials import (
    _refine_centres,
    _separated,
    locate_vials,
)
from imgqa.phantoms.relaxometry import NIST_T2_MS, PLATE5_T1_MS, relaxometry_plate

TI = np.array([50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])
TR = TI + 3000.0
TE = 10.0 * np.arange(1, 33)
PX = 250.0 / 192


def _full_resolution_search(stack: np.ndarray, pixel_mm: float, n_vials: int = 14
                            ) -> tuple[np.ndarray, float]:
    """The reference: the matched filter FFT-convolved over the whole full-resolution image,
    every local maximum (window 1.5 typical radii) above 0.3, the strongest 14 more than 1.5
    radii apart, centroid-refined. Returns (centres, vial radius px)."""
    peak = np.abs(stack).max(axis=0).astype(float)
    disc, centre, radius = phantom_disc(peak)
    inner = ndimage.binary_erosion(disc, iterations=max(1, int(round(4.0 / pixel_mm))))
    norm = peak / float(np.median(peak[inner]))
    radii = np.arange(6.5, 10.5 + 1e-9, max(0.5, pixel_mm / 2)) / pixel_mm
    wall = max(1.5 / pixel_mm, 1.0)
    score = _correlate_same(norm, vial_kernels(radii, wall, 0.6))
    k = np.argmax(score, axis=0)
    best = np.take_along_axis(score, k[None], axis=0)[0]
    best_r = radii[k]
    dist = np.hypot(*(np.indices(norm.shape) - np.array(centre)[:, None, None]))
    best[~inner | (dist + best_r + wall + 4.0 > radius)] = -np.inf
    size = max(3, int(round(1.5 * float(np.median(best_r[inner])))))
    peaks = (best == ndimage.maximum_filter(best, size=size)) & np.isfinite(best) & (best > 0.3)
    rc = np.argwhere(peaks)
    keep = _separated(rc.astype(float), best[peaks], best_r[peaks], n_vials)
    assert len(keep) == n_vials
    r = float(np.median(best_r[peaks][keep]))
    return _refine_centres(norm, rc[keep].astype(float), r), r


def _assert_same_vials(stack: np.ndarray, pixel_mm: float) -> None:
    found = locate_vials(stack, pixel_mm)
    ref, r_ref = _full_resolution_search(stack, pixel_mm)
    # pair each reference vial with the nearest found one: one-to-one, within 0.5 px
    d = np.hypot(*(found.centres_rc[:, None, :] - ref[None, :, :]).transpose(2, 0, 1))
    nearest = np.argmin(d, axis=0)
    assert len(set(nearest.tolist())) == len(ref)
    assert d[nearest, np.arange(len(ref))].max() < 0.5, d[nearest, np.arange(len(ref))]
    assert found.radius_px == pytest.approx(r_ref)


@pytest.mark.parametrize("kw", [dict(),
                                dict(rotation_deg=37.0, centre_mm=(15.0, -11.0)),
                                dict(rotation_deg=200.0, mirror=True, centre_mm=(-7.3, 4.1)),
                                dict(pixel_mm=0.9, n=280, rotation_deg=-12.0),
                                dict(pixel_mm=0.6, n=420, rotation_deg=71.0,
                                     centre_mm=(3.3, 9.0)),
                                # 1.6 mm: no binning (the coarse search is full resolution)
                                dict(pixel_mm=1.6, n=160, rotation_deg=23.0)])
def test_coarse_to_fine_finds_the_full_resolution_vials_eurospin(kw):
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=1.0,
                                 seed=5, **kw)
    _assert_same_vials(stack, kw.get("pixel_mm", PX))


@pytest.mark.parametrize("kw", [dict(rotation_deg=31.0), dict(rotation_deg=-19.0,
                                                              mirror=True, centre_mm=(7, 0))])
def test_coarse_to_fine_finds_the_full_resolution_vials_nist(kw):
    stack, _ = relaxometry_plate(NIST_T2_MS, kind="T2", x_ms=TE, layout="nist", noise_sd=1.0,
                                 seed=6, **kw)
    _assert_same_vials(stack, PX)


@pytest.mark.parametrize("rel", ["T1/site1_20200218/plate5", "T1/site2_20180925/plate5",
                                 "T1/site3_ge/plate4", "T1/site3_ge/plate5",
                                 "T2/site1_20200218/plate4", "T2/site3_ge/plate4",
                                 "T2/site3_ge/plate5"])
def test_coarse_to_fine_finds_the_full_resolution_vials_real(shared_data, rel):
    import imgqa

    folder = shared_data / "mr" / "relaxometry_hazen" / rel
    if not folder.is_dir():
        pytest.skip(f"{rel} not in the shared data")
    series = list(imgqa.load(folder))
    stack = np.stack([s.pixels(i) for s in series for i in range(len(s))])
    _assert_same_vials(stack, float(series[0].require_spacing("test")[0]))


def test_local_filter_equals_the_fft_filter():
    rng = np.random.default_rng(7)
    image = rng.normal(size=(60, 70))
    kernels = vial_kernels(np.array([5.0, 6.5, 8.0]), 1.2, 0.6)
    fft = _correlate_same(image, kernels)
    pos = np.array([[2, 3], [30, 35], [57, 67]])        # near the borders too (zero outside)
    loc = local_scores(image, pos, kernels, 2)
    for n, (r, c) in enumerate(pos):
        ref = np.pad(fft, ((0, 0), (2, 2), (2, 2)))[:, r:r + 5, c:c + 5]
        np.testing.assert_allclose(loc[n], ref, atol=1e-12)


def test_images_one_by_one_give_the_stacked_result():
    """analyse_plate takes the decoded images as they are (a list, float32) or stacked."""
    from imgqa.analysis.relaxometry import analyse_plate

    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=1.0,
                                 seed=8, rotation_deg=-40.0)
    stack32 = stack.astype(np.float32)
    a = analyse_plate(stack32, TI, PX, "T1", tr_ms=TR)
    b = analyse_plate([im for im in stack32[::-1]], TI[::-1], PX, "T1", tr_ms=TR[::-1])
    np.testing.assert_array_equal(a.times_ms, b.times_ms)
    np.testing.assert_array_equal(a.signals, b.signals)
    # integer images (converted) give the float result of the same numbers
    c = analyse_plate(np.rint(stack).astype(np.int32), TI, PX, "T1", tr_ms=TR)
    d = analyse_plate(np.rint(stack), TI, PX, "T1", tr_ms=TR)
    np.testing.assert_array_equal(c.times_ms, d.times_ms)


@pytest.mark.parametrize("seed", [0, 1])
def test_coarse_to_fine_finds_the_full_resolution_vials_at_low_snr(seed):
    """σ = 30 on m0 = 1000 (SNR ≈ 33): many more noise maxima, the same vials."""
    stack, _ = relaxometry_plate(PLATE5_T1_MS, kind="T1", x_ms=TI, tr_ms=TR, noise_sd=30.0,
                                 seed=seed, rotation_deg=17.0 * seed + 5.0,
                                 centre_mm=(3.0 * seed, -2.0 * seed))
    _assert_same_vials(stack, PX)
    stack, _ = relaxometry_plate(NIST_T2_MS, kind="T2", x_ms=TE, layout="nist",
                                 noise_sd=30.0, seed=seed, rotation_deg=-23.0 * seed)
    _assert_same_vials(stack, PX)
