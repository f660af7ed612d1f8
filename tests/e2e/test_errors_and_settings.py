"""Bad input never stops the server: bad model paths and invalid settings give a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import read_record, write_fake_script
from tests.e2e.lsp_helpers import inline_params, lsp_session, open_document, server_env


def _errors(lsp) -> list[str]:
    return [m.message for m in lsp.messages if m.type == types.MessageType.Error]


@pytest.mark.parametrize(
    ("make_model", "expected"),
    [
        (lambda d: d / "missing.gguf", "model file not found"),
        (lambda d: (d / "corrupt.gguf").write_bytes(b"\x00\x01not a model" * 100) and d / "corrupt.gguf", "not a GGUF"),
        (lambda d: (d / "truncated.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 64) and d / "truncated.gguf", "could not load"),
    ],
    ids=["missing", "corrupt", "truncated"],
)
async def test_bad_model_gives_a_message_and_the_server_still_answers(tmp_path: Path, make_model, expected: str) -> None:
    model = make_model(tmp_path)
    env = server_env(tmp_path, model=str(model))
    doc = tmp_path / "a.py"
    doc.write_text("def f():\n    return \n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 1, 11))
        completion = await lsp.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=11))
        )
    assert list(answer.items) == []
    assert list(completion.items) == []
    errors = _errors(lsp)
    assert len(errors) == 1
    assert expected in errors[0] and str(model.name) in errors[0]


async def test_invalid_settings_name_the_key_and_fall_back_to_defaults(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["1\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    options = {"lfcode": {"temperature": "very hot", "n_ctx": -3, "max_tokens": 40, "no_such_key": 1}}
    doc = tmp_path / "a.py"
    doc.write_text("x = \n")
    async with lsp_session(env, init_options=options) as (lsp, _):
        uri = open_document(lsp, doc)
        answer = await lsp.text_document_inline_completion_async(inline_params(uri, 0, 4, automatic=True))
    warnings = [m.message for m in lsp.messages if m.type == types.MessageType.Warning]
    assert any("'temperature'" in w and "initializationOptions" in w for w in warnings)
    assert any("'n_ctx'" in w for w in warnings)
    assert any("'no_such_key'" in w and "unknown key" in w for w in warnings)
    assert not any("'max_tokens'" in w for w in warnings)
    assert [i.insert_text for i in answer.items] == ["1"]
    request = read_record(script)[0]
    assert request["temperature"] == 0.0  # the default, not "very hot"
    assert request["max_tokens"] == 40  # the valid key still applies


async def test_did_change_configuration_applies_and_validates(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["1\n", "2\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "a.py"
    doc.write_text("x = \n")
    async with lsp_session(env) as (lsp, _):
        uri = open_document(lsp, doc)
        await lsp.text_document_inline_completion_async(inline_params(uri, 0, 4))
        lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"lfcode": {"max_tokens": 7, "log_level": "loud"}})
        )
        await lsp.text_document_inline_completion_async(inline_params(uri, 0, 4))
    warnings = [m.message for m in lsp.messages if m.type == types.MessageType.Warning]
    assert any("'log_level'" in w and "didChangeConfiguration" in w for w in warnings)
    first, second = read_record(script)[0], read_record(script)[-1]
    assert first["max_tokens"] != 7 and second["max_tokens"] == 7


async def test_project_config_file_is_read(tmp_path: Path) -> None:
    script = write_fake_script(tmp_path / "fake.json", ["1\n"])
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.lfcode]\nmax_tokens = 9\n")
    doc = project / "a.py"
    doc.write_text("x = \n")
    async with lsp_session(env, root=project) as (lsp, _):
        uri = open_document(lsp, doc)
        await lsp.text_document_inline_completion_async(inline_params(uri, 0, 4))
    assert read_record(script)[0]["max_tokens"] == 9


async def test_binary_and_odd_positions_answer_empty_without_error(tmp_path: Path) -> None:
    # "0" parses both on a new line and right after "x = 1" (a completion that would not parse
    # there, like "z", is dropped by the post-processing).
    script = write_fake_script(tmp_path / "fake.json", [], default="0\n")
    env = server_env(tmp_path, backend="fake", fake_script=str(script), debounce_ms="0")
    doc = tmp_path / "a.py"
    doc.write_text("x = 1\n")
    async with lsp_session(env) as (lsp, _):
        binary = open_document(lsp, tmp_path / "a.py", text="ab\x00cd\n")
        empty = await lsp.text_document_inline_completion_async(inline_params(binary, 0, 2))
        other = open_document(lsp, tmp_path / "b.py", text="x = 1\n")
        far = await lsp.text_document_inline_completion_async(inline_params(other, 99, 99))
        wide = await lsp.text_document_inline_completion_async(inline_params(other, 0, 500))
    assert list(empty.items) == []
    assert [i.insert_text for i in far.items] == ["0"]
    assert [i.insert_text for i in wide.items] == ["0"]
    assert _errors(lsp) == []
