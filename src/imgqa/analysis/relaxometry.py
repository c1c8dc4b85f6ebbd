"""T1 and T2 of the vials of a relaxometry test object (Eurospin TO5 plates 4 and 5, or the
T1/T2 arrays of the ISMRM/NIST system phantom: `imgqa.analysis.relaxometry_layouts`).

Method
------
* Vials are found without a template: the plastic vial walls give no signal at any TI/TE, so
  in the pixel-wise maximum over the series every vial is a bright disc inside a dark ring. A
  matched filter (mean inside 0.6·r minus mean on the wall annulus, for a range of radii)
  peaks at the vial centres; the screw fiducials (dark inside) do not. It is searched
  coarse-to-fine (`imgqa.analysis.relaxometry_vials`): FFT on the image binned to ≈ 2 mm,
  then full resolution around the candidates.
* The Eurospin plates hold 14 vials: 10 on a ring and 4 inside it, numbered by the
  manufacturer in order of decreasing relaxation time (ring 1–10, inner 11–14). The angular
  order is fixed by the geometry; the starting vial and the direction (the image may be
  rotated or flipped) are chosen as those whose measured times best follow that decreasing
  order. "Vial 15" is the bath around the vials (hazen's "outer vial").
* The NIST/ISMRM arrays hold 14 spheres on one ring, numbered 1–14 by decreasing time; the
  layout is recognised from the vials found (`relaxometry_layouts.classify_layout`) and the
  same start/direction rule numbers the one ring.
* Fits (all vials at once, numpy only): for a trial T1 (T2) the model is linear in its
  amplitudes, so the amplitudes are solved in closed form for every vial and every trial on a
  log-spaced grid (200 trials), and the grid is refined three times around the best trial
  (relative step finally 7·10⁻⁵).

  - Inversion recovery, with the incomplete recovery of a finite TR:
    S = A·(1 − 2B·exp(−TI/T1) + exp(−TR/T1)); B = 1 is a perfect inversion. With magnitude
    images the sign is restored by trying every split "first k TIs negative" (polarity
    restoration, Barral et al. MRM 2010) and keeping the best fit.
  - Multi-echo spin echo: S = A·exp(−TE/T2) (+ C), the first echo excluded (in a CPMG train
    it lacks the stimulated-echo pathway, so it sits below the mono-exponential); the floor C
    is removed by inverting the Rician mean with σ from the air (see `fit_t2_multiecho`).

References: Tofts (ed.) *Quantitative MRI of the Brain* ch. 5–6; IPEM Report 112; Barral JK
et al., MRM 64 (2010) 1057.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from imgqa.analysis._phantom_mask import phantom_disc
from imgqa.analysis.relaxometry_vials import (
    VialLayout,
    _dilate_taxicab,
    abs_max,
    as_planes,
    locate_vials,
)

__all__ = ["VialLayout", "RelaxFit", "PlateResult", "locate_vials", "vial_signals",
           "fit_t1_ir", "fit_t2_multiecho", "order_vials", "air_floor", "analyse_plate",
           "rician_signal"]

N_PLATE_VIALS = 14
N_RING = 10
# Plausible inversion efficiencies B for a polarity-restored fit (1 = perfect 180°).
_B_RANGE = (0.25, 1.25)
# The grid search's relative steps (log-spaced trials): the first grid and each refinement;
# constants, built once (read-only).
_STEPS_FIRST = np.linspace(-1.0, 1.0, 200)
_STEPS_REFINE = np.linspace(-1.0, 1.0, 41)
_STEPS_FIRST.setflags(write=False)
_STEPS_REFINE.setflags(write=False)


@dataclass(frozen=True)
class RelaxFit:
    """Per-vial fit results (arrays over vials): time (ms), amplitude, B or offset, RMS error
    relative to the amplitude."""

    time_ms: np.ndarray
    amplitude: np.ndarray
    second: np.ndarray
    rel_rms: np.ndarray
    flipped: np.ndarray


def vial_signals(stack: np.ndarray | Sequence[np.ndarray], centres_rc: np.ndarray,
                 roi_radius_px: float,
                 bath_mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean signal in each vial ROI (and the bath median as a last row) for every image.

    ``stack``: (n, rows, cols) array or n (rows, cols) images; may be float32 (the decoded
    pixels): sums are accumulated in float64. Returns ``(signals (n_rois, n_images), pixels
    per ROI)``.
    """
    planes = as_planes(stack)
    rows, cols = planes[0].shape
    c = np.asarray(centres_rc, float).reshape(-1, 2)
    n = int(np.ceil(roi_radius_px))
    o = np.arange(-n, n + 1)
    top = np.rint(c).astype(np.intp) - n                               # window corners
    if top.size and (top.min() < 0 or np.any(top + (2 * n + 1) > np.array([rows, cols]))):
        raise ValueError("a vial ROI reaches the image border")
    # every vial's window (and the bath) in one flat gather per image; the ROI (pixel
    # centres within the radius of the sub-pixel centre) as 0/1 weights
    inside = np.hypot((o + n)[None, :, None] + top[:, 0, None, None] - c[:, 0, None, None],
                      (o + n)[None, None, :] + top[:, 1, None, None] - c[:, 1, None, None]
                      ) <= roi_radius_px                                 # (vials, w, w)
    idx = ((top[:, 0] * cols + top[:, 1])[:, None]
           + ((o + n)[:, None] * cols + (o + n)[None, :]).ravel()).ravel()
    n_win = idx.size
    b_idx = np.flatnonzero(bath_mask) if bath_mask is not None else np.zeros(0, np.intp)
    with_bath = b_idx.size > 0
    if with_bath:
        idx = np.concatenate([idx, b_idx])
    gathered = np.stack([np.take(p.ravel(), idx) for p in planes])     # (images, pixels)
    window = gathered[:, :n_win].reshape(len(planes), len(c), -1)      # (images, vials, w²)
    counts = inside.reshape(len(c), -1).sum(axis=1)
    sig = np.einsum("ivp,vp->vi", window, inside.reshape(len(c), -1).astype(window.dtype),
                    dtype=np.float64) / counts[:, None]
    if with_bath:
        bath = gathered[:, n_win:]                                       # (images, pixels)
        sig = np.vstack([sig, _median_rows(bath)])
        counts = np.concatenate([counts, [bath.shape[1]]])
    return sig, counts


def _median_rows(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=1)`` in float64 for a float32 (or float64) ``a`` without a float64
    copy: the middle element(s) by partition, their mean in float64.

    For an even count the lower middle element is the largest of the k smallest (the
    maximum of the partition's left part): one selection per row and a maximum instead of
    a partition at two indices, ≈ 7 times as costly."""
    k = a.shape[1] // 2
    part = np.partition(a, k, axis=1)
    if a.shape[1] % 2:
        return part[:, k].astype(np.float64)
    return (part[:, :k].max(axis=1).astype(np.float64) + part[:, k]) / 2.0


# The first grids of `_grid_search` by model and range (trial times, basis columns, normal
# matrix): the same for every plate of one protocol; a few entries, read-only.
_FIRST_GRIDS: dict[tuple, tuple[np.ndarray, list[np.ndarray], tuple[np.ndarray, ...]]] = {}
_FIRST_GRIDS_MAX = 32


def _first_grid(columns, lo: float, hi: float, key: tuple | None
                ) -> tuple[np.ndarray, list[np.ndarray], tuple[np.ndarray, ...]]:
    """The first grid of `_grid_search`: the 200 trial times (1, 200), the basis columns
    there (samples, 200) and their normal matrix (`_normal_matrix`). They depend on the
    model and the range only, so with a ``key`` naming the model (its sample times) they are
    built once per process and reused (≈ 25 µs a fit)."""
    if key is not None and (key, lo, hi) in _FIRST_GRIDS:
        return _FIRST_GRIDS[(key, lo, hi)]
    t = np.sqrt(lo * hi) * np.exp(np.log(hi / lo) / 2 * _STEPS_FIRST)[None, :]  # (1, 200)
    cols = [c[:, 0, :] for c in columns(t)]                              # b × (n, 200)
    matrix = _normal_matrix([c[:, None, :] for c in cols])
    if key is not None:
        for a in (t, *cols, *matrix):
            a.setflags(write=False)
        if len(_FIRST_GRIDS) >= _FIRST_GRIDS_MAX:
            _FIRST_GRIDS.clear()
        _FIRST_GRIDS[(key, lo, hi)] = (t, cols, matrix)
    return t, cols, matrix


def _grid_search(columns, y: np.ndarray, lo: float, hi: float, key: tuple | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best time per signal row for a model linear in its (one or two) amplitudes given the
    time.

    ``columns(t)`` returns the model's basis columns for trial times ``t`` (shape (sets or 1,
    grid)), each an array (samples, *t.shape); ``y`` is (n_sets, n_samples). Returns (time,
    coefficients (n_sets, n_basis), rss).

    The first grid (200 trials) is the same for every set: its columns are computed once,
    the right-hand sides of the normal equations of every set are one matrix product and
    the residual sum of squares is y'y − c'b (at the least-squares solution); it only picks
    the trial the refinement centres on. The three refinements (41 trials per set) are
    evaluated directly: the normal equations written out element-wise (a 1×1 or 2×2 system
    per set and trial; ``einsum`` on these small 4-d arrays cost more than the arithmetic),
    with the samples on the first axis so that every sum over them adds whole (sets, grid)
    planes, and the residuals summed squared. ``key`` (hashable, optional) names the model
    (``columns``) for the cache of first grids (`_first_grid`).
    """
    n_sets = y.shape[0]
    y = np.asarray(y, float)
    # the samples repeated along the refinement grid once (n, s, g): the products and the
    # residual then run on whole contiguous arrays, not on 41-element broadcast rows
    yy = np.repeat(y.T[:, :, None], _STEPS_REFINE.size, axis=2)
    t, cols, matrix = _first_grid(columns, lo, hi, key)
    rhs = [y @ c for c in cols]                                          # b × (s, 200)
    coef = _solve_with(matrix, rhs)
    rss = (y * y).sum(axis=1)[:, None] - sum(c * b for c, b in zip(coef, rhs))
    centre = t[0, np.argmin(rss, axis=1)]
    # the refinement's relative steps are the same for every set: one row of exponentials,
    # broadcast (the very values of the (sets, grid) array of exponentials it replaces)
    span = np.log(hi / lo) / 2 * 2.0 / 199 * 2.0
    rows = np.arange(n_sets)
    for _ in range(3):
        t = centre[:, None] * np.exp(span * _STEPS_REFINE)[None, :]       # (sets, grid)
        cols = columns(t)                                                  # b × (n, s, g)
        coef = _solve_normal(cols, yy)                                     # b × (s, g)
        resid = coef[0] * cols[0]
        for c, x in zip(coef[1:], cols[1:]):
            resid += c * x
        np.subtract(yy, resid, out=resid)
        resid *= resid
        rss = resid.sum(axis=0)                                            # (s, g)
        k = np.argmin(rss, axis=1)
        centre = t[rows, k]
        span = span * 2.0 / 40 * 2.0
    return centre, np.stack([c[rows, k] for c in coef], axis=-1), rss[rows, k]


def _solve_normal(cols: list[np.ndarray], y: np.ndarray | list[np.ndarray]
                  ) -> list[np.ndarray]:
    """Least-squares amplitudes of one or two basis columns (n, …) for data ``y`` (n, …),
    batched over the trailing axes: closed-form 1×1 or 2×2 normal equations (Cramer's rule,
    a 10⁻¹² ridge on the 2×2 diagonal against a singular system). ``y`` may instead be the
    right-hand sides already computed (one array per column, summed over the samples)."""
    rhs = y if isinstance(y, list) else [(x * y).sum(axis=0) for x in cols]
    return _solve_with(_normal_matrix(cols), rhs)


def _normal_matrix(cols: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The normal matrix of `_solve_normal`, ready to solve: ``(a,)`` (a 0 replaced by
    10⁻³⁰⁰) for one column; ``(a00, a01, a11, det)`` (ridged diagonal, a 0 determinant
    replaced by 10⁻³⁰⁰) for two."""
    if len(cols) not in (1, 2):
        raise ValueError("one or two basis columns")
    if len(cols) == 1:
        x0 = cols[0]
        a = (x0 * x0).sum(axis=0)
        return (np.where(np.abs(a) > 0, a, 1e-300),)
    x0, x1 = cols
    a00 = (x0 * x0).sum(axis=0) + 1e-12
    a01 = (x0 * x1).sum(axis=0)
    a11 = (x1 * x1).sum(axis=0) + 1e-12
    det = a00 * a11 - a01 * a01
    return a00, a01, a11, np.where(np.abs(det) > 0, det, 1e-300)


def _solve_with(matrix: tuple[np.ndarray, ...], rhs: list[np.ndarray]) -> list[np.ndarray]:
    """The amplitudes for right-hand sides ``rhs`` (one per column) given `_normal_matrix`."""
    if len(matrix) == 1:
        return [rhs[0] / matrix[0]]
    a00, a01, a11, det = matrix
    b0, b1 = rhs
    return [(a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det]


def fit_t1_ir(ti_ms: np.ndarray, tr_ms: np.ndarray, signals: np.ndarray, *,
              magnitude: bool = True, t1_range_ms: tuple[float, float] = (5.0, 10000.0)
              ) -> RelaxFit:
    """Inversion-recovery T1 of every row of ``signals`` (vials × TIs).

    Model S = A·(1 − 2B·exp(−TI/T1) + exp(−TR/T1)) (a 180° inversion of efficiency B after a
    recovery of TR − TI from the previous excitation's saturation). With ``magnitude`` the
    signals are |S|: each split "the first k TIs negative" (k = 0…n) is fitted and the best
    kept (polarity restoration).

    Returns a `RelaxFit` whose ``second`` is B and ``flipped`` the number of TIs restored.
    """
    ti = np.asarray(ti_ms, float)
    tr = np.asarray(tr_ms, float)
    if tr.shape != ti.shape:        # a scalar TR (broadcast_to costs more than the fit's sorting)
        tr = np.broadcast_to(tr, ti.shape)
    y = np.atleast_2d(np.asarray(signals, float))
    order = np.argsort(ti)
    ti, tr, y = ti[order], tr[order], y[:, order]
    n_v, n_t = y.shape
    if n_t < 3:
        raise ValueError("at least three inversion times are needed for a T1 fit")

    neg_tr, neg_ti = -tr, -ti

    def columns(t: np.ndarray) -> list[np.ndarray]:     # (TIs, *t.shape) each
        # 1 + exp(−TR/T1) and −2·exp(−TI/T1), each in one array computed in place
        t = t[None]
        shape = (-1,) + (1,) * (t.ndim - 1)
        c0 = np.divide(neg_tr.reshape(shape), t)
        np.exp(c0, out=c0)
        c0 += 1.0
        c1 = np.divide(neg_ti.reshape(shape), t)
        np.exp(c1, out=c1)
        c1 *= -2.0
        return [c0, c1]

    # Polarity restoration: the magnitude is negative before the null, which lies at the
    # smallest |S|; so only three splits per vial are plausible: none, the TIs before the
    # minimum, and up to the minimum included.
    m = np.argmin(np.abs(y), axis=1)[:, None]
    idx = np.arange(n_t)[None, :]
    splits = [np.zeros((n_v, 1), int), m, m + 1] if magnitude else [np.zeros((n_v, 1), int)]
    signs = [np.where(idx < k, -1.0, 1.0) for k in splits]              # (vials, TIs) each
    # every split of every vial in one grid search (rows: split-major); a vial whose
    # minimum is its first TI has "before the minimum" = "no split": that row is fitted once
    # (every row's fit is independent of the others, so the result is the same)
    fit_rows = np.ones(len(splits) * n_v, bool)
    if magnitude:
        fit_rows[n_v:2 * n_v] = m[:, 0] > 0
    sign = np.concatenate(signs)[fit_rows]                                # (rows, TIs)
    y_all = np.abs(np.concatenate([y] * len(signs))[fit_rows]) * sign if magnitude else y
    t1_fit, coef_fit, rss_fit = _grid_search(columns, y_all, *t1_range_ms,
                                             key=("ir", ti.tobytes(), tr.tobytes()))
    if magnitude:
        # a restored polarity must be the model's own: the fitted curve has to be
        # negative where the signs were flipped, with a physical inversion efficiency
        # (a free fit otherwise "explains" a fully recovered short-T1 vial by a
        # nonsense split); all splits of all vials at once
        k_all = np.concatenate(splits)[fit_rows, 0]
        c0, c1 = columns(t1_fit)                                        # (TIs, rows)
        model = (c0 * coef_fit[:, 0] + c1 * coef_fit[:, 1]).T
        tol = 0.02 * np.abs(coef_fit[:, 0:1])
        b_k = coef_fit[:, 1] / np.where(coef_fit[:, 0] == 0, np.nan, coef_fit[:, 0])
        bad = ((k_all > 0)
               & (np.any(sign * model < -tol, axis=1)
                  | ~((b_k > _B_RANGE[0]) & (b_k < _B_RANGE[1]))))
        rss_fit = np.where(bad, np.inf, rss_fit)
    # back to (splits, vials): a row fitted once stands for its duplicate
    src = np.cumsum(fit_rows) - 1
    if magnitude:
        dup = np.flatnonzero(~fit_rows[n_v:2 * n_v])
        src[n_v + dup] = src[dup]
    n_s = len(splits)
    flips = np.concatenate(splits, axis=1).T                             # (splits, vials)
    rss = rss_fit[src].reshape(n_s, n_v)                                 # (splits, vials)
    best = np.argmin(rss, axis=0)
    sel = np.arange(n_v)
    t1 = t1_fit[src].reshape(n_s, n_v)[best, sel]
    coef = coef_fit[src].reshape(n_s, n_v, 2)[best, sel]
    a = coef[:, 0]
    b = np.divide(coef[:, 1], a, out=np.full(n_v, np.nan), where=a != 0)
    rel = np.sqrt(rss[best, sel] / n_t) / np.maximum(np.abs(a), 1e-12)
    return RelaxFit(t1, a, b, rel, flips[best, sel].astype(int))


def fit_t2_multiecho(te_ms: np.ndarray, signals: np.ndarray, *, exclude_first: bool = True,
                     floor: float = 0.0, offset: str = "never",
                     t2_range_ms: tuple[float, float] = (2.0, 5000.0)) -> RelaxFit:
    """Multi-echo spin-echo T2 of every row of ``signals`` (vials × echoes).

    Model ν = A·exp(−TE/T2) (+ C). The first echo is excluded by default (CPMG: it has no
    stimulated-echo contribution and is systematically low). ``floor`` is the magnitude noise
    floor measured in the air (mean of a Rician zero signal, σ·√(π/2)): each mean magnitude is
    mapped back to the underlying signal ν by inverting the Rician mean E[R](ν, σ)
    (`rician_signal`), so that short-T2 vials decaying into the noise are not read long
    (subtracting the floor instead reads them 3–4 % short). A free floor
    C trades T2 against C on a slow decay (−13 % on an 816 ms vial over a 400 ms train), so it
    is off by default; ``offset="auto"`` fits C only for vials whose offset-free T2 is below a
    fifth of the echo-train length, ``"always"`` for all.

    Returns a `RelaxFit` whose ``second`` is C (0 where not fitted).
    """
    te = np.asarray(te_ms, float)
    y = np.atleast_2d(np.asarray(signals, float))
    order = np.argsort(te)
    te, y = te[order], y[:, order]
    if floor > 0:
        y = rician_signal(y, floor / np.sqrt(np.pi / 2.0))
    if exclude_first:
        te, y = te[1:], y[:, 1:]
    if te.size < 3:
        raise ValueError("too few echoes for a T2 fit (at least 3 after the first)")

    neg_te = -te

    def columns(with_c: bool):
        def make(t: np.ndarray) -> list[np.ndarray]:   # (TEs, *t.shape) each
            e = np.divide(neg_te.reshape((-1,) + (1,) * t.ndim), t[None])
            np.exp(e, out=e)                           # in place: one (TEs, …) array
            return [e, np.ones_like(e)] if with_c else [e]
        return make

    t2, coef, rss = _grid_search(columns(False), y, *t2_range_ms, key=("se", te.tobytes()))
    a, c = coef[:, 0], np.zeros(len(y))
    use_c = np.full(len(y), offset == "always")
    if offset == "auto":
        use_c = t2 < (te[-1] - te[0]) / 5.0
    if use_c.any():
        t2c, coefc, rssc = _grid_search(columns(True), y[use_c], *t2_range_ms,
                                        key=("se+c", te.tobytes()))
        t2[use_c], a[use_c], c[use_c], rss[use_c] = t2c, coefc[:, 0], coefc[:, 1], rssc
    rel = np.sqrt(rss / te.size) / np.maximum(np.abs(a), 1e-12)
    return RelaxFit(t2, a, c, rel, use_c.astype(int))


def order_vials(centres_rc: np.ndarray, times_ms: np.ndarray,
                phantom_centre_rc: tuple[float, float], n_ring: int = N_RING) -> np.ndarray:
    """Manufacturer's numbering of the plate vials: index array, vial 1 first.

    The ``n_ring`` vials farthest from the phantom centre are the ring (1…n_ring), the others
    the inner group. Within each group the angular order is geometry; the start and the
    direction (the plate may be rotated or mirrored) are those whose times best decrease with
    the vial number (Spearman correlation), the direction shared by both groups.
    """
    c = np.asarray(centres_rc, float)
    t = np.asarray(times_ms, float)
    d = np.hypot(c[:, 0] - phantom_centre_rc[0], c[:, 1] - phantom_centre_rc[1])
    by_dist = np.argsort(d)[::-1]
    groups = [by_dist[:n_ring], by_dist[n_ring:]]
    ang = np.arctan2(c[:, 0] - phantom_centre_rc[0], c[:, 1] - phantom_centre_rc[1])
    best: tuple[float, np.ndarray] | None = None
    for direction in (1.0, -1.0):
        total, parts = 0.0, []
        for g in groups:
            if g.size == 0:
                continue
            ring = g[np.argsort(direction * ang[g])]
            # every start: row s is ring rolled by −s (np.roll, without a call per start)
            rolls = ring[(np.arange(g.size)[:, None] + np.arange(g.size)[None, :]) % g.size]
            ranks = np.argsort(np.argsort(-t[rolls], axis=1), axis=1)       # 0 = longest
            target = np.arange(g.size)
            score = -((ranks - target) ** 2).sum(axis=1)
            s = int(np.argmax(score))
            total += float(score[s])
            parts.append(rolls[s])
        if best is None or total > best[0]:
            best = (total, np.concatenate(parts))
    assert best is not None
    return best[1]


@functools.lru_cache(maxsize=1)
def _rician_mean_table() -> tuple[np.ndarray, np.ndarray]:
    """ν/σ on 0…40 (step 0.01) and E[R]/σ there: a constant, built once per process."""
    from scipy.special import i0e, i1e

    nu = np.linspace(0.0, 40.0, 4001)
    x = nu ** 2 / 2.0
    mean = np.sqrt(np.pi / 2.0) * ((1 + x) * i0e(x / 2) + x * i1e(x / 2))
    nu.setflags(write=False)
    mean.setflags(write=False)
    return nu, mean


def rician_signal(mean_magnitude: np.ndarray, sigma: float) -> np.ndarray:
    """Underlying signal ν whose Rician mean E[R](ν, σ) is the given mean magnitude.

    E[R] = σ·√(π/2)·[(1 + x)·I0(x/2) + x·I1(x/2)]·exp(−x/2), x = ν²/(2σ²) (Rice 1944),
    inverted by interpolation in a table (monotone in ν); means below the zero-signal floor
    give 0, and above ν = 40σ E[R] = √(ν² + σ²) to better than 10⁻⁵.
    """
    m = np.asarray(mean_magnitude, float)
    if sigma <= 0:
        return m
    nu, mean = _rician_mean_table()
    r = m / sigma
    out = np.where(r > mean[-1], np.sqrt(np.maximum(r ** 2 - 1.0, 0.0)),
                   np.interp(r, mean, nu, left=0.0))
    return out * sigma


def air_floor(stack: np.ndarray | Sequence[np.ndarray], phantom_mask: np.ndarray,
              margin_px: int = 8) -> float:
    """Mean magnitude of the air well away from the phantom (the Rician floor σ·√(π/2))."""
    # farther than margin_px in the taxicab metric = outside margin_px 4-connected
    # dilations (`_dilate_taxicab`: contiguous byte operations, a third of the cost of the
    # distance transform); computed in the phantom's box grown by margin_px + 1 only
    # (every pixel beyond is farther, and the taxicab paths between two pixels of a
    # rectangle stay in it: the same distances)
    mask = np.asarray(phantom_mask, bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    air = np.ones(mask.shape, bool)
    if not rows.size:     # no phantom pixel: as the transform of the whole image says
        air = ndimage.distance_transform_cdt(~mask, metric="taxicab") > margin_px
    elif margin_px >= 0:  # (below 0 every distance is farther: all air)
        e = margin_px + 1
        r0, r1 = max(int(rows[0]) - e, 0), min(int(rows[-1]) + e + 1, mask.shape[0])
        c0, c1 = max(int(cols[0]) - e, 0), min(int(cols[-1]) + e + 1, mask.shape[1])
        np.logical_not(_dilate_taxicab(mask[r0:r1, c0:c1], margin_px),
                       out=air[r0:r1, c0:c1])
    n_air = np.count_nonzero(air)
    if n_air < 100:
        return 0.0
    # sum |image| over the images first (image by image, in float64), then over the air
    planes = as_planes(stack)
    total = np.abs(planes[0]).astype(np.float64)
    for p in planes[1:]:
        total += np.abs(p)
    return float(total[air].sum() / (len(planes) * n_air))


@dataclass(frozen=True)
class PlateResult:
    """Relaxation times of one plate, numbered (index 0 = vial 1; the last = the bath)."""

    kind: str                   # "T1" or "T2"
    times_ms: np.ndarray
    fit: RelaxFit
    signals: np.ndarray         # (n_rois, n_images), images in the order of ``x_ms``
    x_ms: np.ndarray            # TI or TE of each image (sorted)
    centres_rc: np.ndarray      # numbered vial centres (vials 1…14)
    layout: VialLayout
    floor: float
    layout_name: str = "eurospin"          # the vial layout numbered ("eurospin" or "nist")
    layout_reason: str = ""
    layout_warning: str | None = None


def analyse_plate(stack: np.ndarray | Sequence[np.ndarray], x_ms: np.ndarray,
                  pixel_mm: float, kind: str, *,
                  tr_ms: np.ndarray | None = None, magnitude: bool = True,
                  exclude_first_echo: bool = True, n_vials: int = N_PLATE_VIALS,
                  layout: str = "auto") -> PlateResult:
    """Locate the vials, fit T1 (IR, ``kind="T1"``, ``x_ms`` = TI) or T2 (multi-echo,
    ``kind="T2"``, ``x_ms`` = TE) and number the vials (see the module docstring).

    ``stack``: the images, a (n, rows, cols) array or a sequence of n (rows, cols) arrays
    (e.g. the decoded images as they are, not stacked). ``layout``: ``"eurospin"`` (10 + 4
    vials), ``"nist"`` (14 spheres on a ring) or ``"auto"`` (recognised from the vials found;
    `relaxometry_layouts`)."""
    from imgqa.analysis.relaxometry_layouts import classify_layout, layout_rings

    # the images are used as they are, one by one (float32 pixels without a float64 copy,
    # sums in float64; no stacked copy), and not reordered: only the ROI signals are
    stack = as_planes(stack)
    x = np.asarray(x_ms, float)
    order = np.argsort(x)
    x = x[order]
    found = locate_vials(stack, pixel_mm, n_vials=n_vials)
    name, why, warn = classify_layout(found.centres_rc, layout)
    sig, _ = vial_signals(stack, found.centres_rc, found.roi_radius_px, found.bath_mask)
    sig = sig[:, order]
    disc = found.phantom_mask
    if disc is None:
        disc = phantom_disc(abs_max(stack))[0]
    floor = air_floor(stack, disc)
    if kind == "T1":
        tr = np.asarray(tr_ms, float)[order] if tr_ms is not None else np.full(x.size, 1e9)
        fit = fit_t1_ir(x, tr, sig, magnitude=magnitude)
    else:
        fit = fit_t2_multiecho(x, sig, exclude_first=exclude_first_echo, floor=floor)
    ring_centre, n_ring = layout_rings(name, found.centres_rc, found.phantom_centre_rc)
    numbered = order_vials(found.centres_rc, fit.time_ms[:n_vials], ring_centre, n_ring)
    idx = np.concatenate([numbered, np.arange(n_vials, len(fit.time_ms))])
    fit = RelaxFit(*(np.asarray(getattr(fit, f))[idx] for f in
                     ("time_ms", "amplitude", "second", "rel_rms", "flipped")))
    return PlateResult(kind, fit.time_ms, fit, sig[idx], x, found.centres_rc[numbered],
                       found, floor, name, why, warn)
