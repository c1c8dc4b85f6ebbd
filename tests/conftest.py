"""Shared fixtures: where the real scanner images are, and a Qt-free default environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("IMGQA_SHARED_DATA", ROOT.parent / "shared" / "data"))
CONTRACTS = SHARED_DATA.parent / "contracts"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real phantom images); present in CI, tests skip without it."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def contracts_dir() -> Path:
    if not CONTRACTS.is_dir():
        pytest.skip("../shared/contracts is not present")
    return CONTRACTS


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory, monkeypatch):
    """Never touch the real user's database or settings from a test."""
    home = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("IMGQA_DATA_DIR", str(home))
    monkeypatch.delenv("IMGQA_DB", raising=False)
    monkeypatch.delenv("IMGQA_ARCHIVE", raising=False)   # no test archives into a real share
