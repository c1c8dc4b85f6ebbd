"""magnet_resolution fast paths (speed pass): each gives bit for bit the result of the code it
replaces, kept here as ``_reference_*`` (the block found without its full-resolution label
when it is plainly one piece, the air labels left in place, the gradient gathered by flat
indices, ...), on the real MagNET resolution image and on digital ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import imgqa.analysis.magnet_resolution as mr
from imgqa.analysis._phantom_mask import otsu_threshold
from imgqa.analysis.edge_mtf import EdgeLine
from imgqa.phantoms.magnet import resolution_object

PX = 250.0 / 512


# --- the reference: the functions as they were before the speed pass ---------------------------
def _reference_find_block(img, pixel_mm):
    f = max(1, min(img.shape) // mr._BLOCK_SEARCH_PX)
    small = mr._reduced(img, f)
    lab, n = ndimage.label(small <= 0.5 * otsu_threshold(small), structure=mr._CROSS)
    air = np.zeros(n + 1, bool)
    air[np.concatenate((lab[0], lab[-1], lab[:, 0], lab[:, -1]))] = True
    air[0] = False
    is_air = air[lab]
    level = mr._median(small[~is_air])
    lab[is_air] = 0
    areas = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    if not areas.any():
        raise ValueError("no dark block in the phantom")
    boxes = ndimage.find_objects(lab)
    for k in np.argsort(areas)[::-1][:5]:
        sl = boxes[k]
        if sl is None:
            break
        h, w = sl[0].stop - sl[0].start, sl[1].stop - sl[1].start
        if not (0.5 < h / w < 2.0 and areas[k] > 0.4 * h * w and (h + 1) * f * pixel_mm > 12):
            continue
        r0, c0 = max((sl[0].start - 2) * f, 0), max((sl[1].start - 2) * f, 0)
        sub = img[r0:(sl[0].stop + 2) * f, c0:(sl[1].stop + 2) * f] < 0.5 * level
        lab2, n2 = ndimage.label(sub, structure=mr._CROSS)
        if n2 == 0:
            continue
        if n2 == 1:
            mask = sub
        else:
            a2 = np.bincount(lab2.ravel())
            a2[0] = 0
            mask = lab2 == int(np.argmax(a2))
        per_row, per_col = mask.sum(axis=1), mask.sum(axis=0)
        area = int(per_row.sum())
        rows, cols = np.flatnonzero(per_row), np.flatnonzero(per_col)
        hh, ww = int(rows[-1] - rows[0]) + 1, int(cols[-1] - cols[0]) + 1
        if 0.6 < hh / ww < 1.6 and area > 0.5 * hh * ww and hh * pixel_mm > 15:
            centre = (float(per_row @ np.arange(per_row.size)) / area,
                      float(per_col @ np.arange(per_col.size)) / area)
            return (r0, c0), mask, centre, (hh, ww)
    raise ValueError("no square block (≥ 15 mm) in the phantom")


def _reference_masked_median(x, mask):
    y = np.where(mask, x, np.inf)
    y.sort(axis=1)
    n = mask.sum(axis=1)
    rows = np.arange(x.shape[0])
    return 0.5 * (y[rows, (n - 1) // 2] + y[rows, n // 2])


def _reference_line_fits(x, y, mask):
    n = mask.sum(axis=1)
    xm = (x * mask).sum(axis=1) / n
    ym = (y * mask).sum(axis=1) / n
    dx = (x - xm[:, None]) * mask
    sxx = (dx * dx).sum(axis=1)
    b = (dx * (y - ym[:, None])).sum(axis=1) / np.where(sxx > 0, sxx, np.inf)
    return ym - b * xm, b


def _reference_block_edges(work, mask, vertical):
    ne, nv, nu = work.shape
    v = np.arange(nv, dtype=float)
    has = np.asarray(mask.any(axis=2))
    if has.sum(axis=1).min() < 10:
        raise ValueError("the block edge is not in its ROI")
    first = np.argmax(mask, axis=2) - 0.5
    a, b = _reference_line_fits(v, first, has)
    gu = -mr._du(work)
    k = np.arange(-mr._CENTROID_HALF, mr._CENTROID_HALF + 1)
    e = np.arange(ne)[:, None, None]
    last = None
    for _ in range(2):
        centre = np.rint(a[:, None] + b[:, None] * v).astype(np.intp)
        if last is not None and (centre == last).all():
            break
        last = centre
        ok = (centre >= mr._CENTROID_HALF) & (centre < nu - mr._CENTROID_HALF)
        if ok.sum(axis=1).min() < 10:
            raise ValueError("the edge leaves its ROI")
        cols = np.minimum(np.maximum(centre, mr._CENTROID_HALF), nu - 1 - mr._CENTROID_HALF
                          )[:, :, None] + k
        g = np.maximum(gu[e, np.arange(nv)[None, :, None], cols], 0.0)
        contrast = g.max(axis=2)
        line_ok = ok & (contrast > mr._MIN_LINE_CONTRAST
                        * _reference_masked_median(contrast, ok)[:, None])
        if line_ok.sum(axis=1).min() < 10:
            raise ValueError("too few lines across the block edge")
        w = g * g
        pos = (w * cols).sum(axis=2) / np.maximum(w.sum(axis=2), 1e-12)
        keep = line_ok
        for _ in range(3):
            a, b = _reference_line_fits(v, pos, keep)
            resid = np.abs(pos - (a[:, None] + b[:, None] * v))
            mad = _reference_masked_median(resid, keep) * 1.4826 + 0.02
            new = line_ok & (resid < np.maximum(3 * mad, 0.1)[:, None])
            if (new == keep).all():
                break
            keep = new
    out = []
    for i in range(ne):
        kept = np.flatnonzero(keep[i])
        out.append(EdgeLine(vertical=vertical[i], angle_deg=float(np.degrees(np.arctan(b[i]))),
                            offset_px=float(a[i]), slope=float(b[i]),
                            v_range=(int(kept[0]), int(kept[-1]))))
    return out


# --- the images ---------------------------------------------------------------------------------
_DIGITAL = [dict(seed=2), dict(seed=2, psf_sigma_mm=0.4, rotation_deg=-3.0),
            dict(seed=2, pixel_mm=0.7, n=400, rotation_deg=6.0),
            dict(seed=4, rotation_deg=0.0), dict(seed=4, rotation_deg=-8.0, centre_mm=(14.0, -9.0)),
            dict(seed=4, rotation_deg=12.0, centre_mm=(10.0, 20.0)),
            dict(seed=4, pixel_mm=1.0, n=256, rotation_deg=5.0, psf_sigma_mm=0.6,
                 centre_mm=(8.0, -6.0)),
            dict(seed=4, pixel_mm=0.35, n=720, rotation_deg=-4.0, psf_sigma_mm=0.3,
                 centre_mm=(-10.0, 12.0)),
            dict(seed=4, block_mm=20.0, rotation_deg=3.0, centre_mm=(6.0, 9.0)),
            dict(seed=5, rotation_deg=-6.0, noise_sd=25.0),
            dict(seed=6, rotation_deg=4.0, centre_mm=(15.0, -8.0), signal=80.0)]


def _images(shared_data=None):
    """(name, image, pixel mm): the digital objects, the same with dark specks next to the
    block and a bright one in it (the block not alone in its box / not one run per row),
    and the real image when the shared data are present."""
    out = []
    for i, kw in enumerate(_DIGITAL):
        img, _ = resolution_object(**kw)
        px = kw.get("pixel_mm", PX)
        out.append((f"digital{i}", img, px))
        if i < 4:
            (r0, c0), block, _, _ = mr._find_block(np.asarray(img, np.float32), px)
            specked = img.copy()
            specked[r0 + 2, c0 + 2] = 0.0                               # a dark speck apart
            specked[r0 + block.shape[0] // 2, c0 + block.shape[1] // 2] = 1e4    # bright, inside
            rows = np.flatnonzero(block.any(axis=1))
            # a dark pixel beside the block's top row, not touching it
            top = block[rows[0]]
            specked[r0 + rows[0], c0 + int(np.flatnonzero(top)[-1]) + 2] = 0.0
            out.append((f"specked{i}", specked, px))
    if shared_data is not None:
        d = shared_data / "mr/magnet_hazen/RESOLUTION"
        if d.is_dir():
            import imgqa

            s = imgqa.load(str(d))[0]
            out.append(("real", s.pixels(0), float(s.require_spacing("x")[0])))
    return out


@pytest.fixture(scope="module")
def images(request):
    try:
        shared = request.getfixturevalue("shared_data")
    except pytest.skip.Exception:
        shared = None
    return _images(shared)


def _same_block(new, ref, name):
    assert new[0] == ref[0] and new[2] == ref[2] and new[3] == ref[3], name
    assert new[1].dtype == ref[1].dtype and np.array_equal(new[1], ref[1]), name


def test_find_block_is_the_reference(images):
    for name, img, px in images:
        img32 = np.asarray(img, np.float32)
        _same_block(mr._find_block(img32, px), _reference_find_block(img32, px), name)
    # no block: both say so
    flood = np.full((256, 256), 500.0, np.float32)
    for fn in (mr._find_block, _reference_find_block):
        with pytest.raises(ValueError):
            fn(flood, 1.0)


def test_runs_shortcut_agrees_with_label():
    # random masks: the shortcut says "one piece" only when ndimage.label finds one component
    rng = np.random.default_rng(3)
    said = 0
    for _ in range(3000):
        h, w = rng.integers(1, 12, 2)
        m = np.zeros((h + 4, w + 4), bool)   # a margin, as the block's box has
        m[2:-2, 2:-2] = rng.random((h, w)) < rng.uniform(0.3, 1.0)
        per_row = m.sum(axis=1)
        runs = mr._runs(m, per_row)
        if runs is not None:
            said += 1
            assert ndimage.label(m, structure=mr._CROSS)[1] == 1
            rebuilt = np.zeros_like(m)      # the runs are the mask's pixels
            for r, a, b in zip(*runs, strict=True):
                rebuilt[r, a:b + 1] = True
            assert np.array_equal(rebuilt, m)
    assert said > 100


def _outcome(fn, *args):
    """fn(*args), or the ValueError's message."""
    try:
        return fn(*args)
    except ValueError as err:
        return f"ValueError: {err}"


def test_block_edges_are_the_reference(images, monkeypatch):
    # the inputs magnet_resolution gives _block_edges, and the same with the block's outline
    # moved a few pixels (the refinement then does more rounds, or fails)
    calls = []
    real = mr._block_edges

    def spy(work, mask, vertical):
        calls.append((work.copy(), mask.copy(), vertical))
        return real(work, mask, vertical)

    monkeypatch.setattr(mr, "_block_edges", spy)
    for _, img, px in images:
        _outcome(mr.magnet_resolution, img, px)
    monkeypatch.undo()
    assert len(calls) >= len(images)
    for work, mask, vertical in calls:
        for shift in (0, -5, -2, 3):
            m = np.roll(mask, shift, axis=2)
            new = _outcome(mr._block_edges, work, m, vertical)
            assert new == _outcome(_reference_block_edges, work, m, vertical)


def test_magnet_resolution_is_the_reference(images, monkeypatch):
    new = [_outcome(mr.magnet_resolution, img, px) for _, img, px in images]
    monkeypatch.setattr(mr, "_find_block", _reference_find_block)
    monkeypatch.setattr(mr, "_block_edges", _reference_block_edges)
    ref = [_outcome(mr.magnet_resolution, img, px) for _, img, px in images]
    assert sum(isinstance(a, mr.Resolution) for a in new) >= len(images) - 2
    for (name, _, _), a, b in zip(images, new, ref, strict=True):
        if not isinstance(b, mr.Resolution):
            assert a == b, name     # the same failure (the 0° block: no slant)
            continue
        assert a.mtf50_lp_mm == b.mtf50_lp_mm, name
        assert a.mtf50_vertical == b.mtf50_vertical and a.mtf50_horizontal == b.mtf50_horizontal
        assert a.rois_rc == b.rois_rc and a.square_rc == b.square_rc
        assert len(a.curves) == len(b.curves)
        for (na, fa, ma), (nb, fb, mb) in zip(a.curves, b.curves, strict=True):
            assert na == nb
            assert fa.dtype == fb.dtype and np.array_equal(fa, fb)
            assert ma.dtype == mb.dtype and np.array_equal(ma, mb)


def test_line_fits_and_medians_with_every_point_kept_are_the_general_ones():
    rng = np.random.default_rng(8)
    for e, n in ((1, 10), (2, 56), (2, 57), (3, 123)):
        x = np.arange(n, dtype=float)
        for y in (rng.normal(20.0, 3.0, (e, n)), np.round(rng.normal(20.0, 3.0, (e, n))),
                  np.full((e, n), 7.5), x * 0.17 + 3.2 + rng.normal(0, 0.3, (e, n))):
            every = np.ones((e, n), bool)
            a, b = mr._line_fits(y, every)
            ra, rb = _reference_line_fits(x, y, every)
            assert np.array_equal(a, ra) and np.array_equal(b, rb)
            assert np.array_equal(mr._masked_median(y, every), _reference_masked_median(y, every))
            some = rng.random((e, n)) < 0.8
            some[:, 0] = True
            a, b = mr._line_fits(y, some)
            ra, rb = _reference_line_fits(x, y, some)
            assert np.array_equal(a, ra) and np.array_equal(b, rb)
            assert np.array_equal(mr._masked_median(y, some), _reference_masked_median(y, some))
