"""Inline completion end to end: the real ``lfcode serve`` process driven by pytest-lsp."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import STDLIB_TEXTWRAP, read_record, write_fake_script
from tests.e2e.lsp_helpers import NO_BUDGET, generation_records, inline_params, lsp_session, open_document, server_env

# 0-based: the blank line inside dedent()'s loop in textwrap.py.
BLANK_LINE_IN_DEDENT = next(
    n for n, line in enumerate(STDLIB_TEXTWRAP.read_text().splitlines()) if line.strip() == "margin = indent"
) + 1


@pytest.mark.model
@pytest.mark.parametrize("client", ["neovim", "visual-studio-code"])
async def test_embedded_model_completes_inside_a_stdlib_module(client: str, tmp_path: Path, model_cache: Path) -> None:
    env = server_env(tmp_path, cache=model_cache, **NO_BUDGET)
    async with lsp_session(env, client) as (lsp, result):
        assert result.capabilities.inline_completion_provider is not None
        assert result.capabilities.completion_provider is not None
        uri = open_document(lsp, STDLIB_TEXTWRAP)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, BLANK_LINE_IN_DEDENT, 0))
    assert isinstance(answer, types.InlineCompletionList)
    assert 1 <= len(answer.items) <= 3
    texts = [item.insert_text for item in answer.items]
    assert all(isinstance(t, str) and t.strip() for t in texts)
    assert len(set(texts)) == len(texts)
    for item in answer.items:
        assert item.range.start.line == item.range.end.line == BLANK_LINE_IN_DEDENT
    assert not any("lfcode" in m.message and m.type == types.MessageType.Error for m in lsp.messages)


async def test_automatic_trigger_returns_one_item(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["return a + b\n", "second"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "add.py"
    doc.write_text("def add(a, b):\n    \n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 4, automatic=True))
    assert [item.insert_text for item in answer.items] == ["return a + b"]
    assert answer.items[0].range.start == types.Position(line=1, character=4)


async def test_incremental_changes_are_applied_before_completing(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["b\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "m.py"
    doc.write_text("x = 1\n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=types.Position(line=1, character=0), end=types.Position(line=1, character=0)),
                        text="# 😀 emoji\ny = a + ",
                    )
                ],
            )
        )
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 2, 8))
    assert [i.insert_text for i in answer.items] == ["b"]
    prompt = read_record(script)[0]["prompt"]
    assert prompt.endswith("x = 1\n# 😀 emoji\ny = a + ")


async def test_cancel_request_stops_a_slow_generation(tmp_path: Path) -> None:
    slow = " ".join(f"word{i}" for i in range(200))
    # An Invoked request generates its answers one after the other: the first (empty) one ends at
    # once and is recorded, which tells the test that the server is inside this request's
    # generations, and that the slow one is the next.
    script = write_fake_script(tmp_path / "fake.json", ["", slow], delay_ms=100)
    # No time budget in the way: only the cancel may stop this generation.
    env = server_env(tmp_path, backend="fake", fake_script=str(script), max_latency_ms="60000", first_latency_ms="60000")
    doc = tmp_path / "slow.py"
    doc.write_text("value = \n")
    async with generation_records(script) as next_record, lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        request_id = "slow-1"
        future = asyncio.ensure_future(
            lsp.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 0, 8), msg_id=request_id)
        )
        assert (await next_record())["produced"] == ""
        await next_record(started=True)  # the slow generation is under way (not merely next)
        assert not future.done()
        loop = asyncio.get_running_loop()
        cancelled_at = loop.time()
        lsp.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=request_id))
        with pytest.raises(Exception) as answer:
            await asyncio.wait_for(future, timeout=5)
        elapsed = loop.time() - cancelled_at
        stopped = await next_record()
        # The server keeps working after a cancel.
        assert isinstance(await lsp.text_document_inline_completion_async(inline_params(uri, 0, 8)), types.InlineCompletionList)
    assert "cancel" in str(answer.value).lower()
    assert elapsed < 2.0
    assert stopped["cancelled"] is True
    assert slow.startswith(stopped["produced"])
    # Stopped within a few pieces of the cancel, not after max_tokens pieces of 100 ms each.
    assert stopped["pieces"] < 20 < stopped["max_tokens"]


async def test_newer_request_on_same_document_cancels_the_older(tmp_path: Path) -> None:
    slow = " ".join(f"word{i}" for i in range(200))
    # As above: the older request's first (empty) answer is recorded at once, its slow one is next.
    script = write_fake_script(tmp_path / "fake.json", ["", slow, "fast\n"], delay_ms=100)
    env = server_env(
        tmp_path, backend="fake", fake_script=str(script), debounce_ms="0", max_latency_ms="60000", first_latency_ms="60000"
    )
    doc = tmp_path / "two.py"
    doc.write_text("value = \n")
    async with generation_records(script) as next_record, lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        older = asyncio.ensure_future(lsp.text_document_inline_completion_async(inline_params(uri, 0, 8)))
        assert (await next_record())["produced"] == ""
        await next_record(started=True)  # the slow generation is under way
        assert not older.done()
        newer = await lsp.text_document_inline_completion_async(inline_params(uri, 0, 8))
        first = await asyncio.wait_for(older, timeout=5)
        stopped, answered = await next_record(), await next_record()
    assert list(first.items) == []
    assert [i.insert_text for i in newer.items] == ["fast"]
    assert stopped["cancelled"] is True and slow.startswith(stopped["produced"])
    assert answered["produced"] == "fast\n" and answered["cancelled"] is False


async def test_completion_fallback_for_clients_without_inline_completion(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["urn total\n    # done\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "f.py"
    doc.write_text("def f(total):\n    ret\n")
    async with lsp_session(env, client="no-inline") as (lsp, result):
        uri = open_document(lsp, doc)
        answer = await lsp.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=7))
        )
    assert isinstance(answer, types.CompletionList)
    assert len(answer.items) == 1
    item = answer.items[0]
    assert item.label == "return total"
    assert item.text_edit.new_text == "return total"
    assert item.text_edit.range.start == types.Position(line=1, character=4)
    assert item.text_edit.range.end == types.Position(line=1, character=7)


async def test_the_cursor_notification_prefills_the_prompt_of_the_next_request(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["return a + b\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "add.py"
    doc.write_text("def add(a, b):\n    \n")
    async with generation_records(script) as next_record, lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        lsp.protocol.notify("lfcode/cursor", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 4}})
        prefilled = await next_record()
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 4, automatic=True))
        generated = await next_record()
    assert [item.insert_text for item in answer.items] == ["return a + b"]
    assert prefilled["prefill"] == generated["prompt"]
