"""Model backends behind one protocol (:class:`~lfcode.backends.base.Backend`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lfcode.backends.base import Backend, BackendError, Capabilities, ChatMessage, FimTokens, GenerationRequest

if TYPE_CHECKING:
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
    "where_code_goes",
]


def model_path(settings: Settings) -> Path:
    """The GGUF file ``settings.model`` names: the verified embedded model, a model of Ollama,
    LM Studio or the Hugging Face cache (``ollama:NAME[:TAG]``, ``lmstudio:...``, ``hf:...``), or
    a path (``~`` expanded); see :func:`lfcode.models.references.resolve_model`.

    Raises:
        BackendError: the reference or path names no file (the message lists the closest
            matches), or the embedded model cannot be assembled or verified.
    """
    from lfcode.models.references import resolve_model

    return resolve_model(settings.model)


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


def where_code_goes(settings: Settings) -> str:
    """Where the prompts of ``settings``' backend go, in a few words for status bars:
    ``"in process"`` (llama-cpp), ``"in process (fake backend)"``, ``"loopback HOST:PORT"`` or
    ``"remote HOST"`` (the ``openai`` backend, by :func:`remote_host`). Never raises."""
    if settings.backend != "openai":
        return "in process" if settings.backend == "llama-cpp" else f"in process ({settings.backend} backend)"
    host = remote_host(settings)
    if host:
        return f"remote {host}"
    from urllib.parse import urlparse

    return f"loopback {urlparse(settings.openai_url).netloc or settings.openai_url}"


def make_backend(settings: Settings) -> Backend:
    """Build the backend ``settings.backend`` names (see :data:`~lfcode.backends.registry.REGISTRY`),
    loading its model now (can take seconds). With ``settings.audit_log`` on, the backend comes
    wrapped in an :class:`lfcode.audit.AuditedBackend` that records every model call (the model
    file is hashed now, once per process, unless it is the embedded model with its pinned hash).

    Raises:
        BackendError: with a message for the user (missing or corrupt model, bad script, unknown
            backend name, an audit log that cannot be opened, ...).
    """
    from lfcode.backends.registry import REGISTRY

    entry = REGISTRY.get(settings.backend)
    if entry is None:
        raise BackendError(f"unknown backend {settings.backend!r}; known backends: {', '.join(REGISTRY)}")
    backend = entry.factory(settings)
    if not settings.audit_log:
        return backend
    from lfcode.audit.backend import AuditedBackend

    try:
        return AuditedBackend.wrap(backend, settings)
    except BaseException:
        backend.close()
        raise
