"""The backend wrapper that records every model call in the audit log.

See :mod:`lfcode.audit` for the record format and the guarantees.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfcode.audit.log import AuditLog, audit_path
from lfcode.backends.base import Backend, BackendError, Capabilities, ChatMessage, GenerationRequest
from lfcode.errors import Cancelled, CancelToken

if TYPE_CHECKING:
    from lfcode.settings import Settings

#: Longest ``error`` text kept in a record, characters.
ERROR_MAX_CHARS = 500


def sha256_text(text: str) -> str:
    """Hex sha256 of ``text`` encoded as UTF-8 (a lone surrogate, which an editor can send, as
    its ``surrogatepass`` bytes)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def chat_prompt_text(messages: list[ChatMessage]) -> str:
    """The chat messages as the compact JSON list of ``{"role", "content"}`` the log hashes."""
    return json.dumps([{"role": m.role, "content": m.content} for m in messages], ensure_ascii=False, separators=(",", ":"))


_HASHES: dict[tuple[str, int, int], str] = {}
_HASHES_LOCK = threading.Lock()


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file at ``path``, computed once per ``(path, size, mtime)`` in this
    process (a multi-GB GGUF takes seconds). Raises ``OSError`` when it cannot be read."""
    from lfcode.backends.embedded import sha256_file

    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _HASHES_LOCK:
        if key not in _HASHES:
            _HASHES[key] = sha256_file(path)
        return _HASHES[key]


def model_identity(backend: Backend, settings: Settings) -> dict[str, str]:
    """What the records name as the model: ``{"url"}`` for a backend talking to a server
    (its ``base_url``), ``{"sha256", "path"}`` for one with a ``model_path`` (the pinned
    :data:`lfcode.backends.embedded.SHA256` for the verified embedded model, else the file's
    hash, :func:`file_sha256`), else ``{"name"}`` (its capabilities' name).

    Raises:
        BackendError: the model file cannot be read to hash it.
    """
    url = getattr(backend, "base_url", None)
    if isinstance(url, str):
        return {"url": url}
    path = getattr(backend, "model_path", None)
    if path is not None:
        if settings.model == "embedded":
            from lfcode.backends.embedded import SHA256

            return {"sha256": SHA256, "path": str(path)}
        try:
            return {"sha256": file_sha256(Path(path)), "path": str(path)}
        except OSError as exc:
            raise BackendError(f"cannot hash the model {path} for the audit log: {exc}") from exc
    return {"name": backend.capabilities.name}


class AuditedBackend:
    """A :class:`~lfcode.backends.base.Backend` that records every ``complete``/``chat`` call of
    ``inner`` in ``log`` (see the module docstring); everything else, optional methods such as
    ``prefill`` and ``uncached_tokens`` included, is ``inner``'s.

    Args:
        inner: the backend doing the work.
        log: where records go.
        backend_name: the ``backend`` setting's value, recorded as ``backend``.
        model: what records name as ``model`` (:func:`model_identity`).
        full: also record the prompt and answer texts (``audit_log = "full"``).
    """

    def __init__(self, inner: Backend, log: AuditLog, backend_name: str, model: dict[str, str], full: bool = False) -> None:
        self.inner = inner
        self.log = log
        self.backend_name = backend_name
        self.model = dict(model)
        self.full = full

    @classmethod
    def wrap(cls, inner: Backend, settings: Settings, env: Mapping[str, str] | None = None) -> AuditedBackend:
        """Wrap ``inner`` as ``settings.audit_log`` asks, logging to :func:`audit_path` of ``env``
        (the process environment by default). Checks the log opens and hashes the model now.

        Raises:
            BackendError: the log cannot be opened (:class:`AuditError`) or the model hashed.
        """
        audit = AuditLog(audit_path(env))
        audit.check()
        return cls(inner, audit, settings.backend, model_identity(inner, settings), full=settings.audit_log == "full")

    def __getattr__(self, name: str) -> Any:
        if name == "inner":  # not set yet (copy, unpickling): no recursion
            raise AttributeError(name)
        return getattr(self.inner, name)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def tokenize(self, text: str) -> list[int]:
        return self.inner.tokenize(text)

    def close(self) -> None:
        self.inner.close()

    def complete(self, request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """``inner.complete`` with a record appended when the stream ends (see the class).

        Raises:
            AuditError: the log cannot be opened (before the model is called), or the record
                cannot be written (raised by the stream in place of its end).
            BackendError: as ``inner.complete``.
        """
        return self._audited("complete", request, cancel, request.prompt, request.prompt,
                             [request.prompt], lambda: self.inner.complete(request, cancel))

    def chat(self, messages: list[ChatMessage], request: GenerationRequest, cancel: CancelToken) -> Iterator[str]:
        """``inner.chat`` with a record appended when the stream ends; raises as :meth:`complete`."""
        text = chat_prompt_text(messages)
        shown = [{"role": m.role, "content": m.content} for m in messages]
        return self._audited("chat", request, cancel, text, shown, [m.content for m in messages],
                             lambda: self.inner.chat(messages, request, cancel))

    def _audited(self, kind: str, request: GenerationRequest, cancel: CancelToken, text: str, shown: Any,
                 parts: list[str], start: Callable[[], Iterator[str]]) -> Iterator[str]:
        self.log.check()
        began = time.monotonic()
        call = {"kind": kind, "request": request, "text": text, "shown": shown, "parts": parts, "began": began}
        try:
            stream = start()
        except BaseException as exc:
            self._record(call, "", "error", exc)
            raise
        return self._stream(stream, call, cancel)

    def _stream(self, stream: Iterator[str], call: dict[str, Any], cancel: CancelToken) -> Iterator[str]:
        pieces: list[str] = []
        outcome, error = "done", None
        try:
            for piece in stream:
                pieces.append(piece)
                yield piece
            if cancel.is_set():
                outcome = "cancelled"
        except GeneratorExit:
            outcome = "closed"
            raise
        except BaseException as exc:
            outcome, error = ("cancelled" if isinstance(exc, Cancelled) else "error"), exc
            raise
        finally:
            close = getattr(stream, "close", None)
            try:
                if close is not None:
                    close()
            finally:
                self._record(call, "".join(pieces), outcome, error)

    def _record(self, call: dict[str, Any], answer: str, outcome: str, error: BaseException | None = None) -> None:
        record: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
            "feature": call["request"].feature,
            "backend": self.backend_name,
            "model": self.model,
            "kind": call["kind"],
            "outcome": outcome,
        }
        if error is not None:
            record["error"] = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
        prompt_tokens = self._count(call["parts"])
        record.update({
            "prompt_sha256": sha256_text(call["text"]),
            "answer_sha256": sha256_text(answer),
            "prompt_tokens": prompt_tokens,
            "answer_tokens": self._count([answer]),
            "duration_ms": round((time.monotonic() - call["began"]) * 1000, 1),
        })
        if self.full:
            record.update({"prompt": call["shown"], "answer": answer})
        self.log.append(record)

    def _count(self, texts: list[str]) -> int | None:
        """Tokens in ``texts`` together, by the backend's tokenizer; ``None`` when it fails."""
        try:
            return sum(len(self.inner.tokenize(t)) for t in texts if t)
        except Exception:  # noqa: BLE001 - a count is optional; the record is not
            return None
