"""Model backends behind one protocol (:class:`~lfcode.backends.base.Backend`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
    "HTTP_BACKENDS",
    "Role",
    "make_backend",
    "make_chat_backend",
    "model_path",
    "remote_host",
    "roles_share_backend",
    "where_code_goes",
]

#: :func:`make_chat_backend`'s message when the model both roles share failed to load.
SHARED_MODEL_FAILED = "the model failed to load"

#: The roles a model serves: ``completion`` (inline completion) and ``chat`` (explain, tests, review).
Role = Literal["completion", "chat"]


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


#: The backends that send prompts to a server at ``server_url``.
HTTP_BACKENDS = ("llama-server", "openai")


def remote_host(settings: Settings) -> str | None:
    """The host code is sent to when an HTTP backend (:data:`HTTP_BACKENDS`) points off this
    machine, else ``None``.

    Only the user's own settings can make this non-``None`` (``server_url`` and ``allow_remote``
    are machine-level keys); callers show it so that the user always knows.
    """
    if settings.backend not in HTTP_BACKENDS:
        return None
    from urllib.parse import urlparse

    from lfcode.backends.openai_http import is_loopback_url

    return None if is_loopback_url(settings.server_url) else (urlparse(settings.server_url).hostname or settings.server_url)


def where_code_goes(settings: Settings) -> str:
    """Where the prompts of ``settings``' backend go, in a few words for status bars:
    ``"in process"`` (llama-cpp), ``"in process (fake backend)"``, ``"loopback HOST:PORT"`` or
    ``"remote HOST"`` (an HTTP backend, by :func:`remote_host`). Never raises."""
    if settings.backend not in HTTP_BACKENDS:
        return "in process" if settings.backend == "llama-cpp" else f"in process ({settings.backend} backend)"
    host = remote_host(settings)
    if host:
        return f"remote {host}"
    from urllib.parse import urlparse

    return f"loopback {urlparse(settings.server_url).netloc or settings.server_url}"


def roles_share_backend(settings: Settings) -> bool:
    """Whether one backend serves both roles: the roles name the same model, the backend loads
    no model file (``llama-server``, ``openai``, ``fake``: ``model`` is not among its registry ``reload_keys``), or
    both references resolve to the same file (may assemble the embedded model: call it off the
    event loop). A reference that does not resolve counts as different, so that loading it
    reports the error.
    """
    from lfcode.backends.registry import REGISTRY

    if settings.model_for("completion") == settings.model_for("chat"):
        return True
    entry = REGISTRY.get(settings.backend)
    if entry is None or "model" not in entry.reload_keys:
        return True
    try:
        return model_path(settings.for_role("completion")).resolve() == model_path(settings.for_role("chat")).resolve()
    except BackendError:
        return False


def make_chat_backend(
    settings: Settings,
    completion: Backend | None,
    factory: Callable[[Settings], Backend] | None = None,
) -> Backend:
    """The backend for explain, tests and review, given the loaded ``completion`` one.

    Returns ``completion`` itself when :func:`roles_share_backend` (no second load); else, for the
    llama-cpp backend, checks that the chat model fits in free memory next to the completion
    model (:func:`lfcode.backends.memory.check_second_model`) and builds it with ``factory``
    (default :func:`make_backend`) called on ``settings.for_role("chat")``. Blocking (seconds).

    Raises:
        BackendError: the completion model is shared but failed to load (``completion`` is
            ``None``), the chat model would not fit in memory, or it cannot be loaded.
    """
    if roles_share_backend(settings):
        if completion is None:
            raise BackendError(SHARED_MODEL_FAILED)
        return completion
    chat = settings.for_role("chat")
    if settings.backend == "llama-cpp" and completion is not None:
        from lfcode.backends.memory import check_second_model

        check_second_model(model_path(chat), model_path(settings.for_role("completion")), settings.n_ctx,
                           settings.model_for("chat"), settings.model_for("completion"))
    return (factory or make_backend)(chat)


def make_backend(settings: Settings, role: Role = "completion") -> Backend:
    """Build the backend ``settings.backend`` names (see :data:`~lfcode.backends.registry.REGISTRY`)
    for ``role``, loading the role's model (:meth:`~lfcode.settings.Settings.model_for`) now (can
    take seconds); the default role, ``completion``, reads ``completion_model`` else ``model``.
    Loading the other role's model too is :func:`make_chat_backend`'s job (it shares one backend
    when both roles name the same file). With ``settings.audit_log`` on, the backend comes
    wrapped in an :class:`lfcode.audit.AuditedBackend` that records every model call (the model
    file is hashed now, once per process, unless it is the embedded model with its pinned hash).

    Raises:
        BackendError: with a message for the user (missing or corrupt model, bad script, unknown
            backend name, an audit log that cannot be opened, ...).
    """
    from lfcode.backends.registry import REGISTRY

    settings = settings.for_role(role)
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
