"""Zero egress: the whole request path works with Internet sockets forbidden.

The server runs under a Python audit hook (PEP 578) that refuses to create AF_INET/AF_INET6
sockets and to connect or resolve names, and logs every attempt to a file. AF_UNIX stays allowed
because asyncio's event loop uses a local socket pair for its own wake-ups.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import STDLIB_TEXTWRAP, guarded_command
from tests.e2e.lsp_helpers import NO_BUDGET, inline_params, lsp_session, open_document, server_env
from tests.e2e.test_inline_completion import BLANK_LINE_IN_DEDENT



def test_the_guard_really_blocks_sockets(tmp_path: Path) -> None:
    log = tmp_path / "attempts.log"
    probe = subprocess.run(
        guarded_command(log, "import socket\nsocket.create_connection(('127.0.0.1', 9))"), capture_output=True, text=True
    )
    assert probe.returncode != 0
    assert "network access is blocked" in probe.stderr
    assert log.read_text().strip()


@pytest.mark.model
async def test_completion_with_the_embedded_model_and_no_network(tmp_path: Path, model_cache: Path) -> None:
    log = tmp_path / "attempts.log"
    command = guarded_command(log, "from lfcode.cli import main\nsys.argv = ['lfcode', 'serve']\nmain()")
    env = server_env(tmp_path, cache=model_cache, **NO_BUDGET)
    async with lsp_session(env, command=command) as (lsp, result):
        assert result.capabilities.inline_completion_provider is not None
        uri = open_document(lsp, STDLIB_TEXTWRAP)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, BLANK_LINE_IN_DEDENT, 0))
    assert answer.items and answer.items[0].insert_text.strip()
    assert not log.exists(), log.read_text()
