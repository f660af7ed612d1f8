"""The in-process backend: a GGUF model run by llama.cpp through llama-cpp-python.

One ``Llama`` instance serves every request, one at a time, behind a lock. A prompt is first
evaluated in chunks of :data:`PREFILL_CHUNK` tokens after the longest prefix the KV cache already
holds (the cancel flag is checked between chunks, so a prefill never holds the model for long),
then decoded token by token over ``Llama.generate``, checking the cancel flag after every token.
:meth:`LlamaCppBackend.prefill` evaluates a prompt ahead of a request (llama.vim's ring-buffer
prefill and llama-server's ``cache_prompt`` rely on the same prefix reuse).

llama.cpp's own log lines go to the ``lfcode.llama`` logger at DEBUG level, never straight to
the terminal.
"""

from __future__ import annotations

import codecs
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lfcode.backends.base import BackendError, Capabilities, ChatMessage, GenerationRequest
from lfcode.errors import CancelToken

log = logging.getLogger(__name__)
llama_log = logging.getLogger("lfcode.llama")

GGUF_MAGIC = b"GGUF"
#: Tokens evaluated per ``llama_decode`` call when filling the KV cache; the cancel flag is
#: checked between chunks.
PREFILL_CHUNK = 64
#: llama.cpp's batch (and micro-batch) size, tokens.
PREFILL_BATCH = 128
_log_callback = None


def _partial_stop(text: str, stops: list[str]) -> int:
    """Length of the longest end of ``text`` that begins one of ``stops`` (0 when none does)."""
    longest = 0
    for stop in stops:
        for size in range(min(len(stop) - 1, len(text)), longest, -1):
            if text.endswith(stop[:size]):
                longest = size
                break
    return longest


#: Bump when :func:`lfcode.backends.fim.vocab_from_llama` changes what it returns.
SPECIAL_VOCAB_VERSION = 1


def special_vocab(llm: Any, model_path: Path) -> dict[str, int]:
    """:func:`lfcode.backends.fim.vocab_from_llama` of ``llm``, cached for the models lfcode keeps
    in its own cache folder (the embedded one): the scan reads 262k token attributes, about
    0.1 s of the cold start. The cache is a JSON file beside the model, valid for the model
    file's size and modification time; any other model path is scanned every time, and nothing
    is written next to it. A cache that cannot be read or written is ignored.
    """
    from lfcode.backends.embedded import cache_dir
    from lfcode.backends.fim import vocab_from_llama

    try:
        ours = model_path.resolve().parent == (cache_dir() / "models").resolve()
        stat = model_path.stat()
    except OSError:
        ours = False
    if not ours:
        return vocab_from_llama(llm)
    key = f"{SPECIAL_VOCAB_VERSION}:{stat.st_size}:{stat.st_mtime_ns}"
    cache = model_path.with_name(model_path.name + ".special-vocab.json")
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return {str(text): int(tid) for text, tid in data["vocab"].items()}
    except (OSError, ValueError, AttributeError, TypeError, KeyError):
        pass
    vocab = vocab_from_llama(llm)
    partial = cache.with_name(f".{cache.name}.{os.getpid()}.part")
    try:
        partial.write_text(json.dumps({"key": key, "vocab": vocab}), encoding="utf-8")
        os.replace(partial, cache)
    except OSError as exc:
        log.debug("special vocabulary not cached: %s", exc)
        partial.unlink(missing_ok=True)
    return vocab


def _free_sampler(llm: Any) -> None:
    """Free the sampler chain ``Llama.generate`` left on ``llm`` (llama-cpp-python 0.3.x).

    Each ``generate`` call builds a new chain whose C side holds a vocabulary-sized candidate
    buffer (262,144 × 12 bytes = 3 MiB for Gemma 3), and the Python wrapper sits in a reference
    cycle, so without this it is only freed by an occasional full garbage collection: measured,
    the server's RSS grew about 2 MiB per completion request (50 MiB over 25 requests).
    """
    sampler = getattr(llm, "_sampler", None)
    if sampler is not None:
        sampler.close()
        llm._sampler = None


def _softmax_at(llm: Any, llama_cpp: Any, token: int) -> float:
    """The probability (0-1) of ``token`` in the softmax of the context's last logits (the
    model's distribution over the whole vocabulary, before temperature and truncation)."""
    import numpy as np

    logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1), shape=(llm.n_vocab(),))
    shifted = np.exp(logits.astype(np.float64) - float(logits.max()))
    return float(shifted[token] / shifted.sum())


def _route_llama_logs(llama_cpp) -> None:
    """Send llama.cpp's log lines to :data:`llama_log` (DEBUG) instead of stderr; once."""
    global _log_callback
    if _log_callback is not None:
        return
    import ctypes

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if llama_log.isEnabledFor(logging.DEBUG):
            llama_log.debug("%s", (text or b"").decode("utf-8", "replace").rstrip("\n"))

    _log_callback = callback  # keep the C callback alive
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))


def check_gguf_file(path: Path) -> None:
    """Fail early, with a message a user understands, for a path that cannot be a GGUF model.

    Raises:
        BackendError: missing file, a directory, unreadable, or not starting with the GGUF magic.
    """
    if not path.exists():
        raise BackendError(f"model file not found: {path}")
    if not path.is_file():
        raise BackendError(f"model path is not a file: {path}")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise BackendError(f"cannot read model file {path}: {exc}") from exc
    if magic != GGUF_MAGIC:
        raise BackendError(f"{path} is not a GGUF model file (bad header); is it corrupt or another format?")


class LlamaCppBackend:
    """A local GGUF model.

    Args:
        model_path: the GGUF file.
        n_ctx: context window in tokens (capped at the model's training context).
        n_threads: CPU threads for decoding (one token at a time).
        n_threads_batch: CPU threads for prompt evaluation (``n_threads`` when ``None``).

    Raises:
        BackendError: the file is missing or corrupt, or llama.cpp cannot load it.
    """

    def __init__(self, model_path: Path, n_ctx: int = 4096, n_threads: int = 1, n_threads_batch: int | None = None) -> None:
        check_gguf_file(model_path)
        try:
            import llama_cpp
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise BackendError(f"llama-cpp-python is not installed: {exc}") from exc
        self._llama_cpp = llama_cpp
        _route_llama_logs(llama_cpp)
        try:
            self._llm = llama_cpp.Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads_batch or n_threads,
                # Prompts are evaluated in PREFILL_CHUNK pieces: a 128-token batch costs no speed
                # (measured: 64-token chunks evaluate as fast as 512-token ones on 2 cores) and
                # keeps llama.cpp's compute buffer, hence the server's memory, small.
                n_batch=PREFILL_BATCH,
                n_ubatch=PREFILL_BATCH,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendError(f"llama.cpp could not load {model_path}: {exc}") from exc
        self._lock = threading.Lock()
        #: The last completion prompt: ``(tokens, tokens already cached, prefill ms)``.
        self.last_prompt: tuple[int, int, float] = (0, 0, 0.0)
        self.model_path = model_path
        self._capabilities = self._read_capabilities()

    def _read_capabilities(self) -> Capabilities:
        llm = self._llm
        metadata = dict(llm.metadata or {})
        fim = None
        try:
            from lfcode.backends.fim import detect_fim

            fim = detect_fim(special_vocab(llm, self.model_path), metadata)
        except ImportError:  # pragma: no cover - fim module is part of the package
            fim = None
        eos_id = llm.token_eos()
        eos = llm.detokenize([eos_id], special=True).decode("utf-8", "replace") if eos_id >= 0 else ""
        return Capabilities(
            name=metadata.get("general.name", self.model_path.name),
            n_ctx=llm.n_ctx(),
            fim=fim,
            chat_template="tokenizer.chat_template" in metadata,
            grammar=True,
            eos=(eos,) if eos else (),
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def tokenize(self, text: str) -> list[int]:
        return self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """Stream the continuation of ``request.prompt``; see :class:`~lfcode.backends.base.Backend`.

        ``request.on_token`` gets every token's probability: greedy under ``json_schema``, among
        the tokens the grammar accepts (:func:`lfcode.backends.grammar.decode_json`); without a
        schema, over the whole vocabulary. Sampling under a schema at a temperature above 0
        reports none.

        Raises:
            BackendError: the prompt does not fit the context window, or decoding failed.
        """
        tokens = self._llm.tokenize(request.prompt.encode("utf-8"), add_bos=True, special=True)
        room = self._llm.n_ctx() - len(tokens)
        if room <= 0:
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit n_ctx={self._llm.n_ctx()}")
        return self._decode(tokens, request, min(request.max_tokens, room), cancel)

    def prefill(self, prompt: str, cancel: CancelToken) -> int:
        """Evaluate ``prompt`` into the KV cache ahead of a request that will start with it.

        Only the tokens after the longest prefix already cached are evaluated, in chunks of
        :data:`PREFILL_CHUNK`; a set ``cancel`` stops between chunks (what was evaluated stays).
        Returns the number of prompt tokens cached afterwards.

        Raises:
            BackendError: the prompt does not fit the context window, or llama.cpp failed.
        """
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        if len(tokens) >= self._llm.n_ctx():
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit n_ctx={self._llm.n_ctx()}")
        with self._lock:
            return self._fill(tokens, cancel)

    def uncached_tokens(self, prompt: str) -> int:
        """How many tokens of ``prompt`` a completion would evaluate: its length minus the longest
        prefix the KV cache holds (tokens, at least 1). Waits for a running generation.
        """
        tokens = self._llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
        with self._lock:
            return max(1, len(tokens) - self._cached_prefix(tokens))

    def _cached_prefix(self, tokens: list[int]) -> int:
        """How many leading ``tokens`` the KV cache holds (caller holds the lock)."""
        llm = self._llm
        cached = 0
        for have, want in zip(llm.input_ids[: llm.n_tokens], tokens):
            if have != want:
                break
            cached += 1
        return cached

    def _fill(self, tokens: list[int], cancel: CancelToken) -> int:
        """Evaluate ``tokens`` after the cached prefix, chunk by chunk (caller holds the lock)."""
        llm = self._llm
        cached = self._cached_prefix(tokens)
        try:
            if cached < llm.n_tokens:
                llm.n_tokens = cached  # ``eval`` drops the cache after n_tokens first
            while llm.n_tokens < len(tokens) and not cancel.is_set():
                llm.eval(tokens[llm.n_tokens : llm.n_tokens + PREFILL_CHUNK])
        except (RuntimeError, ValueError) as exc:
            llm.reset()
            raise BackendError(f"prompt evaluation failed: {exc}") from exc
        return llm.n_tokens

    def _decode(
        self, tokens: list[int], request: GenerationRequest, max_tokens: int, cancel: CancelToken
    ) -> Iterator[str]:
        with self._lock:
            if cancel.is_set():
                return
            # The whole prompt, cancellable between chunks; ``generate`` then finds it cached and
            # samples from the logits of its last token (a prompt the cache already holds whole
            # is evaluated again from its last token, as ``generate`` does).
            began, before = time.perf_counter(), self._cached_prefix(tokens)
            if before >= len(tokens):
                before = len(tokens) - 1
                self._llm.n_tokens = before
            self._fill(tokens, cancel)
            self.last_prompt = (len(tokens), before, (time.perf_counter() - began) * 1000)
            log.debug("prompt: %d tokens, %d cached, %d evaluated in %.0f ms", len(tokens), before, len(tokens) - 1 - before, self.last_prompt[2])
            if cancel.is_set():
                return
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            text = ""
            emitted = 0
            stops = [s for s in request.stop if s]
            try:
                for piece, probability in self._token_bytes(tokens, request, max_tokens, cancel):
                    chunk = decoder.decode(piece)
                    if request.on_token is not None and probability is not None:
                        request.on_token(chunk, probability)
                    text += chunk
                    hit = min((i for i in (text.find(s) for s in stops) if i >= 0), default=-1)
                    if hit >= 0:
                        if hit > emitted:
                            yield text[emitted:hit]
                        return
                    # Hold back only a tail that is the start of a stop string (llama-server's
                    # partial stop match), so a line break goes out with its own token.
                    safe = len(text) - _partial_stop(text, stops)
                    if safe > emitted:
                        yield text[emitted:safe]
                        emitted = safe
            except (RuntimeError, ValueError) as exc:
                raise BackendError(f"generation failed: {exc}") from exc
            text += decoder.decode(b"", final=True)
            if not cancel.is_set() and len(text) > emitted:
                yield text[emitted:]

    def _token_bytes(
        self, tokens: list[int], request: GenerationRequest, max_tokens: int, cancel: CancelToken
    ) -> Iterator[tuple[bytes, float | None]]:
        """Each generated token's bytes and, when ``request.on_token`` asks for it, its
        probability (see :class:`~lfcode.backends.base.GenerationRequest`; ``None`` when not
        asked or not known); the cancel flag is checked after every token."""
        llm, llama_cpp = self._llm, self._llama_cpp
        wanted = request.on_token is not None
        if request.json_schema is not None and request.temperature <= 0:
            from lfcode.backends.grammar import PROBABILITY_TOP_K, TOP_K, decode_json

            normalise_over = PROBABILITY_TOP_K if wanted else TOP_K
            yield from decode_json(llm, tokens, request.json_schema, max_tokens, cancel, normalise_over)
            return
        grammar = None
        if request.json_schema is not None:
            from lfcode.backends.grammar import schema_grammar

            grammar = llama_cpp.LlamaGrammar.from_string(schema_grammar(request.json_schema), verbose=False)
        if request.seed is not None:
            llm.set_seed(request.seed)
        greedy = request.temperature <= 0
        vocab = llm._model.vocab
        generator = llm.generate(
            tokens,
            temp=request.temperature,
            top_k=1 if greedy else 40,
            top_p=1.0 if greedy else 0.95,
            min_p=0.0 if greedy else 0.05,
            repeat_penalty=1.0,
            grammar=grammar,
        )
        try:
            for count, token in enumerate(generator):
                if cancel.is_set() or llama_cpp.llama_vocab_is_eog(vocab, token):
                    return
                # ``generate`` evaluates a token only after handing it out, so the context's
                # last logits are still those the token was sampled from.
                probability = _softmax_at(llm, llama_cpp, token) if wanted and grammar is None else None
                yield llm.detokenize([token], special=True), probability
                if count + 1 >= max_tokens or cancel.is_set():
                    return
        finally:
            generator.close()
            _free_sampler(llm)

    def chat(
        self, messages: list[ChatMessage], request: GenerationRequest, cancel: CancelToken
    ) -> Iterator[str]:
        """Format ``messages`` with the GGUF's chat template and stream the answer.

        Raises:
            BackendError: the model has no chat template (callers use a completion prompt then).
        """
        template = (self._llm.metadata or {}).get("tokenizer.chat_template")
        if not template:
            raise BackendError("this model has no chat template")
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        llm = self._llm
        formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llm.detokenize([llm.token_eos()], special=True).decode("utf-8", "replace"),
            bos_token=llm.detokenize([llm.token_bos()], special=True).decode("utf-8", "replace"),
        )
        result = formatter(messages=[m.model_dump() for m in messages])
        stops = list(request.stop) + list(result.stop or [] if isinstance(result.stop, list) else [result.stop or ""])
        prompt = result.prompt
        tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=not prompt.startswith(formatter.bos_token or "\0"), special=True)
        room = llm.n_ctx() - len(tokens)
        if room <= 0:
            raise BackendError(f"prompt of {len(tokens)} tokens does not fit n_ctx={llm.n_ctx()}")
        chat_request = request.model_copy(update={"stop": [s for s in stops if s]})
        return self._decode(tokens, chat_request, min(request.max_tokens, room), cancel)

    def close(self) -> None:
        """Free the model's memory."""
        with self._lock:
            close = getattr(self._llm, "close", None)
            if close is not None:
                close()
