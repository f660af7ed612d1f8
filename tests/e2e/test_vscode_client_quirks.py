"""What VS Code's language client sends that the final LSP 3.18 does not foresee, against the real
``lfcode serve`` over raw stdio (found in a real editor, code-server; see issue 10).

- vscode-languageclient appends ``--stdio`` to a stdio server's command line;
- vscode-languageclient 9 sends ``InlineCompletionTriggerKind`` in the *proposed* numbering
  (Invoked = 0, Automatic = 1). The server takes any kind it does not know as Invoked and always
  answers, never ``-32602``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lfcode.cli import cli
from tests.conftest import server_command, write_fake_script
from tests.security import raw_lsp
from tests.security.raw_lsp import RawServer, raw_env

#: Slow end-to-end tests (server processes, the real sandbox): the slow tier of -m 'not model'.
pytestmark = pytest.mark.model

RESPONSES = ["return a + b\n", "return b + a\n", "return sum((a, b))\n", "return a - -b\n"]


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RawServer]:
    """``lfcode serve --stdio``, as VS Code's client starts it, with a fake backend."""
    monkeypatch.setattr(raw_lsp, "server_command", lambda: server_command("--stdio"))
    script = write_fake_script(tmp_path / "fake.json", [], default="return a + b\n")
    raw = RawServer(tmp_path, raw_env(tmp_path, fake_script=str(script)))
    try:
        assert "result" in raw.initialize(tmp_path), raw.stderr()
        doc = tmp_path / "add.py"
        doc.write_text("def add(a, b):\n    \n")
        raw.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": doc.as_uri(), "languageId": "python", "version": 1, "text": doc.read_text()}},
        )
        raw.doc_uri = doc.as_uri()  # type: ignore[attr-defined]
        yield raw
    finally:
        raw.close()


def inline(server: RawServer, context: Any, msg_id: str) -> dict[str, Any]:
    params: dict[str, Any] = {"textDocument": {"uri": server.doc_uri}, "position": {"line": 1, "character": 4}}  # type: ignore[attr-defined]
    if context is not ...:
        params["context"] = context
    return server.call("textDocument/inlineCompletion", params, msg_id=msg_id)


def test_serve_accepts_stdio_flag(server: RawServer) -> None:
    answer = inline(server, {"triggerKind": 2}, "auto")
    assert answer["result"]["items"][0]["insertText"] == "return a + b"
    assert "No such option" not in server.stderr()


def test_serve_refuses_stdio_with_tcp() -> None:
    result = CliRunner().invoke(cli, ["serve", "--stdio", "--tcp"])
    assert result.exit_code == 2
    assert "--stdio and --tcp" in result.output


@pytest.mark.parametrize(
    "context",
    [
        {"triggerKind": 0},  # vscode-languageclient 9's "Invoked"
        {"triggerKind": 99},
        {"triggerKind": "1"},
        {"triggerKind": True},
        {"triggerKind": None},
        {},
        ...,  # no context at all
    ],
    ids=["zero", "ninety-nine", "string", "boolean", "null", "absent", "no-context"],
)
def test_unknown_trigger_kind_is_answered_as_invoked(server: RawServer, context: Any) -> None:
    answer = inline(server, context, "odd")
    assert "error" not in answer, answer
    assert [item["insertText"] for item in answer["result"]["items"]] == ["return a + b"]
    assert "is not a valid InlineCompletionTriggerKind" not in server.stderr()


def test_invoked_and_automatic_keep_their_meaning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Invoked (1) asks for several items, Automatic (2) for one: the fix-up changes neither."""
    monkeypatch.setattr(raw_lsp, "server_command", lambda: server_command("--stdio"))
    script = write_fake_script(tmp_path / "fake.json", RESPONSES * 3)
    raw = RawServer(tmp_path, raw_env(tmp_path, fake_script=str(script)))
    try:
        raw.initialize(tmp_path)
        doc = tmp_path / "add.py"
        doc.write_text("def add(a, b):\n    \n")
        raw.notify("textDocument/didOpen", {"textDocument": {"uri": doc.as_uri(), "languageId": "python", "version": 1, "text": doc.read_text()}})
        raw.doc_uri = doc.as_uri()  # type: ignore[attr-defined]
        automatic = inline(raw, {"triggerKind": 2}, "a")["result"]["items"]
        invoked = inline(raw, {"triggerKind": 1}, "i")["result"]["items"]
        proposed_invoked = inline(raw, {"triggerKind": 0}, "z")["result"]["items"]
    finally:
        raw.close()
    assert len(automatic) == 1
    assert len(invoked) > 1
    assert len(proposed_invoked) == len(invoked)


def test_malformed_inline_params_are_still_invalid_params(server: RawServer) -> None:
    answer = server.call("textDocument/inlineCompletion", {"position": {"line": 1}, "context": "x"}, msg_id="bad")
    assert answer["error"]["code"] == -32602
