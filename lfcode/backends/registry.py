"""The backend registry: one entry per value of the ``backend`` setting.

Adding a backend means one new module (a class following :class:`~lfcode.backends.base.Backend`)
plus one :func:`register` call below. :func:`lfcode.backends.make_backend` looks the name up
here, :data:`lfcode.session.RELOAD_KEYS` is built from the entries' ``reload_keys``, and a unit
test checks that the ``Settings.backend`` choices equal :data:`REGISTRY`'s keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings imports nothing from here; keep it that way at run time
    from lfcode.backends.base import Backend
    from lfcode.settings import Settings


@dataclass(frozen=True)
class BackendEntry:
    """How to build one backend.

    Attributes:
        name: the ``backend`` setting's value.
        factory: builds the backend from settings, loading its model (can take seconds); raises
            :class:`~lfcode.errors.BackendError` with a message for the user.
        reload_keys: the settings the factory reads; changing one reloads the model.
    """

    name: str
    factory: Callable[[Settings], Backend]
    reload_keys: tuple[str, ...]


#: Every backend by name, in the order the settings list them.
REGISTRY: dict[str, BackendEntry] = {}


def register(entry: BackendEntry) -> BackendEntry:
    """Add ``entry`` to :data:`REGISTRY` (a later entry with the same name replaces it) and return it."""
    REGISTRY[entry.name] = entry
    return entry


def reload_keys() -> tuple[str, ...]:
    """``"backend"`` and ``"audit_log"`` (:func:`lfcode.backends.make_backend` reads both for
    every backend), then every entry's ``reload_keys``, each once, in registry order."""
    keys = ["backend", "audit_log"]
    for entry in REGISTRY.values():
        keys.extend(k for k in entry.reload_keys if k not in keys)
    return tuple(keys)


def _llama_cpp(settings: Settings) -> Backend:
    from lfcode.backends import model_path
    from lfcode.backends.llama_cpp import LlamaCppBackend

    return LlamaCppBackend(
        model_path(settings), n_ctx=settings.n_ctx, n_threads=settings.resolved_threads(),
        n_threads_batch=settings.resolved_batch_threads(),
    )


def _llama_server(settings: Settings) -> Backend:
    from lfcode.backends.llama_server import LlamaServerBackend

    return LlamaServerBackend(settings.server_url, allow_remote=settings.allow_remote, n_ctx=settings.n_ctx)


def _openai(settings: Settings) -> Backend:
    from lfcode.backends.openai_http import OpenAIBackend

    return OpenAIBackend(settings.server_url, allow_remote=settings.allow_remote, n_ctx=settings.n_ctx)


def _fake(settings: Settings) -> Backend:
    from lfcode.backends.fake import FakeBackend

    if settings.fake_script:
        return FakeBackend.from_file(settings.fake_script, settings.fake_record)
    return FakeBackend(record=settings.fake_record)


# completion_model and chat_model choose the model of each role (make_backend(settings, role)).
register(BackendEntry("llama-cpp", _llama_cpp, ("model", "completion_model", "chat_model", "n_ctx", "n_threads")))
register(BackendEntry("llama-server", _llama_server, ("server_url", "allow_remote", "n_ctx")))
register(BackendEntry("openai", _openai, ("server_url", "allow_remote", "n_ctx")))
# fake_record is read too but, as before the registry, changing it alone does not reload.
register(BackendEntry("fake", _fake, ("fake_script",)))
