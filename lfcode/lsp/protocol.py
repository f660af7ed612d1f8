"""A hardened JSON-RPC layer under pygls: one answer per request, whatever arrives.

pygls drops requests whose params do not deserialize (only an "Error in server" popup is shown),
hashes any ``id`` (an object id gives ``-32603 unhashable type``), answers nothing after
``shutdown`` and puts tracebacks in error responses. :class:`LfcodeProtocol` validates each
message before pygls sees it and answers every request exactly once, with the JSON-RPC 2.0 §5.1
codes: ``-32700`` (parse error, id null), ``-32600`` (invalid request; id null when the id
itself is unusable), ``-32601`` (method not found), ``-32602`` (invalid params), ``-32603``
(internal error, a short message; the traceback goes to the log) and LSP's ``-32002``
(ServerNotInitialized, LSP 3.17 §"Initialize Request"). Notifications never get a response.
Framing and the stdio loop are in :mod:`lfcode.lsp.framing`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import Future
from typing import Any
from urllib.parse import unquote

import cattrs
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcRequestCancelled
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage

from lfcode.lsp import textsync

log = logging.getLogger(__name__)

#: Longest error message sent to the client, characters.
MAX_ERROR_CHARS = 300

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
SERVER_NOT_INITIALIZED = -32002


def _valid_id(value: Any) -> bool:
    """JSON-RPC ids lfcode accepts: integers (not booleans) and strings (LSP ``integer | string``)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _short(exc: BaseException) -> str:
    """A one-line description of ``exc`` (cattrs' nested errors flattened), at most
    :data:`MAX_ERROR_CHARS` characters."""
    if isinstance(exc, cattrs.BaseValidationError):
        try:
            text = "; ".join(cattrs.transform_error(exc)[:3])
        except Exception:  # noqa: BLE001 - the summary is best effort
            text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


#: ``InlineCompletionTriggerKind`` values of the final LSP 3.18 (Invoked = 1, Automatic = 2).
_INLINE_TRIGGER_KINDS = frozenset(kind.value for kind in types.InlineCompletionTriggerKind)


def _fix_inline_trigger_kind(data: dict[str, Any]) -> None:
    """Make a ``textDocument/inlineCompletion`` request's ``context.triggerKind`` one that LSP
    3.18 knows, in place: an unknown or absent kind (vscode-languageclient 9 sends the proposed
    numbering, where Invoked is 0) is taken as Invoked (1), so the request is answered rather than
    refused with ``-32602``. A missing ``context`` is added; other malformed params are left for
    structuring to refuse."""
    params = data.get("params")
    if not isinstance(params, dict):
        return
    context = params.setdefault("context", {})
    if not isinstance(context, dict):
        return
    kind = context.get("triggerKind")
    if isinstance(kind, bool) or not isinstance(kind, int) or kind not in _INLINE_TRIGGER_KINDS:
        log.debug("inlineCompletion triggerKind %r taken as Invoked", kind)
        context["triggerKind"] = types.InlineCompletionTriggerKind.Invoked.value


class LfcodeProtocol(LanguageServerProtocol):
    """pygls' LSP protocol with validation in front of it and guaranteed answers.

    Feed it whole bodies with :meth:`handle_body`. Besides the checks listed in the module
    docstring, it answers requests after ``shutdown`` with ``-32600`` (LSP 3.17 §"Shutdown
    Request"), drops notifications before ``initialize`` except ``exit``, and applies big
    incremental ``didChange`` edits in bounded time (:mod:`lfcode.lsp.textsync`).
    """

    def __init__(self, server: Any, converter: cattrs.Converter) -> None:
        super().__init__(server, converter)
        self.initialize_received = False
        self._write_lock = threading.Lock()

    # -- incoming ----------------------------------------------------------------------------

    def handle_body(self, body: bytes) -> None:
        """Handle one framed message body (UTF-8 JSON); never raises except ``SystemExit``
        (the ``exit`` notification)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError
            self.reply_error(None, PARSE_ERROR, f"Parse error: {_short(exc)}")
            return
        try:
            self.handle_data(data)
        except SystemExit:
            raise
        except Exception:  # noqa: BLE001 - last resort, the message is already answered or dropped
            log.exception("unexpected error handling a message")

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Leave decoded messages as dicts (pygls' own TCP/WebSocket loops call this as the
        ``json.loads`` object hook); :meth:`handle_data` validates and structures them."""
        return data

    def handle_message(self, message: Any) -> None:
        """pygls' entry point: raw dicts (from pygls' own loops) go through :meth:`handle_data`
        first; structured messages are dispatched by pygls."""
        if not isinstance(message, dict):
            super().handle_message(message)
            return
        try:
            self.handle_data(message)
        except SystemExit:
            raise
        except Exception:  # noqa: BLE001 - as in handle_body
            log.exception("unexpected error handling a message")

    def handle_data(self, data: Any) -> None:
        """Handle one decoded JSON-RPC message (a dict; anything else is an invalid request)."""
        if not isinstance(data, dict):
            self.reply_error(None, INVALID_REQUEST, "Invalid Request: a message must be a JSON object (LSP has no batches)")
        elif "method" in data and "id" in data:
            self._request(data)
        elif "method" in data:
            self._notification(data)
        elif "id" in data:
            self._response(data)
        else:
            log.warning("dropped a message that is neither a request, a notification nor a response")

    def _request(self, data: dict[str, Any]) -> None:
        msg_id, method = data["id"], data["method"]
        if not _valid_id(msg_id):
            self.reply_error(None, INVALID_REQUEST, "Invalid Request: id must be an integer or a string")
            return
        problem = None
        if data.get("jsonrpc") != "2.0":
            problem = (INVALID_REQUEST, 'Invalid Request: "jsonrpc" must be "2.0"')
        elif not isinstance(method, str):
            problem = (INVALID_REQUEST, "Invalid Request: method must be a string")
        elif "params" in data and not isinstance(data["params"], (dict, list)):
            problem = (INVALID_PARAMS, "Invalid params: params must be an object or an array")
        elif self._shutdown:
            problem = (INVALID_REQUEST, "Invalid Request: the server is shutting down")
        elif method == types.INITIALIZE and self.initialize_received:
            problem = (INVALID_REQUEST, "Invalid Request: initialize was already received")
        elif method != types.INITIALIZE and not self.initialize_received:
            problem = (SERVER_NOT_INITIALIZED, "Server not initialized")
        elif self.fm.builtin_features.get(method) is None and self.fm.features.get(method) is None:
            problem = (METHOD_NOT_FOUND, f"Method not found: {method}")
        if problem is not None:
            self.reply_error(msg_id, *problem)
            return
        if method == types.TEXT_DOCUMENT_INLINE_COMPLETION:
            _fix_inline_trigger_kind(data)
        request_type = self.get_message_type(method) or JsonRPCRequestMessage
        if not any(a.name == "id" for a in getattr(request_type, "__attrs_attrs__", ())):
            self.reply_error(msg_id, INVALID_REQUEST, f"Invalid Request: {method} is a notification, not a request")
            return
        try:
            message = self._converter.structure(data, request_type)
        except Exception as exc:  # noqa: BLE001 - any structuring failure is bad params
            self.reply_error(msg_id, INVALID_PARAMS, f"Invalid params for {method}: {_short(exc)}")
            return
        if method == types.INITIALIZE:
            self.initialize_received = True
        try:
            self.handle_message(message)
        except SystemExit:
            raise
        except Exception as exc:  # noqa: BLE001 - pygls answers its own errors; this is a safety net
            log.exception("request %r (%s) failed before dispatch", msg_id, method)
            self.reply_error(msg_id, INTERNAL_ERROR, f"Internal error: {_short(exc)}")

    def _notification(self, data: dict[str, Any]) -> None:
        method = data["method"]
        if data.get("jsonrpc") != "2.0" or not isinstance(method, str):
            log.warning("dropped an invalid notification")
            return
        if method != types.EXIT and (self._shutdown or not self.initialize_received):
            log.warning("dropped notification %s (%s)", method, "shutting down" if self._shutdown else "not initialized")
            return
        try:
            message = self._converter.structure(data, self.get_message_type(method) or JsonRPCNotification)
        except Exception as exc:  # noqa: BLE001 - notifications cannot be answered: log and drop
            log.warning("dropped notification %s: %s", method, _short(exc))
            return
        self.handle_message(message)

    def _response(self, data: dict[str, Any]) -> None:
        msg_id = data["id"]
        if data.get("jsonrpc") != "2.0" or not _valid_id(msg_id) or not ("result" in data or "error" in data):
            log.warning("dropped an invalid response")
            return
        try:
            message = super().structure_message(data)
        except Exception as exc:  # noqa: BLE001 - fail the waiting request instead of hanging it
            log.warning("invalid response to %r: %s", msg_id, _short(exc))
            self._result_types.pop(msg_id, None)
            future = self._request_futures.pop(msg_id, None)
            if future is not None and not future.done():
                future.set_exception(JsonRpcException(f"invalid response: {_short(exc)}"))
            return
        self.handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        """pygls' handler, but edits to big documents are applied in bounded time and changes to
        documents that are not open are dropped (pygls would raise, and a handler reading
        ``doc.source`` would read the file from disk)."""
        uri = params.text_document.uri
        doc = self.workspace.text_documents.get(unquote(uri))  # pygls keys documents so
        if doc is None:
            log.warning("didChange for %s, which is not open", uri)
            return
        for change in params.content_changes:
            if not textsync.apply(doc, change, self.workspace.position_encoding):
                self.workspace.update_text_document(params.text_document, change)
        doc.version = params.text_document.version
        if (user_handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield user_handler, (params,), None

    # -- outgoing ----------------------------------------------------------------------------

    def reply_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Send one JSON-RPC error response (JSON-RPC 2.0 §5.1); ``msg_id`` None when unknown."""
        self._write({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def _send_handler_result(self, future: Future[Any], *, msg_id: Any) -> None:
        """Answer a finished request handler: its result, ``-32800`` when cancelled, its
        ``JsonRpcException``'s error, or ``-32603`` with a short message (traceback logged)."""
        self._request_futures.pop(msg_id, None)
        try:
            if future.cancelled():
                self.reply_error(msg_id, JsonRpcRequestCancelled.CODE, f"Request {msg_id!r} was cancelled")
                return
            exc = future.exception()
            if exc is None:
                self._send_response(msg_id, result=future.result())
            elif isinstance(exc, JsonRpcException):
                log.warning("request %r failed: %s", msg_id, exc)
                self._result_types.pop(msg_id, None)
                self.reply_error(msg_id, exc.code, (exc.message or type(exc).__name__)[:MAX_ERROR_CHARS])
            else:
                log.error("request %r failed", msg_id, exc_info=exc)
                self._result_types.pop(msg_id, None)
                self.reply_error(msg_id, INTERNAL_ERROR, f"Internal error: {_short(exc)}")
        except BrokenPipeError:
            raise
        except Exception as exc:  # noqa: BLE001 - still answer once
            log.exception("could not answer request %r", msg_id)
            self.reply_error(msg_id, INTERNAL_ERROR, f"Internal error: {_short(exc)}")

    def _send_data(self, data: Any) -> None:
        """Serialize and write one message; a response whose result cannot be serialized is
        replaced by a ``-32603`` error response for the same id."""
        if not data:
            return
        try:
            body = json.dumps(data, default=self._serialize_message)
        except Exception as exc:  # noqa: BLE001 - a handler returned something unserializable
            log.exception("cannot serialize an outgoing message")
            msg_id = getattr(data, "id", None)
            if hasattr(data, "result") and _valid_id(msg_id):
                self.reply_error(msg_id, INTERNAL_ERROR, f"Internal error: unserializable result ({_short(exc)})")
            return
        self._write_text(body)

    def _write(self, data: dict[str, Any]) -> None:
        self._write_text(json.dumps(data))

    def _write_text(self, body: str) -> None:
        if self.writer is None:
            log.error("no transport to send a message on")
            return
        payload = body.encode("utf-8")
        header = f"Content-Length: {len(payload)}\r\nContent-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n"
        try:
            with self._write_lock:  # responses of threaded handlers are written from worker threads
                result = self.writer.write(header.encode("ascii") + payload)
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                asyncio.ensure_future(result)
        except BrokenPipeError:
            log.error("the client closed the connection")
            raise
        except (OSError, ValueError) as exc:  # closed stream
            log.error("cannot send a message: %s", exc)


