"""The ``lfcode.review`` LSP command publishes findings as diagnostics and clears them next run;
a cancelled review publishes nothing."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import write_fake_script
from tests.e2e.lsp_helpers import generation_records, lsp_session, open_document, server_env
from tests.e2e.test_code_actions import job_started
from tests.e2e.test_review_command import FINDING, make_repo


async def test_lsp_review_publishes_and_then_clears_diagnostics(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [FINDING, "[]"], probability=0.99)
    env = server_env(tmp_path, backend="fake", fake_script=str(script), review_analyzers="model")
    async with lsp_session(env, root=repo) as (lsp, result):
        assert "lfcode.review" in result.capabilities.execute_command_provider.commands
        uri = open_document(lsp, repo / "m.py")
        first = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.review", arguments=[{"workspaceFolder": repo.as_uri()}])
        )
        published = list(lsp.diagnostics.get(uri, []))
        second = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="lfcode.review", arguments=[]))
        cleared = list(lsp.diagnostics.get(uri, []))
    assert [f["message"] for f in first["findings"]] == ["add() subtracts"]
    assert [(d.source, d.range.start.line, d.severity) for d in published] == [("lfcode", 1, types.DiagnosticSeverity.Error)]
    assert second["findings"] == [] and cleared == []


def two_hunk_repo(tmp_path: Path) -> Path:
    """A repository whose ``m.py`` has two changed hunks (lines 2 and 20), the first one a bug."""
    repo = tmp_path / "repo"
    repo.mkdir()
    run = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)  # noqa: E731
    before = ["def add(a, b):", "    return a + b", *[f"x{i} = {i}" for i in range(3, 20)], "y = 2", "z = 3"]
    (repo / "m.py").write_text("\n".join(before) + "\n")
    run("init", "-q")
    run("add", ".")
    run("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "init")
    after = [line.replace("a + b", "a - b").replace("y = 2", "y = 20") for line in before]
    (repo / "m.py").write_text("\n".join(after) + "\n")
    return repo


async def test_cancelling_the_review_publishes_nothing_and_says_where_it_stopped(tmp_path: Path) -> None:
    repo = two_hunk_repo(tmp_path)
    slow = "[" + " ".join(f"word{i}" for i in range(200))
    # The first hunk's answer is a finding; the cancel comes while the second one is generated.
    script = write_fake_script(tmp_path / "fake.json", [FINDING, slow], delay_ms=20)
    env = server_env(tmp_path, backend="fake", fake_script=str(script), review_analyzers="model")
    async with generation_records(script) as next_record, lsp_session(env, root=repo) as (lsp, _):
        uri = open_document(lsp, repo / "m.py")
        task = asyncio.ensure_future(
            lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="lfcode.review", arguments=[]))
        )
        first = await next_record(30)
        await next_record(started=True)  # the second hunk's generation is under way
        token = await job_started(lsp, "lfcode: Review changes")
        lsp.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
        answer = await asyncio.wait_for(task, 30)
        stopped = await next_record()
    assert first["produced"] == FINDING and not first["cancelled"]
    assert stopped["cancelled"] is True
    assert answer is None
    # The first hunk's finding was found, but a cancelled review publishes no diagnostic at all.
    assert uri not in lsp.diagnostics
    infos = [m.message for m in lsp.messages if m.type == types.MessageType.Info]
    assert "lfcode: review cancelled after 1 of 2 hunks; no diagnostics were changed" in infos
    assert not [m for m in lsp.messages if "review found" in m.message or m.type == types.MessageType.Error]
    assert lsp.progress_reports[token][-1].message == "Cancelled"


@pytest.mark.sandbox
@pytest.mark.model
async def test_a_behaviour_finding_reaches_the_editor_with_its_evidence(tmp_path: Path) -> None:
    """The behaviour diff runs ``add`` old and new in the real sandbox; the diagnostic carries the
    call and both results in ``relatedInformation`` (LSP 3.18 ``DiagnosticRelatedInformation``)."""
    repo = make_repo(tmp_path)
    env = server_env(tmp_path, backend="fake", review_analyzers="behaviour,ruff")
    async with lsp_session(env, root=repo) as (lsp, _result):
        uri = open_document(lsp, repo / "m.py")
        answer = await lsp.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lfcode.review", arguments=[{"workspaceFolder": repo.as_uri()}])
        )
        published = list(lsp.diagnostics.get(uri, []))
    (diagnostic,) = published
    assert (diagnostic.code, diagnostic.range.start.line, diagnostic.severity) == (
        "behaviour/changed-result", 1, types.DiagnosticSeverity.Warning)
    assert diagnostic.message.startswith("`add(") and " before and " in diagnostic.message
    (related,) = diagnostic.related_information
    assert related.location.uri == uri and related.location.range.start.line == 1
    assert related.message.startswith("evidence: the old and the new `add` ran the same ")
    assert answer["findings"][0]["evidence"]["kind"] == "run"


async def test_without_a_model_the_editor_review_still_runs_the_other_analyzers(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    (repo / "m.py").write_text("def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, y)\n")
    env = server_env(tmp_path, model=str(tmp_path / "missing.gguf"), review_analyzers="model,ruff")
    async with lsp_session(env, root=repo) as (lsp, _result):
        uri = open_document(lsp, repo / "m.py")
        answer = await lsp.workspace_execute_command_async(types.ExecuteCommandParams(command="lfcode.review", arguments=[]))
        published = list(lsp.diagnostics.get(uri, []))
    assert [(d.code, d.range.start.line, d.severity) for d in published] == [("ruff/F821", 5, types.DiagnosticSeverity.Error)]
    assert any(n.startswith("the model analyzer did not run: no model:") for n in answer["notes"]), answer["notes"]
