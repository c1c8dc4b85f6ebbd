"""Fixtures shared by the analysis tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def real_plates_two_ways(shared_data: Path, monkeypatch: pytest.MonkeyPatch
                         ) -> Callable[[Callable[[pytest.MonkeyPatch], None]], list[tuple]]:
    """``run(plain)``: every real relaxometry series of the shared data analysed by
    ``mr.relaxometry`` as it is and again with ``plain(mp)`` applied (a function that swaps
    fast paths for their plain computation on ``mp``, undone after); the `PlateResult`
    pairs ``(as it is, plain)`` that `analyse_plate` returned. Skips without those series."""
    import imgqa
    from imgqa.protocols import relaxometry as proto

    folders = sorted(p for p in (shared_data / "mr" / "relaxometry_hazen").glob("T*/site*/plate*")
                     if p.is_dir())
    if not folders:
        pytest.skip("no relaxometry series in the shared data")
    captured: list[Any] = []
    orig = proto.analyse_plate

    def spy(*args: Any, **kwargs: Any) -> Any:
        captured.append(orig(*args, **kwargs))
        return captured[-1]

    monkeypatch.setattr(proto, "analyse_plate", spy)

    def run(plain: Callable[[pytest.MonkeyPatch], None]) -> list[tuple]:
        pairs: list[tuple] = []
        for folder in folders:
            series = imgqa.load(folder)
            captured.clear()
            imgqa.analyse(series, "mr.relaxometry")
            fast = list(captured)
            with monkeypatch.context() as mp:
                plain(mp)
                captured.clear()
                imgqa.analyse(series, "mr.relaxometry")
            assert len(fast) == len(captured) > 0, folder
            pairs += zip(fast, captured)
        return pairs

    return run
