"""Model backends behind one protocol (:class:`~lfcode.backends.base.Backend`)."""

from __future__ import annotations

from pathlib import Path

from lfcode.backends.base import Backend, BackendError, Capabilities, ChatMessage, FimTokens, GenerationRequest
from lfcode.settings import Settings

__all__ = [
    "Backend",
    "BackendError",
    "Capabilities",
    "ChatMessage",
    "FimTokens",
    "GenerationRequest",
    "make_backend",
    "model_path",
    "remote_host",
]


def model_path(settings: Settings) -> Path:
    """The GGUF file to load: the verified embedded model, or the configured path (``~`` expanded).

    Raises:
        BackendError: the embedded model cannot be assembled or verified.
    """
    if settings.model == "embedded":
        from lfcode.backends.embedded import embedded_model_path

        return embedded_model_path()
    return Path(settings.model).expanduser()


def remote_host(settings: Settings) -> str | None:
    """The host code is sent to when the ``openai`` backend points off this machine, else ``None``.

    Only the user's own settings can make this non-``None`` (``openai_url`` and ``allow_remote``
    are machine-level keys); callers show it so that the user always knows.
    """
    if settings.backend != "openai":
        return None
    from urllib.parse import urlparse

    from lfcode.backends.openai_http import is_loopback_url

    return None if is_loopback_url(settings.openai_url) else (urlparse(settings.openai_url).hostname or settings.openai_url)


def make_backend(settings: Settings) -> Backend:
    """Build the backend ``settings.backend`` names, loading its model now (can take seconds).

    Raises:
        BackendError: with a message for the user (missing or corrupt model, bad script, ...).
    """
    if settings.backend == "fake":
        from lfcode.backends.fake import FakeBackend

        if settings.fake_script:
            return FakeBackend.from_file(settings.fake_script, settings.fake_record)
        return FakeBackend(record=settings.fake_record)
    if settings.backend == "openai":
        from lfcode.backends.openai_http import OpenAIBackend

        return OpenAIBackend(settings.openai_url, allow_remote=settings.allow_remote, n_ctx=settings.n_ctx)
    from lfcode.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend(model_path(settings), n_ctx=settings.n_ctx, n_threads=settings.resolved_threads())
