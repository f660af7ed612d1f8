"""A first request whose prompt the model's cache lacks gets a prompt cut to fit its time budget,
and the whole prompt is evaluated in the background after the answer."""

from __future__ import annotations

import asyncio
import threading

from lfcode.backends.fake import FakeBackend
from lfcode.completion.engine import CompletionInput, CompletionOptions, complete, prompt_for
from lfcode.errors import CancelToken
from lfcode.session import COLD_PREFILL_MS_PER_TOKEN, Session
from lfcode.settings import Settings

PREFIX = "".join(f"value_{i} = compute(value_{i - 1}, step={i})\n" for i in range(1, 41))


class ColdBackend(FakeBackend):
    """A fake whose KV cache lacks ``uncached`` tokens of any prompt."""

    def __init__(self, *responses: str, uncached: int = 10_000) -> None:
        super().__init__(list(responses))
        self.uncached = uncached
        self.prefill_done = threading.Event()

    def uncached_tokens(self, prompt: str) -> int:
        return min(self.uncached, len(self.tokenize(prompt)))

    def prefill(self, prompt: str, cancel: CancelToken) -> int:
        count = super().prefill(prompt, cancel)
        self.prefill_done.set()
        return count


def source(prefix: str = PREFIX) -> CompletionInput:
    return CompletionInput(prefix, len(prefix), "m.py")


def test_a_prompt_the_cache_lacks_is_cut_to_the_limit() -> None:
    backend = ColdBackend("value_41 = 1\n")
    full = prompt_for(backend, source())
    result = complete(backend, source(), CompletionOptions(uncached_max=60))
    sent = backend.requests[0].prompt
    assert result.prompt_cut and result.items == ["value_41 = 1"]
    assert len(backend.tokenize(sent)) <= 60 < len(backend.tokenize(full))
    assert full.endswith(sent[-200:])  # the text nearest the cursor is kept


def test_a_cached_prompt_is_not_cut() -> None:
    backend = ColdBackend("value_41 = 1\n", uncached=20)
    result = complete(backend, source(), CompletionOptions(uncached_max=60))
    assert not result.prompt_cut
    assert backend.requests[0].prompt == prompt_for(backend, source())


def test_no_limit_no_cut() -> None:
    backend = ColdBackend("value_41 = 1\n")
    assert not complete(backend, source(), CompletionOptions()).prompt_cut
    assert backend.requests[0].prompt == prompt_for(backend, source())


async def test_only_the_first_request_on_a_document_is_cut_and_its_whole_prompt_is_prefilled() -> None:
    settings = Settings(backend="fake", first_latency_ms=200)
    backend = ColdBackend("value_41 = 1\n", "value_42 = 2\n")
    session = Session(settings, lambda _settings: backend)
    try:
        first = await session.complete("file:///m.py", source(), automatic=True)
        assert first.items == ["value_41 = 1"]
        limit = int(200 / 2 / COLD_PREFILL_MS_PER_TOKEN)
        assert len(backend.tokenize(backend.requests[0].prompt)) <= limit
        assert await asyncio.to_thread(backend.prefill_done.wait, 10)
        whole = prompt_for(backend, source(), CompletionOptions.from_settings(settings))
        assert backend.prefilled == [whole]
        typed = PREFIX + "value_41 = 1\n"
        await session.complete("file:///m.py", source(typed), automatic=True)
        assert backend.requests[1].prompt == prompt_for(backend, source(typed), CompletionOptions.from_settings(settings))
    finally:
        await session.close()
