"""Helpers every feature uses to call a model: one whole generation, and a text fitted to a token budget.

Explain, test generation and review build their prompts differently but run them the same way;
:func:`generate_text` is that way (with the one cancellation model: a
:data:`lfcode.errors.CancelToken` in, :class:`lfcode.errors.Cancelled` out).
"""

from __future__ import annotations

from collections.abc import Callable

from lfcode.backends.base import Backend, ChatMessage, GenerationRequest
from lfcode.context.budget import fit_head
from lfcode.errors import CancelToken, raise_if_cancelled


def generate_text(
    backend: Backend,
    prompt: str | list[ChatMessage],
    request: GenerationRequest,
    cancel: CancelToken,
    enough: Callable[[str], bool] | None = None,
) -> str:
    """Run one generation to the end and return its text.

    ``prompt`` is a completion prompt, or chat messages for :meth:`Backend.chat`; ``enough``
    (optional) is checked after every piece and ends the generation early when it returns True.

    Raises:
        Cancelled: ``cancel`` was set.
        BackendError: the model failed, or the audit log could not record the call.
    """
    if isinstance(prompt, str):
        stream = backend.complete(request.model_copy(update={"prompt": prompt}), cancel)
    else:
        stream = backend.chat(prompt, request, cancel)
    text = ""
    try:
        for piece in stream:
            text += piece
            if enough is not None and enough(text):
                break
    finally:
        # Closed here, not by the garbage collector: an error raised on closing (the audit log
        # could not record the call, lfcode.audit) must reach the caller instead of the text.
        close = getattr(stream, "close", None)
        if close is not None:
            close()
    raise_if_cancelled(cancel)
    return text


def fit(backend: Backend, text: str, budget: int) -> str:
    """``text`` cut to at most ``budget`` model tokens, keeping whole lines from the start
    (:func:`lfcode.context.budget.fit_head`, by binary search with the backend's tokenizer).

    A cut text ends with a ``...`` line. Raises :class:`BackendError` if tokenizing fails.
    """
    return fit_head(backend.tokenize, text, budget)
