"""Document events → the workspace context: ``didOpen``, ``didChange``, ``didSave``, ``didClose``.

pygls applies each change to its own ``TextDocument`` first and then calls these handlers; the
:class:`~lfcode.context.workspace.Workspace` keeps its own copy of the previous text, so the byte
offsets of each edit (for tree-sitter's incremental reparse) come from the text *before* the
change. Handlers are plain functions (they run on the event loop, in message order, before the
next request) and cheap: an incremental reparse at most.
"""

from __future__ import annotations

from lsprotocol import types

from lfcode.context.documents import ChangeRange
from lfcode.lsp.server import LfcodeServer


def _range(change: types.TextDocumentContentChangeEvent) -> ChangeRange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        r = change.range
        return (r.start.line, r.start.character), (r.end.line, r.end.character)
    return None


def _encoding(ls: LfcodeServer) -> str:
    kind = ls.workspace.position_encoding
    return str(getattr(kind, "value", kind) or "utf-16")


def register(server: LfcodeServer) -> None:
    """Register the text-document synchronisation hooks."""

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: LfcodeServer, params: types.DidOpenTextDocumentParams) -> None:
        workspace = ls.session.workspace
        workspace.start(ls.project_root)
        item = params.text_document
        doc = ls.workspace.get_text_document(item.uri)
        workspace.opened(item.uri, item.text, item.language_id, doc.path, item.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: LfcodeServer, params: types.DidChangeTextDocumentParams) -> None:
        workspace = ls.session.workspace
        workspace.documents.encoding = _encoding(ls)
        uri = params.text_document.uri
        changes = [(_range(c), c.text) for c in params.content_changes]
        workspace.changed(uri, changes, params.text_document.version, ls.workspace.get_text_document(uri).source)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: LfcodeServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.session.workspace.saved(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: LfcodeServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.session.workspace.closed(params.text_document.uri)
        ls.session.forget(params.text_document.uri)
