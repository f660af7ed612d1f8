"""A scripted backend for tests: it says exactly what the test queued, token by token.

Modelled on simonw/llm's mock model: responses are queued in advance and consumed in order.
A script can also come from a JSON file (``LFCODE_FAKE_SCRIPT``) so that a server started as a
subprocess is deterministic::

    {"responses": ["return a + b\\n", "..."], "delay_ms": 0, "default": "pass"}

Token probabilities (:attr:`~lfcode.backends.base.GenerationRequest.on_token`) are scripted too:
a response may be a list of ``[piece, probability]`` pairs instead of a string (its pieces are
then exactly those), and ``"probability": 0.9`` gives every piece of a string response that
probability. Without either, the fake reports none, like a server that returns no ``logprobs``.

With the setting ``fake_record`` (``LFCODE_FAKE_RECORD``, machine-level like ``fake_script``:
a repository's files can set neither), every generation appends one JSON line (``prompt``,
``produced``, ``cancelled``, ``pieces``) to that file so that a test can see what a server
subprocess did; a ``{"started": prompt}`` line marks each generation's start. The script
itself never names a file to write: a ``"record"`` key in it is refused.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

from lfcode.backends.base import BackendError, Capabilities, ChatMessage, GenerationRequest
from lfcode.errors import CancelToken

_PIECE = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)

#: A scripted response: a text (split into word, space and punctuation pieces), or the exact
#: ``(piece, probability)`` pairs to produce, probabilities 0-1.
Response = str | list[tuple[str, float]]


class FakeBackend:
    """A backend whose answers are queued by the test.

    Args:
        responses: what successive ``complete``/``chat`` calls return, in order: texts, or
            lists of ``(piece, probability)`` pairs whose probabilities go to ``on_token``.
        default: returned once the queue is empty (``""`` by default).
        delay_ms: sleep between pieces, in milliseconds, so that cancellation can be tested.
        capabilities: what the fake claims to be (no FIM tokens by default; set
            ``chat_template=True`` to have callers use :meth:`chat`).
        probability: the probability (0-1) ``on_token`` gets for every piece of a text
            response; ``None`` (the default): text responses report no probabilities.

    Attributes:
        requests: every :class:`GenerationRequest` received, in order.
        messages: the chat messages of every ``chat`` call.
        cancelled: how many generations stopped early because the cancel flag was set.
        finished: how many generations ran to the end of their script.
        prefilled: every prompt :meth:`prefill` evaluated.
    """

    def __init__(
        self,
        responses: list[Response] | None = None,
        *,
        default: Response = "",
        delay_ms: float = 0.0,
        capabilities: Capabilities | None = None,
        record: str | Path | None = None,
        probability: float | None = None,
    ) -> None:
        self._queue: deque[Response] = deque(responses or [])
        self.default = default
        self.probability = probability
        self.delay_ms = delay_ms
        self._capabilities = capabilities or Capabilities(name="fake", n_ctx=4096)
        self.requests: list[GenerationRequest] = []
        self.messages: list[list[ChatMessage]] = []
        self.cancelled = 0
        self.finished = 0
        #: Prompts :meth:`prefill` was asked to evaluate ahead of a request.
        self.prefilled: list[str] = []
        self._lock = threading.Lock()
        self.record = Path(record) if record else None

    @classmethod
    def from_file(cls, path: str | Path, record: str | Path | None = None) -> FakeBackend:
        """Build a fake from a JSON script (see the module docstring); ``record`` is the
        machine-level ``fake_record`` file, or ``None`` for no record.

        Raises:
            BackendError: the file is missing, is not a valid script, or names a record file.
        """
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            if not isinstance(data, dict) or "record" in data:
                raise ValueError("a script is an object without a 'record' key (set LFCODE_FAKE_RECORD instead)")
            probability = data.get("probability")
            return cls(
                [_response(r) for r in data.get("responses", [])],
                default=_response(data.get("default", "")),
                delay_ms=float(data.get("delay_ms", 0)),
                capabilities=Capabilities(**data.get("capabilities", {"name": "fake"})),
                record=record,
                probability=None if probability is None else float(probability),
            )
        except (OSError, ValueError, TypeError) as exc:
            raise BackendError(f"cannot read fake backend script {path}: {exc}") from exc

    def queue(self, *responses: Response) -> None:
        """Append responses to the queue."""
        self._queue.extend(responses)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def tokenize(self, text: str) -> list[int]:
        """One pseudo-token per word, punctuation mark or whitespace run."""
        return [hash(piece) & 0xFFFF for piece in _PIECE.findall(text)]

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        with self._lock:
            self.requests.append(request)
            text = self._queue.popleft() if self._queue else self.default
        if self.record is not None:
            # A "started" line first: a test can tell a generation under way from one not begun.
            with self.record.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"started": request.prompt[-200:]}) + "\n")
        return self._stream(text, request, cancel)

    def prefill(self, prompt: str, cancel: CancelToken) -> int:
        """Record a prefill (``prefilled``, and a ``{"prefill": ...}`` line in the record file);
        returns the prompt's pseudo-token count, 0 when ``cancel`` is set."""
        if cancel.is_set():
            return 0
        with self._lock:
            self.prefilled.append(prompt)
        if self.record is not None:
            with self.record.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({"prefill": prompt[-200:]}) + "\n")
        return len(self.tokenize(prompt))

    def chat(
        self, messages: list[ChatMessage], request: GenerationRequest, cancel: CancelToken
    ) -> Iterator[str]:
        with self._lock:
            self.messages.append(list(messages))
        return self.complete(request, cancel)

    def _stream(self, text: Response, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        state = {"produced": "", "pieces": 0, "cancelled": False}
        try:
            yield from self._pieces(text, request, cancel, state)
        finally:
            if self.record is not None:
                line = json.dumps({"prompt": request.prompt[-200:], "temperature": request.temperature, "max_tokens": request.max_tokens, **state})
                with self.record.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")

    def _pieces(self, text: Response, request: GenerationRequest, cancel: CancelToken, state: dict) -> Iterator[str]:
        produced = ""
        if isinstance(text, str):
            scripted = [(piece, self.probability) for piece in _PIECE.findall(text)]
        else:
            scripted = list(text)
        for n, (piece, probability) in enumerate(scripted):
            if n >= request.max_tokens:
                break
            if cancel.is_set() or (self.delay_ms and self._sleep_cancelled(cancel)):
                self.cancelled += 1
                state["cancelled"] = True
                return
            if request.on_token is not None and probability is not None:
                request.on_token(piece, probability)
            produced += piece
            state["produced"], state["pieces"] = produced, n + 1
            hit = next((s for s in request.stop if s and s in produced), None)
            if hit is not None:
                cut = produced.index(hit)
                tail = cut - (len(produced) - len(piece))
                if tail > 0:
                    yield piece[:tail]
                break
            yield piece
        self.finished += 1

    def _sleep_cancelled(self, cancel: CancelToken) -> bool:
        """Wait ``delay_ms``; True when the cancel flag was set meanwhile."""
        return cancel.wait(self.delay_ms / 1000)

    def close(self) -> None:
        """Nothing to free."""


def _response(value: object) -> Response:
    """A script's response: a string, or a list of ``[piece, probability]`` pairs.

    Raises:
        ValueError: anything else, or a probability outside 0-1.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise ValueError(f"a response is a string or a list of [piece, probability] pairs, not {value!r}")
    pairs = []
    for pair in value:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)):
            raise ValueError(f"not a [piece, probability] pair: {pair!r}")
        probability = float(pair[1])
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability {probability} is outside 0-1")
        pairs.append((pair[0], probability))
    return pairs
