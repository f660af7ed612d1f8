"""Fixtures of the explain tests."""

from __future__ import annotations

import colorsys
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def colorsys_copy(tmp_path: Path) -> Path:
    """A copy of the standard library's colorsys.py at the top of ``tmp_path`` (the project)."""
    target = tmp_path / "colorsys.py"
    shutil.copy(colorsys.__file__, target)
    return target
