"""Drive the real ``lfcode serve`` over raw stdio: framed bytes in, parsed messages out.

No LSP client library in between, so tests can send what a client never would. A reader thread
parses the server's frames into a queue; every wait has a timeout (no sleeping to synchronise).
Requests the server sends to the client (``window/showDocument``…) are answered with ``null``.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.conftest import server_command
from tests.e2e.lsp_helpers import server_env

#: Default wait for one message, seconds.
TIMEOUT = 20.0


def frame(body: bytes | str, headers: tuple[bytes, ...] = ()) -> bytes:
    """``body`` framed per LSP 3.17 §"Base Protocol" (``Content-Length`` plus ``headers``)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return b"".join((b"Content-Length: %d\r\n" % len(data), *headers, b"\r\n", data))


def raw_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """An isolated environment for a fake-backend server (no debounce unless overridden)."""
    settings.setdefault("backend", "fake")
    settings.setdefault("debounce_ms", "0")
    return server_env(tmp_path, **settings)


class RawServer:
    """A running ``lfcode serve`` subprocess; stderr goes to ``tmp_path / "stderr.txt"``."""

    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.stderr_path = tmp_path / "stderr.txt"
        self._stderr = self.stderr_path.open("wb")
        self.proc = subprocess.Popen(
            server_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env=env or raw_env(tmp_path), cwd=tmp_path,
        )
        self.messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- transport ----------------------------------------------------------------------------

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                length = None
                while True:
                    line = out.readline()
                    if not line:
                        return
                    if line == b"\r\n":
                        break
                    name, _, value = line.decode("ascii").partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                assert length is not None, "server sent a header block without Content-Length"
                message = json.loads(out.read(length))
                if "method" in message and "id" in message:  # a server → client request
                    self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})
                self.messages.put(message)
        finally:
            self.messages.put(None)

    def send_bytes(self, data: bytes) -> None:
        with self._write_lock:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, message: Any, headers: tuple[bytes, ...] = ()) -> None:
        """Send ``message`` (JSON-encodable, or raw ``bytes`` as the body) in one frame."""
        body = message if isinstance(message, bytes) else json.dumps(message)
        self.send_bytes(frame(body, headers))

    def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next message; raises ``EOFError`` when the server closed stdout, ``queue.Empty``
        after ``timeout`` seconds."""
        message = self.messages.get(timeout=timeout)
        if message is None:
            self.messages.put(None)
            raise EOFError("the server closed its output")
        return message

    def response(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next response (notifications from the server are skipped)."""
        while "method" in (message := self.recv(timeout)):
            pass
        return message

    # -- JSON-RPC -----------------------------------------------------------------------------

    def request(self, method: Any, params: Any = None, msg_id: Any = 1, **extra: Any) -> None:
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, **extra}
        if params is not None:
            message["params"] = params
        self.send(message)

    def notify(self, method: str, params: Any = None) -> None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def until(self, msg_id: Any, timeout: float = TIMEOUT) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until the response to ``msg_id``; returns it and every message read before it."""
        seen: list[dict[str, Any]] = []
        while True:
            message = self.recv(timeout)
            if message.get("id") == msg_id and "method" not in message:
                return message, seen
            seen.append(message)

    def call(self, method: Any, params: Any = None, msg_id: Any = 1, **extra: Any) -> dict[str, Any]:
        """Send a request and return its response (notifications in between are dropped)."""
        self.request(method, params, msg_id, **extra)
        return self.until(msg_id)[0]

    def initialize(self, root: Path | None = None) -> dict[str, Any]:
        """``initialize`` + ``initialized`` with empty client capabilities."""
        params = {"processId": None, "rootUri": root.as_uri() if root else None, "capabilities": {}}
        answer = self.call("initialize", params, msg_id="init")
        self.notify("initialized", {})
        return answer

    def stderr(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> None:
        """Stop the server (``shutdown``/``exit`` when it still runs, kill as a last resort)."""
        try:
            if self.proc.poll() is None:
                try:
                    self.request("shutdown", msg_id="close-shutdown")
                    self.until("close-shutdown", timeout=10)
                    self.notify("exit")
                    self.proc.wait(timeout=10)
                except (OSError, EOFError, queue.Empty, subprocess.TimeoutExpired):
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    try:
                        stream.close()
                    except OSError:
                        pass
            self._stderr.close()
