"""The real ``lfcode serve`` against hostile JSON-RPC: bounded framing, one answer per request.

Error codes: JSON-RPC 2.0 §5.1 (-32700 parse error, -32600 invalid request, -32601 method not
found, -32602 invalid params) and LSP 3.17 (-32002 ServerNotInitialized).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lfcode.lsp.framing import MAX_HEADER_LINE, MAX_MESSAGE_BYTES, FramingError, read_frame
from tests.security.raw_lsp import RawServer

#: Slow end-to-end tests (server processes, the real sandbox): the slow tier of -m 'not model'.
pytestmark = pytest.mark.model

SENTINEL = "lfcode/ping"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RawServer]:
    raw = RawServer(tmp_path)
    try:
        yield raw
    finally:
        raw.close()


@pytest.fixture
def ready(server: RawServer) -> RawServer:
    assert "result" in server.initialize()
    return server


def answers_for(server: RawServer, msg_id: object, sentinel: str) -> list[dict]:
    """Every response with ``msg_id`` read until the sentinel request's answer (which is sent
    after the message under test, so everything answered synchronously is in)."""
    server.request(SENTINEL, {}, msg_id=sentinel)
    _, seen = server.until(sentinel)
    return [m for m in seen if "method" not in m and m.get("id") == msg_id]


def test_huge_content_length_exits_cleanly(server: RawServer) -> None:
    server.send_bytes(b"Content-Length: 99999999999999\r\n\r\n{")
    assert server.proc.wait(timeout=30) == 1  # stdin is still open: the server left by itself
    err = server.stderr()
    assert "Content-Length 99999999999999 exceeds the 64 MiB message limit" in err
    assert "Traceback" not in err and "MemoryError" not in err


def test_absurdly_long_content_length_digits_exit_cleanly(server: RawServer) -> None:
    server.send_bytes(b"Content-Length: " + b"9" * 5000 + b"\r\n\r\n")
    assert server.proc.wait(timeout=30) == 1
    err = server.stderr()
    assert "exceeds" in err and "Traceback" not in err


def test_requests_before_initialize_get_server_not_initialized(server: RawServer) -> None:
    server.notify("textDocument/didOpen", {"textDocument": {"uri": "file:///x.py", "languageId": "python", "version": 1, "text": "x"}})
    answer = server.call("textDocument/completion", {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}})
    assert answer["error"]["code"] == -32002
    assert "result" in server.initialize()  # the dropped notification left no trace


def test_invalid_params_get_exactly_one_invalid_params(ready: RawServer) -> None:
    ready.request("textDocument/completion", {"textDocument": 5, "position": "here"}, msg_id=7)
    answers = answers_for(ready, 7, "s1")
    assert len(answers) == 1
    assert answers[0]["error"]["code"] == -32602
    assert "textDocument/completion" in answers[0]["error"]["message"]
    assert len(answers[0]["error"]["message"]) <= 300


def test_scalar_params_are_invalid_params(ready: RawServer) -> None:
    assert ready.call("textDocument/completion", 42, msg_id=8)["error"]["code"] == -32602


@pytest.mark.parametrize("bad_id", [{"a": 1}, [1], True, 1.5, None])
def test_invalid_ids_get_invalid_request_with_null_id(ready: RawServer, bad_id: object) -> None:
    ready.send({"jsonrpc": "2.0", "id": bad_id, "method": "shutdown"})
    answer = ready.response()
    assert answer["id"] is None and answer["error"]["code"] == -32600
    assert ready.call(SENTINEL, {}, msg_id="after")["error"]["code"] == -32601  # still serving


def test_bad_structure_gets_invalid_request(ready: RawServer) -> None:
    assert ready.call(5, {}, msg_id=1)["error"]["code"] == -32600  # method is not a string
    ready.send({"id": 2, "method": SENTINEL})  # no "jsonrpc"
    assert ready.until(2)[0]["error"]["code"] == -32600
    ready.send([{"jsonrpc": "2.0", "id": 3, "method": SENTINEL}])  # a batch
    batch = ready.response()
    assert batch["id"] is None and batch["error"]["code"] == -32600 and "batches" in batch["error"]["message"]
    answer = ready.call("textDocument/didSave", {"textDocument": {"uri": "file:///x.py"}}, msg_id=4)
    assert answer["error"]["code"] == -32600  # a notification sent as a request


def test_unknown_method_gets_method_not_found(ready: RawServer) -> None:
    answer = ready.call("lfcode/noSuchThing", {}, msg_id="u")
    assert answer["error"]["code"] == -32601


def test_unparsable_json_gets_parse_error_with_null_id(ready: RawServer) -> None:
    for body in (b'{"jsonrpc": "2.0", "id": 1, "method"', b"\xff\xfe", b"", b"[" * 100_000):
        ready.send(body)
        answer = ready.response()
        assert answer["id"] is None and answer["error"]["code"] == -32700, body[:20]


def test_malformed_headers_are_skipped_and_the_stream_resynchronises(ready: RawServer) -> None:
    ready.send_bytes(b"X-Garbage\r\nContent-Length: banana\r\n\r\n")
    ready.send_bytes(b"Content-Length: 1x\r\n\r\n{}")  # an unframed body, glued to the next header
    ready.send({"jsonrpc": "2.0", "id": "ok", "method": SENTINEL}, headers=(b"   \r\n", b"Content-Type: nonsense\r\n"))
    assert ready.until("ok")[0]["error"]["code"] == -32601


def test_notifications_never_get_responses(ready: RawServer) -> None:
    ready.notify("textDocument/didOpen", {"textDocument": "nope"})
    ready.notify("lfcode/unknownNotification", {})
    ready.notify("$/cancelRequest", {"id": {"an": "object"}})
    ready.request(SENTINEL, {}, msg_id="s")
    _, seen = ready.until("s")
    assert not [m for m in seen if "method" not in m]


def test_requests_after_shutdown_get_invalid_request_and_exit_is_clean(ready: RawServer) -> None:
    assert ready.call("shutdown", msg_id="down") == {"jsonrpc": "2.0", "id": "down", "result": None}
    late = ready.call("textDocument/completion", {"textDocument": {"uri": "file:///x.py"}, "position": {"line": 0, "character": 0}}, msg_id="late")
    assert late["error"]["code"] == -32600
    ready.notify("exit")
    assert ready.proc.wait(timeout=30) == 0
    assert "Traceback" not in ready.stderr()


def test_server_answers_normally_after_abuse(ready: RawServer, tmp_path: Path) -> None:
    ready.send(b"not json")
    ready.send({"jsonrpc": "2.0", "id": {}, "method": "x"})
    ready.request("textDocument/codeAction", {"bogus": True}, msg_id="ca")
    path = tmp_path / "m.py"
    path.write_text("def f():\n    return 1\n")
    ready.notify("textDocument/didOpen", {"textDocument": {"uri": path.as_uri(), "languageId": "python", "version": 1, "text": path.read_text()}})
    answer = ready.call(
        "textDocument/codeAction",
        {"textDocument": {"uri": path.as_uri()}, "range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 4}}, "context": {"diagnostics": []}},
        msg_id="good",
    )
    assert [a["command"]["command"] for a in answer["result"]] == ["lfcode.explain", "lfcode.generateTests"]
    assert json.dumps(answer)  # a well-formed response


def _frames(data: bytes) -> list[bytes]:
    stream = io.BufferedReader(io.BytesIO(data))
    bodies = []
    while (body := read_frame(stream)) is not None:
        bodies.append(body)
    return bodies


def test_framing_resynchronises_and_bounds_header_lines() -> None:
    long_garbage = b"X" * (3 * MAX_HEADER_LINE) + b"\r\n"  # read in pieces, never one big line
    data = (
        long_garbage + b"Content-Length: 2\r\n\r\n{}"
        + b"Content-Length: nope\r\n\r\n" + b'{"a": 1}'  # unframed body, glued to the next header
        + b"content-length:3\n\n[1]"  # lower case, bare newlines
        + b"Content-Length: 10\r\n\r\n{}"  # ends inside the body
    )
    assert _frames(data) == [b"{}", b"[1]"]


def test_framing_refuses_oversized_bodies_without_allocating() -> None:
    with pytest.raises(FramingError, match="exceeds the 64 MiB"):
        _frames(b"Content-Length: %d\r\n\r\n" % (MAX_MESSAGE_BYTES + 1))
    assert _frames(b"Content-Length: %d\r\n\r\n" % MAX_MESSAGE_BYTES + b"x") == []  # allowed, then EOF


class _Capture:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self) -> None:
        pass


def test_pygls_own_loops_get_the_same_validation(tmp_path: Path) -> None:
    """``lfcode serve --tcp`` runs pygls' loop, which hands decoded dicts to ``handle_message``."""
    from lfcode.lsp.server import create_server
    from tests.security.raw_lsp import raw_env

    server = create_server(env=raw_env(tmp_path))
    capture = _Capture()
    server.protocol.set_writer(capture)
    server.protocol.handle_message(server.protocol.structure_message({"jsonrpc": "2.0", "id": {"a": 1}, "method": "x"}))
    server.protocol.handle_message({"jsonrpc": "2.0", "id": 3, "method": "textDocument/completion", "params": {}})
    bodies = [json.loads(b"{" + part.split(b"\r\n\r\n{", 1)[1]) for part in capture.data.split(b"Content-Length")[1:]]
    assert [(b["id"], b["error"]["code"]) for b in bodies] == [(None, -32600), (3, -32002)]
