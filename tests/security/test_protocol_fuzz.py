"""Fuzz the JSON-RPC layer of the real ``lfcode serve`` (one long-lived process per module).

Property: whatever the headers, bodies, ids, methods and params, the server stays alive and
every request with a usable id (integer or string, JSON-RPC 2.0 §4) gets exactly one response
with that id. After each example a sentinel request proves liveness and bounds the wait.
"""

from __future__ import annotations

import itertools
import json
import queue
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.raw_lsp import RawServer, frame

METHODS = [
    "initialize", "textDocument/inlineCompletion", "textDocument/completion", "textDocument/codeAction",
    "workspace/executeCommand", "textDocument/didOpen", "textDocument/didChange", "textDocument/didSave",
    "textDocument/didClose", "workspace/didChangeConfiguration", "$/cancelRequest", "$/setTrace",
    "window/workDoneProgress/cancel", "lfcode/unknown", "", "initialized",
]  # shutdown and exit are left out: they end the session on purpose
URIS = ["file:///tmp/lfcode-fuzz/a.py", "file:///tmp/lfcode-fuzz/b.txt", "untitled:x", "file:///dev/zero", "%%", ""]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20), st.sampled_from(URIS),
)
json_value = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
position = st.fixed_dictionaries({"line": st.integers(-2, 2**32) | json_leaf, "character": st.integers(-2, 2**32) | json_leaf})
text_range = st.fixed_dictionaries({"start": position, "end": position})
lsp_shaped = st.fixed_dictionaries(
    {},
    optional={
        "textDocument": st.fixed_dictionaries(
            {"uri": st.sampled_from(URIS)},
            optional={"version": st.integers(-1, 5), "text": st.text(max_size=200), "languageId": st.sampled_from(["python", "", "c"])},
        ) | json_value,
        "position": position,
        "range": text_range,
        "contentChanges": st.lists(st.fixed_dictionaries({"text": st.text(max_size=30)}, optional={"range": text_range}), max_size=3),
        "context": st.fixed_dictionaries({}, optional={"triggerKind": st.integers(0, 3), "diagnostics": st.just([]), "only": st.lists(st.text(max_size=10), max_size=2)}),
        "command": st.sampled_from(["lfcode.explain", "lfcode.generateTests", "nope"]),
        "arguments": st.lists(json_value | st.fixed_dictionaries({"uri": st.sampled_from(URIS), "position": position}), max_size=2),
        "capabilities": json_value,
        "settings": json_value,
        "id": json_value,
    },
)
small_pos = st.fixed_dictionaries({"line": st.integers(0, 6), "character": st.integers(0, 12)})
doc_id = st.fixed_dictionaries({"uri": st.sampled_from(URIS[:3])})
#: Well-formed params, so that requests reach lfcode's handlers (and edits reach the documents).
valid_params = st.one_of(
    st.tuples(st.just("textDocument/didOpen"), st.fixed_dictionaries({"textDocument": st.fixed_dictionaries(
        {"uri": st.sampled_from(URIS[:3]), "languageId": st.sampled_from(["python", "plaintext"]), "version": st.integers(0, 9),
         "text": st.text(max_size=120) | st.just("def f(x):\n    return x\n\nclass C:\n    def m(self):\n        pass\n")})})),
    st.tuples(st.just("textDocument/didChange"), st.fixed_dictionaries({
        "textDocument": st.fixed_dictionaries({"uri": st.sampled_from(URIS[:3]), "version": st.integers(0, 99)}),
        "contentChanges": st.lists(st.fixed_dictionaries({"text": st.text(max_size=12)}, optional={"range": st.fixed_dictionaries({"start": small_pos, "end": small_pos})}), min_size=1, max_size=3)})),
    st.tuples(st.sampled_from(["textDocument/completion", "textDocument/inlineCompletion"]), st.fixed_dictionaries({
        "textDocument": doc_id, "position": small_pos, "context": st.fixed_dictionaries({"triggerKind": st.integers(1, 2)})})),
    st.tuples(st.just("textDocument/codeAction"), st.fixed_dictionaries({
        "textDocument": doc_id, "range": st.fixed_dictionaries({"start": small_pos, "end": small_pos}), "context": st.just({"diagnostics": []})})),
    st.tuples(st.just("workspace/executeCommand"), st.fixed_dictionaries({
        "command": st.sampled_from(["lfcode.explain", "lfcode.generateTests", "lfcode.nope"]),
        "arguments": st.lists(st.fixed_dictionaries({"uri": st.sampled_from(URIS[:3]), "position": small_pos}) | json_value, max_size=2)})),
    st.tuples(st.sampled_from(["textDocument/didSave", "textDocument/didClose"]), st.fixed_dictionaries({"textDocument": doc_id})),
)
bad_id = st.one_of(st.dictionaries(st.text(max_size=3), json_leaf, max_size=2), st.lists(json_leaf, max_size=2), st.booleans(), st.floats(allow_nan=False), st.none())
garbage_header = st.text(st.characters(blacklist_characters="\r\n", codec="utf-8"), max_size=40).filter(lambda s: "content-length" not in s.lower())


@st.composite
def message(draw: Any) -> tuple[bytes, str | None]:
    """One framed message and the kind of id it carries: ``"int"``/``"str"`` (to be replaced by
    a unique valid id), or ``None`` (no id, or an invalid one)."""
    shape = draw(st.sampled_from(["request", "request", "notification", "bad-id", "raw", "json", "valid", "valid", "valid"]))
    headers = tuple(f"{h}\r\n".encode() for h in draw(st.lists(garbage_header, max_size=3)))
    if shape == "raw":
        return frame(draw(st.binary(max_size=60)), headers), None
    if shape == "json":
        return frame(json.dumps(draw(json_value)), headers), None
    if shape == "valid":
        method, params = draw(valid_params)
        body = {"jsonrpc": "2.0", "method": method, "params": params}
        if method.startswith("textDocument/did"):
            return frame(json.dumps(body), headers), None
        body["id"] = "@ID@"
        return json.dumps(body).encode(), draw(st.sampled_from(["int", "str"]))
    body: dict[str, Any] = {"jsonrpc": draw(st.sampled_from(["2.0", "2.0", "2.0", "1.0"]))}
    body["method"] = draw(st.sampled_from(METHODS) | json_leaf)
    if draw(st.booleans()):
        body["params"] = draw(lsp_shaped | json_value)
    kind = None
    if shape == "request":
        kind = draw(st.sampled_from(["int", "str"]))
        body["id"] = "@ID@"
    elif shape == "bad-id":
        body["id"] = draw(bad_id)
    return frame(json.dumps(body), headers) if kind is None else json.dumps(body).encode(), kind


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawServer]:
    server = RawServer(tmp_path_factory.mktemp("fuzz"))
    try:
        assert "result" in server.initialize()
        yield server
    finally:
        server.close()


_ids = itertools.count(1)
#: Responses per id over the whole module (ids are never reused), so late duplicates show up.
_counts: Counter = Counter()


def _wait_for(server: RawServer, wanted: set[Any]) -> None:
    while wanted:
        try:
            msg = server.recv(timeout=30)
        except queue.Empty:
            pytest.fail(f"no response for {sorted(map(str, wanted))} within 30 s")
        if "method" not in msg:
            _counts[json.dumps(msg.get("id"))] += 1
            wanted.discard(msg.get("id"))


@FUZZ
@given(batch=st.lists(message(), min_size=1, max_size=5))
def test_every_request_answered_exactly_once(fuzz_server: RawServer, batch: list[tuple[bytes, str | None]]) -> None:
    server = fuzz_server
    expected: set[Any] = set()
    for data, kind in batch:
        if kind is not None:
            n = next(_ids)
            msg_id: Any = n if kind == "int" else f"fuzz-{n}"
            expected.add(msg_id)
            data = frame(data.replace(b'"@ID@"', json.dumps(msg_id).encode()))
        server.send_bytes(data)
    sentinel = f"sentinel-{next(_ids)}"
    server.request("lfcode/ping", {}, msg_id=sentinel)
    expected.add(sentinel)
    _wait_for(server, expected)
    assert server.proc.poll() is None, server.stderr()[-2000:]
    duplicates = {k: v for k, v in _counts.items() if v > 1 and k != "null"}
    assert not duplicates, duplicates


def test_no_tracebacks_or_duplicates_left(fuzz_server: RawServer) -> None:
    """After the fuzzing: still serving, and late answers did not duplicate earlier ones."""
    answer = fuzz_server.call("lfcode/ping", {}, msg_id="final")
    assert answer["error"]["code"] == -32601
    assert "MemoryError" not in fuzz_server.stderr()
    assert not {k: v for k, v in _counts.items() if v > 1 and k != "null"}
