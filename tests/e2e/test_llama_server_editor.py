"""``backend = "llama-server"`` end to end: a real ``llama-server`` on loopback, the real
``lfcode serve``, and an editor (pytest-lsp's client, and a real headless Neovim).

The model is a tiny generated GGUF with Qwen-style FIM tokens, so every completion goes through
the server's ``/infill``; its answers are random text, so the tests check where the text came
from (the server's ``/slots`` shows the prompt it laid out) and what the editor shows, not its
quality.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from lsprotocol import types

from tests.e2e.lsp_helpers import NO_BUDGET, inline_params, lsp_session, open_document, server_env
from tests.llama_server_helpers import BUILD_TIMEOUT_S, LlamaServer, llama_server_binary
from tests.tinygguf import write_tiny_gguf

pytestmark = [pytest.mark.model, pytest.mark.timeout(BUILD_TIMEOUT_S + 600)]

SOURCE = "import math\n\n\ndef area(radius):\n    return \n\n\nprint(area(2))\n"
LINE, COLUMN = 4, len("    return ")


@pytest.fixture(scope="module")
def binary() -> Path:
    return llama_server_binary()


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "tiny-qwen-fim.gguf", family="qwen", n_ctx=4096)


@pytest.fixture
def llama_server(binary: Path, model: Path, tmp_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer(binary, model, tmp_path / "server.log", ctx=4096)
    yield server
    server.close()


def laid_out_prompt(server: LlamaServer) -> str:
    [only] = httpx.get(f"{server.url}/slots", timeout=10).json()
    return only["prompt"]


def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    (root / "geometry.py").write_text(SOURCE)
    return root


async def test_fim_completions_come_from_the_servers_infill(tmp_path: Path, llama_server: LlamaServer) -> None:
    root = project(tmp_path)
    env = server_env(tmp_path, backend="llama-server", server_url=llama_server.url, **NO_BUDGET)
    async with lsp_session(env, root=root) as (lsp, _):
        uri = open_document(lsp, root / "geometry.py")
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
        prompt = laid_out_prompt(llama_server)
    assert answer is not None
    assert "<|fim_prefix|>" in prompt and "def area(radius):\n    return <|fim_suffix|>" in prompt
    assert prompt.rstrip().endswith("print(area(2))\n<|fim_middle|>".rstrip())
    assert not [m.message for m in lsp.messages if m.type == types.MessageType.Error]
    logs = [m.message for m in lsp.log_messages]
    assert any(f"llama-server 127.0.0.1:{llama_server.port} (tiny-qwen-fim.gguf) ready" in m and "FIM: qwen" in m for m in logs), logs


async def test_the_editor_keeps_working_when_the_server_dies(tmp_path: Path, binary: Path, model: Path) -> None:
    root = project(tmp_path)
    server = LlamaServer(binary, model, tmp_path / "server.log", ctx=4096)
    port = server.port
    env = server_env(tmp_path, backend="llama-server", server_url=server.url, **NO_BUDGET)
    try:
        async with lsp_session(env, root=root) as (lsp, _):
            uri = open_document(lsp, root / "geometry.py")
            first = await lsp.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
            assert first is not None and not [m for m in lsp.messages if m.type == types.MessageType.Error]
            server.kill()
            second = await lsp.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
            errors = [m.message for m in lsp.messages if m.type == types.MessageType.Error]
            assert second is not None and list(second.items) == []
            assert len(errors) == 1 and f"no server answers at 127.0.0.1:{port} (is it running?)" in errors[0], errors
            # Other features do not need the model and go on working meanwhile.
            hover_or_actions = await lsp.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=types.TextDocumentIdentifier(uri=uri),
                    range=types.Range(start=types.Position(line=3, character=0), end=types.Position(line=3, character=0)),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            assert hover_or_actions, "code actions are still offered"
            # The server comes back on the same port: the next request uses it, no restart needed.
            server.close()
            server = LlamaServer(binary, model, tmp_path / "server-2.log", ctx=4096, port=port)
            third = await lsp.text_document_inline_completion_async(inline_params(uri, LINE, COLUMN))
            assert third is not None
            assert "def area(radius):\n    return <|fim_suffix|>" in laid_out_prompt(server)
            assert len([m for m in lsp.messages if m.type == types.MessageType.Error]) == 1
    finally:
        server.close()


#: The tiny FIM model's seed whose greedy answer at the cursor survives lfcode's post-processing
#: (printable text; seeds 0-29 tried with this file, 4 is the first whose first answer is kept).
GHOST_SEED = 4


@pytest.mark.editor
def test_neovim_shows_a_fim_suggestion_from_llama_server(tmp_path: Path, binary: Path) -> None:
    from tests.e2e.nvim_helpers import HeadlessNvim, nvim_binary, nvim_env

    model = write_tiny_gguf(tmp_path / "tiny-qwen-fim.gguf", family="qwen", n_ctx=4096, seed=GHOST_SEED)
    server = LlamaServer(binary, model, tmp_path / "server.log", ctx=4096)
    root = project(tmp_path)
    env = nvim_env(tmp_path, backend="llama-server", server_url=server.url, **NO_BUDGET)
    nvim = HeadlessNvim(nvim_binary(tmp_path), env, root, tmp_path / "nvim", 120)
    try:
        nvim.setup(settings={"max_tokens": 16})
        nvim.command(f"edit {root / 'geometry.py'}")
        nvim.wait_attached()
        nvim.wait_lua('return require("lfcode").status() == "lfcode: ready"', 30, "lfcode/status ready")
        nvim.command(f"normal! {LINE + 1}G")
        nvim.input("A")  # the end of "    return ": InsertEnter sends an automatic request
        ghost = nvim.wait_ghost_text(60, "ghost text from llama-server")
        prompt = laid_out_prompt(server)
        assert ghost.strip(), f"blank ghost text: {ghost!r}"
        assert "def area(radius):\n    return <|fim_suffix|>" in prompt and prompt.rstrip().endswith("<|fim_middle|>")
        assert nvim.lines()[LINE] == "    return ", "ghost text must not change the buffer"
        nvim.input("<Tab>")
        nvim.wait_line(LINE, 'line ~= "    return "', 10, "<Tab> to accept the suggestion")
        assert nvim.lines()[LINE] == "    return " + ghost.split("\n")[0]
        nvim.input("<Esc>")
    finally:
        nvim.close()
        server.close()
