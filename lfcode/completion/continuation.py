"""A suggestion still being decoded, and the typed-along answers served from it.

At a line start the language server answers an automatic request with the first line of the
block as soon as it is complete, and the model goes on decoding the block in the worker (within
the request's time budget). The :class:`Continuation` holds what was decoded so far. When the
user accepts the line or types along with it, the next request is answered from the
continuation without a model call (:meth:`Continuation.answer`), waiting for the next line if
the decoder has not reached it yet. A request or an edit that diverges from it stops the decoder
within one token (:attr:`Continuation.cancel`), as a newer request does. Tabby and Copilot serve
typed-along requests from the shown suggestion the same way; llama.vim keeps a cache of
suggestions keyed by the text around the cursor.

Offsets are Python ``str`` indices (code points). The decoder calls :meth:`Continuation.update`
from its thread; everything else runs on the event loop.
"""

from __future__ import annotations

import asyncio
import threading
from enum import Enum


class Wait(Enum):
    """:meth:`Continuation.answer`'s "not yet": the user is on track, the next line is coming."""

    NEXT_LINE = "next line"


class Continuation:
    """The greedy suggestion made between ``prefix`` and ``suffix``, decoded so far.

    ``text`` holds the cleaned complete lines decoded so far (the first line first); ``done``
    is set once decoding stopped (the block is complete, the budget ran out, or it was
    cancelled); ``cancel`` is the decoder's cancel token.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, prefix: str, suffix: str, cancel: threading.Event) -> None:
        self.prefix, self.suffix, self.cancel = prefix, suffix, cancel
        self.text = ""
        self.done = False
        self._loop = loop
        self._waiters: list[asyncio.Future[None]] = []

    # -- the decoder's thread ------------------------------------------------------------------

    def update(self, text: str, done: bool = False) -> None:
        """Thread-safe: the cleaned text so far (``done`` once decoding stopped)."""
        try:
            self._loop.call_soon_threadsafe(self._set, text, done)
        except RuntimeError:  # the loop is closed: the server is shutting down
            pass

    def _set(self, text: str, done: bool) -> None:
        if text:
            self.text = text
        self.done = self.done or done
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- the event loop ------------------------------------------------------------------------

    def typed(self, prefix: str, suffix: str) -> str | None:
        """What the user typed since this suggestion was made, when the document is still on its
        track: ``prefix`` extends :attr:`prefix`, ``suffix`` is unchanged, and the typed text
        agrees with :attr:`text` (or runs ahead of it while decoding goes on); else ``None``."""
        if suffix != self.suffix or not prefix.startswith(self.prefix):
            return None
        typed = prefix[len(self.prefix) :]
        if self.text.startswith(typed) or (not self.done and typed.startswith(self.text)):
            return typed
        return None

    def answer(self, prefix: str, suffix: str) -> str | Wait | None:
        """The answer for a cursor after ``prefix`` and before ``suffix``: the rest of the current
        line of the suggestion and, when that is all typed, its next line; :data:`Wait.NEXT_LINE`
        when the user is on track but the decoder has not finished that line yet; ``None`` when
        the document left the suggestion or nothing of it is left."""
        typed = self.typed(prefix, suffix)
        if typed is None:
            return None
        rest = self.text[len(typed) :] if self.text.startswith(typed) else ""
        at_line_start = not typed or typed.endswith("\n")
        if at_line_start and rest.startswith("\n") and not rest.strip() and not self.done:
            return ""  # the suggestion leaves this line blank; its next line is coming
        if not rest.strip():
            return None if self.done else Wait.NEXT_LINE
        head, newline, tail = rest.partition("\n")
        if head.strip():
            return head
        # The line is all typed: offer the next one (with the line break when it is not typed).
        following = tail.split("\n", 1)[0]
        if not following.strip():
            return None if self.done else Wait.NEXT_LINE
        return head + newline + following

    def follows(self, text: str) -> bool:
        """Whether a document whose whole text is now ``text`` is still on this suggestion's
        track (an edit elsewhere, or typing that diverges, says no)."""
        if len(text) < len(self.prefix) + len(self.suffix) or not text.startswith(self.prefix) or not text.endswith(self.suffix):
            return False
        return self.typed(text[: len(text) - len(self.suffix)], self.suffix) is not None

    async def changed(self, timeout: float) -> bool:
        """Wait until :meth:`update` brings news or ``timeout`` seconds pass; True on news."""
        if self.done:
            return False
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, max(0.0, timeout))
        except asyncio.TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Stop the decoder (within one token) and wake whoever waits."""
        self.cancel.set()
        self._set("", True)
