"""The one backend protocol every model implementation follows.

A backend turns a prompt into a stream of text pieces. It never blocks the event loop itself:
callers run :meth:`Backend.complete` and :meth:`Backend.chat` in a worker thread, and stop a
running generation by setting the :class:`threading.Event` they passed in. Implementations check
that flag after every generated token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from lfcode.errors import BackendError  # noqa: F401 - re-exported (its historical home)
from lfcode.errors import CancelToken


class FimTokens(BaseModel):
    """Fill-in-the-middle special tokens found in a model's vocabulary.

    ``family`` names the convention (``codellama``, ``starcoder``, ``deepseek``, ``qwen``,
    ``codegemma``, ``codestral``); ``prefix``/``suffix``/``middle`` are the literal token texts and
    ``stop`` the texts that end a FIM answer (end-of-text, file separators).
    """

    model_config = ConfigDict(frozen=True)

    family: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...] = ()
    suffix_first: bool = False
    file_sep: str | None = None
    repo_name: str | None = None


class Capabilities(BaseModel):
    """What a loaded model can do.

    ``n_ctx`` is the context window in tokens; ``fim`` is ``None`` for a model without FIM tokens;
    ``chat_template`` tells whether the GGUF carries a Jinja chat template.
    """

    model_config = ConfigDict(frozen=True)

    name: str = "unknown"
    n_ctx: int = 2048
    fim: FimTokens | None = None
    chat_template: bool = False
    grammar: bool = False
    eos: tuple[str, ...] = Field(default_factory=tuple)


class Infill(BaseModel):
    """A FIM request in parts, for a server that lays out the FIM prompt itself with its own
    model's tokens (llama-server's ``POST /infill``, ``tools/server/README.md``).

    ``prefix``/``suffix`` are the code before and after the cursor (the parts of it the prompt
    budget kept); ``extra`` the context chunks as ``(file name, text)`` pairs, put before the FIM
    prefix (with the repo-level file separators of models that have them).
    """

    model_config = ConfigDict(frozen=True)

    prefix: str
    suffix: str
    extra: tuple[tuple[str, str], ...] = ()

    def started(self, start: str) -> Infill:
        """The same request with ``start`` (a forced beginning of the answer) ending the prefix."""
        return self.model_copy(update={"prefix": self.prefix + start}) if start else self


#: ``on_token(text, probability)``, the receiver of :attr:`GenerationRequest.on_token`.
TokenCallback = Callable[[str, float], None]


class GenerationRequest(BaseModel):
    """One generation.

    ``max_tokens`` counts model tokens; ``temperature`` 0 means greedy; ``stop`` strings end the
    output (not included); ``json_schema`` (a JSON Schema dict) constrains the output so that it
    always parses as an instance of it (llama.cpp turns it into a GBNF grammar); ``seed`` makes
    sampling repeatable.

    ``on_token`` asks for the model's own token probabilities. A backend that has them calls
    ``on_token(text, probability)`` once per generated token, in order, before that token's text
    is yielded. ``text`` is the token's decoded text (``""`` for a token that ends inside a UTF-8
    character: its bytes come out with the next one), so the texts put together spell the
    generated text, possibly running on past a stop string (which is cut from what is yielded).
    ``probability`` (0-1) is the probability the model gave that token at that step, normalised
    over the tokens the step allowed: under ``json_schema``, the tokens the grammar accepts;
    otherwise the whole vocabulary, before temperature and top-k/top-p (an HTTP backend passes
    on the server's own ``exp(logprob)``). A backend that cannot tell (an HTTP server that returns no ``logprobs``, or llama.cpp sampling at a temperature
    above 0 under a grammar) never calls it, and callers must read that as "unknown". The
    callback is not part of a serialised request.

    ``infill`` carries the same FIM prompt in parts (:class:`Infill`): a backend whose server
    formats FIM prompts itself sends those instead of ``prompt`` (llama-server's ``/infill``);
    every other backend ignores it. Set by inline completion when the prompt is a FIM one.

    ``feature`` names the lfcode feature asking (``"completion"``, ``"explain"``, ``"testgen"``,
    ``"review"``; ``None`` when unknown). Backends ignore it; the audit log
    (:mod:`lfcode.audit`) records it.
    """

    prompt: str
    max_tokens: int = 64
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=list)
    json_schema: dict | None = None
    seed: int | None = None
    on_token: TokenCallback | None = Field(default=None, exclude=True)
    infill: Infill | None = None
    feature: str | None = None


class ChatMessage(BaseModel):
    """One chat turn: ``role`` is ``system``, ``user`` or ``assistant``."""

    role: str
    content: str


@runtime_checkable
class Backend(Protocol):
    """A model that completes text.

    Methods may raise :class:`BackendError`. ``complete`` and ``chat`` yield text pieces as they are
    decoded and return early, within one token, once ``cancel`` is set.
    """

    @property
    def capabilities(self) -> Capabilities: ...

    def tokenize(self, text: str) -> list[int]:
        """Return the model's token ids for ``text`` (no BOS)."""
        ...

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """Stream the continuation of ``request.prompt``."""
        ...

    def chat(
        self,
        messages: list[ChatMessage],
        request: GenerationRequest,
        cancel: CancelToken,
    ) -> Iterator[str]:
        """Stream an assistant answer; ``request.prompt`` is ignored."""
        ...

    def close(self) -> None:
        """Free the model."""
        ...


class UnavailableBackend:
    """A :class:`Backend` standing in for a model that could not be loaded: every method raises
    :class:`BackendError` with the load failure's ``message``, so a feature that can work
    without the model (review's deterministic analyzers) runs, and one that needs it says why
    it cannot."""

    def __init__(self, message: str) -> None:
        self.message = message

    @property
    def capabilities(self) -> Capabilities:
        raise BackendError(self.message)

    def tokenize(self, text: str) -> list[int]:
        raise BackendError(self.message)

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        raise BackendError(self.message)

    def chat(self, messages: list[ChatMessage], request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        raise BackendError(self.message)

    def close(self) -> None:
        """Nothing to free."""


def count_tokens(backend: Backend, text: str) -> int:
    """Number of model tokens in ``text`` (0 for an empty string)."""
    return len(backend.tokenize(text)) if text else 0
