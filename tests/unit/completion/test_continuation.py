"""Time budgets, one model call per automatic request, and the first line first with the block
decoded on into a continuation that typing along is served from."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from lfcode.backends.base import GenerationRequest
from lfcode.backends.fake import FakeBackend
from lfcode.completion.continuation import Continuation, Wait
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete
from lfcode.errors import CancelToken
from lfcode.session import Session
from lfcode.settings import Settings

PREFIX = "def total(values):\n    result = 0\n"
SUFFIX = "\n\nprint(total([1, 2]))\n"
BLOCK = "    for value in values:\n        result += value\n    return result\n"


class GatedBackend(FakeBackend):
    """A fake that stops after the first line of each answer until the test opens ``gate``."""

    def __init__(self, *responses: str) -> None:
        super().__init__(list(responses))
        self.gate = threading.Event()
        self.first_line_out = threading.Event()

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        stream = super().complete(request, cancel)

        def gated() -> Iterator[str]:
            for piece in stream:
                yield piece
                if "\n" in piece and not self.gate.is_set():
                    self.first_line_out.set()
                    while not self.gate.wait(0.01):
                        if cancel.is_set():
                            break

        return gated()


class ClockedBackend(FakeBackend):
    """A fake whose every piece moves a fake monotonic clock forward by ``step`` seconds."""

    def __init__(self, clock: list[float], step: float, *responses: str) -> None:
        super().__init__(list(responses))
        self.clock, self.step = clock, step

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        for piece in super().complete(request, cancel):
            self.clock[0] += self.step
            yield piece


def source() -> CompletionInput:
    return CompletionInput(PREFIX + SUFFIX, len(PREFIX), "m.py")


def test_the_budget_stops_decoding_and_keeps_complete_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    backend = ClockedBackend(clock, 0.01, BLOCK)
    # About 12 pieces fit after the first: the first line and part of the second.
    result = complete(backend, source(), CompletionOptions(budget_ms=120))
    assert result.timed_out and result.items == ["    for value in values:"]
    untimed = complete(ClockedBackend(clock, 0.01, BLOCK), source(), CompletionOptions())
    assert not untimed.timed_out and untimed.items == [BLOCK.rstrip("\n")]


def test_a_runaway_line_is_cut_off_at_the_one_line_cap() -> None:
    # A repetition loop on the first line of a block: without the cap it runs to the block's
    # token limit (144 tokens, 2 s on the embedded model); llama-server stops at n_predict.
    runaway = "    x = " + "a + " * 200 + "a\n    return x\n"
    backend = FakeBackend([runaway])
    result = complete(backend, source(), CompletionOptions(extra_calls=False), progress=lambda item: None)
    assert result.timed_out and result.items == [] and result.raw == [""]


def test_an_automatic_request_makes_no_extra_call_once_a_line_was_shown() -> None:
    # The first answer's line was shown: no guided answer, sample or follow-up after it.
    backend = FakeBackend([BLOCK], default="    return sum(values)\n")
    shown: list[str] = []
    one = complete(backend, source(), CompletionOptions(extra_calls=False), progress=shown.append)
    assert one.model_calls == 1 and len(backend.requests) == 1 and shown
    # A comment-only line at a line start: the invoked path asks again for the line after it.
    backend = FakeBackend(["    # add them up\n"], default="    return sum(values)\n")
    more = complete(backend, CompletionInput(PREFIX, len(PREFIX), "m.py"), CompletionOptions(multiline=False))
    assert more.model_calls == 2 and more.items == ["    return sum(values)"]


def test_an_automatic_request_takes_an_empty_answer_as_the_answer() -> None:
    # The model stopped at once (end of text): no sampled answer is forced out of it.
    backend = FakeBackend([""], default="    return sum(values)\n")
    result = complete(backend, source(), CompletionOptions(extra_calls=False), progress=lambda item: None)
    assert result.items == [] and len(backend.requests) == 1
    invoked = complete(FakeBackend([""], default="    return sum(values)\n"), source(), CompletionOptions())
    assert invoked.items == ["    return sum(values)"]


def test_progress_reports_each_complete_line_of_the_block() -> None:
    seen: list[str] = []
    complete(FakeBackend([BLOCK]), source(), CompletionOptions(), progress=seen.append)
    assert seen[0] == "    for value in values:"
    assert seen[-1] == BLOCK.rstrip("\n")


def test_continuation_answers_typing_along_and_refuses_divergence() -> None:
    loop = asyncio.new_event_loop()
    try:
        cont = Continuation(loop, PREFIX, SUFFIX, threading.Event())
        cont._set("    for value in values:\n        result += value", False)
        assert cont.answer(PREFIX, SUFFIX) == "    for value in values:"
        assert cont.answer(PREFIX + "    for v", SUFFIX) == "alue in values:"
        assert cont.answer(PREFIX + "    for value in values:\n        ", SUFFIX) == "result += value"
        assert cont.answer(PREFIX + "    for value in values:\n        result += value\n", SUFFIX) is Wait.NEXT_LINE
        assert cont.answer(PREFIX + "    while", SUFFIX) is None
        assert cont.answer(PREFIX, SUFFIX + "x") is None
        assert cont.follows(PREFIX + "    for val" + SUFFIX)
        assert not cont.follows(PREFIX + "    whi" + SUFFIX)
        assert not cont.follows("# edited\n" + PREFIX + SUFFIX)
        cont._set("", True)
        assert cont.answer(PREFIX + "    for value in values:\n        result += value\n", SUFFIX) is None
    finally:
        loop.close()


async def test_the_first_line_comes_first_and_typing_along_needs_no_model_call() -> None:
    backend = GatedBackend(BLOCK)
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    try:
        first = await session.complete("file:///m.py", source(), automatic=True)
        # Answered while the decoder still holds the rest of the block back.
        assert first.items == ["    for value in values:"] and not backend.gate.is_set()
        backend.gate.set()
        typed = PREFIX + "    for value in values:\n        "
        second = await session.complete("file:///m.py", CompletionInput(typed + SUFFIX, len(typed), "m.py"), automatic=True)
        assert second.reused and second.items == ["result += value"]
        typed += "result += value\n    "
        third = await session.complete("file:///m.py", CompletionInput(typed + SUFFIX, len(typed), "m.py"), automatic=True)
        assert third.reused and third.items == ["return result"]
        assert len(backend.requests) == 1
    finally:
        await session.close()


async def test_a_blank_first_line_answers_nothing_at_once_and_enter_gets_the_next_line() -> None:
    # The model leaves the cursor's line blank: llama-server's one-line answer is empty at the
    # first newline, and so is lfcode's, while the block decodes on for the line after it.
    blank_first = "\n    return result\n"
    backend = GatedBackend(blank_first)
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    try:
        # (Without the rule, the answer would wait for the gated second line: a failure, not a hang.)
        first = await asyncio.wait_for(session.complete("file:///m.py", source(), automatic=True), 30)
        assert first.items == [] and not backend.gate.is_set()
        backend.gate.set()
        typed = PREFIX + "\n    "  # Enter, and the editor's indentation
        session.edited("file:///m.py", typed + SUFFIX)
        second = await session.complete("file:///m.py", CompletionInput(typed + SUFFIX, len(typed), "m.py"), automatic=True)
        assert second.reused and second.items == ["return result"]
        assert len(backend.requests) == 1
    finally:
        backend.gate.set()
        await session.close()


def test_a_blank_first_line_is_reported_as_a_line_break() -> None:
    seen: list[str] = []
    complete(FakeBackend(["\n    return result\n"]), source(), CompletionOptions(), progress=seen.append)
    assert seen[0] == "\n" and seen[-1] == "\n    return result"


def test_a_docstrings_first_line_is_shown_while_the_rest_decodes() -> None:
    # Alone, the line opens a string the document never closes; as the first line of a block
    # still decoding it parses once its closing quotes are supplied (the placeholder).
    prefix = "import re\n\ndef translate(pat):\n"
    seen: list[str] = []
    raw = '    """Compile the pattern.\n\n    Shell-style wildcards.\n    """\n'
    complete(FakeBackend([raw]), CompletionInput(prefix, len(prefix), "m.py"), CompletionOptions(), progress=seen.append)
    assert seen and seen[0] == '    """Compile the pattern.'


async def test_an_edit_off_the_suggestion_stops_the_decoding() -> None:
    backend = GatedBackend(BLOCK)
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    try:
        first = await session.complete("file:///m.py", source(), automatic=True)
        assert first.items == ["    for value in values:"]
        cancel = session._continuations["file:///m.py"].cancel
        session.edited("file:///m.py", PREFIX + "    while True:" + SUFFIX)
        assert cancel.is_set() and "file:///m.py" not in session._continuations
    finally:
        backend.gate.set()
        await session.close()


async def test_prefill_evaluates_the_prompt_the_request_will_send() -> None:
    backend = FakeBackend([BLOCK])
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    try:
        assert await session.prefill(source()) > 0  # waits for the model to load
        await session.complete("file:///m.py", source(), automatic=True)
        assert backend.prefilled == [backend.requests[0].prompt]
    finally:
        await session.close()


async def test_a_request_cancels_a_queued_prefill() -> None:
    backend = FakeBackend([BLOCK])
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    try:
        pending = session.prefill(source())
        await session.complete("file:///m.py", source(), automatic=False)
        assert await pending == 0 and backend.prefilled == []
    finally:
        await session.close()


async def test_a_backend_that_cannot_prefill_is_left_alone() -> None:
    class NoPrefill(FakeBackend):
        prefill = None

    session = Session(Settings(backend="fake"), lambda _settings: NoPrefill([BLOCK]))
    try:
        assert await session.prefill(source()) == 0
    finally:
        await session.close()


def test_the_adaptive_debounce_follows_typing_and_response_time() -> None:
    from lfcode.completion.debounce import BASE_MS, DELAY_MAX_MS, RATE_MAX, RATE_MIN, WINDOW_MIN, AdaptiveDebounce

    debounce = AdaptiveDebounce()
    mid_word = debounce.delay_ms("x = valu", "e\n")
    assert mid_word == RATE_MAX * BASE_MS  # no context hint, no response time measured yet
    assert debounce.delay_ms("x = ", "") == RATE_MIN * BASE_MS  # every hint: the shortest wait
    for n in range(WINDOW_MIN + 2):  # a fast typist: 120 ms between keys
        debounce.keystroke(n * 0.120)
    debounce.keystroke(100.0)  # a pause is not a typing interval
    assert abs(debounce.base_ms - 120) < 1e-6
    debounce.response(300)
    assert debounce.delay_ms("x = valu", "e\n") == pytest.approx(RATE_MAX * 120 - 300)
    debounce.response(5000)
    assert debounce.delay_ms("x = valu", "e\n") == 0  # a slow model: ask at once
    assert AdaptiveDebounce().delay_ms("a", "b") <= DELAY_MAX_MS


def test_an_automatic_request_keeps_trying_while_nothing_was_shown_and_the_budget_has_room() -> None:
    # The first answer does not parse, so it is dropped and nothing was shown.
    backend = FakeBackend(["    return values +* 2\n", "    return sum(values)\n"])
    shown: list[str] = []
    result = complete(
        backend, CompletionInput(PREFIX, len(PREFIX), "m.py"), CompletionOptions(multiline=False, extra_calls=False),
        progress=shown.append,
    )
    assert result.model_calls == 2 and result.items == ["    return sum(values)"] and not shown
    assert backend.requests[1].temperature > 0  # a sample, not the greedy answer again
