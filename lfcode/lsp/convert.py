"""Conversions between LSP types and lfcode's plain inputs and outputs.

LSP positions count UTF-16 code units by default (LSP 3.17 §"Position"; pygls negotiates the
encoding); lfcode's core works in Python code points. Out-of-range positions are clamped instead
of failing, as the spec allows clients to send a character past the end of a line.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import TextDocument

from lfcode.completion.engine import CompletionInput
from lfcode.context import positions
from lfcode.context.documents import MAX_PARSE_CHARS

#: Documents larger than this (characters, i.e. code points) are not completed: it is not code a
#: model can help with, and they are not parsed either (the same cap as the document store).
MAX_DOCUMENT_CHARS = MAX_PARSE_CHARS

_WORD_TAIL = re.compile(r"[A-Za-z_0-9]+$")


class UnsupportedDocument(ValueError):
    """The document is binary or too large to complete; the message says which."""


def offset_at(doc: TextDocument, position: types.Position) -> int:
    """Code-point offset of ``position`` in ``doc.source``, clamped to the document.

    A line past the end maps to the end of the document; a column past the end of its line maps
    to the end of that line (before its line break). Columns are in the negotiated encoding
    (UTF-16 code units unless the client chose otherwise). The conversion is
    :func:`lfcode.context.positions.offset_at` (lines end at ``\\n``, as in the document store).
    """
    return positions.offset_at(doc.source, position, positions.encoding_name(doc.position_codec.encoding))


def completion_input(doc: TextDocument, position: types.Position) -> CompletionInput:
    """The document text and the code-point offset of ``position``.

    Raises:
        UnsupportedDocument: NUL bytes (binary) or more than :data:`MAX_DOCUMENT_CHARS`.
    """
    text = doc.source
    if len(text) > MAX_DOCUMENT_CHARS:
        raise UnsupportedDocument(f"{doc.uri} is too large to complete ({len(text)} characters)")
    if "\x00" in text:
        raise UnsupportedDocument(f"{doc.uri} looks binary (it contains NUL characters)")
    return CompletionInput(text=text, offset=offset_at(doc, position), path=doc.path, language_id=doc.language_id or "")


def inline_items(texts: list[str], position: types.Position) -> types.InlineCompletionList:
    """Inline completion items inserted at ``position`` (an empty range on the cursor line)."""
    where = types.Range(start=position, end=position)
    return types.InlineCompletionList(
        items=[types.InlineCompletionItem(insert_text=text, range=where) for text in texts]
    )


def completion_items(texts: list[str], source: CompletionInput, position: types.Position) -> types.CompletionList:
    """Fallback completion items for clients without inline completion.

    The edit replaces the identifier already typed before the cursor with itself plus the
    suggestion, so that clients filtering by the word at the cursor keep the item. The label is the
    suggestion's first line.
    """
    word = _WORD_TAIL.search(source.prefix.rsplit("\n", 1)[-1])
    typed = word.group(0) if word else ""
    start = types.Position(line=position.line, character=position.character - len(typed.encode("utf-16-le")) // 2)
    items = []
    for text in texts[:1]:
        first = text.split("\n", 1)[0].strip() or text.strip()
        items.append(
            types.CompletionItem(
                label=(typed + first)[:80],
                kind=types.CompletionItemKind.Text,
                detail="lfcode",
                filter_text=typed + text,
                text_edit=types.TextEdit(range=types.Range(start=start, end=position), new_text=typed + text),
                sort_text="0",
            )
        )
    return types.CompletionList(is_incomplete=True, items=items)
