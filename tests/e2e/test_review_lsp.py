"""The ``lfcode.review`` LSP command publishes findings as diagnostics and clears them next run."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.conftest import write_fake_script
from tests.e2e.lsp_helpers import lsp_session, open_document, server_env
from tests.e2e.test_review_command import FINDING, make_repo


async def test_lsp_review_publishes_and_then_clears_diagnostics(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    script = write_fake_script(tmp_path / "fake.json", [FINDING, "[]"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script))
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
