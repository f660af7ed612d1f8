"""core.complete with the scripted fake backend: what the model says → what the user gets."""

from __future__ import annotations

import threading

import pytest

from lfcode.backends.base import Capabilities, FimTokens
from lfcode.backends.fake import FakeBackend
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete
from lfcode.completion.prompt import build_prompt, tail_within
from lfcode.completion.stopping import shape_at, trim_completion


def run(text: str, cursor: str, *responses: str, **options) -> list[str]:
    """Complete ``text`` at the marker ``cursor`` (removed) with the fake saying ``responses``."""
    offset = text.index(cursor)
    backend = FakeBackend(list(responses))
    result = complete(backend, CompletionInput(text.replace(cursor, "", 1), offset), CompletionOptions(**options))
    return result.items


def test_mid_line_stops_at_end_of_line() -> None:
    assert run("x = <|>\n", "<|>", "compute(1)\nmore = 2\n") == ["compute(1)"]


def test_blank_line_allows_a_block_and_stops_on_dedent() -> None:
    text = "def f(a):\n    <|>\n\nprint(1)\n"
    raw = "if a:\n        return 1\n    return 2\nprint('outside')\n"
    assert run(text, "<|>", raw) == ["if a:\n        return 1\n    return 2"]


def test_block_at_column_zero_uses_the_enclosing_indent() -> None:
    text = "def f(a):\n<|>\n"
    assert run(text, "<|>", "    return a\ndef g():\n    pass\n") == ["    return a"]


def test_text_already_after_the_cursor_is_trimmed() -> None:
    assert run("print(<|>)\n", "<|>", "value)\n") == ["value"]


@pytest.mark.parametrize("raw", ["   \n", "\n\n", ""])
def test_whitespace_only_is_never_returned(raw: str) -> None:
    assert run("x = <|>\n", "<|>", raw) == []


def test_suggestion_equal_to_what_follows_is_dropped() -> None:
    assert run("x = <|>compute()\n", "<|>", "compute()\n") == []


def test_invoked_returns_distinct_items_greedy_first() -> None:
    backend = FakeBackend(["a\n", "a\n", "b\n"])
    result = complete(backend, CompletionInput("x = ", 4), CompletionOptions(n=3))
    assert result.items == ["a", "b"]
    assert [r.temperature for r in backend.requests] == [0.0, 0.7, 0.7]
    assert len({r.seed for r in backend.requests}) == 3


def test_cancel_stops_generation_within_one_piece() -> None:
    cancel = threading.Event()
    backend = FakeBackend(["one two three four five six"], delay_ms=1)

    def stop_after_first(_request, _cancel):  # wraps the real stream to cancel after one piece
        stream = FakeBackend.complete(backend, _request, _cancel)
        for piece in stream:
            cancel.set()
            yield piece

    backend.complete = stop_after_first  # type: ignore[method-assign]
    result = complete(backend, CompletionInput("x = ", 4), CompletionOptions(), cancel)
    assert result.cancelled
    assert result.items == []
    assert backend.cancelled == 1


def test_prefix_only_prompt_keeps_the_text_nearest_the_cursor() -> None:
    backend = FakeBackend()
    prefix = "".join(f"line{i} = {i}\n" for i in range(500))
    prompt = build_prompt(backend, prefix, "", budget=40)
    assert prompt.tokens <= 40
    assert prefix.endswith(prompt.text)
    assert prompt.text.startswith("line")  # cut at a line start


def test_fim_prompt_uses_the_model_tokens() -> None:
    fim = FimTokens(family="starcoder", prefix="<fim_prefix>", suffix="<fim_suffix>", middle="<fim_middle>", stop=("<|endoftext|>",))
    backend = FakeBackend(capabilities=Capabilities(fim=fim))
    prompt = build_prompt(backend, "def f():\n    return ", "\nprint(f())\n", budget=100)
    assert prompt.text.startswith("<fim_prefix>def f():")
    assert "<fim_suffix>" in prompt.text and prompt.text.endswith("<fim_middle>")
    assert "<|endoftext|>" in prompt.stop


def test_tail_within_zero_budget_is_empty() -> None:
    assert tail_within(FakeBackend(), "abc", 0) == ""


def test_shape_single_line_when_code_follows_on_the_line() -> None:
    assert not shape_at("    ", "foo()\n").multiline
    assert shape_at("def f():\n    ", "\n").multiline


def test_trim_keeps_at_most_max_lines() -> None:
    shape = shape_at("def f():\n    ", "\n")
    raw = "\n".join(f"x{i} = {i}" if i == 0 else f"    x{i} = {i}" for i in range(20))
    assert trim_completion(raw, "def f():\n    ", "\n", shape).count("\n") == shape.max_lines - 1


def test_block_stops_at_the_first_blank_line_after_code() -> None:
    text = "import os\n<|>\n"
    assert run(text, "<|>", "X = 1\nY = 2\n\nZ = 3\n") == ["X = 1\nY = 2"]


def test_a_fim_prompt_carries_the_same_text_in_parts_for_a_server() -> None:
    """The Infill parts hold what the FIM text holds, split where llama-server's /infill wants it."""
    from lfcode.backends.fim import format_fim
    from lfcode.context.builder import ContextSources
    from lfcode.completion.prompt import infill_of
    from lfcode.context.ring import Chunk, RingBuffer

    fim = FimTokens(family="starcoder", prefix="<fim_prefix>", suffix="<fim_suffix>", middle="<fim_middle>")
    backend = FakeBackend(["1"], capabilities=Capabilities(fim=fim))
    ring = RingBuffer()
    ring.pick(Chunk("/proj/util.py", 0, ("def helper(x):", "    return x * 2", "", "TIMES = 2")))
    ring.flush()
    prompt = build_prompt(backend, "import os\n\ndef f():\n    return ", "\nprint(f())\n", budget=200, path="/proj/main.py", language="python",
                          sources=ContextSources(ring=ring))
    assert prompt.infill is not None and prompt.parts is not None
    assert prompt.infill.prefix.endswith("def f():\n    return ") and prompt.infill.suffix == "\nprint(f())\n"
    [(name, chunk)] = prompt.infill.extra
    assert name == "main.py" and "# util.py:" in chunk and "def helper(x):" in chunk
    rebuilt = format_fim(fim, "".join(text for _, text in prompt.infill.extra) + prompt.infill.prefix, prompt.infill.suffix)
    assert rebuilt == prompt.text
    assert infill_of(prompt.parts, "main.py").started("x").prefix == prompt.infill.prefix + "x"
    # A request made by the engine carries both: the text for in-process models, the parts for a server.
    complete(backend, CompletionInput("import os\n\ndef f():\n    return \nprint(f())\n", len("import os\n\ndef f():\n    return ")))
    [request] = backend.requests[:1]
    assert request.infill is not None and request.prompt.endswith("<fim_middle>")
    assert request.prompt == format_fim(fim, "".join(t for _, t in request.infill.extra) + request.infill.prefix, request.infill.suffix)


def test_a_prefix_only_prompt_has_no_infill_parts() -> None:
    prompt = build_prompt(FakeBackend(), "def f():\n    return ", "\n", budget=100)
    assert prompt.infill is None
