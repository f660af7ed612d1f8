"""``lsp.actions.locate`` reuses the workspace's incremental tree instead of reparsing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from lsprotocol import types
from pygls.workspace import Workspace as EditorDocuments

from lfcode.context import languages
from lfcode.context.workspace import Workspace
from lfcode.lsp import actions

SOURCE = "class Box:\n    def area(self, w, h):\n        return w * h\n"


@pytest.fixture
def server(tmp_path):
    path = tmp_path / "box.py"
    path.write_text(SOURCE)
    uri = path.as_uri()
    editor = EditorDocuments(None)
    editor.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=1, text=SOURCE))
    workspace = Workspace()
    workspace.opened(uri, SOURCE, "python", str(path), 1)
    yield SimpleNamespace(workspace=editor, session=SimpleNamespace(workspace=workspace)), uri
    workspace.close()


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the parsers made (every parse outside the document store makes one)."""
    made: list[str] = []
    original = languages.LanguageSpec.parser

    def counting(self: languages.LanguageSpec):
        made.append(self.name)
        return original(self)

    monkeypatch.setattr(languages.LanguageSpec, "parser", counting)
    return made


def test_locate_uses_the_stored_tree_when_it_matches_the_text(server, parses: list[str]) -> None:
    ls, uri = server
    assert ls.session.workspace.documents.get(uri).tree is not None
    _, _, symbol = actions.locate(ls, uri, types.Position(line=2, character=10))
    assert symbol is not None and symbol.qualname == "Box.area"
    assert parses == []


def test_locate_parses_when_the_stored_text_is_stale(server, parses: list[str]) -> None:
    ls, uri = server
    changed = SOURCE.replace("w * h", "h * w")
    ls.workspace.put_text_document(types.TextDocumentItem(uri=uri, language_id="python", version=2, text=changed))
    _, text, symbol = actions.locate(ls, uri, types.Position(line=2, character=10))
    assert text == changed
    assert symbol is not None and symbol.qualname == "Box.area"
    assert parses == ["python"]
