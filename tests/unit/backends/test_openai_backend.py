"""The OpenAI-compatible HTTP backend: loopback only, streaming, cancellation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lfcode.backends.base import BackendError, GenerationRequest
from lfcode.backends.llama_server import LlamaServerBackend
from lfcode.backends.openai_http import OpenAIBackend, is_loopback_url, openai_base, server_root


class _Handler(BaseHTTPRequestHandler):
    pieces = ["return ", "a ", "+ ", "b"]
    bodies: list[dict] = []

    def log_message(self, *_args) -> None:  # keep the test output clean
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if self.path.endswith("/tokenize"):
            self._send(json.dumps({"tokens": [1, 2, 3]}).encode(), "application/json")
            return
        chunks = []
        for piece in self.pieces:
            chunk = {"choices": [{"delta": {"content": piece}}]} if "chat" in self.path else {"choices": [{"text": piece}]}
            chunks.append(f"data: {json.dumps(chunk)}\n\n")
        chunks.append("data: [DONE]\n\n")
        self._send("".join(chunks).encode(), "text/event-stream")

    def _send(self, data: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    """One loopback server for the module: it keeps no state but ``_Handler.bodies``, which
    :func:`server` empties before each test."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    # shutdown() returns once serve_forever() looks at its flag, which it does every poll_interval
    # (http.server has no other way to stop the loop): 0.05 s instead of the default 0.5 s.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def server(http_server: str) -> str:
    _Handler.bodies = []
    return http_server


@pytest.mark.parametrize("url", ["http://192.168.1.10:8080/v1", "https://api.example.com/v1", "http://10.0.0.1/v1"])
def test_remote_hosts_are_refused_by_default(url: str) -> None:
    with pytest.raises(BackendError, match="allow_remote"):
        OpenAIBackend(url)


def test_remote_host_allowed_only_when_the_user_says_so() -> None:
    assert OpenAIBackend("https://api.example.com/v1", allow_remote=True).base_url == "https://api.example.com/v1"


@pytest.mark.parametrize(("url", "loopback"), [("http://localhost:1/v1", True), ("http://127.3.4.5/", True), ("http://[::1]:8/", True), ("http://example.com", False)])
def test_loopback_detection(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_streams_a_completion_from_a_local_server(server: str) -> None:
    backend = OpenAIBackend(server)
    request = GenerationRequest(prompt="def add(a, b):\n    ", max_tokens=8, stop=["\n"])
    assert "".join(backend.complete(request, threading.Event())) == "return a + b"
    assert _Handler.bodies[-1]["prompt"] == request.prompt and _Handler.bodies[-1]["stream"] is True
    assert backend.tokenize("abc") == [1, 2, 3]


def test_chat_streams_deltas(server: str) -> None:
    from lfcode.backends.base import ChatMessage

    backend = OpenAIBackend(server)
    text = "".join(backend.chat([ChatMessage(role="user", content="hi")], GenerationRequest(prompt=""), threading.Event()))
    assert text == "return a + b"


def test_cancel_stops_reading_the_stream(server: str) -> None:
    backend = OpenAIBackend(server)
    cancel = threading.Event()
    got = []
    for piece in backend.complete(GenerationRequest(prompt="x"), cancel):
        got.append(piece)
        cancel.set()
    assert got == ["return "]


def test_unreachable_server_is_a_clear_error() -> None:
    backend = OpenAIBackend("http://127.0.0.1:9/v1")
    with pytest.raises(BackendError, match="no server answers at 127.0.0.1:9"):
        list(backend.complete(GenerationRequest(prompt="x"), threading.Event()))


def test_no_server_is_a_clear_error_at_start() -> None:
    with pytest.raises(BackendError, match=r"no server answers at 127.0.0.1:9 \(is it running\?\)"):
        LlamaServerBackend("http://127.0.0.1:9")


def test_a_remote_server_needs_allow_remote() -> None:
    with pytest.raises(BackendError, match="not on this machine"):
        LlamaServerBackend("http://10.255.255.1:8080")


def test_server_url_forms() -> None:
    assert server_root("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080"
    assert openai_base("http://127.0.0.1:11434") == "http://127.0.0.1:11434/v1"
    assert openai_base("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
