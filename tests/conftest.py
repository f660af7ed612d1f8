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


def write_fake_script(
    path: Path, responses: list[str], *, delay_ms: float = 0, default: str = "", probability: float | None = None
) -> Path:
    """Write a fake-backend script. Generations are recorded in :func:`record_path` when the
    server's environment sets ``LFCODE_FAKE_RECORD`` to it (``server_env`` does); ``probability``
    is the token probability every piece of a text response reports (none when ``None``)."""
    data: dict = {"responses": responses, "delay_ms": delay_ms, "default": default}
    if probability is not None:
        data["probability"] = probability
    path.write_text(json.dumps(data))
    return path


def record_path(script: Path) -> Path:
    """Where a fake-backend server started with ``script`` records its generations."""
    return Path(script).with_suffix(".record.jsonl")


def read_record(script: Path, prefills: bool = False) -> list[dict]:
    """The generations a fake-backend server recorded (with ``prefills``, the prompts it was
    asked to prefill instead: ``{"prefill": ...}`` lines)."""
    record = record_path(script)
    if not record.exists():
        return []
    lines = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return [line for line in lines if ("prefill" in line) == prefills and "started" not in line]


#: Python code that logs to ``{log}`` and refuses every Internet socket, connect and name lookup
#: (a PEP 578 audit hook). It raises before a socket exists, so nothing leaves the machine even
#: when lfcode is wrong; AF_UNIX stays allowed (asyncio's own wake-up pair uses it).
GUARD = """
import socket, sys
LOG = {log!r}
def guard(event, args):
    inet = event == "socket.__new__" and len(args) > 1 and args[1] in (socket.AF_INET, socket.AF_INET6)
    if inet or event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        if event == "socket.connect" and isinstance(args[1], (str, bytes)):
            return  # an AF_UNIX path
        with open(LOG, "a") as f:
            f.write(event + " " + repr(args[1:3]) + "\\n")
        raise PermissionError("network access is blocked in this test: " + event)
sys.addaudithook(guard)
"""


def guarded_command(log: Path, code: str) -> list[str]:
    """``python -c`` running ``code`` under :data:`GUARD`, attempts logged to ``log``."""
    return [sys.executable, "-c", GUARD.format(log=str(log)) + code]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder shared by the tests that use the embedded model (assembled once)."""
    return tmp_path_factory.mktemp("xdg-cache")
