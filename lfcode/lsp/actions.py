"""Explain and Generate-tests: ``textDocument/codeAction`` and ``workspace/executeCommand``.

Inside a function, method or class (:func:`lfcode.core.symbols.symbol_at`) the server offers two
code actions (LSP 3.17 §"textDocument/codeAction") whose commands are ``lfcode.explain`` and
``lfcode.generateTests``; elsewhere it offers none. Both commands take
``[{"uri": str, "position": {"line": int, "character": int}}]`` (what the VS Code extension sends)
and report cancellable ``$/progress`` (§"WorkDoneProgress": begin, report, end); the client's
``window/workDoneProgress/cancel`` or ``$/cancelRequest`` stops the model within one token.

- Explain writes Markdown under ``$XDG_CACHE_HOME/lfcode/explanations/`` and opens it with
  ``window/showDocument`` (§3.16), or puts the text in ``window/showMessage`` for clients
  without it.
- Generate tests sends ``workspace/applyEdit`` with ``documentChanges``: a ``CreateFile``
  (``ignoreIfExists``) and a ``TextEdit`` inserting at the end of the test file (§"WorkspaceEdit").
  The server never writes project files itself. Python tests are run first (setting
  ``verify_tests``) and only the passing ones are sent.

A model failure, a cancel or a timeout sends no edit and shows a message.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import threading
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from lsprotocol import types
from pydantic import BaseModel, Field, ValidationError

from lfcode.backends import BackendError
from lfcode.core import explain as explaining
from lfcode.core.frameworks import FrameworkError, detect_framework, find_project_root
from lfcode.core.symbols import Symbol, symbol_at
from lfcode.core.templates import TemplateError
from lfcode.core.testgen import DEFAULT_TESTS, TEST_MAX_TOKENS, GeneratedTests, TestgenError, TestPlan, generate_tests
from lfcode.core.verify import SandboxUnavailable, VerifyError, mark_not_run, verify_generated
from lfcode.lsp.convert import MAX_DOCUMENT_CHARS, offset_at
from lfcode.lsp.server import LfcodeServer

log = logging.getLogger(__name__)

EXPLAIN_COMMAND = "lfcode.explain"
TESTS_COMMAND = "lfcode.generateTests"
EXPLAIN_KIND = "refactor.lfcode.explain"
TESTS_KIND = "refactor.lfcode.generateTests"
#: Longest a command may run, seconds (model time plus, for tests, the pytest run).
EXPLAIN_SECONDS = 300.0
TESTS_SECONDS = 600.0
#: Longest explanation put in a ``window/showMessage``, characters.
MESSAGE_CHARS = 4000


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


class UserError(Exception):
    """Something to tell the user in ``window/showMessage``; ``level`` is its MessageType."""

    def __init__(self, message: str, level: types.MessageType = types.MessageType.Error) -> None:
        super().__init__(message)
        self.level = level


def _check_size(doc: Any, is_open: bool) -> None:
    """Refuse documents over :data:`MAX_DOCUMENT_CHARS` (no parse on the event loop) and, for
    documents that are not open, anything but a regular file of at most that many bytes.

    Raises:
        UserError: the document is too large or not a regular file.
    """
    too_big = f"{os.path.basename(doc.path or doc.uri)} is too large for lfcode (over {MAX_DOCUMENT_CHARS / 1e6:.0f} MB)"
    if is_open:
        if len(doc.source) > MAX_DOCUMENT_CHARS:
            raise UserError(too_big, types.MessageType.Warning)
        return
    try:
        info = os.stat(doc.path)
    except OSError as exc:
        raise UserError(f"cannot read {doc.uri}: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{doc.uri} is not a regular file")
    if info.st_size > MAX_DOCUMENT_CHARS:
        raise UserError(too_big, types.MessageType.Warning)


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
    return doc.path, text, symbol_at(text, line, column, doc.path, doc.language_id or None)


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


class Job:
    """One command run: its progress token, its cancel flag and its time limit."""

    def __init__(self, ls: LfcodeServer, title: str) -> None:
        self.ls, self.title = ls, title
        self.cancel = threading.Event()
        self.token: str | None = None
        self.end_message = "Done"
        self.loop = asyncio.get_running_loop()

    async def __aenter__(self) -> Job:
        window = self.ls.client_capabilities.window
        if window and window.work_done_progress:
            token = f"lfcode-{uuid.uuid4()}"
            try:
                await self.ls.work_done_progress.create_async(token)
                self.ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=self.title, cancellable=True, message="Starting…"))
                self.token = token
                self.ls.work_done_progress.tokens[token].add_done_callback(lambda f: f.cancelled() and self.cancel.set())
            except Exception as exc:  # noqa: BLE001 - a client refusing progress must not stop the command
                log.warning("client refused progress: %s", exc)
        return self

    def report(self, message: str) -> None:
        """A progress report (from the event loop thread)."""
        if self.token is not None:
            self.ls.work_done_progress.report(self.token, types.WorkDoneProgressReport(message=message))

    def report_threadsafe(self, message: str) -> None:
        """A progress report from a worker thread."""
        self.loop.call_soon_threadsafe(self.report, message)

    async def run(self, awaitable: Any, seconds: float) -> Any:
        """Await ``awaitable`` within ``seconds``; a timeout or a cancel sets :attr:`cancel`."""
        try:
            return await asyncio.wait_for(awaitable, seconds)
        except asyncio.TimeoutError as exc:
            self.cancel.set()
            raise UserError(f"{self.title} took longer than {seconds:.0f} s and was stopped; nothing was changed") from exc
        except asyncio.CancelledError:
            self.cancel.set()
            raise

    async def __aexit__(self, kind: Any, error: Any, trace: Any) -> None:
        if kind is not None:
            self.end_message = "Cancelled" if self.cancel.is_set() else "Failed"
        if self.token is not None:
            self.ls.work_done_progress.end(self.token, types.WorkDoneProgressEnd(message=self.end_message))
            self.ls.work_done_progress.tokens.pop(self.token, None)


def _target(args: tuple[Any, ...]) -> Target:
    try:
        return Target.model_validate(args[0] if args else None)
    except ValidationError as exc:
        raise UserError('expected the argument [{"uri": ..., "position": {"line": ..., "character": ...}}]') from exc


async def _backend(ls: LfcodeServer):
    backend = await ls.session.backend()
    if backend is None:
        raise UserError(f"the model is not available: {ls.session.model.message}")
    return backend


def _root(ls: LfcodeServer, path: str) -> Path:
    if ls.project_root is not None and Path(path).resolve().is_relative_to(ls.project_root.resolve()):
        return ls.project_root
    return find_project_root(Path(path))


async def run_explain(ls: LfcodeServer, args: tuple[Any, ...]) -> dict[str, str] | None:
    """The ``lfcode.explain`` command; returns ``{"uri", "markdown"}`` or ``None`` on failure."""
    target = _target(args)
    path, text, symbol = locate(ls, target.uri, target.lsp_position())
    if symbol is None:
        raise UserError("place the cursor inside a function, method or class to explain it", types.MessageType.Info)
    async with Job(ls, f"Explaining `{symbol.qualname}`") as job:
        backend = await _backend(ls)
        job.report("Reading callers and callees…")
        ctx = await asyncio.to_thread(explaining.build_context, text, symbol, path, _root(ls, path))
        job.report("Writing the explanation…")
        body = await job.run(ls.session.run_blocking(explaining.explain, backend, ctx, job.cancel), EXPLAIN_SECONDS)
        markdown = explaining.render_markdown(ctx, body)
        document = explaining.write_explanation(ctx, markdown)
    show = ls.client_capabilities.window and ls.client_capabilities.window.show_document
    if show and show.support:
        shown = await ls.window_show_document_async(types.ShowDocumentParams(uri=document.as_uri(), take_focus=True))
        if shown.success:
            return {"uri": document.as_uri(), "markdown": markdown}
    cut = markdown if len(markdown) <= MESSAGE_CHARS else markdown[:MESSAGE_CHARS] + f"\n… (full text: {document})"
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=cut))
    return {"uri": document.as_uri(), "markdown": markdown}


def edit_for_tests(ls: LfcodeServer, generated: GeneratedTests, existing: str, version: int | None) -> types.WorkspaceEdit:
    """The ``WorkspaceEdit`` inserting ``generated.code`` at ``generated.offset`` of the test file.

    Raises:
        UserError: the file must be created and the client cannot create files.
    """
    before = existing[: generated.offset]
    line = before.count("\n")
    character = ls.workspace.position_codec.client_num_units(before[before.rfind("\n") + 1 :])
    where = types.Range(start=types.Position(line=line, character=character), end=types.Position(line=line, character=character))
    uri = generated.framework.test_path.as_uri()
    edit = types.TextEdit(range=where, new_text=generated.code)
    workspace = ls.client_capabilities.workspace
    caps = workspace.workspace_edit if workspace else None
    can_create = bool(caps and caps.document_changes and types.ResourceOperationKind.Create in (caps.resource_operations or []))
    if can_create:
        return types.WorkspaceEdit(
            document_changes=[
                types.CreateFile(uri=uri, options=types.CreateFileOptions(ignore_if_exists=True)),
                types.TextDocumentEdit(text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version), edits=[edit]),
            ]
        )
    if generated.create:
        raise UserError(f"this editor cannot create files through LSP; create {generated.framework.test_path} and try again")
    return types.WorkspaceEdit(changes={uri: [edit]})


async def run_tests(ls: LfcodeServer, args: tuple[Any, ...]) -> dict[str, Any] | None:
    """The ``lfcode.generateTests`` command; returns ``{"path", "tests", "kept", "dropped"}``."""
    target = _target(args)
    path, text, symbol = locate(ls, target.uri, target.lsp_position())
    if symbol is None:
        raise UserError("place the cursor inside a function, method or class to generate tests for it", types.MessageType.Info)
    root = _root(ls, path)
    try:
        framework = detect_framework(Path(path), root, symbol.language)
    except FrameworkError as exc:
        raise UserError(str(exc), types.MessageType.Warning) from exc
    test_uri = framework.test_path.as_uri()
    open_doc = ls.workspace.text_documents.get(test_uri)
    existing = open_doc.source if open_doc is not None else (framework.test_path.read_text(encoding="utf-8") if framework.exists else None)
    plan = TestPlan(symbol=symbol, source_path=Path(path).resolve(), source_text=text, root=root, framework=framework, existing=existing)
    summary = ""
    async with Job(ls, f"Generating tests for `{symbol.qualname}`") as job:
        backend = await _backend(ls)
        job.report(f"Writing {framework.name} tests…")
        generated = await job.run(ls.session.run_blocking(generate_tests, backend, plan, job.cancel, DEFAULT_TESTS, TEST_MAX_TOKENS, job.report_threadsafe), TESTS_SECONDS)
        dropped = 0
        if ls.settings.verify_tests and framework.language == "python":
            job.report(f"Running {len(generated.tests)} tests…")
            try:
                kept, result = await job.run(asyncio.to_thread(verify_generated, plan, generated, job.cancel, sandbox=ls.settings.sandbox), TESTS_SECONDS)
            except SandboxUnavailable as exc:
                _warn_no_sandbox(ls, str(exc))
                summary = f"{len(generated.tests)} tests, not run (no sandbox)"
                generated = mark_not_run(generated)
            else:
                summary, dropped = result.summary(), len(result.dropped)
                job.end_message = summary
                if kept is None:
                    raise UserError(f"{summary}: no generated test passed, so nothing was written", types.MessageType.Warning)
                generated = kept
        edit = edit_for_tests(ls, generated, existing or "", open_doc.version if open_doc is not None else None)
    answer = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=f"lfcode: tests for {symbol.qualname}"))
    if not answer.applied:
        raise UserError(f"the editor did not apply the tests ({answer.failure_reason or 'no reason given'})")
    what = summary or f"{len(generated.tests)} tests, not run"
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"lfcode: {what}; added to {framework.test_path.name}"))
    return {"path": str(framework.test_path), "tests": generated.tests, "kept": len(generated.tests), "dropped": dropped}


def _warn_no_sandbox(ls: LfcodeServer, message: str) -> None:
    """Tell the user once per server that generated tests cannot be run (no OS sandbox)."""
    log.warning("%s", message)
    if not ls.sandbox_warned:
        ls.sandbox_warned = True
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"lfcode: generated tests are not run: {message}"))


async def _guarded(ls: LfcodeServer, command: Any, args: tuple[Any, ...]) -> Any:
    try:
        return await command(ls, args)
    except UserError as exc:
        ls.window_show_message(types.ShowMessageParams(type=exc.level, message=f"lfcode: {exc}"))
    except (explaining.GenerationCancelled, InterruptedError):
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message="lfcode: cancelled; nothing was changed"))
    except (BackendError, explaining.ExplainError, TestgenError, VerifyError, TemplateError, OSError) as exc:
        ls.show_error(f"{exc}; nothing was changed")
    return None


def register(server: LfcodeServer) -> None:
    """Register the code actions and the two commands on ``server``."""

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=[EXPLAIN_KIND, TESTS_KIND]))
    def code_action(ls: LfcodeServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return code_actions(ls, params)

    @server.command(EXPLAIN_COMMAND)
    async def explain_command(ls: LfcodeServer, *args: Any) -> Any:
        return await _guarded(ls, run_explain, args)

    @server.command(TESTS_COMMAND)
    async def tests_command(ls: LfcodeServer, *args: Any) -> Any:
        return await _guarded(ls, run_tests, args)
