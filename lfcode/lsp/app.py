"""The factory of the lfcode language server: :func:`create_server` (no module-level instance)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lfcode.backends import Backend, make_backend
from lfcode.lsp import actions, completion, documents, explain, lifecycle, review, testgen
from lfcode.lsp.state import LfcodeServer
from lfcode.settings import Settings

#: The feature modules, each with a ``register(server)``; registration order is this order.
FEATURES = (lifecycle, documents, completion, actions, explain, testgen, review)


def create_server(
    backend_factory: Callable[[Settings], Backend] = make_backend,
    env: Mapping[str, str] | None = None,
) -> LfcodeServer:
    """A fresh server with every lfcode feature registered.

    Args:
        backend_factory: builds the model backend from settings (tests inject fakes).
        env: environment for ``LFCODE_*`` settings (defaults to ``os.environ``).
    """
    server = LfcodeServer(backend_factory, env)
    for feature in FEATURES:
        feature.register(server)
    return server
