"""FFT convolution without importing `scipy.signal`.

``scipy.signal`` imports ``scipy.stats`` and most of SciPy's signal toolbox (≈ 0.4 s of
start-up on a quiet machine, several seconds under load), which the MR analyses only need for
``fftconvolve``. This is the same computation, call for call (`scipy.fft.rfftn` padded to
`scipy.fft.next_fast_len`, product, `scipy.fft.irfftn`, then the same crop), so the results
are bit-identical to ``scipy.signal.fftconvolve`` (tests/analysis/test_fftconv.py). Anything
outside the plain case (complex input, a length-1 axis, arrays to swap) goes to SciPy itself.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

__all__ = ["fftconvolve"]


def fftconvolve(in1: np.ndarray, in2: np.ndarray, mode: str = "full") -> np.ndarray:
    """``scipy.signal.fftconvolve(in1, in2, mode)`` over all axes of two real arrays.

    Parameters
    ----------
    in1, in2 : ndarray
        Real arrays of the same number of dimensions.
    mode : {"full", "same", "valid"}
        As in SciPy: the full linear convolution, its central part of ``in1``'s shape, or the
        part computed without zero padding.

    Returns
    -------
    ndarray
        The convolution (float64 for integer or float64 input, as SciPy).
    """
    a, b = np.asarray(in1), np.asarray(in2)
    plain = (a.ndim == b.ndim and a.ndim > 0 and a.size and b.size
             and not (np.iscomplexobj(a) or np.iscomplexobj(b))
             and 1 not in a.shape and 1 not in b.shape
             and (mode != "valid" or all(x >= y for x, y in zip(a.shape, b.shape)))
             and mode in ("full", "same", "valid"))
    if not plain:  # the rare cases: SciPy's own handling (and its error messages)
        from scipy.signal import fftconvolve as scipy_fftconvolve

        return scipy_fftconvolve(a, b, mode=mode)
    if a.dtype.kind in "iub":
        a = a.astype(np.float64)
    if b.dtype.kind in "iub":
        b = b.astype(np.float64)
    axes = list(range(a.ndim))
    shape = [a.shape[i] + b.shape[i] - 1 for i in axes]
    fshape = [sp_fft.next_fast_len(n, True) for n in shape]
    ret = sp_fft.irfftn(sp_fft.rfftn(a, fshape, axes=axes) * sp_fft.rfftn(b, fshape, axes=axes),
                        fshape, axes=axes)
    ret = ret[tuple(slice(n) for n in shape)]
    if mode == "full":
        return ret.copy()
    keep = a.shape if mode == "same" else tuple(x - y + 1 for x, y in zip(a.shape, b.shape))
    start = [(c - k) // 2 for c, k in zip(ret.shape, keep)]
    return ret[tuple(slice(s, s + k) for s, k in zip(start, keep))].copy()
