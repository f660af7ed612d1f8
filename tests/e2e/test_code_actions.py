"""Explain and Generate-tests end to end: the real ``lfcode serve`` driven by pytest-lsp.

The client records ``workspace/applyEdit`` without applying it, so that a hash of the project
tree before and after proves the server itself changed no file.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import re
import shutil
import sysconfig
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from lfcode.testgen.generate import parses
from tests.conftest import read_record, write_fake_script
from tests.e2e.lsp_helpers import lsp_session, open_document, server_env

FIXTURE = Path(__file__).parent / "test_data" / "code_actions"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


def make_project(tmp_path: Path) -> Path:
    """A copy of the fixture project (``*.py.txt`` files renamed to ``*.py``)."""
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    for stored in root.rglob("*.py.txt"):
        stored.rename(stored.with_suffix(""))
    return root


def tree_hash(root: Path) -> dict[str, str]:
    """Every file under ``root`` with its sha256."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def record_edits(lsp: LanguageClient, applied: bool = True) -> list[types.ApplyWorkspaceEditParams]:
    """Answer ``workspace/applyEdit`` (without touching files) and keep every request."""
    edits: list[types.ApplyWorkspaceEditParams] = []

    def apply_edit(client: LanguageClient, params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
        edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=applied)

    lsp.feature(types.WORKSPACE_APPLY_EDIT)(apply_edit)
    return edits


def at(uri: str, line: int, character: int = 4) -> dict:
    """The command argument the VS Code extension sends."""
    return {"uri": uri, "position": {"line": line, "character": character}}


def action_params(uri: str, line: int, character: int = 0) -> types.CodeActionParams:
    where = types.Position(line=line, character=character)
    return types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=where, end=where),
        context=types.CodeActionContext(diagnostics=[]),
    )


def commands(result: list | None) -> list[tuple[str, str, list]]:
    """``(title, command, arguments)`` of each code action.

    lsprotocol's converter reads a ``CodeAction`` holding a ``command`` object as the other member
    of the ``Command | CodeAction`` union, with that object's repr as its ``command`` string; the
    wire data is a CodeAction, so the inner command is read back from that repr.
    """
    found = []
    for item in result or []:
        inner = item.command if isinstance(item, types.CodeAction) else ast.literal_eval(item.command)
        inner = inner if isinstance(inner, dict) else {"title": inner.title, "command": inner.command, "arguments": inner.arguments}
        found.append((item.title, inner["command"], inner["arguments"]))
    return found


def job_progress(lsp: LanguageClient, title: str) -> tuple[str | None, list]:
    """The progress token and reports of the job whose begin title starts with ``title``."""
    for token, reports in lsp.progress_reports.items():
        if reports and isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].title.startswith(title):
            return token, reports
    return None, []


async def job_started(lsp: LanguageClient, title: str, timeout: float = 10) -> str:
    """Wait for the ``$/progress`` begin of the job whose title starts with ``title``; returns
    its token. Each ``$/progress`` notification wakes the wait (pytest-lsp records it before the
    waiter runs), so nothing polls; ``timeout`` bounds the whole wait."""

    async def begun() -> str:
        while (token := job_progress(lsp, title)[0]) is None:
            await lsp.wait_for_notification(types.PROGRESS)
        return token

    return await asyncio.wait_for(begun(), timeout)


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines()) if needle in line)

async def generate_tests_for_add(env: dict[str, str], root: Path) -> tuple[list[types.ApplyWorkspaceEditParams], Any, LanguageClient]:
    """Open ``calc.py`` in a fresh server and run ``lfcode.generateTests`` inside ``add``:
    ``(the workspace edits the server sent, the command's answer, the client)``."""
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, root / "calc.py")
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.generateTests", arguments=[at(uri, line_of(root / "calc.py", "return a + b"))])
        )
    return edits, answer, lsp



#: The fake model's answer for `mean` (the summary's start, "**Summary.** `mean`", is the prompt's).
EXPLANATION_MEAN = " averages `values` with `add`.\n\n**How it works.**\n- It divides the total by `len(values)`.\n- It calls `print_report`.\n\n"
EXPLANATION = " adds `a` and `b`.\n\n**How it works.**\n- It returns `a + b`.\n\n**Returns.** The sum.\n\n"
PASSING = "2, 3) == 5\n"  # continues "def test_add():\n    assert add("
FAILING = "2, 2) == 5\n"


async def test_actions_are_offered_inside_symbols_and_nowhere_else(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    env = server_env(tmp_path, backend="fake")
    async with lsp_session(env, root=root) as (lsp, result):
        assert result.capabilities.code_action_provider
        assert {"lfcode.explain", "lfcode.generateTests"} <= set(result.capabilities.execute_command_provider.commands)
        uri = open_document(lsp, root / "calc.py")
        inside = await lsp.text_document_code_action_async(action_params(uri, line_of(root / "calc.py", "return a + b"), 6))
        blank = await lsp.text_document_code_action_async(action_params(uri, 2))
        method = await lsp.text_document_code_action_async(action_params(uri, line_of(root / "calc.py", "self.count = add"), 8))
        quickfix_only = types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=types.Position(line=5, character=4), end=types.Position(line=5, character=4)),
            context=types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
        filtered = await lsp.text_document_code_action_async(quickfix_only)
    add_line = line_of(root / "calc.py", "return a + b")
    assert commands(inside) == [
        ("lfcode: Explain `add`", "lfcode.explain", [{"uri": uri, "position": {"line": add_line, "character": 6}}]),
        ("lfcode: Generate tests for `add`", "lfcode.generateTests", [{"uri": uri, "position": {"line": add_line, "character": 6}}]),
    ]
    assert not blank
    assert [title for title, _, _ in commands(method)] == ["lfcode: Explain `Counter.tick`", "lfcode: Generate tests for `Counter.tick`"]
    assert not filtered
    assert not [m for m in lsp.messages if m.type == types.MessageType.Error]


# Runs the generated tests with pytest in the real bubblewrap sandbox (a second interpreter
# loading every pytest plugin of this venv): the slow tier.
@pytest.mark.sandbox
@pytest.mark.model
async def test_generate_tests_applies_only_the_passing_test_to_the_conventional_file(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = tree_hash(root)
    script = write_fake_script(tmp_path / "fake.json", [PASSING, FAILING])
    env = server_env(tmp_path, observed_tests="false", backend="fake", fake_script=str(script))
    edits, answer, lsp = await generate_tests_for_add(env, root)
    assert tree_hash(root) == before
    assert len(edits) == 1
    create, change = edits[0].edit.document_changes
    target = (root / "tests" / "test_calc.py").as_uri()
    assert isinstance(create, types.CreateFile) and create.uri == target and create.options.ignore_if_exists
    assert isinstance(change, types.TextDocumentEdit) and change.text_document.uri == target
    (edit,) = change.edits
    assert edit.range.start == edit.range.end == types.Position(line=0, character=0)
    ast.parse(edit.new_text)
    assert parses(edit.new_text, "python")
    assert "from calc import add" in edit.new_text
    assert "def test_add():\n    assert add(2, 3) == 5\n" in edit.new_text
    assert "assert add(2, 2) == 5" not in edit.new_text
    assert answer["kept"] == 1 and answer["dropped"] == 1
    assert any("1 kept, 1 dropped" in m.message for m in lsp.messages)
    _, reports = job_progress(lsp, "Generating tests for `add`")
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and reports[0].cancellable
    assert any(isinstance(r, types.WorkDoneProgressReport) for r in reports)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message == "1 kept, 1 dropped"


# The observed path: lfcode proposes calls, runs them in the real sandbox, asserts what they did.
@pytest.mark.sandbox
@pytest.mark.model
async def test_generate_tests_from_observed_behaviour_needs_no_model(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = tree_hash(root)
    env = server_env(tmp_path, backend="fake", fake_script=str(tmp_path / "missing.json"))  # no usable model
    edits, answer, lsp = await generate_tests_for_add(env, root)
    assert tree_hash(root) == before
    (change,) = [c for c in edits[0].edit.document_changes if isinstance(c, types.TextDocumentEdit)]
    (edit,) = change.edits
    assert edit.new_text.startswith("# Generated by lfcode from observed behaviour of add")
    assert parses(edit.new_text, "python") and "from calc import add" in edit.new_text
    assert re.search(r"assert add\((-?[\d.]+), (-?[\d.]+)\) == ", edit.new_text)
    assert answer["kept"] >= 1 and answer["dropped"] == 0


async def test_generate_tests_asks_the_model_for_calls_that_reach_uncovered_lines(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    (root / "lock.py").write_text('def unlock(code: int) -> str:\n    if code * 7 == 337491:\n        return "open"\n    return "closed"\n')
    before = tree_hash(root)
    script = write_fake_script(tmp_path / "fake.json", [], default="unlock(48213)\n")
    env = server_env(tmp_path, backend="fake", fake_script=str(script))
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, root / "lock.py")
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.generateTests", arguments=[at(uri, line_of(root / "lock.py", 'return "closed"'))])
        )
    assert tree_hash(root) == before
    (change,) = [c for c in edits[0].edit.document_changes if isinstance(c, types.TextDocumentEdit)]
    text = change.edits[0].new_text
    assert "    # call proposed by the model; the expected value was observed\n    assert unlock(48213) == 'open'" in text
    assert answer["dropped"] == 0 and answer["kept"] >= 2
    assert any("100% line coverage of `unlock`" in m.message for m in lsp.messages)
    prompts = [r["prompt"] for r in read_record(script)]
    assert prompts and 'return "open"  # not run yet' in prompts[0]


async def test_generate_tests_appends_after_an_existing_test_file(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    existing = "from calc import add\n\n\ndef test_add_zero():\n    assert add(0, 0) == 0\n"
    (root / "tests" / "test_calc.py").write_text(existing)
    before = tree_hash(root)
    script = write_fake_script(tmp_path / "fake.json", [PASSING])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), verify_tests="false")
    edits, _, lsp = await generate_tests_for_add(env, root)
    assert tree_hash(root) == before
    (edit,) = edits[0].edit.document_changes[1].edits
    assert edit.range.start == edit.range.end == types.Position(line=5, character=0)
    assert edit.new_text.startswith("\n\n")
    assert "from calc import add\n" not in edit.new_text
    ast.parse(existing + edit.new_text)
    assert any("not run" in m.message for m in lsp.messages)


async def test_explain_shows_a_markdown_document_outside_the_project(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    before = tree_hash(root)
    script = write_fake_script(tmp_path / "fake.json", [EXPLANATION_MEAN])
    env = server_env(tmp_path, backend="fake", fake_script=str(script))
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, root / "calc.py")
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.explain", arguments=[at(uri, line_of(root / "calc.py", "return add(sum"))])
        )
    assert tree_hash(root) == before and not edits
    (shown,) = lsp.shown_documents
    document = Path(shown.uri.removeprefix("file://"))
    assert document.is_file() and document.suffix == ".md"
    assert document.is_relative_to(tmp_path / "cache" / "lfcode" / "explanations")
    assert not document.is_relative_to(root)
    text = document.read_text()
    assert "# Function `mean`" in text and "It divides the total by `len(values)`." in text
    assert text.index("## Facts") < text.index("## Examples") < text.index("## Summary (local model)")
    assert f"`add` (`{root / 'calc.py'}:4`)" in text and "`sum` (builtin)" in text and "`len` (builtin)" in text
    assert "print_report" not in text  # the model named something that is not in the code: dropped


async def test_explain_falls_back_to_show_message_without_show_document(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [EXPLANATION])
    env = server_env(tmp_path, backend="fake", fake_script=str(script))
    async with lsp_session(env, client="emacs", root=root) as (lsp, _):
        uri = open_document(lsp, root / "calc.py")
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.explain", arguments=[at(uri, line_of(root / "calc.py", "return a + b"))])
        )
    assert not lsp.shown_documents
    assert any("**How it works.**" in m.message and m.type == types.MessageType.Info for m in lsp.messages)


async def test_cancelling_the_progress_applies_no_edit(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [PASSING * 40], delay_ms=50)
    env = server_env(tmp_path, observed_tests="false", backend="fake", fake_script=str(script))
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, root / "calc.py")
        task = asyncio.ensure_future(
            lsp.workspace_execute_command_async(
                types.ExecuteCommandParams(command="lfcode.generateTests", arguments=[at(uri, line_of(root / "calc.py", "return a + b"))])
            )
        )
        token = await job_started(lsp, "Generating tests")
        lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        answer = await asyncio.wait_for(task, 30)
    assert answer is None and not edits
    assert any("cancelled" in m.message for m in lsp.messages)
    assert lsp.progress_reports[token][-1].message == "Cancelled"


async def test_a_missing_model_gives_a_message_and_no_edit(tmp_path: Path) -> None:
    root = make_project(tmp_path)
    env = server_env(tmp_path, observed_tests="false", backend="fake", fake_script=str(tmp_path / "missing.json"))
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, root / "calc.py")
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.generateTests", arguments=[at(uri, 5)])
        )
    assert answer is None and not edits
    assert any("model is not available" in m.message for m in lsp.messages)


@pytest.mark.model
async def test_embedded_model_on_a_stdlib_module_in_a_small_project(tmp_path: Path, model_cache: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "wrap"\nversion = "0"\n')
    module = root / "textwrap.py"
    shutil.copy(STDLIB / "textwrap.py", module)
    before = tree_hash(root)
    # Tests from observed behaviour (the default): the model-written path depends on the exact
    # llama.cpp build (llama-cpp-python 0.3.36's greedy answer for `dedent` fails verification).
    env = server_env(tmp_path, cache=model_cache, n_threads="1")
    inside = line_of(module, "margin = None")
    async with lsp_session(env, root=root) as (lsp, _):
        edits = record_edits(lsp)
        uri = open_document(lsp, module)
        actions = await lsp.text_document_code_action_async(action_params(uri, inside, 8))
        explained = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.explain", arguments=[at(uri, inside, 8)])
        )
        await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.generateTests", arguments=[at(uri, inside, 8)])
        )
    assert [title for title, _, _ in commands(actions)] == ["lfcode: Explain `dedent`", "lfcode: Generate tests for `dedent`"]
    document = Path(lsp.shown_documents[0].uri.removeprefix("file://"))
    assert not document.is_relative_to(root) and explained["markdown"].strip()
    explained_text = document.read_text()
    assert "## Facts" in explained_text and "`re.sub` (library)" in explained_text and "## Summary (local model)" in explained_text
    assert tree_hash(root) == before
    (edit,) = edits[0].edit.document_changes[1].edits
    assert edits[0].edit.document_changes[0].uri == (root / "test_textwrap.py").as_uri()
    assert parses(edit.new_text, "python") and "def test_dedent" in edit.new_text
    assert any("kept" in m.message for m in lsp.messages)
