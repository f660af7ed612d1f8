"""The ``lfcode.generateTests`` command (see :mod:`lfcode.testgen.service`).

It sends ``workspace/applyEdit`` with ``documentChanges``: a ``CreateFile`` (``ignoreIfExists``)
and a ``TextEdit`` inserting at the end of the test file (LSP 3.17 §"WorkspaceEdit"); the server
never writes project files itself. With ``verify_tests`` and ``observed_tests``, a Python
function tested with pytest gets tests from observed behaviour
(:func:`lfcode.testgen.service.observe`: calls run in the sandbox, the model only proposing calls
for lines nothing reached), else the model writes them. Python tests are
run in the sandbox (setting ``verify_tests``) and only the passing ones are sent; without a sandbox they are sent marked
"not run". Returns ``{"path", "tests", "kept", "dropped"}``, or ``None`` after an error shown
to the user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types

from lfcode.backends.base import Backend
from lfcode.errors import UserError
from lfcode.lsp.actions import TESTS_COMMAND, locate, parse_target, project_root_for
from lfcode.lsp.jobs import Job, guarded, require_backend
from lfcode.lsp.state import LfcodeServer
from lfcode.testgen import service
from lfcode.testgen.frameworks import Framework, FrameworkError, read_existing
from lfcode.testgen.generate import DEFAULT_TESTS, TEST_MAX_TOKENS, GeneratedTests

log = logging.getLogger(__name__)

#: Longest a run may take, seconds (model time, then the pytest run, each).
TESTS_SECONDS = 600.0


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
    # resourceOperations only has a meaning with documentChanges, so a client naming "create" there
    # takes them (Neovim 0.12 says so without setting documentChanges).
    can_create = bool(caps and types.ResourceOperationKind.Create in (caps.resource_operations or []))
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
    """The ``lfcode.generateTests`` command; returns ``{"path", "tests", "kept", "dropped"}``.

    Raises:
        UserError: bad argument, no symbol, no framework, no model, no test passed, edit refused.
        lfcode.errors.LfcodeError: the model or the run failed or was cancelled.
    """
    target = parse_target(args)
    path, text, symbol = await asyncio.to_thread(locate, ls, target.uri, target.lsp_position())
    if symbol is None:
        raise UserError("place the cursor inside a function, method or class to generate tests for it", "info")
    open_docs = ls.workspace.text_documents

    def read_test_file(framework: Framework) -> str | None:
        # The editor's text of an open test file (it may be unsaved), else the disk's.
        doc = open_docs.get(framework.test_path.as_uri())
        return doc.source if doc is not None else read_existing(framework)

    try:
        plan = await asyncio.to_thread(service.plan_tests, Path(path), text, symbol, project_root_for(ls, path), read_test_file)
    except FrameworkError as exc:
        raise UserError(str(exc), "warning") from exc
    framework = plan.framework
    open_doc = open_docs.get(framework.test_path.as_uri())
    summary = ""
    async with Job(ls, f"Generating tests for `{symbol.qualname}`") as job:
        generated = None
        if ls.settings.verify_tests and ls.settings.observed_tests:
            job.report("Running calls in the sandbox…")
            get_backend, run_model = _model_in_worker(ls)
            proposer = service.model_proposer(get_backend, plan, job.cancel, run_model)
            generated = await job.run(
                asyncio.to_thread(service.observe, plan, job.cancel, ls.settings.sandbox, proposer, job.report_threadsafe), TESTS_SECONDS
            )
        if generated is None:
            backend = await require_backend(ls, "chat")
            job.report(f"Writing {framework.name} tests…")
            generated = await job.run(
                ls.session.run_blocking(service.generate, backend, plan, job.cancel, DEFAULT_TESTS, TEST_MAX_TOKENS, job.report_threadsafe),
                TESTS_SECONDS,
            )
        dropped = 0
        if ls.settings.verify_tests and framework.language == "python":
            job.report(f"Running {len(generated.tests)} tests…")
            checked = await job.run(asyncio.to_thread(service.verify, plan, generated, job.cancel, ls.settings.sandbox), TESTS_SECONDS)
            if checked.result is None:
                _warn_no_sandbox(ls, checked.sandbox_problem or "no sandbox")
                summary = f"{len(generated.tests)} tests, not run (no sandbox)"
            else:
                summary, dropped = checked.result.summary(), len(checked.result.dropped)
                coverage = checked.generated.coverage_summary(symbol.qualname) if checked.generated is not None else None
                summary += f"; {coverage}" if coverage else ""
                job.end_message = summary
                if checked.generated is None:
                    raise UserError(f"{summary}: no generated test passed, so nothing was written", "warning")
            generated = checked.generated
        edit = edit_for_tests(ls, generated, plan.existing or "", open_doc.version if open_doc is not None else None)
    answer = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label=f"lfcode: tests for {symbol.qualname}"))
    if not answer.applied:
        raise UserError(f"the editor did not apply the tests ({answer.failure_reason or 'no reason given'})")
    what = summary or f"{len(generated.tests)} tests, not run"
    what += "".join(f". {text}" for text in generated.notes)
    ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Info, message=f"lfcode: {what}; added to {framework.test_path.name}"))
    return {"path": str(framework.test_path), "tests": generated.tests, "kept": len(generated.tests), "dropped": dropped}


def _model_in_worker(ls: LfcodeServer) -> tuple[Callable[[], Backend | None], Callable[..., Any]]:
    """For :func:`lfcode.testgen.service.model_proposer` on a worker thread: how to get the
    session's chat model (``None`` when it is unavailable) and how to run a model call in the
    inference worker (the model is never used from two threads)."""
    loop = asyncio.get_running_loop()

    def get_backend() -> Backend | None:
        return asyncio.run_coroutine_threadsafe(ls.session.chat_backend(), loop).result()

    def run(fn: Callable[..., Any], *args: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(ls.session.run_blocking(fn, *args), loop).result()

    return get_backend, run


def _warn_no_sandbox(ls: LfcodeServer, message: str) -> None:
    """Tell the user once per server that generated tests cannot be run (no OS sandbox)."""
    log.warning("%s", message)
    if not ls.sandbox_warned:
        ls.sandbox_warned = True
        ls.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=f"lfcode: generated tests are not run: {message}"))


def register(server: LfcodeServer) -> None:
    """Register the ``lfcode.generateTests`` command on ``server``."""

    @server.command(TESTS_COMMAND)
    async def tests_command(ls: LfcodeServer, *args: Any) -> Any:
        return await guarded(ls, run_tests(ls, args))


__all__ = ["UserError", "edit_for_tests", "run_tests"]
