"""The ``lfcode.explain`` command: explain the symbol at a position (see :mod:`lfcode.explain.service`).

The Markdown goes under ``$XDG_CACHE_HOME/lfcode/explanations/`` and opens with
``window/showDocument`` (LSP 3.16), or goes into ``window/showMessage`` for clients without it.
Returns ``{"uri", "markdown"}``, or ``None`` after an error shown to the user.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lsprotocol import types

from lfcode.errors import UserError
from lfcode.explain import service
from lfcode.lsp.actions import EXPLAIN_COMMAND, locate, parse_target, project_root_for
from lfcode.lsp.jobs import Job, guarded, require_backend
from lfcode.lsp.state import LfcodeServer

#: Longest an explanation may take, seconds of model time.
EXPLAIN_SECONDS = 300.0
#: Longest explanation put in a ``window/showMessage``, characters.
MESSAGE_CHARS = 4000


async def run_explain(ls: LfcodeServer, args: tuple[Any, ...]) -> dict[str, str] | None:
    """The ``lfcode.explain`` command; returns ``{"uri", "markdown"}``.

    Raises:
        UserError: bad argument, unreadable document, no symbol at the position, no model.
        lfcode.errors.LfcodeError: the model failed or was cancelled (see :func:`lfcode.lsp.jobs.guarded`).
    """
    target = parse_target(args)
    path, text, symbol = await asyncio.to_thread(locate, ls, target.uri, target.lsp_position())
    if symbol is None:
        raise UserError("place the cursor inside a function, method or class to explain it", "info")
    async with Job(ls, f"Explaining `{symbol.qualname}`") as job:
        backend = await require_backend(ls, "chat")
        job.report("Reading the code, callers and callees…")
        prepared = await asyncio.to_thread(service.prepare, text, symbol, path, project_root_for(ls, path), ls.session.workspace.index)
        job.report("Running examples in the sandbox…")
        examples = await job.run(asyncio.to_thread(service.run_examples, prepared, ls.settings.sandbox, job.cancel), EXPLAIN_SECONDS)
        job.report("Writing the summary…")
        explanation = await job.run(ls.session.run_blocking(service.explain_symbol, backend, prepared, examples, job.cancel), EXPLAIN_SECONDS)
        document = await asyncio.to_thread(service.save, explanation)
    markdown = explanation.markdown
    show = ls.client_capabilities.window and ls.client_capabilities.window.show_document
    if show and show.support:
        shown = await ls.window_show_document_async(types.ShowDocumentParams(uri=document.as_uri(), take_focus=True))
        if shown.success:
            return {"uri": document.as_uri(), "markdown": markdown}
    cut = markdown if len(markdown) <= MESSAGE_CHARS else markdown[:MESSAGE_CHARS] + f"\n… (full text: {document})"
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=cut))
    return {"uri": document.as_uri(), "markdown": markdown}


def register(server: LfcodeServer) -> None:
    """Register the ``lfcode.explain`` command on ``server``."""

    @server.command(EXPLAIN_COMMAND)
    async def explain_command(ls: LfcodeServer, *args: Any) -> Any:
        return await guarded(ls, run_explain(ls, args))
