"""Single-threaded BLAS/OpenMP by default in imgqa's own processes (issue 17).

numpy's OpenBLAS starts one worker thread per core when it is imported, and those threads spin
while they wait for work: ``python -c "import numpy"`` costs about twice its wall time in CPU.
imgqa's kernels hardly use BLAS (small images, element-wise maths, FFTs), and imgqa spreads a
batch over cores with *processes* (``imgqa analyse --jobs``), so per-process BLAS threads only
compete with the other workers for the same cores. Single-threaded BLAS in each process is the
usual choice for process-parallel Python (joblib's and scikit-learn's workers do the same).

The thread-count variables are read once, when the BLAS library is loaded, so `apply` must run
before anything imports numpy: `imgqa.cli.main.entry` (the ``imgqa`` console script: CLI, GUI,
service) calls it first thing. Worker processes (fork, spawn or forkserver) inherit the
environment, so they are single-threaded too. Importing imgqa as a library changes nothing.

Opt-out: ``IMGQA_BLAS_THREADS=N`` gives the BLAS libraries N threads instead of 1;
``IMGQA_BLAS_THREADS=auto`` (or ``0``) leaves them their own default (one per core). A thread
count the user set themselves (``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, …) is never
overridden. This module imports nothing but ``os`` so that it cannot pull numpy in early.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

__all__ = ["OPT_OUT_VARIABLE", "THREAD_VARIABLES", "apply", "blas_threads"]

OPT_OUT_VARIABLE = "IMGQA_BLAS_THREADS"
# OpenBLAS (numpy/SciPy wheels on Linux and Windows), OpenMP, Intel MKL, Apple Accelerate.
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS")


def blas_threads(value: str | None) -> str | None:
    """The thread count to set for an ``IMGQA_BLAS_THREADS`` value (None: set nothing).

    Parameters
    ----------
    value
        The variable's value, or None when it is not set.

    Returns
    -------
    str or None
        ``"1"`` when unset or empty; the number for a whole number ≥ 1; None for ``auto`` or
        ``0`` (the libraries choose).

    Raises
    ------
    ValueError
        For anything else, with a sentence saying what is accepted.
    """
    text = (value or "").strip().lower()
    if not text:
        return "1"
    if text in ("auto", "0"):
        return None
    if text.isdigit():
        return str(int(text))
    raise ValueError(f"{OPT_OUT_VARIABLE}={value!r} is not a number of threads: use a whole "
                     "number (1 is imgqa's default) or 'auto' to let the maths libraries use "
                     "one thread per core")


def apply(environ: MutableMapping[str, str] | None = None) -> str | None:
    """Set the BLAS/OpenMP thread-count variables imgqa's processes use, keeping the user's.

    Each variable of `THREAD_VARIABLES` that is not already set gets the count from
    `blas_threads` (1 unless ``IMGQA_BLAS_THREADS`` says otherwise). An unreadable
    ``IMGQA_BLAS_THREADS`` is reported on stderr and the default 1 is used: a tuning setting
    must not stop the GUI or the service from starting.

    Parameters
    ----------
    environ
        The environment to update (default ``os.environ``, which child processes inherit).

    Returns
    -------
    str or None
        The count set where the user had set nothing, or None when nothing was set.
    """
    env = os.environ if environ is None else environ
    try:
        count = blas_threads(env.get(OPT_OUT_VARIABLE))
    except ValueError as exc:
        import sys

        print(f"imgqa: {exc}; using 1.", file=sys.stderr)
        count = "1"
    if count is not None:
        for name in THREAD_VARIABLES:
            env.setdefault(name, count)
    return count
