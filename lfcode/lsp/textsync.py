"""Incremental ``didChange`` edits applied to big pygls documents in bounded time.

pygls' ``TextDocument._apply_incremental_change`` splits the whole text into lines and rebuilds
it line by line in Python, for every change: seconds per keystroke on a 20 MB file. Here the
edit's offsets are found with C-speed string scans (``str.count``/``str.find`` over chunks) and
the text is rebuilt with one slice-and-join, about 10 ms for 20 MB.

Lines end at ``\\n`` (a ``\\r`` before it belongs to the line break), as in
:mod:`lfcode.context.documents`, so both views of a document stay equal: the offsets come from
:mod:`lfcode.context.positions`, the one position converter. Positions follow
LSP 3.17 §"Position": a line past the end means the end of the text, a column past the end of
its line means the end of the line; columns count the negotiated encoding's code units
(UTF-16 by default).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from lfcode.context.positions import column_offset, encoding_name, line_start, offset_at  # noqa: F401 (re-exported)

#: Documents at least this long (characters) take the fast path; smaller ones keep pygls' code.
FAST_SYNC_CHARS = 1 << 16


def _encoding(kind: Any) -> str:
    return encoding_name(kind)


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
