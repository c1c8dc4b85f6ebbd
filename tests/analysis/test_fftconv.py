"""`imgqa.analysis._fftconv.fftconvolve` is `scipy.signal.fftconvolve` without its import cost
(issue 17): the same numbers, bit for bit, so the MR analyses that use it do not change."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import fftconvolve as scipy_fftconvolve

from imgqa.analysis._fftconv import fftconvolve


@settings(max_examples=60, deadline=None)
@given(r1=st.integers(2, 40), c1=st.integers(2, 40), r2=st.integers(2, 12),
       c2=st.integers(2, 12), mode=st.sampled_from(["full", "same", "valid"]),
       dtype=st.sampled_from([np.float64, np.float32, np.int16]), seed=st.integers(0, 2**16))
def test_bit_identical_to_scipy(r1, c1, r2, c2, mode, dtype, seed):
    rng = np.random.default_rng(seed)
    a = (rng.normal(100, 30, (r1, c1))).astype(dtype)
    b = rng.random((r2, c2)).astype(dtype)
    if mode == "valid" and (r2 > r1 or c2 > c1):
        b = b[:r1, :c1]
    want = scipy_fftconvolve(a, b, mode=mode)
    got = fftconvolve(a, b, mode=mode)
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.parametrize("a_shape,b_shape,mode", [((1, 9), (1, 3), "same"),
                                                  ((4, 4), (6, 6), "valid"),
                                                  ((5, 5), (2, 2), "full")])
def test_edge_cases_agree_with_scipy(a_shape, b_shape, mode):
    # a length-1 axis and swapped "valid" inputs go to SciPy itself: same answer
    rng = np.random.default_rng(3)
    a, b = rng.random(a_shape), rng.random(b_shape)
    assert np.array_equal(fftconvolve(a, b, mode=mode), scipy_fftconvolve(a, b, mode=mode))


def test_a_disc_mean_filter_recovers_the_mean_of_a_flat_image():
    # ground truth: convolving a flat image with a kernel of unit sum gives the flat value
    # wherever the kernel lies wholly inside the image
    img = np.full((64, 64), 250.0)
    yy, xx = np.mgrid[-5:6, -5:6]
    kern = (xx**2 + yy**2 <= 25).astype(float)
    kern /= kern.sum()
    out = fftconvolve(img, kern, mode="valid")
    assert out.shape == (54, 54)
    assert np.allclose(out, 250.0, atol=1e-9)
