"""Completion quality end to end: the real ``lfcode serve`` with the scripted fake backend.

Incremental edits reach the tree-sitter context, post-processing cleans what the model says,
typed-ahead reuse answers without the model, and unknown languages still complete.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types

from tests.conftest import read_record, write_fake_script
from tests.e2e.lsp_helpers import inline_params, lsp_session, open_document, server_env


def _change(uri: str, version: int, line: int, character: int, text: str) -> types.DidChangeTextDocumentParams:
    where = types.Position(line=line, character=character)
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=where, end=where), text=text)],
    )


async def test_typed_ahead_characters_are_answered_from_the_shown_suggestion(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["result = compute(a, b)\n", "never used\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "calc.py"
    doc.write_text("def f(a, b):\n    \n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        first = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 4, automatic=True))
        lsp.text_document_did_change(_change(uri, 2, 1, 4, "resu"))
        second = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 8, automatic=True))
    assert [i.insert_text for i in first.items] == ["result = compute(a, b)"]
    assert [i.insert_text for i in second.items] == ["lt = compute(a, b)"]
    assert second.items[0].range.start == types.Position(line=1, character=8)
    assert len(read_record(script)) == 1  # the second answer did not reach the model


async def test_closer_already_in_the_suffix_is_not_repeated(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["items))\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "p.py"
    doc.write_text("print(len())\n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 0, 10, automatic=True))
    assert [i.insert_text for i in answer.items] == ["items"]


async def test_completion_after_incremental_edits_uses_the_edited_text(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["x * 2;\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "m.js"
    doc.write_text("function f(x) {\n}\n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc, language_id="javascript")
        lsp.text_document_did_change(_change(uri, 2, 1, 0, "  const s = '😀';\n  return \n"))
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 2, 9, automatic=True))
    assert [i.insert_text for i in answer.items] == ["x * 2;"]
    assert read_record(script)[0]["prompt"].endswith("const s = '😀';\n  return ")


async def test_unknown_language_still_completes(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["world\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "notes.txt"
    doc.write_text("hello \n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc, language_id="plaintext")
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 0, 6, automatic=True))
    assert [i.insert_text for i in answer.items] == ["world"]
