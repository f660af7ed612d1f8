"""Lifecycle handlers: initialize, initialized (model loading with ``$/progress``), settings
changes, shutdown. See LSP 3.17 §"Server lifecycle" and §"$/progress"."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from lfcode.lsp.state import LfcodeServer

log = logging.getLogger(__name__)


def _root(params: types.InitializeParams) -> Path | None:
    uri = params.root_uri or (params.workspace_folders[0].uri if params.workspace_folders else None)
    if uri:
        path = to_fs_path(uri)
        return Path(path) if path else None
    return Path(params.root_path) if params.root_path else None


async def load_model(ls: LfcodeServer) -> None:
    """Load the backend in the worker, reporting ``$/progress`` and ``lfcode/status``.

    A failure becomes one error ``window/showMessage``; the server keeps answering (empty results).
    """
    token: str | None = None
    if ls.client_capabilities.window and ls.client_capabilities.window.work_done_progress:
        token = f"lfcode-load-{uuid.uuid4()}"
        try:
            await ls.work_done_progress.create_async(token)
            ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title="Loading model…", message="lfcode"))
        except Exception as exc:  # noqa: BLE001 - a client refusing progress must not stop loading
            log.warning("client refused progress token: %s", exc)
            token = None
    ls.notify_status("loading", "Loading model…")
    backend = await ls.session.start_loading()
    state = ls.session.model
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message=state.message))
    ls.notify_status(state.state, state.message)
    if backend is None:
        ls.show_error(f"{state.message}. Completions are off until the model is fixed (setting 'model').")
    elif state.remote:
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"lfcode: {state.message}"))
    else:
        ls.window_log_message(types.LogMessageParams(type=types.MessageType.Info, message=f"lfcode: {state.message}"))


def register(server: LfcodeServer) -> None:
    """Register the lifecycle handlers on ``server``."""

    @server.feature(types.INITIALIZE)
    def initialize(ls: LfcodeServer, params: types.InitializeParams) -> None:
        ls.configure(_root(params), params.initialization_options)
        logging.getLogger("lfcode").setLevel(ls.settings.log_level.upper())
        ls.session.start_loading()  # loading overlaps the rest of the handshake (cold start)

    @server.feature(types.INITIALIZED)
    async def initialized(ls: LfcodeServer, params: types.InitializedParams) -> None:
        ls.show_problems()
        await load_model(ls)

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: LfcodeServer, params: types.DidChangeConfigurationParams) -> None:
        layers = ls.apply_changed_settings(params.settings)
        ls.show_problems()
        logging.getLogger("lfcode").setLevel(layers.settings.log_level.upper())
        if await ls.session.reload(layers.settings):
            await load_model(ls)

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: LfcodeServer, params: None) -> None:
        await ls.session.close()
