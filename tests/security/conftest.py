"""Fixtures for the attack tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path) -> Callable[[str], Path]:
    """Make a sub-directory of tmp_path (each peer gets its own working directory)."""

    def make(name: str) -> Path:
        d = tmp_path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    return make
