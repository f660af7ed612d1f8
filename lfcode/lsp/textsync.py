"""Incremental ``didChange`` edits applied to big pygls documents in bounded time.

pygls' ``TextDocument._apply_incremental_change`` splits the whole text into lines and rebuilds
it line by line in Python, for every change: seconds per keystroke on a 20 MB file. Here the
edit's offsets are found with C-speed string scans (``str.count``/``str.find`` over chunks) and
the text is rebuilt with one slice-and-join, about 10 ms for 20 MB.

Lines end at ``\\n`` (a ``\\r`` before it belongs to the line break), as in
:mod:`lfcode.context.documents`, so both views of a document stay equal. Positions follow
LSP 3.17 §"Position": a line past the end means the end of the text, a column past the end of
its line means the end of the line; columns count the negotiated encoding's code units
(UTF-16 by default).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

#: Documents at least this long (characters) take the fast path; smaller ones keep pygls' code.
FAST_SYNC_CHARS = 1 << 16
#: Characters scanned per ``str.count`` call when looking for a line.
_SCAN = 1 << 13


def line_start(text: str, line: int) -> int | None:
    """Code-point offset of the start of 0-based ``line`` in ``text``; ``None`` when ``text``
    has fewer lines. Cost: one C scan up to that line (no Python loop per line)."""
    if line <= 0:
        return 0
    pos, remaining, size = 0, line, len(text)
    while pos < size:
        end = min(size, pos + _SCAN)
        count = text.count("\n", pos, end)
        if count >= remaining:
            for _ in range(remaining):
                pos = text.index("\n", pos, end) + 1
            return pos
        remaining -= count
        pos = end
    return None


def column_offset(line: str, units: int, encoding: str = "utf-16") -> int:
    """Code points of ``line`` (without its line break) covered by ``units`` code units of
    ``encoding`` (``utf-8``, ``utf-16`` or ``utf-32``), clamped to the line; a column inside a
    character (half a surrogate pair, part of a UTF-8 sequence) includes that character, as
    :func:`lfcode.context.documents.locate` does."""
    if units <= 0:
        return 0
    head = line[:units]  # a code point is at least one unit in every encoding
    if encoding == "utf-32" or head.isascii():
        return len(head)
    codec = "utf-16-le" if encoding == "utf-16" else "utf-8"
    width = 2 if encoding == "utf-16" else 1
    raw = head.encode(codec, "surrogatepass")[: units * width]
    return len(raw.decode(codec, "replace"))  # a cut character decodes to one U+FFFD


def offset_at(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """Code-point offset of an LSP ``position`` in ``text``, clamped as the module docstring says."""
    start = line_start(text, position.line)
    if start is None:
        return len(text)
    end = text.find("\n", start)
    end = len(text) if end < 0 else end
    if end > start and text[end - 1] == "\r":
        end -= 1
    return start + column_offset(text[start:end], position.character, encoding)


def _encoding(kind: Any) -> str:
    value = str(getattr(kind, "value", kind) or "utf-16")
    return value if value in ("utf-8", "utf-16", "utf-32") else "utf-16"


def apply(doc: TextDocument, change: types.TextDocumentContentChangeEvent, encoding: Any = "utf-16") -> bool:
    """Apply one incremental ``change`` to ``doc`` on the fast path.

    Args:
        doc: an open pygls document.
        change: the LSP change; only ranged changes to documents of at least
            :data:`FAST_SYNC_CHARS` characters are handled here.
        encoding: the negotiated position encoding (a ``PositionEncodingKind`` or its string).

    Returns:
        True when applied; False when the caller should let pygls apply it (whole-document
        changes, small documents).
    """
    if not isinstance(change, types.TextDocumentContentChangePartial):
        return False
    text = doc.source
    if len(text) < FAST_SYNC_CHARS:
        return False
    kind = _encoding(encoding)
    start = offset_at(text, change.range.start, kind)
    end = offset_at(text, change.range.end, kind)
    if end < start:
        start, end = end, start
    # A whole-document change is pygls' public way to replace the text (it only stores it).
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="".join((text[:start], change.text, text[end:]))))
    return True
