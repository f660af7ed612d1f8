"""The server class: a pygls ``LanguageServer`` plus lfcode's state for one client connection.

Every attribute a handler reads is declared in :meth:`LfcodeServer.__init__`. The feature
modules (:mod:`lfcode.lsp.completion`, ...) import this class for their type annotations; the
factory that registers them lives in :mod:`lfcode.lsp.app`, so no feature module imports the
module that imports it (no import circle). There is no module-level server instance.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from lfcode import __version__
from lfcode.backends import Backend, make_backend, where_code_goes
from lfcode.lsp.framing import serve_stdio
from lfcode.lsp.protocol import LfcodeProtocol
from lfcode.session import Session
from lfcode.settings import Settings, SettingsLayers, load_settings

log = logging.getLogger(__name__)

STATUS_NOTIFICATION = "lfcode/status"


class LfcodeServer(LanguageServer):
    """A pygls server plus lfcode's state for one client connection.

    Args:
        backend_factory: builds the model backend from settings (tests inject fakes).
        env: environment for ``LFCODE_*`` settings (defaults to ``os.environ``).
    """

    def __init__(
        self,
        backend_factory: Callable[[Settings], Backend] = make_backend,
        env: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__("lfcode", __version__, protocol_cls=LfcodeProtocol)
        self.backend_factory = backend_factory
        self.env = dict(os.environ if env is None else env)
        self.layers = load_settings(None, self.env)
        self.base_layers = self.layers
        self.session = Session(self.layers.settings, backend_factory)
        self.session.on_recovered = lambda: self.notify_status(self.session.model.state, self.session.model.message)
        self.project_root: Path | None = None
        #: Whether the user was told that generated tests cannot run here (no OS sandbox).
        self.sandbox_warned = False
        #: URIs holding diagnostics published by the last ``lfcode.review`` (cleared by the next).
        self.review_published: set[str] = set()

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve stdio with lfcode's bounded framing (:func:`lfcode.lsp.framing.serve_stdio`)."""
        serve_stdio(self, stdin, stdout)

    @property
    def settings(self) -> Settings:
        return self.layers.settings

    def configure(self, project_root: Path | None, init_options: Any) -> None:
        """Build the settings for this workspace (files, environment, ``initializationOptions``)."""
        self.project_root = project_root
        base = load_settings(project_root, self.env)
        self.layers = base.with_layer("initializationOptions", unwrap_settings(init_options))
        self.layers.problems[:0] = base.problems
        self.base_layers = self.layers
        self.session.settings = self.layers.settings

    def apply_changed_settings(self, raw: Any) -> SettingsLayers:
        """Put ``workspace/didChangeConfiguration`` values on top of the start-up layers.

        The payload is the client's complete set of values, so a key the user removed falls back
        to the files, environment and ``initializationOptions``. Returns the new layers.
        """
        self.layers = self.base_layers.with_layer("workspace/didChangeConfiguration", unwrap_settings(raw))
        return self.layers

    def show_problems(self) -> None:
        """One ``window/showMessage`` per rejected setting, naming the key and the reason."""
        for problem in self.layers.problems:
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=str(problem)))
        self.layers.problems.clear()

    def notify_status(self, state: str, message: str = "") -> None:
        """Send ``lfcode/status`` for editor status bars: ``{"state": "loading"|"ready"|"error",
        "message": str, "where": str}``, ``where`` saying where code goes under the current
        settings (:func:`lfcode.backends.where_code_goes`: ``"in process"``, ``"loopback
        127.0.0.1:8080"``, ``"remote HOST"``). Clients that know only ``state`` and ``message``
        ignore ``where``."""
        self.protocol.notify(STATUS_NOTIFICATION, {"state": state, "message": message, "where": where_code_goes(self.settings)})

    def show_error(self, message: str) -> None:
        """An error the user should see, in ``window/showMessage``."""
        self.window_show_message(types.ShowMessageParams(type=types.MessageType.Error, message=f"lfcode: {message}"))


def unwrap_settings(raw: Any) -> dict[str, Any]:
    """Accept both ``{"lfcode": {...}}`` and a flat table; anything else gives ``{}``."""
    if not isinstance(raw, Mapping):
        return {}
    inner = raw.get("lfcode")
    return dict(inner) if isinstance(inner, Mapping) else dict(raw)
