"""Document events → the workspace context: ``didOpen``, ``didChange``, ``didSave``, ``didClose``.

pygls applies each change to its own ``TextDocument`` first and then calls these handlers; the
:class:`~lfcode.context.workspace.Workspace` keeps its own copy of the previous text, so the byte
offsets of each edit (for tree-sitter's incremental reparse) come from the text *before* the
change. Handlers are plain functions (they run on the event loop, in message order, before the
next request) and cheap: at most :data:`PARSE_SLICE_MS` of tree-sitter parsing each; a longer
(re)parse goes on in slices between messages (:func:`keep_parsing`). A document over
:data:`~lfcode.context.documents.MAX_PARSE_CHARS` characters is not parsed at all, and the user
gets one ``window/showMessage`` per document saying that completions are off for it.
"""

from __future__ import annotations

import asyncio
import logging
import os

from lsprotocol import types

from lfcode.context.documents import MAX_PARSE_CHARS, ChangeRange, Snapshot
from lfcode.lsp.state import LfcodeServer

log = logging.getLogger(__name__)

#: Longest tree-sitter parse run in one go on the event loop, ms (tree-sitter holds the GIL, so
#: a worker thread would block the loop just the same).
PARSE_SLICE_MS = 5.0


def _range(change: types.TextDocumentContentChangeEvent) -> ChangeRange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        r = change.range
        return (r.start.line, r.start.character), (r.end.line, r.end.character)
    return None


def _encoding(ls: LfcodeServer) -> str:
    kind = ls.workspace.position_encoding
    return str(getattr(kind, "value", kind) or "utf-16")


def oversized_message(name: str, chars: int) -> str:
    """The text shown for a document of ``chars`` characters over the cap (sizes in MB = 10^6
    characters, which is bytes for ASCII)."""
    return (
        f"lfcode: {name} is {chars / 1e6:.1f} MB; completions are off for files over "
        f"{MAX_PARSE_CHARS / 1e6:.0f} MB"
    )


def warn_if_oversized(ls: LfcodeServer, snap: Snapshot | None) -> None:
    """One ``window/showMessage`` (Warning) per open document that is over the size cap."""
    if snap is None or not snap.oversized:
        return
    warned = ls.session.workspace.oversized_warned
    if snap.uri in warned:
        return
    warned.add(snap.uri)
    name = os.path.basename(snap.path or snap.uri) or snap.uri
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=oversized_message(name, len(snap.text))))


def keep_parsing(ls: LfcodeServer, uri: str) -> None:
    """Schedule the rest of ``uri``'s pending parse one slice per event-loop turn, so messages
    that arrive meanwhile are handled between slices."""
    workspace = ls.session.workspace
    scheduled = workspace.parse_scheduled
    if uri in scheduled:
        return
    loop = asyncio.get_running_loop()

    def step() -> None:
        try:
            more = workspace.resume_parse(uri)
        except Exception:  # noqa: BLE001 - a failed parse leaves the document without a tree
            log.exception("parsing %s failed", uri)
            more = False
        if more:
            loop.call_soon(step)
        else:
            scheduled.discard(uri)

    scheduled.add(uri)
    loop.call_soon(step)


async def parsed(ls: LfcodeServer, uri: str) -> None:
    """Wait until ``uri`` has no pending parse (slices run between other messages)."""
    workspace = ls.session.workspace
    while (snap := workspace.documents.get(uri)) is not None and snap.pending:
        keep_parsing(ls, uri)
        await asyncio.sleep(0)


def register(server: LfcodeServer) -> None:
    """Register the text-document synchronisation hooks."""
    server.session.workspace.documents.parse_budget_ms = PARSE_SLICE_MS

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LfcodeServer, params: types.DidOpenTextDocumentParams) -> None:
        workspace = ls.session.workspace
        workspace.start(ls.project_root)
        item = params.text_document
        doc = ls.workspace.get_text_document(item.uri)
        snap = workspace.opened(item.uri, item.text, item.language_id, doc.path, item.version)
        warn_if_oversized(ls, snap)
        if snap.pending:
            keep_parsing(ls, item.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LfcodeServer, params: types.DidChangeTextDocumentParams) -> None:
        workspace = ls.session.workspace
        workspace.documents.encoding = _encoding(ls)
        uri = params.text_document.uri
        changes = [(_range(c), c.text) for c in params.content_changes]
        expected = ls.workspace.get_text_document(uri).source
        snap = workspace.changed(uri, changes, params.text_document.version, expected)
        ls.session.edited(uri, expected)  # typing that leaves the suggestion stops its decoding
        warn_if_oversized(ls, snap)
        if snap is not None and snap.pending:
            keep_parsing(ls, uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LfcodeServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.session.workspace.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LfcodeServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.session.workspace.closed(params.text_document.uri)
        ls.session.forget(params.text_document.uri)
