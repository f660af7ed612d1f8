"""Shared fixtures: real files to complete in, fake-backend scripts, an isolated cache."""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: A real standard-library module to complete inside.
STDLIB_TEXTWRAP = Path(sysconfig.get_paths()["stdlib"]) / "textwrap.py"


def server_command(*extra: str) -> list[str]:
    """How the tests start the real server: the installed ``lfcode`` console script.

    The script imports the *installed* package (its folder, not the repository, is first on
    ``sys.path``), so the end-to-end tests also check the packaging, prompts included.
    """
    script = Path(sys.executable).with_name("lfcode")
    if script.is_file():
        return [str(script), "serve", *extra]
    return [sys.executable, "-m", "lfcode", "serve", *extra]


def write_fake_script(path: Path, responses: list[str], *, delay_ms: float = 0, default: str = "") -> Path:
    """Write a fake-backend script. Generations are recorded in :func:`record_path` when the
    server's environment sets ``LFCODE_FAKE_RECORD`` to it (``server_env`` does)."""
    path.write_text(json.dumps({"responses": responses, "delay_ms": delay_ms, "default": default}))
    return path


def record_path(script: Path) -> Path:
    """Where a fake-backend server started with ``script`` records its generations."""
    return Path(script).with_suffix(".record.jsonl")


def read_record(script: Path) -> list[dict]:
    """The generations a fake-backend server recorded."""
    record = record_path(script)
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the tests that use the embedded model (assembled once)."""
    return tmp_path_factory.mktemp("xdg-cache")
