"""Token probabilities (``GenerationRequest.on_token``): llama.cpp on a tiny GGUF computes them
(checked against the logits), the fake backend replays scripted ones, the HTTP backend passes on
a server's ``logprobs``; and JSON under a schema never holds a raw control character."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from lfcode.backends.base import BackendError, ChatMessage, GenerationRequest
from lfcode.backends.fake import FakeBackend
from lfcode.backends.llama_cpp import LlamaCppBackend
from lfcode.backends.openai_http import OpenAIBackend, token_logprobs
from tests.tinygguf import write_tiny_gguf


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    path = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", family="starcoder")
    return LlamaCppBackend(path, n_ctx=256, n_threads=1)


def generate(backend, request: GenerationRequest) -> tuple[str, list[tuple[str, float]]]:
    pieces: list[tuple[str, float]] = []
    request = request.model_copy(update={"on_token": lambda text, p: pieces.append((text, p))})
    return "".join(backend.complete(request, threading.Event())), pieces


def last_logits(backend: LlamaCppBackend, prompt: str) -> np.ndarray:
    """The model's logits for the token after ``prompt``, computed afresh."""
    import llama_cpp

    llm = backend._llm
    llm.reset()
    llm.eval(llm.tokenize(prompt.encode(), add_bos=True, special=True))
    logits = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
    return np.ctypeslib.as_array(logits, shape=(llm.n_vocab(),)).astype(np.float64)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def test_llama_cpp_reports_each_tokens_probability_without_a_schema(tiny: LlamaCppBackend) -> None:
    text, pieces = generate(tiny, GenerationRequest(prompt="def f", max_tokens=6))
    assert len(pieces) == 6 and "".join(p for p, _ in pieces).startswith(text)
    assert all(0.0 < p <= 1.0 for _, p in pieces)
    # Greedy: the first token is the most likely one, and its probability is the softmax's top.
    assert pieces[0][1] == pytest.approx(softmax(last_logits(tiny, "def f")).max(), rel=1e-4)


def test_llama_cpp_reports_probabilities_among_the_tokens_the_grammar_accepts(tiny: LlamaCppBackend) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "ok": {"type": "boolean"}},
              "required": ["n", "ok"]}
    text, pieces = generate(tiny, GenerationRequest(prompt="answer: ", max_tokens=40, json_schema=schema))
    assert isinstance(json.loads(text)["ok"], bool)
    assert "".join(p for p, _ in pieces)[: len(text)] == text
    assert all(0.0 < p <= 1.0 for _, p in pieces)
    # The grammar forces "{" first; the vocabulary has two tokens for it (the character and its
    # byte), so its probability is the winner's share of those two, not of the whole vocabulary.
    llm = tiny._llm
    brace = [i for i in range(llm.n_vocab()) if llm.detokenize([i]) == b"{"]
    assert len(brace) == 2
    logits = last_logits(tiny, "answer: ")
    share = softmax(logits[brace]).max()
    assert pieces[0] == ("{", pytest.approx(share, rel=1e-4))
    assert softmax(logits)[brace].max() < share / 10  # unnormalised, it would be far lower
    # Without on_token the same answer comes out (probabilities change nothing).
    plain = "".join(tiny.complete(GenerationRequest(prompt="answer: ", max_tokens=40, json_schema=schema), threading.Event()))
    assert plain == text


def test_json_strings_never_hold_raw_control_characters(tiny: LlamaCppBackend) -> None:
    schema = {"type": "array", "items": {"type": "string", "maxLength": 30}, "maxItems": 3}
    for seed in range(8):
        request = GenerationRequest(prompt="say: ", max_tokens=60, json_schema=schema, temperature=1.5, seed=seed)
        text = "".join(tiny.complete(request, threading.Event()))
        if text.rstrip().endswith("]"):
            json.loads(text)  # strict: a raw newline or tab inside a string would fail here
        assert not any(ord(c) < 0x20 for s in _strings(text) for c in s), repr(text)
        greedy = "".join(tiny.complete(request.model_copy(update={"temperature": 0.0}), threading.Event()))
        assert not any(ord(c) < 0x20 for s in _strings(greedy) for c in s), repr(greedy)


def _strings(text: str) -> list[str]:
    """The raw contents of the JSON strings in ``text`` (escapes left as written)."""
    out, inside, current, escaped = [], False, "", False
    for c in text:
        if inside and escaped:
            current, escaped = current + c, False
        elif inside and c == "\\":
            current, escaped = current + c, True
        elif c == '"':
            if inside:
                out.append(current)
            inside, current = not inside, ""
        elif inside:
            current += c
    return out + ([current] if inside else [])


def test_the_fake_backend_replays_scripted_probabilities(tmp_path: Path) -> None:
    pairs = [["[", 0.9], ["]", 0.25]]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"responses": [pairs, "[ ]"], "probability": 0.5, "default": "x"}))
    fake = FakeBackend.from_file(script)
    assert generate(fake, GenerationRequest(prompt="p")) == ("[]", [("[", 0.9), ("]", 0.25)])
    assert generate(fake, GenerationRequest(prompt="p")) == ("[ ]", [("[", 0.5), (" ", 0.5), ("]", 0.5)])
    assert generate(FakeBackend(["a b"]), GenerationRequest(prompt="p")) == ("a b", [])
    script.write_text(json.dumps({"responses": [[["[", 1.5]]]}))
    with pytest.raises(BackendError, match="outside 0-1"):
        FakeBackend.from_file(script)


class _LogprobHandler(BaseHTTPRequestHandler):
    bodies: list[dict] = []

    def log_message(self, *_args) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        chunks = []
        for token, logprob in (("[", -0.1), ("]", -2.0)):
            if "chat" in self.path:
                choice = {"delta": {"content": token}, "logprobs": {"content": [{"token": token, "logprob": logprob}]}}
            else:
                choice = {"text": token, "logprobs": {"tokens": [token], "token_logprobs": [logprob]}}
            chunks.append(f"data: {json.dumps({'choices': [choice if body.get('logprobs') else {'text': token}]})}\n\n")
        data = ("".join(chunks) + "data: [DONE]\n\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def logprob_server() -> Iterator[str]:
    _LogprobHandler.bodies = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _LogprobHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_the_http_backend_passes_on_the_servers_logprobs(logprob_server: str) -> None:
    backend = OpenAIBackend(logprob_server)
    try:
        text, pieces = generate(backend, GenerationRequest(prompt="x"))
        assert text == "[]" and pieces == [("[", pytest.approx(math.exp(-0.1))), ("]", pytest.approx(math.exp(-2.0)))]
        pieces = []
        request = GenerationRequest(prompt="", on_token=lambda t, p: pieces.append((t, p)))
        assert "".join(backend.chat([ChatMessage(role="user", content="hi")], request, threading.Event())) == "[]"
        assert [t for t, _ in pieces] == ["[", "]"] and pieces[1][1] == pytest.approx(math.exp(-2.0))
        assert "".join(backend.complete(GenerationRequest(prompt="x"), threading.Event())) == "[]"
    finally:
        backend.close()
    assert [b.get("logprobs") for b in _LogprobHandler.bodies] == [1, True, None]


def test_token_logprobs_reads_both_shapes_and_ignores_the_rest() -> None:
    assert token_logprobs({"logprobs": {"content": [{"token": "a", "logprob": -1}, {"token": "b"}]}}) == [("a", -1.0)]
    assert token_logprobs({"logprobs": {"tokens": ["a", "b"], "token_logprobs": [None, -0.5]}}) == [("b", -0.5)]
    assert token_logprobs({"text": "a"}) == [] and token_logprobs({"logprobs": None}) == []
