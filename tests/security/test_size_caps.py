"""Documents over the 2 MB cap: no tree, no completion, one message; big edits in bounded time."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from lfcode.context.documents import MAX_PARSE_CHARS, DocumentStore, locate
from lfcode.context.workspace import Workspace
from lfcode.lsp import textsync
from tests.security.raw_lsp import RawServer

#: Slow end-to-end tests (server processes, the real sandbox): the slow tier of -m 'not model'.
pytestmark = pytest.mark.model

BIG = "x = 1  # filler\n" * (MAX_PARSE_CHARS // 16 + 1000)  # just over the cap
SMALL = "def f(x):\n    return x\n"


def test_oversized_document_gets_no_tree_until_it_shrinks() -> None:
    store = DocumentStore()
    snap = store.open("file:///big.py", BIG, "python", "/big.py", 1)
    assert snap.oversized and snap.tree is None and snap.source == b""
    snap = store.change("file:///big.py", [(((0, 0), (0, 5)), "y = 2")], 2)
    assert snap is not None and snap.oversized and snap.text.startswith("y = 2  # filler\n")
    snap = store.reset("file:///big.py", SMALL, 3)
    assert snap is not None and not snap.oversized and snap.tree is not None and snap.tree.root_node.type == "module"


def test_workspace_takes_the_editors_text_for_oversized_documents() -> None:
    workspace = Workspace(index=False)
    workspace.opened("file:///a.py", SMALL, "python", "/a.py", 1)
    grown = SMALL + BIG
    snap = workspace.changed("file:///a.py", [(((2, 0), (2, 0)), BIG)], 2, grown)
    assert snap is not None and snap.oversized and snap.text is grown and snap.tree is None
    snap = workspace.changed("file:///a.py", [(((2, 0), (99999999, 0)), "")], 3, SMALL)
    assert snap is not None and not snap.oversized and snap.tree is not None
    assert workspace.ring.chunks() == [] or all("filler" not in c.text for c in workspace.ring.chunks())


def _reference(text: str, change: types.TextDocumentContentChangePartial, encoding: str) -> str:
    r = change.range
    start = locate(text, (r.start.line, r.start.character), encoding).offset
    end = locate(text, (r.end.line, r.end.character), encoding).offset
    start, end = sorted((start, end))
    return text[:start] + change.text + text[end:]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8", "utf-32"])
def test_fast_text_sync_matches_the_document_store_semantics(encoding: str) -> None:
    rng = random.Random(9)
    pieces = ["a", "é", "😀", "\n", "\r\n", "\t", "zz"]
    text = "".join(rng.choice(pieces) for _ in range(textsync.FAST_SYNC_CHARS * 2))
    doc = TextDocument("file:///f.txt", text)
    for _ in range(200):
        lines = text.count("\n") + 2
        line = rng.randrange(lines)
        pos = [types.Position(line=line + rng.randrange(3) * k, character=rng.randrange(8)) for k in (0, 1)]
        change = types.TextDocumentContentChangePartial(range=types.Range(start=pos[0], end=pos[1]), text=rng.choice(pieces) * rng.randrange(3))
        text = _reference(text, change, encoding)
        assert textsync.apply(doc, change, types.PositionEncodingKind(encoding))
        assert doc.source == text


def test_an_edit_to_a_20_mb_document_takes_the_fast_path() -> None:
    """Correctness only; the time it takes is printed by ``benchmarks/event_loop.py``."""
    text = "value = 'abcdefghijklmnopqrstuvwxyz'  # line of filler text here\n" * 320_000  # ~20 MB
    doc = TextDocument("file:///huge.py", text)
    last = text.count("\n") - 1
    change = types.TextDocumentContentChangePartial(
        range=types.Range(start=types.Position(line=last, character=3), end=types.Position(line=last, character=5)), text="XY"
    )
    assert textsync.apply(doc, change)  # True: applied by the bounded path, not pygls' line-by-line rebuild
    assert doc.source.endswith("valXY = 'abcdefghijklmnopqrstuvwxyz'  # line of filler text here\n")
    assert len(doc.source) == len(text)


def test_completion_on_an_oversized_document_is_empty_with_one_message(tmp_path: Path) -> None:
    server = RawServer(tmp_path)
    try:
        server.initialize()
        path = tmp_path / "big.py"
        uri = path.as_uri()
        server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": BIG}})
        where = {"textDocument": {"uri": uri}, "position": {"line": 3, "character": 2}}
        server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [
            {"range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}, "text": "y"}]})
        seen = []
        for n, method in enumerate(["textDocument/completion", "textDocument/inlineCompletion", "textDocument/completion"]):
            params = dict(where, context={"triggerKind": 1}) if "inline" in method else where
            server.request(method, params, msg_id=n)
            answer, before = server.until(n)
            seen += before
            assert answer["result"]["items"] == [], answer
        actions = server.call("textDocument/codeAction", {"textDocument": {"uri": uri}, "range": {"start": {"line": 1, "character": 0}, "end": {"line": 1, "character": 0}}, "context": {"diagnostics": []}}, msg_id="ca")
        assert actions["result"] == []
        shown = [m["params"]["message"] for m in seen if m.get("method") == "window/showMessage" and "big.py" in m["params"]["message"]]
        assert shown == ["lfcode: big.py is 2.1 MB; completions are off for files over 2 MB"]
    finally:
        server.close()


def test_budgeted_parse_finishes_in_slices_and_matches_a_full_parse() -> None:
    text = "def f(x):\n    return [x, {'k': (1, 2)}]\n\n" * 8000  # ~330 kB: more than 1 ms of parsing
    store = DocumentStore(parse_budget_ms=1)
    snap = store.open("file:///s.py", text, "python", "/s.py", 1)
    assert snap.pending and snap.tree is None
    snap = store.change("file:///s.py", [(((5, 0), (5, 0)), "y = 1\n")], 2)  # an edit restarts it
    assert snap is not None and snap.pending
    slices = 0
    while (snap := store.resume("file:///s.py")) is not None and snap.pending:
        slices += 1
    assert slices > 1 and snap is not None and snap.tree is not None
    full = DocumentStore().open("file:///t.py", snap.text, "python", "/t.py")
    assert str(snap.tree.root_node) == str(full.tree.root_node)
    snap = store.change("file:///s.py", [(((0, 4), (0, 5)), "g")], 3)  # incremental from here on
    while snap is not None and snap.pending:
        snap = store.resume("file:///s.py")
    assert snap is not None and snap.tree is not None
    assert str(snap.tree.root_node) == str(DocumentStore().open("file:///u.py", snap.text, "python").tree.root_node)
