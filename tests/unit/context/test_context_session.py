"""Session-level context: typed-ahead reuse without the model, and the workspace fed to prompts."""

from __future__ import annotations

import asyncio

from lfcode.backends.fake import FakeBackend
from lfcode.completion.engine import CompletionInput
from lfcode.session import Session
from lfcode.settings import Settings


def run(coro):
    return asyncio.run(coro)


async def _session_with(backend: FakeBackend) -> Session:
    session = Session(Settings(backend="fake"), lambda _settings: backend)
    await session.start_loading()
    return session


def test_typing_the_start_of_the_suggestion_is_answered_without_the_model() -> None:
    async def scenario():
        backend = FakeBackend(["total = compute(a, b)\n"])
        session = await _session_with(backend)
        text = "def f(a, b):\n    \n"
        first = await session.complete("u", CompletionInput(text, 17))
        # The user types "total = c" (the start of the suggestion).
        typed = "def f(a, b):\n    total = c\n"
        second = await session.complete("u", CompletionInput(typed, 26))
        await session.close()
        return backend, first, second

    backend, first, second = run(scenario())
    assert first.items == ["total = compute(a, b)"]
    assert second.items == ["ompute(a, b)"]
    assert second.reused
    assert len(backend.requests) == 1


def test_typing_something_else_asks_the_model_again() -> None:
    async def scenario():
        backend = FakeBackend(["total = compute(a, b)\n", "x = 1\n"])
        session = await _session_with(backend)
        await session.complete("u", CompletionInput("y = \n", 4))
        second = await session.complete("u", CompletionInput("y = t2\n", 6))
        await session.close()
        return backend, second

    backend, second = run(scenario())
    assert not second.reused
    assert len(backend.requests) == 2


def test_a_changed_suffix_or_other_document_is_not_reused() -> None:
    async def scenario():
        backend = FakeBackend(["value + 1\n", "other\n", "third\n"])
        session = await _session_with(backend)
        await session.complete("a", CompletionInput("x = \nz = 1\n", 4))
        changed_suffix = await session.complete("a", CompletionInput("x = v\nz = 2\n", 5))
        other_document = await session.complete("b", CompletionInput("x = v\nz = 1\n", 5))
        await session.close()
        return backend, changed_suffix, other_document

    backend, changed_suffix, other_document = run(scenario())
    assert not changed_suffix.reused and not other_document.reused
    assert len(backend.requests) == 3


def test_typing_the_whole_suggestion_leaves_nothing_to_reuse() -> None:
    async def scenario():
        backend = FakeBackend(["ab\n", "next\n"])
        session = await _session_with(backend)
        await session.complete("u", CompletionInput("x = \n", 4))
        after = await session.complete("u", CompletionInput("x = ab\n", 6))
        await session.close()
        return backend, after

    backend, after = run(scenario())
    assert not after.reused
    assert len(backend.requests) == 2
