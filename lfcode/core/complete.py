"""Inline completion: prefix/suffix at a position → prompt → model → cleaned suggestions.

Pure and synchronous; shared by ``lfcode complete`` and the LSP server (which runs it in a
worker thread). Offsets are Python ``str`` indices (code points); converting from LSP's UTF-16
positions happens in the LSP layer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from lfcode.backends.base import Backend, GenerationRequest
from lfcode.core.prompt import build_prompt
from lfcode.core.stopping import CompletionShape, shape_at, trim_completion

#: Temperatures used for the extra, sampled items of an explicitly invoked completion.
SAMPLED_TEMPERATURE = 0.7


@dataclass
class CompletionInput:
    """A document and a cursor.

    ``offset`` is a code-point index into ``text``; ``path`` is used only for the prompt header and
    language detection; ``language_id`` is the LSP language identifier (may be empty).
    """

    text: str
    offset: int
    path: str = ""
    language_id: str = ""

    @property
    def prefix(self) -> str:
        return self.text[: self.offset]

    @property
    def suffix(self) -> str:
        return self.text[self.offset :]


@dataclass
class CompletionOptions:
    """``n`` suggestions wanted (1 greedy, the rest sampled); token limits are model tokens."""

    n: int = 1
    max_tokens: int = 128
    temperature: float = 0.0
    context_tokens: int = 1024
    fim_template: str | None = None
    seed: int = 0


@dataclass
class CompletionResult:
    """``items`` are distinct, non-blank insert texts, best first; ``shape`` tells how they were cut."""

    items: list[str] = field(default_factory=list)
    shape: CompletionShape | None = None
    prompt_tokens: int = 0
    cancelled: bool = False


def generate_one(
    backend: Backend,
    request: GenerationRequest,
    shape: CompletionShape,
    cancel: threading.Event,
) -> str:
    """Stream one generation and stop it as soon as ``shape`` says the suggestion is complete.

    Returns the raw text produced (possibly cut mid-line; :func:`trim_completion` cleans it).
    """
    text = ""
    stream = backend.complete(request, cancel)
    try:
        for piece in stream:
            text += piece
            if shape.is_finished(text):
                break
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    return text


def complete(
    backend: Backend,
    source: CompletionInput,
    options: CompletionOptions | None = None,
    cancel: threading.Event | None = None,
) -> CompletionResult:
    """Suggest up to ``options.n`` completions at ``source.offset``.

    Raises:
        BackendError: the model failed (the caller turns it into a message and an empty result).
    """
    options = options or CompletionOptions()
    cancel = cancel or threading.Event()
    prefix, suffix = source.prefix, source.suffix
    shape = shape_at(prefix, suffix)
    prompt = build_prompt(backend, prefix, suffix, options.context_tokens, options.fim_template, source.path)
    stops = list(prompt.stop) + shape.stop_strings()
    result = CompletionResult(shape=shape, prompt_tokens=prompt.tokens)
    seen: set[str] = set()
    for index in range(max(1, options.n)):
        if cancel.is_set():
            result.cancelled = True
            break
        temperature = options.temperature if index == 0 else max(options.temperature, SAMPLED_TEMPERATURE)
        request = GenerationRequest(
            prompt=prompt.text,
            max_tokens=min(options.max_tokens, shape.max_tokens),
            temperature=temperature,
            stop=stops,
            seed=options.seed + index,
        )
        raw = generate_one(backend, request, shape, cancel)
        if cancel.is_set():
            result.cancelled = True
            break
        item = trim_completion(raw, prefix, suffix, shape)
        if item and item not in seen:
            seen.add(item)
            result.items.append(item)
    return result
