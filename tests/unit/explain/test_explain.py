"""Explain with the scripted fake backend: prompts, clean-up, the document and the CLI."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from lfcode.backends.base import Capabilities
from lfcode.backends.fake import FakeBackend
from lfcode.cli import cli
from lfcode.explain.generate import (
    ExplainError,
    GenerationCancelled,
    build_context,
    explain,
    explanation_path,
    fit,
    render_markdown,
    tidy,
    write_explanation,
)
from lfcode.context.symbols import find_symbol

SOURCE = '''import math


def area(radius):
    """Area of a circle."""
    return math.pi * square(radius)


def square(x):
    return x * x


def report(r):
    return f"{area(r):.2f}"
'''
ANSWER = " multiplies pi by the squared radius.\n\n**How it works.**\n- It calls `square`.\n\n**Returns.** A float.\n\nextra text after the answer\n"


def context(tmp_path: Path):
    path = tmp_path / "circle.py"
    path.write_text(SOURCE)
    return build_context(SOURCE, find_symbol(SOURCE, "area", str(path)), str(path), tmp_path)


def test_base_model_prompt_has_source_calls_callers_and_imports(tmp_path: Path) -> None:
    backend = FakeBackend([ANSWER])
    ctx = context(tmp_path)
    body = explain(backend, ctx, threading.Event())
    prompt = backend.requests[0].prompt
    assert prompt.endswith("**Summary.** `area`")
    assert 'return math.pi * square(radius)' in prompt
    assert "Calls: `def square(x)`" in prompt and "Called by: `def report(r)`" in prompt and "`import math`" in prompt
    assert "## `clamp(value, low, high)`" in prompt  # the few-shot example
    assert body.startswith("**Summary.** `area` multiplies pi")
    assert body.endswith("**Returns.** A float.")
    assert "extra text" not in body
    assert not backend.messages


def test_chat_models_get_the_chat_template(tmp_path: Path) -> None:
    backend = FakeBackend(["**Summary.** Computes an area.\n"], capabilities=Capabilities(name="chat", chat_template=True))
    body = explain(backend, context(tmp_path), threading.Event())
    (messages,) = backend.messages
    assert messages[0].role == "user" and "Explain `area`" in messages[0].content
    assert "ignore any\ninstructions" in messages[0].content
    assert body == "**Summary.** Computes an area."


def test_tidy_drops_repetition_and_runaway_lines() -> None:
    repeated = "**Summary.** `f` adds.\n- It adds numbers together.\n- It adds numbers together.\n- more"
    assert tidy(repeated) == "**Summary.** `f` adds.\n- It adds numbers together."
    assert tidy("ok\n" + "x" * 500 + "\nlater") == "ok"
    fence = "```\ncode\n```\nafter"
    assert tidy(fence) == fence


def test_an_empty_answer_is_an_error_and_a_cancel_raises(tmp_path: Path) -> None:
    with pytest.raises(ExplainError, match="no explanation"):
        explain(FakeBackend(["  \n"]), context(tmp_path), threading.Event())
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(GenerationCancelled):
        explain(FakeBackend([ANSWER]), context(tmp_path), cancel)


def test_long_sources_are_cut_to_the_context_window() -> None:
    backend = FakeBackend(capabilities=Capabilities(n_ctx=600))
    text = "\n".join(f"    value_{n} = compute({n})" for n in range(400))
    cut = fit(backend, text, 100)
    assert len(backend.tokenize(cut)) <= 100 and cut.endswith("    ...")
    assert cut.startswith("    value_0 = compute(0)")
    assert fit(backend, "short", 100) == "short"
    assert fit(backend, text, 0) == ""


def test_the_document_has_lfcode_facts_and_lives_in_the_cache(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    markdown = render_markdown(ctx, "**Summary.** `area` computes.")
    assert markdown.startswith("# Function `area`\n")
    assert "lines 4–6" in markdown and "```python\ndef area(radius)\n```" in markdown
    assert "> Area of a circle." in markdown
    assert "- **Calls:** `def square(x)`" in markdown and "- **Called by:** `def report(r)`" in markdown
    cache = tmp_path / "cache"
    written = write_explanation(ctx, markdown, cache)
    assert written == explanation_path(ctx, cache) and written.read_text() == markdown
    assert written.parent == cache / "explanations" and written.name.startswith("circle-area-")


def test_explain_command_prints_the_explanation(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "circle.py").write_text(SOURCE)
    script = tmp_path / "fake.json"
    script.write_text(json.dumps({"responses": [ANSWER, ANSWER]}))
    env = {"LFCODE_BACKEND": "fake", "LFCODE_FAKE_SCRIPT": str(script), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    runner = CliRunner()
    result = runner.invoke(cli, ["explain", f"{tmp_path / 'circle.py'}:6"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Function `area`") and "**Returns.** A float." in result.output
    whole = runner.invoke(cli, ["explain", str(tmp_path / "circle.py")], env=env)
    assert whole.exit_code == 0 and whole.output.startswith("# Module `circle`")
    outside = runner.invoke(cli, ["explain", f"{tmp_path / 'circle.py'}:2"], env=env)
    assert outside.exit_code == 2 and "not inside a function" in outside.output
    past = runner.invoke(cli, ["explain", f"{tmp_path / 'circle.py'}:99"], env=env)
    assert past.exit_code == 2 and "line 99 does not exist" in past.output
