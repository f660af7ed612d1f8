"""``textDocument/inlineCompletion`` (LSP 3.18) and the ``textDocument/completion`` fallback."""

from __future__ import annotations

import logging
from urllib.parse import unquote

from lsprotocol import types

from lfcode.completion import service
from lfcode.completion.engine import CompletionInput
from lfcode.errors import LfcodeError
from lfcode.lsp.convert import UnsupportedDocument, completion_input, completion_items, inline_items
from lfcode.lsp.documents import parsed
from lfcode.lsp.state import LfcodeServer

log = logging.getLogger(__name__)

#: Items offered when the user explicitly asks (Invoked); automatic requests get one.
INVOKED_ITEMS = 3


async def suggest(
    ls: LfcodeServer, uri: str, position: types.Position, n: int, debounce: bool, stream: bool = True
) -> tuple[CompletionInput | None, list[str]]:
    """Run the completion for ``uri`` at ``position``; errors become a message and no items.

    ``debounce`` marks an automatic request; ``stream`` lets it answer a block's first line
    first (see :meth:`lfcode.session.Session.complete`).

    Documents that are not open (pygls would read them from disk: ``file:///dev/zero``), binary or
    over :data:`~lfcode.lsp.convert.MAX_DOCUMENT_CHARS` answer at once with no items.
    """
    doc = ls.workspace.text_documents.get(unquote(uri))
    if doc is None:
        log.info("completion requested for %s, which is not open", uri)
        return None, []
    try:
        source = completion_input(doc, position)
    except UnsupportedDocument as exc:
        log.info("%s", exc)
        return None, []
    await parsed(ls, uri)  # a big document's parse may still be going on, in slices
    # The incremental tree of this very text, and the ring-buffer picks at the cursor (the step
    # `lfcode complete` takes too).
    source = service.prepare(ls.session.workspace, uri, source, position.line)
    delay = None if debounce else 0  # automatic: the setting, or the adaptive debounce
    try:
        result = await ls.session.complete(uri, source, n=n, delay_ms=delay, automatic=debounce, stream=stream)
    except LfcodeError as exc:  # BackendError, FimError (an unknown ``fim_template``)
        ls.show_error(f"completion failed: {exc}")
        return source, []
    return source, result.items


#: Custom notification from lfcode's editor clients: the cursor of the active editor rests at
#: ``position`` of ``textDocument`` (a document was opened or focused, the user entered insert
#: mode, or the cursor moved and stayed). Params: LSP ``TextDocumentPositionParams``.
CURSOR_NOTIFICATION = "lfcode/cursor"


def _field(params: object, name: str) -> object:
    return params.get(name) if isinstance(params, dict) else getattr(params, name, None)


async def prefill_at(ls: LfcodeServer, params: object) -> None:
    """Prefill the model's KV cache with the prompt of a request at the cursor in ``params``
    (:meth:`lfcode.session.Session.prefill`); odd params or a document that is not open do
    nothing."""
    try:
        uri = str(_field(_field(params, "textDocument"), "uri"))
        where = _field(params, "position")
        position = types.Position(line=int(_field(where, "line")), character=int(_field(where, "character")))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        log.info("ignored %s with odd params", CURSOR_NOTIFICATION)
        return
    doc = ls.workspace.text_documents.get(unquote(uri))
    if doc is None:
        return
    try:
        source = completion_input(doc, position)
    except (UnsupportedDocument, ValueError) as exc:
        log.info("%s", exc)
        return
    await parsed(ls, uri)
    snapshot = ls.session.workspace.documents.get(uri)
    if snapshot is not None and snapshot.text == source.text and snapshot.tree is not None:
        source.tree = snapshot.tree.copy()
    cached = await ls.session.prefill(source)
    log.debug("prefilled %d prompt tokens at %s:%d", cached, uri, position.line + 1)


def register(server: LfcodeServer) -> None:
    """Register inline completion (with its options, so it is advertised) and completion."""

    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: LfcodeServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        _, texts = await suggest(ls, params.text_document.uri, params.position, 1 if automatic else INVOKED_ITEMS, automatic)
        return inline_items(texts, params.position)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", "(", " "]))
    async def completion(ls: LfcodeServer, params: types.CompletionParams) -> types.CompletionList:
        # Whole blocks: Neovim's completion-item fallback adds a block's other lines on accept.
        source, texts = await suggest(ls, params.text_document.uri, params.position, 1, True, stream=False)
        if source is None:
            return types.CompletionList(is_incomplete=True, items=[])
        return completion_items(texts, source, params.position)

    @server.feature(CURSOR_NOTIFICATION)
    async def cursor(ls: LfcodeServer, params: object) -> None:
        await prefill_at(ls, params)
