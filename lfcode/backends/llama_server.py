"""A backend for a llama.cpp ``llama-server`` (a team's shared box, or one on this machine).

It speaks the server's own API (``tools/server/README.md`` of llama.cpp), not only the
OpenAI-compatible one:

- ``POST /infill`` with ``input_prefix``, ``input_suffix`` and ``input_extra`` (the context
  chunks) for a FIM request (:attr:`GenerationRequest.infill`) when the server's model has FIM
  tokens: the server lays out the FIM prompt with its model's own tokens (the repo-level layout
  for models with file separators) and tokenizes the code with special tokens off, so text in a
  repository cannot forge a FIM token;
- ``POST /completion`` with ``cache_prompt`` otherwise (the server reuses its KV cache for the
  prompt's unchanged start);
- ``POST /tokenize`` (special tokens off) for the prompt budgets;
- ``POST /v1/chat/completions`` for chat, with the server's chat template (the inherited
  :meth:`OpenAIBackend.chat`);
- ``GET /props`` once, at start: the model file, context size and chat template, shown in the
  status. FIM ability is asked of ``/infill`` itself, and the family (for the status and stop
  strings) from which FIM token texts ``/tokenize`` reads as one token.

Every answer is streamed (server-sent events) and the stream is closed, which stops the
server's decoding, within one token of the cancel flag being set. The server is ``server_url``
(a trailing ``/v1`` is dropped), on loopback unless the user's own settings allow a remote host.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import PurePath
from urllib.parse import urlparse

import httpx

from lfcode.backends.base import BackendError, Capabilities, FimTokens, GenerationRequest
from lfcode.backends.fim import _PROBE_TEXTS, detect_fim
from lfcode.backends.openai_http import OpenAIBackend, check_server_url, http_error, server_root
from lfcode.errors import CancelToken

#: How long the start-up probes (``/props``, ``/infill``, ``/tokenize``) may take in all, seconds.
PROBE_TIMEOUT_S = 10.0


class LlamaServerBackend(OpenAIBackend):
    """Completions from llama.cpp's ``llama-server`` at ``url``.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8080`` (a trailing ``/v1`` is dropped).
        allow_remote: permit a non-loopback host (a machine-level setting; off by default).
        n_ctx: tokens; used only when the server does not say its own context size.

    Raises:
        BackendError: a bad or non-loopback URL (see
            :func:`lfcode.backends.openai_http.check_server_url`), no server answering there,
            or an answer that is not llama-server's.
    """

    def __init__(self, url: str, *, allow_remote: bool = False, n_ctx: int = 4096) -> None:
        #: The server's root URL; where prompts go (the audit log records it as ``base_url``).
        self.root = server_root(check_server_url(url, allow_remote))
        super().__init__(self.root, allow_remote=allow_remote, n_ctx=n_ctx)  # probes: _describe
        # Chat goes to the OpenAI-compatible api_url (ROOT/v1) through the inherited chat().
        self.base_url = self.root

    # -- start-up --------------------------------------------------------------------------

    def _describe(self, n_ctx: int) -> Capabilities:
        """Capabilities from ``GET /props`` and the FIM probes (:meth:`_probe_fim`).

        Raises:
            BackendError: no server answers, or the answer is not llama-server's.
        """
        timeout = httpx.Timeout(PROBE_TIMEOUT_S, connect=5.0)
        try:
            response = self._client.get(f"{self.root}/props", timeout=timeout)
        except httpx.HTTPError as exc:
            raise http_error(self.root, exc) from exc
        if response.status_code != 200:
            raise BackendError(f"{self.root}/props answered HTTP {response.status_code}: is this a llama-server?")
        try:
            props = response.json()
            settings = props.get("default_generation_settings") or {}
            server_ctx = int(settings.get("n_ctx") or props.get("n_ctx") or n_ctx)
            model = PurePath(str(props.get("model_path") or props.get("model_alias") or "unknown model")).name
            chat_template = bool(props.get("chat_template"))
        except (ValueError, AttributeError, TypeError) as exc:
            raise BackendError(f"{self.root}/props did not answer as llama-server does: {exc}") from exc
        fim = self._probe_fim(timeout)
        where = urlparse(self.root).netloc
        return Capabilities(name=f"llama-server {where} ({model})", n_ctx=server_ctx, fim=fim, chat_template=chat_template)

    def _probe_fim(self, timeout: httpx.Timeout) -> FimTokens | None:
        """The server's FIM tokens: ``None`` when ``/infill`` refuses (the model has none);
        else the family whose token texts the vocabulary has (``server`` when none is known)."""
        try:
            response = self._client.post(
                f"{self.root}/infill",
                json={"input_prefix": "", "input_suffix": "", "n_predict": 1, "cache_prompt": False},
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise http_error(self.root, exc) from exc
        if response.status_code != 200:
            return None
        vocab: dict[str, int] = {}
        for text in _PROBE_TEXTS:
            ids = self._tokenize(text, parse_special=True, timeout=timeout)
            if len(ids) == 1:
                vocab[text] = ids[0]
        return detect_fim(vocab) or FimTokens(family="server", prefix="", suffix="", middle="")

    # -- the protocol ----------------------------------------------------------------------

    def _tokenize(self, text: str, *, parse_special: bool = False, timeout: httpx.Timeout | None = None) -> list[int]:
        try:
            response = self._client.post(
                f"{self.root}/tokenize", json={"content": text, "parse_special": parse_special},
                **({"timeout": timeout} if timeout is not None else {}),
            )
        except httpx.HTTPError as exc:
            raise http_error(self.root, exc) from exc
        if response.status_code != 200:
            raise BackendError(f"{self.root}/tokenize answered HTTP {response.status_code}")
        try:
            return [int(t) for t in response.json()["tokens"]]
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError(f"unexpected answer from {self.root}/tokenize: {exc}") from exc

    def tokenize(self, text: str) -> list[int]:
        """The server model's token ids for ``text``, special-token texts read as plain text
        (as ``/infill`` reads code). Raises :class:`BackendError` when the server fails."""
        return self._tokenize(text) if text else []

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """Stream the answer: ``/infill`` for a request with :attr:`~GenerationRequest.infill`
        parts when the server's model has FIM tokens, else ``/completion`` on ``request.prompt``.
        Both with ``cache_prompt``. Raises :class:`BackendError` (the server is down, stopped
        mid-answer, or refused the request)."""
        body: dict = {
            "n_predict": request.max_tokens,
            "temperature": request.temperature,
            "stream": True,
            "cache_prompt": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_schema is not None:
            body["json_schema"] = request.json_schema
        if request.on_token is not None:
            body["n_probs"] = 1
        if request.infill is not None and self._capabilities.fim is not None:
            body.update(
                input_prefix=request.infill.prefix,
                input_suffix=request.infill.suffix,
                input_extra=[{"filename": name, "text": text} for name, text in request.infill.extra],
            )
            return self._server_stream("/infill", body, request, cancel)
        body["prompt"] = request.prompt
        return self._server_stream("/completion", body, request, cancel)

    def _server_stream(self, path: str, body: dict, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """The text pieces of one streamed answer of ``/completion`` or ``/infill`` (``data:``
        lines, each ``{"content", "stop", "completion_probabilities"?}``)."""
        url = f"{self.root}{path}"
        with self._lock:
            try:
                with self._client.stream("POST", url, json=body) as response:
                    if response.status_code != 200:
                        response.read()
                        raise BackendError(f"{url} answered HTTP {response.status_code}: {_error_text(response)}")
                    for line in response.iter_lines():
                        if cancel.is_set():
                            return  # leaving the block closes the stream: the server stops decoding
                        if line.startswith("error:"):
                            raise BackendError(f"{url} failed: {line[6:].strip()}")
                        if not line.startswith("data:"):
                            continue
                        chunk = json.loads(line[5:].strip())
                        if "error" in chunk:
                            raise BackendError(f"{url} failed: {chunk['error']}")
                        if request.on_token is not None:
                            for entry in chunk.get("completion_probabilities") or ():
                                token, logprob = entry.get("token"), entry.get("logprob")
                                if isinstance(token, str) and isinstance(logprob, (int, float)):
                                    request.on_token(token, min(1.0, math.exp(logprob)))
                        text = chunk.get("content")
                        if text:
                            yield text
                        if chunk.get("stop"):
                            return
            except httpx.HTTPError as exc:
                raise http_error(self.root, exc) from exc
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise BackendError(f"unexpected answer from {url}: {exc}") from exc


def _error_text(response: httpx.Response) -> str:
    """The ``error.message`` of a llama-server error answer, else the start of its body."""
    try:
        error = response.json().get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except (ValueError, AttributeError):
        pass
    return response.text[:200]
