"""Completion as one service: the editor's prompt for ``lfcode complete`` too.

The language server keeps a :class:`~lfcode.context.workspace.Workspace` for the whole
connection (open documents with their incremental trees, the ring buffer of recent chunks, the
background symbol index) and completes with it (:meth:`lfcode.session.Session.complete`). The
CLI has no connection, so :func:`complete_file` builds the same workspace for one request: it
indexes the project, opens the file as the editor's ``didOpen`` would and asks the same way, so
that ``lfcode complete FILE LINE COL`` and the editor at that position build the same prompt
(definitions from the project's other files included). :func:`prepare` is the step both take
just before the model is asked.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lfcode.backends.base import Backend
from lfcode.completion.engine import CompletionInput, CompletionOptions, CompletionResult, complete
from lfcode.context.files import project_root
from lfcode.context.languages import language_id_for
from lfcode.context.workspace import Workspace
from lfcode.errors import CancelToken

log = logging.getLogger(__name__)

#: Longest the CLI waits for the project's symbol index, seconds. The index parses a few
#: hundred files a second on one core (this repository's 160 files: 0.25 s; the 1,800 files of
#: CPython's standard library: 11 s) and walks up to :data:`~lfcode.context.index.MAX_FILES`
#: (5,000), which could take half a minute. Five seconds covers projects of a thousand files or
#: so; a bigger one is completed without the other files' definitions (the index publishes them
#: only once its walk is done) instead of keeping the command waiting.
INDEX_WAIT_S = 5.0


def prepare(workspace: Workspace, uri: str, source: CompletionInput, line: int) -> CompletionInput:
    """Ready ``source`` (the document ``uri`` and the cursor, at 0-based ``line``) for the engine
    as the editor does before each request, and return it.

    ``source.tree`` becomes a copy of the workspace's incremental tree when the workspace holds
    this very text (a copy is O(1) in tree-sitter; in the server the next ``didChange`` edits the
    original on the event loop while the worker reads the copy), and the workspace is told that a
    completion was asked at ``line`` (:meth:`Workspace.requested`: ring-buffer chunks around the
    cursor). Never raises.
    """
    snapshot = workspace.documents.get(uri)
    if snapshot is not None and snapshot.text == source.text:
        source.tree = snapshot.tree.copy() if snapshot.tree is not None else None
    workspace.requested(uri, line)
    return source


def complete_file(
    backend: Backend,
    path: Path,
    text: str,
    offset: int,
    options: CompletionOptions | None = None,
    cancel: CancelToken | None = None,
    *,
    index_wait_s: float = INDEX_WAIT_S,
) -> CompletionResult:
    """Complete ``text`` (the content of the file ``path``) at the code-point ``offset`` with the
    context the editor would use for this file and position.

    Blocking. The workspace is built for this call and closed before it returns: its symbol index
    walks :func:`~lfcode.context.files.project_root` of ``path``; the document is opened as an
    editor's ``didOpen`` would open it (URI and absolute path of ``path``, the ``languageId``
    :func:`~lfcode.context.languages.language_id_for` derives from the extension, version 1); the
    index is waited for at most ``index_wait_s`` seconds (:data:`INDEX_WAIT_S`; the open
    document's own definitions add their 0.5 s debounce); then :func:`prepare` and
    :func:`lfcode.completion.engine.complete` run with the workspace's sources, as
    :meth:`lfcode.session.Session.complete` does.

    Args:
        backend: the model.
        path: the file (relative paths start in the current folder).
        text: its text; ``offset`` is a code-point index into it.
        options: the engine's options (defaults: :class:`CompletionOptions`).
        cancel: stops the generation when set (the result is then marked ``cancelled``).
        index_wait_s: the longest wait for the symbol index, seconds.

    Returns:
        The engine's :class:`~lfcode.completion.engine.CompletionResult`.

    Raises:
        lfcode.backends.base.BackendError: the model failed.
        lfcode.backends.fim.FimError: an unknown ``fim_template``.
    """
    absolute = Path(path).resolve()
    uri, language_id = absolute.as_uri(), language_id_for(str(absolute))
    workspace = Workspace()
    try:
        workspace.start(project_root(absolute))
        workspace.opened(uri, text, language_id, str(absolute), 1)
        if workspace.index is not None and not workspace.index.wait_idle(index_wait_s):
            log.info("the symbol index of %s took over %.0f s; completing with what it has", workspace.root, index_wait_s)
        source = CompletionInput(text, offset, str(absolute), language_id)
        source = prepare(workspace, uri, source, text.count("\n", 0, offset))
        return complete(backend, source, options, cancel, workspace.sources())
    finally:
        workspace.close()


__all__ = ["INDEX_WAIT_S", "complete_file", "prepare"]
