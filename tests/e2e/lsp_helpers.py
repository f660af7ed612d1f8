"""Start the real ``lfcode serve`` process and drive it with pytest-lsp's client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities, make_test_lsp_client

from tests.conftest import record_path, server_command


#: Settings that lift the completion time budget, for real-model tests that check what the model
#: answers rather than how fast (the budget's own behaviour is tested with the fake backend).
NO_BUDGET = {"max_latency_ms": "60000", "first_latency_ms": "60000"}


def server_env(tmp_path: Path, cache: Path | None = None, **settings: str) -> dict[str, str]:
    """An environment isolated from the user's config and cache, plus ``LFCODE_*`` settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFCODE_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_CACHE_HOME"] = str(cache or tmp_path / "cache")
    env.update({f"LFCODE_{k.upper()}": v for k, v in settings.items()})
    if "fake_script" in settings and "fake_record" not in settings:
        env["LFCODE_FAKE_RECORD"] = str(record_path(Path(settings["fake_script"])))
    return env


def capabilities(client: str) -> types.ClientCapabilities:
    """An editor's real capabilities; ``"no-inline"`` is VS Code's without inline completion."""
    if client == "no-inline":
        caps = client_capabilities("visual-studio-code")
        caps.text_document.inline_completion = None
        return caps
    return client_capabilities(client)


@contextlib.asynccontextmanager
async def lsp_session(
    env: dict[str, str],
    client: str = "visual-studio-code",
    init_options: Any = None,
    root: Path | None = None,
    command: list[str] | None = None,
) -> AsyncIterator[tuple[LanguageClient, types.InitializeResult]]:
    """A started, initialized server; shut down cleanly on exit."""
    lsp = make_test_lsp_client()
    await lsp.start_io(*(command or server_command()), env=env)
    try:
        result = await lsp.initialize_session(
            types.InitializeParams(
                capabilities=capabilities(client),
                initialization_options=init_options,
                root_uri=root.as_uri() if root else None,
                workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)] if root else None,
            )
        )
        yield lsp, result
        await lsp.shutdown_session()
    except BaseException:
        # The test failed inside the session: still let the server exit, or stopping it would
        # wait for ever and hide the failure behind the test's timeout.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(lsp.shutdown_session(), 10)
        raise
    finally:
        await lsp.stop()


def open_document(lsp: LanguageClient, path: Path, text: str | None = None, language_id: str = "python") -> str:
    """Send ``didOpen`` for ``path``; returns its URI."""
    uri = path.as_uri()
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id=language_id, version=1, text=path.read_text() if text is None else text
            )
        )
    )
    return uri


def inline_params(uri: str, line: int, character: int, automatic: bool = False) -> types.InlineCompletionParams:
    """Inline completion parameters (0-based line, UTF-16 character)."""
    kind = types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
    )


@contextlib.asynccontextmanager
async def generation_records(script: Path) -> AsyncIterator[Callable[..., Awaitable[dict]]]:
    """Yield ``next_record()``, which waits for the next generation a fake-backend server started
    with ``script`` records (a generation appends its line to ``LFCODE_FAKE_RECORD`` when it ends).

    The record file is made a named pipe read by the event loop, so a test waits on the server's
    own write instead of sleeping or polling the file. The pipe is opened read-write: opening it
    never blocks, the reader never sees end-of-file between generations, and the server's open
    for appending never blocks either. Enter this before :func:`lsp_session`, so that the pipe
    outlives the server.
    """
    fifo = record_path(script)
    os.mkfifo(fifo)
    pipe = os.fdopen(os.open(fifo, os.O_RDWR | os.O_NONBLOCK), "rb", buffering=0)
    reader = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)

    async def next_record(timeout: float = 10, started: bool = False) -> dict:
        # The next line of the kind asked for: a generation's end, or with ``started`` its start.
        while True:
            line = json.loads(await asyncio.wait_for(reader.readline(), timeout))
            if ("started" in line) == started:
                return line

    try:
        yield next_record
    finally:
        transport.close()
