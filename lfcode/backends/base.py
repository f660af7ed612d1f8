"""The one backend protocol every model implementation follows.

A backend turns a prompt into a stream of text pieces. It never blocks the event loop itself:
callers run :meth:`Backend.complete` and :meth:`Backend.chat` in a worker thread, and stop a
running generation by setting the :class:`threading.Event` they passed in. Implementations check
that flag after every generated token.
"""

from __future__ import annotations

from collections.abc import Iterator
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


class GenerationRequest(BaseModel):
    """One generation.

    ``max_tokens`` counts model tokens; ``temperature`` 0 means greedy; ``stop`` strings end the
    output (not included); ``json_schema`` (a JSON Schema dict) constrains the output so that it
    always parses as an instance of it (llama.cpp turns it into a GBNF grammar); ``seed`` makes
    sampling repeatable.
    """

    prompt: str
    max_tokens: int = 64
    temperature: float = 0.0
    stop: list[str] = Field(default_factory=list)
    json_schema: dict | None = None
    seed: int | None = None


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


def count_tokens(backend: Backend, text: str) -> int:
    """Number of model tokens in ``text`` (0 for an empty string)."""
    return len(backend.tokenize(text)) if text else 0
