"""A backend for a local OpenAI-compatible server (vLLM, Ollama, llama.cpp's ``llama-server``…).

The server is the ``server_url`` setting (``/v1`` is added when the URL does not end with it).
It talks only to loopback unless the user set ``allow_remote``. Completions use the legacy
``POST /completions`` endpoint with ``stream: true`` (server-sent events, one JSON chunk per
``data:`` line, ended by ``data: [DONE]``), so FIM prompts pass through verbatim; the stream is
closed as soon as the cancel flag is set.

A request with ``on_token`` asks the server for ``logprobs`` and passes on each token's
``exp(logprob)`` as its probability; a server that sends none leaves the probabilities unknown.
"""

from __future__ import annotations

import ipaddress
import json
import math
import threading
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx

from lfcode.backends.base import BackendError, Capabilities, ChatMessage, GenerationRequest, TokenCallback
from lfcode.errors import CancelToken

#: Characters per token assumed when the server has no ``/tokenize`` endpoint.
CHARS_PER_TOKEN = 4


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any 127.0.0.0/8 or ::1 address (``[::1]`` brackets allowed)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """True when ``url``'s host is ``localhost`` or a loopback address."""
    return is_loopback(urlparse(url).hostname or "")


def token_logprobs(choice: dict) -> list[tuple[str, float]]:
    """``(token text, natural-log probability)`` pairs of one streamed choice: the chat shape
    (``logprobs.content[].token/logprob``, also llama-server's for both endpoints) or the legacy
    completions one (``logprobs.tokens`` with ``token_logprobs``); ``[]`` when there are none."""
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        return []
    content = logprobs.get("content")
    if isinstance(content, list):
        pairs = [(c.get("token"), c.get("logprob")) for c in content if isinstance(c, dict)]
    else:
        pairs = list(zip(logprobs.get("tokens") or [], logprobs.get("token_logprobs") or []))
    return [(t, float(lp)) for t, lp in pairs if isinstance(t, str) and isinstance(lp, (int, float))]


def check_server_url(url: str, allow_remote: bool) -> str:
    """``url`` without a trailing ``/``, after the trust checks every HTTP backend makes.

    Raises:
        BackendError: not an http(s) URL with a host, or a host off this machine (not
            :func:`is_loopback_url`) without ``allow_remote`` (a machine-level setting).
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BackendError(f"server_url must be an http(s) URL, got {url!r}")
    if not allow_remote and not is_loopback_url(url):
        raise BackendError(
            f"server_url {url} is not on this machine; lfcode only talks to loopback "
            "unless you set allow_remote = true (in your own config, not a project's)"
        )
    return url.rstrip("/")


def server_root(url: str) -> str:
    """``url`` without a trailing ``/`` or ``/v1``: llama-server's own endpoints hang off the root."""
    url = url.rstrip("/")
    return url[: -len("/v1")] if url.endswith("/v1") else url


def openai_base(url: str) -> str:
    """``url`` ending in ``/v1``, where the OpenAI-compatible endpoints are."""
    return server_root(url) + "/v1"


def http_error(base_url: str, exc: httpx.HTTPError) -> BackendError:
    """A message the user understands for a failed request to the server at ``base_url``: it is
    not running (connection refused), it stopped in the middle of an answer, or it is too slow."""
    where = urlparse(base_url).netloc or base_url
    if isinstance(exc, httpx.ConnectError):
        return BackendError(f"no server answers at {where} (is it running?): {exc}")
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return BackendError(f"the server at {where} closed the connection in the middle of an answer (did it stop?): {exc}")
    if isinstance(exc, httpx.TimeoutException):
        return BackendError(f"the server at {where} did not answer in time: {exc}")
    return BackendError(f"cannot reach the server at {where}: {exc}")


class OpenAIBackend:
    """Completions from an OpenAI-compatible HTTP server.

    Args:
        base_url: e.g. ``http://127.0.0.1:8080/v1`` (``/v1`` is added when missing).
        allow_remote: permit a non-loopback host (off by default: code must not leave the machine).
        n_ctx: the server model's context window, tokens (used for budgeting only).
        model: the model name sent in requests.

    Raises:
        BackendError: a non-loopback URL without ``allow_remote``, or a malformed URL.
    """

    def __init__(self, base_url: str, *, allow_remote: bool = False, n_ctx: int = 4096, model: str = "default") -> None:
        self.base_url = openai_base(check_server_url(base_url, allow_remote))
        #: Where the OpenAI-compatible endpoints are (``base_url``; a subclass may differ).
        self.api_url = self.base_url
        self.model = model
        self._client = httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0), trust_env=False)
        self._lock = threading.Lock()
        try:
            self._capabilities = self._describe(n_ctx)
        except BaseException:
            self._client.close()
            raise

    def _describe(self, n_ctx: int) -> Capabilities:
        """The capabilities shown in the status: ``GET /v1/models`` (2 s at most) names the
        served model, which requests then name too; a server that does not answer (yet) leaves
        the URL as the name and ``model`` as given. Never raises."""
        where = urlparse(self.base_url).netloc
        try:
            response = self._client.get(f"{self.api_url}/models", timeout=2.0)
            served = response.json()["data"][0]["id"] if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
            served = None
        if isinstance(served, str) and served:
            self.model = served
            return Capabilities(name=f"openai {where} ({served})", n_ctx=n_ctx)
        return Capabilities(name=f"openai {where}", n_ctx=n_ctx)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def tokenize(self, text: str) -> list[int]:
        """Token ids from llama-server's ``/tokenize``; an estimate (4 chars/token) elsewhere."""
        root = self.base_url.removesuffix("/v1")
        try:
            response = self._client.post(f"{root}/tokenize", json={"content": text})
            if response.status_code == 200:
                return list(response.json()["tokens"])
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        return list(range((len(text) + CHARS_PER_TOKEN - 1) // CHARS_PER_TOKEN))

    def _stream(self, path: str, body: dict, cancel: CancelToken, chat: bool, on_token: TokenCallback | None = None) -> Iterator[str]:
        with self._lock:
            try:
                with self._client.stream("POST", f"{self.api_url}{path}", json=body) as response:
                    if response.status_code != 200:
                        raise BackendError(f"{self.api_url}{path} answered HTTP {response.status_code}")
                    for line in response.iter_lines():
                        if cancel.is_set():
                            return
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            return
                        choice = json.loads(data)["choices"][0]
                        text = (choice.get("delta") or {}).get("content") if chat else choice.get("text")
                        if on_token is not None:
                            for piece, logprob in token_logprobs(choice):
                                on_token(piece, min(1.0, math.exp(logprob)))
                        if text:
                            yield text
            except httpx.HTTPError as exc:
                raise http_error(self.base_url, exc) from exc
            except (ValueError, KeyError, IndexError) as exc:
                raise BackendError(f"unexpected answer from {self.api_url}: {exc}") from exc

    def _body(self, request: GenerationRequest) -> dict:
        body: dict = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
        }
        if request.stop:
            body["stop"] = request.stop[:4]
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "answer", "schema": request.json_schema}}
        return body

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        body = {**self._body(request), "prompt": request.prompt}
        if request.on_token is not None:
            body["logprobs"] = 1  # the legacy endpoint's count of alternatives per token
        return self._stream("/completions", body, cancel, chat=False, on_token=request.on_token)

    def chat(self, messages: list[ChatMessage], request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        body = {**self._body(request), "messages": [m.model_dump() for m in messages]}
        if request.on_token is not None:
            body["logprobs"] = True
        return self._stream("/chat/completions", body, cancel, chat=True, on_token=request.on_token)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
