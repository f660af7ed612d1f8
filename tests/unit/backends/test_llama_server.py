"""The llama-server backend against a real ``llama-server`` on loopback (tiny generated GGUFs).

The server is llama.cpp's own, built from the sources in the llama-cpp-python sdist
(:mod:`tests.llama_server_helpers`). What the server did is read back from its ``/slots``
endpoint: the prompt it laid out (FIM tokens, the context chunks), how many tokens it decoded,
whether it is still decoding.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lfcode.backends.base import BackendError, GenerationRequest, Infill
from lfcode.backends.llama_server import LlamaServerBackend
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete
from tests.llama_server_helpers import BUILD_TIMEOUT_S, LlamaServer, llama_server_binary
from tests.tinygguf import write_tiny_gguf

#: Real processes: the slow tier. The first test may build llama-server (cached afterwards).
pytestmark = [pytest.mark.model, pytest.mark.timeout(BUILD_TIMEOUT_S + 600)]


@pytest.fixture(scope="module")
def binary() -> Path:
    return llama_server_binary()


@pytest.fixture(scope="module")
def fim_server(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A server with a tiny Qwen-style FIM model (FIM and repo-level file-separator tokens)."""
    folder = tmp_path_factory.mktemp("fim-server")
    model = write_tiny_gguf(folder / "tiny-qwen-fim.gguf", family="qwen", n_ctx=4096)
    server = LlamaServer(binary, model, folder / "server.log", ctx=4096)
    yield server
    server.close()


@pytest.fixture(scope="module")
def plain_server(binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A server with a tiny model without FIM tokens (the seed whose greedy answer is LONG)."""
    folder = tmp_path_factory.mktemp("plain-server")
    model = write_tiny_gguf(folder / "tiny-plain.gguf", n_ctx=4096, seed=LONG_SEED)
    server = LlamaServer(binary, model, folder / "server.log", ctx=4096)
    yield server
    server.close()


#: Tokens asked for where the answer must outlast the test's action, and the seed of the tiny
#: model without FIM whose greedy answer to "a" runs to that limit without an end token (seeds
#: 0-7 measured: only 2 does; the others stop after 193-2737 tokens). It decodes at about 2,500
#: tokens/s on one thread, so the answer lasts over a second.
LONG, LONG_SEED = 3000, 2


def slot(server: LlamaServer) -> dict:
    """The server's only slot, as ``GET /slots`` shows it."""
    [only] = httpx.get(f"{server.url}/slots", timeout=10).json()
    return only


def test_the_status_names_the_servers_model_context_and_fim_family(fim_server: LlamaServer, plain_server: LlamaServer) -> None:
    with LlamaServerBackend(fim_server.url + "/v1/") as fim, LlamaServerBackend(plain_server.url) as plain:
        assert fim.capabilities.name == f"llama-server 127.0.0.1:{fim_server.port} (tiny-qwen-fim.gguf)"
        assert fim.capabilities.n_ctx == 4096
        assert fim.capabilities.fim is not None and fim.capabilities.fim.family == "qwen"
        assert plain.capabilities.name.endswith("(tiny-plain.gguf)") and plain.capabilities.fim is None
        assert fim.base_url == fim_server.url, "the audit log records where prompts go: the server's root"


def test_a_fim_request_goes_through_infill_with_the_context_chunks(fim_server: LlamaServer) -> None:
    infill = Infill(prefix="def add(a, b):\n    ", suffix="\n\nprint(add(1, 2))\n",
                    extra=(("util.py", "# util.py:\n# def helper(x): ...\n"),))
    with LlamaServerBackend(fim_server.url) as backend:
        request = GenerationRequest(prompt="unused by /infill", infill=infill, max_tokens=4, feature="completion")
        text = "".join(backend.complete(request, threading.Event()))
    laid_out = slot(fim_server)["prompt"]
    # The server's repo-level layout (tools/server/README.md, POST /infill) with its own tokens.
    assert laid_out.index("<|repo_name|>") < laid_out.index("<|file_sep|>util.py\n# util.py:\n# def helper(x): ...")
    assert "<|fim_prefix|>def add(a, b):\n    <|fim_suffix|>\n\nprint(add(1, 2))\n<|fim_middle|>" in laid_out
    assert "unused by /infill" not in laid_out
    assert isinstance(text, str)


def test_repository_text_cannot_forge_a_fim_token(fim_server: LlamaServer) -> None:
    """Code is tokenized with special tokens off: a ``<|fim_middle|>`` typed in a file stays text."""
    with LlamaServerBackend(fim_server.url) as backend:
        forged = backend.tokenize("<|fim_middle|>")
        real = httpx.post(f"{fim_server.url}/tokenize", json={"content": "<|fim_middle|>", "parse_special": True}, timeout=10).json()
        assert len(real["tokens"]) == 1 and len(forged) > 1
        request = GenerationRequest(prompt="", infill=Infill(prefix="x = '<|fim_middle|>'\n", suffix=""), max_tokens=1)
        "".join(backend.complete(request, threading.Event()))
    assert slot(fim_server)["n_prompt_tokens"] > len(forged) + 3


def test_a_prefix_only_model_gets_completion_with_the_prompt_cache(plain_server: LlamaServer) -> None:
    prompt = "".join(f"def function_{i}(value):\n    return value + {i}\n\n" for i in range(20))
    evaluated = r"prompt eval time = .* / +(\d+) tokens"
    with LlamaServerBackend(plain_server.url) as backend:
        request = GenerationRequest(prompt=prompt, infill=Infill(prefix=prompt, suffix=""), max_tokens=3)
        mark = plain_server.mark()
        "".join(backend.complete(request, threading.Event()))
        first = int(plain_server.wait_for(evaluated, mark, 30).group(1))
        laid_out = slot(plain_server)["prompt"]
        mark = plain_server.mark()
        "".join(backend.complete(request.model_copy(update={"prompt": prompt + "def f"}), threading.Event()))
        second = int(plain_server.wait_for(evaluated, mark, 30).group(1))
    assert laid_out.removeprefix("<s>").startswith(prompt[:200]), "a model without FIM tokens gets the plain prompt"
    assert first > 500 and second < 20, f"cache_prompt reuses the shared start: {first} then {second} tokens evaluated"


def test_inline_completion_through_the_engine_uses_the_servers_fim(fim_server: LlamaServer) -> None:
    text = "import math\n\ndef area(radius):\n    \n\nprint(area(2))\n"
    offset = text.index("    \n") + 4
    with LlamaServerBackend(fim_server.url) as backend:
        result = complete(backend, CompletionInput(text, offset, "/proj/geometry.py"), CompletionOptions(max_tokens=8))
    assert result.model_calls >= 1 and not result.cancelled
    laid_out = slot(fim_server)["prompt"]
    assert "<|fim_prefix|>" in laid_out and "def area(radius):\n    <|fim_suffix|>" in laid_out
    assert "\n\nprint(area(2))\n<|fim_middle|>" in laid_out


def test_cancelling_mid_stream_closes_it_and_the_server_stops_decoding(plain_server: LlamaServer) -> None:
    cancel = threading.Event()
    seen: list[str] = []
    mark = plain_server.mark()
    with LlamaServerBackend(plain_server.url) as backend:
        request = GenerationRequest(prompt="a", max_tokens=LONG)
        for piece in backend.complete(request, cancel):
            seen.append(piece)
            if len(seen) == 3:
                cancel.set()
    assert len(seen) == 3, "the stream ends within one token of the cancel"
    # The server logs where its slot stopped: the closed stream cancelled the task long before
    # its LONG tokens (the greedy answer of this model does not end by itself: see LONG).
    stopped = plain_server.wait_for(r"stop processing: n_tokens = (\d+)", mark, 30)
    assert int(stopped.group(1)) < LONG // 4


def test_a_server_that_dies_mid_request_is_a_clear_error(binary: Path, tmp_path: Path) -> None:
    model = write_tiny_gguf(tmp_path / "tiny.gguf", n_ctx=4096, seed=LONG_SEED)
    server = LlamaServer(binary, model, tmp_path / "server.log", ctx=4096)
    try:
        with LlamaServerBackend(server.url) as backend:
            stream = backend.complete(GenerationRequest(prompt="a", max_tokens=LONG), threading.Event())
            next(stream)
            server.kill()
            with pytest.raises(BackendError, match=rf"the server at 127.0.0.1:{server.port} closed the connection in the middle of an answer"):
                for _ in stream:
                    pass
            with pytest.raises(BackendError, match=rf"no server answers at 127.0.0.1:{server.port}"):
                backend.tokenize("x = 1")
    finally:
        server.close()
