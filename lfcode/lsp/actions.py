"""Code actions (``textDocument/codeAction``) and what the Explain and Generate-tests commands
share: the command argument (:class:`Target`), the symbol at a position (:func:`locate`, which
reuses the workspace's incremental tree of an open document instead of reparsing it) and the
project root.

Inside a function, method or class (:func:`lfcode.context.symbols.symbol_at`) the server
offers two code actions (LSP 3.17 §"textDocument/codeAction") whose commands are
``lfcode.explain`` (:mod:`lfcode.lsp.explain`) and ``lfcode.generateTests``
(:mod:`lfcode.lsp.testgen`); elsewhere it offers none. Both commands take
``[{"uri": str, "position": {"line": int, "character": int}}]`` (what the VS Code extension
sends) and report cancellable ``$/progress`` (§"WorkDoneProgress": begin, report, end); the
client's ``window/workDoneProgress/cancel`` or ``$/cancelRequest`` stops the model within one
token. A model failure, a cancel or a timeout sends no edit and shows a message.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pydantic import BaseModel, Field, ValidationError
from tree_sitter import Tree

from lfcode.context.symbols import Symbol, symbol_at
from lfcode.context.files import project_root
from lfcode.context.languages import LanguageSpec, language_for
from lfcode.errors import UserError
from lfcode.lsp.convert import MAX_DOCUMENT_CHARS, offset_at
from lfcode.lsp.state import LfcodeServer

EXPLAIN_COMMAND = "lfcode.explain"
TESTS_COMMAND = "lfcode.generateTests"
EXPLAIN_KIND = "refactor.lfcode.explain"
TESTS_KIND = "refactor.lfcode.generateTests"


class TargetPosition(BaseModel):
    """A 0-based ``line`` and ``character`` (UTF-16 units unless the client chose otherwise)."""

    line: int = Field(ge=0)
    character: int = Field(ge=0)


class Target(BaseModel):
    """The command argument: a document and a position in it."""

    uri: str
    position: TargetPosition

    def lsp_position(self) -> types.Position:
        return types.Position(line=self.position.line, character=self.position.character)


def _check_size(doc: Any, is_open: bool) -> None:
    """Refuse documents over :data:`MAX_DOCUMENT_CHARS` (no parse on the event loop) and, for
    documents that are not open, anything but a regular file of at most that many bytes.

    Raises:
        UserError: the document is too large or not a regular file.
    """
    too_big = f"{os.path.basename(doc.path or doc.uri)} is too large for lfcode (over {MAX_DOCUMENT_CHARS / 1e6:.0f} MB)"
    if is_open:
        if len(doc.source) > MAX_DOCUMENT_CHARS:
            raise UserError(too_big, "warning")
        return
    try:
        info = os.stat(doc.path)
    except OSError as exc:
        raise UserError(f"cannot read {doc.uri}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{doc.uri} is not a regular file")
    if info.st_size > MAX_DOCUMENT_CHARS:
        raise UserError(too_big, "warning")


def locate(ls: LfcodeServer, uri: str, position: types.Position) -> tuple[str, str, Symbol | None]:
    """``(path, text, symbol)`` for a position; the text is the editor's (or the disk's).

    Raises:
        UserError: unreadable, not a regular file, or over :data:`MAX_DOCUMENT_CHARS`.
    """
    doc = ls.workspace.get_text_document(uri)
    try:
        _check_size(doc, unquote(uri) in ls.workspace.text_documents)
        text = doc.source
    except OSError as exc:
        raise UserError(f"cannot read {uri}: {exc.strerror or exc}") from exc
    before = text[: offset_at(doc, position)]
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    tree = _stored_tree(ls, uri, text, language_for(doc.path, doc.language_id or None))
    return doc.path, text, symbol_at(text, line, column, doc.path, doc.language_id or None, tree)


def _stored_tree(ls: LfcodeServer, uri: str, text: str, spec: LanguageSpec | None) -> Tree | None:
    """The workspace's incremental tree of ``uri`` when it is up to date with ``text`` and in
    the grammar of ``spec``, else ``None`` (then the caller parses)."""
    snap = ls.session.workspace.documents.get(uri)
    if snap is None or snap.tree is None or snap.text != text:
        return None
    if spec is None or snap.spec is None or snap.spec.name != spec.name:
        return None
    return snap.tree.copy()  # a shallow copy: trees are not to be shared between threads


def code_actions(ls: LfcodeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """The two actions when ``params.range.start`` is inside a symbol, else ``[]``."""
    only = params.context.only
    try:
        _, _, symbol = locate(ls, params.text_document.uri, params.range.start)
    except UserError:
        return []
    if symbol is None:
        return []
    argument = {"uri": params.text_document.uri, "position": {"line": params.range.start.line, "character": params.range.start.character}}
    actions = []
    for kind, command, title in (
        (EXPLAIN_KIND, EXPLAIN_COMMAND, f"lfcode: Explain `{symbol.qualname}`"),
        (TESTS_KIND, TESTS_COMMAND, f"lfcode: Generate tests for `{symbol.qualname}`"),
    ):
        if only and not any(kind == k or kind.startswith(f"{k}.") for k in only):
            continue
        actions.append(types.CodeAction(title=title, kind=kind, command=types.Command(title=title, command=command, arguments=[argument])))
    return actions


def parse_target(args: tuple[Any, ...]) -> Target:
    """The command's ``[{"uri", "position"}]`` argument.

    Raises:
        UserError: the argument has another shape.
    """
    try:
        return Target.model_validate(args[0] if args else None)
    except ValidationError as exc:
        raise UserError('expected the argument [{"uri": ..., "position": {"line": ..., "character": ...}}]') from exc


def project_root_for(ls: LfcodeServer, path: str) -> Path:
    """The workspace folder when ``path`` is inside it, else the nearest project root above ``path``."""
    if ls.project_root is not None and Path(path).resolve().is_relative_to(ls.project_root.resolve()):
        return ls.project_root
    return project_root(Path(path))


def register(server: LfcodeServer) -> None:
    """Register ``textDocument/codeAction`` on ``server`` (the commands are in
    :mod:`lfcode.lsp.explain` and :mod:`lfcode.lsp.testgen`)."""

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[EXPLAIN_KIND, TESTS_KIND]))
    def code_action(ls: LfcodeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(ls, params)
