"""A running lfcode session: settings, the loaded backends, one inference worker, cancellation.

A backend per role (``completion_model``, ``chat_model``): :meth:`Session.backend` serves
completion and loads at ``initialize``; :meth:`Session.chat_backend` serves explain, tests and
review and loads on first use, in the same worker (llama.cpp calls never run concurrently). When
both roles name the same model it is the same backend object (one load).

The LSP handlers call the async methods here; the blocking work (loading a model, decoding) runs
in a single worker thread, so the event loop never blocks and the model serves one request at a
time. A newer request for the same key (a document URI) cancels the older one, and so does
cancelling the awaiting task (``$/cancelRequest``): both set the generation's cancel flag, which
the decode loop checks after every token.

Every completion request has a time budget (``max_latency_ms``, ``first_latency_ms`` for the
first request on a document, as llama.vim's ``t_max_predict_ms``) counted from its arrival. An
automatic request at a line start is answered with the first line of the block as soon as it is
decoded, and the block goes on decoding in the worker (a
:class:`~lfcode.completion.continuation.Continuation`) so that typing along is answered without
a model call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from lfcode.backends import HTTP_BACKENDS, SHARED_MODEL_FAILED, Backend, BackendError, Role, make_backend, make_chat_backend, remote_host
from lfcode.backends.registry import reload_keys
from lfcode.completion.continuation import Continuation, Wait
from lfcode.completion.debounce import AdaptiveDebounce
from lfcode.completion.engine import CompletionInput, CompletionOptions, CompletionResult, complete, prompt_for
from lfcode.context.workspace import Workspace
from lfcode.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

#: An explicit (Invoked) request gets this many times ``max_latency_ms``: the user asked for
#: suggestions and waits for them, several of them.
INVOKED_BUDGET_FACTOR = 4

#: Prompt evaluation speed assumed for the first request on a document, ms per token: measured
#: 1.3–1.6 ms for the embedded model on 2 cores (``benchmarks/latency.py`` debug log). That
#: request may spend half of ``first_latency_ms`` evaluating its prompt; when the model's cache
#: lacks more of it, its prompt is cut to what fits (500 ms → 156 tokens) and the whole prompt is
#: evaluated in the background after the answer.
COLD_PREFILL_MS_PER_TOKEN = 1.6

#: Keys that need the model reloaded when they change: ``backend`` plus what each registered
#: backend's factory reads (:func:`lfcode.backends.registry.reload_keys`).
RELOAD_KEYS = reload_keys()

#: Seconds after a server backend (llama-server, openai) failed to connect before a request
#: tries again: the server may have been started, or restarted, since.
SERVER_RETRY_S = 5.0


class ModelState:
    """Where loading stands: ``state`` is ``idle``, ``loading``, ``ready`` or ``error``."""

    def __init__(self) -> None:
        self.state = "idle"
        self.message = ""
        #: The host code is sent to when the user pointed the HTTP backend off this machine.
        self.remote: str | None = None


class Shown:
    """The suggestions last answered for a document: the ``prefix``/``suffix`` they were made
    between and the ``items`` (insert texts)."""

    def __init__(self, prefix: str, suffix: str, items: list[str]) -> None:
        self.prefix, self.suffix, self.items = prefix, suffix, items

    def typed_ahead(self, source: CompletionInput) -> list[str] | None:
        """The rest of the shown items once the user typed their start, or ``None``.

        Applies when the text after the cursor is unchanged and the text typed since is the
        beginning of at least one item that has more to offer.
        """
        prefix, suffix = source.prefix, source.suffix
        if suffix != self.suffix or len(prefix) <= len(self.prefix) or not prefix.startswith(self.prefix):
            return None
        typed = prefix[len(self.prefix) :]
        rest = [item[len(typed) :] for item in self.items if item.startswith(typed) and item[len(typed) :].strip()]
        return rest or None


class Session:
    """Owns the backend and runs inference off the event loop.

    Args:
        settings: the effective settings.
        backend_factory: builds a backend from settings (tests pass a fake); defaults to
            :func:`lfcode.backends.make_backend`. It is called with
            :meth:`~lfcode.settings.Settings.for_role` settings (``model`` is the role's model).
    """

    def __init__(
        self,
        settings: Settings,
        backend_factory: Callable[[Settings], Backend] = make_backend,
    ) -> None:
        self.settings = settings
        self._factory = backend_factory
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lfcode-inference")
        self._backend: Backend | None = None
        self._loading: asyncio.Future[Backend | None] | None = None
        #: ``time.monotonic()`` of the last failed load (for :data:`SERVER_RETRY_S`).
        self._failed_at = 0.0
        #: Called on the event loop when a retried load succeeded (the server shows the status).
        self.on_recovered: Callable[[], None] | None = None
        #: The chat role's backend (the same object as ``_backend`` when the roles share one).
        self._chat: Backend | None = None
        self._chat_loading: asyncio.Future[Backend | None] | None = None
        self._inflight: dict[str, threading.Event] = {}
        self._shown: dict[str, Shown] = {}
        self._continuations: dict[str, Continuation] = {}
        #: Keys (document URIs) that got a completion answer already: the first one is budgeted
        #: with ``first_latency_ms``.
        self._answered: set[str] = set()
        #: Cancels the running or queued prefill; every completion request sets it.
        self._prefill_cancel = threading.Event()
        #: Set by :meth:`close`: no prefill starts after it (the model is freed in the worker).
        self._closed = False
        self.debounce = AdaptiveDebounce()
        self.model = ModelState()
        #: The chat role's loading state (its ``message`` says why it is unavailable).
        self.chat_model = ModelState()
        self.workspace = Workspace()

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def start_loading(self) -> asyncio.Future[Backend | None]:
        """Begin loading the backend in the worker (idempotent until :meth:`reload`)."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(self._load())
        return self._loading

    async def _load(self) -> Backend | None:
        self.model.state, self.model.message = "loading", "Loading model…"
        try:
            backend = await self._run(self._factory, self.settings.for_role("completion"))
        except BackendError as exc:
            self.model.state, self.model.message = "error", str(exc)
            self._failed_at = time.monotonic()
            log.error("model failed to load: %s", exc)
            return None
        self._backend = backend
        caps = backend.capabilities
        self.model.state = "ready"
        self.model.message = f"{caps.name} ready (n_ctx {caps.n_ctx}, FIM: {caps.fim.family if caps.fim else 'none'})"
        self.model.remote = remote_host(self.settings)
        if self.model.remote:
            self.model.message += f"; code is sent to {self.model.remote} (allow_remote is on)"
        return backend

    async def backend(self) -> Backend | None:
        """The completion backend, waiting for loading to finish; ``None`` when loading failed.

        A server backend whose server did not answer is loaded again by the first request
        :data:`SERVER_RETRY_S` after the failure (then :attr:`on_recovered` is called if it works).
        """
        loading = self.start_loading()
        backend = await loading
        if backend is None and self._may_retry() and loading is self._loading:
            self._loading = None
            backend = await self.start_loading()
            if backend is not None and self.on_recovered is not None:
                self.on_recovered()
        return backend

    def _may_retry(self) -> bool:
        return self.settings.backend in HTTP_BACKENDS and time.monotonic() - self._failed_at >= SERVER_RETRY_S

    async def chat_backend(self) -> Backend | None:
        """The backend for explain, tests and review (``chat_model``), loading it in the worker
        on first use after the completion backend (:func:`lfcode.backends.make_chat_backend`:
        the same object when both roles name one model; a memory check before a second model).
        ``None`` when it could not be loaded; :attr:`chat_model` ``.message`` says why."""
        done = self._chat_loading is not None and self._chat_loading.done() and not self._chat_loading.cancelled()
        failed = done and self._chat_loading.result() is None  # type: ignore[union-attr]
        if self._chat_loading is None or (failed and self._may_retry()):
            self._chat_loading = asyncio.ensure_future(self._load_chat())
        return await self._chat_loading

    async def backend_for(self, role: Role) -> Backend | None:
        """:meth:`backend` for ``"completion"``, :meth:`chat_backend` for ``"chat"``."""
        return await (self.chat_backend() if role == "chat" else self.backend())

    async def _load_chat(self) -> Backend | None:
        completion = await self.backend()
        self.chat_model.state, self.chat_model.message = "loading", "Loading the chat model…"
        try:
            backend = await self._run(make_chat_backend, self.settings, completion, self._factory)
        except BackendError as exc:
            reason = self.model.message if completion is None and str(exc) == SHARED_MODEL_FAILED else str(exc)
            self.chat_model.state, self.chat_model.message = "error", reason
            log.error("chat model unavailable: %s", reason)
            return None
        self._chat = backend
        self.chat_model.state = "ready"
        self.chat_model.message = self.model.message if backend is completion else f"{backend.capabilities.name} ready (chat)"
        return backend

    async def _close_chat(self) -> None:
        """Drop the chat backend (closing it when it is not the completion backend)."""
        chat, self._chat = self._chat, None
        if self._chat_loading is not None and not self._chat_loading.done():
            self._chat_loading.cancel()
        self._chat_loading = None
        self.chat_model = ModelState()
        if chat is not None and chat is not self._backend:
            await self._run(chat.close)

    async def reload(self, settings: Settings) -> bool:
        """Apply new settings; reload the model when a :data:`RELOAD_KEYS` key changed.

        Returns True when a reload was started.
        """
        old, self.settings = self.settings, settings
        if all(getattr(old, k) == getattr(settings, k) for k in RELOAD_KEYS) and self._loading is not None:
            return False
        for event in self._inflight.values():
            event.set()
        await self._close_chat()
        previous = self._backend
        self._backend, self._loading = None, None
        if previous is not None:
            await self._run(previous.close)
        self.start_loading()
        return True

    async def complete(
        self, key: str, source: CompletionInput, n: int = 1, delay_ms: float | None = 0, automatic: bool = False,
        stream: bool = True,
    ) -> CompletionResult:
        """Inline completion for ``source``; an empty result when the model is unavailable.

        The request's time budget (ms) is ``first_latency_ms`` for the first automatic request on
        ``key``, else ``max_latency_ms`` (:data:`INVOKED_BUDGET_FACTOR` times that when not
        ``automatic``): decoding stops once it is spent (counted from the first token,
        as llama.cpp's ``t_max_predict_ms``; see
        :class:`~lfcode.completion.engine.CompletionOptions`), and waiting for a continuation's
        next line stops when it has passed since the request arrived. ``automatic`` requests make one
        model call at most, and (with ``stream``; the ``textDocument/completion`` fallback wants
        whole blocks) at a line start they are answered with the block's first line as soon as
        it is decoded while the block goes on decoding (:attr:`_continuations`); a later
        request that typed along with it is answered from it (``result.reused``).
        Typed-ahead reuse: when the user typed the start of the suggestion last answered for
        ``key`` (and nothing after the cursor changed), the rest of it is the answer, without
        calling the model. ``delay_ms`` debounces: the call waits that long first and gives up
        if a newer call with the same ``key`` arrived meanwhile; ``None`` waits the setting
        ``debounce_ms``, or when that is unset, the :class:`AdaptiveDebounce` delay. A newer call cancels this one;
        cancelling the awaiting task stops the generation within one token. Raises
        ``asyncio.CancelledError`` when cancelled and :class:`BackendError` when the model
        fails mid-generation.
        """
        began = time.monotonic()
        self._prefill_cancel.set()
        budget_ms = self.settings.max_latency_ms if key in self._answered else self.settings.first_latency_ms
        if not automatic:
            budget_ms = self.settings.max_latency_ms * INVOKED_BUDGET_FACTOR  # the user asked and waits
        deadline = began + budget_ms / 1000
        if n == 1 and stream:
            served = await self._from_continuation(key, source, deadline)
            if served is not None:
                log.debug("%s: answered from the continuation in %.0f ms", key, (time.monotonic() - began) * 1000)
                self._answered.add(key)
                return CompletionResult(items=[served] if served else [], reused=True)
        previous = self._inflight.get(key)
        if previous is not None:
            previous.set()
        shown = self._shown.get(key)
        rest = shown.typed_ahead(source) if shown is not None else None
        if rest is not None:
            self._shown[key] = Shown(source.prefix, source.suffix, rest)
            return CompletionResult(items=rest[:n], reused=True)
        cancel = threading.Event()
        self._inflight[key] = cancel
        if delay_ms is None:
            fixed = self.settings.debounce_ms
            delay_ms = fixed if fixed is not None else self.debounce.delay_ms(source.prefix, source.suffix)
        try:
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
            backend = await self.backend()
            if backend is None or cancel.is_set():
                return CompletionResult(cancelled=cancel.is_set())
            options = CompletionOptions.from_settings(self.settings, n)
            options.budget_ms, options.extra_calls = budget_ms, not automatic
            if automatic and key not in self._answered:
                options.uncached_max = max(32, int(budget_ms / 2 / COLD_PREFILL_MS_PER_TOKEN))
            asked = time.monotonic()
            if automatic and stream and n == 1:
                result = await self._complete_streaming(key, source, options, cancel, backend)
            else:
                result = await self._run(complete, backend, source, options, cancel, self.workspace.sources())
                if result.prompt_cut:
                    self.prefill(source)  # the whole prompt, in the background
            log.debug(
                "%s: answered in %.0f ms (%d model calls%s)", key, (time.monotonic() - began) * 1000, result.model_calls,
                ", out of time" if result.timed_out else "",
            )
            if not result.cancelled:
                self.debounce.response((time.monotonic() - asked) * 1000)
            if result.items:
                self._shown[key] = Shown(source.prefix, source.suffix, list(result.items))
                self._answered.add(key)
            else:
                self._shown.pop(key, None)
            return result
        except asyncio.CancelledError:
            cancel.set()
            raise
        finally:
            if self._inflight.get(key) is cancel and (key not in self._continuations or self._continuations[key].done):
                del self._inflight[key]

    async def _from_continuation(self, key: str, source: CompletionInput, deadline: float) -> str | None:
        """The answer from ``key``'s continuation when the user is on its track, waiting for its
        next line until ``deadline``; ``None`` (and the continuation stopped) otherwise."""
        continuation = self._continuations.get(key)
        if continuation is None:
            return None
        answer = continuation.answer(source.prefix, source.suffix)
        while answer is Wait.NEXT_LINE and time.monotonic() < deadline:
            await continuation.changed(deadline - time.monotonic())
            answer = continuation.answer(source.prefix, source.suffix)
        if isinstance(answer, str):
            return answer
        continuation.stop()
        del self._continuations[key]
        return None

    async def _complete_streaming(
        self, key: str, source: CompletionInput, options: CompletionOptions, cancel: threading.Event, backend: Backend
    ) -> CompletionResult:
        """Run the engine in the worker and answer with the first complete line of the block as
        soon as it is there; the decoding goes on into a :class:`Continuation` for ``key``."""
        loop = asyncio.get_running_loop()
        old = self._continuations.pop(key, None)
        if old is not None:
            old.stop()
        continuation = Continuation(loop, source.prefix, source.suffix, cancel)
        self._continuations[key] = continuation
        job = asyncio.ensure_future(
            self._run(complete, backend, source, options, cancel, self.workspace.sources(), continuation.update)
        )

        def finished(task: asyncio.Future[CompletionResult]) -> None:
            if task.cancelled():
                continuation.stop()
                return
            error = task.exception()
            if error is not None:
                log.warning("completion failed while decoding a block: %s", error)
                continuation.stop()
                return
            result = task.result()
            continuation.update(result.items[0] if result.items else "", done=True)
            if result.prompt_cut and not cancel.is_set():
                self.prefill(source)  # the whole prompt, now that the block is decoded

        job.add_done_callback(finished)
        while not job.done():
            if continuation.done:  # stopped: wait for the engine to return
                await asyncio.wait({job})
                break
            news = asyncio.ensure_future(continuation.changed((options.budget_ms or 0) / 1000 + 5))
            try:
                await asyncio.wait({job, news}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                news.cancel()
            if job.done():
                break
            answer = continuation.answer(source.prefix, source.suffix)
            if isinstance(answer, str):  # "": the block's first line is blank
                return CompletionResult(items=[answer] if answer else [], shape=None)
        result = job.result()
        if self._continuations.get(key) is continuation and not result.items:
            del self._continuations[key]
        return result

    def prefill(self, source: CompletionInput) -> asyncio.Future[int]:
        """Evaluate the prompt an automatic request at ``source`` would send into the model's KV
        cache, so that a request there, or after typing there, only evaluates what changed
        (llama.vim prefills its ring buffer chunks the same way).

        Scheduled at once (call it on the event loop) and run in the worker; any completion
        request, or a newer prefill, cancels it within one chunk of prompt tokens
        (:data:`lfcode.backends.llama_cpp.PREFILL_CHUNK`). The future's result is the number of
        prompt tokens cached, 0 when the backend cannot prefill or failed to load; a model error
        is logged, never raised.
        """
        self._prefill_cancel.set()
        cancel = self._prefill_cancel = threading.Event()
        if self._closed:
            cancel.set()
        options = CompletionOptions.from_settings(self.settings, 1)
        sources = self.workspace.sources(refresh=True)  # the user paused: rebuild the stable parts

        async def run() -> int:
            backend = await self.backend()  # loading started at initialize
            if backend is None or getattr(backend, "prefill", None) is None or cancel.is_set():
                return 0

            def work() -> int:
                if cancel.is_set() or self._closed:
                    return 0
                return backend.prefill(prompt_for(backend, source, options, sources), cancel)  # type: ignore[attr-defined]

            try:
                return await self._run(work)
            except BackendError as exc:
                log.info("prefill failed: %s", exc)
                return 0

        return asyncio.ensure_future(run())

    def edited(self, key: str, text: str) -> None:
        """The document ``key`` changed to ``text`` (a keystroke for the debounce): stop its
        continuation unless the edit typed along with it."""
        self.debounce.keystroke(time.monotonic())
        continuation = self._continuations.get(key)
        if continuation is not None and not continuation.follows(text):
            continuation.stop()
            del self._continuations[key]

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` in the inference worker (for explain, test generation, review)."""
        return await self._run(fn, *args)

    def forget(self, key: str) -> None:
        """Drop what was shown for ``key`` (its document closed) and stop its continuation."""
        self._shown.pop(key, None)
        self._answered.discard(key)
        continuation = self._continuations.pop(key, None)
        if continuation is not None:
            continuation.stop()

    async def close(self) -> None:
        """Cancel everything, free the model and stop the worker."""
        self._closed = True
        for event in self._inflight.values():
            event.set()
        for continuation in self._continuations.values():
            continuation.cancel.set()
        self._prefill_cancel.set()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        await self._close_chat()
        backend, self._backend = self._backend, None
        if backend is not None:
            await self._run(backend.close)
        self.workspace.close()
        self._executor.shutdown(wait=False, cancel_futures=True)
