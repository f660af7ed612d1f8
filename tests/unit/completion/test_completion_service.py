"""``lfcode complete`` builds the editor's prompt: the completion service indexes the project,
opens the file as ``didOpen`` does and asks the way the language server asks."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from lsprotocol import types
from pygls.workspace import Workspace as EditorDocuments

from lfcode.backends.fake import FakeBackend
from lfcode.cli import cli
from lfcode.completion import service
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete
from lfcode.context.index import SymbolIndex
from lfcode.context.workspace import Workspace
from lfcode.lsp import completion as lsp_completion
from lfcode.lsp import documents as lsp_documents
from lfcode.session import Session
from lfcode.settings import Settings

GEOMETRY = '''def scale_vector(values, factor):
    """Multiply every value by factor."""
    return [v * factor for v in values]
'''
#: The definition the prompt shows from the other file (as a comment of the file's language).
DEFINITION = '# def scale_vector(values, factor):\n# Multiply every value by factor.\n'
# The call sits in the 16-line grid cell above the cursor's, where the prompt takes names from.
MAIN = "from geometry import scale_vector\n\nscaled = scale_vector([1, 2, 3], 2)\n" + "".join(
    f"row{i} = {i}\n" for i in range(20)
) + "total = \n"
CURSOR = MAIN.index("total = ") + len("total = ")
LINE = MAIN[:CURSOR].count("\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    (root / "pkg" / "geometry.py").write_text(GEOMETRY)
    (root / "main.py").write_text(MAIN)
    return root


def test_the_cli_path_shows_a_definition_from_another_file_of_the_project(project: Path) -> None:
    backend = FakeBackend(["sum(scaled)\n"])
    result = service.complete_file(backend, project / "main.py", MAIN, CURSOR)
    assert result.items == ["sum(scaled)"]
    prompt = backend.requests[0].prompt
    assert "# pkg/geometry.py:\n" + DEFINITION in prompt
    assert prompt.endswith(MAIN[:CURSOR])
    # The engine alone (the CLI before) saw this file only.
    alone = FakeBackend(["sum(scaled)\n"])
    complete(alone, CompletionInput(MAIN, CURSOR, str(project / "main.py")), CompletionOptions())
    assert "scale_vector(values, factor)" not in alone.requests[0].prompt


class _Registrar:
    """Stands in for the server in ``register(server)``: keeps the handlers by method name."""

    def __init__(self, session: Session) -> None:
        self.session, self.handlers = session, {}

    def feature(self, method: str, *_options):
        def keep(handler):
            self.handlers[method] = handler
            return handler

        return keep


async def _editor_prompt(root: Path, settings: Settings) -> str:
    """The prompt of the language server's own handlers: ``didOpen`` of ``main.py``, the index
    done (the user has been typing a while), then a completion at the cursor."""
    backend = FakeBackend(["sum(scaled)\n"])
    session = Session(settings, lambda _settings: backend)
    registrar = _Registrar(session)
    lsp_documents.register(registrar)
    editor = EditorDocuments(root.as_uri())
    ls = SimpleNamespace(session=session, workspace=editor, project_root=root, settings=settings)
    item = types.TextDocumentItem(uri=(root / "main.py").as_uri(), language_id="python", version=1, text=MAIN)
    editor.put_text_document(item)  # pygls' own didOpen, before lfcode's handler
    registrar.handlers[types.TEXT_DOCUMENT_DID_OPEN](ls, types.DidOpenTextDocumentParams(text_document=item))
    try:
        assert session.workspace.index.wait_idle(10)
        _, items = await lsp_completion.suggest(ls, item.uri, types.Position(line=LINE, character=len("total = ")), 1, False)
    finally:
        await session.close()
    assert items == ["sum(scaled)"]
    return backend.requests[0].prompt


async def test_the_cli_path_and_the_language_server_build_the_same_prompt(project: Path) -> None:
    settings = Settings(backend="fake")
    editor = await _editor_prompt(project, settings)
    backend = FakeBackend(["sum(scaled)\n"])
    service.complete_file(backend, project / "main.py", MAIN, CURSOR, CompletionOptions.from_settings(settings, 1))
    assert backend.requests[0].prompt == editor
    assert DEFINITION in editor


def test_lfcode_complete_prints_the_suggestion_made_with_the_project_context(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backends: list[FakeBackend] = []

    def fake_backend(_settings):
        backends.append(FakeBackend(["sum(scaled)\n"]))
        return backends[-1]

    monkeypatch.setattr("lfcode.backends.make_backend", fake_backend)
    for key in [k for k in os.environ if k.startswith("LFCODE_")]:
        monkeypatch.delenv(key)
    env = {"XDG_CONFIG_HOME": str(project.parent / "config")}
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["complete", "main.py", str(LINE + 1), str(len("total = ") + 1)], env=env)
    assert result.exit_code == 0, result.output
    assert result.output == "sum(scaled)\n"
    assert DEFINITION in backends[0].requests[0].prompt


def test_the_index_wait_is_bounded_and_the_workspace_closed(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    closed: list[Workspace] = []
    monkeypatch.setattr(SymbolIndex, "wait_idle", lambda self, timeout=10.0: waits.append(timeout) or False)
    original_close = Workspace.close

    def close(self: Workspace) -> None:
        closed.append(self)
        original_close(self)

    monkeypatch.setattr(Workspace, "close", close)
    backend = FakeBackend(["sum(scaled)\n"])
    result = service.complete_file(backend, project / "main.py", MAIN, CURSOR, cancel=threading.Event())
    assert result.items == ["sum(scaled)"]  # an index still busy does not stop the completion
    assert waits == [service.INDEX_WAIT_S] and 0 < service.INDEX_WAIT_S <= 10
    assert len(closed) == 1
