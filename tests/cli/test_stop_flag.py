"""`imgqa.cli._common.StopFlag`: what serve, receive and watch wait on, set by their SIGTERM /
Ctrl-C handler. A `threading.Event` set from a handler that interrupts its own ``wait`` hung
`imgqa serve` (the handler waited for the lock the interrupted ``wait`` held)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from imgqa.cli._common import StopFlag


def test_wait_times_out_when_nobody_sets_it():
    flag = StopFlag()
    t0 = time.monotonic()
    assert flag.wait(0.12) is False
    assert 0.1 <= time.monotonic() - t0 < 2.0
    assert not flag.is_set()


@pytest.mark.skipif(os.name != "posix", reason="setitimer is POSIX")
def test_a_signal_handler_sets_it_while_it_waits():
    flag = StopFlag()
    old = signal.signal(signal.SIGALRM, lambda *a: flag.set())
    try:
        for _ in range(50):  # many times: the signal lands at every point of the wait loop
            flag = StopFlag()
            signal.setitimer(signal.ITIMER_REAL, 0.003)
            assert flag.wait(5.0) is True
        assert flag.is_set()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
