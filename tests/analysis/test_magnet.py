"""MagNET kernels (IPEM Report 112) on digital objects with analytic answers: slice width,
slice position and MTF50; invariance to rotation, position and pixel size."""

from __future__ import annotations

import numpy as np
import pytest

from imgqa.analysis.magnet import magnet_resolution, magnet_slice_position, magnet_slice_width
from imgqa.phantoms.magnet import resolution_object, slice_position_series, slice_width_object


@pytest.mark.parametrize("kw", [dict(), dict(slice_fwhm_mm=3.0),
                                dict(rotation_deg=-6.0, centre_mm=(14.0, -9.0)),
                                dict(pixel_mm=0.8, n=320, slice_fwhm_mm=5.5, rotation_deg=3.0)])
def test_slice_width_recovered(kw):
    img, truth = slice_width_object(seed=1, **kw)
    r = magnet_slice_width(img, kw.get("pixel_mm", 1.0))
    assert r.slice_width_mm == pytest.approx(truth["slice_width_mm"], abs=0.15)
    assert r.top_mm == pytest.approx(truth["slice_width_mm"], abs=0.25)
    assert len(r.rods_rc) == 9


@pytest.mark.parametrize("kw", [dict(), dict(error_amplitude_mm=1.5, seed=5),
                                dict(pixel_mm=0.8, n=320, seed=6)])
def test_slice_position_recovered(kw):
    stack, nominal, truth = slice_position_series(**kw)
    r = magnet_slice_position(stack, nominal, kw.get("pixel_mm", 1.0))
    assert r.max_error_mm == pytest.approx(truth["slice_position_max_error_mm"], abs=0.1)
    assert len(r.used) == 40


def test_slice_position_reversed_order_is_the_same():
    stack, nominal, _ = slice_position_series(seed=3)
    a = magnet_slice_position(stack, nominal, 1.0)
    b = magnet_slice_position(stack[::-1], nominal[::-1], 1.0)
    assert a.max_error_mm == pytest.approx(b.max_error_mm, abs=1e-6)


@pytest.mark.parametrize("kw", [dict(), dict(psf_sigma_mm=0.4, rotation_deg=-3.0),
                                dict(pixel_mm=0.7, n=400, rotation_deg=6.0)])
def test_resolution_mtf50_recovered(kw):
    img, truth = resolution_object(seed=2, **kw)
    r = magnet_resolution(img, kw.get("pixel_mm", 250.0 / 512))
    assert r.mtf50_lp_mm == pytest.approx(truth["resolution_mtf50_lp_mm"], rel=0.03)
    assert r.mtf50_vertical is not None and r.mtf50_horizontal is not None


def test_a_flood_has_no_rods_or_block():
    yy, xx = np.mgrid[:200, :200]
    flood = (np.hypot(yy - 100, xx - 100) < 80) * 500.0 + 1.0
    with pytest.raises(ValueError):
        magnet_slice_width(flood, 1.0)
    with pytest.raises(ValueError):
        magnet_resolution(flood, 1.0)


@pytest.mark.parametrize("kw", [dict(rotation_deg=7.0, centre_mm=(15.0, -10.0)),
                                dict(rotation_deg=-10.0, centre_mm=(-12.0, 8.0)),
                                dict(rotation_deg=4.0, centre_mm=(5.0, 12.0), pixel_mm=0.8,
                                     n=320)])
def test_slice_position_invariant_to_turn_and_position(kw):
    # turned beyond ≈ 5° the two rods swap columns at the ends of their travel: they are told
    # apart by their track, so every slice's error still matches the known one
    stack, nominal, truth = slice_position_series(seed=7, **kw)
    r = magnet_slice_position(stack, nominal, kw.get("pixel_mm", 1.0))
    assert len(r.used) == 40
    true = np.asarray(truth["errors_mm"])[r.used]
    np.testing.assert_allclose(r.error_mm, true - np.median(true), atol=0.1)
    assert r.max_error_mm == pytest.approx(truth["slice_position_max_error_mm"], abs=0.1)


def test_slice_position_reads_a_sequence_of_slices_like_a_stack():
    stack, nominal, _ = slice_position_series(seed=8)
    a = magnet_slice_position(stack, nominal, 1.0)
    b = magnet_slice_position([s for s in stack], nominal, 1.0)
    assert a.max_error_mm == b.max_error_mm
    np.testing.assert_array_equal(a.rods_rc, b.rods_rc)


@pytest.mark.parametrize("kw", [dict(rotation_deg=-7.0, centre_mm=(20.0, -15.0)),
                                dict(rotation_deg=9.0, centre_mm=(-18.0, 10.0)),
                                dict(pixel_mm=0.7, n=400, rotation_deg=-5.0,
                                     centre_mm=(10.0, 20.0)),
                                # coarse and fine pixels (1 mm: 24 lines along each edge)
                                dict(pixel_mm=1.0, n=256, rotation_deg=5.0, psf_sigma_mm=0.6,
                                     centre_mm=(8.0, -6.0)),
                                dict(pixel_mm=0.35, n=720, rotation_deg=-4.0, psf_sigma_mm=0.3,
                                     centre_mm=(-10.0, 12.0)),
                                # a 20 mm block: 5 cells of the reduced search copy
                                dict(block_mm=20.0, rotation_deg=3.0, centre_mm=(6.0, 9.0))])
def test_resolution_invariant_to_turn_and_position(kw):
    img, truth = resolution_object(seed=4, **kw)
    r = magnet_resolution(img, kw.get("pixel_mm", 250.0 / 512))
    assert r.mtf50_lp_mm == pytest.approx(truth["resolution_mtf50_lp_mm"], rel=0.03)
    for one in (r.mtf50_vertical, r.mtf50_horizontal):
        assert one == pytest.approx(truth["resolution_mtf50_lp_mm"], rel=0.05)


def test_block_edge_fit_matches_the_general_edge_search():
    # the MagNET fast path (edge line from the block outline) and edge_mtf.find_edge's Hough
    # search + refinement find the same line, so the MTF is the same
    from imgqa.analysis.edge_mtf import find_edge, mtf_crossing, slanted_edge_mtf
    from imgqa.analysis.magnet_resolution import _block_edge

    px = 250.0 / 512
    for rot in (-6.0, 3.0):
        img, _ = resolution_object(seed=5, rotation_deg=rot)
        r = magnet_resolution(img, px)
        for name, ((ra, ca), (rb, cb)) in zip(("vertical", "horizontal"), r.rois_rc,
                                              strict=True):
            roi = img[int(ra):int(rb), int(ca):int(cb)]
            general = find_edge(roi, (px, px))
            fast = _block_edge(roi, roi < 0.5 * np.median(img[img > 100]),
                               vertical=name == "horizontal", pixel_mm=px)
            assert fast.vertical == general.vertical
            assert fast.angle_deg == pytest.approx(general.angle_deg, abs=0.05)
            assert fast.offset_px == pytest.approx(general.offset_px, abs=0.05)
            m_fast = mtf_crossing(slanted_edge_mtf(roi, (px, px), esf_half_width_px=10,
                                                   edge=fast), 0.5)
            m_gen = mtf_crossing(slanted_edge_mtf(roi, (px, px), esf_half_width_px=10,
                                                  edge=general), 0.5)
            assert m_fast == pytest.approx(m_gen, rel=0.005)


def test_sparse_blob_growth_equals_grey_dilation():
    from scipy import ndimage

    from imgqa.analysis.magnet import _grow_labels

    rng = np.random.default_rng(0)
    dark = rng.random((4, 40, 30)) > 0.97            # sparse blobs, some within 4 px
    plane = np.zeros((3, 3, 3), bool)
    plane[1] = ndimage.generate_binary_structure(2, 1)
    lab, _ = ndimage.label(dark, structure=plane)
    want = ndimage.grey_dilation(lab, size=(1, 5, 5))
    z, r, c = np.nonzero(lab)
    z2, r2, c2, g2 = _grow_labels(z, r, c, lab[z, r, c], lab.shape[1:], 2)
    got = np.zeros_like(lab)
    got[z2, r2, c2] = g2
    np.testing.assert_array_equal(got, want)


# --- the fast resolution path (issue 16, third pass): each shortcut gives the general answer ---
def _edge_rois(img, px):
    """The two edge ROIs magnet_resolution uses, in the canonical frame, with their masks."""
    from imgqa.analysis.magnet_resolution import _find_block

    r = magnet_resolution(img, px)
    (r0, c0), block, _, _ = _find_block(np.asarray(img, np.float32), px)
    full = np.zeros(img.shape, bool)
    full[r0:r0 + block.shape[0], c0:c0 + block.shape[1]] = block
    works, masks = [], []
    for ((ra, ca), (rb, cb)), vertical in zip(r.rois_rc, (False, True), strict=True):
        sl = (slice(int(ra), int(rb)), slice(int(ca), int(cb)))
        roi, inside = np.asarray(img, np.float32)[sl].astype(float), full[sl]
        works.append(roi if vertical else roi.T)
        masks.append(inside if vertical else inside.T)
    return r, works, masks


def test_gaussian_derivative_equals_scipy_gaussian_filter():
    from scipy import ndimage

    from imgqa.analysis.magnet_resolution import _du

    rng = np.random.default_rng(1)
    stack = rng.normal(100, 10, (2, 40, 56))
    for one in stack:   # exactly ndimage's numbers, per ROI and for a stack of ROIs
        want = ndimage.gaussian_filter(one, sigma=(2.0, 1.0), order=(0, 1))
        np.testing.assert_array_equal(_du(one), want)
    np.testing.assert_array_equal(
        _du(stack), np.stack([ndimage.gaussian_filter(o, sigma=(2.0, 1.0), order=(0, 1))
                              for o in stack]))


@pytest.mark.parametrize("kw", [dict(rotation_deg=-6.0, seed=5), dict(rotation_deg=4.0, seed=6,
                                                                       centre_mm=(15.0, -8.0))])
def test_edges_fitted_together_equal_one_by_one(kw):
    from imgqa.analysis.magnet_resolution import _block_edges, _fit_edges

    px = 250.0 / 512
    img, _ = resolution_object(**kw)
    _, works, masks = _edge_rois(img, px)
    both = _block_edges(np.stack(works), np.stack(masks), (False, True))
    for w, m, vert, line in zip(works, masks, (False, True), both, strict=True):
        (alone,) = _block_edges(w[None], m[None], (vert,))
        assert line.vertical is alone.vertical is vert
        assert line.offset_px == pytest.approx(alone.offset_px, abs=1e-9)
        assert line.slope == pytest.approx(alone.slope, abs=1e-12)
        assert line.v_range == alone.v_range
    # ROIs of different shapes (one cut by the image border) are fitted one by one
    cut = _fit_edges([works[0], works[1][:-3]], [masks[0], masks[1][:-3]], (False, True))
    assert cut[0] == both[0]
    assert cut[1] is not None and cut[1].slope == pytest.approx(both[1].slope, abs=2e-3)
    # an edge that cannot be fitted is None, the other still measured
    flat = _fit_edges([works[0], np.full_like(works[1], 500.0)],
                      [masks[0], np.zeros_like(masks[1])], (False, True))
    assert flat[0] == both[0] and flat[1] is None


def test_fast_edge_mtf_equals_slanted_edge_mtf():
    # the resolution path's MTF (canonical frame, no warnings/noise figures) is
    # edge_mtf.slanted_edge_mtf's with the same edge, number for number
    from imgqa.analysis.edge_mtf import EdgeLine, mtf_crossing, slanted_edge_mtf
    from imgqa.analysis.magnet_resolution import _block_edges, _edge_mtf

    px = 250.0 / 512
    img, _ = resolution_object(seed=7, rotation_deg=-3.0, psf_sigma_mm=0.35)
    r, works, masks = _edge_rois(img, px)
    for w, m, vert, name in zip(works, masks, (False, True), ("vertical", "horizontal"),
                                strict=True):
        (line,) = _block_edges(w[None], m[None], (vert,))
        f, mtf, f_full, m_full = _edge_mtf(w, line, px, 10)
        # slanted_edge_mtf in the canonical frame: a near-vertical edge of `w`
        general = slanted_edge_mtf(w, (px, px), esf_half_width_px=10,
                                   edge=EdgeLine(True, line.angle_deg, line.offset_px,
                                                 line.slope, line.v_range))
        np.testing.assert_array_equal(f, general.frequency)
        np.testing.assert_array_equal(mtf, general.mtf)
        assert mtf_crossing(general, 0.5) == getattr(r, f"mtf50_{name}")
