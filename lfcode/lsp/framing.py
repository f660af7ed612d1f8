"""LSP Base Protocol framing with bounded memory, and the stdio serving loop.

LSP 3.17 §"Base Protocol": header fields (``Content-Length`` is the one that matters), an empty
line, then a body of ``Content-Length`` bytes. pygls' loop (``pygls.io_.run_async``) allocates
whatever ``Content-Length`` claims (``99999999999999`` ends in ``MemoryError``); here a body over
:data:`MAX_MESSAGE_BYTES` raises :class:`FramingError` (the stream cannot be resynchronised
without reading the body, so the server exits non-zero with a message on stderr). Header blocks
without a usable length are skipped; reading resynchronises on the next ``Content-Length``
header, also one glued to the tail of a mis-framed body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
import sys
import threading
from typing import Any, BinaryIO

from pygls.io_ import StdoutWriter

log = logging.getLogger(__name__)

#: Largest message body accepted, bytes (LSP has no limit; 64 MiB fits any sane source file).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: Longest header line read at once, bytes; longer lines are read (and ignored) in pieces.
MAX_HEADER_LINE = 65536

_CONTENT_LENGTH = re.compile(rb"content-length[ \t]*:[ \t]*", re.IGNORECASE)


class FramingError(Exception):
    """The byte stream cannot be framed any more (e.g. a ``Content-Length`` over the limit)."""


def _content_length(line: bytes) -> int | None:
    """The value of a ``Content-Length`` header found in ``line`` (possibly glued after the tail
    of a mis-framed body), ``-1`` for a present but invalid value, ``None`` when absent.

    Raises:
        FramingError: the length exceeds :data:`MAX_MESSAGE_BYTES`.
    """
    found = None
    for found in _CONTENT_LENGTH.finditer(line):
        pass
    if found is None:
        return None
    value = line[found.end() :].strip()
    if not value.isdigit():
        return -1
    if len(value) > 12 or int(value) > MAX_MESSAGE_BYTES:
        shown = value[:20].decode("ascii") + ("…" if len(value) > 20 else "")
        raise FramingError(
            f"Content-Length {shown} exceeds the {MAX_MESSAGE_BYTES // (1024 * 1024)} MiB message limit; "
            "the stream cannot be resynchronised"
        )
    return int(value)


class _Headers:
    """The header part of LSP framing: feed lines (or pieces of long lines) to :meth:`line`."""

    def __init__(self) -> None:
        self.length: int | None = None
        self.fresh = True  # the last piece ended a line

    def line(self, line: bytes) -> int | None:
        """Feed one line; returns the body length when it ended a block with a valid
        ``Content-Length`` (blocks without one are logged and skipped).

        Raises:
            FramingError: a ``Content-Length`` over :data:`MAX_MESSAGE_BYTES`.
        """
        starts_line, self.fresh = self.fresh, line.endswith(b"\n")
        if not starts_line or line not in (b"\r\n", b"\n"):
            found = _content_length(line)
            if found is not None:
                self.length = found
            return None
        length, self.length = self.length, None
        if length is None or length < 0:
            log.warning("skipped a header block without a valid Content-Length")
            return None
        return length


def read_frame(stream: BinaryIO) -> bytes | None:
    """Read one message body from a blocking ``stream`` (run it in a worker thread).

    A header block ends at an empty line (``\\r\\n``; a bare ``\\n`` is accepted too; a line of
    blanks is a malformed header, not the end). Unknown or malformed header lines are ignored;
    lines longer than :data:`MAX_HEADER_LINE` are read in pieces. Returns ``None`` at end of
    input (also in the middle of a body).

    Raises:
        FramingError: a ``Content-Length`` over :data:`MAX_MESSAGE_BYTES`.
    """
    headers = _Headers()
    while True:
        line = stream.readline(MAX_HEADER_LINE)
        if not line:
            return None
        length = headers.line(line)
        if length is not None:
            body = stream.read(length) if length else b""
            if len(body) < length:
                log.warning("input ended inside a message body")
                return None
            return body


async def read_frame_async(reader: asyncio.StreamReader) -> bytes | None:
    """:func:`read_frame` for an ``asyncio.StreamReader`` (its ``limit`` bounds a header line)."""
    headers = _Headers()
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError:
            return None
        except asyncio.LimitOverrunError as exc:  # a long line: take a piece of it
            line = await reader.readexactly(max(1, exc.consumed))
        length = headers.line(line)
        if length is not None:
            try:
                return await reader.readexactly(length) if length else b""
            except asyncio.IncompleteReadError:
                log.warning("input ended inside a message body")
                return None


async def _pipe_reader(stream: BinaryIO, stdout: BinaryIO) -> asyncio.StreamReader | None:
    """An event-loop reader on ``stream`` when it is a pipe or socket of its own, else ``None``.

    Reading on the loop thread matters: tree-sitter holds the GIL while it parses, so a reader
    thread would wait for every parse slice at each hand-over. Not for a stream sharing its open
    file with ``stdout`` (it would make writes non-blocking too).
    """
    try:
        info = os.fstat(stream.fileno())
        out = os.fstat(stdout.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISSOCK(info.st_mode)) or (info.st_dev, info.st_ino) == (out.st_dev, out.st_ino):
        return None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_HEADER_LINE, loop=loop)
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), stream)
    except (OSError, ValueError):
        return None
    return reader


async def _serve(server: Any, stream: BinaryIO, stdout: BinaryIO) -> None:
    protocol = server.protocol
    loop = asyncio.get_running_loop()
    reader = await _pipe_reader(stream, stdout)
    while not server._stop_event.is_set():
        if reader is not None:
            body = await read_frame_async(reader)
        else:
            body = await loop.run_in_executor(server.thread_pool, read_frame, stream)
        if body is None:
            return
        protocol.handle_body(body)


def serve_stdio(server: Any, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """Serve LSP over ``stdin``/``stdout`` until end of input or ``exit``; replaces pygls'
    ``start_io`` for a server whose ``protocol`` is a
    :class:`~lfcode.lsp.protocol.LfcodeProtocol` (it needs ``handle_body``).

    Raises:
        SystemExit: code 1 when the stream cannot be framed (:class:`FramingError`, reported on
            stderr) and the ``exit`` notification's code (0 after ``shutdown``, else 1).
    """
    server._stop_event = threading.Event()
    stdout = stdout or sys.stdout.buffer
    server.protocol.set_writer(StdoutWriter(stdout))
    code: int | str | None = 0
    try:
        asyncio.run(_serve(server, stdin or sys.stdin.buffer, stdout))
    except FramingError as exc:
        sys.stderr.write(f"lfcode: protocol error: {exc}\n")
        sys.stderr.flush()
        code = 1
    except BrokenPipeError:
        log.error("connection to the client lost; shutting down")
    except KeyboardInterrupt:
        pass
    except SystemExit as exc:
        code = exc.code
    finally:
        server.shutdown()
    if code:
        raise SystemExit(code)
